"""Locks of forms, patients and sites, and the trial's data state (issue 8).

Who may do what (``trials.permissions``):

- a data manager or sponsor admin (``LOCK_DATA``) locks and unlocks a form, a patient's casebook or a site's data in
  a trial, and freezes the trial (no data entry; queries, verification and signing go on);
- only a sponsor admin (``LOCK_TRIAL``) locks the trial (read-only) and unlocks a frozen or locked trial, always with
  a reason.

A lock, and unlocking, is audited (simple-history rows with the reason; the lock row keeps who and when). Every change
waits for the trial's writes in flight (``locking.hold_lock_changes``), so no write started before the lock commits
after it. What locked data refuse is decided in one place, ``patients.locking.ensure_writable``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from trials.audit import require_reason, stamp
from trials.models import Site, Trial, TrialDataState, TrialSite
from trials.permissions import Capability, require

from ..crf import CaseReportForm
from ..locking import hold_lock_changes
from ..models import Lock, LockScope, Patient


def _lock(*, user: Any, lock: Lock, what: str, reason: str) -> Lock:
    hold_lock_changes(lock.trial_id)
    lock.locked_by = user
    lock.reason = reason.strip()
    stamp(lock, user=user, reason=f"{what} locked" + (f": {lock.reason}" if lock.reason else ""))
    try:
        with transaction.atomic():
            lock.save()
    except IntegrityError as error:  # the partial unique constraint: someone locked it a moment ago
        raise ValidationError(f"{what} is already locked.") from error
    return lock


def _same_target(lock: Lock) -> dict[str, Any]:
    if lock.scope == LockScope.SITE:
        return {"scope": lock.scope, "trial_id": lock.trial_id, "site_id": lock.site_id}
    if lock.scope == LockScope.PATIENT:
        return {"scope": lock.scope, "patient_id": lock.patient_id}
    return {"scope": lock.scope, "content_type_id": lock.content_type_id, "object_id": lock.object_id}


@transaction.atomic
def lock_form(*, user: Any, record: CaseReportForm, reason: str = "") -> Lock:
    require(user, Capability.LOCK_DATA)
    if not type(record).objects.for_user(user).filter(pk=record.pk).exists():
        raise Http404
    patient = record.patient
    lock = Lock(
        scope=LockScope.FORM,
        trial_id=patient.trial_id,
        site_id=record.site_id,
        patient=patient,
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
    )
    if Lock.objects.filter(**_same_target(lock), unlocked_at__isnull=True).exists():
        raise ValidationError(f"This {record.crf.name} form is already locked.")
    return _lock(user=user, lock=lock, what=f"{record.crf.name} #{record.pk}", reason=reason)


@transaction.atomic
def lock_patient(*, user: Any, patient: Patient, reason: str = "") -> Lock:
    require(user, Capability.LOCK_DATA)
    if not Patient.objects.for_user(user).filter(pk=patient.pk).exists():
        raise Http404
    lock = Lock(scope=LockScope.PATIENT, trial_id=patient.trial_id, site_id=patient.site_id, patient=patient)
    if Lock.objects.filter(**_same_target(lock), unlocked_at__isnull=True).exists():
        raise ValidationError(f"The casebook of {patient.subject_id} is already locked.")
    return _lock(user=user, lock=lock, what=f"Casebook of {patient.subject_id}", reason=reason)


@transaction.atomic
def lock_site(*, user: Any, trial: Trial, site: Site, reason: str = "") -> Lock:
    require(user, Capability.LOCK_DATA)
    if not TrialSite.objects.for_user(user).filter(trial=trial, site=site).exists():
        raise Http404
    lock = Lock(scope=LockScope.SITE, trial=trial, site=site)
    if Lock.objects.filter(**_same_target(lock), unlocked_at__isnull=True).exists():
        raise ValidationError(f"{site.code}'s data in {trial} are already locked.")
    return _lock(user=user, lock=lock, what=f"{site.code} data in {trial}", reason=reason)


@transaction.atomic
def lock_release(*, user: Any, lock: Lock, reason: str) -> Lock:
    """Unlock a form, patient or site lock, with a reason; the lock row stays, with who unlocked it and why."""
    require(user, Capability.LOCK_DATA)
    reason = require_reason(reason)
    found: Lock | None = Lock.objects.for_user(user).select_for_update(of=("self",)).filter(pk=lock.pk).first()
    if found is None:
        raise Http404
    if found.unlocked_at is not None:
        raise ValidationError("This lock was already released.")
    hold_lock_changes(found.trial_id)
    found.unlocked_at = timezone.now()
    found.unlocked_by = user
    found.unlock_reason = reason
    stamp(found, user=user, reason=f"Unlocked: {reason}")
    found.save()
    return found


# The trial's data state ---------------------------------------------------------------------------------------


def _trial_state(*, user: Any, trial: Trial, to: str, allowed_from: tuple[str, ...], reason: str) -> Trial:
    hold_lock_changes(trial.pk)
    current = Trial.objects.select_for_update().get(pk=trial.pk)
    if current.data_state not in allowed_from:
        label = TrialDataState(current.data_state).label.lower()
        raise ValidationError(f"{current} is {label}: it cannot be {TrialDataState(to).label.lower()} from there.")
    current.data_state = to
    stamp(current, user=user, reason=reason)
    current.save()
    trial.data_state = to
    return current


@transaction.atomic
def trial_freeze(*, user: Any, trial: Trial, reason: str = "") -> Trial:
    """Freeze an open trial: no data entry anywhere; queries, verification and signing go on."""
    require(user, Capability.LOCK_DATA)
    reason = reason.strip() or "Trial frozen"
    return _trial_state(
        user=user, trial=trial, to=TrialDataState.FROZEN, allowed_from=(TrialDataState.OPEN,), reason=reason
    )


@transaction.atomic
def trial_lock(*, user: Any, trial: Trial, reason: str = "") -> Trial:
    """Lock an open or frozen trial: every write is refused, queries included (database lock)."""
    require(user, Capability.LOCK_TRIAL)
    reason = reason.strip() or "Trial locked"
    return _trial_state(
        user=user,
        trial=trial,
        to=TrialDataState.LOCKED,
        allowed_from=(TrialDataState.OPEN, TrialDataState.FROZEN),
        reason=reason,
    )


@transaction.atomic
def trial_unlock(*, user: Any, trial: Trial, reason: str) -> Trial:
    """Reopen a frozen or locked trial: a sponsor admin only, with a reason (it is audited on the trial)."""
    require(user, Capability.LOCK_TRIAL)
    reason = require_reason(reason)
    return _trial_state(
        user=user,
        trial=trial,
        to=TrialDataState.OPEN,
        allowed_from=(TrialDataState.FROZEN, TrialDataState.LOCKED),
        reason=f"Unlocked: {reason}",
    )
