"""The RECIST 1.1 engine: a pure function of one participant's full current data (clinical-spec C6).

Sources: Eisenhauer 2009 §4.3-§4.4 and Tables 1-3; clinical-spec §1.3-§1.8; decisions D5, D13, D22-D28, D32, D38.

Order of work:
1. sort the time points by date (input order never matters);
2. find equivocal new lesions that a later scan on or before the cut-off confirms (D27), whatever lies between;
3. walk each baseline segment (D32) in date order, carrying the nadir, the CR history and continued PR;
   the first PD of a segment is final: later time points of the segment are still derived and shown, but they
   are PD, and the nadir, CR history and continued PR stop there (§1.8c). A re-baselining starts afresh;
4. mark the best-overall-response window (D28), then BOR (§1.7) and the first progression.
"""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date

from lesions.domain.recist.arithmetic import percent_change
from lesions.domain.recist.best_response import DatedResponse, best_overall_response, confirms_response
from lesions.domain.recist.enums import (
    NewLesionStatus,
    NonTargetResponse,
    OverallResponse,
    TargetResponse,
    TargetStatus,
)
from lesions.domain.recist.inputs import (
    Baseline,
    PatientAssessments,
    RecistSettings,
    TimePoint,
)
from lesions.domain.recist.results import PatientResponse, SegmentResult, TimePointResult
from lesions.domain.recist.time_point import (
    SegmentHistory,
    TimePointAssessment,
    assess_time_point,
)

ALGORITHM_VERSION = "recist-1.1-engine/1"
"""Stored with every derived value (C6); bump it whenever a rule here changes."""


def evaluate(assessments: PatientAssessments, settings: RecistSettings | None = None) -> PatientResponse:
    """Derive every time point's response, the best overall response and the first progression.

    Raises ValueError when the input is inconsistent (duplicate ids, an observation of a lesion that the current
    baseline does not have, a negative measurement): that is a bug in the caller, not a clinical finding.
    Clinical edit checks live in ``validation`` and never raise.
    """
    settings = settings or RecistSettings()
    _check_structure(assessments)
    ordered = sorted(assessments.time_points, key=_sort_key)
    confirmed = _confirmed_equivocal_lesions(ordered, assessments.window_limits.data_cutoff)

    results: list[TimePointResult] = []
    segments: list[SegmentResult] = []
    baseline = assessments.baseline
    segment_points: list[TimePoint] = []
    for time_point in ordered:
        segment_points.append(time_point)
        if time_point.new_baseline is not None:
            _run_segment(len(segments), baseline, segment_points, confirmed, settings, results, segments)
            baseline, segment_points = time_point.new_baseline, []
    _run_segment(len(segments), baseline, segment_points, confirmed, settings, results, segments)

    return _summarise(assessments, settings, results, segments)


@dataclass
class _SegmentState:
    history: SegmentHistory
    nadir_date: date
    earlier: list[DatedResponse]
    progression: tuple[str, date] | None = None


def _run_segment(
    index: int,
    baseline: Baseline,
    time_points: list[TimePoint],
    confirmed: dict[str, dict[str, str]],
    settings: RecistSettings,
    results: list[TimePointResult],
    segments: list[SegmentResult],
) -> None:
    baseline_sum = baseline.sum_tenths if baseline.targets else None
    state = _SegmentState(SegmentHistory(baseline, baseline_sum), baseline.scan_date, [])
    for time_point in time_points:
        own = assess_time_point(time_point, state.history, confirmed.get(time_point.time_point_id, {}))
        results.append(_result(index, time_point, state, own))
        if state.progression is None:
            _advance(state, time_point, own, settings)
    segments.append(
        SegmentResult(
            index=index,
            baseline_date=baseline.scan_date,
            baseline_sum_tenths=baseline_sum,
            nadir_tenths=state.history.nadir_tenths,
            nadir_date=state.nadir_date,
            progression_time_point_id=state.progression[0] if state.progression else None,
            progression_date=state.progression[1] if state.progression else None,
        )
    )


