"""Progression-free survival: the FDA-style primary (D6), the EMA-style sensitivity (D7) and the crude PFS-6 status.

PFS = origin to the first progression (RECIST 1.1 PD dated by its PD date, D26; or investigator-declared clinical
progression when ``count_clinical_progression``, D4) or death, whichever comes first (FDA 2018 guidance; EMA
Appendix 1 Rev.1). In AVATAR II arm A the first progression counts even when it is treated by further SABR within the
strategy (clinical-spec 2.3, D32). A visceral crisis is not a progression by itself (D20).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from outcomes.domain.endpoints.assessment import assessment_row
from outcomes.domain.endpoints.context import AnalysisContext
from outcomes.domain.endpoints.results import EndpointReason, EndpointResult, LandmarkStatus, Paramcd
from outcomes.domain.endpoints.rows import EventCandidate, EventRank


def progression_candidates(context: AnalysisContext) -> list[EventCandidate]:
    candidates = [
        EventCandidate(
            date=tp.pd_date,
            rank=EventRank.PROGRESSION,
            reason=EndpointReason.RADIOLOGICAL_PROGRESSION,
            description=f"radiological progression (TP {tp.id}, PD date)",
            record_ids=(tp.id,),
        )
        for tp in context.progressions
        if tp.pd_date is not None
    ]
    if context.settings.count_clinical_progression:
        candidates += [
            EventCandidate(
                date=progression.date,
                rank=EventRank.CLINICAL_PROGRESSION,
                reason=EndpointReason.CLINICAL_PROGRESSION,
                description=f"clinical progression ({progression.id})",
                record_ids=(progression.id,),
            )
            for progression in context.clinical_progressions
        ]
    return candidates


def death_candidate(context: AnalysisContext) -> list[EventCandidate]:
    death = context.death
    if death is None:
        return []
    return [
        EventCandidate(
            date=death.date,
            rank=EventRank.DEATH,
            reason=EndpointReason.DEATH,
            description=f"death ({death.id})",
            record_ids=(death.id,),
        )
    ]


def pfs_rows(context: AnalysisContext) -> tuple[EndpointResult, EndpointResult]:
    """PFS (primary, the trial's censoring settings) and PFS_EMA (no new-therapy or missed-visit censoring)."""
    candidates = progression_candidates(context) + death_candidate(context)
    settings = context.settings
    primary = assessment_row(
        context,
        Paramcd.PFS,
        candidates,
        censor_at_new_therapy=settings.censor_at_new_therapy,
        missed_visit_censoring=settings.missed_visit_censoring,
        censoring_lines=context.new_lines,
    )
    sensitivity = assessment_row(
        context,
        Paramcd.PFS_EMA,
        candidates,
        censor_at_new_therapy=False,
        missed_visit_censoring=False,
        censoring_lines=context.new_lines,
    )
    return (
        _with_landmark(primary, settings.landmark_days),
        _with_landmark(sensitivity, settings.landmark_days),
    )


def landmark_status(aval_days: int, event: bool, landmark_days: Decimal) -> LandmarkStatus:
    """Crude PFS-6 status at t* on the AVAL scale (D2, D3; clinical-spec 2.2): an event at AVAL <= t* is a failure,
    follow-up reaching t* (AVAL >= t*) a success, a censoring before t* unknown (never a failure, D9)."""
    if event and aval_days <= landmark_days:
        return LandmarkStatus.FAILURE
    if aval_days >= landmark_days:
        return LandmarkStatus.SUCCESS
    return LandmarkStatus.UNKNOWN


def _with_landmark(row: EndpointResult, landmark_days: Decimal) -> EndpointResult:
    if row.aval_days is None or row.event is None:
        return row
    return replace(row, landmark_status=landmark_status(row.aval_days, row.event, landmark_days))
