"""CRF writes through the API: the same service, edit checks, optimistic lock and reason for change as the entry
screens; errors by field and nothing saved; who may write."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from patients import services
from patients.models import AdverseEvent, CtcaeTerm, Demographics, Patient, Query, SurvivalStatusContact
from trials.models import Role

from .conftest import Api, Casebooks

DEMOGRAPHICS = reverse("api:crf-demographics-list")
COMPLETE_DEMOGRAPHICS = {
    "ecog": 1,
    "menopausal_status": "post",
    "primary_diagnosis_date": "2019-04",
    "metastatic_diagnosis_date": "2024-11-02",
}


def _detail(record: Any, code: str = "demographics") -> str:
    return reverse(f"api:crf-{code}-detail", kwargs={"pk": record.pk})


def _fresh(record: Any) -> Any:
    return type(record).objects.get(pk=record.pk)


@pytest.fixture
def patient_c(casebooks: Casebooks) -> Patient:
    """A second patient at site A with its screening visit done and no forms yet."""
    cast = casebooks.cast
    patient = services.patient_register(
        user=casebooks.coordinator,
        trial=cast.avatar2,
        site=cast.site_a,
        screening_number="SCR-C",
        age_at_consent=61,
        sex="F",
        consent_date=date(2025, 3, 3),
    )
    services.visit_record(
        user=casebooks.coordinator,
        patient=patient,
        definition=cast.avatar2.visit_definitions.get(code="screening"),
        occurrence=1,
        status="done",
        visit_date=date(2025, 3, 5),
    )
    return patient


# Creating ---------------------------------------------------------------------------------------------------------


def test_a_coordinator_creates_a_draft_by_visit_code(api: Api, casebooks: Casebooks, patient_c: Patient) -> None:
    response = api.as_(casebooks.coordinator).post(
        DEMOGRAPHICS, {"patient": patient_c.subject_id, "visit_code": "screening", "ecog": 2}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    record = Demographics.objects.get(patient=patient_c)
    assert (body["id"], body["status"], body["version"], body["ecog"]) == (record.pk, "draft", 1, 2)
    assert (body["visit_code"], body["visit_occurrence"], body["visit_date"]) == ("screening", 1, "2025-03-05")
    assert body["warnings"] == []
    assert record.history.get().history_user == casebooks.coordinator


def test_a_form_is_created_complete_by_visit_id(api: Api, casebooks: Casebooks, patient_c: Patient) -> None:
    visit = patient_c.visits.get()
    response = api.as_(casebooks.coordinator).post(
        DEMOGRAPHICS, {"patient": patient_c.subject_id, "visit": visit.pk, "complete": True, **COMPLETE_DEMOGRAPHICS}
    )
    assert response.status_code == 201, response.content
    record = Demographics.objects.get(patient=patient_c)
    assert (record.status, record.menopausal_status, record.completed_at is not None) == ("complete", "post", True)
    assert response.json()["completed_at"] is not None


def test_completing_names_every_missing_field_and_saves_nothing(
    api: Api, casebooks: Casebooks, patient_c: Patient
) -> None:
    response = api.as_(casebooks.coordinator).post(
        DEMOGRAPHICS, {"patient": patient_c.subject_id, "visit_code": "screening", "complete": True, "ecog": 0}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"menopausal_status", "primary_diagnosis_date", "metastatic_diagnosis_date"}
    assert all("required to mark the form complete" in m[0] for m in response.json().values())
    assert not Demographics.objects.filter(patient=patient_c).exists()


def test_bad_input_is_refused_field_by_field_and_nothing_is_saved(
    api: Api, casebooks: Casebooks, patient_c: Patient
) -> None:
    response = api.as_(casebooks.coordinator).post(
        DEMOGRAPHICS,
        {
            "patient": patient_c.subject_id,
            "visit_code": "screening",
            "ecog": 9,
            "menopausal_status": "sometimes",
            "primary_diagnosis_date": "2019-13",
            "shoe_size": 38,
            "status": "complete",
        },
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"shoe_size", "status"}  # unknown and read-only fields are refused first, by name
    response = api.post(
        DEMOGRAPHICS,
        {
            "patient": patient_c.subject_id,
            "visit_code": "screening",
            "ecog": 9,
            "menopausal_status": "sometimes",
            "primary_diagnosis_date": "2019-13",
        },
    )
    errors = response.json()
    assert set(errors) == {"ecog", "menopausal_status", "primary_diagnosis_date"}
    assert all(isinstance(messages, list) and all(isinstance(m, str) for m in messages) for messages in errors.values())
    assert not Demographics.objects.filter(patient=patient_c).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([1, 2], "non_field_errors"),
        ({"visit_code": "screening"}, "patient"),
        ({"patient": 12, "visit_code": "screening"}, "patient"),
        ({"patient": "AVT2-XX99-0001", "visit_code": "screening"}, "patient"),
        ({"patient": "{c}", "visit_code": "randomisation"}, "visit_code"),
        ({"patient": "{c}", "visit_occurrence": 2}, "visit_code"),
        ({"patient": "{c}", "visit": "one"}, "visit"),
        ({"patient": "{c}", "visit": 2**70}, "visit"),
        ({"patient": "{c}"}, "visit"),  # a visit-bound form without its visit: the service says so
        ({"patient": "{c}", "visit_code": "screening", "ecog": "1; drop table"}, "ecog"),
        ({"patient": "{c}", "visit_code": "screening", "reason": "x" * 3000}, "reason"),
        ({"patient": "{c}", "visit_code": "screening", "primary_diagnosis_date": "2019\x00"}, "primary_diagnosis_date"),
    ],
)
def test_garbage_answers_400_by_field(
    api: Api, casebooks: Casebooks, patient_c: Patient, body: Any, field: str
) -> None:
    if isinstance(body, dict):
        body = {k: (patient_c.subject_id if v == "{c}" else v) for k, v in body.items()}
    response = api.as_(casebooks.coordinator).post(DEMOGRAPHICS, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Demographics.objects.filter(patient=patient_c).exists()


def test_malformed_json_is_a_form_wide_error(api: Api, casebooks: Casebooks) -> None:
    response = api.as_(casebooks.coordinator).client.post(
        DEMOGRAPHICS, '{"patient": "AVT2', content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"] and "not valid JSON" in response.json()["non_field_errors"][0]


def test_another_sites_patient_and_visit_are_unknown(api: Api, casebooks: Casebooks, patient_c: Patient) -> None:
    cast = casebooks.cast
    api.as_(casebooks.coordinator)
    response = api.post(DEMOGRAPHICS, {"patient": cast.patient_b.subject_id, "visit": casebooks.visit_b.pk})
    assert set(response.json()) == {"patient", "visit"}
    response = api.post(DEMOGRAPHICS, {"patient": patient_c.subject_id, "visit": casebooks.visit_b.pk})
    assert response.status_code == 400 and "visit" in response.json()
    assert Demographics.objects.count() == 2


def test_a_form_that_is_not_a_log_is_created_once(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    response = api.as_(casebooks.coordinator).post(
        DEMOGRAPHICS, {"patient": cast.patient_a.subject_id, "visit_code": "screening", "ecog": 0}
    )
    assert response.status_code == 400
    assert f"(id {casebooks.demographics_a.pk})" in response.json()["visit"][0]
    assert Demographics.objects.filter(patient=cast.patient_a).count() == 1


# Updating ---------------------------------------------------------------------------------------------------------


def test_a_draft_is_updated_without_a_reason_and_completed(api: Api, casebooks: Casebooks) -> None:
    record = casebooks.demographics_a
    api.as_(casebooks.coordinator)
    response = api.patch(_detail(record), {"version": 1, "ecog": 3})
    assert response.status_code == 200, response.content
    assert (response.json()["ecog"], response.json()["version"], response.json()["status"]) == (3, 2, "draft")
    response = api.patch(_detail(record), {"version": 2, "complete": True, **COMPLETE_DEMOGRAPHICS})
    assert response.status_code == 200, response.content
    assert (_fresh(record).status, _fresh(record).version) == ("complete", 3)


def test_changing_a_complete_form_needs_a_reason(api: Api, casebooks: Casebooks) -> None:
    record = casebooks.demographics_a
    api.as_(casebooks.coordinator)
    api.patch(_detail(record), {"version": 1, "complete": True, **COMPLETE_DEMOGRAPHICS})
    response = api.patch(_detail(record), {"version": 2, "ecog": 0})
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]
    assert (_fresh(record).ecog, _fresh(record).version) == (1, 2)
    response = api.patch(_detail(record), {"version": 2, "ecog": 0, "reason": "  "})
    assert list(response.json()) == ["reason"]
    response = api.patch(_detail(record), {"version": 2, "ecog": 0, "reason": "ECOG re-assessed by the PI"})
    assert response.status_code == 200, response.content
    assert (_fresh(record).ecog, _fresh(record).version) == (0, 3)
    assert _fresh(record).history.first().history_change_reason == "ECOG re-assessed by the PI"


def test_a_complete_form_does_not_go_back_to_draft(api: Api, casebooks: Casebooks) -> None:
    record = casebooks.demographics_a
    api.as_(casebooks.coordinator).patch(_detail(record), {"version": 1, "complete": True, **COMPLETE_DEMOGRAPHICS})
    response = api.patch(_detail(record), {"version": 2, "complete": False, "reason": "oops"})
    assert response.status_code == 400 and "non_field_errors" in response.json()
    assert _fresh(record).status == "complete"


def test_a_stale_version_answers_409_and_saves_nothing(api: Api, casebooks: Casebooks) -> None:
    record = casebooks.demographics_a
    services.crf_save(
        user=casebooks.coordinator,
        model=Demographics,
        patient=record.patient,
        instance=_fresh(record),
        values={"ecog": 2},
        complete=False,
        expected_version=1,
    )
    response = api.as_(casebooks.cast.user(Role.INVESTIGATOR)).patch(_detail(record), {"version": 1, "ecog": 4})
    assert response.status_code == 409
    assert "version 2, not 1" in response.json()["version"][0]
    assert (_fresh(record).ecog, _fresh(record).version) == (2, 2)


def test_an_update_needs_the_version_read(api: Api, casebooks: Casebooks) -> None:
    response = api.as_(casebooks.coordinator).patch(_detail(casebooks.demographics_a), {"ecog": 4})
    assert response.status_code == 400 and list(response.json()) == ["version"]
    assert _fresh(casebooks.demographics_a).ecog == 1


def test_the_patient_and_visit_of_a_record_cannot_change(api: Api, casebooks: Casebooks, patient_c: Patient) -> None:
    response = api.as_(casebooks.coordinator).patch(
        _detail(casebooks.demographics_a), {"version": 1, "patient": patient_c.subject_id, "visit_code": "screening"}
    )
    assert response.status_code == 400 and set(response.json()) == {"patient", "visit_code"}


# Edit checks, warnings and hooks: as on the entry screen ---------------------------------------------------------


def test_the_api_refuses_what_the_entry_screen_refuses_with_the_same_message(
    api: Api, client: Any, casebooks: Casebooks, patient_c: Patient
) -> None:
    wrong = {**COMPLETE_DEMOGRAPHICS, "primary_diagnosis_date": "2024-12", "metastatic_diagnosis_date": "2021-05"}
    response = api.as_(casebooks.coordinator).post(
        DEMOGRAPHICS, {"patient": patient_c.subject_id, "visit_code": "screening", "complete": True, **wrong}
    )
    assert response.status_code == 400
    message = "The metastatic diagnosis cannot be before the primary diagnosis."
    assert response.json() == {"metastatic_diagnosis_date": [message]}
    screen = reverse("patients:crf_new", kwargs={"subject_id": patient_c.subject_id, "code": "demographics"})
    page = client.post(f"{screen}?visit={patient_c.visits.get().pk}", {**wrong, "complete": "on"})
    assert page.status_code == 200 and message in page.content.decode()
    assert not Demographics.objects.filter(patient=patient_c).exists()
    fixed = {**wrong, "metastatic_diagnosis_date": "2025-01"}
    response = api.post(DEMOGRAPHICS, {"patient": patient_c.subject_id, "visit_code": "screening", **fixed})
    assert response.status_code == 201


def test_a_grade_the_ctcae_term_does_not_have_is_refused(api: Api, casebooks: Casebooks) -> None:
    CtcaeTerm.objects.create(soc="Blood", term="Eosinophilia", grade_1="ULN", grade_3="Steroids")
    url = reverse("api:crf-adverse-event-list")
    api.as_(casebooks.coordinator)
    body = {"patient": casebooks.cast.patient_a.subject_id, "term": "Eosinophilia", "onset_date": "2025-05-01"}
    response = api.post(url, {**body, "grade": 2})
    assert response.status_code == 400 and list(response.json()) == ["grade"]
    assert "does not exist in CTCAE" in response.json()["grade"][0]
    assert api.post(url, {**body, "term": "Unheard of", "grade": 1}).json().keys() == {"term"}
    response = api.post(url, {**body, "grade": 3})
    assert response.status_code == 201, response.content
    assert AdverseEvent.objects.get().term.term == "Eosinophilia"


def test_warnings_come_back_and_become_queries_on_a_complete_form(api: Api, casebooks: Casebooks) -> None:
    url = reverse("api:crf-survival-status-list")
    contact = {"patient": casebooks.cast.patient_a.subject_id, "contact_date": "2025-06-01", "vital_status": "dead"}
    api.as_(casebooks.coordinator)
    draft = api.post(url, {**contact, "method": "phone"})
    assert draft.status_code == 201
    assert [w["code"] for w in draft.json()["warnings"]] == []  # the rule speaks when completing
    response = api.post(url, {**contact, "method": "records", "complete": True})
    assert response.status_code == 201, response.content
    assert [(w["field"], w["code"]) for w in response.json()["warnings"]] == [("vital_status", "death_record_expected")]
    record = SurvivalStatusContact.objects.get(pk=response.json()["id"])
    query = Query.objects.get(object_id=record.pk, check_code__startswith="check:")
    assert (query.field_name, query.status) == ("vital_status", "open")


def test_eligibility_and_randomisation_forms_do_what_their_screens_do(api: Api, casebooks: Casebooks) -> None:
    """The checklist takes the investigator's confirmation; a complete randomisation form enrols the patient."""
    cast = casebooks.cast
    patient = services.patient_register(
        user=casebooks.coordinator,
        trial=cast.avatar2,
        site=cast.site_a,
        screening_number="SCR-E",
        age_at_consent=50,
        sex="F",
        consent_date=date(2025, 1, 6),
    )
    for code, on in (("screening", date(2025, 1, 8)), ("enrolment", date(2025, 2, 3))):
        services.visit_record(
            user=casebooks.coordinator,
            patient=patient,
            definition=cast.avatar2.visit_definitions.get(code=code),
            occurrence=1,
            status="done",
            visit_date=on,
        )
    from patients.crfs.enrolment import AvatarEligibility

    criteria = {name: True for name in AvatarEligibility.INCLUSION} | {n: False for n in AvatarEligibility.EXCLUSION}
    checklist = {"patient": patient.subject_id, "visit_code": "screening", "complete": True, **criteria}
    url = reverse("api:crf-eligibility-avatar2-list")
    refused = api.as_(casebooks.coordinator).post(url, {**checklist, "investigator_confirmation": True})
    assert refused.status_code == 400 and list(refused.json()) == ["investigator_confirmation"]
    assert not AvatarEligibility.objects.filter(patient=patient).exists()
    confirmed = api.as_(cast.user(Role.INVESTIGATOR)).post(url, {**checklist, "investigator_confirmation": True})
    assert confirmed.status_code == 201, confirmed.content
    assert (confirmed.json()["confirmed_by"], confirmed.json()["eligible"]) == (Role.INVESTIGATOR.value, True)
    randomisation = {
        "patient": patient.subject_id,
        "visit_code": "enrolment",
        "complete": True,
        "randomisation_date": "2025-02-03",
        "endocrine_partner": "ai",
        "oligo_lesions": "1",
    }
    response = api.as_(casebooks.coordinator).post(reverse("api:crf-randomisation-list"), randomisation)
    assert response.status_code == 201, response.content
    patient.refresh_from_db()
    assert (patient.status, patient.enrolment_date) == ("on_study", date(2025, 2, 3))


