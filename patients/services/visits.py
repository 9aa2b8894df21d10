"""Recording visits: done on a date or missed with a reason; unscheduled visits added on demand."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from trials.audit import require_reason, stamp
from trials.models import VisitDefinition, VisitKind
from trials.permissions import Capability, require

from ..events import notify_patient_data_changed
from ..locking import ensure_writable
from ..models import Patient, Visit, VisitStatus
from .oversight import visit_changed, visit_content


def _check(*, patient: Patient, status: str, visit_date: date | None, missed_reason: str) -> None:
    errors: dict[str, str] = {}
    if status == VisitStatus.DONE:
        if visit_date is None:
            errors["visit_date"] = "A visit recorded as done needs its date."
        elif visit_date > timezone.localdate():
            errors["visit_date"] = "The visit date cannot be in the future."
        elif visit_date < patient.consent_date:
            errors["visit_date"] = "The visit date cannot be before consent."
    elif status == VisitStatus.MISSED:
        if not missed_reason.strip():
            errors["missed_reason"] = "Say why the visit was missed."
    else:
        errors["status"] = "Choose done or missed."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def visit_record(
    *,
    user: Any,
    patient: Patient,
    definition: VisitDefinition,
    occurrence: int,
    status: str,
    visit_date: date | None = None,
    missed_reason: str = "",
    reason: str = "",
) -> Visit:
    """Record a scheduled visit as done or missed (a change to an earlier record needs a reason)."""
    require(user, Capability.EDIT_CLINICAL_DATA)
    if not Patient.objects.for_user(user).filter(pk=patient.pk).exists() or definition.trial_id != patient.trial_id:
        raise ValidationError("This visit is not part of this patient's schedule.")
    ensure_writable(patient=patient)
    _check(patient=patient, status=status, visit_date=visit_date, missed_reason=missed_reason)
    visit = (
        Visit.objects.select_for_update(of=("self",))
        .filter(patient=patient, definition=definition, occurrence=occurrence)
        .first()
    )
    before = visit_content(visit)
    if visit is None:
        visit = Visit(patient=patient, site_id=patient.site_id, definition=definition, occurrence=occurrence)
        reason = reason.strip() or "Visit recorded"
    else:
        reason = require_reason(reason)
        visit.version += 1
    visit.status = status
    visit.visit_date = visit_date if status == VisitStatus.DONE else None
    visit.missed_reason = missed_reason.strip() if status == VisitStatus.MISSED else ""
    stamp(visit, user=user, reason=reason)
    visit.save()
    visit_changed(visit=visit, before=before, user=user, reason=reason)
    notify_patient_data_changed(patient.pk)
    return visit


@transaction.atomic
def unscheduled_visit_add(*, user: Any, patient: Patient, visit_date: date) -> Visit:
    definition = patient.trial.visit_definitions.filter(kind=VisitKind.UNSCHEDULED).first()
    if definition is None:
        raise ValidationError("This trial has no unscheduled visit in its schedule.")
    Patient.objects.select_for_update(of=("self",)).filter(pk=patient.pk).first()  # serialise occurrence numbering
    last = Visit.objects.filter(patient=patient, definition=definition).aggregate(n=Max("occurrence"))["n"] or 0
    return visit_record(
        user=user,
        patient=patient,
        definition=definition,
        occurrence=last + 1,
        status=VisitStatus.DONE,
        visit_date=visit_date,
    )
