"""Adverse-event safety calculators: seriousness, relatedness, SUSAR status and the expedited reporting clocks.

Pure computation: no Django. Dates in, frozen dataclasses and enums out.

Sources:

* ICH E2A (Clinical safety data management: definitions and standards for expedited reporting, 1994), §II.B:
  a serious adverse event is one that results in death, is life-threatening, requires inpatient hospitalisation
  or prolongation of existing hospitalisation, results in persistent or significant disability/incapacity, is a
  congenital anomaly/birth defect, or is another important medical event. Any one criterion makes it serious;
  severity (the CTCAE grade) is not seriousness. §III.A: fatal or life-threatening unexpected serious adverse
  reactions within 7 calendar days, all others within 15 days, of the sponsor's first knowledge.
* EU CTR 536/2014 Art. 41: the investigator reports an SAE to the sponsor without undue delay, within 24 hours of
  becoming aware of it; Art. 42: SUSAR reporting by the sponsor (7 / 15 days).
* clinical-spec §5.2 (attribution scale; related = possible, probable or definite) and §5.3 (clocks);
  decisions D15 (attribution per intervention and to the disease; LAT complication acute ≤ 90 days) and D16
  (site → sponsor 24 h; SUSAR 7 / 15 days; day 0 = the day of sponsor awareness).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

__all__ = [
    "LAT_ACUTE_DAYS",
    "LOCAL_ABLATIVE_TREATMENTS",
    "RELATED_LEVELS",
    "SITE_TO_SPONSOR_DAYS",
    "SUSAR_FATAL_DAYS",
    "SUSAR_OTHER_DAYS",
    "TREATMENTS",
    "Attribution",
    "ClockStatus",
    "Intervention",
    "LatComplicationTiming",
    "ReportingClock",
    "SeriousnessCriterion",
    "SusarStatus",
    "is_lat_related",
    "is_related",
    "is_serious",
    "is_treatment_related",
    "lat_complication_timing",
    "site_to_sponsor_clock",
    "susar_clock",
    "susar_status",
]


class Attribution(StrEnum):
    """The five-point relatedness scale (clinical-spec §5.2)."""

    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


RELATED_LEVELS: Final = frozenset({Attribution.POSSIBLE, Attribution.PROBABLE, Attribution.DEFINITE})
"""'Related' = possible, probable or definite (D15)."""


class Intervention(StrEnum):
    """What an adverse event is attributed to (D15): each trial intervention, and the underlying disease."""

    SABR = "sabr"
    SURGERY = "surgery"
    RFA = "rfa"
    ENDOCRINE_THERAPY = "endocrine_therapy"
    CDK46_INHIBITOR = "cdk46_inhibitor"
    PHYSICIANS_CHOICE = "physicians_choice"
    DISEASE = "disease"


LOCAL_ABLATIVE_TREATMENTS: Final = (Intervention.SABR, Intervention.SURGERY, Intervention.RFA)
TREATMENTS: Final = (
    *LOCAL_ABLATIVE_TREATMENTS,
    Intervention.ENDOCRINE_THERAPY,
    Intervention.CDK46_INHIBITOR,
    Intervention.PHYSICIANS_CHOICE,
)
"""Every intervention but the disease: a treatment-related AE is related to one of these."""


class SeriousnessCriterion(StrEnum):
    """ICH E2A §II.B seriousness criteria."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    IMPORTANT_MEDICAL_EVENT = "important_medical_event"


def is_serious(criteria: Iterable[SeriousnessCriterion]) -> bool:
    """Serious when any ICH E2A criterion is met (the grade does not enter)."""
    return any(True for _ in criteria)


def is_related(level: Attribution | None) -> bool:
    return level in RELATED_LEVELS


def is_treatment_related(attributions: Mapping[Intervention, Attribution | None]) -> bool:
    """Related (possible / probable / definite) to at least one intervention; attribution to the disease alone
    does not make an AE treatment-related."""
    return any(is_related(attributions.get(intervention)) for intervention in TREATMENTS)


