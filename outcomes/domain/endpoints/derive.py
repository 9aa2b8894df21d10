"""The engine's entry point: every endpoint of one patient, from the patient's full current data (clinical-spec C6)."""

from __future__ import annotations

from outcomes.domain.endpoints.alive import os_row
from outcomes.domain.endpoints.context import build_context, origin_date
from outcomes.domain.endpoints.inputs import PatientInput
from outcomes.domain.endpoints.next_treatment import ttnt_rows
from outcomes.domain.endpoints.progression import pfs_rows
from outcomes.domain.endpoints.results import (
    EndpointFlag,
    EndpointQuery,
    EndpointResult,
    Paramcd,
    PatientEndpoints,
    QueryCode,
)
from outcomes.domain.endpoints.rows import empty_row
from outcomes.domain.endpoints.safety import (
    lat_complications,
    treatment_related_adverse_event_ids,
    visceral_crisis_summary,
)
from outcomes.domain.endpoints.settings import EndpointSettings
from outcomes.domain.endpoints.strategy import strategy_rows


def derive_endpoints(patient: PatientInput, settings: EndpointSettings) -> PatientEndpoints:
    """Derive every endpoint row (in ``Paramcd`` order), the queries to raise and the descriptive endpoints.

    Pure and deterministic: the same input gives an equal result whatever the order of its records.
    """
    origin = origin_date(patient, settings)
    queries: tuple[EndpointQuery, ...] = ()
    if origin is None:
        origin_event = settings.origin_event_for(patient.trial).value.lower().replace("_", " ")
        explanation = f"no {origin_event} date, the time origin (D1)"
        rows = tuple(empty_row(paramcd, EndpointFlag.NOT_COMPUTABLE, explanation) for paramcd in Paramcd)
        queries = (EndpointQuery(code=QueryCode.ORIGIN_MISSING, message=explanation, record_ids=(patient.patient_id,)),)
    elif settings.data_cutoff is not None and origin > settings.data_cutoff:
        explanation = f"the origin {origin} is after the data cut-off {settings.data_cutoff}"
        rows = tuple(empty_row(paramcd, EndpointFlag.NOT_COMPUTABLE, explanation) for paramcd in Paramcd)
    else:
        context, queries = build_context(patient, settings, origin)
        strategy, strategy_queries = strategy_rows(context)
        queries = (*queries, *strategy_queries)
        rows = (*pfs_rows(context), *strategy, os_row(context), *ttnt_rows(context))
    return PatientEndpoints(
        patient_id=patient.patient_id,
        origin_date=origin,
        results=_in_paramcd_order(rows),
        queries=tuple(sorted(set(queries), key=lambda query: (query.code.value, query.record_ids, query.message))),
        visceral_crisis=visceral_crisis_summary(patient, settings, origin),
        lat_complications=lat_complications(patient, settings),
        treatment_related_adverse_event_ids=treatment_related_adverse_event_ids(patient, settings),
    )


def _in_paramcd_order(rows: tuple[EndpointResult, ...]) -> tuple[EndpointResult, ...]:
    order = {paramcd: index for index, paramcd in enumerate(Paramcd)}
    return tuple(sorted(rows, key=lambda row: order[row.paramcd]))
