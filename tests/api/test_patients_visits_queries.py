"""Patients, visits and queries in the API: what each role lists and reads, the filters, and what never leaves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patients import services
from patients.models import Patient, Query, Visit
from trials.models import Role

from ..conftest import Cast
from ..factories import PatientFactory
from ..scenarios import allocated_patient
from .conftest import READERS, Api, Casebooks

PATIENTS = reverse("api:patient-list")
VISITS = reverse("api:visit-list")
QUERIES = reverse("api:query-list")


def _patient_url(patient: Patient) -> str:
    return reverse("api:patient-detail", kwargs={"subject_id": patient.subject_id})


@pytest.mark.parametrize(("role", "all_sites"), READERS.items())
def test_each_reader_lists_exactly_the_patients_of_its_sites(
    api: Api, casebooks: Casebooks, role: str, all_sites: bool
) -> None:
    cast = casebooks.cast
    rows = api.as_(cast.user(role)).all_rows(PATIENTS)
    expected = {cast.patient_a.subject_id} | ({cast.patient_b.subject_id} if all_sites else set())
    assert {row["subject_id"] for row in rows} == expected


def test_a_patient_of_another_site_answers_404_and_its_own_200(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    api.as_(cast.user(Role.MONITOR))
    assert api.get(_patient_url(cast.patient_a)).status_code == 200
    assert api.get(_patient_url(cast.patient_b)).status_code == 404


@pytest.mark.parametrize(
    "name", ["api:patient-list", "api:visit-list", "api:query-list", "api:crf-demographics-list", "api:lesion-list"]
)
def test_the_trial_manager_gets_404_on_patient_level_lists(api: Api, casebooks: Casebooks, name: str) -> None:
    response = api.as_(casebooks.cast.user(Role.TRIAL_MANAGER)).get(reverse(name))
    assert response.status_code == 404


def test_the_trial_manager_gets_404_on_a_patient_visit_and_query(api: Api, casebooks: Casebooks) -> None:
    api.as_(casebooks.cast.user(Role.TRIAL_MANAGER))
    assert api.get(_patient_url(casebooks.cast.patient_a)).status_code == 404
    assert api.get(reverse("api:visit-detail", kwargs={"pk": casebooks.visit_a.pk})).status_code == 404
    assert api.get(reverse("api:query-detail", kwargs={"pk": casebooks.query_a.pk})).status_code == 404


def test_a_patient_carries_no_direct_identifier(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    body = api.as_(cast.user(Role.DATA_MANAGER)).get(_patient_url(cast.patient_a)).json()
    assert body["subject_id"] == cast.patient_a.subject_id
    assert (body["trial"], body["site"], body["status"]) == ("avatar2", "NL01", "on_study")
    assert body["enrolment_date"] == "2025-03-24"
    assert cast.patient_a.screening_number not in str(body)  # the site's log links it to a name
    assert not {"screening_number", "name", "first_name", "last_name", "birth_date"} & set(body)


def test_the_arm_shows_once_the_patient_is_allocated(api: Api, cast: Cast) -> None:
    allocation = allocated_patient(cast, screening_number="ARM-1", arm="B")
    api.as_(cast.user(Role.SITE_COORDINATOR))
    assert api.get(_patient_url(allocation.patient)).json()["arm"] == "B"
    assert api.get(_patient_url(cast.patient_a)).json()["arm"] is None


def test_patients_filter_by_trial_site_status_and_enrolment_date(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    cosmo = PatientFactory(trial=cast.cosmo, site=cast.site_b, sequence=1, enrolment_date=date(2025, 6, 2))
    screening = PatientFactory(
        trial=cast.avatar2, site=cast.site_b, sequence=2, enrolment_date=None, status="screening"
    )
    api.as_(cast.user(Role.STATISTICIAN))

    def ids(**params: str) -> set[str]:
        return {row["subject_id"] for row in api.all_rows(PATIENTS, **params)}

    assert ids(trial="cosmo") == {cosmo.subject_id}
    assert ids(site="NL01") == {cast.patient_a.subject_id}
    assert ids(status="screening") == {screening.subject_id}
    assert ids(enrolment_date_after="2025-04-01") == {cosmo.subject_id}
    assert ids(enrolment_date_before="2025-04-01", site="BE01") == {cast.patient_b.subject_id}
    assert api.get(PATIENTS, status="nonsense").status_code == 400


# Visits -----------------------------------------------------------------------------------------------------------


def test_visits_list_and_read_within_the_sites(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    api.as_(cast.user(Role.INVESTIGATOR))
    rows = api.all_rows(VISITS)
    assert [row["id"] for row in rows] == [casebooks.visit_a.pk]
    body = api.get(reverse("api:visit-detail", kwargs={"pk": casebooks.visit_a.pk})).json()
    assert (body["patient"], body["visit_code"], body["occurrence"], body["status"]) == (
        cast.patient_a.subject_id,
        "screening",
        1,
        "done",
    )
    assert body["visit_date"] == "2025-03-10"
    assert api.get(reverse("api:visit-detail", kwargs={"pk": casebooks.visit_b.pk})).status_code == 404


def test_visits_filter_by_patient_code_and_date(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    follow_up = services.visit_record(
        user=casebooks.coordinator,
        patient=cast.patient_a,
        definition=cast.avatar2.visit_definitions.get(code="follow-up"),
        occurrence=1,
        status="done",
        visit_date=date(2025, 6, 16),
    )
    api.as_(cast.user(Role.DATA_MANAGER))

    def ids(**params: str) -> set[int]:
        return {row["id"] for row in api.all_rows(VISITS, **params)}

    assert ids(patient=cast.patient_b.subject_id) == {casebooks.visit_b.pk}
    assert ids(visit_code="follow-up") == {follow_up.pk}
    assert ids(visit_date_after="2025-06-01") == {follow_up.pk}
    assert ids(visit_date_before="2025-03-10", site="NL01") == {casebooks.visit_a.pk}
    assert api.get(VISITS, visit_date_after="not a date").status_code == 400


def test_a_visit_changed_since_is_pulled_again(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    since = timezone.now()
    Visit.objects.filter(pk__in=[casebooks.visit_a.pk, casebooks.visit_b.pk]).update(
        updated_at=since - timedelta(hours=1)
    )
    services.visit_record(
        user=casebooks.coordinator,
        patient=cast.patient_a,
        definition=casebooks.visit_a.definition,
        occurrence=1,
        status="done",
        visit_date=date(2025, 3, 11),
        reason="Date transcribed wrongly",
    )
    rows = api.as_(cast.user(Role.DATA_MANAGER)).all_rows(VISITS, modified_since=since.isoformat())
    assert [(row["id"], row["visit_date"], row["version"]) for row in rows] == [(casebooks.visit_a.pk, "2025-03-11", 2)]


# Queries ----------------------------------------------------------------------------------------------------------


def test_a_query_comes_with_its_record_and_its_thread(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    services.query_answer(user=casebooks.coordinator, query=casebooks.query_a, text="ECOG checked: 1")
    body = api.as_(cast.user(Role.MONITOR)).get(reverse("api:query-detail", kwargs={"pk": casebooks.query_a.pk}))
    body = body.json()
    assert body["record"] == {
        "model": "demographics",
        "app": "patients",
        "id": casebooks.demographics_a.pk,
        "crf": "demographics",
    }
    assert (body["status"], body["automatic"], body["raised_by"]) == ("answered", False, Role.DATA_MANAGER.value)
    assert [(m["kind"], m["text"], m["author"]) for m in body["messages"]] == [
        ("raised", "Check", Role.DATA_MANAGER.value),
        ("answered", "ECOG checked: 1", Role.SITE_COORDINATOR.value),
    ]


def test_queries_are_scoped_and_filtered(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    api.as_(cast.user(Role.SITE_COORDINATOR))
    assert [row["id"] for row in api.all_rows(QUERIES)] == [casebooks.query_a.pk]
    assert api.get(reverse("api:query-detail", kwargs={"pk": casebooks.query_b.pk})).status_code == 404
    api.as_(cast.user(Role.SPONSOR_ADMIN))
    services.query_close(user=cast.user(Role.DATA_MANAGER), query=casebooks.query_b, text="Fine")
    assert [row["id"] for row in api.all_rows(QUERIES, status="closed")] == [casebooks.query_b.pk]
    assert [row["id"] for row in api.all_rows(QUERIES, patient=cast.patient_a.subject_id)] == [casebooks.query_a.pk]
    assert api.all_rows(QUERIES, automatic="true") == []
    assert len(api.all_rows(QUERIES, automatic="false")) == 2


def test_a_query_answered_since_is_pulled_again(api: Api, casebooks: Casebooks) -> None:
    since = timezone.now()
    Query.objects.update(updated_at=since - timedelta(hours=1))
    services.query_answer(user=casebooks.coordinator_b, query=casebooks.query_b, text="Corrected")
    rows = api.as_(casebooks.cast.user(Role.DATA_MANAGER)).all_rows(QUERIES, modified_since=since.isoformat())
    assert [(row["id"], row["status"]) for row in rows] == [(casebooks.query_b.pk, "answered")]
