"""Per-patient recompute: the full current data through the RECIST and endpoint engines, stored with provenance.

Idempotent: the input hash covers every input (the engines' inputs, the settings, the subgroup assignments) plus the
algorithm versions; when nothing changed nothing is written. Discrepancy queries (computed vs investigator's
RECIST response, D32/D33/D40 engine queries) are synced on every run.

Two entry points, one path: ``endpoints_recompute_for_patient`` (live, one patient per task) and ``recompute_many``
(the sweep and ``manage.py recompute``: chunks of patients read in a constant number of queries each and written in
bulk). Both lock the patients, read their records once (``outcomes.inputs.patient_records``), run RECIST once for
the computed responses and the endpoints, and write only what changed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from lesions.domain.recist import ALGORITHM_VERSION as RECIST_VERSION
from lesions.selectors import recist_evaluation
from lesions.services import assessments_sync_computed_many
from patients.edit_checks import Finding, Severity
from patients.models import Patient, Query, QueryStatus, Randomisation, Registration
from patients.services import queries_sync_automatic

from ..domain.endpoints import EndpointResult, Paramcd, PatientEndpoints, derive_endpoints
from ..inputs import PatientData, PatientRecords, patient_data, patient_data_from, patient_records
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
    """Recompute every derived value of one patient. Returns the derivation and whether anything changed.

    The live path (one task per changed patient): the same steps as ``recompute_many``, for one patient, in a
    constant number of queries whatever the number of forms and time points."""
    done = _recompute_chunk([patient_id], force=False)
    if patient_id not in done:
        logger.info("Patient %s no longer exists; nothing to recompute.", patient_id)
        return None, False
    return done[patient_id]


#: Patients per transaction in ``recompute_many``: their rows are read in one go (about 25 queries a chunk).
CHUNK_SIZE = 500


def recompute_many(patient_ids: Iterable[int], *, force: bool = False, chunk_size: int = CHUNK_SIZE) -> dict[str, int]:
    """Recompute many patients, a chunk of ``chunk_size`` per transaction, each chunk read in a constant number
    of queries and written with bulk inserts and updates: the same rows as ``endpoints_recompute_for_patient``
    one by one (the live path), for the sweep and ``manage.py recompute``.

    Patients whose input hash and algorithm version match their stored derivation are left alone, unless
    ``force``: then every derivation is stored again (computed now), e.g. after a fix that kept the version.
    Returns the number of patients checked and of derivations written.
    """
    ids = sorted(set(patient_ids))
    checked = written = 0
    for start in range(0, len(ids), chunk_size):
        with transaction.atomic():
            done = _recompute_chunk(ids[start : start + chunk_size], force=force)
        checked += len(done)
        written += sum(changed for _, changed in done.values())
    return {"checked": checked, "repaired": written}


def _recompute_chunk(ids: list[int], *, force: bool) -> dict[int, tuple[PatientDerivation, bool]]:
    """Lock, read, evaluate and write ``ids`` (inside the caller's transaction): patient id -> (derivation,
    whether it was written). Ids of patients that no longer exist are left out."""
    patients = list(
        Patient.objects.select_for_update(of=("self",)).select_related("trial").filter(pk__in=ids).order_by("pk")
    )
    if not patients:
        return {}
    records = patient_records(patients)
    evaluations = {pk: recist_evaluation(patient=r.patient, records=r.recist) for pk, r in records.items()}
    # computed RECIST beside the investigator's, and the discrepancy queries; then the data (their summaries
    # are the provenance labels, so they are read after the computed responses are written)
    assessments_sync_computed_many([(r.recist, evaluations[pk]) for pk, r in records.items()])
    existing = {
        derivation.patient_id: derivation
        for derivation in PatientDerivation.objects.filter(patient_id__in=[p.pk for p in patients]).defer("values")
    }
    now = timezone.now()
    done: dict[int, tuple[PatientDerivation, bool]] = {}
    derivations: list[PatientDerivation] = []
    endpoint_rows: list[EndpointValue] = []
    kept: dict[int, set[str]] = {}
    engine_queries: list[tuple[Any, list[Finding]]] = []
    for patient in patients:
        data = patient_data_from(records[patient.pk], evaluations[patient.pk])
        digest = input_hash(data)
        current = existing.get(patient.pk)
        if (
            not force
            and current is not None
            and current.input_hash == digest
            and current.algorithm_version == ALGORITHM_VERSION
        ):
            current.patient = patient
            done[patient.pk] = (current, False)
            continue
        derivation, rows, findings = _derive(patient, data, digest, now)
        if findings is not None:
            anchor = _query_anchor(records[patient.pk])
            if anchor is not None:
                engine_queries.append((anchor, findings))
        derivations.append(derivation)
        endpoint_rows += rows
        kept[patient.pk] = {row.paramcd for row in rows}
        done[patient.pk] = (derivation, True)
    _sync_queries(engine_queries, prefix=ENGINE_QUERY_PREFIX)
    PatientDerivation.objects.bulk_create(
        derivations,
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=["site", "values", *_PROVENANCE],
    )
    EndpointValue.objects.bulk_create(
        endpoint_rows,
        update_conflicts=True,
        unique_fields=["patient", "paramcd"],
        update_fields=[*_ENDPOINT_FIELDS, *_PROVENANCE],
    )
    stale = [
        pk
        for pk, patient_id, paramcd in EndpointValue.objects.filter(patient_id__in=kept).values_list(
            "pk", "patient_id", "paramcd"
        )
        if paramcd not in kept[patient_id]
    ]
    if stale:
        EndpointValue.objects.filter(pk__in=stale).delete()
    return done


ENGINE_QUERY_PREFIX = "endpoint:"
_PROVENANCE = ("algorithm_version", "settings_version", "input_hash", "computed_at")
_ENDPOINT_FIELDS = (
    "site",
    "start_date",
    "end_date",
    "aval_days",
    "event",
    "reason",
    "explanation",
    "source_records",
    "flags",
    "landmark_status",
)


def _derive(
    patient: Patient, data: PatientData, digest: str, now: Any
) -> tuple[PatientDerivation, list[EndpointValue], list[Finding] | None]:
    """The derivation row, the endpoint rows and the engine's queries (None: not computable) of one patient."""
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
    rows: list[EndpointValue] = []
    findings = None
    if data.patient_input is not None:
        endpoints = derive_endpoints(data.patient_input, data.settings)
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
        findings = _engine_queries(endpoints)
        rows = [
            EndpointValue(
                patient=patient,
                paramcd=result.paramcd.value,
                site_id=patient.site_id,
                start_date=result.start_date,
                end_date=result.end_date,
                aval_days=result.aval_days,
                event=result.event,
                reason=result.reason.value if result.reason else "",
                explanation=result.explanation,
                source_records=_sources(result, data),
                flags=sorted(flag.value for flag in result.flags),
                landmark_status=result.landmark_status.value if result.landmark_status else "",
                **provenance,
            )
            for result in endpoints.results
        ]
    derivation = PatientDerivation(patient=patient, site_id=patient.site_id, values=values, **provenance)
    return derivation, rows, findings


