"""A real Celery worker, on Redis and PostgreSQL, recomputes a patient after a save through the web form.

The worker reads the real database, not a transaction of the test: so the test uses ``transactional_db`` (committed
data) and points the worker at pytest's test database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from benchmarks.common import database_url
from cosmo_avatar.celery import app
from outcomes.models import EndpointValue, PatientDerivation
from patients.models import Patient

from ..conftest import Cast
from ..forms import submit
from ..real_services import require_worker_stack
from ..scenarios import Scenario

# Each test's worker consumes a queue of its own (``worker`` below), so tests running at the same time on several
# xdist workers cannot take each other's messages: ``--dist loadgroup`` does not group by ``xdist_group`` with pytest
# 9.2 and xdist 3.8 (pytest-dev/pytest-xdist#1386), so the mark alone kept nothing apart.
pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("real-celery-worker")]
ROOT = Path(__file__).resolve().parents[2]


def _wait_for(condition: Any, seconds: float = 30, log_path: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    tail = Path(log_path).read_text()[-4000:] if log_path else ""
    pytest.fail(f"nothing within {seconds} s; the worker's log ends with:\n{tail}")


@pytest.fixture
def worker(transactional_db: None, settings: Any) -> Any:
    require_worker_stack()
    # The test process and the worker must share the cache that deduplicates recomputes, as web and workers do in
    # production: otherwise a key set here is never cleared by the worker and later changes look "already queued".
    cache_url = os.environ.get("WORKER_TEST_CACHE_URL", "redis://127.0.0.1:6379/13")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": cache_url}}
    from django.core.cache import cache

    cache.clear()
    # The test settings run tasks in-process; this test publishes to the broker, on a queue only its worker reads
    # (Celery routes every task to ``task_default_queue`` and creates the queue on first use).
    queue, default_queue = f"worker-test-{uuid.uuid4().hex[:12]}", app.conf.task_default_queue
    app.conf.update(task_always_eager=False, task_default_queue=queue)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "cosmo_avatar.settings",
        "CACHE_URL": cache_url,
    }
    log = tempfile.NamedTemporaryFile("w+", prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cosmo_avatar",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            f"--queues={queue}",
            f"--hostname={queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    node = f"{queue}@{socket.gethostname()}"
    deadline = time.monotonic() + 30
    while not app.control.inspect(timeout=1, destination=[node]).active_queues():  # this worker's own answer
        if process.poll() is not None:
            pytest.fail(f"The Celery worker exited: {Path(log.name).read_text()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"The Celery worker was not ready within 30 s: {Path(log.name).read_text()[-3000:]}")
    process.log_path = log.name  # type: ignore[attr-defined]
    yield process
    app.conf.update(task_always_eager=True, task_default_queue=default_queue)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_web_registration_is_recomputed_by_the_worker(
    transactional_db: None, worker: Any, client: Any, cast: Cast, coordinator: Any
) -> None:
    client.force_login(coordinator)
    response = client.post(
        reverse("patients:register"),
        {
            "trial": cast.cosmo.pk,
            "site": cast.site_a.pk,
            "screening_number": "W-1",
            "age_at_consent": 60,
            "sex": "F",
            "consent_date": "2025-06-02",
        },
    )
    assert response.status_code == 302
    patient = Patient.objects.get(screening_number="W-1")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        derivation = PatientDerivation.objects.filter(patient=patient).first()
        if derivation is not None:
            break
        time.sleep(0.1)
    else:
        pytest.fail("The worker did not recompute the patient within 30 s")
    assert derivation.values["not_computable"] == "Not yet registered or randomised."
    assert derivation.input_hash  # set by the worker's service run


@pytest.fixture
def stable_patient(transactional_db: None, cast: Cast) -> Scenario:
    """A COSMO patient with a baseline and one stable follow-up, made (and recomputed) before the worker starts."""
    scenario = Scenario(cast)
    scenario.baseline()
    scenario.assessment(84, 39, investigator="SD")
    return scenario


def test_a_progression_saved_through_the_form_becomes_a_pfs_event_without_a_manual_trigger(
    transactional_db: None, stable_patient: Scenario, worker: Any, client: Any
) -> None:
    scenario = stable_patient
    client.force_login(scenario.user)
    on = scenario.origin + timedelta(days=168)
    visit = scenario._visit("follow-up", 2, on)
    url = reverse("patients:crf_new", kwargs={"subject_id": scenario.patient.subject_id, "code": "tumour-assessment"})
    started = time.monotonic()
    response = submit(
        client,
        f"{url}?visit={visit.pk}",
        {
            "modality": "ct",
            "investigator_response": "PD",
            "default_scan_date": on.isoformat(),
            "*diameter_tenths": "60",
            "*-status": "",
            "targets-0-status": "MEASURED",
            "non_targets-0-status": "PRESENT",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    pfs = _wait_for(lambda: EndpointValue.objects.filter(patient=scenario.patient, paramcd="PFS", event=True).first())
    latency = time.monotonic() - started
    assert pfs.end_date == on
    assert pfs.aval_days == 169
    print(f"save → PFS event through the worker: {latency:.2f} s")
