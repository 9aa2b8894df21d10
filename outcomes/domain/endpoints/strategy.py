"""AVATAR II strategy endpoints: time to strategy failure (TSF), PFS2 and 2nd PFS, and the queries they raise.

- TSF (D10): origin to the date on the strategy-failure CRF (the date of the progression assessment that caused it,
  not the new therapy's start) or death. Only strategy-failure records and death are events (D33); an arm-A
  progression kept within the strategy does not end follow-up and every adequate time point counts for censoring
  (D32). Censoring follows the assessment rules (clinical-spec 2.3 "Recommended TSF censoring", D29): a new line
  started strictly before the event censors at the last adequate time point on or before its start; a switch for
  toxicity or patient choice is censored in the primary (unless ``tsf_toxicity_switch_is_event``) and an event at
  its start in the TSF_SW sensitivity (D10).
- PFS2 (D11, D34; EMA PFS2 definition): origin to progression on the next line (the first line started on or after
  the strategy-failure date) or death from any cause; no missed-visit rule; censored at the last date known alive.
  2nd PFS: the same event from the strategy-failure date, only for patients with a strategy failure.
- Queries: D32 (arm-A progression neither within the strategy nor followed by a strategy failure), D33 (line stopped
  for progression, or without a reason, and replaced, without a strategy failure), D40 (strategy-failure date not
  equal to the linked progression's date), D10 (more than ``max_oligo_lesions`` lesions claimed but not recorded).
"""

from __future__ import annotations

from datetime import date

from outcomes.domain.endpoints.alive import last_known_alive
from outcomes.domain.endpoints.assessment import assessment_row
from outcomes.domain.endpoints.context import AnalysisContext, LineChange
from outcomes.domain.endpoints.inputs import StopReason, StrategyFailure, StrategyFailureReason, TrialDesign
from outcomes.domain.endpoints.progression import death_candidate
from outcomes.domain.endpoints.results import (
    EndpointFlag,
    EndpointQuery,
    EndpointReason,
    EndpointResult,
    Paramcd,
    QueryCode,
)
from outcomes.domain.endpoints.rows import (
    EventCandidate,
    EventRank,
    describe_event,
    earliest,
    empty_row,
    event_ids,
    timed_row,
)

STRATEGY_PARAMCDS = (Paramcd.TSF, Paramcd.TSF_SWITCH, Paramcd.PFS2, Paramcd.PFS2ND)
_PENDING = frozenset({EndpointFlag.PENDING_QUERY})


def strategy_rows(context: AnalysisContext) -> tuple[tuple[EndpointResult, ...], tuple[EndpointQuery, ...]]:
    """TSF, TSF_SW, PFS2 and 2nd PFS rows (not applicable outside AVATAR II) and the queries behind them."""
    if context.patient.trial is not TrialDesign.AVATAR_II:
        return tuple(
            empty_row(paramcd, EndpointFlag.NOT_APPLICABLE, f"{paramcd.value} is an AVATAR II endpoint")
            for paramcd in STRATEGY_PARAMCDS
        ), ()

    date_queries = _date_mismatch_queries(context)
    pending_queries = (
        *_unfollowed_progression_queries(context),
        *_progression_without_failure_queries(context),
        *date_queries,
    )
    tsf_flags = _PENDING if pending_queries else frozenset()
    second_flags = _PENDING if date_queries else frozenset()
    failure = context.strategy_failures[0] if context.strategy_failures else None
    return (
        _tsf_row(context, Paramcd.TSF, switch_is_event=context.settings.tsf_toxicity_switch_is_event, flags=tsf_flags),
        _tsf_row(context, Paramcd.TSF_SWITCH, switch_is_event=True, flags=tsf_flags),
        _pfs2_row(context, Paramcd.PFS2, failure, start=context.origin),
        _pfs2_row(context, Paramcd.PFS2ND, failure, start=failure.date, flags=second_flags)
        if failure
        else empty_row(Paramcd.PFS2ND, EndpointFlag.NOT_APPLICABLE, "2nd PFS exists only after strategy failure (D34)"),
    ), (*pending_queries, *_lesion_count_queries(context))


