"""Randomisation under concurrent requests on PostgreSQL: no shared, skipped or reordered list rows (§6.3).

Each thread has its own database connection (Django's are per thread), so the row locks are real. Run with
``DATABASE_URL=postgres://...``; elsewhere the tests skip (``require_postgres``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from patients.crfs.enrolment import Randomisation
from patients.domain.randomisation import AVATAR2_STRATA
from patients.models import Allocation, AllocationList, Patient, StratumCounter
from patients.services.randomisation import allocation_list_generate, randomise
from trials.models import AnalysisSettings, Role

from ..conftest import Cast
from ..factories import UserFactory
from ..real_services import require_postgres
from ..scenarios import factors_of, patient_ready_for_allocation

pytestmark = pytest.mark.postgres

SEED = "concurrency-test-seed-0123456789"
PATIENTS = 40
THREADS = 10
# Uneven recruitment, as in the trial: a stratum's rows must still be used exactly 1..n.
STRATUM_CYCLE = ("ai|1", "ai|1", "ai|2-5", "serd|1", "ai|1", "serd|2-5", "ai|2-5", "ai|1", "serd|1", "ai|1")


def _investigator(cast: Cast) -> Any:
    return UserFactory(username="investigator_both", role=Role.INVESTIGATOR, sites=[cast.site_a, cast.site_b])


def _patients(cast: Cast, n: int, prefix: str = "P") -> list[Patient]:
    return [
        patient_ready_for_allocation(
            cast,
            site=cast.site_a if i % 2 else cast.site_b,
            screening_number=f"{prefix}-{i:03d}",
            factors=factors_of(STRATUM_CYCLE[i % len(STRATUM_CYCLE)]),
        )
        for i in range(n)
    ]


def _in_threads(count: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``work(i)`` for i in 0..count-1 in ``count`` threads released together; each closes its connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results.append(work(i))
        except BaseException as error:  # noqa: BLE001 — collected and asserted by the caller
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_40_patients_from_10_threads_use_each_strata_rows_exactly_once_in_sequence(
    transactional_db: None, cast: Cast
) -> None:
    require_postgres()
    stored = allocation_list_generate(user=cast.user(Role.STATISTICIAN), trial=cast.avatar2, seed=SEED).allocation_list
    investigator = _investigator(cast)
    patients = _patients(cast, PATIENTS)
    per_thread = PATIENTS // THREADS

    def work(i: int) -> list[int]:
        mine = patients[i * per_thread : (i + 1) * per_thread]
        return [randomise(user=investigator, patient=patient).allocation.pk for patient in mine]

    results, errors = _in_threads(THREADS, work)
    assert errors == []
    allocations = list(Allocation.objects.select_related("list_row", "arm"))
    assert len(allocations) == PATIENTS == len({a.patient_id for a in allocations})
    assert sorted(pk for batch in results for pk in batch) == sorted(a.pk for a in allocations)
    assert len({a.list_row_id for a in allocations}) == PATIENTS

    wanted = Counter(STRATUM_CYCLE[i % len(STRATUM_CYCLE)] for i in range(PATIENTS))
    for stratum in AVATAR2_STRATA:
        used = sorted((a for a in allocations if a.stratum == stratum), key=lambda a: a.list_row.sequence)
        assert [a.list_row.sequence for a in used] == list(range(1, wanted[stratum] + 1))
        # In time too: within a stratum, row n was taken before row n + 1.
        assert [a.allocated_at for a in used] == sorted(a.allocated_at for a in used)
        prefix = list(stored.rows.filter(stratum=stratum).order_by("sequence").values_list("arm", flat=True))
        assert [a.arm.code for a in used] == prefix[: wanted[stratum]]
        counter = StratumCounter.objects.get(allocation_list=stored, stratum=stratum)
        assert counter.next_sequence == wanted[stratum] + 1
    arms_on_forms = dict(Randomisation.objects.values_list("patient_id", "arm__code"))
    assert all(arms_on_forms[a.patient_id] == a.arm.code for a in allocations)


def test_simultaneous_requests_for_one_patient_give_one_allocation(transactional_db: None, cast: Cast) -> None:
    require_postgres()
    allocation_list_generate(user=cast.user(Role.STATISTICIAN), trial=cast.avatar2, seed=SEED)
    investigator = _investigator(cast)
    (patient,) = _patients(cast, 1)

    results, errors = _in_threads(10, lambda i: randomise(user=investigator, patient=patient))
    assert errors == []
    assert len({result.allocation.pk for result in results}) == 1
    assert sum(result.created for result in results) == 1
    assert Allocation.objects.count() == 1
    assert StratumCounter.objects.get(stratum=results[0].allocation.stratum).next_sequence == 2


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid: int = cursor.fetchone()[0]
    return pid


def _waits_on_a_lock(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return True
            time.sleep(0.05)
    return False


def test_a_transaction_killed_mid_way_leaves_its_row_to_the_next_request(transactional_db: None, cast: Cast) -> None:
    require_postgres()
    stored = allocation_list_generate(user=cast.user(Role.STATISTICIAN), trial=cast.avatar2, seed=SEED).allocation_list
    investigator = _investigator(cast)
    killed_patient, next_patient = _patients(cast, 2, prefix="K")  # both in stratum ai|1 (STRATUM_CYCLE)
    pids: dict[str, int] = {}
    holding, terminated = threading.Event(), threading.Event()
    killed_errors: list[BaseException] = []
    results: list[Any] = []

    def killed() -> None:
        try:
            pids["killed"] = _backend_pid()
            with transaction.atomic():
                randomise(user=investigator, patient=killed_patient)  # locked the counter, took row 1, advanced
                holding.set()
                terminated.wait(timeout=60)  # the test kills this backend meanwhile
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
        except BaseException as error:  # noqa: BLE001 — the killed connection's error, asserted below
            killed_errors.append(error)
        finally:
            with contextlib.suppress(Exception):  # the connection is already gone
                connection.close()

    def waiting() -> None:
        try:
            pids["waiting"] = _backend_pid()
            results.append(randomise(user=investigator, patient=next_patient))
        finally:
            connection.close()

    first = threading.Thread(target=killed)
    first.start()
    assert holding.wait(timeout=30)
    second = threading.Thread(target=waiting)
    second.start()
    while "waiting" not in pids:
        time.sleep(0.01)
    assert _waits_on_a_lock(pids["waiting"]), "the second request should queue behind the stratum's lock"
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pids["killed"]])
    terminated.set()
    second.join(timeout=60)
    first.join(timeout=60)

    assert killed_errors, "the killed transaction should have failed"
    assert not Allocation.objects.filter(patient=killed_patient).exists()
    assert Randomisation.objects.get(patient=killed_patient).arm_id is None
    (result,) = results
    assert result.allocation.list_row.sequence == 1  # the killed request's row, not row 2
    assert result.allocation.arm.code == stored.rows.get(stratum="ai|1", sequence=1).arm
    assert StratumCounter.objects.get(allocation_list=stored, stratum="ai|1").next_sequence == 2
    assert AllocationList.objects.get(pk=stored.pk).locked


def test_minimisation_allocations_are_serialised_per_trial(transactional_db: None, cast: Cast) -> None:
    require_postgres()
    AnalysisSettings.objects.filter(trial=cast.avatar2).update(randomisation_method="minimisation")
    investigator = _investigator(cast)
    patients = _patients(cast, 30, prefix="Z")

    _, errors = _in_threads(10, lambda i: [randomise(user=investigator, patient=p) for p in patients[i::10]])
    assert errors == []
    allocations = list(Allocation.objects.order_by("pk").select_related("arm"))
    assert len(allocations) == 30
    # Each allocation saw every earlier one: its stored counts at the patient's levels are the earlier tallies.
    for index, allocation in enumerate(allocations):
        earlier = allocations[:index]
        for factor, counts in allocation.minimisation_state["level_counts"].items():
            level = allocation.factors[factor]
            tally = Counter(a.arm.code for a in earlier if a.factors[factor] == level)
            assert counts == {"A": tally["A"], "B": tally["B"]}, (index, factor)
