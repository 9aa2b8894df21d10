"""The visit schedule of a patient: target dates and windows from the origin date (trials.md, "Visit schedule").

Pure: no Django. A window is inclusive on both ends; a visit is overdue when today is past the end of its window and
it has not been recorded as done or missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class VisitSpec:
    code: str
    name: str
    day: int
    window_before: int = 0
    window_after: int = 0
    repeat_interval_days: int | None = None
    repeat_count: int | None = None


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    name: str
    occurrence: int
    target_date: date
    window_start: date
    window_end: date

    @property
    def key(self) -> str:
        return self.code if self.occurrence == 1 else f"{self.code}-{self.occurrence}"

    def is_overdue(self, today: date) -> bool:
        return today > self.window_end

    def is_open(self, today: date) -> bool:
        return self.window_start <= today <= self.window_end


def planned_visits(specs: list[VisitSpec], origin: date) -> list[PlannedVisit]:
    """Every planned occurrence, ordered by target date then definition order.

    A repeating spec yields ``repeat_count`` occurrences (one when unset), occurrence k on
    ``day + (k − 1)·repeat_interval_days``: follow-up every 12 weeks is day 84, 168, 252, … ± 14.
    """
    planned: list[tuple[date, int, PlannedVisit]] = []
    for position, spec in enumerate(specs):
        count = (spec.repeat_count or 1) if spec.repeat_interval_days else 1
        for k in range(1, count + 1):
            day = spec.day + (k - 1) * (spec.repeat_interval_days or 0)
            target = origin + timedelta(days=day)
            planned.append(
                (
                    target,
                    position,
                    PlannedVisit(
                        code=spec.code,
                        name=spec.name if count == 1 else f"{spec.name} {k}",
                        occurrence=k,
                        target_date=target,
                        window_start=target - timedelta(days=spec.window_before),
                        window_end=target + timedelta(days=spec.window_after),
                    ),
                )
            )
    planned.sort(key=lambda item: (item[0], item[1]))
    return [visit for _, _, visit in planned]
