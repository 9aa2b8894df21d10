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
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from lesions.domain.recist import ALGORITHM_VERSION as RECIST_VERSION
from lesions.selectors import attach, fetch_rows, recist_evaluation
from lesions.services import assessments_sync_computed_many
from patients.edit_checks import Finding, Severity
from patients.models import Patient, Query, QueryStatus, Randomisation, Registration
from patients.services import queries_sync_automatic
from trials.models import Trial

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
            sorted((k, repr(v)) for k, v in data.qol.items()),
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
        done = _recompute_chunk_retried(ids[start : start + chunk_size], force=force)
        checked += len(done)
        written += sum(changed for _, changed in done.values())
    return {"checked": checked, "repaired": written}


#: PostgreSQL's "deadlock detected" and "serialization failure": the chunk's transaction is retried from the start
RETRIED_SQLSTATES = frozenset({"40P01", "40001"})


def _recompute_chunk_retried(ids: list[int], *, force: bool, attempts: int = 3) -> dict[int, Any]:
    """One chunk in its own transaction. A form saved meanwhile may lock rows in another order (a deadlock the
    database resolves by aborting one side): the chunk is then run again rather than failing the whole sweep."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return _recompute_chunk(ids, force=force)
        except OperationalError as error:
            if attempt == attempts or getattr(error.__cause__, "pgcode", None) not in RETRIED_SQLSTATES:
                raise
            logger.warning("Recompute of %s patients from %s: %s; trying again.", len(ids), ids[0], error)
    raise AssertionError("unreachable")


def _recompute_chunk(ids: list[int], *, force: bool) -> dict[int, tuple[PatientDerivation, bool]]:
    """Lock, read, evaluate and write ``ids`` (inside the caller's transaction): patient id -> (derivation,
    whether it was written). Ids of patients that no longer exist are left out."""
    patients = fetch_rows(Patient, "id", ids, lock=True)
    if not patients:
        return {}
    trials = {trial.pk: trial for trial in fetch_rows(Trial, "id", {patient.trial_id for patient in patients})}
    for patient in patients:
        attach(patient, "trial", trials[patient.trial_id])
    records = patient_records(patients)
    evaluations: dict[int, Any] = {}
    failed: dict[int, str] = {}  # patients whose recompute raised: the others of the chunk go on (see _failed)
    for pk, r in records.items():
        try:
            evaluations[pk] = recist_evaluation(patient=r.patient, records=r.recist)
        except Exception as error:  # noqa: BLE001 - one patient's data must not stop the chunk; logged, shown
            failed[pk] = _failure(pk, error)
    # computed RECIST beside the investigator's, and the discrepancy queries; then the data (their summaries
    # are the provenance labels, so they are read after the computed responses are written)
    assessments_sync_computed_many([(r.recist, evaluations[pk]) for pk, r in records.items() if pk in evaluations])
    existing = {derivation.patient_id: derivation for derivation in fetch_rows(PatientDerivation, "patient_id", ids)}
    now = timezone.now()
    done: dict[int, tuple[PatientDerivation, bool]] = {}
    derivations: list[PatientDerivation] = []
    endpoint_rows: list[dict[str, Any]] = []
    kept: dict[int, set[str]] = {}
    engine_queries: list[tuple[Any, list[Finding]]] = []
    for patient in patients:
        if patient.pk not in failed:
            try:
                data = patient_data_from(records[patient.pk], evaluations[patient.pk])
                digest = input_hash(data)
            except Exception as error:  # noqa: BLE001 - as above
                failed[patient.pk] = _failure(patient.pk, error)
        if patient.pk in failed:
            derivation = _failed(patient, failed[patient.pk], now)
            derivations.append(derivation)
            kept[patient.pk] = set()  # no endpoint row stands for data the engine could not read
            done[patient.pk] = (derivation, True)
            continue
        current = existing.get(patient.pk)
        if (
            not force
            and current is not None
            and current.input_hash == digest
            and current.algorithm_version == ALGORITHM_VERSION
        ):
            attach(current, "patient", patient)
            done[patient.pk] = (current, False)
            continue
        try:
            derivation, rows, findings = _derive(patient, data, digest, now)
        except Exception as error:  # noqa: BLE001 - as above
            derivation, rows, findings = _failed(patient, _failure(patient.pk, error), now), [], None
        if findings is not None:
            anchor = _query_anchor(records[patient.pk])
            if anchor is not None:
                engine_queries.append((anchor, findings))
        derivations.append(derivation)
        endpoint_rows += rows
        kept[patient.pk] = {row["paramcd"] for row in rows}
        done[patient.pk] = (derivation, True)
    _sync_queries(engine_queries, prefix=ENGINE_QUERY_PREFIX)
    PatientDerivation.objects.bulk_create(
        derivations,
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=["site", "values", *_PROVENANCE],
    )
    _endpoint_values_write(endpoint_rows)
    by_kept: dict[frozenset[str], list[int]] = {}
    for patient_id, paramcds in kept.items():
        by_kept.setdefault(frozenset(paramcds), []).append(patient_id)
    stale = Q()  # endpoint rows the engine no longer derives, in one statement
    for derived, patient_ids in by_kept.items():
        stale |= Q(patient_id__in=patient_ids) & ~Q(paramcd__in=derived)
    if stale:
        EndpointValue.objects.filter(stale).delete()
    return done


def _failure(patient_id: int, error: Exception) -> str:
    """Log a patient's failed recompute (with its traceback) and say what the patient page shows instead."""
    logger.exception("Recompute of patient %s failed; its endpoints are withheld until it succeeds.", patient_id)
    return (
        f"Endpoints not computed: the recompute of this patient's data failed ({type(error).__name__}: {error}). "
        "The error is logged for the data management team; the values come back once the data or the software "
        "is corrected."
    )


