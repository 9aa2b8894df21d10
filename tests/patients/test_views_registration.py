from datetime import date, timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from patients.models import Patient

from ..conftest import Cast


def _valid(cast: Cast, **overrides: Any) -> dict[str, Any]:
    data = {
        "trial": cast.avatar2.pk,
        "site": cast.site_a.pk,
        "screening_number": "SCR-100",
        "age_at_consent": 61,
        "sex": "F",
        "consent_date": "2025-06-02",
    }
    data.update(overrides)
    return data


def test_it_registers_a_patient_with_the_next_subject_id(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.post(reverse("patients:register"), _valid(cast))
    patient = Patient.objects.get(screening_number="SCR-100")
    assert patient.subject_id == "AVT2-NL01-0002"  # the cast's patient at NL01 holds 0001
    assert response.status_code == 302
    assert response.url == reverse("patients:detail", kwargs={"subject_id": "AVT2-NL01-0002"})
    record = patient.history.get()
    assert record.history_user == coordinator
    assert record.history_type == "+"


def test_numbering_is_per_trial_and_site(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    client.post(reverse("patients:register"), _valid(cast, trial=cast.cosmo.pk))
    assert Patient.objects.get(screening_number="SCR-100").subject_id == "COSMO-NL01-0001"


def test_bad_input_gives_field_errors_and_saves_nothing(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    before = Patient.objects.count()
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(
        reverse("patients:register"),
        _valid(cast, screening_number="Jane Doe", age_at_consent=12, consent_date=future, sex="X"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["screening_number"] == ["Letters, digits and hyphens only (no names)."]
    assert "age_at_consent" in errors
    assert "sex" in errors
    assert Patient.objects.count() == before


def test_a_future_consent_date_is_refused_by_the_service(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(reverse("patients:register"), _valid(cast, consent_date=future))
    assert response.context["form"].errors["consent_date"] == ["The consent date cannot be in the future."]
    assert not Patient.objects.filter(screening_number="SCR-100").exists()


def test_consent_before_site_activation_is_refused(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.post(reverse("patients:register"), _valid(cast, consent_date=date(2023, 12, 1).isoformat()))
    assert "was not activated" in response.context["form"].errors["consent_date"][0]
    assert not Patient.objects.filter(screening_number="SCR-100").exists()


def test_a_duplicate_screening_number_is_refused(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.post(reverse("patients:register"), _valid(cast, screening_number=cast.patient_a.screening_number))
    assert response.context["form"].errors["screening_number"] == [
        "This screening number is already registered at this site."
    ]


def test_it_rejects_other_site(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.post(reverse("patients:register"), _valid(cast, site=cast.site_b.pk))
    assert "site" in response.context["form"].errors
    assert not Patient.objects.filter(screening_number="SCR-100").exists()
