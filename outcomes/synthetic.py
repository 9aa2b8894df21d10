"""Synthetic trials at scale: COSMO and AVATAR II patients with realistic, complete CRFs, written in bulk.

Used by ``manage.py scale_data`` (a trial-sized database: 10,000 patients, about a million lesion measurements) and by
the benchmarks (``benchmarks/data.py`` re-exports it). Written with ``bulk_create`` straight into the tables, not
through the services: what is measured is what reads the data, not data entry. History tables (the audit trail),
edit checks and events are skipped; every form is complete, as after source-data verification; on PostgreSQL the
lesion measurement rows (most of the rows) travel by ``COPY``. Nothing is recomputed: run ``manage.py recompute``
(or ``scale_data --recompute``) afterwards. What a patient gets (see ``_plan``):

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

Every synthetic patient's screening number starts with ``SYNTHETIC_PREFIX``: that is how the command tells them from
real ones. Nothing random leaks between runs: ``generate(n, seed=...)`` gives the same patients for the same seed.
"""

from __future__ import annotations

import io
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from lesions.models import (
    Lesion,
    LesionRole,
    LocalAblativeTreatment,
    NewLesion,
    NonTargetObservation,
    TargetMeasurement,
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

#: the screening number of every synthetic patient starts with it (``manage.py scale_data`` tells them by it)
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
class _Measurement:
    """A target measurement (with its diameter) or non-target observation, before it is written. Not a model
    instance: there are a million of them, and on PostgreSQL they are copied as lines of text."""

    assessment: TumourAssessment
    lesion: Lesion
    status: str
    scan_date: date
    diameter_tenths: int | None = None


@dataclass
class _Plan:
    patient: Patient
    visits: list[Visit] = field(default_factory=list)
    lesions: list[Lesion] = field(default_factory=list)
    #: every CRF record (not lesions), by model, in creation order
    records: dict[type[models.Model], list[Any]] = field(default_factory=lambda: defaultdict(list))
    targets: list[_Measurement] = field(default_factory=list)
    non_targets: list[_Measurement] = field(default_factory=list)
    new_lesions: list[NewLesion] = field(default_factory=list)
    #: (clinical progression, strategy failure) pairs: the failure links the progression once both are written
    links: list[tuple[ClinicalProgression, StrategyFailure]] = field(default_factory=list)
    #: (assessment, strategy failure): the failure names the assessment showing the progression
    assessment_links: list[tuple[TumourAssessment, StrategyFailure]] = field(default_factory=list)


class _Builder:
    def __init__(self, config: Config, rng: random.Random, today: date, now: Any, *, seed: int) -> None:
        self.config, self.rng, self.today, self.now = config, rng, today, now
        # The questionnaires' answers draw from their own generator: the clinical course stays what ``rng`` makes it
        self.answers = random.Random(f"fact-b:{seed}")

    def fact_b(self, plan: _Plan, visit: Visit, on: date, wellbeing: float) -> None:
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

    def crf(self, plan: _Plan, model: type[Any], visit: Visit | None = None, **values: Any) -> Any:
        patient = plan.patient
        record = model(
            patient=patient, site=patient.site, visit=visit, status=COMPLETE, completed_at=self.now, **values
        )
        plan.records[model].append(record)
        return record

    def visit(self, plan: _Plan, code: str, occurrence: int, on: date, *, done: bool = True) -> Visit:
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


def _plan(builder: _Builder, patient: Patient, *, time_points: int | None) -> _Plan:
    rng, today, config = builder.rng, builder.today, builder.config
    plan = _Plan(patient)
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
            _Measurement(record, lesion, "MEASURED", on, tenths)
            for lesion, tenths in zip(targets, diameters, strict=True)
        ]
        plan.non_targets += [_Measurement(record, lesion, "PRESENT", on) for lesion in non_targets]
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


# Writing -------------------------------------------------------------------------------------------------------

