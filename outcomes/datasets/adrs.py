"""ADRS, the tumour-response analysis dataset (CDISC ADaM BDS): per post-baseline tumour assessment, the overall
response computed by the EDC (RECIST 1.1) beside the investigator's (clinical-spec C7), and one best overall
response per patient.

- ``PARAMCD = "OVRLRESP"``, one record per assessment and evaluator (``RSEVAL``): "COMPUTED" is what the RECIST engine
  stored on the assessment (``lesions.TumourAssessment.computed_*``, rewritten on every recompute), "INVESTIGATOR"
  the investigator's call as entered (never overwritten). ``RESPDIFF`` marks the assessments where they differ (an
  automatic query is open or was answered on each).
- ``PARAMCD = "BOR"``: the best overall response, by the same engine (Eisenhauer 2009 §4.4; clinical-spec §1.7; D13:
  no confirmation, SD from day 42), over the window of D28: up to the first PD, before a new systemic line, a local
  ablative treatment of a lesion first seen after baseline, a clinical progression or the data cut-off. The stored
  derivation does not keep the BOR, so it is evaluated here, from the patient's complete forms read a page at a time
  (``outcomes.inputs.patient_records``), with those window limits taken from the endpoint engine's own view of the
  patient (``build_context``: new lines, clinical progressions). ``ANL01FL`` marks the assessments inside that window.
- Responses use CDISC's codes: CR, PR, SD, NON-CR/NON-PD, PD, NE; ``AVAL`` numbers them 1-6 in that order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from lesions.domain.recist import OverallResponse, ResponseWindowLimits
from lesions.models import LesionRole, LocalAblativeTreatment, TumourAssessment
from lesions.selectors import RecistEvaluation, recist_evaluation
from patients.crf import CrfStatus
from patients.models import Patient
from trials.models import Trial

from ..domain.endpoints.context import build_context, origin_date
from ..inputs import PatientRecords, patient_data_from, patient_records
from .base import Dataset, Kind, Row, Variable
from .common import (
    CHUNK_SIZE,
    SITEID,
    STUDYID,
    TRT01P,
    USUBJID,
    allocated_arms,
    by_patient,
    clip,
    derivations,
    flag,
    of_patients,
    origin_of,
    patient_batches,
    planned_treatment,
    single_arm_of,
    study_day,
    study_id,
)

#: CDISC response codes (RS.RSSTRESC) per engine value, in AVAL order
RESPONSES: dict[str, str] = {
    OverallResponse.CR.value: "CR",
    OverallResponse.PR.value: "PR",
    OverallResponse.SD.value: "SD",
    OverallResponse.NON_CR_NON_PD.value: "NON-CR/NON-PD",
    OverallResponse.PD.value: "PD",
    OverallResponse.NE.value: "NE",
}
RESPONSE_NUMBERS: dict[str, int] = {code: number for number, code in enumerate(RESPONSES.values(), start=1)}
PARAMS = {"BOR": "Best Overall Response (RECIST 1.1)", "OVRLRESP": "Overall Response (RECIST 1.1)"}
COMPUTED, INVESTIGATOR = "COMPUTED", "INVESTIGATOR"
POST_BASELINE = ("follow_up", "unscheduled")

VARIABLES: tuple[Variable, ...] = (
    STUDYID,
    USUBJID,
    SITEID,
    TRT01P,
    Variable("PARAMCD", "Parameter Code", Kind.TEXT, 8, allowed=tuple(PARAMS), source="Assigned"),
    Variable("PARAM", "Parameter", Kind.TEXT, 40, allowed=tuple(PARAMS.values()), source="Assigned"),
    Variable(
        "RSEVAL",
        "Evaluator",
        Kind.TEXT,
        12,
        allowed=(COMPUTED, INVESTIGATOR),
        source="Assigned",
        description="COMPUTED: the EDC's RECIST 1.1 engine; INVESTIGATOR: the site's call on the form (C7).",
    ),
    Variable("AVISIT", "Analysis Visit", Kind.TEXT, 40, source="patients.Visit (definition name, occurrence)"),
    Variable(
        "ADT",
        "Analysis Date",
        Kind.DATE,
        source="lesions.TumourAssessment.assessment_date",
        description="The time point's latest scan date (D22); for BOR, that of the time point giving it.",
    ),
    Variable("ADY", "Analysis Relative Day", Kind.INTEGER, unit="days", source="Derived: ADT - origin (+1 on/after)"),
    Variable(
        "AVALC",
        "Analysis Value (C)",
        Kind.TEXT,
        13,
        allowed=tuple(RESPONSES.values()),
        source="lesions.TumourAssessment.computed_response / investigator_response; BOR: RECIST engine",
    ),
    Variable(
        "AVAL",
        "Analysis Value",
        Kind.INTEGER,
        allowed=tuple(str(n) for n in RESPONSE_NUMBERS.values()),
        source="Derived: AVALC as 1 CR, 2 PR, 3 SD, 4 NON-CR/NON-PD, 5 PD, 6 NE",
    ),
    Variable(
        "TRGRESP",
        "Target Lesion Response",
        Kind.TEXT,
        8,
        allowed=("CR", "PR", "SD", "PD", "NE", "NONE"),
        source="lesions.TumourAssessment.computed_target_response",
        description="Computed rows; the reported response (continued PR applied, §1.3c).",
    ),
    Variable(
        "NTRGRESP",
        "Non-Target Lesion Response",
        Kind.TEXT,
        13,
        allowed=("CR", "NON-CR/NON-PD", "PD", "NE", "NONE"),
        source="lesions.TumourAssessment.computed_non_target_response",
    ),
    Variable(
        "NEWLIND",
        "New Lesion Indicator",
        Kind.TEXT,
        9,
        allowed=("YES", "NO", "EQUIVOCAL"),
        source="lesions.TumourAssessment.computed_new_lesions",
    ),
    Variable(
        "SUMDIAM",
        "Sum of Target Lesion Diameters",
        Kind.FLOAT,
        unit="mm",
        source="lesions.TumourAssessment.target_sum_tenths / 10",
        description="Longest diameters of non-nodal and short axes of nodal targets (§1.3); empty when a target "
        "was not evaluated.",
    ),
    Variable(
        "PCHGBL",
        "Percent Change from Baseline Sum",
        Kind.FLOAT,
        unit="%",
        source="lesions.TumourAssessment.change_from_baseline_percent",
    ),
    Variable(
        "PCHGNAD",
        "Percent Change from Nadir Sum",
        Kind.FLOAT,
        unit="%",
        source="lesions.TumourAssessment.change_from_nadir_percent",
    ),
    Variable(
        "RESPDIFF",
        "Computed Differs from Investigator Flag",
        Kind.TEXT,
        1,
        allowed=("Y",),
        source="lesions.TumourAssessment.response_differs",
    ),
    Variable(
        "ANL01FL",
        "In Best Overall Response Window Flag",
        Kind.TEXT,
        1,
        allowed=("Y",),
        source="Derived: RECIST engine, window of D28",
    ),
    Variable(
        "EXPLAN",
        "Derivation Explanation",
        Kind.TEXT,
        200,
        source="lesions.TumourAssessment.computed_explanation; BOR: RECIST engine",
    ),
    Variable("SRCDOM", "Source Data", Kind.TEXT, 20, source="Assigned: tumour-assessment (CRF 8)"),
    Variable("SRCSEQ", "Source Sequence Number", Kind.INTEGER, source="lesions.TumourAssessment id"),
)

SOURCE_DOMAIN = TumourAssessment.crf.code


def adrs_rows(*, trial: Trial, user: Any, chunk_size: int = CHUNK_SIZE) -> Iterator[Row]:
    """Per enrolled patient in the user's scope: the BOR record, then the OVRLRESP records by evaluator and date."""
    studyid = study_id(trial)
    single_arm = single_arm_of(trial)
    for patients in patient_batches(trial=trial, user=user, chunk_size=chunk_size, enrolled_only=True):
        arms = allocated_arms(user=user, patients=patients)
        stored = derivations(user=user, patients=patients)
        assessments = by_patient(
            of_patients(TumourAssessment, user=user, patients=patients)
            .filter(status=CrfStatus.COMPLETE, visit__definition__kind__in=POST_BASELINE)
            .select_related("visit__definition")
            .order_by("patient_id", "assessment_date", "pk")
        )
        evaluations = best_response_evaluations(patients)
        for patient in patients:
            origin = origin_of(patient, stored.get(patient.pk))
            subject = (studyid, patient.subject_id, patient.site.code, planned_treatment(patient, arms, single_arm))
            evaluation = evaluations.get(patient.pk)
            window = _in_window(evaluation)
            yield (*subject, *_bor_columns(evaluation, origin))
            mine = sorted(assessments.get(patient.pk, []), key=_by_date)
            for evaluator in (COMPUTED, INVESTIGATOR):
                for assessment in mine:
                    columns = _assessment_columns(assessment, evaluator, origin, str(assessment.pk) in window)
                    if columns is not None:
                        yield (*subject, *columns)


