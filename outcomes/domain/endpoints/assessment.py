"""Time-to-event rows whose censoring follows the tumour assessments: PFS and TSF.

Sources: FDA, "Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics" (2018), censoring table
(clinical-spec 2.1); EMA/CHMP/27994/2008/Rev.1 Appendix 1 for the sensitivity that keeps events at their observed
dates; decisions D6, D7, D22, D23, D29, D30. In order:

1. No baseline tumour assessment: censored at the origin (day 1).
2. The event is the earliest candidate; same-day candidates are described in D30 order.
3. New-therapy censoring first (D29): if a new line started strictly before the event (or at all, without one),
   censor at the last adequate time point with TP date on or before its start; a line started on the event day
   does not censor it (D30).
4. Otherwise the missed-visit rule (D6, D23): with L the last adequate time point dated strictly before the event
   (the origin if none, D22), censor at L when ``event - L > 2 * interval + window`` plain days.
5. No event: censored at the last adequate assessment (the origin if none); a withdrawal or loss to follow-up
   names the end-of-study record.
"""

from __future__ import annotations

from collections.abc import Iterable

from outcomes.domain.endpoints.context import AnalysisContext, LineChange
from outcomes.domain.endpoints.inputs import EndOfStudyReason
from outcomes.domain.endpoints.results import EndpointFlag, EndpointReason, EndpointResult, Paramcd
from outcomes.domain.endpoints.rows import EventCandidate, describe_event, earliest, event_ids, timed_row

_END_OF_STUDY_REASON = {
    EndOfStudyReason.WITHDREW_CONSENT: (EndpointReason.WITHDRAWN, "withdrew consent"),
    EndOfStudyReason.INVESTIGATOR_DECISION: (EndpointReason.WITHDRAWN, "withdrawn by the investigator"),
    EndOfStudyReason.LOST_TO_FOLLOW_UP: (EndpointReason.LOST_TO_FOLLOW_UP, "lost to follow-up"),
}


def assessment_row(
    context: AnalysisContext,
    paramcd: Paramcd,
    candidates: Iterable[EventCandidate],
    *,
    censor_at_new_therapy: bool,
    missed_visit_censoring: bool,
    censoring_lines: tuple[LineChange, ...],
    name_switches: bool = False,
    flags: frozenset[EndpointFlag] = frozenset(),
) -> EndpointResult:
    """One assessment-censored row. ``censoring_lines`` are the new lines that may censor, sorted by start (the
    first one decides); ``name_switches`` gives a toxicity or patient-choice switch its own censoring reason (D10)."""
    origin = context.origin
    if not context.patient.has_baseline_assessment:
        return timed_row(
            paramcd,
            start=origin,
            end=origin,
            event=False,
            reason=EndpointReason.NO_BASELINE_ASSESSMENT,
            explanation=f"censored at the origin {origin}: no baseline tumour assessment",
            record_ids=(),
            flags=flags,
        )

    same_day = earliest(candidates)
    event_date = same_day[0].date if same_day else None

    first_line = censoring_lines[0] if censor_at_new_therapy and censoring_lines else None
    if first_line is not None and (event_date is None or first_line.line.start < event_date):
        censor_at = context.last_adequate_on_or_before(first_line.line.start)
        reason = EndpointReason.NEW_THERAPY
        if name_switches and first_line.is_switch_without_progression:
            reason = EndpointReason.SWITCH_WITHOUT_PROGRESSION_CENSORED
        explanation = f"censored at {context.describe_assessment(censor_at)}: {first_line.describe()}"
        explanation += f", before the {describe_event(same_day)}" if same_day else ""
        return timed_row(
            paramcd,
            start=origin,
            end=censor_at.tp_date if censor_at else origin,
            event=False,
            reason=reason,
            explanation=explanation,
            record_ids=(*((censor_at.id,) if censor_at else ()), first_line.line.id, *event_ids(same_day)),
            flags=flags,
        )

    if event_date is not None:
        if missed_visit_censoring:
            reference = context.last_adequate_before(event_date)
            reference_date = reference.tp_date if reference else origin
            gap = (event_date - reference_date).days
            threshold = context.settings.missed_visit_threshold_days
            if gap > threshold:
                settings = context.settings
                return timed_row(
                    paramcd,
                    start=origin,
                    end=reference_date,
                    event=False,
                    reason=EndpointReason.MISSED_ASSESSMENTS,
                    explanation=(
                        f"censored at {context.describe_assessment(reference)}: the {describe_event(same_day)} "
                        f"came {gap} days after it, more than 2 x {settings.interval_days} + {settings.window_days} "
                        f"= {threshold} days (at least 2 missed assessments)"
                    ),
                    record_ids=(*((reference.id,) if reference else ()), *event_ids(same_day)),
                    flags=flags,
                )
        return timed_row(
            paramcd,
            start=origin,
            end=event_date,
            event=True,
            reason=same_day[0].reason,
            explanation=f"event: {describe_event(same_day)}",
            record_ids=event_ids(same_day),
            flags=flags,
        )

    last = context.last_adequate()
    reason = EndpointReason.EVENT_FREE_AT_LAST_ASSESSMENT if last else EndpointReason.NO_ADEQUATE_ASSESSMENT
    explanation = f"censored at {context.describe_assessment(last)}, the last adequate assessment: no event"
    if context.cutoff is not None:
        explanation += f" by the data cut-off {context.cutoff}"
    record_ids = [last.id] if last else []
    end_of_study = context.end_of_study
    if end_of_study is not None and end_of_study.reason in _END_OF_STUDY_REASON:
        reason, text = _END_OF_STUDY_REASON[end_of_study.reason]
        explanation += f"; {text} on {end_of_study.date} (end of study {end_of_study.id})"
        record_ids.append(end_of_study.id)
    return timed_row(
        paramcd,
        start=origin,
        end=last.tp_date if last else origin,
        event=False,
        reason=reason,
        explanation=explanation,
        record_ids=record_ids,
        flags=flags,
    )
