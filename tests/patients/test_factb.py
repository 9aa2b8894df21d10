"""FACT-B v4 scoring (clinical-spec §4.2-4.4, D14) and the AUC to 48 weeks (§4.5)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients.domain.factb import (
    FACT_B_ITEMS,
    QOL_BASELINE_WINDOW,
    REVERSE_SCORED_ITEMS,
    SUBSCALE_ITEMS,
    FactBSubscale,
    ScoredAssessment,
    fact_b_area_under_curve,
    fact_b_baseline_day,
    score_fact_b,
)

PWB, SWB, EWB, FWB, BCS = (
    FactBSubscale.PHYSICAL,
    FactBSubscale.SOCIAL,
    FactBSubscale.EMOTIONAL,
    FactBSubscale.FUNCTIONAL,
    FactBSubscale.BREAST_CANCER,
)


def answers(**by_subscale: list[int | None]) -> dict[str, int | None]:
    """Responses in questionnaire order per subscale, e.g. ``answers(PWB=[1, 0, ...])``."""
    responses: dict[str, int | None] = {}
    for name, values in by_subscale.items():
        responses.update(zip(SUBSCALE_ITEMS[FactBSubscale(name)], values, strict=True))
    return responses


def complete(value: int = 2) -> dict[str, int | None]:
    return dict.fromkeys(FACT_B_ITEMS, value)


def with_missing(responses: dict[str, int | None], subscale: FactBSubscale, count: int) -> dict[str, int | None]:
    """Blank the first ``count`` items of a subscale."""
    blanked = dict(responses)
    for item in SUBSCALE_ITEMS[subscale][:count]:
        blanked[item] = None
    return blanked


EXAMPLE_A = answers(
    PWB=[1, 0, 2, 1, 0, 1, 0],
    SWB=[4, 3, 3, 2, 4, 3, None],
    EWB=[1, 3, 1, 0, 1, 1],
    FWB=[3, 2, 3, 3, 2, 3, 3],
    BCS=[1, 2, 0, 2, 1, 0, None, 1, 3, 2],
)


# --- Item map -----------------------------------------------------------------------------------------------


def test_the_item_map_has_the_fact_b_v4_counts() -> None:
    assert {subscale: len(items) for subscale, items in SUBSCALE_ITEMS.items()} == {
        PWB: 7,
        SWB: 7,
        EWB: 6,
        FWB: 7,
        BCS: 10,
    }
    assert len(FACT_B_ITEMS) == len(set(FACT_B_ITEMS)) == 37


def test_the_reverse_keys_are_those_of_facit() -> None:
    expected = {
        *(f"GP{i}" for i in range(1, 8)),
        *("GE1", "GE3", "GE4", "GE5", "GE6"),
        *("B1", "B2", "B3", "B5", "B6", "B7", "B8", "P2"),
    }
    assert expected == REVERSE_SCORED_ITEMS


# --- Worked example (§4.4) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        ("physical", Fraction(23)),
        ("social", Fraction(133, 6)),
        ("emotional", Fraction(19)),
        ("functional", Fraction(19)),
        ("breast_cancer", Fraction(260, 9)),
        ("fact_g", Fraction(499, 6)),
        ("total", Fraction(2017, 18)),
        ("trial_outcome_index", Fraction(638, 9)),
    ],
    ids=lambda value: str(value),
)
def test_worked_example_a(score: str, expected: Fraction) -> None:
    assert getattr(score_fact_b(EXAMPLE_A), score).score == expected


def test_worked_example_a_decimal_display_values() -> None:
    scores = score_fact_b(EXAMPLE_A)
    assert round(float(scores.social.score or 0), 4) == 22.1667
    assert round(float(scores.total.score or 0), 4) == 112.0556
    assert (scores.fact_g.items_answered, scores.total.items_answered, scores.items_answered) == (26, 35, 35)


def test_all_best_answers_give_the_maxima() -> None:
    best = {item: 0 if item in REVERSE_SCORED_ITEMS else 4 for item in FACT_B_ITEMS}
    scores = score_fact_b(best)
    assert [scores.subscale(subscale).score for subscale in FactBSubscale] == [28, 28, 24, 28, 40]
    assert (scores.fact_g.score, scores.total.score, scores.trial_outcome_index.score) == (108, 148, 96)


def test_all_worst_answers_give_zero() -> None:
    worst = {item: 4 if item in REVERSE_SCORED_ITEMS else 0 for item in FACT_B_ITEMS}
    scores = score_fact_b(worst)
    assert (scores.fact_g.score, scores.total.score, scores.trial_outcome_index.score) == (0, 0, 0)


# --- Proration and the item rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subscale", "missing", "valid"),
    [
        (PWB, 3, True),  # 4 of 7
        (PWB, 4, False),  # 3 of 7
        (EWB, 2, True),  # 4 of 6
        (EWB, 3, False),  # 3 of 6 is exactly half: not "more than 50 %"
        (BCS, 4, True),  # 6 of 10
        (BCS, 5, False),  # 5 of 10
        (SWB, 7, False),
    ],
    ids=["pwb-4of7", "pwb-3of7", "ewb-4of6", "ewb-3of6", "bcs-6of10", "bcs-5of10", "swb-none"],
)
def test_a_subscale_needs_more_than_half_of_its_items(subscale: FactBSubscale, missing: int, valid: bool) -> None:
    result = score_fact_b(with_missing(complete(), subscale, missing)).subscale(subscale)
    assert result.valid is valid
    assert result.items_answered == result.items_total - missing


def test_a_subscale_is_prorated_from_the_answered_items() -> None:
    responses = answers(SWB=[4, 3, None, None, 2, 1, None])  # 10 from 4 answered
    assert score_fact_b(responses).social.score == Fraction(10 * 7, 4)


@pytest.mark.parametrize(
    ("missing", "fact_g_valid", "total_valid"),
    [
        ({PWB: 3, SWB: 3}, False, False),  # 21 of 27: all subscales valid but not > 80 %
        ({PWB: 3, SWB: 2}, True, True),  # 22 of 27, 32 of 37
        ({PWB: 3, SWB: 2, BCS: 3}, True, False),  # 29 of 37
        ({PWB: 3, SWB: 2, BCS: 2}, True, True),  # 30 of 37
        ({PWB: 3, SWB: 3, BCS: 0}, False, False),  # 31 of 37 but FACT-G invalid
    ],
    ids=["fact-g-21", "fact-g-22", "total-29", "total-30", "total-31-fact-g-invalid"],
)
def test_totals_need_more_than_80_percent_of_their_items(
    missing: dict[FactBSubscale, int], fact_g_valid: bool, total_valid: bool
) -> None:
    responses = complete()
    for subscale, count in missing.items():
        responses = with_missing(responses, subscale, count)
    scores = score_fact_b(responses)
    assert all(scores.subscale(subscale).valid for subscale in FactBSubscale)
    assert scores.fact_g.valid is fact_g_valid
    assert scores.total.valid is total_valid
    if not total_valid:
        assert scores.total.invalid_reason


def test_the_trial_outcome_index_has_no_80_percent_rule() -> None:
    responses = with_missing(with_missing(with_missing(complete(), PWB, 3), FWB, 3), BCS, 4)
    toi = score_fact_b(responses).trial_outcome_index
    assert (toi.items_answered, toi.items_total) == (14, 24)  # 58 %
    assert toi.valid


def test_the_trial_outcome_index_needs_its_three_subscales() -> None:
    toi = score_fact_b(with_missing(complete(), FWB, 4)).trial_outcome_index
    assert not toi.valid
    assert "FWB" in (toi.invalid_reason or "")


def test_an_invalid_subscale_invalidates_its_totals_only() -> None:
    scores = score_fact_b(with_missing(complete(), SWB, 4))
    assert not scores.fact_g.valid and not scores.total.valid
    assert scores.trial_outcome_index.valid


# --- Response coding ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [8, 9, None], ids=["8", "9", "blank"])
def test_codes_8_9_and_blank_are_not_answered(code: int | None) -> None:
    responses = complete()
    responses["GE2"] = code
    assert score_fact_b(responses).emotional.items_answered == 5


def test_an_absent_item_is_not_answered_and_codes_are_case_insensitive() -> None:
    responses = {item.lower(): value for item, value in complete().items() if item != "B9"}
    scores = score_fact_b(responses)
    assert scores.breast_cancer.items_answered == 9
    assert scores.items_answered == 36


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        ({"GP1": 5}, "not 0-4"),
        ({"GP1": -1}, "not 0-4"),
        ({"GP1": True}, "not 0-4"),
        ({"GP8": 1}, "unknown FACT-B item"),
        ({"GP1": 1, "gp1": 2}, "twice"),
    ],
    ids=["five", "negative", "bool", "unknown-item", "duplicate"],
)
def test_it_rejects_impossible_responses(responses: dict[str, int | None], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score_fact_b(responses)


@given(st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=37, max_size=37))
def test_scores_stay_in_range_and_complete_subscales_are_plain_sums(values: list[int | None]) -> None:
    responses = dict(zip(FACT_B_ITEMS, values, strict=True))
    scores = score_fact_b(responses)
    maxima = {PWB: 28, SWB: 28, EWB: 24, FWB: 28, BCS: 40}
    for subscale in FactBSubscale:
        result = scores.subscale(subscale)
        if result.score is not None:
            assert 0 <= result.score <= maxima[subscale]
        if result.items_answered == result.items_total:
            answered = {item: responses[item] or 0 for item in SUBSCALE_ITEMS[subscale]}
            plain = sum(4 - value if item in REVERSE_SCORED_ITEMS else value for item, value in answered.items())
            assert result.score == plain
    for composite, maximum in ((scores.fact_g, 108), (scores.total, 148), (scores.trial_outcome_index, 96)):
        if composite.score is not None:
            assert 0 <= composite.score <= maximum


# --- AUC (§4.5, D14) ----------------------------------------------------------------------------------------


def visits(*points: tuple[int, int | None]) -> list[ScoredAssessment]:
    return [ScoredAssessment(day=day, score=score) for day, score in points]


def test_auc_worked_example() -> None:
    result = fact_b_area_under_curve(visits((0, 120), (84, 110), (168, 100), (252, 110), (350, 90)))
    assert result.auc == 35820
    assert result.normalised == Fraction(35820, 336)
    assert round(float(result.normalised or 0), 6) == 106.607143
    assert (result.baseline_day, result.end_day, result.assessments_used) == (0, 336, 5)
    assert result.interpolated_at_horizon and not result.ends_before_horizon
    assert result.change_from_baseline_auc == 35820 - 120 * 336


def test_the_value_at_the_horizon_is_interpolated_from_its_neighbours() -> None:
    # Last segment of the worked example alone: 84 days from 110 to 110 + (90 - 110) * 84 / 98 = 92.857143.
    result = fact_b_area_under_curve(visits((252, 110), (350, 90)), baseline_window=(252, 252), horizon_days=336)
    assert result.auc == 8520
    assert result.auc == Fraction(84) * (110 + Fraction(650, 7)) / 2


def test_an_assessment_on_the_horizon_needs_no_interpolation() -> None:
    result = fact_b_area_under_curve(visits((0, 100), (336, 120), (420, 10)))
    assert (result.auc, result.end_day, result.interpolated_at_horizon) == (336 * 110, 336, False)


def test_a_patient_who_drops_out_gets_the_observed_span_normalised_and_flagged() -> None:
    result = fact_b_area_under_curve(visits((0, 100), (84, 80), (168, 60)))
    assert result.auc == 84 * 90 + 84 * 70
    assert result.normalised == Fraction(84 * 90 + 84 * 70, 168)
    assert result.ends_before_horizon
    assert result.end_day == 168


def test_missing_visits_are_bridged_by_their_neighbours() -> None:
    result = fact_b_area_under_curve(visits((0, 100), (84, None), (168, 60), (252, None), (336, 80)))
    assert result.auc == 168 * 80 + 168 * 70
    assert result.assessments_used == 3


@pytest.mark.parametrize(
    ("baseline_day", "in_window"),
    [(-28, True), (-29, False), (0, True), (7, True), (8, False)],
    ids=["day-minus-28", "day-minus-29", "day-0", "day-plus-7", "day-plus-8"],
)
def test_the_baseline_must_fall_in_the_window(baseline_day: int, in_window: bool) -> None:
    result = fact_b_area_under_curve(visits((baseline_day, 100), (84, 100)))
    if in_window:
        assert result.baseline_day == baseline_day
        assert result.normalised == 100
        assert result.auc == 100 * (84 - baseline_day)
    else:
        assert result.auc is None
        assert result.missing_reason == "no valid assessment in the baseline window"


def test_the_baseline_is_the_last_one_on_or_before_the_origin() -> None:
    result = fact_b_area_under_curve(visits((-20, 50), (-3, 100), (5, 70), (84, 100)))
    assert (result.baseline_day, result.baseline_score) == (-3, 100)
    assert result.auc == 8 * 85 + 79 * 85  # (-3, 100) to (5, 70) to (84, 100)
    assert result.normalised == 85
    same_day = fact_b_area_under_curve(visits((-10, 50), (0, 100), (84, 100)))
    assert (same_day.baseline_day, same_day.normalised) == (0, 100)


def test_without_a_pre_origin_assessment_the_first_one_after_the_origin_is_baseline() -> None:
    result = fact_b_area_under_curve(visits((-40, 10), (3, 100), (6, 90), (84, 100)))
    assert (result.baseline_day, result.baseline_score) == (3, 100)


def test_an_invalid_baseline_score_does_not_count() -> None:
    result = fact_b_area_under_curve(visits((-2, None), (84, 100), (168, 90)))
    assert result.auc is None
    assert result.missing_reason == "no valid assessment in the baseline window"


def test_fewer_than_two_valid_values_give_no_auc() -> None:
    result = fact_b_area_under_curve(visits((0, 100), (84, None)))
    assert result.auc is None and result.normalised is None
    assert result.missing_reason == "no valid assessment after baseline"
    assert result.baseline_score == 100


def test_a_pre_origin_baseline_lengthens_the_span() -> None:
    result = fact_b_area_under_curve(visits((-5, 100), (400, 100)))
    assert (result.baseline_day, result.end_day) == (-5, 336)
    assert result.auc == 100 * 341
    assert result.normalised == 100


def test_scores_may_be_fractions_or_decimals() -> None:
    result = fact_b_area_under_curve([ScoredAssessment(0, Fraction(2017, 18)), ScoredAssessment(84, Decimal("100.5"))])
    assert result.auc == 84 * (Fraction(2017, 18) + Fraction(201, 2)) / 2


def test_the_horizon_is_a_setting() -> None:
    result = fact_b_area_under_curve(visits((0, 100), (84, 80), (168, 60)), horizon_days=84)
    assert (result.auc, result.end_day, result.ends_before_horizon) == (84 * 90, 84, False)


def test_two_assessments_on_one_day_are_an_error() -> None:
    with pytest.raises(ValueError, match="same day"):
        fact_b_area_under_curve(visits((0, 100), (84, 80), (84, 90)))


# --- Baseline (D14), shared by the AUC and ADQS ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "baseline"),
    [
        ([-20, -3, 5, 84], -3),
        ([5, 84, -3, -20], -3),  # any order
        ([-10, 0, 3], 0),  # the origin itself is "on or before"
        ([3, 6, 84], 3),
        ([-40, 3, 6], 3),  # before the window: not a candidate
        ([-28, 84], -28),
        ([7, 84], 7),
        ([-29, 8, 84], None),
        ([84, 168], None),
        ([], None),
        ([-3, -3, 5], -3),  # two values on one day: the day is still the baseline day
    ],
    ids=[
        "last-on-or-before-over-later-in-window",
        "unsorted",
        "origin-day",
        "first-after-origin",
        "earlier-outside-window",
        "window-start",
        "window-end",
        "just-outside-both-ends",
        "none-in-window",
        "no-days",
        "same-day",
    ],
)
def test_the_baseline_day_is_the_last_on_or_before_the_origin_else_the_first_after(
    days: list[int], baseline: int | None
) -> None:
    assert QOL_BASELINE_WINDOW == (-28, 7)
    assert fact_b_baseline_day(days) == baseline


def test_the_baseline_window_can_be_given() -> None:
    assert fact_b_baseline_day([-5, 252, 350], window=(252, 252)) == 252
    assert fact_b_baseline_day([-5, 10], window=(-3, 14)) == 10


def test_a_reversed_baseline_window_is_an_error() -> None:
    with pytest.raises(ValueError, match="ordered"):
        fact_b_baseline_day([0], window=(7, -28))


@given(
    st.lists(st.integers(-60, 400), unique=True, max_size=8).flatmap(
        lambda days: st.lists(st.one_of(st.none(), st.integers(0, 148)), min_size=len(days), max_size=len(days)).map(
            lambda scores: list(zip(days, scores, strict=True))
        )
    )
)
def test_the_auc_baseline_is_the_baseline_day_of_its_valid_values(points: list[tuple[int, int | None]]) -> None:
    result = fact_b_area_under_curve(visits(*points))
    assert result.baseline_day == fact_b_baseline_day(day for day, score in points if score is not None)