def best_response_evaluations(patients: list[Patient]) -> dict[int, RecistEvaluation]:
    """The RECIST evaluation of each patient with the BOR window limits of D28, from their complete forms."""
    evaluations = {}
    for pk, records in patient_records(patients).items():
        plain = recist_evaluation(patient=records.patient, records=records.recist)
        evaluations[pk] = recist_evaluation(
            patient=records.patient, records=records.recist, window_limits=window_limits(records, plain)
        )
    return evaluations


def window_limits(records: PatientRecords, evaluation: RecistEvaluation) -> ResponseWindowLimits:
    """D28's limits: new systemic lines and clinical progressions as the endpoint engine sees them (on or after the
    origin, by the cut-off), local ablative treatment of lesions first seen after baseline, the data cut-off."""
    data = patient_data_from(records, evaluation)
    cutoff = data.settings.data_cutoff
    if data.patient_input is None:
        return ResponseWindowLimits(data_cutoff=cutoff)
    origin = origin_date(data.patient_input, data.settings)
    if origin is None:
        return ResponseWindowLimits(data_cutoff=cutoff)
    context, _ = build_context(data.patient_input, data.settings, origin)
    baseline = evaluation.baseline.assessment_date if evaluation.baseline is not None else None
    lesions = {lesion.pk: lesion for lesion in records.recist.lesions}
    new_lesion_treatments = []
    for treatment in records.complete(LocalAblativeTreatment):
        lesion = lesions.get(treatment.lesion_id)
        if treatment.start_date is None or lesion is None:
            continue
        first_seen_after_baseline = (
            lesion.first_seen_date is not None and baseline is not None and lesion.first_seen_date > baseline
        )
        if lesion.role == LesionRole.NEW or first_seen_after_baseline:
            new_lesion_treatments.append(treatment.start_date)
    return ResponseWindowLimits(
        new_systemic_line_starts=tuple(change.line.start for change in context.new_lines),
        new_lesion_local_treatment_dates=tuple(sorted(new_lesion_treatments)),
        clinical_progression_dates=tuple(progression.date for progression in context.clinical_progressions),
        data_cutoff=cutoff,
    )


