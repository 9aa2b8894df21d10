"""ADTTE, the time-to-event analysis dataset: one record per patient per endpoint (CDISC ADaM BDS for TTE).

Nothing is derived here: each row is an ``EndpointValue`` the recompute stored (outcomes' endpoint engine, from the
patient's full current data, clinical-spec C6), with its provenance.

- ``STARTDT`` is the time origin (D1: randomisation for AVATAR II, registration for COSMO), ``ADT`` the event or
  censoring date, ``AVAL = ADT - STARTDT + 1`` days: the ADaM convention of D2 / clinical-spec C2 (admiral
  ``derive_vars_duration(add_one = TRUE)``), as the engine stores it in ``aval_days``.
- ``CNSR`` 0 = event, 1 = censored (ADaMIG TTE: the censoring variable, "0 for an event").
- ``EVNTDESC`` describes the event or the censoring, ``CNSDTDSC`` the censoring date (censored rows only), as in
  admiralonco's ``ad_adtte.R`` template; both from the engine's reason code.
- ``SRCDOM`` / ``SRCVAR`` / ``SRCSEQ`` name the form, field and record that set ``ADT`` (ADaMIG traceability).
- Rows flagged NOT_APPLICABLE (e.g. 2nd PFS without strategy failure, D34) or NOT_COMPUTABLE (no origin, or an origin
  after the data cut-off) have no dates and are left out: ADSL lists every patient.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db import NotSupportedError
from django.db.models import BooleanField, CharField, F, Func, IntegerField, QuerySet, TextField, Value
from django.db.models.functions import Cast, Coalesce, Collate

from patients.crf import crf_models
from patients.models import Patient
from trials.models import Trial

from ..domain.endpoints import EndpointFlag, EndpointReason, LandmarkStatus, Paramcd
from ..models import EndpointValue
from .base import Dataset, Kind, Row, Variable
from .common import (
    CHUNK_SIZE,
    SITEID,
    STUDYID,
    TRT01P,
    USUBJID,
    byte_order,
    flag,
    single_arm_of,
    stream_values,
    study_id,
)

#: PARAM per PARAMCD (clinical-spec §2.3; decisions D6-D12, D31, D34)
PARAMS: dict[Paramcd, str] = {
    Paramcd.PFS: "Progression-free survival, FDA-style censoring (days)",
    Paramcd.PFS_EMA: "Progression-free survival, EMA-style sensitivity (days)",
    Paramcd.TSF: "Time to strategy failure (days)",
    Paramcd.TSF_SWITCH: "Time to strategy failure, switch for toxicity counted (days)",
    Paramcd.PFS2: "PFS2: progression on the next line or death (days)",
    Paramcd.PFS2ND: "2nd PFS: from strategy failure (days)",
    Paramcd.OS: "Overall survival (days)",
    Paramcd.TTNT: "Time to next treatment (days)",
    Paramcd.TTNT_OR_DEATH: "Time to next treatment or death (days)",
}

#: EVNTDESC per engine reason: what ended the row (an event, or the censoring rule that applied)
REASON_DESCRIPTIONS: dict[EndpointReason, str] = {
    EndpointReason.RADIOLOGICAL_PROGRESSION: "PROGRESSIVE DISEASE (RECIST 1.1)",
    EndpointReason.CLINICAL_PROGRESSION: "CLINICAL PROGRESSION",
    EndpointReason.STRATEGY_FAILURE: "STRATEGY FAILURE",
    EndpointReason.SWITCH_WITHOUT_PROGRESSION: "SYSTEMIC THERAPY SWITCH WITHOUT PROGRESSION",
    EndpointReason.NEW_LINE: "START OF NEXT LINE OF SYSTEMIC THERAPY",
    EndpointReason.NEXT_LINE_PROGRESSION: "PROGRESSION ON NEXT LINE OF THERAPY",
    EndpointReason.DEATH: "DEATH",
    EndpointReason.NO_BASELINE_ASSESSMENT: "NO BASELINE TUMOUR ASSESSMENT",
    EndpointReason.NO_ADEQUATE_ASSESSMENT: "NO ADEQUATE POST-BASELINE ASSESSMENT",
    EndpointReason.NEW_THERAPY: "NEW ANTICANCER THERAPY BEFORE EVENT",
    EndpointReason.SWITCH_WITHOUT_PROGRESSION_CENSORED: "SYSTEMIC THERAPY SWITCH WITHOUT PROGRESSION",
    EndpointReason.MISSED_ASSESSMENTS: "EVENT AFTER TWO OR MORE MISSED ASSESSMENTS",
    EndpointReason.EVENT_FREE_AT_LAST_ASSESSMENT: "EVENT-FREE AT LAST ADEQUATE ASSESSMENT",
    EndpointReason.WITHDRAWN: "WITHDRAWN FROM STUDY",
    EndpointReason.LOST_TO_FOLLOW_UP: "LOST TO FOLLOW-UP",
    EndpointReason.LAST_KNOWN_ALIVE: "ALIVE AT LAST CONTACT",
    EndpointReason.ALIVE_AFTER_CUTOFF: "ALIVE AFTER DATA CUT-OFF",
    EndpointReason.DEATH_AFTER_CUTOFF: "DEATH AFTER DATA CUT-OFF",
    EndpointReason.DEATH_WITHOUT_NEW_LINE: "DEATH WITHOUT NEXT LINE OF THERAPY",
}

#: CNSDTDSC per censoring reason: which date the row is censored at
CENSOR_DATE_DESCRIPTIONS: dict[EndpointReason, str] = {
    EndpointReason.NO_BASELINE_ASSESSMENT: "ORIGIN DATE",
    EndpointReason.NO_ADEQUATE_ASSESSMENT: "ORIGIN DATE",
    EndpointReason.NEW_THERAPY: "LAST ADEQUATE ASSESSMENT ON OR BEFORE NEW THERAPY",
    EndpointReason.SWITCH_WITHOUT_PROGRESSION_CENSORED: "LAST ADEQUATE ASSESSMENT ON OR BEFORE SWITCH",
    EndpointReason.MISSED_ASSESSMENTS: "LAST ADEQUATE ASSESSMENT BEFORE MISSED ASSESSMENTS",
    EndpointReason.EVENT_FREE_AT_LAST_ASSESSMENT: "LAST ADEQUATE ASSESSMENT",
    EndpointReason.WITHDRAWN: "LAST ADEQUATE ASSESSMENT BEFORE WITHDRAWAL",
    EndpointReason.LOST_TO_FOLLOW_UP: "LAST ADEQUATE ASSESSMENT BEFORE LOSS TO FOLLOW-UP",
    EndpointReason.LAST_KNOWN_ALIVE: "LAST DATE KNOWN ALIVE",
    EndpointReason.ALIVE_AFTER_CUTOFF: "DATA CUT-OFF DATE",
    EndpointReason.DEATH_AFTER_CUTOFF: "DATA CUT-OFF DATE",
    EndpointReason.DEATH_WITHOUT_NEW_LINE: "DATE OF DEATH",
    EndpointReason.SWITCH_WITHOUT_PROGRESSION: "DATE OF SWITCH",
    EndpointReason.STRATEGY_FAILURE: "DATE OF STRATEGY FAILURE",
}

VARIABLES: tuple[Variable, ...] = (
    STUDYID,
    USUBJID,
    SITEID,
    TRT01P,
    Variable(
        "PARAMCD",
        "Parameter Code",
        Kind.TEXT,
        8,
        allowed=tuple(p.value for p in Paramcd),
        source="outcomes.EndpointValue.paramcd",
    ),
    Variable("PARAM", "Parameter", Kind.TEXT, 80, allowed=tuple(PARAMS.values()), source="Derived: from PARAMCD"),
    Variable(
        "STARTDT",
        "Time-to-Event Origin Date for Subject",
        Kind.DATE,
        source="outcomes.EndpointValue.start_date",
        description="Randomisation (AVATAR II) or registration (COSMO) date, per the origin_event setting (D1); "
        "for 2nd PFS the strategy-failure date (D11).",
    ),
    Variable(
        "ADT",
        "Analysis Date",
        Kind.DATE,
        source="outcomes.EndpointValue.end_date",
        description="Event date, or the date the row is censored at (CNSDTDSC says which).",
    ),
    Variable(
        "AVAL",
        "Analysis Value",
        Kind.INTEGER,
        unit="days",
        source="outcomes.EndpointValue.aval_days",
        description="ADT - STARTDT + 1 (D2, clinical-spec C2: the origin day is day 1).",
    ),
    Variable("AVALU", "Analysis Value Unit", Kind.TEXT, 4, allowed=("DAYS",), source="Assigned"),
    Variable(
        "CNSR",
        "Censor",
        Kind.INTEGER,
        allowed=("0", "1"),
        source="outcomes.EndpointValue.event",
        description="0 = event, 1 = censored (ADaM TTE convention).",
    ),
    Variable(
        "EVNTDESC",
        "Event or Censoring Description",
        Kind.TEXT,
        60,
        allowed=tuple(sorted(set(REASON_DESCRIPTIONS.values()))),
        source="outcomes.EndpointValue.reason",
    ),
    Variable(
        "CNSDTDSC",
        "Censor Date Description",
        Kind.TEXT,
        60,
        allowed=tuple(sorted(set(CENSOR_DATE_DESCRIPTIONS.values()))),
        source="outcomes.EndpointValue.reason (censored rows)",
    ),
    Variable(
        "EVNTRSN",
        "Event or Censoring Reason Code",
        Kind.TEXT,
        40,
        allowed=tuple(r.value for r in EndpointReason),
        source="outcomes.EndpointValue.reason",
        description="The engine's reason code, for programs; EVNTDESC is its text.",
    ),
    Variable(
        "SRCDOM",
        "Source Data",
        Kind.TEXT,
        30,
        source="outcomes.EndpointValue.source_records (first)",
        description="The CRF (code) whose record set ADT; empty when the origin itself is the date.",
    ),
    Variable("SRCVAR", "Source Variable", Kind.TEXT, 40, source="The CRF's date field"),
    Variable("SRCSEQ", "Source Sequence Number", Kind.INTEGER, source="The CRF record's id"),
    Variable(
        "LMKSTAT",
        "Landmark Status at t* (PFS-6)",
        Kind.TEXT,
        8,
        allowed=tuple(s.value for s in LandmarkStatus),
        source="outcomes.EndpointValue.landmark_status",
        description="Crude status at the landmark (D3, D9): failure = event at AVAL <= t*, success = AVAL >= t*, "
        "unknown = censored before t*.",
    ),
    Variable(
        "PENDQFL",
        "Pending Query Flag",
        Kind.TEXT,
        1,
        allowed=("Y",),
        source="outcomes.EndpointValue.flags",
        description="Y: the value may change when an open query is answered (D32, D33, D40).",
    ),
)


def adtte_queryset(*, trial: Trial, user: Any) -> QuerySet[Any]:
    """The stored endpoint rows with dates of the trial's enrolled patients in the user's scope, as plain tuples of
    ``_COLUMNS``, in ``USUBJID`` then ``PARAMCD`` byte order: one statement, everything the row needs read in SQL
    (the arm by a join, the source record and the pending-query flag out of the JSON columns), so no JSON is decoded
    and no model instance built in Python."""
    patients = Patient.objects.for_user(user).filter(trial=trial, enrolment_date__isnull=False)
    single_arm = single_arm_of(trial)
    arm: Any = F("patient__allocation__arm__name")
    if single_arm is not None:  # COSMO: the one arm once registered (``common.planned_treatment``)
        arm = Coalesce(arm, Value(single_arm.name), output_field=CharField())
    collation = byte_order(EndpointValue.objects.db)
    queryset: QuerySet[Any] = (
        EndpointValue.objects.for_user(user)
        .filter(patient__in=patients, aval_days__isnull=False, event__isnull=False)  # not N/A, not not-computable
        .annotate(
            usubjid_order=Collate("patient__subject_id", collation) if collation else F("patient__subject_id"),
            paramcd_order=Collate("paramcd", collation) if collation else F("paramcd"),
            trt01p=arm,
            source_code=FirstSource("source_records", key="code"),
            source_pk=Cast(FirstSource("source_records", key="pk"), IntegerField()),
            pending_query=HasFlag("flags", flag=EndpointFlag.PENDING_QUERY.value),
        )
        .order_by("usubjid_order", "paramcd_order")
        .values_list(*_COLUMNS)
    )
    return queryset


def adtte_rows(*, trial: Trial, user: Any, chunk_size: int = CHUNK_SIZE) -> Iterator[Row]:
    """The stored endpoint rows of the trial's patients in the user's scope, by USUBJID and PARAMCD."""
    studyid = study_id(trial)
    date_fields = {model.crf.code: model.crf.date_field for model in crf_models()}
    for columns in stream_values(adtte_queryset(trial=trial, user=user), chunk_size=chunk_size * 10):
        yield (studyid, *_row(columns, date_fields))


_COLUMNS = (
    "patient__subject_id",
    "patient__site__code",
    "trt01p",
    "paramcd",
    "start_date",
    "end_date",
    "aval_days",
    "event",
    "reason",
    "landmark_status",
    "source_code",
    "source_pk",
    "pending_query",
)
_REASONS = {reason.value: reason for reason in EndpointReason}
_PARAMCDS = {paramcd.value: paramcd for paramcd in Paramcd}


def _row(columns: tuple[Any, ...], date_fields: dict[str, str]) -> tuple[Any, ...]:
    """ADTTE's columns after STUDYID from one tuple of ``_COLUMNS``."""
    (usubjid, siteid, trt01p, paramcd, start, end, aval, event, reason_code, landmark, domain, seq, pending) = columns
    reason = _REASONS.get(reason_code)
    known = _PARAMCDS.get(paramcd)
    censored = not event
    domain = domain or ""
    return (
        usubjid,
        siteid,
        trt01p,
        paramcd,
        PARAMS[known] if known is not None else paramcd,
        start,
        end,
        aval,
        "DAYS",
        1 if censored else 0,
        REASON_DESCRIPTIONS.get(reason, "") if reason else "",
        CENSOR_DATE_DESCRIPTIONS.get(reason, "") if reason and censored else "",
        reason_code,
        domain or None,
        date_fields.get(domain) or None,
        seq if domain else None,
        landmark or None,
        flag(bool(pending)),
    )


