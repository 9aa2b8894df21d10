"""What the endpoint engine returns: one ADTTE-like row per endpoint, the queries it wants raised, and the
descriptive per-patient endpoints (visceral crisis, LAT complications, treatment-related AEs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from outcomes.domain.endpoints.inputs import LatModality


class Paramcd(StrEnum):
    """Endpoint codes (ADaM PARAMCD, at most 8 characters). Each code keeps one meaning whatever the settings."""

    PFS = "PFS"  # primary, FDA-style censoring (D6)
    PFS_EMA = "PFS_EMA"  # sensitivity, events at observed dates (D7)
    TSF = "TSF"  # AVATAR II primary (D10)
    TSF_SWITCH = "TSF_SW"  # D10 sensitivity: a switch for toxicity / patient choice is an event
    PFS2 = "PFS2"  # D11, D34
    PFS2ND = "PFS2ND"  # D11, D34: from strategy failure
    OS = "OS"  # D31
    TTNT = "TTNT"  # COSMO (D12, D35)
    TTNT_OR_DEATH = "TTNTDTH"  # D12 sensitivity


class EndpointReason(StrEnum):
    """Why the row ends where it does: an event type or a censoring rule."""

    # events
    RADIOLOGICAL_PROGRESSION = "RADIOLOGICAL_PROGRESSION"
    CLINICAL_PROGRESSION = "CLINICAL_PROGRESSION"
    STRATEGY_FAILURE = "STRATEGY_FAILURE"
    SWITCH_WITHOUT_PROGRESSION = "SWITCH_WITHOUT_PROGRESSION"
    NEW_LINE = "NEW_LINE"
    NEXT_LINE_PROGRESSION = "NEXT_LINE_PROGRESSION"
    DEATH = "DEATH"
    # censorings
    NO_BASELINE_ASSESSMENT = "NO_BASELINE_ASSESSMENT"
    NO_ADEQUATE_ASSESSMENT = "NO_ADEQUATE_ASSESSMENT"
    NEW_THERAPY = "NEW_THERAPY"
    SWITCH_WITHOUT_PROGRESSION_CENSORED = "SWITCH_WITHOUT_PROGRESSION_CENSORED"
    MISSED_ASSESSMENTS = "MISSED_ASSESSMENTS"
    EVENT_FREE_AT_LAST_ASSESSMENT = "EVENT_FREE_AT_LAST_ASSESSMENT"
    WITHDRAWN = "WITHDRAWN"
    LOST_TO_FOLLOW_UP = "LOST_TO_FOLLOW_UP"
    LAST_KNOWN_ALIVE = "LAST_KNOWN_ALIVE"
    ALIVE_AFTER_CUTOFF = "ALIVE_AFTER_CUTOFF"
    DEATH_AFTER_CUTOFF = "DEATH_AFTER_CUTOFF"
    DEATH_WITHOUT_NEW_LINE = "DEATH_WITHOUT_NEW_LINE"


class EndpointFlag(StrEnum):
    PENDING_QUERY = "PENDING_QUERY"  # D32, D33, D40: the value may change when the query is answered
    NOT_APPLICABLE = "NOT_APPLICABLE"  # the endpoint does not exist for this patient (trial, no strategy failure)
    NOT_COMPUTABLE = "NOT_COMPUTABLE"  # no origin date, or origin after the data cut-off


class LandmarkStatus(StrEnum):
    """Crude PFS-6 status at t* (clinical-spec 2.2): failure = event at AVAL <= t*; success = AVAL >= t*;
    unknown = censored before t* (followed < 6 months: never a failure, D9)."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    UNKNOWN = "UNKNOWN"


class QueryCode(StrEnum):
    UNFOLLOWED_ARM_A_PROGRESSION = "D32_UNFOLLOWED_ARM_A_PROGRESSION"
    PROGRESSION_WITHOUT_STRATEGY_FAILURE = "D33_PROGRESSION_WITHOUT_STRATEGY_FAILURE"
    STRATEGY_FAILURE_DATE_MISMATCH = "D40_STRATEGY_FAILURE_DATE_MISMATCH"
    STRATEGY_FAILURE_LESION_COUNT = "D10_STRATEGY_FAILURE_LESION_COUNT"
    ORIGIN_MISSING = "D1_ORIGIN_MISSING"
    DATE_INCONSISTENT = "DATE_INCONSISTENT"  # before the origin, after death, before its line's start


@dataclass(frozen=True, kw_only=True)
class EndpointQuery:
    """A query the engine wants raised, as data; the service decides how to store and route it."""

    code: QueryCode
    message: str
    record_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class EndpointResult:
    """One time-to-event row. ``aval_days = end_date - start_date + 1`` (D2). ``event`` is the inverse of ADaM's
    CNSR (``cnsr``: 0 = event, 1 = censored). Rows flagged NOT_APPLICABLE or NOT_COMPUTABLE carry no dates."""

    paramcd: Paramcd
    start_date: date | None
    end_date: date | None
    aval_days: int | None
    event: bool | None
    reason: EndpointReason | None
    explanation: str
    source_record_ids: tuple[str, ...] = ()
    flags: frozenset[EndpointFlag] = frozenset()
    landmark_status: LandmarkStatus | None = None

    @property
    def cnsr(self) -> int | None:
        return None if self.event is None else (0 if self.event else 1)

    @property
    def is_applicable(self) -> bool:
        return not self.flags & {EndpointFlag.NOT_APPLICABLE, EndpointFlag.NOT_COMPUTABLE}


@dataclass(frozen=True, kw_only=True)
class VisceralCrisisSummary:
    """COSMO secondary endpoint: >= 1 attested visceral crisis from the origin to the end of follow-up, and the
    first one's date (D20, clinical-spec 2.3). Counted on its own; never a PFS event by itself."""

    occurred: bool
    first_onset: date | None
    days_from_origin: int | None  # first onset - origin + 1 (D2)
    record_ids: tuple[str, ...]


class LatComplicationTiming(StrEnum):
    ACUTE = "ACUTE"  # onset - LAT start <= lat_acute_days (D15, D23 plain difference)
    LATE = "LATE"


@dataclass(frozen=True, kw_only=True)
class LatComplication:
    """An AE related (possible, probable, definite) to a LAT, timed from the latest course of that modality started
    on or before its onset (D15)."""

    adverse_event_id: str
    local_treatment_id: str
    modality: LatModality
    timing: LatComplicationTiming
    worst_grade: int


@dataclass(frozen=True, kw_only=True)
class PatientEndpoints:
    patient_id: str
    origin_date: date | None
    results: tuple[EndpointResult, ...]
    queries: tuple[EndpointQuery, ...]
    visceral_crisis: VisceralCrisisSummary
    lat_complications: tuple[LatComplication, ...]
    treatment_related_adverse_event_ids: tuple[str, ...]

    def result(self, paramcd: Paramcd) -> EndpointResult:
        for row in self.results:
            if row.paramcd is paramcd:
                return row
        raise KeyError(paramcd)
