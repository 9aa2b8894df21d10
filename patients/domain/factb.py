"""FACT-B version 4 scoring and the area under the quality-of-life curve (clinical-spec §4, decision D14).

Pure computation: no Django. Scores are exact ``Fraction``s (clinical-spec §4.3 step 7); round only to
display them.

Sources:

* FACIT scoring guidance, https://www.facit.org/scoring: negatively worded items are reversed (4 - response)
  so that higher is better; a subscale is prorated, Σ item scores * items in subscale / items answered,
  "as long as more than 50 % of the items were answered"; a total is the sum of its subscale scores and is
  acceptable when more than 80 % of its items are answered.
* FACT-B v4 (https://facit.org/measures/fact-b): 37 items, 0-4, 7-day recall. Item map and reverse keys as
  implemented by ``raybaser/FACTscorer`` (``R/gen-scoreFACT_G.R``, ``R/ca-scoreFACT_B.R``).
* Brady MJ et al. Reliability and validity of the Functional Assessment of Cancer Therapy-Breast
  quality-of-life instrument. J Clin Oncol 1997;15:974-986.
* D14: the > 80 % item rule applies to FACT-G and the FACT-B total, not to the TOI (as FACTscorer).
* Area under the curve: trapezoidal rule on actual assessment days (Matthews JNS et al., Analysis of serial
  measurements in medical research. BMJ 1990;300:230-235), clinical-spec §4.5 and D14.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from types import MappingProxyType
from typing import Final

__all__ = [
    "FACT_B_ITEMS",
    "MISSING_RESPONSE_CODES",
    "QOL_BASELINE_WINDOW",
    "QOL_HORIZON_DAYS",
    "REVERSE_SCORED_ITEMS",
    "SUBSCALE_ITEMS",
    "AreaUnderCurve",
    "CompositeScore",
    "FactBScores",
    "FactBSubscale",
    "ScoredAssessment",
    "SubscaleScore",
    "fact_b_area_under_curve",
    "fact_b_auc_missing",
    "fact_b_baseline_day",
    "score_fact_b",
]


class FactBSubscale(StrEnum):
    """The five FACT-B subscales, by their FACIT abbreviations."""

    PHYSICAL = "PWB"  # physical well-being
    SOCIAL = "SWB"  # social/family well-being
    EMOTIONAL = "EWB"  # emotional well-being
    FUNCTIONAL = "FWB"  # functional well-being
    BREAST_CANCER = "BCS"  # breast cancer subscale ("additional concerns")


SUBSCALE_ITEMS: Final[Mapping[FactBSubscale, tuple[str, ...]]] = MappingProxyType(
    {
        FactBSubscale.PHYSICAL: ("GP1", "GP2", "GP3", "GP4", "GP5", "GP6", "GP7"),
        FactBSubscale.SOCIAL: ("GS1", "GS2", "GS3", "GS4", "GS5", "GS6", "GS7"),
        FactBSubscale.EMOTIONAL: ("GE1", "GE2", "GE3", "GE4", "GE5", "GE6"),
        FactBSubscale.FUNCTIONAL: ("GF1", "GF2", "GF3", "GF4", "GF5", "GF6", "GF7"),
        FactBSubscale.BREAST_CANCER: ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "P2"),
    }
)
"""Item codes per subscale, in questionnaire order (clinical-spec §4.2)."""

REVERSE_SCORED_ITEMS: Final = frozenset(
    {
        *SUBSCALE_ITEMS[FactBSubscale.PHYSICAL],
        "GE1", "GE3", "GE4", "GE5", "GE6",
        "B1", "B2", "B3", "B5", "B6", "B7", "B8", "P2",
    }
)  # fmt: skip
"""Negatively worded items, scored 4 - response: all of PWB, EWB but GE2, BCS but B4 and B9."""

FACT_B_ITEMS: Final = tuple(item for items in SUBSCALE_ITEMS.values() for item in items)
"""All 37 items."""

MISSING_RESPONSE_CODES: Final = frozenset({8, 9})
"""Codes meaning "not answered" besides a blank (clinical-spec §4.3 step 1)."""

QOL_HORIZON_DAYS: Final = 336
"""48 weeks: the default end of the FACT-B AUC (D14, trial setting ``qol_horizon_days``)."""

QOL_BASELINE_WINDOW: Final = (-28, 7)
"""The FACT-B baseline window in days from the origin, both ends included (D14, clinical-spec §4.5). Fixed: the
trial setting ``baseline_window_days`` is the RECIST baseline window (D5), not this one."""

_FACT_G_SUBSCALES: Final = (
    FactBSubscale.PHYSICAL,
    FactBSubscale.SOCIAL,
    FactBSubscale.EMOTIONAL,
    FactBSubscale.FUNCTIONAL,
)
_TOI_SUBSCALES: Final = (FactBSubscale.PHYSICAL, FactBSubscale.FUNCTIONAL, FactBSubscale.BREAST_CANCER)


@dataclass(frozen=True)
class SubscaleScore:
    """A prorated subscale score; None when half or fewer of its items were answered."""

    subscale: FactBSubscale
    score: Fraction | None
    items_answered: int
    items_total: int

    @property
    def valid(self) -> bool:
        return self.score is not None


@dataclass(frozen=True)
class CompositeScore:
    """FACT-G, FACT-B total or TOI: the sum of its subscale scores, or None with the reason."""

    score: Fraction | None
    items_answered: int
    items_total: int
    invalid_reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.score is not None


@dataclass(frozen=True)
class FactBScores:
    """Every FACT-B v4 score of one questionnaire."""

    physical: SubscaleScore
    social: SubscaleScore
    emotional: SubscaleScore
    functional: SubscaleScore
    breast_cancer: SubscaleScore
    fact_g: CompositeScore  # PWB + SWB + EWB + FWB, 0-108
    total: CompositeScore  # FACT-G + BCS, 0-148
    trial_outcome_index: CompositeScore  # PWB + FWB + BCS, 0-96
    items_answered: int

    def subscale(self, subscale: FactBSubscale) -> SubscaleScore:
        return {
            FactBSubscale.PHYSICAL: self.physical,
            FactBSubscale.SOCIAL: self.social,
            FactBSubscale.EMOTIONAL: self.emotional,
            FactBSubscale.FUNCTIONAL: self.functional,
            FactBSubscale.BREAST_CANCER: self.breast_cancer,
        }[subscale]


def score_fact_b(responses: Mapping[str, int | None]) -> FactBScores:
    """Score one FACT-B v4 questionnaire (FACIT scoring guidance; clinical-spec §4.3).

    ``responses`` maps item codes (``"GP1"`` … ``"P2"``, case-insensitive) to the raw 0-4 answer. An item
    that is absent, None, 8 or 9 is not answered; any other value outside 0-4 and any unknown item code
    raise ``ValueError``.

    1. item score = response, or 4 - response for reverse-scored items;
    2. subscale = Σ item scores * items / answered, valid only if answered/items > 0.5 (≥ 4/7, 4/6, 6/10);
    3. FACT-G valid iff its four subscales are valid and > 80 % of its 27 items answered (≥ 22);
    4. FACT-B total valid iff FACT-G and BCS are valid and > 80 % of the 37 items answered (≥ 30);
    5. TOI valid iff PWB, FWB and BCS are valid: no 80 % rule (D14).
    """
    answers = _normalise_responses(responses)
    subscales = {subscale: _score_subscale(subscale, answers) for subscale in FactBSubscale}
    fact_g = _composite([subscales[subscale] for subscale in _FACT_G_SUBSCALES], apply_item_rule=True, name="FACT-G")
    total = _composite(list(subscales.values()), apply_item_rule=True, name="FACT-B total")
    if fact_g.score is None and total.score is not None:
        # Reachable: FACT-G 21/27 items (invalid) with BCS 10/10 gives 31/37 (> 80 %) for the total.
        total = CompositeScore(None, total.items_answered, total.items_total, "FACT-B total: FACT-G is not valid")
    toi = _composite([subscales[subscale] for subscale in _TOI_SUBSCALES], apply_item_rule=False, name="TOI")
    return FactBScores(
        physical=subscales[FactBSubscale.PHYSICAL],
        social=subscales[FactBSubscale.SOCIAL],
        emotional=subscales[FactBSubscale.EMOTIONAL],
        functional=subscales[FactBSubscale.FUNCTIONAL],
        breast_cancer=subscales[FactBSubscale.BREAST_CANCER],
        fact_g=fact_g,
        total=total,
        trial_outcome_index=toi,
        items_answered=len(answers),
    )


def _normalise_responses(responses: Mapping[str, int | None]) -> dict[str, int]:
    """Answered items only, keyed by upper-case item code."""
    known = set(FACT_B_ITEMS)
    answers: dict[str, int] = {}
    seen: set[str] = set()
    for raw_code, response in responses.items():
        code = raw_code.strip().upper()
        if code not in known:
            raise ValueError(f"unknown FACT-B item {raw_code!r}")
        if code in seen:
            raise ValueError(f"item {code} given twice")
        seen.add(code)
        if response is None or response in MISSING_RESPONSE_CODES:
            continue
        if isinstance(response, bool) or not isinstance(response, int) or not 0 <= response <= 4:
            raise ValueError(f"item {code}: response {response!r} is not 0-4, 8, 9 or blank")
        answers[code] = response
    return answers


def _score_subscale(subscale: FactBSubscale, answers: Mapping[str, int]) -> SubscaleScore:
    items = SUBSCALE_ITEMS[subscale]
    scores = [4 - answers[item] if item in REVERSE_SCORED_ITEMS else answers[item] for item in items if item in answers]
    answered = len(scores)
    # "More than 50 %" in integers: 2·answered > items, so 3 of 6 is not enough.
    score = Fraction(sum(scores) * len(items), answered) if 2 * answered > len(items) else None
    return SubscaleScore(subscale=subscale, score=score, items_answered=answered, items_total=len(items))


def _composite(parts: Sequence[SubscaleScore], *, apply_item_rule: bool, name: str) -> CompositeScore:
    answered = sum(part.items_answered for part in parts)
    items = sum(part.items_total for part in parts)
    invalid = [part.subscale.value for part in parts if part.score is None]
    if invalid:
        return CompositeScore(None, answered, items, f"{name}: subscale(s) {', '.join(invalid)} not valid")
    # "More than 80 %" in integers: 5·answered > 4·items (≥ 22 of 27, ≥ 30 of 37).
    if apply_item_rule and not 5 * answered > 4 * items:
        return CompositeScore(None, answered, items, f"{name}: {answered} of {items} items answered, not > 80 %")
    return CompositeScore(sum((part.score for part in parts if part.score is not None), Fraction(0)), answered, items)


# --------------------------------------------------------------------------------------------------
# Area under the curve
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredAssessment:
    """One questionnaire on the study time axis.

    ``day`` = assessment date - origin date, a plain date difference (D23: protocol windows do not get
    the +1 of AVAL), negative before the origin. ``score`` is a valid score (e.g. the FACT-B total) or
    None when the questionnaire was not done or its score is invalid.
    """

    day: int
    score: Fraction | Decimal | int | None


@dataclass(frozen=True)
class AreaUnderCurve:
    """The AUC of a score from baseline to the horizon, or None with ``missing_reason``.

    ``auc`` is in score * days; ``normalised`` = auc / (end_day - baseline_day), a time-averaged score on
    the score's own scale; ``change_from_baseline_auc`` = auc - baseline score * span.
    ``assessments_used`` counts the real assessments behind the curve, the one after the horizon used
    for the interpolation included. ``ends_before_horizon`` flags a patient whose valid data stop before
    the horizon (death, drop-out): the AUC then covers the observed span only, normalised by its length (D14).
    """

    auc: Fraction | None
    normalised: Fraction | None
    change_from_baseline_auc: Fraction | None
    baseline_day: int | None
    baseline_score: Fraction | None
    end_day: int | None
    assessments_used: int
    interpolated_at_horizon: bool
    ends_before_horizon: bool
    missing_reason: str | None = None


def fact_b_baseline_day(days: Iterable[int], *, window: tuple[int, int] = QOL_BASELINE_WINDOW) -> int | None:
    """The baseline among the days of valid assessments (D14, clinical-spec §4.5), or None.

    ``days`` as in :class:`ScoredAssessment` (date - origin), one per valid value, in any order. Baseline is
    within ``window`` (-28..+7 inclusive): the last day on or before the origin (day 0), else the first day
    after it. The AUC and ADQS's ``ABLFL`` both choose their baseline here.
    """
    window_start, window_end = window
    if window_start > window_end:
        raise ValueError("the baseline window must be ordered")
    in_window = sorted(day for day in days if window_start <= day <= window_end)
    on_or_before_origin = [day for day in in_window if day <= 0]
    if on_or_before_origin:
        return on_or_before_origin[-1]
    return in_window[0] if in_window else None


def fact_b_area_under_curve(
    assessments: Sequence[ScoredAssessment],
    *,
    horizon_days: int = QOL_HORIZON_DAYS,
    baseline_window: tuple[int, int] = QOL_BASELINE_WINDOW,
) -> AreaUnderCurve:
    """Trapezoidal AUC of a FACT-B score on actual days, from baseline to the horizon (§4.5, D14).

    AUC = Σ (t_{i+1} - t_i)(y_i + y_{i+1})/2 over valid assessments, days as in :class:`ScoredAssessment`.

    * Baseline (:func:`fact_b_baseline_day`): a valid assessment within ``baseline_window`` days of the origin
      (-28..+7 inclusive); the last one on or before the origin, else the first one after it. Assessments
      before the baseline are not used.
    * Invalid or missing assessments are skipped: the trapezoid bridges their neighbours.
    * An assessment after the horizon (day 336 from the origin) contributes only through the value at the
      horizon, linearly interpolated from the bracketing assessments.
    * Data ending before the horizon: the AUC over the observed span, normalised by its length and
      flagged ``ends_before_horizon``. No value is carried forward.
    * No valid baseline, or no valid post-baseline assessment (fewer than 2 valid values): missing.
    """
    window_start, window_end = baseline_window
    if window_start > window_end or window_end >= horizon_days:
        raise ValueError("the baseline window must be ordered and end before the horizon")
    days = [assessment.day for assessment in assessments]
    if len(set(days)) != len(days):
        raise ValueError("two assessments on the same day: resolve which one counts before computing the AUC")

    valid = sorted(
        (assessment.day, _exact(assessment.score)) for assessment in assessments if assessment.score is not None
    )
    baseline_day = fact_b_baseline_day([day for day, _ in valid], window=baseline_window)
    if baseline_day is None:
        return fact_b_auc_missing("no valid assessment in the baseline window")
    baseline = next(point for point in valid if point[0] == baseline_day)
    after_baseline = [point for point in valid if point[0] > baseline[0]]
    if not after_baseline:
        return fact_b_auc_missing("no valid assessment after baseline", baseline)

    curve = [baseline]
    interpolated_at_horizon = False
    for day, score in after_baseline:
        if day <= horizon_days:
            curve.append((day, score))
            continue
        previous_day, previous_score = curve[-1]
        if previous_day == horizon_days:
            break
        fraction_of_gap = Fraction(horizon_days - previous_day, day - previous_day)
        curve.append((horizon_days, previous_score + (score - previous_score) * fraction_of_gap))
        interpolated_at_horizon = True
        break

    auc = Fraction(0)
    for (previous_day, previous_score), (day, score) in pairwise(curve):
        auc += (day - previous_day) * (previous_score + score) / 2
    baseline_day, baseline_score = baseline
    end_day = curve[-1][0]
    span = end_day - baseline_day
    return AreaUnderCurve(
        auc=auc,
        normalised=auc / span,
        change_from_baseline_auc=auc - baseline_score * span,
        baseline_day=baseline_day,
        baseline_score=baseline_score,
        end_day=end_day,
        assessments_used=len(curve),
        interpolated_at_horizon=interpolated_at_horizon,
        ends_before_horizon=end_day < horizon_days,
    )


def _exact(score: Fraction | Decimal | int | None) -> Fraction:
    if score is None:
        raise ValueError("score is missing")
    return Fraction(score)


def fact_b_auc_missing(reason: str, baseline: tuple[int, Fraction] | None = None) -> AreaUnderCurve:
    """The AUC that cannot be computed, with the reason (and the baseline, when one was found)."""
    return AreaUnderCurve(
        auc=None,
        normalised=None,
        change_from_baseline_auc=None,
        baseline_day=None if baseline is None else baseline[0],
        baseline_score=None if baseline is None else baseline[1],
        end_day=None,
        assessments_used=0 if baseline is None else 1,
        interpolated_at_horizon=False,
        ends_before_horizon=False,
        missing_reason=reason,
    )
