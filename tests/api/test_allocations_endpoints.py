"""Allocations (with the concealed part for the list's keepers only) and the derived endpoints (efficacy: the
statistician and the sponsor admin only) in the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from outcomes.models import EndpointValue, PatientDerivation
from outcomes.services.patients import endpoints_recompute_for_patient
from patients.models import Randomisation
from patients.randomisation import Allocation
from trials.models import Role

from ..conftest import Cast
from ..scenarios import Scenario, allocated_patient
from .conftest import READERS, Api

ALLOCATIONS = reverse("api:allocation-list")
ENDPOINTS = reverse("api:endpoint-list")
DERIVATIONS = reverse("api:derivation-list")
EFFICACY = {Role.STATISTICIAN, Role.SPONSOR_ADMIN}


@pytest.fixture
def allocations(cast: Cast) -> tuple[Allocation, Allocation]:
    return (
        allocated_patient(cast, site=cast.site_a, screening_number="AL-A", arm="A"),
        allocated_patient(cast, site=cast.site_b, screening_number="AL-B", arm="A"),
    )


@pytest.mark.parametrize(("role", "all_sites"), READERS.items())
def test_allocations_are_listed_within_the_sites_and_concealed_from_most(
    api: Api, cast: Cast, allocations: tuple[Allocation, Allocation], role: str, all_sites: bool
) -> None:
    own, other = allocations
    rows = api.as_(cast.user(role)).all_rows(ALLOCATIONS)
    expected = {own.patient.subject_id} | ({other.patient.subject_id} if all_sites else set())
    assert {row["subject_id"] for row in rows} == expected
    keeps_the_list = role in EFFICACY  # MANAGE_RANDOMISATION: the same two roles
    assert all(("concealed" in row) is keeps_the_list for row in rows)
    if keeps_the_list:
        assert rows[0]["concealed"]["list_row"]["sequence"] >= 1
    detail = reverse("api:allocation-detail", kwargs={"subject_id": other.patient.subject_id})
    assert api.get(detail).status_code == (200 if all_sites else 404)


def test_the_trial_manager_gets_404_on_allocations(
    api: Api, cast: Cast, allocations: tuple[Allocation, Allocation]
) -> None:
    api.as_(cast.user(Role.TRIAL_MANAGER))
    assert api.get(ALLOCATIONS).status_code == 404
    detail = reverse("api:allocation-detail", kwargs={"subject_id": allocations[0].patient.subject_id})
    assert api.get(detail).status_code == 404


def test_a_stratification_correction_brings_the_allocation_into_the_next_pull(
    api: Api, cast: Cast, allocations: tuple[Allocation, Allocation]
) -> None:
    own, other = allocations
    since = timezone.now()
    api.as_(cast.user(Role.DATA_MANAGER))
    assert api.all_rows(ALLOCATIONS, modified_since=since.isoformat()) == []
    record = Randomisation.objects.get(patient=own.patient)
    response = api.as_(cast.user(Role.SITE_COORDINATOR)).patch(
        reverse("api:crf-randomisation-detail", kwargs={"pk": record.pk}),
        {"version": record.version, "endocrine_partner": "serd", "reason": "Partner was fulvestrant"},
    )
    assert response.status_code == 200, response.content
    rows = api.as_(cast.user(Role.DATA_MANAGER)).all_rows(ALLOCATIONS, modified_since=since.isoformat())
    assert [row["subject_id"] for row in rows] == [own.patient.subject_id]  # the allocation itself is unchanged
    (correction,) = rows[0]["stratification_corrections"]
    assert (correction["field"], correction["as_randomised"], correction["corrected_to"]) == (
        "endocrine_partner",
        "ai",
        "serd",
    )
    assert [row["subject_id"] for row in api.all_rows(ALLOCATIONS, site="BE01")] == [other.patient.subject_id]
    assert api.all_rows(ALLOCATIONS, arm="B") == []


# Endpoints --------------------------------------------------------------------------------------------------------


@pytest.fixture
def derived(cast: Cast) -> Scenario:
    """A COSMO patient with a baseline and a progression at day 168, derived by the real recompute."""
    scenario = Scenario(cast)
    scenario.baseline()
    scenario.assessment(84, 30.0, investigator="PR")
    scenario.assessment(168, 45.0, investigator="PD")
    endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    return scenario


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_endpoints_and_derivations_are_for_efficacy_readers_only(api: Api, derived: Scenario, role: str) -> None:
    api.as_(derived.cast.user(role))
    value = EndpointValue.objects.get(patient=derived.patient, paramcd="PFS")
    urls = [
        ENDPOINTS,
        DERIVATIONS,
        reverse("api:endpoint-detail", kwargs={"pk": value.pk}),
        reverse("api:derivation-detail", kwargs={"subject_id": derived.patient.subject_id}),
    ]
    expected = 200 if role in EFFICACY else 404
    assert [api.get(url).status_code for url in urls] == [expected] * 4


def test_an_endpoint_row_carries_its_value_and_provenance(api: Api, derived: Scenario) -> None:
    api.as_(derived.cast.user(Role.STATISTICIAN))
    rows = api.all_rows(ENDPOINTS, paramcd="PFS", patient=derived.patient.subject_id)
    assert len(rows) == 1
    pfs = rows[0]
    stored = EndpointValue.objects.get(pk=pfs["id"])
    assert (pfs["start_date"], pfs["end_date"], pfs["aval_days"]) == (
        str(stored.start_date),
        str(stored.end_date),
        stored.aval_days,
    )
    assert (pfs["event"], pfs["cnsr"]) == (True, 0)
    assert pfs["algorithm_version"] and len(pfs["input_hash"]) == 64 and pfs["source_records"]
    assert pfs["end_date"] == str(derived.origin + timedelta(days=168))
    derivation = api.get(reverse("api:derivation-detail", kwargs={"subject_id": derived.patient.subject_id})).json()
    assert derivation["input_hash"] == PatientDerivation.objects.get(patient=derived.patient).input_hash
    assert derivation["values"]["origin_date"] == str(derived.origin)


def test_endpoints_filter_by_event_date_and_computation_time(api: Api, derived: Scenario) -> None:
    api.as_(derived.cast.user(Role.SPONSOR_ADMIN))
    everything = api.all_rows(ENDPOINTS)
    events = api.all_rows(ENDPOINTS, event="true")
    assert events and all(row["event"] is True for row in events) and len(events) < len(everything)
    later = api.all_rows(ENDPOINTS, end_date_after=str(derived.origin + timedelta(days=100)))
    assert {row["paramcd"] for row in later} >= {"PFS"}
    future = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.all_rows(ENDPOINTS, modified_since=future) == []
    assert api.all_rows(DERIVATIONS, modified_since=future) == []
    assert len(api.all_rows(DERIVATIONS, trial="cosmo")) == 1
    assert api.all_rows(ENDPOINTS, site="BE01") == []
