"""Last date known alive and overall survival (D31; FDA 2018 guidance: OS = origin to death from any cause).

Last known alive = the latest of: survival-status contacts, visits done and FACT-B completions (passed in as
``AliveEvidence``), scan dates (the TP dates), LAT course starts, systemic therapy start and stop dates, AE onset and
resolution dates; never the death date. Records after the cut-off are ignored, except that any proof of life after
it (a death after it included) means alive at the cut-off: censored at the cut-off date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from outcomes.domain.endpoints.context import AnalysisContext
from outcomes.domain.endpoints.inputs import AliveEvidence, PatientInput
from outcomes.domain.endpoints.results import EndpointReason, EndpointResult, Paramcd
from outcomes.domain.endpoints.rows import timed_row


@dataclass(frozen=True)
class AliveStatus:
    date: date
    reason: EndpointReason
    description: str
    record_ids: tuple[str, ...]


def alive_evidence(patient: PatientInput) -> tuple[AliveEvidence, ...]:
    """Every dated proof of life D31 accepts, from the passed evidence and the engine's other inputs."""
    evidence = list(patient.alive_evidence)
    evidence += [AliveEvidence(date=tp.tp_date, source="scan", record_id=tp.id) for tp in patient.time_points]
    evidence += [AliveEvidence(date=t.start, source="LAT", record_id=t.id) for t in patient.local_treatments]
    for line in patient.therapy_lines:
        evidence.append(AliveEvidence(date=line.start, source="systemic therapy start", record_id=line.id))
        if line.stop is not None:
            evidence.append(AliveEvidence(date=line.stop, source="systemic therapy stop", record_id=line.id))
    for event in patient.adverse_events:
        evidence.append(AliveEvidence(date=event.onset, source="adverse event onset", record_id=event.id))
        if event.resolution is not None:
            evidence.append(AliveEvidence(date=event.resolution, source="adverse event resolution", record_id=event.id))
    return tuple(evidence)


def _describe(evidence: AliveEvidence) -> str:
    return evidence.source + (f" {evidence.record_id}" if evidence.record_id else "")


def _ids(evidence: AliveEvidence) -> tuple[str, ...]:
    return (evidence.record_id,) if evidence.record_id else ()


def _key(evidence: AliveEvidence) -> tuple[date, str, str]:
    return (evidence.date, evidence.source, evidence.record_id or "")


def last_known_alive(context: AnalysisContext, *, floor: date, floor_label: str) -> AliveStatus:
    """The date to censor at when the patient is not known dead by the cut-off, never before ``floor`` (the
    endpoint's start)."""
    cutoff = context.cutoff
    patient = context.patient
    evidence = alive_evidence(patient)
    if cutoff is not None:
        death = patient.death
        if death is not None and death.date > cutoff:
            return AliveStatus(
                date=cutoff,
                reason=EndpointReason.DEATH_AFTER_CUTOFF,
                description=f"the data cut-off {cutoff}: death ({death.id}) on {death.date} is after it",
                record_ids=(death.id,),
            )
        after = sorted((item for item in evidence if item.date > cutoff), key=_key)
        if after:
            return AliveStatus(
                date=cutoff,
                reason=EndpointReason.ALIVE_AFTER_CUTOFF,
                description=f"the data cut-off {cutoff}: alive after it ({_describe(after[0])} on {after[0].date})",
                record_ids=_ids(after[0]),
            )
    usable = [item for item in evidence if item.date >= floor]
    if not usable:
        return AliveStatus(
            date=floor,
            reason=EndpointReason.LAST_KNOWN_ALIVE,
            description=f"{floor_label} {floor} (no later proof of life)",
            record_ids=(),
        )
    latest_date = max(item.date for item in usable)
    latest = min((item for item in usable if item.date == latest_date), key=_key)
    return AliveStatus(
        date=latest.date,
        reason=EndpointReason.LAST_KNOWN_ALIVE,
        description=f"the last date known alive {latest.date} ({_describe(latest)})",
        record_ids=_ids(latest),
    )


def os_row(context: AnalysisContext) -> EndpointResult:
    """OS: death at or before the cut-off is the event; otherwise censored at the last date known alive (D31)."""
    origin = context.origin
    death = context.death
    if death is not None:
        return timed_row(
            Paramcd.OS,
            start=origin,
            end=death.date,
            event=True,
            reason=EndpointReason.DEATH,
            explanation=f"event: death ({death.id}) on {death.date}",
            record_ids=(death.id,),
        )
    alive = last_known_alive(context, floor=origin, floor_label="the origin")
    return timed_row(
        Paramcd.OS,
        start=origin,
        end=alive.date,
        event=False,
        reason=alive.reason,
        explanation=f"censored at {alive.description}",
        record_ids=alive.record_ids,
    )
