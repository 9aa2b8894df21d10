"""The pure computations behind the dashboards (outcomes/domain/dashboards.py): table-driven, no database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes.domain.dashboards import (
    ENTRY_LAG_BINS,
    QUERY_AGE_BINS,
    CurvePoint,
    VisitOutcome,
    band_polygon,
    bin_counts,
    bin_index,
    censor_marks,
    cumulative,
    heat_level,
    month_end,
    month_key,
    months_between,
    project_completion,
    rate_per_month,
    recorded_outcome,
    schedule_end,
    step_coordinates,
    thin_steps,
    ticks,
    unrecorded_outcome,
    value_at,
)

TODAY = date(2025, 6, 30)


@pytest.mark.parametrize(
    ("enrolled", "target", "recent", "expected"),
    [
        (50, 80, 9, date(2025, 6, 30).fromordinal(TODAY.toordinal() + 300)),  # 30 to go at 0.1/day = 300 days
        (79, 80, 90, date(2025, 7, 1)),  # one to go at one a day
        (50, 80, 0, None),  # no recent enrolment: no projection
        (80, 80, 10, None),  # target reached
        (10, 0, 5, None),  # no target
    ],
)
def test_it_projects_completion_from_the_recent_rate(
    enrolled: int, target: int, recent: int, expected: date | None
) -> None:
    projection = project_completion(enrolled=enrolled, target=target, recent=recent, today=TODAY, window_days=90)
    assert projection.completion == expected
    assert projection.remaining == max(0, target - enrolled)
    assert projection.note


def test_it_rounds_a_fractional_number_of_days_up() -> None:
    # 3 to go at 2 per 90 days = 135 days exactly; 1 to go = 45 days
    assert project_completion(enrolled=7, target=10, recent=2, today=TODAY).completion == date(2025, 11, 12)
    assert project_completion(enrolled=9, target=10, recent=7, today=TODAY).completion == date(2025, 7, 13)  # 12.9→13


def test_it_refuses_an_empty_window() -> None:
    with pytest.raises(ValueError):
        project_completion(enrolled=1, target=2, recent=1, today=TODAY, window_days=0)


@pytest.mark.parametrize(
    ("enrolled", "since", "expected"),
    [(10, date(2025, 1, 1), 10 / (180 / 30.4375)), (3, None, None), (3, TODAY, None)],
)
def test_it_gives_the_rate_per_month_since_activation(
    enrolled: int, since: date | None, expected: float | None
) -> None:
    assert rate_per_month(enrolled, since=since, today=TODAY) == (pytest.approx(expected) if expected else None)


def test_it_walks_months_and_accumulates() -> None:
    assert months_between("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert months_between("2025-02", "2025-01") == []
    assert month_key(date(2025, 3, 31)) == "2025-03"
    assert month_end("2024-02") == date(2024, 2, 29)
    assert cumulative({"2025-01": 2, "2025-03": 1}, ["2025-01", "2025-02", "2025-03"]) == [2, 2, 3]


@pytest.mark.parametrize(
    ("status", "visit_date", "expected"),
    [
        ("done", date(2025, 3, 10), VisitOutcome.ON_TIME),
        ("done", date(2025, 3, 1), VisitOutcome.ON_TIME),  # window start inclusive
        ("done", date(2025, 3, 29), VisitOutcome.ON_TIME),  # window end inclusive
        ("done", date(2025, 3, 30), VisitOutcome.LATE),
        ("done", date(2025, 2, 28), VisitOutcome.LATE),  # early is out of window too
        ("missed", None, VisitOutcome.MISSED),
        ("", None, None),
    ],
)
def test_it_classifies_a_recorded_visit(status: str, visit_date: date | None, expected: VisitOutcome | None) -> None:
    outcome = recorded_outcome(
        window_start=date(2025, 3, 1), window_end=date(2025, 3, 29), status=status, visit_date=visit_date
    )
    assert outcome == expected


def test_an_unrecorded_visit_is_overdue_once_its_window_closed() -> None:
    assert unrecorded_outcome(window_end=date(2025, 6, 29), today=TODAY) == VisitOutcome.OVERDUE
    assert unrecorded_outcome(window_end=TODAY, today=TODAY) == VisitOutcome.NOT_DUE


def test_scheduled_follow_up_ends_at_the_earliest_stop() -> None:
    assert schedule_end(None, date(2025, 5, 1), date(2025, 4, 1)) == date(2025, 4, 1)
    assert schedule_end(None, None) is None


@pytest.mark.parametrize(("days", "expected"), [(-2, 0), (0, 0), (7, 0), (8, 1), (30, 2), (31, 3), (61, 4), (900, 4)])
def test_it_bins_query_ages(days: int, expected: int) -> None:
    assert bin_index(days, QUERY_AGE_BINS) == expected


def test_it_counts_lags_into_bins() -> None:
    assert bin_counts([0, 0, 1, 2, 3, 7, 8, 61], ENTRY_LAG_BINS) == [2, 2, 2, 1, 0, 0, 1]


@pytest.mark.parametrize(
    ("value", "maximum", "expected"), [(0, 10, 0), (1, 10, 1), (5, 10, 2), (6, 10, 3), (10, 10, 4), (3, 0, 0)]
)
def test_it_bins_heat_map_cells(value: int, maximum: int, expected: int) -> None:
    assert heat_level(value, maximum) == expected


CURVE = (
    CurvePoint(0, 1.0, 1.0, 1.0),
    CurvePoint(10, 0.8, 0.5, 0.95),
    CurvePoint(15, 0.8, 0.5, 0.95, censored=1),
    CurvePoint(20, 0.4, None, None),
)


def test_the_step_function_is_flat_then_drops() -> None:
    assert step_coordinates(CURVE) == [(0, 1.0), (10, 1.0), (10, 0.8), (20, 0.8), (20, 0.4)]
    assert step_coordinates(CURVE, until=30)[-1] == (30, 0.4)


def test_the_band_is_a_closed_step_polygon_collapsing_where_limits_are_undefined() -> None:
    polygon = band_polygon(CURVE)
    # forward over the upper limit, back over the lower: 1 + 2 per later point, twice
    assert len(polygon) == 2 * (1 + 2 * (len(CURVE) - 1))
    assert polygon[0] == (0, 1.0) and polygon[-1] == (0, 1.0)
    assert (20, 0.4) in polygon  # the undefined limits at the last step sit on the curve


def test_censor_marks_sit_on_the_curve() -> None:
    assert censor_marks(CURVE) == [(15, 0.8)]


def test_it_reads_the_curve_right_continuously() -> None:
    assert value_at(CURVE, 9.9).survival == 1.0
    assert value_at(CURVE, 10).survival == 0.8
    assert value_at(CURVE, 100).survival == 0.4


def test_ticks_are_round_and_cover_the_maximum() -> None:
    assert ticks(80) == [0, 20, 40, 60, 80]
    assert ticks(7) == [0, 2, 4, 6, 8]
    assert ticks(0.5)[-1] >= 0.5


def levels(points: list[CurvePoint]) -> list[tuple[float, float]]:
    return [(p.time, p.survival) for p in points]


@pytest.mark.parametrize(
    ("times", "keep", "expected"),
    [
        # steps a pixel apart or more stay as they are
        ((0, 10, 20, 30), (), [(0, 1.0), (10, 0.9), (20, 0.8), (30, 0.7)]),
        # three steps within half a "pixel" (0.5 days here) drop once, at the first, to the last's level
        ((0, 10, 10.2, 10.4, 20), (), [(0, 1.0), (10, 0.7), (20, 0.6)]),
        # the landmark (10.3) splits them: the level read at the landmark is drawn there
        ((0, 10, 10.2, 10.4, 20), (10.3,), [(0, 1.0), (10, 0.8), (10.4, 0.7), (20, 0.6)]),
        # the first point is never merged, and the end of follow-up stays where it is
        ((0, 0.2, 20, 20.3), (), [(0, 1.0), (0.2, 0.9), (20, 0.7), (20.3, 0.7)]),
    ],
)
def test_it_thins_steps_closer_than_the_resolution(
    times: tuple[float, ...], keep: tuple[float, ...], expected: list[tuple[float, float]]
) -> None:
    points = [CurvePoint(t, round(1.0 - 0.1 * i, 6), censored=1) for i, t in enumerate(times)]
    assert levels(thin_steps(points, resolution=0.5, keep=keep)) == expected


def test_thinning_sums_censorings_and_keeps_the_last_ci_limits() -> None:
    points = [CurvePoint(0, 1.0, 1.0, 1.0), CurvePoint(5, 0.9, 0.8, 0.95, 2), CurvePoint(5.1, 0.8, 0.7, 0.9, 3)]
    assert thin_steps(points, resolution=1) == [
        CurvePoint(0, 1.0, 1.0, 1.0),
        CurvePoint(5, 0.8, 0.7, 0.9, 5),
        CurvePoint(5.1, 0.8, 0.7, 0.9, 0),  # the end of follow-up
    ]


@given(
    gaps=st.lists(st.floats(0.01, 5), min_size=1, max_size=60),
    drops=st.lists(st.floats(0, 0.05), min_size=60, max_size=60),
    resolution=st.floats(0.05, 3),
    probes=st.lists(st.floats(0, 320), min_size=1, max_size=30),
    landmark=st.floats(0, 300),
)
def test_the_thinned_curve_reads_the_same_away_from_its_steps(
    gaps: list[float], drops: list[float], resolution: float, probes: list[float], landmark: float
) -> None:
    """Read anywhere except within ``resolution`` after a step, and at the landmark, the thinned curve is the curve."""
    points, time, survival = [CurvePoint(0.0, 1.0)], 0.0, 1.0
    for gap, drop in zip(gaps, drops, strict=False):
        time, survival = time + gap, max(0.0, survival - drop)
        points.append(CurvePoint(time, survival))
    thinned = thin_steps(points, resolution=resolution, keep=(landmark,))
    assert len(thinned) <= len(points)
    assert value_at(thinned, landmark).survival == value_at(points, landmark).survival
    for probe in probes:
        if not any(probe - resolution < p.time <= probe for p in points):
            assert value_at(thinned, probe).survival == value_at(points, probe).survival
    assert step_coordinates(thinned)[-1] == step_coordinates(points)[-1]  # same end, same last level
