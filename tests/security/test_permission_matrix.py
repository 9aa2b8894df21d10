"""The permission matrix: every URL × every role × own site / other site (STYLE.md, pretix).

Each row states, for one URL, the status every role gets on a record of its own site and on one of the other site.
Site-scoped roles (coordinator, investigator, monitor) belong to site A; "own" is site A, "other" site B. A URL that
is not about a site's record has the same answer for both. Refusals and out-of-scope records both answer 404.
A new URL fails `test_every_url_is_in_the_matrix` until it gets its row, here or in a ``rows_*.py`` module of its
area (listed in ``AREAS`` below); the builders live in ``matrix.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from patients import services
from patients.models import Demographics

from ..conftest import Cast, build_cast
from ..factories import UserFactory
from .matrix import (
    CO,
    DM,
    ENTRY,
    MO,
    PI,
    ROLES,
    VIEWERS,
    Row,
    allocated_patient_url,
    audit_url,
    crf_new,
    crf_record,
    list_url,
    patient_url,
    plain,
    query_url,
    ready_patient_url,
    same,
    scoped,
    trial_url,
    visit_url,
)

RANDOMISATION_MANAGERS = {"statistician": 200, "sponsor_admin": 200}

# (url name, url builder, method, expected {role: (own site, other site)})
CORE: list[Row] = [
    ("home", plain("home"), "get", same(200)),
    ("login", plain("login"), "get", same(302)),  # signed-in users are sent on
    ("logout", plain("logout"), "post", same(302)),
    ("password_change", plain("password_change"), "get", same(200)),
    ("password_change_done", plain("password_change_done"), "get", same(200)),
    ("trials:list", plain("trials:list"), "get", same(200)),
    ("trials:detail", trial_url("trials:detail"), "get", same(200)),
    (
        "trials:analysis_settings",
        trial_url("trials:analysis_settings"),
        "get",
        same(404, data_manager=200, statistician=200, sponsor_admin=200),
    ),
    (
        "trials:analysis_settings_change",
        trial_url("trials:analysis_settings_change"),
        "get",
        same(404, statistician=200, sponsor_admin=200),
    ),
    ("patients:list", plain("patients:list"), "get", same(200, trial_manager=404)),
    ("patients:register", plain("patients:register"), "get", same(404, site_coordinator=200, investigator=200)),
    ("patients:detail", patient_url("patients:detail"), "get", scoped(VIEWERS)),
    ("patients:update", patient_url("patients:update"), "get", scoped(ENTRY)),
    ("audit_trail", audit_url, "get", scoped(VIEWERS)),
    ("patients:query_list", plain("patients:query_list"), "get", same(200, trial_manager=404)),
    ("patients:query_detail", query_url, "get", scoped(VIEWERS)),
    ("patients:visit_record", visit_url, "get", scoped(ENTRY)),
    ("patients:visit_unscheduled", patient_url("patients:visit_unscheduled"), "post", scoped({CO: 302, PI: 302})),
    ("patients:crf_new", crf_new, "get", scoped({CO: 302, PI: 302})),  # the one record exists: sent to it
    ("patients:crf_edit", crf_record("patients:crf_edit"), "get", scoped(VIEWERS)),
    (
        "patients:crf_preview",
        lambda cast, p: reverse("patients:crf_preview", kwargs={"subject_id": p.subject_id, "code": "demographics"}),
        "post",
        scoped(ENTRY),
    ),
    ("patients:crf_query_raise", crf_record("patients:crf_query_raise"), "post", scoped({MO: 302, DM: 302})),
    ("outcomes:summaries", trial_url("outcomes:summaries"), "get", same(404, statistician=200, sponsor_admin=200)),
    # Randomisation (issue 5): the commitment is public; the list only for the statistician and sponsor admin.
    ("randomisation:trial", trial_url("randomisation:trial"), "get", same(200)),
    (
        "randomisation:list_generate",
        trial_url("randomisation:list_generate"),
        "get",
        same(404, **RANDOMISATION_MANAGERS),
    ),
    ("randomisation:list_detail", list_url("randomisation:list_detail"), "get", same(404, **RANDOMISATION_MANAGERS)),
    ("randomisation:list_verify", list_url("randomisation:list_verify"), "get", same(404, **RANDOMISATION_MANAGERS)),
    (
        "randomisation:balance",  # managers get enrolment counts by site only
        trial_url("randomisation:balance"),
        "get",
        same(404, trial_manager=200, data_manager=200, **RANDOMISATION_MANAGERS),
    ),
    ("randomisation:randomise", ready_patient_url("randomisation:randomise"), "get", scoped({PI: 200})),
    ("randomisation:allocation", allocated_patient_url("randomisation:allocation"), "get", scoped(VIEWERS)),
    ("api:patient_randomise", ready_patient_url("api:patient_randomise"), "post", scoped({PI: 201})),
    ("api:patient_allocation", allocated_patient_url("api:patient_allocation"), "get", scoped(VIEWERS)),
    ("users:list", plain("users:list"), "get", same(404, sponsor_admin=200)),
    ("users:create", plain("users:create"), "get", same(404, sponsor_admin=200)),
    (
        "users:update",
        lambda cast, patient: reverse("users:update", kwargs={"pk": cast.user(CO).pk}),
        "get",
        same(404, sponsor_admin=200),
    ),
]


def _area_rows() -> list[Row]:
    """The rows each area keeps beside its own work (``tests/security/rows_*.py``, each defining ``ROWS``)."""
    import importlib
    import pkgutil
    from pathlib import Path

    rows: list[Row] = []
    for module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if module.name.startswith("rows_"):
            rows += importlib.import_module(f"{__package__}.{module.name}").ROWS
    return rows


MATRIX: list[Row] = CORE + _area_rows()

CASES = [
    pytest.param(name, build, method, role, site, expected[role][0 if site == "own" else 1], id=f"{name}-{role}-{site}")
    for name, build, method, expected in MATRIX
    for role in (r.value for r in ROLES)
    for site in ("own", "other")
]


def _records(cast: Cast) -> None:
    """A screening visit, a demographics form and a query for the patient of each site."""
    coordinator_b = UserFactory(username="coordinator_b", role=CO, sites=[cast.site_b])
    for patient, coordinator in ((cast.patient_a, cast.user(CO)), (cast.patient_b, coordinator_b)):
        visit = services.visit_record(
            user=coordinator,
            patient=patient,
            definition=patient.trial.visit_definitions.get(code="screening"),
            occurrence=1,
            status="done",
            visit_date=date(2025, 3, 10),
        )
        record = services.crf_save(
            user=coordinator, model=Demographics, patient=patient, visit=visit, values={"ecog": 1}, complete=False
        )
        services.query_raise(user=cast.user(DM), record=record, text="Please check")


@pytest.fixture
def records(cast: Cast) -> None:
    """The matrix's records on a test's own cast (for other modules running the matrix's rows)."""
    _records(cast)


@pytest.fixture(scope="module")
def matrix_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[Cast]:
    """The cast and its records, built once for this module's ~2,300 cases (not once per case: that was most of the
    matrix's time) inside a transaction rolled back at the end. Each case's ``db`` fixture opens a savepoint within
    it, so what a request changes is undone before the next case, as with a fresh cast."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_cast()
        _records(world)
        yield world
        transaction.set_rollback(True)


@pytest.fixture
def cast(matrix_world: Cast, db: None) -> Cast:
    """This module's cast: the shared world, its instances re-read so nothing a previous case changed in memory
    (a status a service set on the instance, say) outlives that case's rollback."""
    for instance in (
        matrix_world.avatar2,
        matrix_world.cosmo,
        matrix_world.site_a,
        matrix_world.site_b,
        matrix_world.patient_a,
        matrix_world.patient_b,
        *matrix_world.users.values(),
    ):
        instance.refresh_from_db()
    return matrix_world


@pytest.mark.parametrize(("name", "build", "method", "role", "site", "expected"), CASES)
def test_role_gets_expected_status(
    client: Any,
    cast: Cast,
    name: str,
    build: Callable[[Cast, Any], str],
    method: str,
    role: str,
    site: str,
    expected: int,
) -> None:
    client.force_login(cast.user(role))
    patient = cast.patient_a if site == "own" else cast.patient_b
    response = getattr(client, method)(build(cast, patient))
    assert response.status_code == expected, f"{role} {method.upper()} {name} ({site} site)"


@pytest.mark.parametrize(("name", "build", "method"), [(n, b, m) for n, b, m, _ in MATRIX if n != "login"])
def test_anonymous_is_sent_to_login(
    client: Any, cast: Cast, name: str, build: Callable[[Cast, Any], str], method: str
) -> None:
    response = getattr(client, method)(build(cast, cast.patient_a))
    if name.startswith("api:"):  # the JSON API asks for a token (401 with its challenge), it never redirects
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Token")
        return
    assert response.status_code == 302
    if name != "logout":
        assert response.url.startswith(reverse("login"))


def _named_urls(resolver: URLResolver, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django's admin: superusers only, checked below
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _named_urls(pattern, inner)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"unnamed URL pattern {pattern.pattern} cannot join the permission matrix"
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_url_is_in_the_matrix() -> None:
    assert _named_urls(get_resolver()) == {name for name, *_ in MATRIX}


@pytest.mark.parametrize("role", [r.value for r in ROLES])
def test_admin_is_closed_to_every_trial_role(client: Any, cast: Cast, role: str) -> None:
    client.force_login(cast.user(role))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response.url
