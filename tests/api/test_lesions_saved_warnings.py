"""A tumour assessment written through the API answers the warnings of the record as saved: the same findings, in
the same order, as the edit checks run afresh on the saved record and its rows (read in the register's label
order) give, whatever order the rows were sent in and although the API reuses what the save already read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from lesions.crf_rules import ASSESSMENT_ROWS
from lesions.models import RESPONSE_LABELS, Lesion, TumourAssessment
from lesions.selectors import rows_of
from patients.edit_checks import CheckContext, Severity
from patients.services.crfs import crf_check

from ..conftest import Cast
from ..lesions.test_crfs_lesions import BASELINE_SCAN, CONSENT, visit
from ..lesions.test_tumour_assessment import SCAN, baseline, register
from .conftest import Api

__all__ = ["baseline", "register"]  # fixtures used here

ASSESSMENTS = reverse("api:tumour-assessment-list")


def checked_afresh(record_id: int) -> list[tuple[str, str, str]]:
    """The saved record's warnings with every check run again from the database (the API's answer before it
    reused the save's reads)."""
    record = TumourAssessment.objects.select_related("patient__trial", "visit__definition").get(pk=record_id)
    findings = crf_check(record, patient=record.patient, completing=record.is_complete)
    record._pending_rows = rows_of(record)
    context = CheckContext(patient=record.patient, today=timezone.localdate(), completing=record.is_complete)
    findings += ASSESSMENT_ROWS.run(record, context)
    found = [(f.field, f.code, f.message) for f in findings if f.severity == Severity.WARNING]
    if record.response_differs:
        computed = RESPONSE_LABELS.get(record.computed_response, record.computed_response)
        investigator = RESPONSE_LABELS.get(record.investigator_response, record.investigator_response)
        found.append(
            (
                "investigator_response",
                "discrepancy",
                f"The computed RECIST 1.1 response is {computed}; the investigator's is {investigator}: "
                "a query is open.",
            )
        )
    return found


def answered(response: Any) -> list[tuple[str, str, str]]:
    assert response.status_code in (200, 201), response.content
    return [(w["field"], w["code"], w["message"]) for w in response.json()["warnings"]]


def test_a_baseline_sent_in_reverse_answers_its_warnings_in_register_order(
    api: Api, cast: Cast, coordinator: Any, register: dict[str, Lesion]
) -> None:
    screening = visit(coordinator, cast.patient_a, "screening", CONSENT)
    body = {
        "patient": cast.patient_a.subject_id,
        "visit": screening.pk,
        "modality": "ct",
        "complete": True,
        "targets": [
            {"lesion": register[label].pk, "status": "MEASURED", "diameter_tenths": tenths, "scan_date": BASELINE_SCAN}
            for label, tenths in (("T2", 210), ("T1", 310))
        ],
        "non_targets": [
            {"lesion": register[label].pk, "status": "PRESENT", "scan_date": BASELINE_SCAN} for label in ("NT2", "NT1")
        ],
    }
    response = api.as_(coordinator).post(ASSESSMENTS, body)
    warnings = answered(response)
    assert [(field, code) for field, code, _ in warnings] == [("targets", "baseline_differs")] * 2
    assert warnings[0][2].startswith("T1:") and warnings[1][2].startswith("T2:")
    assert warnings == checked_afresh(response.json()["id"])


def test_a_follow_up_and_its_correction_answer_the_warnings_of_the_saved_record(
    api: Api, cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    on = SCAN
    follow_up = visit(coordinator, cast.patient_a, "follow-up", on - timedelta(days=1))
    body = {
        "patient": cast.patient_a.subject_id,
        "visit": follow_up.pk,
        "modality": "ct",
        "investigator_response": "CR",
        "complete": True,
        "targets": [
            {"lesion": register[label].pk, "status": "MEASURED", "diameter_tenths": tenths, "scan_date": on}
            for label, tenths in (("T2", 150), ("T1", 250))
        ],
        "non_targets": [
            {"lesion": register[label].pk, "status": "PRESENT", "scan_date": on} for label in ("NT2", "NT1")
        ],
        "new_lesions": [{"status": "EQUIVOCAL", "scan_date": on, "site_code": "LIVER"}],
    }
    created = api.as_(coordinator).post(ASSESSMENTS, body)
    assert answered(created) == checked_afresh(created.json()["id"])
    assert [code for _, code, _ in answered(created)] == ["discrepancy"]
    record = created.json()
    change = {
        "version": record["version"],
        "reason": "Re-measured on the CT report",
        "investigator_response": "SD",
        "targets": [
            {"lesion": register["T1"].pk, "status": "MEASURED", "diameter_tenths": 260, "scan_date": on},
            {"lesion": register["T2"].pk, "status": "MEASURED", "diameter_tenths": 160, "scan_date": on},
        ],
    }
    corrected = api.patch(reverse("api:tumour-assessment-detail", kwargs={"pk": record["id"]}), change)
    assert answered(corrected) == checked_afresh(record["id"])
    assert [row["diameter_tenths"] for row in corrected.json()["targets"]] == [260, 160]
    assert len(corrected.json()["new_lesions"]) == 1  # a list left out keeps its rows
