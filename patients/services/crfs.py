"""Saving a case report form: the one path for web forms, API writes, imports and tasks.

Order of work: permission and scope → trial and visit fit the form → values assigned → completeness (when
completing) → field validation → edit checks (errors block; warnings raise automatic queries on completion) →
optimistic lock → save with the audit reason → automatic queries synced → patient-data-changed event on commit.
Nothing is written unless every check passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from trials.audit import require_reason, stamp
from trials.permissions import Capability, require

from ..crf import CaseReportForm, CrfStatus, data_fields
from ..edit_checks import CheckContext, Finding, Severity
from ..events import notify_patient_data_changed
from ..locking import ensure_writable
from ..models import Patient, Visit
from .oversight import oversight_record_changed, oversight_snapshot
from .patients import EditConflict
from .queries import queries_sync_automatic

DRAFT_EDIT_REASON = "Draft edited before completion"


def _errors(findings: list[Finding]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for finding in findings:
        errors.setdefault(finding.field or "__all__", []).append(finding.message)
    return errors


def crf_check(record: CaseReportForm, *, patient: Patient, completing: bool, user: Any = None) -> list[Finding]:
    """Completeness and edit checks for ``record`` as it would be saved; nothing is written."""
    findings: list[Finding] = []
    if completing:
        for name in record.crf.required:
            value = getattr(record, name, None)
            if value is None or value == "":
                label = str(getattr(record._meta.get_field(name), "verbose_name", name))
                findings.append(
                    Finding(name, f"{label.capitalize()} is required to mark the form complete.", "required")
                )
    context = CheckContext(patient=patient, today=timezone.localdate(), completing=completing, user=user)
    findings.extend(record.crf.rules.run(record, context))
    return findings


def _check_visit(model: type[CaseReportForm], visit: Visit | None) -> None:
    """A visit-bound form belongs to a done visit of a kind it is collected at; a patient-level log has no visit."""
    kinds = model.crf.visit_kinds
    if not kinds:
        if visit is not None:
            raise ValidationError({"visit": f"{model.crf.name} is a patient-level record, not part of a visit."})
        return
    if visit is None:
        raise ValidationError({"visit": f"{model.crf.name} is entered at a visit: choose the visit."})
    if visit.definition.kind not in kinds:
        raise ValidationError({"visit": f"{model.crf.name} is not collected at {visit}."})
    if visit.status != "done":
        raise ValidationError({"visit": f"Record {visit} as done before entering its forms."})


@transaction.atomic
def crf_save(
    *,
    user: Any,
    model: type[CaseReportForm],
    patient: Patient,
    values: dict[str, Any],
    complete: bool,
    instance: CaseReportForm | None = None,
    visit: Visit | None = None,
    reason: str = "",
    expected_version: int | None = None,
    save_children: Callable[[CaseReportForm], None] | None = None,
) -> CaseReportForm:
    """Create or update one CRF record. ``save_children`` writes dependent rows (e.g. lesion measurements) inside the
    same transaction, after the record is saved and before the event is sent."""
    require(user, Capability.EDIT_CLINICAL_DATA)
    if not Patient.objects.for_user(user).filter(pk=patient.pk).exists():
        raise ValidationError("This patient is not in your sites.")
    if not model.crf.used_in(patient.trial.code):
        raise ValidationError(f"{model.crf.name} is not a form of {patient.trial}.")
    if visit is not None and visit.patient_id != patient.pk:
        raise ValidationError({"visit": "This visit belongs to another patient."})
    ensure_writable(patient=patient, record=instance if instance is not None and instance.pk else None)
    allowed = set(data_fields(model))
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError({name: "Not a field of this form." for name in sorted(unknown)})

    creating = instance is None or instance.pk is None
    if creating:
        # An unsaved instance may come from a form that attached pending child rows for the rules to read.
        _check_visit(model, visit)
        instance = instance if instance is not None else model()
        instance.patient, instance.site_id, instance.visit = patient, patient.site_id, visit
    assert instance is not None
    if not creating and instance.patient_id != patient.pk:
        raise ValidationError("This record belongs to another patient.")
    was_complete = instance.is_complete
    if not creating:
        # A draft may be edited and completed freely (its history records each save); a complete form needs a reason.
        if was_complete:
            reason = require_reason(reason)
        else:
            reason = reason.strip() or ("Form completed" if complete else DRAFT_EDIT_REASON)
        if was_complete and not complete:
            raise ValidationError("A complete form stays complete; correct it with a reason instead.")
    for name, value in values.items():
        setattr(instance, name, value)
    completing = complete or was_complete
    # Field types and validators first, so the rules compare dates with dates and numbers with numbers.
    try:
        instance.clean_fields(exclude=[f.name for f in model._meta.fields if f.name not in values])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error

    findings = crf_check(instance, patient=patient, completing=completing, user=user)
    blocking = [f for f in findings if f.severity == Severity.ERROR]
    if blocking:
        raise ValidationError(_errors(blocking))
    instance.status = CrfStatus.COMPLETE if completing else CrfStatus.DRAFT
    if completing and instance.completed_at is None:
        instance.completed_at = timezone.now()
    try:
        instance.full_clean(exclude=["patient", "visit", "site"], validate_unique=True)
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error

    if not creating:
        if expected_version is None:
            expected_version = instance.version
        claimed = model._default_manager.filter(pk=instance.pk, version=expected_version).update(
            version=F("version") + 1
        )
        if not claimed:
            raise EditConflict(str(instance.crf.name))
        instance.version = expected_version + 1
    before = oversight_snapshot(instance)  # the stored content, when a verification or signature depends on it
    stamp(instance, user=user, reason=reason or ("Form completed" if completing else "Draft saved"))
    instance.save()
    if save_children is not None:
        save_children(instance)
    oversight_record_changed(record=instance, before=before, created=creating, user=user, reason=reason)
    if completing:  # warnings become queries only on a completed form; a draft is still being written
        queries_sync_automatic(record=instance, findings=[f for f in findings if f.severity == Severity.WARNING])
    notify_patient_data_changed(patient.pk)
    return instance