def _failed(patient: Patient, reason: str, now: Any) -> PatientDerivation:
    """The derivation stored when a patient's recompute raised: no endpoint values (stale ones would look current),
    the reason shown on the patient page, and an empty input hash so every later recompute tries again."""
    return PatientDerivation(
        patient=patient,
        site_id=patient.site_id,
        values={"not_computable": reason, "recompute_failed": True},
        algorithm_version=ALGORITHM_VERSION,
        settings_version=None,
        input_hash="",
        computed_at=now,
    )


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
) -> tuple[PatientDerivation, list[dict[str, Any]], list[Finding] | None]:
    """The derivation row, the endpoint rows (column values by attname) and the engine's queries (None: not
    computable) of one patient."""
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
        "quality_of_life": data.qol,
    }
    rows: list[dict[str, Any]] = []
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
            {
                "patient_id": patient.pk,
                "paramcd": result.paramcd.value,
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
            }
            for result in endpoints.results
        ]
    derivation = PatientDerivation(patient=patient, site_id=patient.site_id, values=values, **provenance)
    return derivation, rows, findings


#: from this many endpoint rows on, PostgreSQL gets them through ``COPY`` (fewer: one ``INSERT``, one round trip)
COPY_FROM = 200


def _endpoint_values_write(rows: list[dict[str, Any]]) -> None:
    """Insert or update the endpoint rows (by patient and PARAMCD). On PostgreSQL the rows are copied into a
    temporary table and merged in one statement: a few hundred patients make thousands of rows, and a multi-row
    ``INSERT`` spends more time building and parsing its literals than writing them."""
    if not rows:
        return
    if connection.vendor != "postgresql" or len(rows) < COPY_FROM:
        EndpointValue.objects.bulk_create(
            [EndpointValue(**row) for row in rows],
            update_conflicts=True,
            unique_fields=["patient", "paramcd"],
            update_fields=[*_ENDPOINT_FIELDS, *_PROVENANCE],
        )
        return
    meta = EndpointValue._meta
    fields: list[Any] = [meta.get_field(name) for name in ("patient", "paramcd", *_ENDPOINT_FIELDS, *_PROVENANCE)]
    quote = connection.ops.quote_name
    table, staging = quote(meta.db_table), quote(f"{meta.db_table}_staging")
    columns = ", ".join(quote(field.column) for field in fields)
    updates = ", ".join(f"{quote(field.column)} = EXCLUDED.{quote(field.column)}" for field in fields[2:])
    lines = io.StringIO()
    for row in rows:
        lines.write("\t".join(_copy_text(field, row[field.attname]) for field in fields) + "\n")
    lines.seek(0)
    # identifiers from the model's metadata, quoted; the values travel as COPY data
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.cursor.copy_expert(f"COPY {staging} ({columns}) FROM STDIN", lines)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "  # noqa: S608
            f"ON CONFLICT ({quote('patient_id')}, {quote('paramcd')}) DO UPDATE SET {updates}"
        )
        cursor.execute(f"DROP TABLE {staging}")


def _copy_text(field: Any, value: Any) -> str:
    """A value in ``COPY``'s text format: ``\\N`` for NULL, backslash escapes, JSON as its text, dates ISO."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        text = "t" if value else "f"
    elif field.get_internal_type() == "JSONField":
        text = json.dumps(value, cls=field.encoder)
    elif isinstance(value, (date, datetime)):
        text = value.isoformat()
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


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
    for query in fetch_rows(Query, "patient_id", {record.patient_id for record, _ in wanted}):
        if query.check_code.startswith(prefix) and query.status != QueryStatus.CLOSED:
            open_now.setdefault((query.content_type_id, query.object_id), set()).add(
                (query.check_code, query.field_name)
            )
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
