"""A real Celery worker, on Redis and PostgreSQL, recomputes a patient after a save through the web form.

The worker reads the real database, not a transaction of the test: so the test uses ``transactional_db`` (committed
data) and points the worker at pytest's test database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from cosmo_avatar.celery import app
from outcomes.models import PatientDerivation
from patients.models import Patient

from ..conftest import Cast
from ..real_services import require_worker_stack

pytestmark = pytest.mark.worker
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


@pytest.fixture
def worker(transactional_db: None) -> Any:
    require_worker_stack()
    app.control.purge()  # messages left by an earlier run name patients of another database
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "cosmo_avatar.settings"}
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
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not app.control.inspect(timeout=1).active_queues() and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The Celery worker exited: {process.stdout.read() if process.stdout else ''}")
    yield process
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
    assert derivation.values["follow_up"]["last_known_alive"] == "2025-06-02"
    assert derivation.input_hash  # set by the worker's service run
