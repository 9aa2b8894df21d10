"""Locks and the trial's data state (issue 8): locked data refuse writes everywhere with a clear message; a frozen
trial refuses data entry but not queries; only a sponsor admin unlocks the trial, with a reason."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from lesions.models import LocalAblativeTreatment
from lesions.services import assessments_sync_computed, lesion_save, local_treatment_save
from outcomes.services.patients import endpoints_recompute_for_patient
from patients import services
from patients.casebook import CellStatus, build_casebook
from patients.locking import DataLocked
from patients.models import Allocation, Demographics, Lock, Query
from patients.services.locks import (
    lock_form,
    lock_patient,
    lock_release,
    lock_site,
    trial_freeze,
    trial_lock,
    trial_unlock,
)
from patients.services.oversight import sdv_verify_form, signature_sign
from patients.services.randomisation import randomise
from trials.audit import MissingReasonForChange
from trials.models import Role, TrialDataState

from ...browser.conftest import PASSWORD
from ...conftest import Cast
from ...scenarios import Scenario, patient_ready_for_allocation, scenario_allocation_list
from .conftest import VALUES, change


def web_form(record: Demographics, **values: Any) -> dict[str, Any]:
    return {**VALUES, **values, "version": record.version, "reason": "Corrected against the source", "complete": "1"}


def ecog(record: Demographics) -> int | None:
    return Demographics.objects.get(pk=record.pk).ecog


# Form, patient and site locks ---------------------------------------------------------------------------------


def test_a_locked_form_refuses_service_writes(cast: Cast, demographics: Demographics) -> None:
    lock_form(user=cast.user(Role.DATA_MANAGER), record=demographics, reason="Clean: all queries closed")
    with pytest.raises(DataLocked, match=r"This Demographics & baseline form is locked .*read-only"):
        change(cast, demographics, reason="Late correction", ecog=3)
    assert ecog(demographics) == 1
    with pytest.raises(DataLocked):  # a locked form is read-only: no new queries either
        services.query_raise(user=cast.user(Role.MONITOR), record=demographics, text="ECOG?")


def test_a_locked_form_refuses_a_web_post_with_its_message(client: Any, cast: Cast, demographics: Demographics) -> None:
    lock_form(user=cast.user(Role.DATA_MANAGER), record=demographics)
    client.force_login(cast.user(Role.SITE_COORDINATOR))
    url = reverse(
        "patients:crf_edit",
        kwargs={"subject_id": cast.patient_a.subject_id, "code": "demographics", "pk": demographics.pk},
    )
    page = client.get(url)
    assert 'id="record-refusal"' in page.content.decode()
    assert "Save correction" not in page.content.decode()  # the save buttons are gone
    response = client.post(url, web_form(demographics, ecog=3))
    assert response.status_code == 200
    assert "is locked" in str(response.context["form"].non_field_errors())
    assert ecog(demographics) == 1


def test_unlocking_needs_a_reason_and_reopens_the_form(cast: Cast, demographics: Demographics) -> None:
    manager = cast.user(Role.DATA_MANAGER)
    lock = lock_form(user=manager, record=demographics)
    with pytest.raises(ValidationError, match="already locked"):
        lock_form(user=manager, record=demographics)
    with pytest.raises(MissingReasonForChange):
        lock_release(user=manager, lock=lock, reason=" ")
    with pytest.raises(Http404):  # a monitor cannot lock or unlock
        lock_release(user=cast.user(Role.MONITOR), lock=lock, reason="Reopen")
    released = lock_release(user=manager, lock=lock, reason="Query 12 reopened the form")
    assert released.unlocked_by == manager
    assert released.history.latest().history_change_reason == "Unlocked: Query 12 reopened the form"
    change(cast, demographics, reason="Correction after the query", ecog=2)
    assert ecog(demographics) == 2


def test_a_patient_lock_refuses_every_write_to_the_casebook(
    cast: Cast, demographics: Demographics, demographics_b: Demographics
) -> None:
    lock_patient(user=cast.user(Role.DATA_MANAGER), patient=cast.patient_a, reason="Casebook clean")
    coordinator = cast.user(Role.SITE_COORDINATOR)
    patient = cast.patient_a
    patient.refresh_from_db()
    refused = [
        lambda: change(cast, demographics, reason="x", ecog=2),
        lambda: services.visit_record(
            user=coordinator,
            patient=patient,
            definition=patient.trial.visit_definitions.get(code="follow-up"),
            occurrence=1,
            status="missed",
            missed_reason="Patient in hospital",
        ),
        lambda: services.patient_update(
            user=coordinator, patient=patient, expected_version=patient.version, reason="x", age_at_consent=60
        ),
        lambda: services.query_raise(user=cast.user(Role.MONITOR), record=demographics, text="?"),
        lambda: sdv_verify_form(user=cast.user(Role.MONITOR), record=demographics),
        lambda: signature_sign(user=cast.user(Role.INVESTIGATOR), patient=patient, password=PASSWORD),
    ]
    for write in refused:
        with pytest.raises(DataLocked, match=f"The casebook of {patient.subject_id} is locked"):
            write()
    change(cast, demographics_b, reason="Other patient: not locked", ecog=2)
    assert ecog(demographics_b) == 2
    cells = [c for row in build_casebook(patient=patient, today=timezone.localdate()).rows for c in row.cells if c]
    assert {c.status for c in cells if c.record is not None} == {CellStatus.LOCKED}


def test_a_site_lock_refuses_the_sites_data_and_new_patients(
    cast: Cast, demographics: Demographics, demographics_b: Demographics
) -> None:
    manager = cast.user(Role.DATA_MANAGER)
    lock = lock_site(user=manager, trial=cast.avatar2, site=cast.site_a, reason="Site close-out")
    with pytest.raises(DataLocked, match="Site NL01's data in this trial are locked"):
        change(cast, demographics, reason="x", ecog=2)
    with pytest.raises(DataLocked):
        services.patient_register(
            user=cast.user(Role.SITE_COORDINATOR),
            trial=cast.avatar2,
            site=cast.site_a,
            screening_number="NEW-1",
            age_at_consent=50,
            sex="F",
            consent_date=date(2025, 4, 1),
        )
    change(cast, demographics_b, reason="Site B is open", ecog=2)  # another site
    cosmo = patient_ready_for_allocation(cast, trial="cosmo", screening_number="C-1")  # another trial, same site
    assert cosmo.site == cast.site_a
    lock_release(user=manager, lock=lock, reason="Close-out postponed")
    change(cast, demographics, reason="Site reopened", ecog=2)
    assert ecog(demographics) == 2


def test_the_lesion_services_refuse_locked_data(cast: Cast) -> None:
    scenario = Scenario(cast)
    manager = cast.user(Role.DATA_MANAGER)
    lock_form(user=manager, record=scenario.non_target, reason="Lesion register clean")
    target = type(scenario.non_target).objects.get(pk=scenario.non_target.pk)
    with pytest.raises(DataLocked):
        lesion_save(
            user=scenario.user,
            patient=scenario.patient,
            values={"oligoprogressive": True},
            complete=True,
            instance=target,
            reason="x",
        )
    treatment_visit = scenario._visit("lat", 1, date(2025, 2, 20))
    with pytest.raises(DataLocked):  # treating the lesion would change the locked register row
        local_treatment_save(
            user=scenario.user,
            patient=scenario.patient,
            visit=treatment_visit,
            values={"lesion": target, "modality": "surgery", "start_date": date(2025, 2, 20)},
            complete=False,
        )
    assert not LocalAblativeTreatment.objects.exists()
    assert not type(target).objects.get(pk=target.pk).locally_treated


def test_derived_values_are_still_recomputed_when_locked(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    trial_lock(user=cast.user(Role.SPONSOR_ADMIN), trial=cast.cosmo, reason="Database lock")
    assessments_sync_computed(patient=scenario.patient)
    derivation, _ = endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    assert derivation is not None


# The trial's data state -----------------------------------------------------------------------------------------


def test_a_frozen_trial_refuses_entry_but_takes_queries(cast: Cast, demographics: Demographics) -> None:
    trial_freeze(user=cast.user(Role.DATA_MANAGER), trial=cast.avatar2, reason="Interim analysis freeze")
    coordinator = cast.user(Role.SITE_COORDINATOR)
    with pytest.raises(DataLocked, match="AVATAR II is frozen: no data can be entered or changed"):
        change(cast, demographics, reason="x", ecog=2)
    with pytest.raises(DataLocked, match="frozen"):
        services.visit_record(
            user=coordinator,
            patient=cast.patient_a,
            definition=cast.avatar2.visit_definitions.get(code="follow-up"),
            occurrence=1,
            status="missed",
            missed_reason="x",
        )
    query = services.query_raise(user=cast.user(Role.MONITOR), record=demographics, field_name="ecog", text="ECOG?")
    services.query_answer(user=coordinator, query=query, text="ECOG 1 per the clinic letter")
    services.query_close(user=cast.user(Role.MONITOR), query=query)
    assert Query.objects.get(pk=query.pk).status == "closed"
    sdv_verify_form(user=cast.user(Role.MONITOR), record=demographics)  # review goes on
    signature_sign(user=cast.user(Role.INVESTIGATOR), patient=cast.patient_a, password=PASSWORD)
    assert ecog(demographics) == 1


def test_a_frozen_trial_refuses_randomisation(cast: Cast) -> None:
    scenario_allocation_list(cast)
    patient = patient_ready_for_allocation(cast)
    trial_freeze(user=cast.user(Role.DATA_MANAGER), trial=cast.avatar2)
    with pytest.raises(DataLocked, match="frozen"):
        randomise(user=cast.user(Role.INVESTIGATOR), patient=patient)
    assert not Allocation.objects.filter(patient=patient).exists()


def test_a_locked_trial_refuses_queries_too(cast: Cast, demographics: Demographics) -> None:
    query = services.query_raise(user=cast.user(Role.MONITOR), record=demographics, text="Please check")
    trial_lock(user=cast.user(Role.SPONSOR_ADMIN), trial=cast.avatar2, reason="Final database lock")
    message = "AVATAR II is locked: its data are read-only"
    with pytest.raises(DataLocked, match=message):
        services.query_raise(user=cast.user(Role.MONITOR), record=demographics, text="Another question")
    with pytest.raises(DataLocked, match=message):
        services.query_answer(user=cast.user(Role.SITE_COORDINATOR), query=query, text="Answer")
    with pytest.raises(DataLocked, match=message):
        change(cast, demographics, reason="x", ecog=2)
    with pytest.raises(DataLocked, match=message):
        signature_sign(user=cast.user(Role.INVESTIGATOR), patient=cast.patient_a, password=PASSWORD)
    assert Query.objects.count() == 1


def test_only_a_sponsor_admin_locks_and_unlocks_the_trial_with_a_reason(cast: Cast) -> None:
    manager, admin = cast.user(Role.DATA_MANAGER), cast.user(Role.SPONSOR_ADMIN)
    trial = cast.avatar2
    with pytest.raises(Http404):
        trial_lock(user=manager, trial=trial)
    trial_freeze(user=manager, trial=trial, reason="Data review")
    with pytest.raises(Http404):  # the data manager cannot reopen it
        trial_unlock(user=manager, trial=trial, reason="Reopen")
    trial_lock(user=admin, trial=trial, reason="Database lock")
    assert type(trial).objects.get(pk=trial.pk).data_state == TrialDataState.LOCKED
    for role in (Role.DATA_MANAGER, Role.INVESTIGATOR, Role.STATISTICIAN):
        with pytest.raises(Http404):
            trial_unlock(user=cast.user(role), trial=trial, reason="Reopen")
    with pytest.raises(MissingReasonForChange):
        trial_unlock(user=admin, trial=trial, reason="")
    trial_unlock(user=admin, trial=trial, reason="Unblinding error found in AE coding")
    stored = type(trial).objects.get(pk=trial.pk)
    assert stored.data_state == TrialDataState.OPEN
    latest = stored.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (
        admin,
        "Unlocked: Unblinding error found in AE coding",
    )


def test_the_data_state_screen(client: Any, cast: Cast) -> None:
    url = reverse("patients:trial_data_state", kwargs={"code": cast.avatar2.code})
    client.force_login(cast.user(Role.DATA_MANAGER))
    page = client.get(url)
    assert [c[0] for c in page.context["form"].fields["action"].choices] == ["freeze"]
    assert client.post(url, {"action": "freeze", "reason": "Interim"}).status_code == 302
    client.force_login(cast.user(Role.SPONSOR_ADMIN))
    refused = client.post(url, {"action": "unlock", "reason": ""})
    assert refused.status_code == 200
    assert "A reason for change is required" in refused.content.decode()
    assert client.post(url, {"action": "lock", "reason": "Final"}).status_code == 302
    assert type(cast.avatar2).objects.get(pk=cast.avatar2.pk).data_state == TrialDataState.LOCKED
    history = client.get(url).context["changes"]
    assert [(c.state, c.who) for c in history] == [("Locked", "sponsor_admin"), ("Frozen", "data_manager")]


def test_the_lock_screens(client: Any, cast: Cast, demographics: Demographics) -> None:
    client.force_login(cast.user(Role.DATA_MANAGER))
    url = reverse(
        "patients:crf_lock",
        kwargs={"subject_id": cast.patient_a.subject_id, "code": "demographics", "pk": demographics.pk},
    )
    assert client.post(url, {"reason": "Clean"}).status_code == 302
    assert Lock.objects.get().is_active
    refused = client.post(url, {"reason": ""})  # unlocking without a reason
    assert refused.status_code == 200 and Lock.objects.get().is_active
    assert client.post(url, {"reason": "Reopened for query 3"}).status_code == 302
    assert not Lock.objects.get().is_active
    site_url = reverse("patients:site_lock", kwargs={"code": cast.avatar2.code, "site_code": "BE01"})
    assert client.post(site_url, {"reason": "Close-out"}).status_code == 302
    assert Lock.objects.filter(scope="site", site=cast.site_b, unlocked_at__isnull=True).exists()
