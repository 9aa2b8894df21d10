"""The one guard of locked data: ``ensure_writable`` is called by every service that writes clinical data.

What is refused (issue 8; ICH E6(R3) data governance; 21 CFR 11.10(d) limiting system access):

================  ===============================  =========================================================
State             data entry (``"entry"``)         queries, verification, signing (``"query"`` etc.)
================  ===============================  =========================================================
trial open        allowed                          allowed
trial frozen      refused                          allowed: the site still answers queries, the monitor still
                                                   verifies, the investigator signs (freeze → sign-off → lock)
trial locked      refused                          refused: the data are read-only
site / patient /  refused                          refused: a lock is read-only, as the trial lock is; a data
form lock                                          manager locks what is clean and unlocks to reopen it
================  ===============================  =========================================================

Writers call it: ``crf_save`` (so every CRF, web, API, import and task path, and the lesion services), the visit and
patient services, the query services (``action="query"``), randomisation, SDV and signing. What is not refused:
derived values (RECIST computed responses, endpoints, summaries) recomputed from the stored data, and the automatic
queries those recomputes open or close: they follow the data rather than change it, and a settings change after a
lock must still be visible.

Refusals raise ``DataLocked``, a ``ValidationError`` (screens show its message on the form) that the JSON API
answers with **423 Locked** (RFC 4918 §11.3) and the message in ``non_field_errors``.

Concurrency: on PostgreSQL every guarded write holds a shared advisory lock on its trial until it commits, and every
lock change takes it exclusively (``hold_lock_changes``), so a lock never lands in the middle of a write it should
have refused. Advisory locks do not touch rows, so they cannot deadlock with the row locks of randomisation.
"""

from __future__ import annotations

from typing import Literal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model, Q

from trials.models import Site, Trial, TrialDataState

from .models import Lock, LockScope, Patient

Action = Literal["entry", "query", "verify", "sign"]

#: HTTP status of a refusal in the JSON API (RFC 4918 §11.3, "The source or destination resource ... is locked").
LOCKED_STATUS = 423

#: First key of PostgreSQL's two-key advisory locks taken here ("LK"); the second is the trial id.
_ADVISORY_CLASS = 0x4C4B

_DOING = {"entry": "entered or changed", "query": "queried", "verify": "verified", "sign": "signed"}


class DataLocked(ValidationError):
    """Locked or frozen data refused a write. The message says what is locked and who can unlock it."""

    status_code = LOCKED_STATUS

    def __init__(self, message: str) -> None:
        super().__init__(message, code="locked")


def _advisory(trial_id: int, *, exclusive: bool) -> None:
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s::integer)", [_ADVISORY_CLASS, trial_id])


def hold_lock_changes(trial_id: int) -> None:
    """Called by every lock change, inside its transaction: waits for the trial's writes in flight to commit and
    holds new ones until the change commits."""
    _advisory(trial_id, exclusive=True)


def _when(lock: Lock) -> str:
    reason = f": {lock.reason}" if lock.reason else ""
    return f"(locked on {lock.locked_at:%Y-%m-%d} by {lock.locked_by.get_username()}{reason})"


def _lock_message(lock: Lock, *, site: Site | None, patient: Patient | None, record: Model | None) -> str:
    if lock.scope == LockScope.SITE:
        what = f"Site {site.code if site else lock.site_id}'s data in this trial are locked"
    elif lock.scope == LockScope.PATIENT:
        what = f"The casebook of {patient.subject_id if patient else 'this patient'} is locked"
    else:
        name = getattr(getattr(record, "crf", None), "name", "form")
        what = f"This {name} form is locked"
    return f"{what} {_when(lock)}: it is read-only until a data manager unlocks it."


def ensure_writable(
    *,
    record: Model | None = None,
    patient: Patient | None = None,
    trial: Trial | None = None,
    site: Site | None = None,
    action: Action = "entry",
) -> None:
    """Refuse (``DataLocked``) a write that the trial's data state or a lock forbids; see the module's table.

    Give the record being changed (a saved CRF record, or any record with a ``patient``), else the patient, else the
    trial and site (a registration). The state is read from the database, never from an object loaded earlier.
    """
    if record is not None and patient is None:
        patient = record.patient  # type: ignore[attr-defined]
    trial_id: int | None = patient.trial_id if patient is not None else (trial.pk if trial is not None else None)
    site_id: int | None = patient.site_id if patient is not None else (site.pk if site is not None else None)
    if trial_id is None:
        raise ValueError("ensure_writable needs a record, a patient or a trial")
    _advisory(trial_id, exclusive=False)
    found = Trial.objects.filter(pk=trial_id).values_list("data_state", "short_name").first()
    if found is None:
        return
    state, name = found
    if state == TrialDataState.LOCKED:
        raise DataLocked(
            f"{name} is locked: its data are read-only and cannot be {_DOING[action]}. "
            "Only a sponsor admin can unlock the trial, with a reason."
        )
    if state == TrialDataState.FROZEN and action == "entry":
        raise DataLocked(
            f"{name} is frozen: no data can be entered or changed. Queries can still be raised, answered and closed."
        )
    scopes = Q(scope=LockScope.SITE, site_id=site_id) if site_id is not None else Q(pk__in=[])
    if patient is not None:
        scopes |= Q(scope=LockScope.PATIENT, patient_id=patient.pk)
    if record is not None and record.pk is not None:
        content_type = ContentType.objects.get_for_model(record)
        scopes |= Q(scope=LockScope.FORM, content_type=content_type, object_id=record.pk)
    locks = list(Lock.objects.filter(scopes, trial_id=trial_id, unlocked_at__isnull=True).select_related("locked_by"))
    if not locks:
        return
    order = [LockScope.SITE, LockScope.PATIENT, LockScope.FORM]
    lock = min(locks, key=lambda found_lock: order.index(LockScope(found_lock.scope)))
    site_obj = site if site is not None else (patient.site if patient is not None else None)
    raise DataLocked(_lock_message(lock, site=site_obj, patient=patient, record=record))


def error_status(error: ValidationError) -> int:
    """The JSON API's status for a service's refusal: 423 when data are locked, else 400."""
    return LOCKED_STATUS if isinstance(error, DataLocked) else 400


def refusal(
    *,
    record: Model | None = None,
    patient: Patient | None = None,
    trial: Trial | None = None,
    site: Site | None = None,
    action: Action = "entry",
) -> str:
    """What ``ensure_writable`` would say, or "" when the write is allowed: for screens that warn before a save."""
    try:
        ensure_writable(record=record, patient=patient, trial=trial, site=site, action=action)
    except DataLocked as error:
        return " ".join(error.messages)
    return ""
