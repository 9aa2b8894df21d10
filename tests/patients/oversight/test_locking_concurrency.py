"""A trial lock and a write in flight on PostgreSQL: the lock waits for the write to commit, and the next write is
refused (``patients.locking``: shared advisory lock per write, exclusive per lock change). Each thread has its own
connection, so the locks are real; elsewhere the test skips."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections, transaction

from patients.locking import DataLocked
from patients.models import Demographics
from patients.services.locks import trial_lock
from trials.models import Role, Trial, TrialDataState

from ...conftest import Cast
from ...real_services import require_postgres
from .conftest import change, complete_demographics

pytestmark = pytest.mark.postgres


def test_a_trial_lock_waits_for_the_write_in_flight(transactional_db: None, cast: Cast) -> None:
    require_postgres()
    record = complete_demographics(cast, cast.patient_a)
    writing, release, lock_done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with transaction.atomic():
                change(cast, record, reason="Correction committed just before the lock", ecog=2)
                writing.set()
                release.wait(10)
        except BaseException as error:  # noqa: BLE001 — reported to the main thread
            errors.append(error)
        finally:
            connections.close_all()

    def lock() -> None:
        try:
            writing.wait(10)
            trial_lock(user=cast.user(Role.SPONSOR_ADMIN), trial=cast.avatar2, reason="Database lock")
            lock_done.set()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    threads: list[Any] = [threading.Thread(target=write), threading.Thread(target=lock)]
    for thread in threads:
        thread.start()
    assert writing.wait(10)
    assert not lock_done.wait(1.0), "the trial was locked while a write was still in flight"
    release.set()
    for thread in threads:
        thread.join(20)
    assert not errors, errors
    assert lock_done.is_set()
    assert Demographics.objects.get(pk=record.pk).ecog == 2  # the write in flight was kept
    assert Trial.objects.get(pk=cast.avatar2.pk).data_state == TrialDataState.LOCKED
    with pytest.raises(DataLocked):
        change(cast, record, reason="After the lock", ecog=3)