def _failure_text(failure: StrategyFailure) -> str:
    return f"strategy failure {failure.id} ({failure.reason.value.lower().replace('_', ' ')})"


def _tsf_row(
    context: AnalysisContext, paramcd: Paramcd, *, switch_is_event: bool, flags: frozenset[EndpointFlag]
) -> EndpointResult:
    candidates = death_candidate(context)
    if context.strategy_failures:
        failure = context.strategy_failures[0]
        candidates.append(
            EventCandidate(
                date=failure.date,
                rank=EventRank.PROGRESSION,
                reason=EndpointReason.STRATEGY_FAILURE,
                description=_failure_text(failure),
                record_ids=(failure.id,),
            )
        )
    censoring_lines: tuple[LineChange, ...] = context.new_lines
    if switch_is_event:
        switches = [change for change in context.new_lines if change.is_switch_without_progression]
        candidates += [
            EventCandidate(
                date=change.line.start,
                rank=EventRank.NEW_LINE,
                reason=EndpointReason.SWITCH_WITHOUT_PROGRESSION,
                description=change.describe(as_event=True),
                record_ids=(change.line.id,),
            )
            for change in switches
        ]
        censoring_lines = tuple(change for change in context.new_lines if change not in switches)
    return assessment_row(
        context,
        paramcd,
        candidates,
        censor_at_new_therapy=context.settings.censor_at_new_therapy,
        missed_visit_censoring=context.settings.missed_visit_censoring,
        censoring_lines=censoring_lines,
        name_switches=True,
        flags=flags,
    )


def _pfs2_row(
    context: AnalysisContext,
    paramcd: Paramcd,
    failure: StrategyFailure | None,
    *,
    start: date,
    flags: frozenset[EndpointFlag] = frozenset(),
) -> EndpointResult:
    candidates = death_candidate(context)
    next_line = None
    if failure is not None:
        next_line = next((change.line for change in context.new_lines if change.line.start >= failure.date), None)
    if next_line is not None:
        candidates += [
            EventCandidate(
                date=progression.date,
                rank=EventRank.PROGRESSION,
                reason=EndpointReason.NEXT_LINE_PROGRESSION,
                description=f"progression ({progression.id}) on line {next_line.line_number} ({next_line.id})",
                record_ids=(progression.id,),
            )
            for progression in context.next_line_progressions
            if progression.line_id == next_line.id
        ]
    same_day = earliest(candidates)
    if same_day:
        return timed_row(
            paramcd,
            start=start,
            end=same_day[0].date,
            event=True,
            reason=same_day[0].reason,
            explanation=f"event: {describe_event(same_day)}",
            record_ids=event_ids(same_day),
            flags=flags,
        )
    floor_label = "the origin" if paramcd is Paramcd.PFS2 else "the strategy-failure date"
    alive = last_known_alive(context, floor=start, floor_label=floor_label)
    if failure is None:
        situation = "no strategy failure"
    elif next_line is None:
        situation = f"no next line started since {_failure_text(failure)} on {failure.date}"
    else:
        situation = f"no progression recorded on line {next_line.line_number} ({next_line.id})"
    return timed_row(
        paramcd,
        start=start,
        end=alive.date,
        event=False,
        reason=alive.reason,
        explanation=f"censored at {alive.description}: {situation}",
        record_ids=(*alive.record_ids, *((failure.id,) if failure else ()), *((next_line.id,) if next_line else ())),
        flags=flags,
    )


