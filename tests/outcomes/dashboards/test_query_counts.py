"""Each dashboard page costs the same number of SQL queries at 50 and at 500 patients (issue 7): it reads one
precomputed snapshot and narrows it in Python."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from outcomes.dashboards.snapshots import dashboard_snapshots_refresh
from patients.models import Patient
from trials.models import Role

from ...conftest import Cast
from .population import populate

PAGES = [
    (Role.TRIAL_MANAGER, "enrolment", ""),
    (Role.TRIAL_MANAGER, "health", "?site=NL01&from=2023-01"),
    (Role.TRIAL_MANAGER, "randomisation", ""),
    (Role.STATISTICIAN, "randomisation", ""),
    (Role.STATISTICIAN, "efficacy", ""),
    (Role.STATISTICIAN, "efficacy", "?site=BE01"),
    (Role.DATA_MANAGER, "health", ""),
]


def counts(client: Any, cast: Cast) -> dict[str, int]:
    for trial in (cast.avatar2, cast.cosmo):
        dashboard_snapshots_refresh(trial_id=trial.pk)
    result = {}
    for role, kind, query in PAGES:
        client.force_login(cast.user(role))
        for code in ("avatar2", "cosmo"):
            url = reverse(f"outcomes:dashboard_{kind}", kwargs={"code": code}) + query
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200, url
            assert b"<svg" in response.content
            result[f"{role} {url}"] = len(captured)
    return result


def test_every_dashboard_costs_the_same_queries_at_50_and_500_patients(client: Any, cast: Cast) -> None:
    populate(50, seed=21)
    small = counts(client, cast)
    populate(450, seed=22)
    assert Patient.objects.filter(screening_number__startswith="BENCH-").count() == 500
    large = counts(client, cast)
    assert large == small
    # session (read, and its update), user, OTP device, trial, snapshot, the menu's trials: nothing per patient
    assert max(small.values()) <= 12  # the menu belongs to several issues: leave it some room