# Who may write ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MONITOR, Role.DATA_MANAGER, Role.STATISTICIAN, Role.SPONSOR_ADMIN])
def test_readers_without_the_right_to_edit_get_403_on_post_and_404_on_patch(
    api: Api, casebooks: Casebooks, role: str
) -> None:
    api.as_(casebooks.cast.user(role))
    body = {"patient": casebooks.cast.patient_a.subject_id, "visit_code": "screening", "ecog": 0}
    assert api.post(DEMOGRAPHICS, body).status_code == 403
    assert api.patch(_detail(casebooks.demographics_a), {"version": 1, "ecog": 0}).status_code == 404
    assert (Demographics.objects.count(), _fresh(casebooks.demographics_a).ecog) == (2, 1)


def test_the_trial_manager_gets_404_on_every_write(api: Api, casebooks: Casebooks) -> None:
    api.as_(casebooks.cast.user(Role.TRIAL_MANAGER))
    assert api.post(DEMOGRAPHICS, {"patient": casebooks.cast.patient_a.subject_id}).status_code == 404
    assert api.patch(_detail(casebooks.demographics_a), {"version": 1, "ecog": 0}).status_code == 404


def test_a_coordinator_cannot_write_another_sites_record(api: Api, casebooks: Casebooks) -> None:
    response = api.as_(casebooks.coordinator).patch(_detail(casebooks.demographics_b), {"version": 1, "ecog": 3})
    assert response.status_code == 404
    assert _fresh(casebooks.demographics_b).ecog == 1


def test_records_are_never_deleted_and_put_is_not_offered(api: Api, casebooks: Casebooks) -> None:
    api.as_(casebooks.coordinator)
    url = _detail(casebooks.demographics_a)
    assert api.client.delete(url).status_code == 405
    assert api.client.put(url, "{}", content_type="application/json").status_code == 405
    assert Demographics.objects.filter(pk=casebooks.demographics_a.pk).exists()
