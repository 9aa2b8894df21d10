"""The shared cast (STYLE.md rule 8): two sites, every role, one patient at each site.

Site-scoped users (coordinator, investigator, monitor) belong to site A only; the other roles see every site.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from django.core import signals
from django.db import close_old_connections

from patients.models import Patient
from trials.configuration import trial_configure
from trials.models import Role, Site, Trial, User

from .factories import PatientFactory, SiteFactory, TrialSiteFactory, UserFactory

SITE_ROLES = (Role.SITE_COORDINATOR, Role.INVESTIGATOR, Role.MONITOR)


@dataclass
class Cast:
    avatar2: Trial
    cosmo: Trial
    site_a: Site
    site_b: Site
    users: dict[str, User]
    patient_a: Patient
    patient_b: Patient

    def user(self, role: str) -> User:
        return self.users[role]


@pytest.fixture
def cast(db: None) -> Cast:
    return build_cast()


def build_cast() -> Cast:
    """Both trials configured, sites A (NL01) and B (BE01) in both, a user per role (site roles at site A) and one
    AVATAR II patient per site."""
    trials = {t.code: t for t in trial_configure()}
    site_a = SiteFactory(code="NL01", name="Amsterdam UMC", country="NL")
    site_b = SiteFactory(code="BE01", name="UZ Leuven", country="BE")
    for trial in trials.values():
        for site in (site_a, site_b):
            TrialSiteFactory(trial=trial, site=site, activation_date=date(2024, 1, 15))
    users = {}
    for role in Role:
        sites = [site_a] if role in SITE_ROLES else []
        users[role.value] = UserFactory(username=role.value, role=role.value, sites=sites)
    patient_a = PatientFactory(trial=trials["avatar2"], site=site_a, sequence=1)
    patient_b = PatientFactory(trial=trials["avatar2"], site=site_b, sequence=1)
    return Cast(trials["avatar2"], trials["cosmo"], site_a, site_b, users, patient_a, patient_b)


@pytest.fixture
def coordinator(cast: Cast) -> User:
    return cast.user(Role.SITE_COORDINATOR)


@pytest.fixture
def connection_kept() -> Iterator[None]:
    """Keep the test's database connection across requests sent to the WSGI application (schemathesis), as Django's
    test client does: the handler would otherwise close it when a request starts and finishes, inside the test's
    transaction. SQLite's in-memory test database ignores the close, so only PostgreSQL shows it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


#: Fixtures through which a test reaches the database (directly or through any fixture that needs one).
DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``DATABASE_TESTS_ONLY=1`` (CI's PostgreSQL stage) deselects the tests that never touch a database: the pure
    domain functions (RECIST, endpoints, Kaplan-Meier, scoring ...) and static checks, which give the same answer
    whatever the database and ran in the SQLite stage already."""
    if os.environ.get("DATABASE_TESTS_ONLY") != "1":
        return
    kept, dropped = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        uses_database = bool(fixtures & DATABASE_FIXTURES) or item.get_closest_marker("django_db") is not None
        (kept if uses_database else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
