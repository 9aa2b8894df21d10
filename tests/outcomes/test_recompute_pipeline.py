"""Live recompute wiring: the changed-data event, once per patient per commit, and the repairing sweep."""

from datetime import date
from typing import Any
from unittest import mock

import pytest
from django.db import transaction

from outcomes import services
from outcomes.models import PatientDerivation
from patients import services as patient_services
from patients.events import notify_patient_data_changed, patient_data_changed

from ..conftest import Cast


@pytest.fixture
def sent(cast: Cast) -> Any:
    received: list[int] = []

    def receiver(sender: Any, patient_id: int, **kwargs: Any) -> None:
        received.append(patient_id)

    patient_data_changed.connect(receiver, dispatch_uid="test_receiver")
    yield received
    patient_data_changed.disconnect(dispatch_uid="test_receiver")


def test_many_writes_in_one_transaction_send_one_event_per_patient(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for _ in range(5):
            notify_patient_data_changed(cast.patient_a.pk)
        notify_patient_data_changed(cast.patient_b.pk)
        assert sent == []  # nothing before the commit
    assert sorted(sent) == sorted([cast.patient_a.pk, cast.patient_b.pk])


def test_a_rolled_back_transaction_sends_nothing(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                notify_patient_data_changed(cast.patient_a.pk)
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    assert sent == []


def test_a_rolled_back_savepoint_drops_only_its_own_changes(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                notify_patient_data_changed(cast.patient_a.pk)
                raise RuntimeError("inner")
        except RuntimeError:
            pass
        notify_patient_data_changed(cast.patient_b.pk)
    assert sent == [cast.patient_b.pk]


def test_registering_a_patient_computes_its_derivation_after_commit(
    cast: Cast, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        patient = patient_services.patient_register(
            user=coordinator,
            trial=cast.cosmo,
            site=cast.site_a,
            screening_number="S-9",
            age_at_consent=50,
            sex="F",
            consent_date=date(2025, 5, 5),
        )
    derivation = PatientDerivation.objects.get(patient=patient)
    assert derivation.values["follow_up"]["last_known_alive"] == "2025-05-05"
    assert derivation.settings_version == 1
    assert derivation.algorithm_version == services.ALGORITHM_VERSION


def test_recomputing_unchanged_data_changes_nothing(cast: Cast) -> None:
    first = services.endpoints_recompute_for_patient(patient_id=cast.patient_a.pk)
    second = services.endpoints_recompute_for_patient(patient_id=cast.patient_a.pk)
    assert first is not None and second is not None
    assert (second.computed_at, second.input_hash) == (first.computed_at, first.input_hash)
    assert PatientDerivation.objects.count() == 1


def test_an_edit_changes_the_input_hash_and_the_values(cast: Cast, coordinator: Any) -> None:
    before = services.endpoints_recompute_for_patient(patient_id=cast.patient_a.pk)
    patient_services.patient_update(
        user=coordinator,
        patient=cast.patient_a,
        expected_version=cast.patient_a.version,
        reason="Randomisation date corrected",
        enrolment_date=date(2025, 4, 1),
    )
    after = services.endpoints_recompute_for_patient(patient_id=cast.patient_a.pk)
    assert before is not None and after is not None
    assert after.input_hash != before.input_hash
    assert after.values["follow_up"]["origin_date"] == "2025-04-01"


def test_the_sweep_repairs_missing_and_stale_derivations(cast: Cast) -> None:
    services.endpoints_recompute_for_patient(patient_id=cast.patient_a.pk)
    PatientDerivation.objects.filter(patient=cast.patient_a).update(input_hash="stale")
    assert services.consistency_sweep() == {"checked": 2, "repaired": 2}  # a: stale, b: never computed
    assert services.consistency_sweep() == {"checked": 2, "repaired": 0}
    assert PatientDerivation.objects.get(patient=cast.patient_a).input_hash != "stale"


def test_a_broker_failure_never_fails_the_save(
    cast: Cast, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    broker_down = mock.patch(
        "outcomes.tasks.endpoints_recompute_for_patient.delay", side_effect=ConnectionError("broker down")
    )
    with broker_down, django_capture_on_commit_callbacks(execute=True):
        patient = patient_services.patient_register(
            user=coordinator,
            trial=cast.cosmo,
            site=cast.site_a,
            screening_number="S-10",
            age_at_consent=50,
            sex="F",
            consent_date=date(2025, 5, 5),
        )
    assert patient.pk is not None
    assert not PatientDerivation.objects.filter(patient=patient).exists()
    services.consistency_sweep()
    assert PatientDerivation.objects.filter(patient=patient).exists()
