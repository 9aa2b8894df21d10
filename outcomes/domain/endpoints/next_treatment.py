"""COSMO time to next treatment (clinical-spec 2.3; D12, D35).

Event: the start of the next line of systemic therapy (a switch of agent; a dose change is not a line). A death
without a new line is censored at the death in the primary (``ttnt_death_is_event`` = False) and is an event in the
"TTNT or death" sensitivity (TTNTDTH). Stopping treatment without a new line is no censoring (D35): alive without a
new line, the patient is censored at the last date known alive (D31). Neither the missed-visit nor the new-therapy
rule applies: the event is not found by a tumour assessment.
"""

from __future__ import annotations

from outcomes.domain.endpoints.alive import last_known_alive
from outcomes.domain.endpoints.context import AnalysisContext
from outcomes.domain.endpoints.inputs import TrialDesign
from outcomes.domain.endpoints.progression import death_candidate
from outcomes.domain.endpoints.results import EndpointFlag, EndpointReason, EndpointResult, Paramcd
from outcomes.domain.endpoints.rows import (
    EventCandidate,
    EventRank,
    describe_event,
    earliest,
    empty_row,
    event_ids,
    timed_row,
)


def ttnt_rows(context: AnalysisContext) -> tuple[EndpointResult, EndpointResult]:
    if context.patient.trial is not TrialDesign.COSMO:
        return (
            empty_row(Paramcd.TTNT, EndpointFlag.NOT_APPLICABLE, "time to next treatment is a COSMO endpoint"),
            empty_row(Paramcd.TTNT_OR_DEATH, EndpointFlag.NOT_APPLICABLE, "time to next treatment is a COSMO endpoint"),
        )
    return (
        _ttnt_row(context, Paramcd.TTNT, death_is_event=context.settings.ttnt_death_is_event),
        _ttnt_row(context, Paramcd.TTNT_OR_DEATH, death_is_event=True),
    )


def _ttnt_row(context: AnalysisContext, paramcd: Paramcd, *, death_is_event: bool) -> EndpointResult:
    origin = context.origin
    candidates = [
        EventCandidate(
            date=change.line.start,
            rank=EventRank.NEW_LINE,
            reason=EndpointReason.NEW_LINE,
            description=change.describe(as_event=True),
            record_ids=(change.line.id,),
        )
        for change in context.new_lines[:1]
    ]
    candidates += death_candidate(context)
    same_day = earliest(candidates)
    if same_day:
        first = same_day[0]
        if first.reason is EndpointReason.NEW_LINE or death_is_event:
            return timed_row(
                paramcd,
                start=origin,
                end=first.date,
                event=True,
                reason=first.reason,
                explanation=f"event: {describe_event(same_day)}",
                record_ids=event_ids(same_day),
            )
        return timed_row(
            paramcd,
            start=origin,
            end=first.date,
            event=False,
            reason=EndpointReason.DEATH_WITHOUT_NEW_LINE,
            explanation=f"censored at the {describe_event(same_day)}, without a new line (D12)",
            record_ids=event_ids(same_day),
        )
    alive = last_known_alive(context, floor=origin, floor_label="the origin")
    return timed_row(
        paramcd,
        start=origin,
        end=alive.date,
        event=False,
        reason=alive.reason,
        explanation=f"censored at {alive.description}: no new line of systemic therapy",
        record_ids=alive.record_ids,
    )