#: CRF models in an order where every foreign key points at something already written
_RECORD_ORDER: tuple[type[models.Model], ...] = (
    AvatarEligibility,
    CosmoEligibility,
    Registration,
    Randomisation,
    Demographics,
    TumourBiology,
    SystemicTherapyLine,
    LocalAblativeTreatment,
    TumourAssessment,
    ClinicalProgression,
    StrategyFailure,
    SubsequentTherapy,
    SurvivalStatusContact,
    Death,
    EndOfStudy,
    AdverseEvent,
    VisceralCrisis,
    FactB,
)
#: every table ``generate`` writes, for the counts and ``analyze``
TABLES: tuple[type[models.Model], ...] = (
    Patient,
    Visit,
    Lesion,
    *_RECORD_ORDER,
    TargetMeasurement,
    NonTargetObservation,
    NewLesion,
)


def _write(plans: list[_Plan]) -> None:
    _insert(Visit, [visit for plan in plans for visit in plan.visits])
    _insert(Lesion, [lesion for plan in plans for lesion in plan.lesions])
    for model in _RECORD_ORDER:
        if model is StrategyFailure:  # links between records of the same patient, now that the targets have keys
            for plan in plans:
                for assessment, failure in plan.assessment_links:
                    failure.linked_assessment_id = assessment.pk
                for progression, failure in plan.links:
                    failure.linked_clinical_progression = progression
        _insert(model, [record for plan in plans for record in plan.records.get(model, [])])
    _write_measurements(TargetMeasurement, [row for plan in plans for row in plan.targets])
    _write_measurements(NonTargetObservation, [row for plan in plans for row in plan.non_targets])
    _insert(NewLesion, [row for plan in plans for row in plan.new_lesions])


# On PostgreSQL the big tables travel by COPY. With ``bulk_create`` most of the time went into building each
# ``INSERT``'s literals and the server parsing them; ``COPY`` takes lines of text (a 10,000-patient trial in about half
# the time). Elsewhere (SQLite: the tests) and for small batches, ``bulk_create``.

#: from this many rows, a batch is copied rather than inserted
COPY_FROM = 1000
#: field types whose Python values ``COPY``'s text format reads as they print (dates and times in ISO)
_COPYABLE = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "DecimalField",
        "ForeignKey",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)


def _copies(model: type[models.Model], count: int) -> bool:
    return (
        connection.vendor == "postgresql"
        and count >= COPY_FROM
        and all(model_field.get_internal_type() in _COPYABLE for model_field in model._meta.concrete_fields)
    )


def _insert(model: type[models.Model], instances: list[Any]) -> None:
    """Write new ``instances`` and give them their keys, as ``bulk_create`` does: by ``COPY`` when it can (the keys
    drawn from the table's sequence first, so that the records pointing at these can name them)."""
    if not _copies(model, len(instances)):
        model._default_manager.bulk_create(instances, batch_size=2000)
        return
    meta = model._meta
    model_fields: list[Any] = list(meta.concrete_fields)
    key = meta.pk
    assert key is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, key.column, len(instances)],
        )
        keys = [row[0] for row in cursor.fetchall()]
    now = timezone.now()
    stamped = [
        model_field
        for model_field in model_fields
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False)
    ]
    related = [model_field for model_field in model_fields if model_field.is_relation]
    lines = io.StringIO()
    for instance, pk in zip(instances, keys, strict=True):
        instance.pk = pk
        for model_field in stamped:  # what ``pre_save`` does for auto_now(_add)
            setattr(instance, model_field.attname, now)
        for model_field in related:  # what ``_prepare_related_fields_for_save`` does: the key of a related instance
            if getattr(instance, model_field.attname) is None and model_field.is_cached(instance):
                target = model_field.get_cached_value(instance)
                setattr(instance, model_field.attname, target.pk if target is not None else None)
        lines.write(
            "\t".join(_copy_text(getattr(instance, model_field.attname)) for model_field in model_fields) + "\n"
        )
        instance._state.adding, instance._state.db = False, connection.alias
    _copy(model, [model_field.column for model_field in model_fields], lines)


