from datetime import date

import pytest

from trials.domain.schedule import VisitSpec, planned_visits

FOLLOW_UP = VisitSpec(
    "follow-up", "Follow-up", day=84, window_before=14, window_after=14, repeat_interval_days=84, repeat_count=3
)
SCREENING = VisitSpec("screening", "Screening", day=0, window_before=42)
LAT = VisitSpec("lat", "LAT", day=0, window_after=28)


def test_follow_up_repeats_every_12_weeks_with_its_window() -> None:
    visits = planned_visits([FOLLOW_UP], date(2026, 1, 1))
    assert [(v.name, v.target_date, v.window_start, v.window_end) for v in visits] == [
        ("Follow-up 1", date(2026, 3, 26), date(2026, 3, 12), date(2026, 4, 9)),
        ("Follow-up 2", date(2026, 6, 18), date(2026, 6, 4), date(2026, 7, 2)),
        ("Follow-up 3", date(2026, 9, 10), date(2026, 8, 27), date(2026, 9, 24)),
    ]


def test_visits_are_ordered_by_date_then_definition() -> None:
    visits = planned_visits([FOLLOW_UP, SCREENING, LAT], date(2026, 1, 1))
    assert [v.key for v in visits] == ["screening", "lat", "follow-up", "follow-up-2", "follow-up-3"]
    assert visits[0].window_start == date(2025, 11, 20)


@pytest.mark.parametrize(
    ("today", "overdue", "open_"),
    [
        (date(2026, 3, 11), False, False),
        (date(2026, 3, 12), False, True),
        (date(2026, 4, 9), False, True),
        (date(2026, 4, 10), True, False),
    ],
)
def test_a_window_is_inclusive_and_overdue_the_day_after(today: date, overdue: bool, open_: bool) -> None:
    visit = planned_visits([FOLLOW_UP], date(2026, 1, 1))[0]
    assert (visit.is_overdue(today), visit.is_open(today)) == (overdue, open_)
