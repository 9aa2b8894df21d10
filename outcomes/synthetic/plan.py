"""One synthetic patient: what they get, planned as model instances linked to each other (``plan_patient``), and
the trials, sites and schedule they use (``configure``). Nothing is written here: ``writes.write`` does it.

What a patient gets:

- registration (COSMO) or randomisation with its arm and stratum (AVATAR II; without the arm nothing is computable);
- eligibility, demographics, tumour biology; a first-line systemic therapy (AVATAR II arm B: a new line at
  randomisation, the protocol therapy);
- a lesion register of 1-3 targets (distinct organs) and 1-2 non-targets, one oligoprogressive target treated by
  SABR at the treatment visit;
- the screening tumour assessment (baseline) and follow-up assessments every 12 weeks, each with its target
  measurements and non-target observations; a few missed visits, some unscheduled assessments;
- responders, stable patients and progressors (by the target sum, or an unequivocal new lesion) with the
  investigator's response as RECIST says (a small share deliberately different, which raises a query);
- FACT-B questionnaires at screening and the first four follow-ups, every item answered 0-4 (a few left blank)
  around the patient's own level of well-being, which falls as the disease progresses;
- after progression: strategy failure (AVATAR II), a subsequent line (sometimes progressing: PFS2), survival
  contacts, sometimes death and end of study; some clinical progressions, withdrawals, adverse events and the odd
  visceral crisis.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Max

from lesions.models import (
    Lesion,
    LesionRole,
    LocalAblativeTreatment,
    NewLesion,
    TumourAssessment,
)
from patients.domain.factb import FACT_B_ITEMS, REVERSE_SCORED_ITEMS
from patients.models import (
    AdverseEvent,
    AvatarEligibility,
    ClinicalProgression,
    CosmoEligibility,
    CtcaeTerm,
    Death,
    Demographics,
    EndOfStudy,
    FactB,
    Patient,
    PatientStatus,
    Randomisation,
    Registration,
    StrategyFailure,
    SubsequentTherapy,
    SurvivalStatusContact,
    SystemicTherapyLine,
    TumourBiology,
    VisceralCrisis,
    Visit,
    VisitStatus,
)
from trials.configuration import trial_configure
from trials.models import Arm, Site, Trial, TrialSite, VisitDefinition

SYNTHETIC_PREFIX = "BENCH-"
COMPLETE = "complete"
INTERVAL = 84  # follow-up every 12 weeks (D8)
MAX_FOLLOW_UPS = 13  # the schedule's occurrences (AVATAR II's 3 years)
SITES = ("NL01", "NL02", "BE01", "BE02", "DE01", "FR01", "IT01", "ES01")
TERMS = ("Fatigue", "Nausea", "Pneumonitis", "Dermatitis radiation", "Hot flashes", "Neutrophil count decreased")
#: (site code, nodal) of target lesions: distinct organs, so never more than two targets per organ
TARGET_SITES = (("LIVER", False), ("LUNG", False), ("NODE_MEDIASTINAL", True), ("ADRENAL", False))
NON_TARGET_SITES = ("BONE_SPINE", "BONE_PELVIS", "PLEURA", "BONE_RIB")


@dataclass
class Config:
    """The trials, sites and schedule the generated patients use (created when missing)."""

    trials: dict[str, Trial]
    sites: list[Site]
    visits: dict[tuple[str, str], VisitDefinition]
    arms: dict[str, Arm]
    terms: list[CtcaeTerm]


def configure() -> Config:
    """Trials as trials.md describes them, a handful of active sites, a few CTCAE terms. Idempotent."""
    trials = {trial.code: trial for trial in trial_configure()}
    Site.objects.bulk_create(
        [Site(code=code, name=f"Benchmark hospital {code}", country=code[:2]) for code in SITES],
        ignore_conflicts=True,
    )
    sites = list(Site.objects.filter(code__in=SITES).order_by("code"))
    TrialSite.objects.bulk_create(
        [
            TrialSite(trial=trial, site=site, activation_date=date(2020, 1, 1))
            for trial in trials.values()
            for site in sites
        ],
        ignore_conflicts=True,
    )
    CtcaeTerm.objects.bulk_create(
        [CtcaeTerm(soc="Benchmark", term=term, grade_1="g1", grade_2="g2", grade_3="g3") for term in TERMS],
        ignore_conflicts=True,
    )
    visits = {
        (definition.trial.code, definition.code): definition
        for definition in VisitDefinition.objects.select_related("trial")
    }
    arms = {arm.code: arm for arm in Arm.objects.filter(trial=trials["avatar2"])}
    terms = list(CtcaeTerm.objects.filter(term__in=TERMS).order_by("term"))
    return Config(trials, sites, visits, arms, terms)


# The plan of one patient: model instances linked to each other, written in dependency order -----------------------


@dataclass(frozen=True, slots=True)
class Measurement:
    """A target measurement (with its diameter) or non-target observation, before it is written. Not a model
    instance: there are a million of them, and on PostgreSQL they are copied as lines of text."""

    assessment: TumourAssessment
    lesion: Lesion
    status: str
    scan_date: date
    diameter_tenths: int | None = None


@dataclass
class Plan:
    patient: Patient
    visits: list[Visit] = field(default_factory=list)
    lesions: list[Lesion] = field(default_factory=list)
    #: every CRF record (not lesions), by model, in creation order
    records: dict[type[models.Model], list[Any]] = field(default_factory=lambda: defaultdict(list))
    targets: list[Measurement] = field(default_factory=list)
    non_targets: list[Measurement] = field(default_factory=list)
    new_lesions: list[NewLesion] = field(default_factory=list)
    #: (clinical progression, strategy failure) pairs: the failure links the progression once both are written
    links: list[tuple[ClinicalProgression, StrategyFailure]] = field(default_factory=list)
    #: (assessment, strategy failure): the failure names the assessment showing the progression
    assessment_links: list[tuple[TumourAssessment, StrategyFailure]] = field(default_factory=list)


class Builder:
    def __init__(self, config: Config, rng: random.Random, today: date, now: Any, *, seed: int) -> None:
        self.config, self.rng, self.today, self.now = config, rng, today, now
        # The questionnaires' answers draw from their own generator: the clinical course stays what ``rng`` makes it
        self.answers = random.Random(f"fact-b:{seed}")

    def fact_b(self, plan: Plan, visit: Visit, on: date, wellbeing: float) -> None:
        """A FACT-B questionnaire answered around ``wellbeing`` (0: worst, 1: best), 2 % of items left blank."""
        answers = self.answers
        items: dict[str, int | None] = {}
        for code in FACT_B_ITEMS:
            if answers.random() < 0.02:
                items[code.lower()] = None
                continue
            better = min(4, max(0, round(4 * wellbeing + answers.gauss(0, 0.7))))
            items[code.lower()] = 4 - better if code in REVERSE_SCORED_ITEMS else better
        self.crf(plan, FactB, visit, completion_date=on, **items)

    def crf(self, plan: Plan, model: type[Any], visit: Visit | None = None, **values: Any) -> Any:
        patient = plan.patient
        record = model(
            patient=patient, site=patient.site, visit=visit, status=COMPLETE, completed_at=self.now, **values
        )
        plan.records[model].append(record)
        return record

    def visit(self, plan: Plan, code: str, occurrence: int, on: date, *, done: bool = True) -> Visit:
        patient = plan.patient
        visit = Visit(
            patient=patient,
            site=patient.site,
            definition=self.config.visits[(patient.trial.code, code)],
            occurrence=occurrence,
            status=VisitStatus.DONE if done else VisitStatus.MISSED,
            visit_date=on if done else None,
            missed_reason="" if done else "Patient unwell",
        )
        plan.visits.append(visit)
        return visit


def plan_patient(builder: Builder, patient: Patient, *, time_points: int | None) -> Plan:
    rng, today, config = builder.rng, builder.today, builder.config
    plan = Plan(patient)
    trial = patient.trial.code
    origin: date = patient.enrolment_date  # type: ignore[assignment]
    consent = patient.consent_date
    avatar = trial == "avatar2"
    arm = rng.choice("AB") if avatar else None

    screening = builder.visit(plan, "screening", 1, consent)
    enrolment_visit = builder.visit(plan, "enrolment", 1, origin)
    lat_visit = builder.visit(plan, "lat", 1, origin + timedelta(days=7))

    # Screening forms and enrolment ------------------------------------------------------------------------------
    if avatar:
        builder.crf(
            plan,
            AvatarEligibility,
            screening,
            eligible=True,
            **{name: True for name in AvatarEligibility.INCLUSION},
            **{name: False for name in AvatarEligibility.EXCLUSION},
        )
        builder.crf(
            plan,
            Randomisation,
            enrolment_visit,
            randomisation_date=origin,
            endocrine_partner=rng.choice(["ai", "serd"]),
            oligo_lesions=rng.choice(["1", "2-5"]),
            arm=config.arms[arm],  # type: ignore[index]
        )
    else:
        builder.crf(
            plan,
            CosmoEligibility,
            screening,
            eligible=True,
            **{name: True for name in CosmoEligibility.INCLUSION},
            **{name: False for name in CosmoEligibility.EXCLUSION},
        )
        builder.crf(plan, Registration, enrolment_visit, registration_date=origin)
    builder.crf(
        plan,
        Demographics,
        screening,
        ecog=rng.choice([0, 0, 1]),
        menopausal_status="post",
        primary_diagnosis_date=str(consent - timedelta(days=rng.randint(900, 3000))),
        metastatic_diagnosis_date=str(consent - timedelta(days=rng.randint(300, 800))),
    )
    builder.crf(
        plan,
        TumourBiology,
        screening,
        specimen="metastatic",
        specimen_date=consent - timedelta(days=rng.randint(30, 300)),
        er_percent=rng.choice([90, 80, 5, 60]),
        pr_percent=rng.choice([50, 0, 20]),
        her2_ihc=rng.choice(["0", "1+", "2+"]),
        ish="not_amplified",
    )
    first_line = builder.crf(
        plan,
        SystemicTherapyLine,
        line_number=1,
        start_date=origin - timedelta(days=rng.randint(250, 700)),
        agent_aromatase_inhibitor=True,
        agent_palbociclib=True,
        best_response="SD",
    )
    if arm == "B":  # physician's choice: a new line starts at randomisation
        first_line.stop_date, first_line.reason_stopped = origin - timedelta(days=1), "progression"
        builder.crf(
            plan,
            SystemicTherapyLine,
            line_number=2,
            start_date=origin,
            agent_chemotherapy=True,
            protocol_therapy=True,
            best_response="not_assessed",
        )

    # Lesion register and the local ablative treatment --------------------------------------------------------------
    first_seen = consent - timedelta(days=rng.randint(20, 40))
    baseline_scan = origin - timedelta(days=rng.randint(5, 20))
    targets: list[Lesion] = []
    for index, (site_code, nodal) in enumerate(rng.sample(TARGET_SITES, rng.randint(1, 3)), start=1):
        lesion = Lesion(
            patient=patient,
            site=patient.site,
            status=COMPLETE,
            completed_at=builder.now,
            label=f"T{index}",
            site_code=site_code,
            nodal=nodal,
            measurable=True,
            role=LesionRole.TARGET,
            baseline_tenths=rng.randint(150, 450),
            oligoprogressive=index == 1,
            first_seen_date=first_seen,
        )
        targets.append(lesion)
    non_targets = [
        Lesion(
            patient=patient,
            site=patient.site,
            status=COMPLETE,
            completed_at=builder.now,
            label=f"NT{index}",
            site_code=site_code,
            nodal=False,
            measurable=False,
            role=LesionRole.NON_TARGET,
            oligoprogressive=False,
            first_seen_date=first_seen,
        )
        for index, site_code in enumerate(rng.sample(NON_TARGET_SITES, rng.randint(1, 2)), start=1)
    ]
    plan.lesions = targets + non_targets
    treated = targets[0]
    treated.locally_treated, treated.locally_treated_date = True, lat_visit.visit_date
    builder.crf(
        plan,
        LocalAblativeTreatment,
        lat_visit,
        lesion=treated,
        modality="sabr",
        start_date=lat_visit.visit_date,
        end_date=lat_visit.visit_date + timedelta(days=4),  # type: ignore[operator]
        total_dose_gy=Decimal("35.00"),
        fractions=5,
        technique="vmat",
    )

    # Tumour assessments: the baseline, then every 12 weeks ---------------------------------------------------------
    def assessment(visit: Visit, on: date, diameters: list[int], *, investigator: str, new: bool = False) -> Any:
        record = builder.crf(
            plan,
            TumourAssessment,
            visit,
            modality="ct",
            investigator_response=investigator,
            assessment_date=on,
        )
        plan.targets += [
            Measurement(record, lesion, "MEASURED", on, tenths)
            for lesion, tenths in zip(targets, diameters, strict=True)
        ]
        plan.non_targets += [Measurement(record, lesion, "PRESENT", on) for lesion in non_targets]
        if new:
            plan.new_lesions.append(
                NewLesion(assessment=record, site=patient.site, status="YES", scan_date=on, site_code="LUNG")
            )
        return record

    baseline = [lesion.baseline_tenths or 0 for lesion in targets]
    assessment(screening, baseline_scan, baseline, investigator="")
    wellbeing = builder.answers.uniform(0.5, 0.85)
    builder.fact_b(plan, screening, consent, wellbeing)

    # How many time points this patient has: fixed, or what the follow-up so far allows (at most the schedule's 13)
    possible = max(1, min(MAX_FOLLOW_UPS, (today - origin).days // INTERVAL))
    follow_ups = min(time_points, MAX_FOLLOW_UPS) if time_points else rng.randint(max(1, possible // 2), possible)
    unscheduled = max(0, (time_points or 0) - MAX_FOLLOW_UPS)
    pattern = rng.choices(["responder", "stable", "progressor"], weights=[30, 35, 35])[0]
    progression_at = rng.randint(1, follow_ups) if pattern == "progressor" and not time_points else None
    if time_points and pattern == "progressor":
        progression_at = follow_ups  # a fixed-size patient keeps every time point: progression comes last
    new_lesion_progression = rng.random() < 0.3
    clinical_progression = pattern != "progressor" and not time_points and rng.random() < 0.06

    baseline_sum, nadir = sum(baseline), sum(baseline)
    level = {"responder": 0.6, "stable": 0.95, "progressor": 0.8}[pattern]
    #: how the patient's well-being moves between questionnaires (progression itself costs more, below)
    drift = {"responder": 0.02, "stable": 0.0, "progressor": -0.03}[pattern]
    progressed_on: date | None = None
    progression_assessment = None
    last_assessment = baseline_scan
    missed_in_a_row = 0
    schedule: list[tuple[str, int, date]] = [
        ("follow-up", occurrence, origin + timedelta(days=INTERVAL * occurrence + rng.randint(-7, 7)))
        for occurrence in range(1, follow_ups + 1)
    ]
    schedule += [
        ("unscheduled", occurrence, origin + timedelta(days=INTERVAL * occurrence + 42))
        for occurrence in range(1, unscheduled + 1)
    ]
    schedule.sort(key=lambda item: item[2])
    for code, occurrence, on in schedule:
        fixed = bool(time_points)
        if not fixed and code == "follow-up" and missed_in_a_row == 0 and rng.random() < 0.04:
            builder.visit(plan, code, occurrence, on, done=False)  # a missed visit: no assessment
            missed_in_a_row += 1
            continue
        missed_in_a_row = 0
        visit = builder.visit(plan, code, occurrence, on)
        progressing = code == "follow-up" and occurrence == progression_at
        if progressing and new_lesion_progression:
            factor = min(level * rng.uniform(0.97, 1.03), nadir / baseline_sum * 1.1)
            diameters = [max(50, round(tenths * factor)) for tenths in baseline]
        elif progressing:
            diameters = [round(tenths * nadir / baseline_sum * 1.45) + 60 for tenths in baseline]
        else:
            factor = min(level * rng.uniform(0.97, 1.03), nadir / baseline_sum * 1.1)
            diameters = [max(50, round(tenths * factor)) for tenths in baseline]
        total = sum(diameters)
        new = progressing and new_lesion_progression
        if new or (total * 10 >= nadir * 12 and total - nadir >= 50):
            response = "PD"
        elif total * 10 <= baseline_sum * 7:
            response = "PR"
        else:
            response = "SD"
        if response != "PD" and rng.random() < 0.01:  # the investigator reads it differently: a query
            response = "SD" if response == "PR" else "PR"
        record = assessment(visit, on, diameters, investigator=response, new=new)
        nadir = min(nadir, total)
        last_assessment = on
        if code == "follow-up" and occurrence <= 4:
            wellbeing = min(1.0, max(0.0, wellbeing + drift - (0.15 if response == "PD" else 0.0)))
            builder.fact_b(plan, visit, on, wellbeing)
        if response == "PD" and progressing:
            progressed_on, progression_assessment = on, record
            break
        if clinical_progression and occurrence >= 2 and rng.random() < 0.5:
            progressed_on = on + timedelta(days=30)
            progression = builder.crf(
                plan,
                ClinicalProgression,
                progression_date=progressed_on,
                description="New bone pain, rising ALP",
            )
            if avatar:
                failure = builder.crf(
                    plan,
                    StrategyFailure,
                    failure_date=progressed_on,
                    failure_reason="not_amenable",
                    progressing_lesions=1,
                    amenable_to_sabr=False,
                    management="systemic_change",
                )
                plan.links.append((progression, failure))
            break

    # After progression: strategy failure, the next line, survival follow-up, death ---------------------------------
    died: date | None = None
    if progressed_on is not None:
        if avatar and progression_assessment is not None:
            failure = builder.crf(
                plan,
                StrategyFailure,
                failure_date=progressed_on,
                failure_reason=(reason := rng.choice(["systemic_change", "too_many_lesions"])),
                progressing_lesions=rng.randint(6, 9) if reason == "too_many_lesions" else rng.randint(1, 4),
                amenable_to_sabr=False,
                management="systemic_change",
            )
            plan.assessment_links.append((progression_assessment, failure))
        started = progressed_on + timedelta(days=rng.randint(10, 40))
        if started <= today:
            last_line = plan.records[SystemicTherapyLine][-1]
            last_line.stop_date, last_line.reason_stopped = started - timedelta(days=1), "progression"
            second_progression = started + timedelta(days=rng.randint(90, 400))
            builder.crf(
                plan,
                SubsequentTherapy,
                start_date=started,
                agent_chemotherapy=True,
                progression=second_progression <= today,
                progression_date=second_progression if second_progression <= today else None,
                progression_type="radiological" if second_progression <= today else "",
            )
        if rng.random() < 0.4:
            candidate = progressed_on + timedelta(days=rng.randint(60, 700))
            died = candidate if candidate <= today else None
        contact = progressed_on + timedelta(days=INTERVAL)
        while contact <= (died or today):
            builder.crf(plan, SurvivalStatusContact, contact_date=contact, vital_status="alive", method="phone")
            contact += timedelta(days=INTERVAL)
    ended: tuple[date, str] | None = None
    if died is not None:
        builder.crf(plan, Death, death_date=died, primary_cause="disease")
        ended = (died, "death")
    elif progressed_on is None and rng.random() < 0.05:
        ended = (last_assessment + timedelta(days=rng.randint(10, 60)), rng.choice(["withdrew", "lost"]))
    if ended is not None and ended[0] <= today:
        builder.crf(
            plan,
            EndOfStudy,
            end_date=ended[0],
            end_reason=ended[1],
            withdrawal_data_use="collected" if ended[1] == "withdrew" else "",
        )
        patient.status = PatientStatus.DIED if ended[1] == "death" else PatientStatus.OFF_STUDY

    # Adverse events and the odd visceral crisis ---------------------------------------------------------------------
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        onset = origin + timedelta(days=rng.randint(1, max(2, (last_assessment - origin).days)))
        builder.crf(
            plan,
            AdverseEvent,
            term=rng.choice(config.terms),
            grade=rng.choice([1, 1, 2, 2, 3]),
            onset_date=onset,
            resolution_date=onset + timedelta(days=rng.randint(5, 60)),
            attribution_sabr=rng.choice(["unrelated", "possible", "probable"]),
            attribution_endocrine_therapy=rng.choice(["unrelated", "unlikely", "possible"]),
            attribution_disease="unlikely",
            outcome="recovered",
            action_taken="none",
        )
    if rng.random() < 0.01:
        builder.crf(
            plan,
            VisceralCrisis,
            onset_date=last_assessment + timedelta(days=10),
            organ_liver=True,
            abc_definition_met=True,
            treatment_decision="chemotherapy",
        )
    return plan


def new_patients(config: Config, rng: random.Random, count: int, *, today: date, cosmo_share: float) -> list[Patient]:
    """``count`` new patients, spread over the sites, numbered after those already there."""
    last = {
        (row["trial_id"], row["site_id"]): row["last"]
        for row in Patient.objects.values("trial_id", "site_id").annotate(last=Max("sequence"))
    }
    patients = []
    for _ in range(count):
        trial = config.trials["cosmo" if rng.random() < cosmo_share else "avatar2"]
        site = rng.choice(config.sites)
        sequence = last.get((trial.pk, site.pk), 0) + 1
        last[(trial.pk, site.pk)] = sequence
        origin = today - timedelta(days=rng.randint(120, 1300))
        consent = origin - timedelta(days=rng.randint(14, 35))
        patients.append(
            Patient(
                trial=trial,
                site=site,
                sequence=sequence,
                subject_id=f"{trial.subject_prefix}-{site.code}-{sequence:05d}",
                screening_number=f"{SYNTHETIC_PREFIX}{sequence:05d}",
                age_at_consent=rng.randint(32, 84),
                sex="F",
                consent_date=consent,
                enrolment_date=origin,
                status=PatientStatus.ON_STUDY,
            )
        )
    return patients