def _advance(state: _SegmentState, time_point: TimePoint, own: TimePointAssessment, settings: RecistSettings) -> None:
    """Carry the segment's history past a time point that is not after its first PD (§1.3, §1.3c; D25)."""
    history = state.history
    nadir = history.nadir_tenths
    if own.sum_tenths is not None and nadir is not None and own.sum_tenths < nadir:
        nadir, state.nadir_date = own.sum_tenths, own.tp_date
    current = DatedResponse(time_point.time_point_id, own.tp_date, own.overall_response)
    if settings.confirmation_required:
        established = confirms_response(state.earlier, current, settings)
    else:
        established = own.overall_response in (OverallResponse.CR, OverallResponse.PR)
    state.earlier.append(current)
    state.history = replace(
        history,
        nadir_tenths=nadir,
        target_cr_seen=history.target_cr_seen or own.target_response_strict is TargetResponse.CR,
        non_target_cr_seen=history.non_target_cr_seen or own.non_target_response is NonTargetResponse.CR,
        partial_response_established=history.partial_response_established or established,
    )
    if own.overall_response is OverallResponse.PD:
        assert own.pd_date is not None
        state.progression = (time_point.time_point_id, own.pd_date)


def _result(index: int, time_point: TimePoint, state: _SegmentState, own: TimePointAssessment) -> TimePointResult:
    history = state.history
    baseline_sum = history.baseline.sum_tenths if history.baseline.targets else None
    nadir = history.nadir_tenths
    overall, pd_date, explanation = own.overall_response, own.pd_date, own.explanation
    if state.progression is not None:
        first_id, first_date = state.progression
        overall, pd_date = OverallResponse.PD, None
        explanation = (
            f"PD: PD is final in baseline segment {index} since {first_id} (PD date {first_date.isoformat()}); "
            f"this time point alone: {own.explanation}"
        )
    investigator = time_point.investigator_overall
    return TimePointResult(
        time_point_id=time_point.time_point_id,
        tp_date=own.tp_date,
        segment_index=index,
        starts_new_baseline=time_point.new_baseline is not None,
        baseline_sum_tenths=baseline_sum,
        sum_tenths=own.sum_tenths,
        partial_sum_tenths=own.partial_sum_tenths,
        nadir_tenths=nadir,
        change_from_baseline_percent=(
            percent_change(own.sum_tenths, baseline_sum)
            if own.sum_tenths is not None and baseline_sum is not None
            else None
        ),
        change_from_nadir_percent=(
            percent_change(own.sum_tenths, nadir) if own.sum_tenths is not None and nadir is not None else None
        ),
        change_from_nadir_tenths=(own.sum_tenths - nadir if own.sum_tenths is not None and nadir is not None else None),
        target_response_strict=own.target_response_strict,
        target_response_reported=own.target_response_reported,
        non_target_response=own.non_target_response,
        new_lesions=own.new_lesions,
        overall_response=overall,
        adequate=own.overall_response is not OverallResponse.NE,
        pd_date=pd_date,
        after_progression=state.progression is not None,
        in_bor_window=False,
        investigator_non_target=time_point.investigator_non_target,
        investigator_overall=investigator,
        discrepant=investigator is not None and investigator is not overall,
        explanation=explanation,
    )


def _summarise(
    assessments: PatientAssessments,
    settings: RecistSettings,
    results: list[TimePointResult],
    segments: list[SegmentResult],
) -> PatientResponse:
    limits = assessments.window_limits
    cutoff = limits.data_cutoff
    progressions = [
        result for result in results if result.pd_date is not None and (cutoff is None or result.pd_date <= cutoff)
    ]
    first = min(progressions, key=lambda result: result.pd_date or date.max, default=None)
    limit = limits.earliest()
    first_position = results.index(first) if first is not None else len(results)

    def in_window(position: int, result: TimePointResult) -> bool:
        """D28: up to the first PD (inclusive, even on a limit date); before every other limit (exclusive)."""
        if position > first_position:
            return False
        if position == first_position:
            assert result.pd_date is not None
            return limit is None or result.pd_date <= limit
        return limit is None or result.tp_date < limit

    windowed = [replace(result, in_bor_window=in_window(i, result)) for i, result in enumerate(results)]
    has_targets = {segment.index: segment.baseline_sum_tenths is not None for segment in segments}
    best = best_overall_response(
        [
            DatedResponse(
                result.time_point_id, result.tp_date, result.overall_response, has_targets[result.segment_index]
            )
            for result in windowed
            if result.in_bor_window
        ],
        origin_date=assessments.origin_date,
        settings=settings,
    )
    return PatientResponse(
        time_points=tuple(windowed),
        segments=tuple(segments),
        nadir_tenths=segments[-1].nadir_tenths,
        best_overall_response=best,
        first_progression_date=first.pd_date if first is not None else None,
        first_progression_time_point_id=first.time_point_id if first is not None else None,
    )


