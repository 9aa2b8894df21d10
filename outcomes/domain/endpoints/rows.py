"""Building endpoint rows and their event candidates, shared by every endpoint."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import IntEnum

from outcomes.domain.endpoints.results import EndpointFlag, EndpointReason, EndpointResult, Paramcd


class EventRank(IntEnum):
    """Same-day order of D30: radiological progression, clinical progression, start of a new line, death. A strategy
    failure is dated by its progression assessment (D10), so it ranks with progression."""

    PROGRESSION = 0
    CLINICAL_PROGRESSION = 1
    NEW_LINE = 2
    DEATH = 3


@dataclass(frozen=True)
class EventCandidate:
    date: date
    rank: EventRank
    reason: EndpointReason
    description: str
    record_ids: tuple[str, ...]


def earliest(candidates: Iterable[EventCandidate]) -> tuple[EventCandidate, ...]:
    """The candidates on the earliest date, in D30 order (the first one names the event)."""
    pool = list(candidates)
    if not pool:
        return ()
    first = min(candidate.date for candidate in pool)
    return tuple(
        sorted(
            (candidate for candidate in pool if candidate.date == first),
            key=lambda candidate: (candidate.rank, candidate.record_ids),
        )
    )


def describe_event(same_day: tuple[EventCandidate, ...]) -> str:
    first, *others = same_day
    text = f"{first.description} on {first.date}"
    if others:
        text += "; the same day: " + ", ".join(other.description for other in others)
    return text


def event_ids(same_day: tuple[EventCandidate, ...]) -> tuple[str, ...]:
    return tuple(record_id for candidate in same_day for record_id in candidate.record_ids)


def aval_days(start: date, end: date) -> int:
    """Duration with the ADaM +1 (D2, clinical-spec C2): the origin day is day 1."""
    return (end - start).days + 1


def timed_row(
    paramcd: Paramcd,
    *,
    start: date,
    end: date,
    event: bool,
    reason: EndpointReason,
    explanation: str,
    record_ids: Iterable[str],
    flags: frozenset[EndpointFlag] = frozenset(),
) -> EndpointResult:
    if end < start:  # a guard, not a data check: every rule censors at or after the start
        raise AssertionError(f"{paramcd.value}: end {end} before start {start}")
    return EndpointResult(
        paramcd=paramcd,
        start_date=start,
        end_date=end,
        aval_days=aval_days(start, end),
        event=event,
        reason=reason,
        explanation=explanation,
        source_record_ids=tuple(dict.fromkeys(record_ids)),
        flags=flags,
    )


def empty_row(paramcd: Paramcd, flag: EndpointFlag, explanation: str) -> EndpointResult:
    """A row for an endpoint the patient does not have (NOT_APPLICABLE) or that cannot be dated (NOT_COMPUTABLE)."""
    return EndpointResult(
        paramcd=paramcd,
        start_date=None,
        end_date=None,
        aval_days=None,
        event=None,
        reason=None,
        explanation=explanation,
        flags=frozenset({flag}),
    )