def _write_measurements(model: type[models.Model], rows: list[_Measurement]) -> None:
    """A million rows without a model instance each (none needs its key afterwards)."""
    diameters = model is TargetMeasurement
    if not _copies(model, len(rows)):
        model._default_manager.bulk_create(
            [
                model(
                    assessment_id=row.assessment.pk,
                    lesion_id=row.lesion.pk,
                    site_id=row.assessment.site_id,
                    status=row.status,
                    scan_date=row.scan_date,
                    **({"diameter_tenths": row.diameter_tenths} if diameters else {}),
                )
                for row in rows
            ],
            batch_size=2000,
        )
        return
    names = ["assessment", "lesion", "site", "status", "scan_date", *(["diameter_tenths"] if diameters else [])]
    fields: list[Any] = [model._meta.get_field(name) for name in names]
    lines = io.StringIO()
    # every value is a key, an ISO date, a status code or a number: nothing to escape
    lines.writelines(
        f"{row.assessment.pk}\t{row.lesion.pk}\t{row.assessment.site_id}\t{row.status}\t{row.scan_date.isoformat()}"
        + (f"\t{_copy_text(row.diameter_tenths)}\n" if diameters else "\n")
        for row in rows
    )
    _copy(model, [model_field.column for model_field in fields], lines)


def _copy(model: type[models.Model], columns: list[str], lines: io.StringIO) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    lines.seek(0)
    with connection.cursor() as cursor:
        # the identifiers come from the model's metadata, quoted; the values travel as COPY data
        cursor.cursor.copy_expert(f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN", lines)


def _copy_text(value: Any) -> str:
    """A value in ``COPY``'s text format: ``\\N`` for NULL, backslash escapes, dates and times in ISO."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def analyze(tables: Iterable[type[models.Model]] = TABLES) -> None:
    """Refresh the planner's statistics of the tables written (by default, every table ``generate`` writes): after a
    bulk load they still describe the empty tables, and autovacuum may be off or late. PostgreSQL only (SQLite plans
    without them)."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")


def _patients(config: Config, rng: random.Random, count: int, *, today: date, cosmo_share: float) -> list[Patient]:
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


def generate(
    count: int,
    *,
    seed: int = 2026,
    time_points: int | None = None,
    cosmo_share: float = 0.5,
    chunk: int = 500,
    trial: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Create ``count`` patients with complete CRF data; returns their ids.

    ``time_points`` fixes the number of follow-up tumour assessments per patient (beyond the schedule's 13, the
    rest are unscheduled assessments between them); by default each patient has what their follow-up so far
    allows (1 to 13). ``trial`` ("cosmo" / "avatar2") puts every patient in one trial. Written ``chunk`` patients a
    transaction; ``progress`` is called with the number written so far after each.
    """
    config = configure()
    rng = random.Random(seed)
    today = timezone.localdate()
    now = timezone.now()
    builder = _Builder(config, rng, today, now, seed=seed)
    share = {"cosmo": 1.0, "avatar2": 0.0}.get(trial or "", cosmo_share)
    created: list[int] = []
    for start in range(0, count, chunk):
        with transaction.atomic():
            patients = _patients(config, rng, min(chunk, count - start), today=today, cosmo_share=share)
            if time_points:
                for patient in patients:  # room for every time point before today
                    span = INTERVAL * min(time_points, MAX_FOLLOW_UPS) + 60
                    patient.enrolment_date = today - timedelta(days=span + rng.randint(0, 60))
                    patient.consent_date = patient.enrolment_date - timedelta(days=21)
            plans = [_plan(builder, patient, time_points=time_points) for patient in patients]
            Patient.objects.bulk_create(patients, batch_size=2000)
            _write(plans)
            created += [patient.pk for patient in patients]
        if progress is not None:
            progress(len(created))
    return created


def counts() -> dict[str, int]:
    """Rows per table written by ``generate`` (every row of the table, synthetic or not)."""
    return {model.__name__: model._default_manager.count() for model in TABLES}
