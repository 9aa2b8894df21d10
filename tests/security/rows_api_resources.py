"""Permission-matrix rows of the API resources (``cosmo_avatar/api_urls.py``'s router): every list and detail URL,
and the writes of the generic CRF resource and of the lesion forms.

Lists are the same for both sites (each role sees its own rows); a detail URL names a record of the patient's site.
The trial manager gets 404 on patient-level data; efficacy (endpoints, derivations) is for the statistician and the
sponsor admin. A write to a collection without the right to edit answers 403 to those who may read it; a write to a
record without it answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.urls import reverse

from lesions.models import TumourAssessment
from outcomes.models import EndpointValue, PatientDerivation
from patients.crf import crf_models
from patients.models import Demographics, Query, Visit

from ..conftest import Cast
from .matrix import CO, PI, SA, ST, VIEWERS, Row, allocated_patient_url, plain, same, scoped

#: CRFs served by a resource of their own instead of ``crfs/<code>/``.
DEDICATED = {"lesion", "tumour-assessment", "local-treatment"}
EFFICACY = {ST: 200, SA: 200}
READ_LIST = same(200, trial_manager=404)


def _record(model: type[Any], patient: Any) -> Any:
    """The patient's record of ``model``: the matrix's demographics form, else one written for the test."""
    if model is Demographics:
        return Demographics.objects.get(patient=patient)
    return model.objects.create(patient=patient, site_id=patient.site_id)


def record_url(name: str, model: type[Any]) -> Callable[[Cast, Any], str]:
    return lambda cast, patient: reverse(name, kwargs={"pk": _record(model, patient).pk})


def _subject(name: str) -> Callable[[Cast, Any], str]:
    return lambda cast, patient: reverse(name, kwargs={"subject_id": patient.subject_id})


def _visit(cast: Cast, patient: Any) -> str:
    return reverse(
        "api:visit-detail", kwargs={"pk": Visit.objects.get(patient=patient, definition__code="screening").pk}
    )


def _query(cast: Cast, patient: Any) -> str:
    return reverse("api:query-detail", kwargs={"pk": Query.objects.get(patient=patient).pk})


def _provenance() -> dict[str, Any]:
    return {"algorithm_version": "matrix", "input_hash": "0" * 64, "computed_at": datetime.now(UTC)}


def _endpoint(cast: Cast, patient: Any) -> str:
    value = EndpointValue.objects.create(patient=patient, site_id=patient.site_id, paramcd="OS", **_provenance())
    return reverse("api:endpoint-detail", kwargs={"pk": value.pk})


def _derivation(cast: Cast, patient: Any) -> str:
    PatientDerivation.objects.create(patient=patient, site_id=patient.site_id, values={}, **_provenance())
    return reverse("api:derivation-detail", kwargs={"subject_id": patient.subject_id})


def _basename(model: type[Any]) -> str:
    code = model.crf.code
    return code if code in DEDICATED else f"crf-{code}"


ROWS: list[Row] = [
    ("api:api-root", plain("api:api-root"), "get", same(200)),
    ("api:patient-list", plain("api:patient-list"), "get", READ_LIST),
    ("api:patient-detail", _subject("api:patient-detail"), "get", scoped(VIEWERS)),
    ("api:visit-list", plain("api:visit-list"), "get", READ_LIST),
    ("api:visit-detail", _visit, "get", scoped(VIEWERS)),
    ("api:query-list", plain("api:query-list"), "get", READ_LIST),
    ("api:query-detail", _query, "get", scoped(VIEWERS)),
    ("api:allocation-list", plain("api:allocation-list"), "get", READ_LIST),
    ("api:allocation-detail", allocated_patient_url("api:allocation-detail"), "get", scoped(VIEWERS)),
    ("api:endpoint-list", plain("api:endpoint-list"), "get", same(404, **EFFICACY)),
    ("api:endpoint-detail", _endpoint, "get", scoped(EFFICACY)),
    ("api:derivation-list", plain("api:derivation-list"), "get", same(404, **EFFICACY)),
    ("api:derivation-detail", _derivation, "get", scoped(EFFICACY)),
]
for _model in crf_models():
    _base = _basename(_model)
    ROWS += [
        (f"api:{_base}-list", plain(f"api:{_base}-list"), "get", READ_LIST),
        (f"api:{_base}-detail", record_url(f"api:{_base}-detail", _model), "get", scoped(VIEWERS)),
    ]

# Writes with an empty body: the roles that may write get past the permission checks to the input's (a form-encoded
# POST is not JSON: 415; an empty PATCH lacks its version: 400); the others get 403 / 404 first.
WRITE_COLLECTION = same(403, site_coordinator=415, investigator=415, trial_manager=404)
for _model in (Demographics, TumourAssessment):
    _base = _basename(_model)
    ROWS += [
        (f"api:{_base}-list", plain(f"api:{_base}-list"), "post", WRITE_COLLECTION),
        (f"api:{_base}-detail", record_url(f"api:{_base}-detail", _model), "patch", scoped({CO: 400, PI: 400})),
    ]
