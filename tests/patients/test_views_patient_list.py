from typing import Any

from django.urls import reverse

from trials.models import Role

from ..conftest import Cast
from ..factories import PatientFactory


def _subjects(response: Any) -> list[str]:
    return [p.subject_id for p in response.context["page"]]


def test_a_site_user_sees_only_own_site_patients(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.get(reverse("patients:list"))
    assert _subjects(response) == [cast.patient_a.subject_id]
    assert cast.patient_b.subject_id not in response.content.decode()


def test_an_all_site_role_sees_every_site(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.DATA_MANAGER))
    assert sorted(_subjects(client.get(reverse("patients:list")))) == sorted(
        [cast.patient_a.subject_id, cast.patient_b.subject_id]
    )


def test_it_filters_by_trial_status_and_search(client: Any, cast: Cast) -> None:
    screening = PatientFactory(trial=cast.cosmo, site=cast.site_a, sequence=1, status="screening", enrolment_date=None)
    client.force_login(cast.user(Role.DATA_MANAGER))
    assert _subjects(client.get(reverse("patients:list"), {"trial": "cosmo"})) == [screening.subject_id]
    assert _subjects(client.get(reverse("patients:list"), {"status": "screening"})) == [screening.subject_id]
    assert _subjects(client.get(reverse("patients:list"), {"q": "BE01"})) == [cast.patient_b.subject_id]


def test_searching_another_sites_subject_id_finds_nothing(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    assert _subjects(client.get(reverse("patients:list"), {"q": cast.patient_b.subject_id})) == []
