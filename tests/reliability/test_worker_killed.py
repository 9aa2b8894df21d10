"""A Celery worker killed in the middle of a recompute: nothing half-written, and after a restart every endpoint
converges to what a fresh recompute gives.

How the kill lands mid-recompute every time: the test holds a row lock on one endpoint row the trial-wide sweep
will rewrite, so the worker blocks inside its transaction (derivations already written, uncommitted); the test sees
it waiting on the lock and kills the worker's process group with SIGKILL, as a crashed host would. The message was
delivered with ``acks_late``, so Redis keeps it as unacknowledged; a worker that starts after the visibility
timeout (``CELERY_VISIBILITY_TIMEOUT``, 1 s here, 15 minutes in production) puts it back on the queue and runs it.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pytest

from outcomes.models import EndpointValue, PatientDerivation
from trials.models import Role
from trials.services import analysis_settings_change

from ..conftest import Cast
from ..scenarios import Scenario
from .conftest import CeleryStack, RowLock, assert_endpoints_are_a_fresh_recompute, other_backends, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("reliability-celery-worker")]

CUTOFF = date(2025, 6, 15)  # between each patient's stable scan (day 84) and their progression (day 168)


def _progressing_patient(cast: Cast, origin: date) -> int:
    scenario = Scenario(cast, origin=origin)
    scenario.baseline()
    scenario.assessment(84, 39, investigator="SD")
    scenario.assessment(168, 60, investigator="PD")
    return scenario.patient.pk


def _settings_versions(model: Any, patient_ids: list[int]) -> set[int | None]:
    """The analysis-settings versions the patients' stored rows were computed with."""
    return set(model.objects.filter(patient_id__in=patient_ids).values_list("settings_version", flat=True))


def test_a_worker_killed_mid_sweep_writes_nothing_and_a_restarted_worker_converges(
    celery_stack: CeleryStack, cast: Cast
) -> None:
    patient_ids = [_progressing_patient(cast, date(2025, 2, 3) + timedelta(days=n)) for n in range(3)]
    assert _settings_versions(PatientDerivation, patient_ids) == {1}
    assert EndpointValue.objects.get(patient_id=patient_ids[0], paramcd="PFS").event is True

    lock = RowLock(EndpointValue, EndpointValue.objects.get(patient_id=max(patient_ids), paramcd="PFS").pk)
    lock.take()
    celery_stack.publish_to_broker()
    analysis_settings_change(  # commits, then enqueues the trial-wide recompute
        trial=cast.cosmo,
        user=cast.user(Role.STATISTICIAN),
        reason="Data cut for the DMC",
        values={"data_cutoff_date": CUTOFF},
    )
    first = celery_stack.start_worker(visibility_timeout=1)
    wait_for(
        lambda: other_backends(waiting_on_a_lock=True),
        what="the worker's sweep to reach the locked endpoint row",
        log=first.log,
    )
    celery_stack.kill(first)
    killed_at = time.monotonic()
    lock.release()
    wait_for(lambda: not other_backends(), what="the killed worker's session to end")

    # Nothing of the killed transaction is visible: the derivations it had written were rolled back with it.
    assert _settings_versions(PatientDerivation, patient_ids) == {1}
    assert _settings_versions(EndpointValue, patient_ids) == {1}
    assert celery_stack.unacknowledged() == 1, "the killed worker's message is not kept for redelivery (acks_late?)"

    time.sleep(max(0.0, 1.5 - (time.monotonic() - killed_at)))  # older than the visibility timeout
    second = celery_stack.start_worker(visibility_timeout=1)

    def converged() -> bool:
        return _settings_versions(PatientDerivation, patient_ids) == {2} and celery_stack.unacknowledged() == 0

    wait_for(converged, seconds=60, what="the restarted worker to finish the sweep", log=second.log)
    assert_endpoints_are_a_fresh_recompute(patient_ids)
    for patient_id in patient_ids:  # the cut-off moved every PFS to the stable scan, censored
        pfs = EndpointValue.objects.get(patient_id=patient_id, paramcd="PFS")
        assert (pfs.event, pfs.settings_version) == (False, 2)
        assert pfs.end_date is not None and pfs.end_date <= CUTOFF