def _in_window(evaluation: RecistEvaluation | None) -> set[str]:
    if evaluation is None or evaluation.response is None:
        return set()
    return {tp.time_point_id for tp in evaluation.response.time_points if tp.in_bor_window}


def _bor_columns(evaluation: RecistEvaluation | None, origin: date | None) -> tuple[Any, ...]:
    """BOR: NE with the reason when the engine could not evaluate the patient (e.g. no baseline assessment)."""
    response, when, explanation, source = OverallResponse.NE.value, None, "", None
    if evaluation is None or evaluation.response is None:
        explanation = f"Not evaluable: {evaluation.problem if evaluation is not None else 'no RECIST data'}"
    else:
        best = evaluation.response.best_overall_response
        response, explanation = best.response.value, best.explanation
        point = next((tp for tp in evaluation.response.time_points if tp.time_point_id == best.time_point_id), None)
        if point is not None:
            when = point.tp_date
            source = int(point.time_point_id) if point.time_point_id.isdigit() else None
    code = RESPONSES[response]
    return (
        "BOR",
        PARAMS["BOR"],
        COMPUTED,
        None,
        when,
        study_day(when, origin),
        code,
        RESPONSE_NUMBERS[code],
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        clip(explanation, 200) or None,
        SOURCE_DOMAIN if source is not None else None,
        source,
    )


def _assessment_columns(
    assessment: TumourAssessment, evaluator: str, origin: date | None, in_window: bool
) -> tuple[Any, ...] | None:
    computed = evaluator == COMPUTED
    value = assessment.computed_response if computed else assessment.investigator_response
    if not value:
        return None
    code = RESPONSES[value]
    visit = assessment.visit
    return (
        "OVRLRESP",
        PARAMS["OVRLRESP"],
        evaluator,
        str(visit) if visit is not None else None,
        assessment.assessment_date,
        study_day(assessment.assessment_date, origin),
        code,
        RESPONSE_NUMBERS[code],
        (assessment.computed_target_response or None) if computed else None,
        (RESPONSES.get(assessment.computed_non_target_response, assessment.computed_non_target_response) or None)
        if computed
        else None,
        (assessment.computed_new_lesions or None) if computed else None,
        assessment.target_sum_tenths / 10 if computed and assessment.target_sum_tenths is not None else None,
        _float(assessment.change_from_baseline_percent) if computed else None,
        _float(assessment.change_from_nadir_percent) if computed else None,
        flag(bool(assessment.response_differs)),
        flag(in_window),
        (clip(assessment.computed_explanation, 200) or None) if computed else None,
        SOURCE_DOMAIN,
        assessment.pk,
    )


def _by_date(assessment: TumourAssessment) -> tuple[bool, date, int]:
    """ADT order, an assessment without a scan date last (the same on every database)."""
    when = assessment.assessment_date
    return (when is None, when or date.min, assessment.pk)


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


ADRS = Dataset(
    name="ADRS",
    label="Tumour Response Analysis Dataset",
    structure="One record per subject per assessment per evaluator (OVRLRESP), and one BOR per subject",
    keys=("STUDYID", "USUBJID", "PARAMCD", "RSEVAL", "ADT", "SRCSEQ"),
    variables=VARIABLES,
    rows=adrs_rows,
)
