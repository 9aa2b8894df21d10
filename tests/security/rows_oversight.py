"""Permission-matrix rows of the oversight screens (issue 8): SDV (monitors of the site), signing (investigators of
the site), locks (data managers and sponsor admins) and the trial's data state and signature manifest."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from patients.models import Visit

from ..conftest import Cast
from .matrix import DM, MO, PI, SA, Row, crf_record, patient_url, same, scoped, trial_url

LOCKERS = {DM: 200, SA: 200}


def site_lock_url(cast: Cast, patient: Any) -> str:
    return reverse("patients:site_lock", kwargs={"code": cast.avatar2.code, "site_code": patient.site.code})


def sign_visit_url(cast: Cast, patient: Any) -> str:
    visit = Visit.objects.get(patient=patient, definition__code="screening")
    return reverse("patients:sign_visit", kwargs={"subject_id": patient.subject_id, "visit_id": visit.pk})


ROWS: list[Row] = [
    (
        "patients:oversight_trial",
        trial_url("patients:oversight_trial"),
        "get",
        same(404, monitor=200, data_manager=200, sponsor_admin=200),
    ),
    (
        "patients:trial_data_state",
        trial_url("patients:trial_data_state"),
        "get",
        same(404, data_manager=200, sponsor_admin=200),
    ),
    ("patients:signature_manifest", trial_url("patients:signature_manifest"), "get", same(200, trial_manager=404)),
    ("patients:site_lock", site_lock_url, "get", scoped(LOCKERS)),
    ("patients:sdv", patient_url("patients:sdv"), "get", scoped({MO: 200})),
    ("patients:sign_casebook", patient_url("patients:sign_casebook"), "get", scoped({PI: 200})),
    ("patients:sign_visit", sign_visit_url, "get", scoped({PI: 200})),
    ("patients:sign_form", crf_record("patients:sign_form"), "get", scoped({PI: 200})),  # a draft: says so
    ("patients:patient_lock", patient_url("patients:patient_lock"), "get", scoped(LOCKERS)),
    ("patients:crf_lock", crf_record("patients:crf_lock"), "get", scoped(LOCKERS)),
]
