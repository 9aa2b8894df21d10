"""Source data verification (issue 8): a monitor verifies forms or single fields; a change clears what it touched."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from lesions.models import AssessmentRows, NonTargetRow, TargetRow
from lesions.services import tumour_assessment_save
from patients import services
from patients.casebook import CellStatus, build_casebook
from patients.models import Demographics, FieldVerification
from patients.oversight_content import record_items
from patients.selectors_oversight import patient_sdv, record_oversight, sdv_progress
from patients.services.oversight import sdv_verify_fields, sdv_verify_form
from trials.models import Role

from ...conftest import Cast
from ...factories import PatientFactory
from ...scenarios import Scenario
from .conftest import change, complete_demographics, screening


def states(cast: Cast, record: Any) -> dict[str, str]:
    return {i.item.name: i.state for i in record_oversight(user=cast.user(Role.MONITOR), record=record).items}


def demographics_cell(cast: Cast, record: Demographics) -> Any:
    casebook = build_casebook(patient=record.patient, today=timezone.localdate())
    cells = [c for row in casebook.rows for c in row.cells if c is not None and c.record is not None]
    return next(c for c in cells if c.record.pk == record.pk and isinstance(c.record, Demographics))


def test_a_monitor_verifies_single_fields(cast: Cast, demographics: Demographics) -> None:
    made = sdv_verify_fields(user=cast.user(Role.MONITOR), record=demographics, fields=["ecog", "menopausal_status"])
    assert {v.field_name for v in made} == {"ecog", "menopausal_status"}
    assert states(cast, demographics) == {
        "ecog": "verified",
        "menopausal_status": "verified",
        "primary_diagnosis_date": "unverified",
        "metastatic_diagnosis_date": "unverified",
    }
    assert demographics_cell(cast, demographics).status == CellStatus.COMPLETE  # not every field yet


def test_a_verified_form_shows_verified_on_the_casebook(cast: Cast, demographics: Demographics) -> None:
    sdv_verify_form(user=cast.user(Role.MONITOR), record=demographics)
    assert set(states(cast, demographics).values()) == {"verified"}
    assert demographics_cell(cast, demographics).status == CellStatus.VERIFIED


def test_a_change_clears_the_changed_fields_verification_only(cast: Cast, demographics: Demographics) -> None:
    monitor = cast.user(Role.MONITOR)
    sdv_verify_form(user=monitor, record=demographics)
    change(cast, demographics, reason="ECOG 2 in the clinic letter", ecog=2)

    assert states(cast, demographics) == {
        "ecog": "reverify",
        "menopausal_status": "verified",
        "primary_diagnosis_date": "verified",
        "metastatic_diagnosis_date": "verified",
    }
    cleared = FieldVerification.objects.get(object_id=demographics.pk, field_name="ecog")
    assert cleared.cleared_at is not None
    assert cleared.cleared_by == cast.user(Role.SITE_COORDINATOR)
    assert "ECOG 2 in the clinic letter" in cleared.cleared_reason
    audit = cleared.history.latest()
    assert audit.history_user == cast.user(Role.SITE_COORDINATOR)
    assert "ECOG 2 in the clinic letter" in audit.history_change_reason
    cell = demographics_cell(cast, demographics)
    assert cell.status == CellStatus.COMPLETE
    assert "reverify" in cell.flags
    assert patient_sdv(user=monitor, patient=demographics.patient).items_to_reverify == 1

    sdv_verify_fields(user=monitor, record=demographics, fields=["ecog"])  # verified again: a new row
    assert set(states(cast, demographics).values()) == {"verified"}
    assert FieldVerification.objects.filter(object_id=demographics.pk, field_name="ecog").count() == 2
    assert patient_sdv(user=monitor, patient=demographics.patient).items_to_reverify == 0


def test_a_save_that_changes_nothing_keeps_the_verifications(cast: Cast, demographics: Demographics) -> None:
    sdv_verify_form(user=cast.user(Role.MONITOR), record=demographics)
    change(cast, demographics, reason="Re-checked, no change", ecog=demographics.ecog)
    assert set(states(cast, demographics).values()) == {"verified"}
    assert not FieldVerification.objects.filter(cleared_at__isnull=False).exists()


def test_a_draft_cannot_be_verified(cast: Cast) -> None:
    coordinator = cast.user(Role.SITE_COORDINATOR)
    draft = services.crf_save(
        user=coordinator,
        model=Demographics,
        patient=cast.patient_a,
        visit=screening(coordinator, cast.patient_a),
        values={"ecog": 1},
        complete=False,
    )
    with pytest.raises(ValidationError, match="Only a complete form can be verified"):
        sdv_verify_form(user=cast.user(Role.MONITOR), record=draft)
    assert not FieldVerification.objects.exists()


def test_only_a_monitor_of_the_site_verifies(cast: Cast, demographics_b: Demographics) -> None:
    with pytest.raises(Http404):  # the monitor is assigned to site A only
        sdv_verify_form(user=cast.user(Role.MONITOR), record=demographics_b)
    with pytest.raises(Http404):  # verifying is the monitor's task
        sdv_verify_form(user=cast.user(Role.DATA_MANAGER), record=demographics_b)
    assert not FieldVerification.objects.exists()


def test_the_rows_of_a_tumour_assessment_are_one_item(cast: Cast) -> None:
    scenario = Scenario(cast)
    baseline = scenario.baseline()
    sdv_verify_form(user=cast.user(Role.MONITOR), record=baseline)
    assert states(cast, baseline)["target_measurements"] == "verified"

    scan = baseline.assessment_date
    tumour_assessment_save(
        user=scenario.user,
        patient=scenario.patient,
        visit=baseline.visit,
        values={"modality": "ct"},
        rows=AssessmentRows(
            targets=(TargetRow(scenario.target, "MEASURED", 410, scan),),
            non_targets=(NonTargetRow(scenario.non_target, "PRESENT", scan),),
        ),
        complete=True,
        instance=type(baseline).objects.get(pk=baseline.pk),
        reason="Target re-measured: 41 mm",
    )
    after = states(cast, baseline)
    assert after["target_measurements"] == "reverify"
    assert after["non_target_observations"] == "verified"
    assert after["modality"] == "verified"


def test_sdv_progress_per_site_and_patient(
    cast: Cast, demographics: Demographics, demographics_b: Demographics
) -> None:
    second_a = PatientFactory(trial=cast.avatar2, site=cast.site_a, sequence=2)
    record_a2 = complete_demographics(cast, second_a)
    monitor = cast.user(Role.MONITOR)
    sdv_verify_fields(user=monitor, record=demographics, fields=["ecog", "menopausal_status"])
    sdv_verify_form(user=monitor, record=record_a2)
    change(cast, record_a2, reason="Corrected date", primary_diagnosis_date="2019-05")
    items = len(record_items(Demographics))

    by_site = {row.site.code: row for row in sdv_progress(user=cast.user(Role.DATA_MANAGER), trial=cast.avatar2)}
    site_a, site_b = by_site["NL01"], by_site["BE01"]
    assert (site_a.sdv.forms_complete, site_a.sdv.forms_verified) == (2, 0)
    assert (site_a.sdv.items_total, site_a.sdv.items_verified, site_a.sdv.items_to_reverify) == (
        2 * items,
        2 + items - 1,
        1,
    )
    assert (site_b.sdv.forms_complete, site_b.sdv.items_verified, site_b.sdv.items_total) == (1, 0, items)
    patients = {p.patient.subject_id: p.sdv for p in site_a.patients}
    assert patients[demographics.patient.subject_id].items_verified == 2
    assert patients[second_a.subject_id].items_verified == items - 1
    assert patients[second_a.subject_id].items_to_reverify == 1

    sdv_verify_fields(user=monitor, record=record_a2, fields=["primary_diagnosis_date"])
    mine = sdv_progress(user=monitor, trial=cast.avatar2)
    assert [row.site.code for row in mine] == ["NL01"]  # the monitor's sites only
    assert mine[0].sdv.forms_verified == 1


def test_the_monitor_ticks_fields_on_the_sdv_page(client: Any, cast: Cast, demographics: Demographics) -> None:
    client.force_login(cast.user(Role.MONITOR))
    url = reverse("patients:sdv", kwargs={"subject_id": cast.patient_a.subject_id})
    page = client.get(url)
    assert page.status_code == 200
    assert f'id="record-demographics-{demographics.pk}"' in page.content.decode()
    response = client.post(url, {"record": f"demographics:{demographics.pk}", "items": ["ecog"]})
    assert response.status_code == 302
    assert states(cast, demographics)["ecog"] == "verified"
    response = client.post(url, {"record": f"demographics:{demographics.pk}", "verify_all": "1"})
    assert set(states(cast, demographics).values()) == {"verified"}


def test_the_sdv_page_of_another_site_is_404(client: Any, cast: Cast, demographics_b: Demographics) -> None:
    client.force_login(cast.user(Role.MONITOR))
    url = reverse("patients:sdv", kwargs={"subject_id": cast.patient_b.subject_id})
    assert client.get(url).status_code == 404
    assert client.post(url, {"record": f"demographics:{demographics_b.pk}", "verify_all": "1"}).status_code == 404
    assert not FieldVerification.objects.exists()
