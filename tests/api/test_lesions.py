"""Lesions, tumour assessments and local ablative treatments in the API: reads with their rows and computed
response, and writes through the lesions services (the recompute, the treated lesion, the rows' checks)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from lesions.models import Lesion, LocalAblativeTreatment, TumourAssessment
from patients.models import Query
from trials.models import Role

from ..conftest import Cast
from ..scenarios import CONSENT, Scenario, site_user, visit_done
from .conftest import Api

ASSESSMENTS = reverse("api:tumour-assessment-list")
LESIONS = reverse("api:lesion-list")
TREATMENTS = reverse("api:local-treatment-list")


def _assessment_url(record: Any) -> str:
    return reverse("api:tumour-assessment-detail", kwargs={"pk": record.pk})


@pytest.fixture
def scenario(cast: Cast) -> Scenario:
    """A COSMO patient at site A registered on 2025-02-03 with T1 (liver, 40 mm) and NT1 (spine) on the register
    and a baseline scan."""
    scenario = Scenario(cast)
    scenario.baseline()
    return scenario


def _follow_up_body(scenario: Scenario, on: date, target_tenths: int, investigator: str) -> dict[str, Any]:
    visit_done(scenario.user, scenario.patient, "follow-up", on)
    return {
        "patient": scenario.patient.subject_id,
        "visit_code": "follow-up",
        "visit_occurrence": 1,
        "modality": "ct",
        "investigator_response": investigator,
        "complete": True,
        "targets": [
            {"lesion": scenario.target.pk, "status": "MEASURED", "diameter_tenths": target_tenths, "scan_date": on}
        ],
        "non_targets": [{"lesion": scenario.non_target.pk, "status": "PRESENT", "scan_date": on}],
    }


# Reads ------------------------------------------------------------------------------------------------------------


def test_an_assessment_is_read_with_its_rows_and_both_responses(api: Api, scenario: Scenario) -> None:
    follow_up = scenario.assessment(84, 20.0, investigator="SD")
    body = api.as_(scenario.cast.user(Role.MONITOR)).get(_assessment_url(follow_up)).json()
    assert [(r["lesion"], r["lesion_label"], r["status"], r["diameter_tenths"]) for r in body["targets"]] == [
        (scenario.target.pk, "T1", "MEASURED", 200)
    ]
    assert [(r["lesion_label"], r["status"]) for r in body["non_targets"]] == [("NT1", "PRESENT")]
    assert body["new_lesions"] == []
    assert (body["investigator_response"], body["computed_response"], body["response_differs"]) == ("SD", "PR", True)
    assert (body["baseline_sum_tenths"], body["target_sum_tenths"], body["change_from_baseline_percent"]) == (
        400,
        200,
        "-50.0",
    )
    assert body["assessment_date"] == str(scenario.origin + timedelta(days=84))


def test_lesion_forms_are_scoped_and_closed_to_the_trial_manager(api: Api, scenario: Scenario) -> None:
    cast = scenario.cast
    api.as_(cast.user(Role.SITE_COORDINATOR))
    assert {row["label"] for row in api.all_rows(LESIONS)} == {"T1", "NT1"}
    assert [row["label"] for row in api.all_rows(LESIONS, role="target")] == ["T1"]
    assert len(api.all_rows(ASSESSMENTS, patient=scenario.patient.subject_id)) == 1
    coordinator_b = site_user(cast, Role.SITE_COORDINATOR, cast.site_b)
    api.as_(coordinator_b)
    assert api.all_rows(LESIONS) == [] and api.all_rows(ASSESSMENTS) == []
    assert api.get(reverse("api:lesion-detail", kwargs={"pk": scenario.target.pk})).status_code == 404
    api.as_(cast.user(Role.TRIAL_MANAGER))
    for url in (LESIONS, ASSESSMENTS, TREATMENTS):
        assert api.get(url).status_code == 404


# Writes -----------------------------------------------------------------------------------------------------------


def test_a_follow_up_assessment_is_written_with_its_rows_and_computed(api: Api, scenario: Scenario) -> None:
    on = scenario.origin + timedelta(days=84)
    response = api.as_(scenario.user).post(ASSESSMENTS, _follow_up_body(scenario, on, 380, "SD"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["computed_response"], body["assessment_date"], body["warnings"]) == ("SD", str(on), [])
    saved = TumourAssessment.objects.get(pk=body["id"])
    assert [(row.lesion_id, row.diameter_tenths) for row in saved.target_measurements.all()] == [
        (scenario.target.pk, 380)
    ]


def test_a_discrepant_investigator_response_comes_back_as_a_warning_and_a_query(api: Api, scenario: Scenario) -> None:
    on = scenario.origin + timedelta(days=84)
    response = api.as_(scenario.user).post(ASSESSMENTS, _follow_up_body(scenario, on, 200, "SD"))
    assert response.status_code == 201, response.content
    assert [(w["field"], w["code"]) for w in response.json()["warnings"]] == [("investigator_response", "discrepancy")]
    assert Query.objects.filter(object_id=response.json()["id"], check_code__startswith="recist:", status="open")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body, s: body["targets"].clear(), "targets"),  # completing needs every target's row
        (lambda body, s: body["targets"][0].update(lesion=s.non_target.pk), "targets"),  # not a target
        (lambda body, s: body["targets"].append(dict(body["targets"][0])), "targets"),  # given twice
        (lambda body, s: body["targets"][0].update(diameter_tenths=None), "targets"),  # measured without diameter
        (lambda body, s: body["targets"][0].update(status="HUGE"), "targets"),
        (lambda body, s: body["non_targets"][0].update(lesion=10**9), "non_targets"),
        (lambda body, s: body["new_lesions"].append({"status": "YES", "confirms": 10**9}), "new_lesions"),
        (lambda body, s: body["new_lesions"].append({"status": "YES", "id": 10**6}), "new_lesions"),
        (lambda body, s: body.update(investigator_response="GREAT"), "investigator_response"),
        (lambda body, s: body.update(targets="T1"), "targets"),
    ],
)
def test_bad_rows_are_refused_by_field_and_nothing_is_saved(
    api: Api, scenario: Scenario, change: Any, field: str
) -> None:
    body = _follow_up_body(scenario, scenario.origin + timedelta(days=84), 300, "SD")
    body["new_lesions"] = []
    change(body, scenario)
    response = api.as_(scenario.user).post(ASSESSMENTS, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert all(isinstance(m, str) for messages in response.json().values() for m in messages)
    assert TumourAssessment.objects.filter(patient=scenario.patient).count() == 1


def test_an_assessment_update_replaces_the_rows_sent_and_keeps_the_others(api: Api, scenario: Scenario) -> None:
    follow_up = scenario.assessment(84, 30.0, investigator="SD")
    on = scenario.origin + timedelta(days=84)
    api.as_(scenario.user)
    no_reason = api.patch(_assessment_url(follow_up), {"version": follow_up.version, "targets": []})
    assert no_reason.status_code == 400 and list(no_reason.json()) == ["reason"]
    response = api.patch(
        _assessment_url(follow_up),
        {
            "version": follow_up.version,
            "reason": "Re-measured on the PACS",
            "targets": [{"lesion": scenario.target.pk, "status": "MEASURED", "diameter_tenths": 180, "scan_date": on}],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert ([r["diameter_tenths"] for r in body["targets"]], body["computed_response"]) == ([180], "PR")
    assert [r["lesion_label"] for r in body["non_targets"]] == ["NT1"]  # not sent: kept
    stale = api.patch(_assessment_url(follow_up), {"version": follow_up.version, "reason": "again"})
    assert stale.status_code == 409


def test_a_local_treatment_marks_its_lesion_locally_treated(api: Api, scenario: Scenario) -> None:
    on = scenario.origin + timedelta(days=7)
    visit_done(scenario.user, scenario.patient, "lat", on)
    body = {
        "patient": scenario.patient.subject_id,
        "visit_code": "lat",
        "lesion": scenario.non_target.pk,
        "modality": "surgery",
        "start_date": on,
        "procedure": "Vertebral metastasectomy",
        "margin": "R0",
        "complete": True,
    }
    api.as_(scenario.user)
    target = api.post(TREATMENTS, {**body, "lesion": scenario.target.pk})
    assert target.status_code == 400 and list(target.json()) == ["lesion"]  # a target cannot be treated (D5)
    mixed = api.post(TREATMENTS, {**body, "fractions": 5})
    assert mixed.status_code == 400 and list(mixed.json()) == ["fractions"]
    assert not LocalAblativeTreatment.objects.exists()
    response = api.post(TREATMENTS, body)
    assert response.status_code == 201, response.content
    lesion = Lesion.objects.get(pk=scenario.non_target.pk)
    assert (lesion.locally_treated, lesion.locally_treated_date) == (True, on)
    assert [row["id"] for row in api.all_rows(TREATMENTS, modality="surgery")] == [response.json()["id"]]


def test_a_lesion_is_registered_through_the_lesion_service(api: Api, scenario: Scenario) -> None:
    body = {
        "patient": scenario.patient.subject_id,
        "label": "nt2",
        "site_code": "LUNG",
        "measurable": False,
        "nodal": False,
        "role": "non_target",
        "oligoprogressive": False,
        "first_seen_date": CONSENT - timedelta(days=10),
        "complete": True,
    }
    api.as_(scenario.user)
    duplicate = api.post(LESIONS, {**body, "label": "NT1"})
    assert duplicate.status_code == 400 and list(duplicate.json()) == ["label"]
    in_a_visit = api.post(LESIONS, {**body, "visit_code": "screening"})
    assert in_a_visit.status_code == 400 and list(in_a_visit.json()) == ["visit"]
    response = api.post(LESIONS, body)
    assert response.status_code == 201, response.content
    assert (response.json()["label"], response.json()["organ"]) == ("NT2", Lesion.objects.get(label="NT2").organ)
    assert api.as_(scenario.cast.user(Role.MONITOR)).post(LESIONS, body).status_code == 403


def test_a_recomputed_response_is_pulled_again_without_a_save(api: Api, scenario: Scenario) -> None:
    """Re-measuring the baseline changes the follow-up's computed response, which ``modified_since`` sees."""
    follow_up = scenario.assessment(84, 30.0, investigator="PR")
    baseline = TumourAssessment.objects.get(patient=scenario.patient, visit__definition__code="screening")
    since = timezone.now()
    TumourAssessment.objects.update(updated_at=since - timedelta(hours=1), computed_at=since - timedelta(hours=1))
    scan = scenario.origin - timedelta(days=7)
    response = api.as_(scenario.user).patch(
        _assessment_url(baseline),
        {
            "version": baseline.version,
            "reason": "Baseline re-measured",
            "targets": [
                {"lesion": scenario.target.pk, "status": "MEASURED", "diameter_tenths": 330, "scan_date": scan}
            ],
        },
    )
    assert response.status_code == 200, response.content
    follow_up.refresh_from_db()
    assert follow_up.updated_at < since and follow_up.computed_response == "SD"
    rows = api.all_rows(ASSESSMENTS, modified_since=since.isoformat())
    assert {row["id"]: row["computed_response"] for row in rows} == {baseline.pk: "", follow_up.pk: "SD"}
