"""Pure computations behind the operational and efficacy dashboards (issue 7): no Django, dates and numbers in.

- Enrolment: cumulative counts by month, the enrolment rate per month since site activation, and the projected
  completion date from the recent rate (a constant-rate extrapolation: remaining ÷ (enrolments in the last
  ``window_days`` ÷ ``window_days``), the "recent recruitment rate" projection of Carter RE, Contemp Clin Trials
  2004;25:325-334 §2, simplest of its models and the one trial managers read off a chart).
- Visit compliance: each planned visit is done on time (inside its window, trials.md "Visit schedule"), done out of
  window, missed, overdue now (its window closed with nothing recorded) or not due yet.
- Binning: query ages and data-entry lags into fixed day bins; heat-map levels.
- Kaplan-Meier drawing: the right-continuous step coordinates of a curve, its confidence band as a closed step
  polygon, and the censoring marks (the curve's value at each censoring time).

Month = 30.4375 days (decisions D3), so rates per month agree with the KM axes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Final, NamedTuple

MONTH_DAYS: Final = 30.4375
"""decisions D3: 1 month = 30.4375 days."""

RECENT_WINDOW_DAYS: Final = 90
"""The projection's recent rate: enrolments in the last 90 days (one quarter)."""


# Months ----------------------------------------------------------------------------------------------------------


def month_key(day: date) -> str:
    """``2025-03`` for any day of March 2025: the key every month-bucketed fact uses."""
    return f"{day.year:04d}-{day.month:02d}"


def month_start(key: str) -> date:
    year, month = key.split("-")
    return date(int(year), int(month), 1)


def month_end(key: str) -> date:
    start = month_start(key)
    following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def months_between(first: str, last: str) -> list[str]:
    """Every month key from ``first`` to ``last`` inclusive (empty when ``last`` < ``first``)."""
    months = []
    year, month = (int(part) for part in first.split("-"))
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def in_months(key: str, start: str | None, end: str | None) -> bool:
    """Whether a month key lies in the (inclusive, open-ended) filter range."""
    return (start is None or key >= start) and (end is None or key <= end)


def cumulative(counts: Mapping[str, int], months: Sequence[str]) -> list[int]:
    """Running totals of monthly counts over ``months``, in order."""
    total, running = 0, []
    for month in months:
        total += counts.get(month, 0)
        running.append(total)
    return running


# Enrolment -------------------------------------------------------------------------------------------------------


def rate_per_month(enrolled: int, *, since: date | None, today: date) -> float | None:
    """Patients per month since ``since`` (site activation, or the first enrolment); None before a day has passed."""
    if since is None or today <= since:
        return None
    return enrolled / ((today - since).days / MONTH_DAYS)


@dataclass(frozen=True)
class Projection:
    """The projected completion date at the recent rate; ``completion`` None when it cannot be projected."""

    enrolled: int
    target: int
    recent: int
    window_days: int
    rate_per_month: float
    completion: date | None
    note: str

    @property
    def remaining(self) -> int:
        return max(0, self.target - self.enrolled)


def project_completion(
    *, enrolled: int, target: int, recent: int, today: date, window_days: int = RECENT_WINDOW_DAYS
) -> Projection:
    """Completion = today + ⌈remaining ÷ (recent ÷ window_days)⌉ days (constant recent rate)."""
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    per_day = recent / window_days
    rate = per_day * MONTH_DAYS
    if target <= 0:
        return Projection(enrolled, target, recent, window_days, rate, None, "No enrolment target is set.")
    if enrolled >= target:
        return Projection(enrolled, target, recent, window_days, rate, None, "The enrolment target is reached.")
    if recent == 0:
        note = f"No enrolment in the last {window_days} days: completion cannot be projected."
        return Projection(enrolled, target, recent, window_days, rate, None, note)
    days = math.ceil((target - enrolled) / per_day)
    note = f"At {rate:.1f} patients per month (the last {window_days} days), {target - enrolled} to go."
    return Projection(enrolled, target, recent, window_days, rate, today + timedelta(days=days), note)


# Visit compliance ------------------------------------------------------------------------------------------------


