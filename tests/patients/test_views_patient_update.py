from datetime import date
from typing import Any

from django.urls import reverse

from patients.models import Patient, PatientStatus

from ..conftest import Cast


def _form(patient: Patient, **overrides: Any) -> dict[str, Any]:
    data = {
        "screening_number": patient.screening_number,
        "age_at_consent": patient.age_at_consent,
        "sex": patient.sex,
        "consent_date": patient.consent_date.isoformat(),
        "enrolment_date": patient.enrolment_date.isoformat() if patient.enrolment_date else "",
        "status": patient.status,
        "version": patient.version,
        "reason": "Transcription error corrected against the source",
    }
    data.update(overrides)
    return data


def _url(patient: Patient) -> str:
    return reverse("patients:update", kwargs={"subject_id": patient.subject_id})


def test_an_edit_with_a_reason_is_saved_and_audited(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.post(_url(cast.patient_a), _form(cast.patient_a, age_at_consent=59))
    assert response.status_code == 302
    patient = Patient.objects.get(pk=cast.patient_a.pk)
    assert patient.age_at_consent == 59
    latest = patient.history.latest()
    assert latest.history_change_reason == "Transcription error corrected against the source"
    assert latest.history_user == coordinator
    change = latest.diff_against(latest.prev_record).changes
    assert [(c.field, c.old, c.new) for c in change if c.field == "age_at_consent"] == [("age_at_consent", 58, 59)]


def test_an_edit_without_a_reason_is_refused(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.post(_url(cast.patient_a), _form(cast.patient_a, age_at_consent=59, reason="  "))
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["A reason for change is required when editing a saved record."]
    assert Patient.objects.get(pk=cast.patient_a.pk).age_at_consent == 58


def test_the_second_of_two_concurrent_edits_is_refused_and_the_first_kept(
    client: Any, cast: Cast, coordinator: Any
) -> None:
    client.force_login(coordinator)
    opened_at = cast.patient_a.version
    first = client.post(_url(cast.patient_a), _form(cast.patient_a, age_at_consent=59, version=opened_at))
    second = client.post(_url(cast.patient_a), _form(cast.patient_a, age_at_consent=70, version=opened_at))
    assert first.status_code == 302
    assert second.status_code == 200
    assert "changed by someone else while you were editing" in str(second.context["form"].non_field_errors())
    assert Patient.objects.get(pk=cast.patient_a.pk).age_at_consent == 59


def test_enrolment_before_consent_is_refused(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.post(_url(cast.patient_a), _form(cast.patient_a, enrolment_date=date(2025, 2, 1).isoformat()))
    assert response.context["form"].errors["enrolment_date"] == ["Enrolment cannot be before consent."]


def test_on_study_needs_an_enrolment_date(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.post(
        _url(cast.patient_a), _form(cast.patient_a, enrolment_date="", status=PatientStatus.ON_STUDY)
    )
    assert "must have an enrolment date" in response.context["form"].errors["enrolment_date"][0]


def test_a_coordinator_of_site_a_gets_404_for_a_site_b_patient(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    assert client.get(reverse("patients:detail", kwargs={"subject_id": cast.patient_b.subject_id})).status_code == 404
    assert client.post(_url(cast.patient_b), _form(cast.patient_b, age_at_consent=40)).status_code == 404
    assert Patient.objects.get(pk=cast.patient_b.pk).age_at_consent == 58