def _sort_key(time_point: TimePoint) -> tuple[date, date, str]:
    """Latest scan date of any kind (the visit date without scans), then visit date, then id (D22)."""
    scans = [obs.scan_date for obs in time_point.targets if obs.scan_date is not None]
    scans += [obs.scan_date for obs in time_point.non_targets if obs.scan_date is not None]
    scans += [obs.scan_date for obs in time_point.new_lesions]
    return max(scans, default=time_point.assessment_date), time_point.assessment_date, time_point.time_point_id


def _confirmed_equivocal_lesions(ordered: list[TimePoint], cutoff: date | None) -> dict[str, dict[str, str]]:
    """{time point id: {equivocal lesion id: confirming time point id}} (clinical-spec §1.5; D27).

    An equivocal observation is confirmed by a later YES of the same lesion scanned on or before the cut-off,
    unless a NO in between (the lesion was looked at and is not malignant) breaks the chain. What lies between
    (a new systemic line, another PD, a re-baselining) does not matter: the earliest PD date wins.
    """
    pending: dict[str, list[str]] = defaultdict(list)
    confirmed: dict[str, dict[str, str]] = defaultdict(dict)
    for time_point in ordered:
        for observation in sorted(time_point.new_lesions, key=lambda obs: obs.lesion_id):
            lesion_id = observation.lesion_id
            if observation.status is NewLesionStatus.NO:
                pending[lesion_id] = []
            elif observation.status is NewLesionStatus.EQUIVOCAL:
                pending[lesion_id].append(time_point.time_point_id)
            elif cutoff is None or observation.scan_date <= cutoff:
                for equivocal_time_point in pending[lesion_id]:
                    confirmed[equivocal_time_point][lesion_id] = time_point.time_point_id
                pending[lesion_id] = []
    return dict(confirmed)


def _check_structure(assessments: PatientAssessments) -> None:
    """Raise ValueError on input no clinical rule can make sense of (a caller's bug)."""
    problems: list[str] = []
    ids = [time_point.time_point_id for time_point in assessments.time_points]
    if len(ids) != len(set(ids)):
        problems.append("duplicate time point ids")
    baseline = assessments.baseline
    problems += _baseline_problems(baseline)
    for time_point in sorted(assessments.time_points, key=_sort_key):
        problems += _time_point_problems(time_point, baseline)
        if time_point.new_baseline is not None:
            baseline = time_point.new_baseline
            problems += _baseline_problems(baseline)
    if problems:
        raise ValueError("invalid RECIST input: " + "; ".join(problems))


def _baseline_problems(baseline: Baseline) -> list[str]:
    ids = [target.lesion_id for target in baseline.targets] + [lesion.lesion_id for lesion in baseline.non_targets]
    problems = [
        f"baseline lesion {lesion_id} listed twice" for lesion_id in sorted(set(ids)) if ids.count(lesion_id) > 1
    ]
    problems += [
        f"target {target.lesion_id} has a negative baseline measurement"
        for target in baseline.targets
        if target.baseline_tenths < 0
    ]
    return problems


def _time_point_problems(time_point: TimePoint, baseline: Baseline) -> list[str]:
    prefix = f"time point {time_point.time_point_id}"
    targets = {target.lesion_id for target in baseline.targets}
    non_targets = {lesion.lesion_id for lesion in baseline.non_targets}
    problems: list[str] = []
    for kind, observed, known in (
        ("target", [obs.lesion_id for obs in time_point.targets], targets),
        ("non-target", [obs.lesion_id for obs in time_point.non_targets], non_targets),
        ("new lesion", [obs.lesion_id for obs in time_point.new_lesions], None),
    ):
        problems += [
            f"{prefix}: {kind} {lesion_id} observed twice"
            for lesion_id in sorted(set(observed))
            if observed.count(lesion_id) > 1
        ]
        if known is not None:
            problems += [
                f"{prefix}: {kind} {lesion_id} is not in the baseline" for lesion_id in sorted(set(observed) - known)
            ]
        else:
            problems += [
                f"{prefix}: new lesion {lesion_id} is a baseline lesion"
                for lesion_id in sorted(set(observed) & (targets | non_targets))
            ]
    problems += [
        f"{prefix}: target {obs.lesion_id} has a negative measurement"
        for obs in time_point.targets
        if obs.status is TargetStatus.MEASURED and obs.tenths is not None and obs.tenths < 0
    ]
    return problems