class VisitOutcome(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSED = "missed"
    OVERDUE = "overdue"
    NOT_DUE = "not_due"


VISIT_OUTCOME_LABELS: Final = {
    VisitOutcome.ON_TIME: "Done on time",
    VisitOutcome.LATE: "Done out of window",
    VisitOutcome.MISSED: "Missed",
    VisitOutcome.OVERDUE: "Overdue now",
    VisitOutcome.NOT_DUE: "Not due yet",
}


def recorded_outcome(
    *, window_start: date, window_end: date, status: str, visit_date: date | None
) -> VisitOutcome | None:
    """A recorded visit: done inside its (inclusive) window is on time, done outside it is out of window (late, or
    early), recorded as missed is missed. ``status`` other than done / missed means not recorded (None)."""
    if status == "missed":
        return VisitOutcome.MISSED
    if status != "done":
        return None
    if visit_date is not None and window_start <= visit_date <= window_end:
        return VisitOutcome.ON_TIME
    return VisitOutcome.LATE


def unrecorded_outcome(*, window_end: date, today: date) -> VisitOutcome:
    """Nothing recorded: overdue once the window has closed (trials.md), else not due yet."""
    return VisitOutcome.OVERDUE if today > window_end else VisitOutcome.NOT_DUE


def schedule_end(*dates: date | None) -> date | None:
    """The day scheduled follow-up stops: the earliest of the dates given (end of study, death, the trial's primary
    event after which long-term follow-up replaces the 12-weekly visits); None when none applies."""
    present = [day for day in dates if day is not None]
    return min(present) if present else None


# Binning ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayBin:
    """Days from ``low`` to ``high`` inclusive (``high`` None: and more)."""

    low: int
    high: int | None
    label: str

    def holds(self, days: int) -> bool:
        return days >= self.low and (self.high is None or days <= self.high)


QUERY_AGE_BINS: Final = (
    DayBin(0, 7, "0–7 days"),
    DayBin(8, 14, "8–14 days"),
    DayBin(15, 30, "15–30 days"),
    DayBin(31, 60, "31–60 days"),
    DayBin(61, None, "over 60 days"),
)
ENTRY_LAG_BINS: Final = (
    DayBin(0, 0, "same day"),
    DayBin(1, 2, "1–2 days"),
    DayBin(3, 7, "3–7 days"),
    DayBin(8, 14, "8–14 days"),
    DayBin(15, 30, "15–30 days"),
    DayBin(31, 60, "31–60 days"),
    DayBin(61, None, "over 60 days"),
)


def bin_index(days: int, bins: Sequence[DayBin]) -> int:
    """The bin holding ``days``; negative values (a form dated before its visit) fall in the first bin."""
    days = max(days, bins[0].low)
    for index, day_bin in enumerate(bins):
        if day_bin.holds(days):
            return index
    raise ValueError(f"{days} days fits no bin")


def bin_counts(values: Iterable[int], bins: Sequence[DayBin]) -> list[int]:
    counts = [0] * len(bins)
    for value in values:
        counts[bin_index(value, bins)] += 1
    return counts


HEAT_LEVELS: Final = 5


def heat_level(value: int, maximum: int, *, levels: int = HEAT_LEVELS) -> int:
    """0 for nothing; else 1..levels-1 in proportion to the largest value (linear, ceiling), so any non-zero cell is
    visibly different from an empty one."""
    if value <= 0 or maximum <= 0:
        return 0
    return max(1, min(levels - 1, math.ceil(value / maximum * (levels - 1))))


# Kaplan-Meier drawing --------------------------------------------------------------------------------------------


class CurvePoint(NamedTuple):
    """One row of a KM curve as the summaries store it: time (days), Ŝ, the CI limits (None when undefined, D39),
    and the number censored at that time.

    Immutable like the module's dataclasses, but a named tuple: a page draws curves of thousands of points, and a
    named tuple is made about four times faster than a frozen dataclass."""

    time: float
    survival: float
    lower: float | None = None
    upper: float | None = None
    censored: int = 0


def step_coordinates(points: Sequence[CurvePoint], *, until: float | None = None) -> list[tuple[float, float]]:
    """The vertices of the right-continuous step function: flat from each time to the next, then a vertical drop.
    ``until`` extends the last level to the end of follow-up drawn."""
    if not points:
        return []
    ordered = sorted(points, key=lambda p: p.time)
    vertices = [(ordered[0].time, ordered[0].survival)]
    for previous, point in pairwise(ordered):
        if point.survival != previous.survival:
            vertices.append((point.time, previous.survival))
            vertices.append((point.time, point.survival))
    last = ordered[-1]
    end = max(last.time, until) if until is not None else last.time
    if vertices[-1][0] != end:
        vertices.append((end, vertices[-1][1]))
    return vertices


def band_polygon(points: Sequence[CurvePoint], *, until: float | None = None) -> list[tuple[float, float]]:
    """The confidence band as one closed polygon: the upper limit's steps forward, the lower limit's back.
    Undefined limits (log-log at Ŝ = 1, any transform at Ŝ = 0; D39) collapse onto the curve."""
    upper = [CurvePoint(p.time, p.upper if p.upper is not None else p.survival) for p in points]
    lower = [CurvePoint(p.time, p.lower if p.lower is not None else p.survival) for p in points]
    top = _all_steps(upper, until)
    bottom = _all_steps(lower, until)
    return top + list(reversed(bottom))


def _all_steps(points: Sequence[CurvePoint], until: float | None) -> list[tuple[float, float]]:
    """Like ``step_coordinates`` but without merging equal levels, so both edges of the band share x positions."""
    ordered = sorted(points, key=lambda p: p.time)
    if not ordered:
        return []
    vertices = [(ordered[0].time, ordered[0].survival)]
    for previous, point in pairwise(ordered):
        vertices.append((point.time, previous.survival))
        vertices.append((point.time, point.survival))
    end = max(ordered[-1].time, until) if until is not None else ordered[-1].time
    if vertices[-1][0] != end:
        vertices.append((end, vertices[-1][1]))
    return vertices


def thin_steps(points: Sequence[CurvePoint], *, resolution: float, keep: Iterable[float] = ()) -> list[CurvePoint]:
    """The steps a chart can tell apart: consecutive steps less than ``resolution`` apart (in days: half a pixel at
    the chart's scale) merge into one drop, at the first step's time, to the last step's level and CI limits.

    At the drawn resolution the shape is the same step function: Ŝ is non-increasing, so one vertical segment from
    the level before the group to the level after it covers every level in between, and no flat moves by more than
    ``resolution``. The first point (the curve's start at 1) and the last time (the end of follow-up) are always
    kept, and no group straddles a ``keep`` time (the landmark): the curve drawn through the landmark marker is the
    one read there. Censoring counts are summed; the ticks themselves are drawn from the unthinned points
    (``censor_marks``), and tables and CSVs use every step.
    """
    ordered = sorted(points, key=lambda p: p.time)
    if len(ordered) <= 2 or resolution <= 0:
        return list(ordered)
    breaks = sorted(keep)
    following = 0  # the first break at or after the group's start
    thinned = [ordered[0]]
    start = ordered[1]
    last = start
    censored = start.censored
    for point in ordered[2:]:
        while following < len(breaks) and breaks[following] < start.time:
            following += 1
        split = following < len(breaks) and breaks[following] < point.time
        if point.time - start.time < resolution and not split:
            last = point
            censored += point.censored
            continue
        thinned.append(CurvePoint(start.time, last.survival, last.lower, last.upper, censored))
        start = last = point
        censored = point.censored
    thinned.append(CurvePoint(start.time, last.survival, last.lower, last.upper, censored))
    if last.time > start.time:
        thinned.append(CurvePoint(last.time, last.survival, last.lower, last.upper, 0))
    return thinned


def censor_marks(points: Sequence[CurvePoint]) -> list[tuple[float, float]]:
    """(time, Ŝ(time)) of every time with at least one censoring: where the ticks go on the curve."""
    return [(p.time, p.survival) for p in points if p.censored > 0]


def nice_step(span: float, *, target: int = 5) -> float:
    """A round tick spacing (1, 2, 2.5 or 5 × 10ⁿ) giving about ``target`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / target
    magnitude = float(10 ** math.floor(math.log10(raw)))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def ticks(maximum: float, *, target: int = 5) -> list[float]:
    """Ticks from 0 to at least ``maximum`` at a round spacing."""
    step = nice_step(maximum, target=target)
    count = max(1, math.ceil(maximum / step - 1e-9))
    return [round(step * i, 10) for i in range(count + 1)]


def value_at(points: Sequence[CurvePoint], time: float) -> CurvePoint:
    """The step function read at ``time`` (right-continuous: a step at exactly ``time`` counts)."""
    found = CurvePoint(0.0, 1.0, 1.0, 1.0)
    for point in sorted(points, key=lambda p: p.time):
        if point.time > time:
            break
        found = point
    return found
