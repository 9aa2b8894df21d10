"""The CRF framework on the demographics form: draft vs complete, reasons, edit checks, locking, visits, scope."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients import services
from patients.models import Demographics, Visit
from trials.models import Role

from ..conftest import Cast


def _screening_visit(cast: Cast, coordinator: Any, patient: Any = None) -> Visit:
    patient = patient or cast.patient_a
    definition = patient.trial.visit_definitions.get(code="screening")
    return services.visit_record(
        user=coordinator,
        patient=patient,
        definition=definition,
        occurrence=1,
        status="done",
        visit_date=date(2025, 3, 10),
    )


def _save(cast: Cast, user: Any, complete: bool, **values: Any) -> Demographics:
    return services.crf_save(  # type: ignore[return-value]
        user=user,
        model=Demographics,
        patient=cast.patient_a,
        visit=_screening_visit(cast, user),
        values=values,
        complete=complete,
    )


FULL = {
    "ecog": 1,
    "menopausal_status": "post",
    "primary_diagnosis_date": "2019-04",
    "metastatic_diagnosis_date": "2023",
}


def test_a_draft_saves_with_missing_fields(cast: Cast, coordinator: Any) -> None:
    record = _save(cast, coordinator, complete=False, ecog=1)
    assert (record.status, record.ecog, record.menopausal_status) == ("draft", 1, "")


def test_completing_needs_every_required_field_and_names_them(cast: Cast, coordinator: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        _save(cast, coordinator, complete=True, ecog=1)
    assert set(raised.value.message_dict) == {
        "menopausal_status",
        "primary_diagnosis_date",
        "metastatic_diagnosis_date",
    }
    assert raised.value.message_dict["menopausal_status"] == [
        "Menopausal status is required to mark the form complete."
    ]
    assert not Demographics.objects.exists()


def test_an_edit_check_failure_saves_nothing_and_names_the_field(cast: Cast, coordinator: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        _save(cast, coordinator, complete=True, **{**FULL, "metastatic_diagnosis_date": "2018-12"})
    assert raised.value.message_dict == {
        "metastatic_diagnosis_date": ["The metastatic diagnosis cannot be before the primary diagnosis."]
    }
    assert not Demographics.objects.exists()


@pytest.mark.parametrize("value", ["2019-13", "19", "2019-02-30", "next year", "1850"])
def test_a_malformed_partial_date_is_refused(cast: Cast, coordinator: Any, value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _save(cast, coordinator, complete=False, primary_diagnosis_date=value)
    assert "primary_diagnosis_date" in raised.value.message_dict


def test_editing_a_complete_form_needs_a_reason(cast: Cast, coordinator: Any) -> None:
    record = _save(cast, coordinator, complete=True, **FULL)
    with pytest.raises(ValidationError, match="reason for change"):
        services.crf_save(
            user=coordinator,
            model=Demographics,
            patient=cast.patient_a,
            instance=record,
            values={"ecog": 2},
            complete=True,
        )
    assert Demographics.objects.get().ecog == 1
    services.crf_save(
        user=coordinator,
        model=Demographics,
        patient=cast.patient_a,
        instance=record,
        values={"ecog": 2},
        complete=True,
        reason="ECOG re-assessed at screening visit",
    )
    saved = Demographics.objects.get()
    assert saved.ecog == 2
    assert saved.history.latest().history_change_reason == "ECOG re-assessed at screening visit"


def test_a_complete_form_cannot_go_back_to_draft(cast: Cast, coordinator: Any) -> None:
    record = _save(cast, coordinator, complete=True, **FULL)
    with pytest.raises(ValidationError, match="stays complete"):
        services.crf_save(
            user=coordinator,
            model=Demographics,
            patient=cast.patient_a,
            instance=record,
            values={},
            complete=False,
            reason="oops",
        )


def test_the_second_of_two_editors_is_refused_and_the_first_kept(cast: Cast, coordinator: Any) -> None:
    record = _save(cast, coordinator, complete=True, **FULL)
    opened = record.version
    first = Demographics.objects.get(pk=record.pk)
    second = Demographics.objects.get(pk=record.pk)
    services.crf_save(
        user=coordinator,
        model=Demographics,
        patient=cast.patient_a,
        instance=first,
        values={"ecog": 2},
        complete=True,
        reason="first",
        expected_version=opened,
    )
    with pytest.raises(ValidationError, match="changed by someone else"):
        services.crf_save(
            user=cast.user(Role.INVESTIGATOR),
            model=Demographics,
            patient=cast.patient_a,
            instance=second,
            values={"ecog": 3},
            complete=True,
            reason="second",
            expected_version=opened,
        )
    assert Demographics.objects.get().ecog == 2


def test_a_monitor_cannot_write_a_form(cast: Cast, coordinator: Any) -> None:
    from django.http import Http404

    visit = _screening_visit(cast, coordinator)
    with pytest.raises(Http404):
        services.crf_save(
            user=cast.user(Role.MONITOR),
            model=Demographics,
            patient=cast.patient_a,
            visit=visit,
            values=FULL,
            complete=True,
        )


def test_a_visit_done_needs_a_date_not_in_the_future_and_missed_a_reason(cast: Cast, coordinator: Any) -> None:
    definition = cast.avatar2.visit_definitions.get(code="follow-up")
    record = dict(user=coordinator, patient=cast.patient_a, definition=definition, occurrence=1)
    with pytest.raises(ValidationError, match="needs its date"):
        services.visit_record(**record, status="done")
    with pytest.raises(ValidationError, match="future"):
        services.visit_record(**record, status="done", visit_date=date.today() + timedelta(days=1))
    with pytest.raises(ValidationError, match="why the visit was missed"):
        services.visit_record(**record, status="missed", missed_reason=" ")
    visit = services.visit_record(**record, status="missed", missed_reason="Patient in hospital elsewhere")
    assert visit.status == "missed"
    with pytest.raises(ValidationError, match="reason for change"):
        services.visit_record(**record, status="done", visit_date=date(2025, 6, 16))


# Through the browser views ------------------------------------------------------------------------------------


def test_the_casebook_shows_cells_by_status_and_flags_overdue_visits(client: Any, cast: Cast, coordinator: Any) -> None:
    _save(cast, coordinator, complete=False, ecog=1)
    client.force_login(coordinator)
    casebook = client.get(reverse("patients:detail", kwargs={"subject_id": cast.patient_a.subject_id})).context[
        "casebook"
    ]
    screening = next(row for row in casebook.rows if row.definition.code == "screening")
    column = casebook.columns.index(Demographics)
    assert screening.state == "done"
    assert screening.cells[column].status == "draft"
    follow_up_1 = next(row for row in casebook.rows if row.definition.code == "follow-up" and row.occurrence == 1)
    assert follow_up_1.state == "overdue"  # patient_a was randomised 2025-03-24: the day-84 window closed long ago
    assert follow_up_1 in casebook.overdue


def test_a_form_is_entered_and_completed_through_the_screen(client: Any, cast: Cast, coordinator: Any) -> None:
    visit = _screening_visit(cast, coordinator)
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "demographics"})
    response = client.post(f"{url}?visit={visit.pk}", {**FULL, "complete": "1", "visit": visit.pk})
    record = Demographics.objects.get()
    assert response.status_code == 302
    assert record.status == "complete" and record.visit == visit
    edit = reverse(
        "patients:crf_edit", kwargs={"subject_id": cast.patient_a.subject_id, "code": "demographics", "pk": record.pk}
    )
    refused = client.post(edit, {**FULL, "ecog": 3, "complete": "1", "version": record.version, "reason": ""})
    assert refused.context["form"].errors["reason"] == ["A reason for change is required when editing a saved record."]
    assert Demographics.objects.get().ecog == 1


def test_a_coordinator_of_site_a_gets_404_for_site_b_forms(client: Any, cast: Cast, coordinator: Any) -> None:
    other = cast.user(Role.SITE_COORDINATOR)
    client.force_login(other)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_b.subject_id, "code": "demographics"})
    assert client.get(url).status_code == 404
