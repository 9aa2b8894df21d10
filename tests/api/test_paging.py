"""Paging: cursors in id order never skip nor repeat a row while others insert and edit between pages; a broken
cursor answers 400; and a list page costs the same number of queries whatever its length."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lesions.models import Lesion, TargetMeasurement, TumourAssessment
from outcomes.models import EndpointValue
from patients import services
from patients.models import AdverseEvent, CtcaeTerm, Demographics, Patient
from trials.models import Role

from ..conftest import Cast
from ..factories import PatientFactory
from .conftest import Api, Casebooks, bare_record

ADVERSE_EVENTS = reverse("api:crf-adverse-event-list")


def test_following_the_cursor_never_skips_nor_repeats_while_rows_are_added_and_edited(
    api: Api, casebooks: Casebooks
) -> None:
    cast = casebooks.cast
    first = [bare_record(AdverseEvent, cast.patient_a, grade=1) for _ in range(7)]
    api.as_(cast.user(Role.DATA_MANAGER))
    page = api.get(ADVERSE_EVENTS, page_size=3).json()
    seen = [row["id"] for row in page["results"]]
    assert seen == [record.pk for record in first[:3]]
    # Between two pages: new rows arrive, a row already seen and a row not yet seen are edited.
    added = [bare_record(AdverseEvent, cast.patient_b, grade=2) for _ in range(2)]
    for record in (first[1], first[5]):
        record.grade = 3
        record._change_reason = "Corrected"  # type: ignore[attr-defined]
        record.save()
    while page["next"]:
        page = api.client.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]
        if len(seen) == 6:  # and once more, between later pages
            added.append(bare_record(AdverseEvent, cast.patient_a, grade=4))
    assert seen == [record.pk for record in [*first, *added]]
    assert len(seen) == len(set(seen))


def test_pages_go_back_with_the_previous_link(api: Api, casebooks: Casebooks) -> None:
    records = [bare_record(AdverseEvent, casebooks.cast.patient_a) for _ in range(5)]
    api.as_(casebooks.coordinator)
    first = api.get(ADVERSE_EVENTS, page_size=2).json()
    second = api.client.get(first["next"]).json()
    back = api.client.get(second["previous"]).json()
    assert [row["id"] for row in back["results"]] == [record.pk for record in records[:2]]


@pytest.mark.parametrize(
    "cursor", ["garbage", "cD1hYmM=", "cD0tNQ==", "bz05OTk5OTk5", "%%%", "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5"]
)
def test_a_broken_cursor_answers_400(api: Api, casebooks: Casebooks, cursor: str) -> None:
    response = api.as_(casebooks.coordinator).get(ADVERSE_EVENTS, cursor=cursor)
    assert response.status_code == 400
    assert list(response.json()) == ["cursor"]


def test_the_page_size_is_capped(api: Api, casebooks: Casebooks) -> None:
    for _ in range(3):
        bare_record(AdverseEvent, casebooks.cast.patient_a)
    api.as_(casebooks.coordinator)
    assert len(api.get(ADVERSE_EVENTS, page_size=2).json()["results"]) == 2
    assert len(api.get(ADVERSE_EVENTS, page_size=10**9).json()["results"]) == 3
    assert len(api.get(ADVERSE_EVENTS, page_size="lots").json()["results"]) == 3


def test_modified_since_with_the_cursor_gives_an_incremental_pull(api: Api, casebooks: Casebooks) -> None:
    """A client pulls everything, notes when it started, and next time pulls only what changed since."""
    cast = casebooks.cast
    old = [bare_record(AdverseEvent, cast.patient_a, grade=1) for _ in range(4)]
    AdverseEvent.objects.update(updated_at=datetime(2025, 1, 1, tzinfo=UTC))
    api.as_(cast.user(Role.DATA_MANAGER))
    assert len(api.all_rows(ADVERSE_EVENTS, page_size=2)) == 4
    started = datetime.now(UTC)
    changed = old[2]
    changed.grade = 2
    changed._change_reason = "Corrected"  # type: ignore[attr-defined]
    changed.save()
    new = bare_record(AdverseEvent, cast.patient_b, grade=3)
    rows = api.all_rows(ADVERSE_EVENTS, page_size=1, modified_since=started.isoformat())
    assert [(row["id"], row["grade"]) for row in rows] == [(changed.pk, 2), (new.pk, 3)]


# Queries per page --------------------------------------------------------------------------------------------------


def _queries(api: Api, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return len(captured)


def _patients(cast: Cast, n: int, start: int) -> list[Patient]:
    return [PatientFactory(trial=cast.avatar2, site=cast.site_a, sequence=start + i) for i in range(n)]


def _grow_patients(cast: Cast, casebooks: Casebooks, n: int, start: int) -> None:
    for patient in _patients(cast, n, start):
        visit = services.visit_record(
            user=casebooks.coordinator,
            patient=patient,
            definition=cast.avatar2.visit_definitions.get(code="screening"),
            occurrence=1,
            status="done",
            visit_date=date(2025, 3, 10),
        )
        record = bare_record(Demographics, patient, visit=visit, ecog=1)
        query = services.query_raise(user=cast.user(Role.DATA_MANAGER), record=record, text="Check")
        services.query_answer(user=casebooks.coordinator, query=query, text="Checked")
        term = CtcaeTerm.objects.get_or_create(soc="Blood", term=f"Term {start + 1}")[0]
        bare_record(AdverseEvent, patient, term=term, grade=1)
        lesion = bare_record(Lesion, patient, label="T1", role="target")
        assessment = bare_record(TumourAssessment, patient, visit=visit)
        TargetMeasurement.objects.create(assessment=assessment, lesion=lesion, site=patient.site, status="MEASURED")
        EndpointValue.objects.create(
            patient=patient,
            site=patient.site,
            paramcd="PFS",
            algorithm_version="test",
            input_hash="0" * 64,
            computed_at=datetime.now(UTC),
        )


LISTS = [
    "api:patient-list",
    "api:visit-list",
    "api:query-list",
    "api:crf-demographics-list",
    "api:crf-adverse-event-list",
    "api:lesion-list",
    "api:tumour-assessment-list",
    "api:endpoint-list",
]


@pytest.mark.parametrize("name", LISTS)
def test_a_list_page_costs_the_same_queries_for_two_rows_as_for_twelve(
    api: Api, casebooks: Casebooks, name: str
) -> None:
    cast = casebooks.cast
    _grow_patients(cast, casebooks, 2, start=10)
    api.as_(cast.user(Role.SPONSOR_ADMIN))
    url = reverse(name)
    small = _queries(api, url)
    _grow_patients(cast, casebooks, 10, start=20)
    assert len(api.get(url).json()["results"]) >= 12
    assert _queries(api, url) == small


def test_an_allocation_page_costs_the_same_queries_for_one_row_as_for_three(api: Api, cast: Cast) -> None:
    from ..scenarios import allocated_patient

    grow: Callable[[str], Any] = lambda number: allocated_patient(cast, screening_number=number, arm="A")  # noqa: E731
    grow("Q-1")
    api.as_(cast.user(Role.STATISTICIAN))
    url = reverse("api:allocation-list")
    small = _queries(api, url)
    grow("Q-2")
    grow("Q-3")
    assert len(api.get(url).json()["results"]) == 3
    assert _queries(api, url) == small
