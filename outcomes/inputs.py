"""From the case report forms to the engines' inputs: one patient's full current data, as pure dataclasses.

Reads only complete forms (drafts are not data yet). RECIST runs first over every complete tumour assessment
(``lesions.selectors.recist_evaluation``); its time points feed the endpoint engine. Every input record carries an id
``"<app>.<model>:<pk>"`` so each derived date can name the form that set it.

One mapping, two ways to read: ``patient_records`` loads everything for a list of patients in a constant number of
queries (about 25, whatever the number of patients and forms) and ``patient_data_from`` maps one patient's records;
``patient_data`` (one patient, the live recompute) and ``patient_data_bulk`` (a chunk, the sweep) are both that, so
they give the same ``PatientData`` (``tests/outcomes/test_recompute_bulk.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Model

from lesions.domain.localisation import CURRENT_VERSION
from lesions.domain.recist import OverallResponse as RecistResponse
from lesions.models import Lesion, LocalAblativeTreatment, TumourAssessment
from lesions.selectors import (
    RecistEvaluation,
    RecistRecords,
    attach,
    fetch_rows,
    localisation_of,
    recist_evaluation,
    recist_records,
    trials_settings,
)
from patients.crf import CrfStatus, crf_models
from patients.domain.factb import QOL_HORIZON_DAYS, ScoredAssessment, fact_b_area_under_curve, fact_b_auc_missing
from patients.domain.subtype import patient_subtype
from patients.models import (
    AdverseEvent,
    ClinicalProgression,
    CtcaeTerm,
    Death,
    EndOfStudy,
    FactB,
    Patient,
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
from trials.models import AnalysisSettings, Arm

from .domain import endpoints as engine

COMPLETE = CrfStatus.COMPLETE

STOP_REASONS = {
    "progression": engine.StopReason.PROGRESSION,
    "toxicity": engine.StopReason.TOXICITY,
    "patient_choice": engine.StopReason.PATIENT_CHOICE,
    "other": engine.StopReason.OTHER,
}
FAILURE_REASONS = {
    "systemic_change": engine.StrategyFailureReason.SYSTEMIC_CHANGE_FOR_PROGRESSION,
    "not_amenable": engine.StrategyFailureReason.NOT_AMENABLE_TO_SABR,
    "too_many_lesions": engine.StrategyFailureReason.TOO_MANY_PROGRESSING_LESIONS,
    "visceral_crisis": engine.StrategyFailureReason.VISCERAL_CRISIS,
    "other": engine.StrategyFailureReason.OTHER,
}
DEATH_CAUSES = {
    "disease": engine.DeathCause.DISEASE,
    "treatment": engine.DeathCause.TREATMENT,
    "other": engine.DeathCause.OTHER,
}
END_REASONS = {
    "completed": engine.EndOfStudyReason.COMPLETED,
    "withdrew": engine.EndOfStudyReason.WITHDREW_CONSENT,
    "lost": engine.EndOfStudyReason.LOST_TO_FOLLOW_UP,
    "investigator": engine.EndOfStudyReason.INVESTIGATOR_DECISION,
    "death": engine.EndOfStudyReason.DEATH,
}
ATTRIBUTION_FIELDS = {
    "attribution_sabr": engine.Intervention.SABR,
    "attribution_surgery": engine.Intervention.SURGERY,
    "attribution_rfa": engine.Intervention.RFA,
    "attribution_endocrine_therapy": engine.Intervention.ENDOCRINE_THERAPY,
    "attribution_cdk46_inhibitor": engine.Intervention.CDK46_INHIBITOR,
    "attribution_physicians_choice": engine.Intervention.PHYSICIANS_CHOICE,
    "attribution_disease": engine.Intervention.DISEASE,
}
ORIGINS = {
    "randomisation": engine.OriginEvent.RANDOMISATION,
    "registration": engine.OriginEvent.REGISTRATION,
    "first_lat": engine.OriginEvent.FIRST_LAT,
}


def record_id(record: Model) -> str:
    return f"{record._meta.app_label}.{record._meta.model_name}:{record.pk}"


@dataclass
class PatientData:
    """What the derivation needs, plus what could not be derived and why."""

    patient_input: engine.PatientInput | None
    settings: engine.EndpointSettings
    settings_version: int | None
    subgroups: dict[str, str]
    recist_problem: str = ""
    not_computable: str = ""
    #: record id -> (CRF code, label) for links from a derived value to its form
    sources: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: the data the hash is computed over
    fingerprint: dict[str, Any] = field(default_factory=dict)
    #: FACT-B scores per questionnaire and the AUC of the total to the horizon (D14)
    qol: dict[str, Any] = field(default_factory=dict)


def endpoint_settings(settings: AnalysisSettings | None) -> engine.EndpointSettings:
    if settings is None:
        return engine.EndpointSettings()
    return engine.EndpointSettings(
        origin_event=ORIGINS.get(settings.origin_event),
        landmark_days=Decimal(settings.landmark_days),
        count_clinical_progression=settings.count_clinical_progression,
        censor_at_new_therapy=settings.censor_at_new_therapy,
        missed_visit_censoring=settings.missed_visit_censoring,
        interval_days=settings.interval_days,
        window_days=settings.window_days,
        max_oligo_lesions=settings.max_oligo_lesions,
        tsf_toxicity_switch_is_event=settings.tsf_toxicity_switch_is_event,
        ttnt_death_is_event=settings.ttnt_death_is_event,
        lat_acute_days=settings.lat_acute_days,
        data_cutoff=settings.data_cutoff_date,
    )


@dataclass
class PatientRecords:
    """Every record of one patient the derivation reads, loaded for many patients at once (``patient_records``)."""

    patient: Patient
    settings: AnalysisSettings | None
    #: the complete records of every CRF read, by model, in pk order (lesions and tumour assessments too: with
    #: their drafts, they are in ``recist``)
    forms: dict[type[Any], list[Any]]
    #: registration / randomisation whatever its status (engine queries are raised on it)
    enrolments: list[Any]
    #: visits done, in the visits' order, with their definitions
    visits_done: list[Visit]
    recist: RecistRecords

    def complete(self, model: type[Any]) -> list[Any]:
        return self.forms.get(model, [])


_ENROLMENT_MODELS: tuple[type[Any], ...] = (Registration, Randomisation)
#: the CRF models ``patient_data_from`` reads, besides those of the trial (``_sources``)
_READ_ALWAYS: frozenset[type[Any]] = frozenset(
    {
        SystemicTherapyLine,
        SubsequentTherapy,
        Death,
        EndOfStudy,
        SurvivalStatusContact,
        FactB,
        AdverseEvent,
        ClinicalProgression,
        VisceralCrisis,
        LocalAblativeTreatment,
        TumourBiology,
    }
)


def _read_for(trial: Any) -> frozenset[type[Any]]:
    return frozenset({Randomisation, StrategyFailure}) if trial.is_randomised else frozenset({Registration})


def patient_records(patients: Sequence[Patient]) -> dict[int, PatientRecords]:
    """The records ``patient_data`` reads, for ``patients`` (their ``trial`` loaded), in a constant number of
    queries: one per CRF model read, plus the settings, visits, RECIST rows and the few related rows the mapping
    and the record summaries show (CTCAE terms, arms): about 25, whatever the number of patients and forms."""
    by_pk = {patient.pk: patient for patient in patients}
    settings = trials_settings([patient.trial_id for patient in patients])
    recist = recist_records(patients, settings=settings)
    found = {
        pk: PatientRecords(patient, settings.get(patient.trial_id), {}, [], [], recist[pk])
        for pk, patient in by_pk.items()
    }
    trials = {patient.trial_id: patient.trial for patient in patients}.values()
    read = set(_READ_ALWAYS).union(*(_read_for(trial) for trial in trials))
    lesions = {lesion.pk: lesion for records in found.values() for lesion in records.recist.lesions}
    for model in crf_models():
        if model is Lesion or model is TumourAssessment:  # already read, drafts too, for RECIST
            for records in found.values():
                read_before: list[Any] = records.recist.lesions if model is Lesion else records.recist.assessments
                records.forms[model] = sorted((r for r in read_before if r.status == COMPLETE), key=lambda r: r.pk)
            continue
        if model not in read and not any(model.crf.used_in(trial.code) for trial in trials):
            continue
        enrolment = model in _ENROLMENT_MODELS
        rows: list[Any] = fetch_rows(model, "patient_id", by_pk, complete=not enrolment)
        if model is AdverseEvent:
            terms = {t.pk: t for t in fetch_rows(CtcaeTerm, "id", {r.term_id for r in rows if r.term_id})}
            for event in rows:
                if event.term_id in terms:
                    attach(event, "term", terms[event.term_id])
        elif model is LocalAblativeTreatment:
            for treatment in rows:
                if treatment.lesion_id in lesions:
                    attach(treatment, "lesion", lesions[treatment.lesion_id])
        elif enrolment:
            arms = {arm.pk: arm for arm in fetch_rows(Arm, "id", {r.arm_id for r in rows if r.arm_id})}
            for record in rows:
                if record.arm_id in arms:
                    attach(record, "arm", arms[record.arm_id])
        for record in rows:
            records = found[record.patient_id]
            attach(record, "patient", records.patient)
            if enrolment:
                records.enrolments.append(record)
                if record.status != COMPLETE:
                    continue
            records.forms.setdefault(model, []).append(record)
    for records in found.values():
        records.visits_done = sorted(
            (visit for visit in records.recist.visits.values() if visit.status == VisitStatus.DONE),
            key=_visit_order,
        )
    return found


def _visit_order(visit: Visit) -> tuple[bool, date, int, int, int]:
    """The visits' own order (``Meta.ordering``: date, the schedule's order, occurrence; an empty date last)."""
    return (visit.visit_date is None, visit.visit_date or date.min, visit.definition.order, visit.occurrence, visit.pk)


def _time_points(evaluation: RecistEvaluation) -> tuple[list[engine.TimePoint], bool, str, dict[str, Any]]:
    if evaluation.response is None:
        return [], evaluation.baseline is not None, evaluation.problem, {}
    first_pd: dict[int, date | None] = {
        segment.index: segment.progression_date for segment in evaluation.response.segments
    }
    points = []
    fingerprint = {}
    for result in evaluation.response.time_points:
        response = engine.OverallResponse(result.overall_response.name)
        pd_date = None
        if result.overall_response is RecistResponse.PD:
            pd_date = result.pd_date or first_pd.get(result.segment_index) or result.tp_date
        points.append(
            engine.TimePoint(
                id=f"lesions.tumourassessment:{result.time_point_id}",
                tp_date=result.tp_date,
                response=response,
                pd_date=pd_date,
                segment=result.segment_index,
            )
        )
        fingerprint[result.time_point_id] = [str(result.tp_date), response.value, str(pd_date)]
    return points, True, "", fingerprint


def _subgroups(records: PatientRecords, arm: str | None, stratum: str) -> dict[str, str]:
    subtype = patient_subtype(biology.as_biology() for biology in records.complete(TumourBiology))
    version = records.settings.localisation_table_version if records.settings is not None else CURRENT_VERSION
    localisation = localisation_of(records.recist.lesions, version)
    groups = {
        "subtype": subtype.subtype.label if subtype.basis else "",
        "localisation": localisation.category.value if localisation.category else "",
    }
    if arm:
        groups["arm"] = arm
    if stratum:
        groups["stratum"] = stratum
    return groups


def patient_data(*, patient: Patient) -> PatientData:
    """Everything the engines read for one patient (clinical-spec C6: the full current data, every time)."""
    return patient_data_from(patient_records([patient])[patient.pk])


def patient_data_bulk(patients: Sequence[Patient]) -> dict[int, PatientData]:
    """``patient_data`` of each of ``patients`` (their ``trial`` loaded; a chunk of a few hundred), read in a
    constant number of queries: the same ``PatientData``, field for field, as one patient at a time."""
    return {pk: patient_data_from(records) for pk, records in patient_records(patients).items()}


def patient_data_from(records: PatientRecords, evaluation: RecistEvaluation | None = None) -> PatientData:
    """The engines' inputs from a patient's loaded records (``evaluation``: their RECIST evaluation, if done)."""
    patient = records.patient
    settings_row = records.settings
    settings = endpoint_settings(settings_row)
    randomised = patient.trial.is_randomised
    model = Randomisation if randomised else Registration
    enrolment = next(iter(records.complete(model)), None)
    # Only a randomised trial has arms to compare; COSMO's single "LAT" arm is a registration, not an allocation.
    arm = (
        enrolment.arm.code
        if randomised and enrolment is not None and getattr(enrolment, "arm", None) is not None
        else None
    )
    stratum = (
        f"{enrolment.endocrine_partner}|{enrolment.oligo_lesions}"
        if randomised and enrolment is not None and enrolment.endocrine_partner
        else ""
    )
    origin = (
        (enrolment.randomisation_date if randomised else enrolment.registration_date) if enrolment else None
    ) or patient.enrolment_date
    data = PatientData(None, settings, settings_row.version if settings_row else None, {})
    data.subgroups = _subgroups(records, arm, stratum)
    if origin is None:
        data.not_computable = "Not yet registered or randomised."
        return data
    if randomised and arm is None:
        data.not_computable = "Randomised arm not yet allocated: endpoints by arm start at randomisation."
        return data

    if evaluation is None:
        evaluation = recist_evaluation(patient=patient, records=records.recist)
    time_points, has_baseline, problem, recist_fingerprint = _time_points(evaluation)
    data.recist_problem = problem
    lines = records.complete(SystemicTherapyLine)
    subsequent = records.complete(SubsequentTherapy)
    highest = max((line.line_number or 0 for line in lines), default=0)
    therapy_lines = [
        engine.TherapyLine(
            id=record_id(line),
            line_number=line.line_number,
            start=line.start_date,
            stop=line.stop_date,
            stop_reason=STOP_REASONS.get(line.reason_stopped),
            protocol_therapy_at_randomisation=bool(line.protocol_therapy) and arm == "B",
        )
        for line in lines
        if line.start_date
    ]
    therapy_lines += [
        engine.TherapyLine(id=record_id(record), line_number=highest + index + 1, start=record.start_date)
        for index, record in enumerate(sorted(subsequent, key=lambda r: (r.start_date or date.max, r.pk)))
        if record.start_date
    ]
    death = next(iter(records.complete(Death)), None)
    end = next(iter(records.complete(EndOfStudy)), None)
    alive = [
        engine.AliveEvidence(date=contact.contact_date, source="survival contact", record_id=record_id(contact))
        for contact in records.complete(SurvivalStatusContact)
        if contact.contact_date and contact.vital_status == "alive"
    ]
    alive += [
        engine.AliveEvidence(date=visit.visit_date, source=f"visit {visit}", record_id=None)
        for visit in records.visits_done
        if visit.visit_date
    ]
    alive += [
        engine.AliveEvidence(date=form.completion_date, source="FACT-B", record_id=record_id(form))
        for form in records.complete(FactB)
        if form.completion_date
    ]
    failures = []
    if randomised:
        for failure in records.complete(StrategyFailure):
            if not failure.failure_date or failure.failure_reason not in FAILURE_REASONS:
                continue
            linked = (
                f"patients.clinicalprogression:{failure.linked_clinical_progression_id}"
                if failure.linked_clinical_progression_id
                else (
                    f"lesions.tumourassessment:{failure.linked_assessment_id}" if failure.linked_assessment_id else None
                )
            )
            failures.append(
                engine.StrategyFailure(
                    id=record_id(failure),
                    date=failure.failure_date,
                    reason=FAILURE_REASONS[failure.failure_reason],
                    linked_record_id=linked,
                    progressing_lesion_count=failure.progressing_lesions,
                )
            )
    adverse_events = []
    for event in records.complete(AdverseEvent):
        if not (event.grade and event.onset_date):
            continue
        attributions = tuple(
            engine.Attribution(intervention=intervention, level=engine.AttributionLevel(getattr(event, name).upper()))
            for name, intervention in ATTRIBUTION_FIELDS.items()
            if getattr(event, name, "")
        )
        adverse_events.append(
            engine.AdverseEvent(
                id=record_id(event),
                term=event.term.term if event.term_id else "",
                worst_grade=event.grade,
                onset=event.onset_date,
                resolution=event.resolution_date,
                attributions=attributions,
            )
        )
    data.patient_input = engine.PatientInput(
        patient_id=patient.subject_id,
        trial=engine.TrialDesign.AVATAR_II if randomised else engine.TrialDesign.COSMO,
        arm=engine.Arm(arm) if arm else None,
        registration_date=origin if not randomised else None,
        randomisation_date=origin if randomised else None,
        has_baseline_assessment=has_baseline,
        time_points=tuple(time_points),
        clinical_progressions=tuple(
            engine.ClinicalProgression(id=record_id(record), date=record.progression_date)
            for record in records.complete(ClinicalProgression)
            if record.progression_date
        ),
        therapy_lines=tuple(therapy_lines),
        strategy_failures=tuple(failures),
        next_line_progressions=tuple(
            engine.NextLineProgression(
                id=f"{record_id(record)}/progression", date=record.progression_date, line_id=record_id(record)
            )
            for record in subsequent
            if record.progression_date and record.start_date
        ),
        death=engine.Death(
            id=record_id(death),
            date=death.death_date,
            cause=DEATH_CAUSES.get(death.primary_cause, engine.DeathCause.UNKNOWN),
        )
        if death is not None and death.death_date
        else None,
        end_of_study=engine.EndOfStudy(
            id=record_id(end), date=end.end_date, reason=END_REASONS.get(end.end_reason, engine.EndOfStudyReason.OTHER)
        )
        if end is not None and end.end_date
        else None,
        alive_evidence=tuple(alive),
        visceral_crises=tuple(
            engine.VisceralCrisis(id=record_id(c), onset=c.onset_date, investigator_attested=bool(c.abc_definition_met))
            for c in records.complete(VisceralCrisis)
            if c.onset_date
        ),
        local_treatments=tuple(
            engine.LocalTreatment(id=record_id(t), modality=engine.LatModality(t.modality.upper()), start=t.start_date)
            for t in sorted(records.complete(LocalAblativeTreatment), key=_treatment_order)
            if t.start_date and t.modality
        ),
        adverse_events=tuple(adverse_events),
    )
    data.fingerprint = {"recist": recist_fingerprint, "recist_problem": problem}
    data.sources = _sources(records)
    data.qol = quality_of_life(records.complete(FactB), origin=origin, settings=settings_row)
    return data


def _score(value: Any) -> str | None:
    return None if value is None else f"{Decimal(value.numerator) / Decimal(value.denominator):.4f}"


def quality_of_life(forms: Any, *, origin: date, settings: AnalysisSettings | None) -> dict[str, Any]:
    """Every FACT-B score of each complete questionnaire, and the AUC of the FACT-B total from baseline to the
    horizon (clinical-spec §4.5, D14: trapezoid on actual days, interpolated at the horizon, normalised and flagged
    when follow-up ends earlier, missing with fewer than two valid totals)."""
    horizon = settings.qol_horizon_days if settings is not None else QOL_HORIZON_DAYS
    questionnaires = []
    assessments = []
    for form in sorted(forms, key=lambda f: (f.completion_date or date.max, f.pk)):
        if form.completion_date is None:
            continue
        scores = form.scores()
        day = (form.completion_date - origin).days
        questionnaires.append(
            {
                "id": record_id(form),
                "date": form.completion_date.isoformat(),
                "day": day,
                **{name: _score(getattr(scores, name).score) for name in _FACT_B_SCORES},
            }
        )
        assessments.append(ScoredAssessment(day=day, score=scores.total.score))
    if not assessments:
        return {}
    days = [assessment.day for assessment in assessments]
    twice = sorted({q["date"] for q in questionnaires if days.count(q["day"]) > 1})
    if twice:  # refused at entry (one a day); data stored before that check get no AUC, with the reason
        auc = fact_b_auc_missing(f"two questionnaires on the same day ({', '.join(twice)}): correct the records")
    else:
        auc = fact_b_area_under_curve(assessments, horizon_days=horizon)
    return {
        "questionnaires": questionnaires,
        "horizon_days": horizon,
        "auc": _score(auc.auc),
        "auc_normalised": _score(auc.normalised),
        "auc_change_from_baseline": _score(auc.change_from_baseline_auc),
        "ends_before_horizon": auc.ends_before_horizon,
        "missing_reason": auc.missing_reason or "",
    }


_FACT_B_SCORES = (
    "physical",
    "social",
    "emotional",
    "functional",
    "breast_cancer",
    "fact_g",
    "total",
    "trial_outcome_index",
)


def _treatment_order(treatment: LocalAblativeTreatment) -> tuple[bool, date, int]:
    """The treatments' own order (``Meta.ordering``: start date, then pk; PostgreSQL puts an empty date last)."""
    return (treatment.start_date is None, treatment.start_date or date.min, treatment.pk)


class SourceLabels(Mapping[str, tuple[str, str]]):
    """Record id -> (CRF code, label) for every complete form of the patient, so derived values link to their
    forms. A label (the form's ``summary()``) is made when first asked for: a derivation cites only a few forms."""

    def __init__(self, records: PatientRecords) -> None:
        trial = records.patient.trial.code
        self._forms = {
            record_id(record): (model, record)
            for model, rows in records.forms.items()
            if model.crf.used_in(trial)
            for record in rows
        }
        self._labels: dict[str, tuple[str, str]] = {}

    def __getitem__(self, key: str) -> tuple[str, str]:
        label = self._labels.get(key)
        if label is None:
            model, record = self._forms[key]
            label = self._labels[key] = (model.crf.code, f"{model.crf.name}: {record.summary()}")
        return label

    def __iter__(self) -> Iterator[str]:
        return iter(self._forms)

    def __len__(self) -> int:
        return len(self._forms)

    def __repr__(self) -> str:
        return repr(dict(self))


def _sources(records: PatientRecords) -> SourceLabels:
    return SourceLabels(records)
