"""Writes of lesion data. Every record goes through ``patients.services.crf_save`` (permission, scope, edit checks,
reason for change, optimistic lock, event on commit); what a form saves besides the record happens here, inside
that service's transaction (its ``save_children`` hook):

- ``lesion_saved``: the RECIST responses depend on the register (targets, baseline measurements), so recompute.
- ``treatment_apply``: the treated lesion becomes "locally treated" (D5), stamped with a reason; recompute.
- ``assessment_rows_save``: checks and writes a tumour assessment's rows, dates the assessment by its latest scan
  (D22) and recomputes the patient's RECIST responses from every complete assessment (clinical-spec C6).

``lesion_save``, ``local_treatment_save`` and ``tumour_assessment_save`` are the same writes for callers without a
form (API, imports, the demo).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from patients.edit_checks import CheckContext, Finding, Severity
from patients.locking import ensure_writable
from patients.models import Patient, Query, QueryStatus, Visit
from patients.services import crf_save, queries_sync_automatic
from patients.services.oversight import oversight_record_changed, oversight_snapshot
from trials.audit import stamp

from .crf_rules import ASSESSMENT_ROWS
from .domain.recist import ALGORITHM_VERSION
from .models import (
    RESPONSE_LABELS,
    AssessmentRows,
    Lesion,
    LocalAblativeTreatment,
    NewLesion,
    NonTargetObservation,
    TargetMeasurement,
    TumourAssessment,
)
from .selectors import RecistEvaluation, RecistRecords, fetch_rows, percent, recist_evaluation, recist_records

#: Automatic queries of the rows' warnings. Not ``check:``: the CRF service syncs those from the record's own rule
#: run after ``save_children``, which on a new record cannot see the rows, and would close these again.
ROWS_QUERY_PREFIX = "check-rows:"
#: Automatic queries raised when the computed RECIST response differs from the investigator's (C7).
RECIST_QUERY_PREFIX = "recist:"

Previous = tuple[int | None, date | None]


def _author(record: Any) -> tuple[Any, str]:
    """Who saved the parent record and why: the rows it writes carry the same (set by ``crf_save``'s ``stamp``)."""
    return getattr(record, "_history_user", None), getattr(record, "_change_reason", "") or "Saved with its form"


def _errors(findings: list[Finding]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for finding in findings:
        errors.setdefault(finding.field or "__all__", []).append(finding.message)
    return errors


# CRF 6 --------------------------------------------------------------------------------------------------------


def lesion_saved(*, lesion: Lesion) -> None:
    assessments_sync_computed(patient=lesion.patient)


def lesion_save(
    *,
    user: Any,
    patient: Patient,
    values: dict[str, Any],
    complete: bool,
    instance: Lesion | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> Lesion:
    saved: Lesion = crf_save(  # type: ignore[assignment]
        user=user,
        model=Lesion,
        patient=patient,
        values=values,
        complete=complete,
        instance=instance,
        reason=reason,
        expected_version=expected_version,
        save_children=lambda record: lesion_saved(lesion=record),  # type: ignore[arg-type]
    )
    return saved


# CRF 7 --------------------------------------------------------------------------------------------------------


def treatment_apply(*, treatment: LocalAblativeTreatment, previous: Previous = (None, None)) -> None:
    """Mark the treated lesion locally treated (from the earliest treatment date), stamped with a reason.

    ``previous`` is the (lesion id, treatment date) the record had before this save: when a correction moves the
    treatment to another lesion, the first lesion is unmarked if nothing else treated it and its date came from
    this record. The lesion's version moves on, so a register form opened before this save must be reloaded.
    """
    user, _ = _author(treatment)
    if treatment.lesion_id is not None:
        lesion = Lesion.objects.select_for_update().get(pk=treatment.lesion_id)
        dates = [d for d in (lesion.locally_treated_date, treatment.start_date) if d is not None]
        treated_on = min(dates) if dates else None
        if not lesion.locally_treated or lesion.locally_treated_date != treated_on:
            ensure_writable(record=lesion)  # a locked lesion register refuses the treatment that would change it
            before = oversight_snapshot(lesion)
            lesion.locally_treated, lesion.locally_treated_date = True, treated_on
            lesion.version += 1
            modality = treatment.get_modality_display() or "local ablative treatment"
            stamp(lesion, user=user, reason=f"Locally treated: {modality} (treatment record {treatment.pk})"[:100])
            lesion.save()
            oversight_record_changed(record=lesion, before=before, created=False, user=user)
    old_id, old_date = previous
    if old_id is not None and old_id != treatment.lesion_id:
        old = Lesion.objects.select_for_update().get(pk=old_id)
        if old.locally_treated and old.locally_treated_date == old_date and not old.treatments.exists():
            ensure_writable(record=old)
            before = oversight_snapshot(old)
            old.locally_treated, old.locally_treated_date = False, None
            old.version += 1
            stamp(old, user=user, reason=f"Treatment record {treatment.pk} moved to another lesion")
            old.save()
            oversight_record_changed(record=old, before=before, created=False, user=user)
    assessments_sync_computed(patient=treatment.patient)


def local_treatment_save(
    *,
    user: Any,
    patient: Patient,
    values: dict[str, Any],
    complete: bool,
    visit: Visit | None = None,
    instance: LocalAblativeTreatment | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> LocalAblativeTreatment:
    previous: Previous = (instance.lesion_id, instance.start_date) if instance is not None else (None, None)
    saved: LocalAblativeTreatment = crf_save(  # type: ignore[assignment]
        user=user,
        model=LocalAblativeTreatment,
        patient=patient,
        visit=visit,
        values=values,
        complete=complete,
        instance=instance,
        reason=reason,
        expected_version=expected_version,
        save_children=lambda record: treatment_apply(treatment=record, previous=previous),  # type: ignore[arg-type]
    )
    return saved


# CRF 8 --------------------------------------------------------------------------------------------------------


def assessment_rows_save(*, assessment: TumourAssessment, rows: AssessmentRows) -> None:
    """Check the rows (an error rolls the whole save back), write them with the parent's author and reason, date
    the assessment by its latest scan, sync the rows' automatic queries and recompute RECIST for the patient."""
    patient = assessment.patient
    assessment._pending_rows = rows  # type: ignore[attr-defined]
    context = CheckContext(patient=patient, today=timezone.localdate(), completing=assessment.is_complete)
    findings = ASSESSMENT_ROWS.run(assessment, context)
    errors = [finding for finding in findings if finding.severity == Severity.ERROR]
    if errors:
        raise ValidationError(_errors(errors))
    user, reason = _author(assessment)
    _save_targets(assessment, rows, user=user, reason=reason)
    _save_non_targets(assessment, rows, user=user, reason=reason)
    _save_new_lesions(assessment, rows, user=user, reason=reason)
    TumourAssessment.objects.filter(pk=assessment.pk).update(assessment_date=rows.latest_scan_date)
    assessment.assessment_date = rows.latest_scan_date
    warnings = [finding for finding in findings if finding.severity == Severity.WARNING]
    queries_sync_automatic(record=assessment, findings=warnings, prefix=ROWS_QUERY_PREFIX)
    assessments_sync_computed(patient=patient)


def _write(row: Any, values: dict[str, Any], *, user: Any, reason: str) -> None:
    """Save a row when it is new or something changed, so an unchanged row adds no history."""
    if row.pk is not None and all(getattr(row, name) == value for name, value in values.items()):
        return
    for name, value in values.items():
        setattr(row, name, value)
    stamp(row, user=user, reason=reason)
    row.save()


def _delete(row: Any, *, user: Any, reason: str) -> None:
    stamp(row, user=user, reason=reason)
    row.delete()


def _save_targets(assessment: TumourAssessment, rows: AssessmentRows, *, user: Any, reason: str) -> None:
    existing = {row.lesion_id: row for row in TargetMeasurement.objects.filter(assessment=assessment)}
    for given in rows.targets:
        row = existing.pop(given.lesion.pk, None) or TargetMeasurement(
            assessment=assessment, lesion=given.lesion, site_id=assessment.site_id
        )
        values = {"status": given.status, "diameter_tenths": given.diameter_tenths, "scan_date": given.scan_date}
        _write(row, values, user=user, reason=reason)
    for row in existing.values():
        _delete(row, user=user, reason=reason)


def _save_non_targets(assessment: TumourAssessment, rows: AssessmentRows, *, user: Any, reason: str) -> None:
    existing = {row.lesion_id: row for row in NonTargetObservation.objects.filter(assessment=assessment)}
    for given in rows.non_targets:
        row = existing.pop(given.lesion.pk, None) or NonTargetObservation(
            assessment=assessment, lesion=given.lesion, site_id=assessment.site_id
        )
        _write(row, {"status": given.status, "scan_date": given.scan_date}, user=user, reason=reason)
    for row in existing.values():
        _delete(row, user=user, reason=reason)


def _save_new_lesions(assessment: TumourAssessment, rows: AssessmentRows, *, user: Any, reason: str) -> None:
    existing = {row.pk: row for row in NewLesion.objects.filter(assessment=assessment)}
    for given in rows.new_lesions:
        if given.pk is not None and given.pk not in existing:
            raise ValidationError({"new_lesions": "A new-lesion row of another assessment cannot be edited here."})
        row = existing.pop(given.pk, None) if given.pk is not None else None
        row = row or NewLesion(assessment=assessment, site_id=assessment.site_id)
        values = {
            "status": given.status,
            "scan_date": given.scan_date,
            "site_code": given.site_code,
            "confirms": given.confirms,
            "description": given.description,
        }
        _write(row, values, user=user, reason=reason)
    for row in existing.values():
        _delete(row, user=user, reason=reason)


def tumour_assessment_save(
    *,
    user: Any,
    patient: Patient,
    visit: Visit | None,
    values: dict[str, Any],
    rows: AssessmentRows,
    complete: bool,
    instance: TumourAssessment | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> TumourAssessment:
    if instance is not None:
        instance._pending_rows = rows  # type: ignore[attr-defined]
    saved: TumourAssessment = crf_save(  # type: ignore[assignment]
        user=user,
        model=TumourAssessment,
        patient=patient,
        visit=visit,
        values=values,
        complete=complete,
        instance=instance,
        reason=reason,
        expected_version=expected_version,
        save_children=lambda record: assessment_rows_save(assessment=record, rows=rows),  # type: ignore[arg-type]
    )
    saved.refresh_from_db()
    return saved


# RECIST recompute -----------------------------------------------------------------------------------------------

_NOT_COMPUTED: dict[str, Any] = {
    "computed_response": "",
    "computed_target_response": "",
    "computed_non_target_response": "",
    "computed_new_lesions": "",
    "target_sum_tenths": None,
    "baseline_sum_tenths": None,
    "nadir_tenths": None,
    "change_from_baseline_percent": None,
    "change_from_nadir_percent": None,
    "response_differs": None,
}


def _computed(
    assessment: TumourAssessment, evaluation: RecistEvaluation, now: Any
) -> tuple[dict[str, Any], list[Finding]]:
    """The derived columns of one assessment from the patient's evaluation, and its discrepancy finding if any."""
    values = dict(_NOT_COMPUTED, computed_at=now, computed_algorithm_version=ALGORITHM_VERSION)
    findings: list[Finding] = []
    if not assessment.is_complete:
        values["computed_explanation"] = "Computed when the form is marked complete."
    elif evaluation.response is None:
        values["computed_explanation"] = f"Not computed: {evaluation.problem}."
    elif evaluation.baseline is not None and assessment.pk == evaluation.baseline.pk:
        values["baseline_sum_tenths"] = evaluation.baseline_sum_tenths
        values["target_sum_tenths"] = evaluation.baseline_sum_tenths
        values["computed_explanation"] = "Baseline: the sum every later assessment is compared with."
    else:
        result = evaluation.result_for(assessment)
        if result is None:
            values["computed_explanation"] = "Not computed: not a follow-up time point with a scan date."
        else:
            values.update(
                computed_response=result.overall_response.value,
                computed_target_response=result.target_response_reported.value,
                computed_non_target_response=result.non_target_response.value,
                computed_new_lesions=result.new_lesions.value,
                target_sum_tenths=result.sum_tenths,
                baseline_sum_tenths=result.baseline_sum_tenths,
                nadir_tenths=result.nadir_tenths,
                change_from_baseline_percent=percent(result.change_from_baseline_percent),
                change_from_nadir_percent=percent(result.change_from_nadir_percent),
                response_differs=result.discrepant if result.investigator_overall is not None else None,
                computed_explanation=result.explanation,
            )
            if result.discrepant:
                findings.append(
                    Finding(
                        "investigator_response",
                        f"The computed RECIST 1.1 response is {RESPONSE_LABELS[result.overall_response.value]}; "
                        f"the investigator's is {RESPONSE_LABELS[assessment.investigator_response]}. Please check "
                        "the measurements, or explain the investigator's assessment.",
                        "discrepancy",
                        Severity.WARNING,
                    )
                )
    return values, findings


@transaction.atomic
def assessments_sync_computed(
    *, patient: Patient, records: RecistRecords | None = None, evaluation: RecistEvaluation | None = None
) -> RecistEvaluation:
    """Store the computed RECIST response of every tumour assessment of the patient, beside the investigator's,
    from every complete assessment at once (clinical-spec C6: a later confirmation or correction can change an
    earlier time point), and keep one automatic query per assessment whose computed response differs (C7).

    Derived columns are written with ``update()``, and only when they change: they are not entered data (the rows
    they come from are audited), and a recompute must not move the version a colleague's open form holds. Called
    inside every lesion write and by the outcomes recompute (``outcomes.services.patients``); idempotent.
    ``records`` / ``evaluation``: the patient's RECIST inputs and their evaluation when the caller already has
    them (the recompute reads once for both). Returns the evaluation.
    """
    if records is None:
        records = recist_records([patient])[patient.pk]
    if evaluation is None:
        evaluation = recist_evaluation(patient=patient, records=records)
    assessments_sync_computed_many([(records, evaluation)])
    return evaluation


@transaction.atomic(savepoint=False)
def assessments_sync_computed_many(evaluated: Sequence[tuple[RecistRecords, RecistEvaluation]]) -> int:
    """``assessments_sync_computed`` for many patients in a constant number of queries (plus one per query to
    open or close). The in-memory assessments of ``records`` get the values written, so a caller reading them
    afterwards (the record summaries of the endpoint provenance) sees what the database holds. Returns the number
    of assessments whose derived columns changed."""
    now = timezone.now()
    changed: list[tuple[TumourAssessment, dict[str, Any]]] = []
    wanted: list[tuple[TumourAssessment, list[Finding]]] = []
    for records, evaluation in evaluated:
        for assessment in records.assessments:
            values, findings = _computed(assessment, evaluation, now)
            if any(getattr(assessment, name) != value for name, value in values.items() if name != "computed_at"):
                changed.append((assessment, values))
            wanted.append((assessment, findings))
    _update_computed(changed)
    for assessment, values in changed:
        for name, value in values.items():
            setattr(assessment, name, value)
    _sync_discrepancy_queries(wanted)
    return len(changed)


_COMPUTED_FIELDS = [*_NOT_COMPUTED, "computed_explanation", "computed_at", "computed_algorithm_version"]


def _update_computed(changed: list[tuple[TumourAssessment, dict[str, Any]]]) -> None:
    """Write the derived columns: row by row when few, else in one ``UPDATE ... FROM (VALUES ...)`` per thousand
    rows on PostgreSQL (Django's ``bulk_update`` builds a CASE per column whose cost grows with the batch squared)."""
    if len(changed) <= 3 or connection.vendor != "postgresql":
        for assessment, values in changed:
            TumourAssessment.objects.filter(pk=assessment.pk).update(**values)
        return
    meta = TumourAssessment._meta
    fields: list[Any] = [meta.get_field(name) for name in _COMPUTED_FIELDS]
    quote = connection.ops.quote_name
    key: Any = meta.pk
    columns = ", ".join(quote(f.column) for f in [key, *fields])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
    casts = ", ".join(f"%s::{f.db_type(connection)}" for f in [key, *fields])
    for start in range(0, len(changed), 1000):
        batch = changed[start : start + 1000]
        params: list[Any] = []
        for assessment, values in batch:
            params.append(assessment.pk)
            params += [f.get_db_prep_save(values[f.name], connection) for f in fields]
        rows = ", ".join([f"({casts})"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS t SET {assignments} FROM (VALUES {rows}) AS v({columns}) "  # noqa: S608
                f"WHERE t.{quote(key.column)} = v.{quote(key.column)}",
                params,
            )


def _sync_discrepancy_queries(wanted: list[tuple[TumourAssessment, list[Finding]]]) -> None:
    """Open and close the discrepancy queries, touching only the assessments whose open ones differ from what the
    computed responses ask for (``queries_sync_automatic`` per assessment, as before, but not for the unchanged)."""
    if not wanted:
        return
    content_type = ContentType.objects.get_for_model(TumourAssessment)
    ids = {assessment.pk for assessment, _ in wanted}
    open_now: dict[int, set[tuple[str, str]]] = {}
    for query in fetch_rows(Query, "patient_id", {assessment.patient_id for assessment, _ in wanted}):
        if (
            query.content_type_id == content_type.pk
            and query.object_id in ids
            and query.check_code.startswith(RECIST_QUERY_PREFIX)
            and query.status != QueryStatus.CLOSED
        ):
            open_now.setdefault(query.object_id, set()).add((query.check_code, query.field_name))
    for assessment, findings in wanted:
        keys = {(f"{RECIST_QUERY_PREFIX}{finding.code}", finding.field) for finding in findings}
        if keys != open_now.get(assessment.pk, set()):
            queries_sync_automatic(record=assessment, findings=findings, prefix=RECIST_QUERY_PREFIX)
