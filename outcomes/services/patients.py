"""Per-patient recompute: the full current data through the RECIST and endpoint engines, stored with provenance.

Idempotent: the input hash covers every input (the engines' inputs, the settings, the subgroup assignments) plus the
algorithm versions; when nothing changed nothing is written. Discrepancy queries (computed vs investigator's
RECIST response, D32/D33/D40 engine queries) are synced on every run.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from lesions.domain.recist import ALGORITHM_VERSION as RECIST_VERSION
from lesions.services import assessments_sync_computed
from patients.edit_checks import Finding, Severity
from patients.models import Patient, Randomisation, Registration
from patients.services import queries_sync_automatic

from ..domain.endpoints import EndpointResult, Paramcd, PatientEndpoints, derive_endpoints
from ..inputs import PatientData, patient_data
from ..models import EndpointValue, PatientDerivation

logger = logging.getLogger(__name__)

#: Bump when the mapping or an engine changes what it derives: every stored row then counts as stale.
ALGORITHM_VERSION = f"1.0/recist-{RECIST_VERSION}"


def input_hash(data: PatientData) -> str:
    payload = repr(
        (
            data.patient_input,
            data.settings,
            sorted(data.subgroups.items()),
            data.not_computable,
            data.recist_problem,
            ALGORITHM_VERSION,
        )
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def derivation_is_current(*, patient: Patient, derivation: PatientDerivation | None) -> bool:
    if derivation is None or derivation.algorithm_version != ALGORITHM_VERSION:
        return False
    return derivation.input_hash == input_hash(patient_data(patient=patient))


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value
    return value


def _sources(result: EndpointResult, data: PatientData) -> list[dict[str, Any]]:
    sources = []
    for source in result.source_record_ids:
        base = source.split("/")[0]
        code, label = data.sources.get(base, ("", source))
        pk = int(base.split(":")[1]) if ":" in base and base.split(":")[1].isdigit() else None
        sources.append({"id": source, "code": code if pk else "", "pk": pk, "label": label})
    return sources


def _engine_queries(endpoints: PatientEndpoints) -> list[Finding]:
    return [Finding("", query.message, f"{query.code.value}", Severity.WARNING) for query in endpoints.queries]


@transaction.atomic
def endpoints_recompute_for_patient(*, patient_id: int) -> tuple[PatientDerivation | None, bool]:
    """Recompute every derived value of one patient. Returns the derivation and whether anything changed."""
    patient = Patient.objects.select_for_update().select_related("trial").filter(pk=patient_id).first()
    if patient is None:
        logger.info("Patient %s no longer exists; nothing to recompute.", patient_id)
        return None, False
    assessments_sync_computed(patient=patient)  # computed RECIST beside the investigator's, discrepancy queries
    data = patient_data(patient=patient)
    digest = input_hash(data)
    existing = PatientDerivation.objects.filter(patient=patient).first()
    if existing is not None and existing.input_hash == digest and existing.algorithm_version == ALGORITHM_VERSION:
        return existing, False

    now = timezone.now()
    provenance = {
        "algorithm_version": ALGORITHM_VERSION,
        "settings_version": data.settings_version,
        "input_hash": digest,
        "computed_at": now,
    }
    values: dict[str, Any] = {
        "subgroups": data.subgroups,
        "not_computable": data.not_computable,
        "recist_problem": data.recist_problem,
    }
    results: list[EndpointResult] = []
    if data.patient_input is not None:
        endpoints = derive_endpoints(data.patient_input, data.settings)
        results = list(endpoints.results)
        values.update(
            {
                "origin_date": _jsonable(endpoints.origin_date),
                "visceral_crisis": _jsonable(asdict(endpoints.visceral_crisis)) if endpoints.visceral_crisis else None,
                "lat_complications": _jsonable([asdict(c) for c in endpoints.lat_complications]),
                "treatment_related_adverse_events": list(endpoints.treatment_related_adverse_event_ids),
                "queries": [
                    {"code": q.code.value, "message": q.message, "records": list(q.record_ids)}
                    for q in endpoints.queries
                ],
            }
        )
        os_row = endpoints.result(Paramcd.OS)
        values["last_known_alive"] = _jsonable(os_row.end_date) if os_row.event is False else None
        anchor = _query_anchor(patient)
        if anchor is not None:
            queries_sync_automatic(record=anchor, findings=_engine_queries(endpoints), prefix="endpoint:")
    derivation, _ = PatientDerivation.objects.update_or_create(
        patient=patient, defaults={"site_id": patient.site_id, "values": values, **provenance}
    )
    kept = []
    for result in results:
        kept.append(result.paramcd.value)
        EndpointValue.objects.update_or_create(
            patient=patient,
            paramcd=result.paramcd.value,
            defaults={
                "site_id": patient.site_id,
                "start_date": result.start_date,
                "end_date": result.end_date,
                "aval_days": result.aval_days,
                "event": result.event,
                "reason": result.reason.value if result.reason else "",
                "explanation": result.explanation,
                "source_records": _sources(result, data),
                "flags": sorted(flag.value for flag in result.flags),
                "landmark_status": result.landmark_status.value if result.landmark_status else "",
                **provenance,
            },
        )
    EndpointValue.objects.filter(patient=patient).exclude(paramcd__in=kept).delete()
    return derivation, True


def _query_anchor(patient: Patient) -> Any:
    """Engine queries (D32, D33, D40) are raised on the patient's enrolment form, where the site answers them."""
    model = Randomisation if patient.trial.is_randomised else Registration
    return model.objects.filter(patient=patient).first()


def consistency_sweep(*, trial_id: int | None = None, force: bool = False) -> dict[str, int]:
    """Find every patient whose stored derivation is missing or stale and recompute it (repairs missed events)."""
    patients = Patient.objects.all()
    if trial_id is not None:
        patients = patients.filter(trial_id=trial_id)
    derivations = {d.patient_id: d for d in PatientDerivation.objects.filter(patient__in=patients)}
    checked = repaired = 0
    for patient in patients.select_related("trial").iterator(chunk_size=500):
        checked += 1
        if force or not derivation_is_current(patient=patient, derivation=derivations.get(patient.pk)):
            _, changed = endpoints_recompute_for_patient(patient_id=patient.pk)
            repaired += int(changed or force)
    logger.info("Consistency sweep: %s patients checked, %s recomputed.", checked, repaired)
    return {"checked": checked, "repaired": repaired}