class FirstSource(Func):
    """``key`` of the first entry of a ``source_records`` list that names a record (has a ``pk``), as text: the record
    that set the row's date (``outcomes.services.patients._sources``)."""

    output_field = TextField()

    def __init__(self, expression: str, *, key: str) -> None:
        super().__init__(F(expression))
        self.key = key

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:
        raise NotSupportedError(f"FirstSource has no SQL for {connection.vendor}")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            "(SELECT s.e ->> %%s FROM jsonb_array_elements(%(expressions)s) WITH ORDINALITY AS s(e, n) "
            "WHERE s.e ->> 'pk' IS NOT NULL ORDER BY s.n LIMIT 1)"
        )
        sql, params = super().as_sql(compiler, connection, template=template, **extra)
        return sql, (self.key, *params)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            "(SELECT json_extract(s.value, %%s) FROM json_each(%(expressions)s) AS s "
            "WHERE json_extract(s.value, '$.pk') IS NOT NULL ORDER BY s.key LIMIT 1)"
        )
        sql, params = super().as_sql(compiler, connection, template=template, **extra)
        return sql, (f"$.{self.key}", *params)


class HasFlag(Func):
    """Whether a JSON list of flags holds ``flag``."""

    output_field = BooleanField()

    def __init__(self, expression: str, *, flag: str) -> None:
        super().__init__(F(expression))
        self.flag = flag

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:
        raise NotSupportedError(f"HasFlag has no SQL for {connection.vendor}")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = super().as_sql(compiler, connection, template="(%(expressions)s @> %%s::jsonb)", **extra)
        return sql, (*params, json.dumps([self.flag]))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "EXISTS (SELECT 1 FROM json_each(%(expressions)s) AS f WHERE f.value = %%s)"
        sql, params = super().as_sql(compiler, connection, template=template, **extra)
        return sql, (*params, self.flag)


ADTTE = Dataset(
    name="ADTTE",
    label="Time-to-Event Analysis Dataset",
    structure="One record per subject per time-to-event parameter",
    keys=("STUDYID", "USUBJID", "PARAMCD"),
    variables=VARIABLES,
    rows=adtte_rows,
)
