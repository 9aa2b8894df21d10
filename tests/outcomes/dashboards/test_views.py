"""The dashboard pages: roles, CSV downloads under the same scope and filters, and the refresh hooks."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from outcomes import tasks
from outcomes.dashboards.snapshots import dashboard_snapshots_refresh
from outcomes.models import DashboardSnapshot
from patients.models import Patient, PatientStatus
from patients.randomisation import Allocation
from trials.models import Role

from ...conftest import Cast
from ...factories import PatientFactory
from .population import populate

KINDS = ("enrolment", "health", "randomisation", "efficacy")
ALLOWED = {
    "enrolment": {Role.DATA_MANAGER, Role.STATISTICIAN, Role.TRIAL_MANAGER, Role.SPONSOR_ADMIN},
    "health": {Role.DATA_MANAGER, Role.STATISTICIAN, Role.TRIAL_MANAGER, Role.SPONSOR_ADMIN},
    "randomisation": {Role.DATA_MANAGER, Role.STATISTICIAN, Role.TRIAL_MANAGER, Role.SPONSOR_ADMIN},
    "efficacy": {Role.STATISTICIAN, Role.SPONSOR_ADMIN},
}


def url(kind: str, code: str = "avatar2", query: str = "") -> str:
    return reverse(f"outcomes:dashboard_{kind}", kwargs={"code": code}) + query


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", list(Role))
def test_only_the_roles_it_is_for_open_a_dashboard(client: Any, cast: Cast, kind: str, role: Role) -> None:
    client.force_login(cast.user(role))
    response = client.get(url(kind))
    assert response.status_code == (200 if role in ALLOWED[kind] else 404)


def test_an_unknown_trial_is_404(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    assert client.get(url("enrolment", code="nope")).status_code == 404


def test_the_first_view_builds_the_snapshot_and_says_when(client: Any, cast: Cast) -> None:
    assert not DashboardSnapshot.objects.exists()
    client.force_login(cast.user(Role.TRIAL_MANAGER))
    response = client.get(url("enrolment"))
    snapshot = DashboardSnapshot.objects.get(trial=cast.avatar2, kind="enrolment")
    assert f"Computed {snapshot.computed_at:%Y-%m-%d %H:%M}" in response.content.decode()


def test_a_csv_holds_the_chart_table_under_the_filters(client: Any, cast: Cast) -> None:
    PatientFactory(trial=cast.avatar2, site=cast.site_a, sequence=2, status=PatientStatus.SCREEN_FAILED)  # type: ignore[no-untyped-call]
    client.force_login(cast.user(Role.TRIAL_MANAGER))
    response = client.get(url("enrolment", query="?format=csv&chart=enrolment-screening"))
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="avatar2-enrolment-screening.csv"' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == ["Site", "Screened", "Enrolled", "Screen failed"]
    assert rows[1:] == [["BE01", "1", "1", "0"], ["NL01", "2", "1", "1"]]
    only_b = csv_rows(client.get(url("enrolment", query="?site=BE01&format=csv&chart=enrolment-screening")))
    assert only_b[1:] == [["BE01", "1", "1", "0"]]


def test_an_unknown_chart_is_404(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.TRIAL_MANAGER))
    assert client.get(url("health", query="?format=csv&chart=nope")).status_code == 404


def test_the_trial_manager_cannot_download_arms(client: Any, cast: Cast) -> None:
    populate(20, seed=5)
    client.force_login(cast.user(Role.TRIAL_MANAGER))
    page = client.get(url("randomisation")).content.decode()
    assert "Arm A" not in page and "randomisation-strata" not in page
    assert client.get(url("randomisation", query="?format=csv&chart=randomisation-strata")).status_code == 404
    client.force_login(cast.user(Role.STATISTICIAN))
    rows = csv_rows(client.get(url("randomisation", query="?format=csv&chart=randomisation-strata")))
    assert rows[0][:3] == ["Stratum", "Arm A", "Arm B"]
    assert rows[-1][3] == str(Allocation.objects.filter(trial=cast.avatar2).count())


def test_a_kaplan_meier_csv_has_every_step(client: Any, cast: Cast) -> None:
    populate(20, seed=6)
    client.force_login(cast.user(Role.STATISTICIAN))
    rows = csv_rows(client.get(url("efficacy", "cosmo", "?format=csv&chart=efficacy-os")))
    assert rows[0] == ["Group", "Days", "At risk", "Events", "Censored", "Survival", "Lower 95 %", "Upper 95 %"]
    patients = Patient.objects.filter(trial=cast.cosmo, endpoint_values__paramcd="OS").count()
    assert sum(int(row[3]) + int(row[4]) for row in rows[1:]) == patients  # every patient once


def test_the_summaries_refresh_enqueues_the_dashboards_refresh(cast: Cast, monkeypatch: Any, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as with a broker
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.dashboards_refresh, "apply_async", lambda args, **kwargs: calls.append(args))
    tasks.trial_summaries_recompute(cast.avatar2.pk)
    tasks.trial_summaries_recompute(cast.avatar2.pk)  # debounced: one refresh waiting
    assert calls == [(cast.avatar2.pk,)]
    assert tasks.dashboards_refresh(cast.avatar2.pk) == 4  # what the worker then runs
    kinds = set(DashboardSnapshot.objects.filter(trial=cast.avatar2).values_list("kind", flat=True))
    assert kinds == set(KINDS)


def test_without_a_broker_a_recompute_drops_the_snapshots_for_the_next_view(client: Any, cast: Cast) -> None:
    dashboard_snapshots_refresh(trial_id=cast.avatar2.pk)
    tasks.trial_summaries_recompute(cast.avatar2.pk)  # eager in tests
    assert not DashboardSnapshot.objects.filter(trial=cast.avatar2).exists()
    client.force_login(cast.user(Role.TRIAL_MANAGER))
    assert client.get(url("health")).status_code == 200
    assert DashboardSnapshot.objects.filter(trial=cast.avatar2, kind="health").exists()


def test_the_scheduled_refresh_skips_unchanged_trials(cast: Cast) -> None:
    assert tasks.dashboards_refresh_all() == 8  # two trials, four dashboards, no watermark yet
    assert tasks.dashboards_refresh_all() == 0
    PatientFactory(trial=cast.cosmo, site=cast.site_a, sequence=5)  # type: ignore[no-untyped-call]
    assert dashboard_snapshots_refresh(trial_id=cast.avatar2.pk, only_if_changed=True) == 0
    assert dashboard_snapshots_refresh(trial_id=cast.cosmo.pk, only_if_changed=True) == 4