def _query_anchor(records: PatientRecords) -> Any:
    """Engine queries (D32, D33, D40) are raised on the patient's enrolment form, where the site answers them."""
    model = Randomisation if records.patient.trial.is_randomised else Registration
    return next((record for record in records.enrolments if isinstance(record, model)), None)


def _sync_queries(wanted: list[tuple[Any, list[Finding]]], *, prefix: str) -> None:
    """``queries_sync_automatic`` for each (record, findings), called only where the open automatic queries
    differ from the findings: one read for all, a write only for what opens or closes."""
    if not wanted:
        return
    open_now: dict[tuple[int, int], set[tuple[str, str]]] = {}
    for content_type_id, object_id, code, field_name in (
        Query.objects.filter(patient_id__in={record.patient_id for record, _ in wanted}, check_code__startswith=prefix)
        .exclude(status=QueryStatus.CLOSED)
        .values_list("content_type_id", "object_id", "check_code", "field_name")
    ):
        open_now.setdefault((content_type_id, object_id), set()).add((code, field_name))
    for record, findings in wanted:
        key = (ContentType.objects.get_for_model(record).pk, record.pk)
        if {(f"{prefix}{finding.code}", finding.field) for finding in findings} != open_now.get(key, set()):
            queries_sync_automatic(record=record, findings=findings, prefix=prefix)


def consistency_sweep(*, trial_id: int | None = None, force: bool = False) -> dict[str, int]:
    """Recompute every patient whose stored derivation is missing or stale (repairs missed events), in chunks
    (``recompute_many``); ``force`` stores every derivation again."""
    patients = Patient.objects.all()
    if trial_id is not None:
        patients = patients.filter(trial_id=trial_id)
    result = recompute_many(patients.values_list("pk", flat=True), force=force)
    logger.info("Consistency sweep: %s patients checked, %s recomputed.", result["checked"], result["repaired"])
    return result
