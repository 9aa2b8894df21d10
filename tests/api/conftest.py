"""What the API tests share: a JSON client signed in as one role, a walk over every page of a list, and a
casebook at each site (a screening visit done, a demographics form, a query)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from patients import services
from patients.models import Demographics, Patient, Query, Visit
from trials.models import Role, User

from ..conftest import Cast
from ..scenarios import site_user


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """The rate limiter counts requests in the cache; each test starts with none (the suite makes many)."""
    cache.clear()


class Api:
    """A JSON client of ``/api/v1/`` signed in as one user at a time."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def as_(self, user: User) -> Api:
        self.client.logout()
        self.client.force_login(user)
        return self

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params)

    def post(self, url: str, body: Any) -> Any:
        return self.client.post(url, json.dumps(body, default=str), content_type="application/json")

    def patch(self, url: str, body: Any) -> Any:
        return self.client.patch(url, json.dumps(body, default=str), content_type="application/json")

    def all_rows(self, url: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a list, following the cursor's ``next`` links."""
        response = self.get(url, **params)
        assert response.status_code == 200, response.content
        page = response.json()
        rows = list(page["results"])
        while page["next"]:
            response = self.client.get(page["next"])
            assert response.status_code == 200, response.content
            page = response.json()
            rows += page["results"]
        return rows


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


@dataclass
class Casebooks:
    """Patient A (site NL01) and patient B (site BE01), each with a screening visit, a draft demographics form
    and a query raised by the data manager."""

    cast: Cast
    coordinator_b: User
    visit_a: Visit
    visit_b: Visit
    demographics_a: Demographics
    demographics_b: Demographics
    query_a: Query
    query_b: Query

    @property
    def coordinator(self) -> User:
        return self.cast.user(Role.SITE_COORDINATOR)

    def coordinator_of(self, patient: Patient) -> User:
        return self.coordinator if patient.site_id == self.cast.site_a.pk else self.coordinator_b


def screening_visit(user: User, patient: Patient, on: date = date(2025, 3, 10)) -> Visit:
    return services.visit_record(
        user=user,
        patient=patient,
        definition=patient.trial.visit_definitions.get(code="screening"),
        occurrence=1,
        status="done",
        visit_date=on,
    )


@pytest.fixture
def casebooks(cast: Cast) -> Casebooks:
    coordinator_b = site_user(cast, Role.SITE_COORDINATOR, cast.site_b)
    made: dict[str, Any] = {}
    for key, patient, coordinator in (
        ("a", cast.patient_a, cast.user(Role.SITE_COORDINATOR)),
        ("b", cast.patient_b, coordinator_b),
    ):
        visit = screening_visit(coordinator, patient)
        record = services.crf_save(
            user=coordinator, model=Demographics, patient=patient, visit=visit, values={"ecog": 1}, complete=False
        )
        made[f"visit_{key}"] = visit
        made[f"demographics_{key}"] = record
        made[f"query_{key}"] = services.query_raise(user=cast.user(Role.DATA_MANAGER), record=record, text="Check")
    return Casebooks(cast=cast, coordinator_b=coordinator_b, **made)


#: Roles that read casebooks (all but the trial manager), and whether they see site B's patient too.
READERS = {
    Role.SITE_COORDINATOR: False,
    Role.INVESTIGATOR: False,
    Role.MONITOR: False,
    Role.DATA_MANAGER: True,
    Role.STATISTICIAN: True,
    Role.SPONSOR_ADMIN: True,
}


def bare_record(model: type[Any], patient: Patient, **values: Any) -> Any:
    """A record of any CRF, written straight to the database (reads only: writes go through the services)."""
    return model.objects.create(patient=patient, site_id=patient.site_id, **values)
