"""Properties of the RECIST engine over generated participants (hypothesis).

Generated participants have 0-4 targets, 0-3 non-targets (some locally treated), up to three baseline segments
(D32), random measurements, statuses, new lesions (equivocal ones sometimes confirmed later), investigator calls
and window limits. Sources of the properties: clinical-spec §1.3 (nadir), §1.8c (PD is final), C6 (pure function
of the full data, so order and repetition change nothing).
"""

import random
from dataclasses import replace
from datetime import date, timedelta
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from lesions.domain.recist import (
    Baseline,
    NewLesionObservation,
    NewLesionStatus,
    NonTargetLesion,
    NonTargetObservation,
    NonTargetResponse,
    NonTargetStatus,
    OverallResponse,
    PatientAssessments,
    PatientResponse,
    RecistSettings,
    ResponseWindowLimits,
    TargetLesion,
    TargetObservation,
    TargetResponse,
    TimePoint,
    evaluate,
)

ORIGIN = date(2026, 1, 5)
T = TypeVar("T")

# Weighted so that long runs of fully evaluated time points (and so continued PR, CR, confirmation) occur.
TARGET_KINDS = ("measured",) * 8 + ("too small", "absent", "not evaluated", "missing")
NON_TARGET_STATUSES: tuple[NonTargetStatus | None, ...] = (
    None,
    *(NonTargetStatus.ABSENT,) * 2,
    *(NonTargetStatus.PRESENT,) * 3,
    NonTargetStatus.UNEQUIVOCAL_PROGRESSION,
    NonTargetStatus.NOT_EVALUATED,
)
NEW_LESION_STATUSES: tuple[NewLesionStatus | None, ...] = (
    *(None,) * 6,
    NewLesionStatus.NO,
    NewLesionStatus.YES,
    NewLesionStatus.EQUIVOCAL,
    NewLesionStatus.EQUIVOCAL,
)


def on(days: int) -> date:
    return ORIGIN + timedelta(days=days)


@st.composite
def baselines(draw: st.DrawFn, prefix: str, scan_date: date) -> Baseline:
    targets = tuple(
        TargetLesion(
            f"{prefix}T{i}",
            organ=f"organ {i}",
            baseline_tenths=draw(st.integers(100, 600)),
            nodal=draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 4)))
    )
    non_targets = tuple(
        NonTargetLesion(f"{prefix}N{i}", nodal=draw(st.booleans()), locally_treated=draw(st.booleans()))
        for i in range(draw(st.integers(0, 3)))
    )
    return Baseline(scan_date, targets, non_targets)