def _unfollowed_progression_queries(context: AnalysisContext) -> list[EndpointQuery]:
    """D32: an arm-A progression neither kept within the strategy (SABR to every progressing lesion) nor followed by
    a strategy failure. A failure linked to it, or dated on or before its PD date, answers it."""
    if not context.patient.is_arm_a:
        return []
    failures = context.strategy_failures
    linked = {failure.linked_record_id for failure in failures}
    return [
        EndpointQuery(
            code=QueryCode.UNFOLLOWED_ARM_A_PROGRESSION,
            message=(
                f"arm-A progression at TP {tp.id} (PD date {tp.pd_date}) was followed neither by SABR to every "
                "progressing lesion nor by a strategy-failure record; TSF is pending"
            ),
            record_ids=(tp.id,),
        )
        for tp in context.progressions
        if tp.pd_date is not None
        and not tp.within_strategy
        and tp.id not in linked
        and not any(failure.date <= tp.pd_date for failure in failures)
    ]


def _progression_without_failure_queries(context: AnalysisContext) -> list[EndpointQuery]:
    """D33: a line stopped for progression (or with no reason) and followed by a new line, with no strategy-failure
    record on or before the new line's start. A switch for toxicity, patient choice or another reason raises none."""
    queries = []
    for change in context.new_lines:
        if change.previous_stop_reason not in (StopReason.PROGRESSION, None):
            continue
        if any(failure.date <= change.line.start for failure in context.strategy_failures):
            continue
        previous = change.previous
        stopped = "for progression" if change.previous_stop_reason else "without a recorded reason"
        what = f"line {previous.line_number} ({previous.id}) stopped {stopped}" if previous else "no earlier line"
        queries.append(
            EndpointQuery(
                code=QueryCode.PROGRESSION_WITHOUT_STRATEGY_FAILURE,
                message=f"{what} and {change.describe()} without a strategy-failure record; TSF is pending",
                record_ids=(*((previous.id,) if previous else ()), change.line.id),
            )
        )
    return queries


def _date_mismatch_queries(context: AnalysisContext) -> list[EndpointQuery]:
    """D40: the strategy-failure date must equal the PD date (D26) of the linked time point or the date of the linked
    clinical progression. Until answered, TSF and 2nd PFS use the CRF's date and are pending."""
    progression_dates = {tp.id: tp.pd_date for tp in context.patient.time_points}
    progression_dates |= {cp.id: cp.date for cp in context.patient.clinical_progressions}
    queries = []
    for failure in context.strategy_failures:
        if failure.linked_record_id is None:
            continue
        linked_date = progression_dates.get(failure.linked_record_id)
        if linked_date == failure.date:
            continue
        if failure.linked_record_id not in progression_dates:
            problem = f"links to {failure.linked_record_id}, which is neither a time point nor a clinical progression"
        elif linked_date is None:
            problem = f"links to TP {failure.linked_record_id}, which is not a progression"
        else:
            problem = f"is dated {failure.date} but the linked progression {failure.linked_record_id} is {linked_date}"
        queries.append(
            EndpointQuery(
                code=QueryCode.STRATEGY_FAILURE_DATE_MISMATCH,
                message=f"strategy failure {failure.id} {problem}; TSF and 2nd PFS use {failure.date} until answered",
                record_ids=(failure.id, failure.linked_record_id),
            )
        )
    return queries


def _lesion_count_queries(context: AnalysisContext) -> list[EndpointQuery]:
    """D10: "more than ``max_oligo_lesions`` progressing lesions" needs a recorded count above the setting."""
    limit = context.settings.max_oligo_lesions
    return [
        EndpointQuery(
            code=QueryCode.STRATEGY_FAILURE_LESION_COUNT,
            message=(
                f"strategy failure {failure.id} gives more than {limit} progressing lesions as its reason but records "
                f"{failure.progressing_lesion_count}"
            ),
            record_ids=(failure.id,),
        )
        for failure in context.strategy_failures
        if failure.reason is StrategyFailureReason.TOO_MANY_PROGRESSING_LESIONS
        and (failure.progressing_lesion_count is None or failure.progressing_lesion_count <= limit)
    ]
