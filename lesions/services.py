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

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, connections, router, transaction
from django.db.models import Model
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from patients.edit_checks import CheckContext, Finding, Severity
from patients.locking import ensure_writable
from patients.models import Patient, Query, QueryStatus, Visit
from patients.services import crf_save, queries_sync_automatic
from patients.services.oversight import oversight_record_changed, oversight_snapshot
from trials.audit import stamp
from trials.audit_chain import audit_chain_markers_batched

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
    _rows_save(assessment=assessment, rows=rows, created=False)


#: The check context of the rows' edit checks, kept on the saved assessment (``_rows_save``): its lookups (the
#: register, the first treatment, the baseline scan date) let the API answer the saved rows' warnings without
#: reading them again (``lesions.api``).
ROWS_CHECK_CONTEXT = "_rows_check_context"


def _rows_save(*, assessment: TumourAssessment, rows: AssessmentRows, created: bool) -> RecistRecords:
    """``assessment_rows_save``; ``created``: the assessment was inserted by this save, so it has no saved rows
    yet (none are read). Returns the patient's RECIST inputs as recomputed, the saved assessment among them."""
    patient = assessment.patient
    assessment._pending_rows = rows  # type: ignore[attr-defined]
    context = CheckContext(patient=patient, today=timezone.localdate(), completing=assessment.is_complete)
    findings = ASSESSMENT_ROWS.run(assessment, context)
    errors = [finding for finding in findings if finding.severity == Severity.ERROR]
    if errors:
        raise ValidationError(_errors(errors))
    setattr(assessment, ROWS_CHECK_CONTEXT, context)
    user, reason = _author(assessment)
    # every history row written below (rows, automatic queries) gets its audit-chain marker in one INSERT at the end
    with audit_chain_markers_batched():
        _save_targets(assessment, rows, user=user, reason=reason, created=created)
        _save_non_targets(assessment, rows, user=user, reason=reason, created=created)
        _save_new_lesions(assessment, rows, user=user, reason=reason, created=created)
        TumourAssessment.objects.filter(pk=assessment.pk).update(assessment_date=rows.latest_scan_date)
        assessment.assessment_date = rows.latest_scan_date
        warnings = [finding for finding in findings if finding.severity == Severity.WARNING]
        queries_sync_automatic(record=assessment, findings=warnings, prefix=ROWS_QUERY_PREFIX)
        records = recist_records([patient])[patient.pk]
        assessments_sync_computed(patient=patient, records=records)
    return records


class _RowWriter:
    """Writes an assessment's rows in order, each with the parent's author and reason. A row is saved only when it
    is new or something changed, so an unchanged row adds no history. New rows in a run are inserted together
    (``_insert_with_history``: what saving each would write, in three INSERTs instead of three per row), before any
    other write, so every row, history row and audit marker is written in the same order as one by one."""

    def __init__(self, *, user: Any, reason: str) -> None:
        self.user, self.reason = user, reason
        self.new: list[Any] = []
        self.records: Any = None  # the ``HistoricalRecords`` of the new rows' model (``_history_writer``)

    def write(self, row: Any, values: dict[str, Any]) -> None:
        if row.pk is not None and all(getattr(row, name) == value for name, value in values.items()):
            return
        for name, value in values.items():
            setattr(row, name, value)
        stamp(row, user=self.user, reason=self.reason)
        if row.pk is None and self.new and type(self.new[0]) is type(row):
            self.new.append(row)
            return
        self.flush()
        records = _history_writer(type(row)) if row.pk is None else None
        if records is not None:
            self.new, self.records = [row], records
            return
        row.save()

    def delete(self, row: Any) -> None:
        self.flush()
        stamp(row, user=self.user, reason=self.reason)
        row.delete()

    def flush(self) -> None:
        if self.new:
            _insert_with_history(self.new, self.records)
            self.new = []


def _history_writer(model: type[Model]) -> Any:
    """The ``HistoricalRecords`` that writes ``model``'s history on ``post_save``, when that is everything saving a
    new row does besides its INSERT (no ``save`` of its own, no other receiver of ``pre_save`` or ``post_save``, no
    many-to-many history, the history model plain too, and the database returns the ids of a bulk insert); else
    None, and its rows are saved one by one."""
    if model.save is not Model.save or pre_save.has_listeners(model):
        return None
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return None
    if not connections[router.db_for_write(model)].features.can_return_rows_from_bulk_insert:
        return None  # the rows' ids, which their history rows and markers name, come back only where it can
    sync, asynchronous = post_save._live_receivers(model)
    if asynchronous or len(sync) != 1:
        return None
    receiver = sync[0]
    records = getattr(receiver, "__self__", None)
    if (
        not isinstance(records, HistoricalRecords)
        or getattr(receiver, "__func__", None) is not HistoricalRecords.post_save
    ):
        return None
    history: Any = getattr(model, records.manager_name).model
    if records.m2m_fields or history.save is not Model.save:
        return None
    if pre_save.has_listeners(history) or post_save.has_listeners(history):
        return None
    return records