@st.composite
def time_points(
    draw: st.DrawFn, tp_id: str, visit_day: int, scale: int, baseline: Baseline, new_baseline: Baseline | None
) -> TimePoint:
    """``scale``: the tumour burden in % of baseline around which this time point's measurements scatter."""

    def scanned() -> date:
        return on(visit_day - draw(st.integers(0, 3)))

    targets: list[TargetObservation] = []
    for target in baseline.targets:
        kind = draw(st.sampled_from(TARGET_KINDS))
        if kind == "measured":
            value = max(0, target.baseline_tenths * scale // 100 + draw(st.integers(-30, 30)))
            targets.append(TargetObservation.measured(target.lesion_id, value, scanned()))
        elif kind == "too small":
            targets.append(TargetObservation.too_small(target.lesion_id, scanned()))
        elif kind == "absent":
            targets.append(TargetObservation.absent(target.lesion_id, scanned()))
        elif kind == "not evaluated":
            targets.append(TargetObservation.not_evaluated(target.lesion_id))
    non_targets: list[NonTargetObservation] = []
    for lesion in baseline.non_targets:
        status = draw(st.sampled_from(NON_TARGET_STATUSES))
        if status is not None:
            scan = None if status is NonTargetStatus.NOT_EVALUATED else scanned()
            non_targets.append(NonTargetObservation(lesion.lesion_id, status, scan))
    new_lesions: list[NewLesionObservation] = []
    for lesion_id in ("X1", "X2"):
        new_status = draw(st.sampled_from(NEW_LESION_STATUSES))
        if new_status is not None:
            new_lesions.append(NewLesionObservation(lesion_id, new_status, scanned()))
    return TimePoint(
        time_point_id=tp_id,
        assessment_date=on(visit_day),
        targets=tuple(targets),
        non_targets=tuple(non_targets),
        new_lesions=tuple(new_lesions),
        investigator_non_target=draw(st.sampled_from((None, None, None, *NonTargetResponse))),
        investigator_overall=draw(st.none() | st.sampled_from(OverallResponse)),
        new_baseline=new_baseline,
    )


@st.composite
def participants(draw: st.DrawFn) -> PatientAssessments:
    """Visits at least 5 days apart, scans up to 3 days before their visit, so date order = generation order."""
    segment_count = draw(st.integers(1, 3))
    baseline = draw(baselines("S0", on(-7)))
    first_baseline = baseline
    visits: list[TimePoint] = []
    visit_day = 0
    scale = draw(st.integers(30, 110))  # a random walk of tumour burden, so PR, continued PR, SD and PD all occur
    for segment in range(segment_count):
        count = draw(st.integers(1, 5))
        for k in range(count):
            visit_day += draw(st.integers(5, 120))
            scale = max(0, scale + draw(st.integers(-25, 25)))
            rebaselines = k == count - 1 and segment < segment_count - 1
            new_baseline = draw(baselines(f"S{segment + 1}", on(visit_day))) if rebaselines else None
            visits.append(draw(time_points(f"TP{len(visits)}", visit_day, scale, baseline, new_baseline)))
            if new_baseline is not None:
                baseline = new_baseline
    limit_days = st.lists(st.integers(1, visit_day + 30), max_size=1).map(lambda days: tuple(on(d) for d in days))
    limits = ResponseWindowLimits(
        new_systemic_line_starts=draw(limit_days),
        new_lesion_local_treatment_dates=draw(limit_days),
        clinical_progression_dates=draw(limit_days),
        data_cutoff=draw(st.none() | st.integers(1, visit_day + 30).map(on)),
    )
    return PatientAssessments(ORIGIN, first_baseline, tuple(visits), limits)


recist_settings = st.builds(RecistSettings, confirmation_required=st.booleans())


def segments_of(result: PatientResponse) -> dict[int, list[int]]:
    positions: dict[int, list[int]] = {}
    for position, tp in enumerate(result.time_points):
        positions.setdefault(tp.segment_index, []).append(position)
    return positions


@settings(max_examples=150, deadline=None)
@given(participants(), recist_settings)
def test_the_nadir_is_the_smallest_sum_so_far_and_never_exceeds_baseline(
    assessments: PatientAssessments, recist: RecistSettings
) -> None:
    result = evaluate(assessments, recist)
    for positions in segments_of(result).values():
        running: int | None = None
        for position in positions:
            tp = result.time_points[position]
            if tp.baseline_sum_tenths is None:
                assert tp.nadir_tenths is None
                continue
            running = tp.baseline_sum_tenths if running is None else running
            assert tp.nadir_tenths == running <= tp.baseline_sum_tenths
            if not tp.after_progression and tp.sum_tenths is not None:
                running = min(running, tp.sum_tenths)
    for segment in result.segments:
        if segment.baseline_sum_tenths is not None:
            assert segment.nadir_tenths is not None and segment.nadir_tenths <= segment.baseline_sum_tenths


@settings(max_examples=150, deadline=None)
@given(participants(), recist_settings)
def test_pd_is_final_within_a_segment(assessments: PatientAssessments, recist: RecistSettings) -> None:
    result = evaluate(assessments, recist)
    for index, positions in segments_of(result).items():
        responses = [result.time_points[p] for p in positions]
        first_pd = next((i for i, tp in enumerate(responses) if tp.overall_response is OverallResponse.PD), None)
        if first_pd is None:
            assert not any(tp.after_progression for tp in responses)
            assert result.segments[index].progression_time_point_id is None
            continue
        assert responses[first_pd].pd_date is not None and not responses[first_pd].after_progression
        assert responses[first_pd].pd_date <= responses[first_pd].tp_date
        assert result.segments[index].progression_time_point_id == responses[first_pd].time_point_id
        for later in responses[first_pd + 1 :]:
            assert (later.overall_response, later.after_progression, later.pd_date) == (OverallResponse.PD, True, None)


@settings(max_examples=150, deadline=None)
@given(participants(), recist_settings)
def test_derived_fields_agree_with_each_other(assessments: PatientAssessments, recist: RecistSettings) -> None:
    result = evaluate(assessments, recist)
    cutoff = assessments.window_limits.data_cutoff
    for tp in result.time_points:
        if tp.target_response_reported is not tp.target_response_strict:
            assert (tp.target_response_strict, tp.target_response_reported) == (TargetResponse.SD, TargetResponse.PR)
        if not tp.after_progression:
            assert tp.adequate is (tp.overall_response is not OverallResponse.NE)
            assert (tp.pd_date is not None) is (tp.overall_response is OverallResponse.PD)
        if tp.target_response_strict is TargetResponse.PR and tp.sum_tenths is not None:
            assert tp.baseline_sum_tenths is not None and 10 * tp.sum_tenths <= 7 * tp.baseline_sum_tenths
        assert tp.discrepant is (tp.investigator_overall not in (None, tp.overall_response))
    dated = [tp.pd_date for tp in result.time_points if tp.pd_date and (cutoff is None or tp.pd_date <= cutoff)]
    assert result.first_progression_date == min(dated, default=None)
    window = [tp.in_bor_window for tp in result.time_points]
    if result.first_progression_time_point_id is not None:
        first = [tp.time_point_id for tp in result.time_points].index(result.first_progression_time_point_id)
        assert not any(window[first + 1 :])


@settings(max_examples=100, deadline=None)
@given(participants(), recist_settings)
def test_computing_twice_gives_identical_results(assessments: PatientAssessments, recist: RecistSettings) -> None:
    assert evaluate(assessments, recist) == evaluate(assessments, recist)


def shuffled(assessments: PatientAssessments, rnd: random.Random) -> PatientAssessments:
    def mix(items: tuple[T, ...]) -> tuple[T, ...]:
        out = list(items)
        rnd.shuffle(out)
        return tuple(out)

    def mix_baseline(baseline: Baseline) -> Baseline:
        return replace(baseline, targets=mix(baseline.targets), non_targets=mix(baseline.non_targets))

    visits = tuple(
        replace(
            tp,
            targets=mix(tp.targets),
            non_targets=mix(tp.non_targets),
            new_lesions=mix(tp.new_lesions),
            new_baseline=mix_baseline(tp.new_baseline) if tp.new_baseline else None,
        )
        for tp in assessments.time_points
    )
    return replace(assessments, baseline=mix_baseline(assessments.baseline), time_points=mix(visits))


@settings(max_examples=100, deadline=None)
@given(participants(), recist_settings, st.randoms(use_true_random=False))
def test_input_order_changes_nothing(
    assessments: PatientAssessments, recist: RecistSettings, rnd: random.Random
) -> None:
    assert evaluate(shuffled(assessments, rnd), recist) == evaluate(assessments, recist)
