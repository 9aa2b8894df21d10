"""Live recompute wiring: the changed-data event, once per patient per commit, the task dedup, and the sweep."""

from datetime import date, timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import transaction

from outcomes import services, tasks
from outcomes.models import EndpointValue, PatientDerivation, TrialSummary
from patients import services as patient_services
from patients.events import notify_patient_data_changed, patient_data_changed, paused

from ..conftest import Cast
from ..scenarios import Scenario


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


def test_paused_events_send_nothing(cast: Cast, sent: list[int]) -> None:
    with paused():
        notify_patient_data_changed(cast.patient_a.pk)
    assert sent == []


def test_a_second_request_while_one_waits_is_dropped_and_a_later_one_runs(cast: Cast) -> None:
    cache.clear()
    with mock.patch.object(tasks.endpoints_recompute_for_patient, "delay") as delay:
        tasks.enqueue_patient_recompute(cast.patient_a.pk)
        tasks.enqueue_patient_recompute(cast.patient_a.pk)
        assert delay.call_count == 1
        cache.delete(tasks._patient_key(cast.patient_a.pk))  # what the task does when it starts
        tasks.enqueue_patient_recompute(cast.patient_a.pk)
        assert delay.call_count == 2


def test_a_registration_is_recomputed_after_commit(
    cast: Cast, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    cache.clear()
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
    assert derivation.values["not_computable"] == "Not yet registered or randomised."
    assert derivation.settings_version == 1
    assert derivation.algorithm_version == services.ALGORITHM_VERSION


def test_recomputing_unchanged_data_changes_nothing(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    scenario.assessment(84, 38, investigator="SD")
    first, _ = services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    rows = list(EndpointValue.objects.filter(patient=scenario.patient).values())
    second, changed_again = services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    assert first is not None and second is not None
    assert (second.computed_at, second.input_hash) == (first.computed_at, first.input_hash)
    assert changed_again is False
    assert list(EndpointValue.objects.filter(patient=scenario.patient).values()) == rows


def test_the_sweep_repairs_missing_and_stale_derivations(cast: Cast) -> None:
    scenario = Scenario(cast)
    PatientDerivation.objects.all().delete()
    services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    PatientDerivation.objects.filter(patient=scenario.patient).update(input_hash="stale")
    result = services.consistency_sweep()
    assert result["checked"] == 3  # the cast's two patients (never computed) and the stale one
    assert result["repaired"] == 3
    assert services.consistency_sweep()["repaired"] == 0
    assert PatientDerivation.objects.get(patient=scenario.patient).input_hash != "stale"


def test_a_broker_failure_never_fails_the_save(
    cast: Cast, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    cache.clear()
    broker_down = mock.patch.object(
        tasks.endpoints_recompute_for_patient, "delay", side_effect=ConnectionError("broker down")
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
    assert cache.get(tasks._patient_key(patient.pk)) is None  # the next change may try again
    services.consistency_sweep()
    assert PatientDerivation.objects.filter(patient=patient).exists()


def test_trial_summaries_follow_a_patient_recompute(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        scenario = Scenario(cast)
        scenario.baseline()
    with django_capture_on_commit_callbacks(execute=True):
        scenario.assessment(84, 60, investigator="PD")
    summary = TrialSummary.objects.get(trial=cast.cosmo, key="PFS:overall")
    assert summary.data["overall"]["events"] == 1
    assert summary.settings_version == 1


def test_changing_a_setting_recomputes_everything(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    from trials import services as trial_services
    from trials.models import Role

    scenario = Scenario(cast)
    scenario.baseline()
    scenario.assessment(84, 38, investigator="SD")
    services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    with django_capture_on_commit_callbacks(execute=True):
        trial_services.analysis_settings_change(
            trial=cast.cosmo,
            user=cast.user(Role.STATISTICIAN),
            reason="Cut-off for the DMC",
            values={"data_cutoff_date": scenario.origin + timedelta(days=30)},
        )
    pfs = EndpointValue.objects.get(patient=scenario.patient, paramcd="PFS")
    assert pfs.settings_version == 2
    assert pfs.end_date <= scenario.origin + timedelta(days=30)


def test_the_statisticians_summary_page_shows_the_precomputed_figures(
    client: Any, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    from django.urls import reverse

    from trials.models import Role

    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        scenario = Scenario(cast)
        scenario.baseline()
    with django_capture_on_commit_callbacks(execute=True):
        scenario.assessment(84, 60, investigator="PD")
    client.force_login(cast.user(Role.STATISTICIAN))
    response = client.get(reverse("outcomes:summaries", kwargs={"code": "cosmo"}))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="summary-pfsoverall"' in page and 'id="summary-safety-qol"' in page
    section = next(s for s in response.context["sections"] if s["key"] == "PFS:overall")
    assert section["summary"].data["overall"]["events"] == 1