def is_lat_related(attributions: Mapping[Intervention, Attribution | None]) -> bool:
    """Related to SABR, surgery or radiofrequency ablation (a candidate LAT complication, D15)."""
    return any(is_related(attributions.get(intervention)) for intervention in LOCAL_ABLATIVE_TREATMENTS)


class SusarStatus(StrEnum):
    NOT_SUSAR = "not_susar"
    SUSAR = "susar"
    #: serious and related, but expectedness not yet assessed
    UNDETERMINED = "undetermined"


def susar_status(*, serious: bool, related: bool, expected: bool | None) -> SusarStatus:
    """Suspected unexpected serious adverse reaction: serious, related to a treatment, and not expected per the
    reference safety information (ICH E2A §II.A.3, §III.A)."""
    if not (serious and related):
        return SusarStatus.NOT_SUSAR
    if expected is None:
        return SusarStatus.UNDETERMINED
    return SusarStatus.NOT_SUSAR if expected else SusarStatus.SUSAR


class ClockStatus(StrEnum):
    PENDING = "pending"  # not reported, still within the deadline
    OVERDUE = "overdue"  # not reported, deadline passed
    ON_TIME = "on_time"
    LATE = "late"


SITE_TO_SPONSOR_DAYS: Final = 1
"""24 hours of awareness, on a date-only clock: the report is due by the day after the awareness day."""
SUSAR_FATAL_DAYS: Final = 7
SUSAR_OTHER_DAYS: Final = 15


@dataclass(frozen=True)
class ReportingClock:
    """One expedited-reporting deadline: started on ``start`` (day 0), due on ``due``, met on ``done`` if done."""

    start: date
    due: date
    done: date | None

    def status(self, today: date) -> ClockStatus:
        if self.done is not None:
            return ClockStatus.ON_TIME if self.done <= self.due else ClockStatus.LATE
        return ClockStatus.PENDING if today <= self.due else ClockStatus.OVERDUE

    def days_late(self, today: date) -> int:
        """Days past the deadline (when reported, or until today when not yet reported); 0 when in time."""
        end = self.done if self.done is not None else today
        return max(0, (end - self.due).days)


def site_to_sponsor_clock(*, awareness: date, reported: date | None) -> ReportingClock:
    """Site → sponsor: within 24 h of the site's awareness (EU CTR Art. 41; D16). Dates carry no time, so the
    deadline is the day after the awareness day."""
    return ReportingClock(start=awareness, due=awareness + timedelta(days=SITE_TO_SPONSOR_DAYS), done=reported)


def susar_clock(
    *, sponsor_awareness: date, fatal_or_life_threatening: bool, reported: date | None = None
) -> ReportingClock:
    """Sponsor → authorities and ethics committees: 7 days for a fatal or life-threatening SUSAR, 15 days for any
    other (ICH E2A §III.A; EU CTR Art. 42); day 0 = the day the sponsor became aware (D16)."""
    days = SUSAR_FATAL_DAYS if fatal_or_life_threatening else SUSAR_OTHER_DAYS
    return ReportingClock(start=sponsor_awareness, due=sponsor_awareness + timedelta(days=days), done=reported)


LAT_ACUTE_DAYS: Final = 90
"""D15 ``lat_acute_days``: a LAT complication with onset up to 90 days after the LAT is acute, later is late."""


class LatComplicationTiming(StrEnum):
    ACUTE = "acute"
    LATE = "late"


def lat_complication_timing(
    *, onset: date, lat_date: date, acute_days: int = LAT_ACUTE_DAYS
) -> LatComplicationTiming | None:
    """Acute when onset − LAT date ≤ ``acute_days`` (a plain date difference, D23), late after; None when the
    onset precedes the LAT (then it cannot be a complication of it)."""
    days = (onset - lat_date).days
    if days < 0:
        return None
    return LatComplicationTiming.ACUTE if days <= acute_days else LatComplicationTiming.LATE
