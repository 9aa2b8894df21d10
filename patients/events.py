"""``patient_data_changed``: the one event by which clinical writes reach the floors above (STYLE.md rule 5).

Every service that writes a patient's clinical data calls ``notify_patient_data_changed(patient_id)``. The signal
is sent after the transaction commits, once per patient however many records the transaction wrote, and never when
it rolls back. Its one subscriber is ``outcomes`` (``OutcomesConfig.ready``), which enqueues the patient's recompute.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.dispatch import Signal

patient_data_changed = Signal()

_PENDING = "_cosmo_avatar_patients_changed"


def _flush(connection: Any) -> None:
    patient_ids: set[int] = getattr(connection, _PENDING, set())
    setattr(connection, _PENDING, set())
    for patient_id in sorted(patient_ids):
        patient_data_changed.send(sender="patients", patient_id=patient_id)


def _flush_is_pending(connection: Any) -> bool:
    """True when this transaction already has a flush waiting for its commit (and it has not run yet)."""
    return any(getattr(entry[1], "_patients_flush_pending", False) for entry in connection.run_on_commit)


_paused = threading.local()


@contextmanager
def paused() -> Iterator[None]:
    """Send no events inside the block: for bulk loads (demo, imports) that recompute everything once afterwards
    (``manage.py recompute``). The nightly sweep would find anything left stale."""
    previous = getattr(_paused, "on", False)
    _paused.on = True
    try:
        yield
    finally:
        _paused.on = previous


def notify_patient_data_changed(patient_id: int) -> None:
    if getattr(_paused, "on", False):
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        patient_data_changed.send(sender="patients", patient_id=patient_id)
        return
    if not _flush_is_pending(connection):
        # First write of this transaction (or the earlier flush was discarded with a rolled-back savepoint).
        setattr(connection, _PENDING, set())

        def flush() -> None:
            flush._patients_flush_pending = False  # type: ignore[attr-defined]
            _flush(connection)

        flush._patients_flush_pending = True  # type: ignore[attr-defined]
        transaction.on_commit(flush)
    getattr(connection, _PENDING).add(patient_id)