def _insert_with_history(rows: list[Any], records: Any) -> None:
    """Insert new rows of one model as ``row.save()`` one after another would: the rows, then a history row each
    (built by the model's own ``HistoricalRecords``, ``records``: date, author, reason, fields; its pre- and
    post-create signals sent for each, as on a save), then the audit-chain markers those signals note
    (``audit_chain_markers_batched``) — an INSERT for each of the three, ids in the rows' order."""
    if any(hasattr(row, "skip_history_when_saving") for row in rows):
        for row in rows:
            row.save()
        return
    model = type(rows[0])
    history_model: Any = getattr(model, records.manager_name).model
    has_relation = getattr(history_model, "history_relation", None) is not None
    model._base_manager.bulk_create(rows)
    written = []
    for row in rows:
        using = row._state.db if records.use_base_model_db else None
        history_date = getattr(row, "_history_date", timezone.now())
        history_user = records.get_history_user(row)
        history_change_reason = records.get_change_reason_for_object(row, "+", using)
        attrs = {field.attname: getattr(row, field.attname) for field in records.fields_included(row)}
        if has_relation:
            attrs["history_relation"] = row
        history_instance = history_model(
            history_date=history_date,
            history_type="+",
            history_user=history_user,
            history_change_reason=history_change_reason,
            **attrs,
        )
        signal = {
            "instance": row,
            "history_date": history_date,
            "history_user": history_user,
            "history_change_reason": history_change_reason,
            "history_instance": history_instance,
            "using": using,
        }
        pre_create_historical_record.send(sender=history_model, **signal)
        written.append(signal)
    using = written[0]["using"]
    history_model._default_manager.db_manager(using).bulk_create([signal["history_instance"] for signal in written])
    with audit_chain_markers_batched():
        for signal in written:
            post_create_historical_record.send(sender=history_model, **signal)


def _save_per_lesion(
    model: type[TargetMeasurement] | type[NonTargetObservation],
    assessment: TumourAssessment,
    given_rows: Iterable[Any],
    values: Callable[[Any], dict[str, Any]],
    *,
    user: Any,
    reason: str,
    created: bool,
) -> None:
    """Rows that are one per lesion (target measurements, non-target observations): the lesion's saved row is
    updated, a missing one added, a row of a lesion no longer given deleted; each with its history row."""
    saved = model.objects.filter(assessment=assessment).order_by("lesion__label", "pk")
    existing = {row.lesion_id: row for row in ([] if created else saved)}
    writer = _RowWriter(user=user, reason=reason)
    for given in given_rows:
        row = existing.pop(given.lesion.pk, None) or model(
            assessment=assessment, lesion=given.lesion, site_id=assessment.site_id
        )
        writer.write(row, values(given))
    for row in existing.values():
        writer.delete(row)
    writer.flush()


def _save_targets(
    assessment: TumourAssessment, rows: AssessmentRows, *, user: Any, reason: str, created: bool = False
) -> None:
    _save_per_lesion(
        TargetMeasurement,
        assessment,
        rows.targets,
        lambda given: {"status": given.status, "diameter_tenths": given.diameter_tenths, "scan_date": given.scan_date},
        user=user,
        reason=reason,
        created=created,
    )


def _save_non_targets(
    assessment: TumourAssessment, rows: AssessmentRows, *, user: Any, reason: str, created: bool = False
) -> None:
    _save_per_lesion(
        NonTargetObservation,
        assessment,
        rows.non_targets,
        lambda given: {"status": given.status, "scan_date": given.scan_date},
        user=user,
        reason=reason,
        created=created,
    )


def _save_new_lesions(
    assessment: TumourAssessment, rows: AssessmentRows, *, user: Any, reason: str, created: bool = False
) -> None:
    saved = NewLesion.objects.filter(assessment=assessment).order_by("pk")
    existing = {row.pk: row for row in ([] if created else saved)}
    writer = _RowWriter(user=user, reason=reason)
    for given in rows.new_lesions:
        if given.pk is not None and given.pk not in existing:
            writer.flush()  # the rows before it are written first, as one by one
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
        writer.write(row, values)
    for row in existing.values():
        writer.delete(row)
    writer.flush()


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
    creating = instance is None or instance.pk is None
    recomputed: list[RecistRecords] = []
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
        save_children=lambda record: recomputed.append(
            _rows_save(assessment=record, rows=rows, created=creating)  # type: ignore[arg-type]
        ),
    )
    _as_stored(saved, recomputed[0])
    return saved


def _as_stored(assessment: TumourAssessment, records: RecistRecords) -> None:
    """Make the saved instance what the database holds, as ``refresh_from_db`` would, without reading it again:
    the save wrote every column from this instance except the derived ones, which the recompute wrote with
    ``update()`` from its own copy of the assessment (``records``, read inside this transaction). Rows prefetched
    before the save are dropped (they are the old rows), as ``refresh_from_db`` drops them."""
    stored = next(a for a in records.assessments if a.pk == assessment.pk)
    for name in (*_COMPUTED_FIELDS, "assessment_date"):
        setattr(assessment, name, getattr(stored, name))
    assessment._prefetched_objects_cache = {}  # type: ignore[attr-defined]


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


@transaction.atomic(savepoint=False)  # every caller lets an error end its transaction: no savepoint to roll back to
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
