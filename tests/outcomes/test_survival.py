"""Survival engine against the AML reference vectors (clinical-spec §3) and the edge cases of D2, D9, D39."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
from scipy import stats

from outcomes.domain.survival import (
    PFS6_LANDMARK_DAYS,
    ConfidenceTransform,
    CoxTies,
    LandmarkStatus,
    clopper_pearson,
    cox_proportional_hazards,
    cumulative_incidence,
    kaplan_meier,
    landmark_proportion,
    landmark_status,
    log_rank_test,
    median_follow_up,
)

# R survival::aml, weeks, in R's row order (rows 1-11 Maintained, rows 12-23 Nonmaintained); 1 = relapse.
MAINTAINED = [(9, 1), (13, 1), (13, 0), (18, 1), (23, 1), (28, 0), (31, 1), (34, 1), (45, 0), (48, 1), (161, 0)]
NONMAINTAINED = [(5, 1), (5, 1), (8, 1), (8, 1), (12, 1), (16, 0), (23, 1), (27, 1), (30, 1), (33, 1), (43, 1), (45, 1)]
ARMS = {"maintained": MAINTAINED, "nonmaintained": NONMAINTAINED}
POOLED = MAINTAINED + NONMAINTAINED
POOLED_TIMES = [time for time, _ in POOLED]
POOLED_EVENTS = [event for _, event in POOLED]
ARM_LABELS = ["Maintained"] * len(MAINTAINED) + ["Nonmaintained"] * len(NONMAINTAINED)
NONMAINTAINED_INDICATOR = [0.0] * len(MAINTAINED) + [1.0] * len(NONMAINTAINED)
ROW_PARITY_STRATA = [str(row % 2) for row in range(len(POOLED))]  # stratum "0" = R rows 1, 3, 5, ...

SIX_DECIMALS = 5e-7 + 1e-12  # the spec's values are rounded to 6 decimals


def fit(arm: str, transform: str = "log-log") -> object:
    data = ARMS[arm]
    return kaplan_meier([t for t, _ in data], [e for _, e in data], transform=transform)


# t, n, d, S, SE, log CI (R), log-log CI (lifelines/SAS): clinical-spec §3.
KM_TABLE = {
    "maintained": [
        (9, 11, 1, 0.909091, 0.086678, (0.754134, 1.000000), (0.508080, 0.986674)),
        (13, 10, 1, 0.818182, 0.116291, (0.619249, 1.000000), (0.447429, 0.951162)),
        (18, 8, 1, 0.715909, 0.139665, (0.488426, 1.000000), (0.350190, 0.899024)),
        (23, 7, 1, 0.613636, 0.152632, (0.376867, 0.999158), (0.265752, 0.835299)),
        (31, 5, 1, 0.490909, 0.164193, (0.254860, 0.945585), (0.167331, 0.753400)),
        (34, 4, 1, 0.368182, 0.162669, (0.154877, 0.875261), (0.092830, 0.657041)),
        (48, 2, 1, 0.184091, 0.153493, (0.035918, 0.943526), (0.011738, 0.525015)),
    ],
    "nonmaintained": [
        (5, 12, 2, 0.833333, 0.107583, (0.647037, 1.0), (0.481715, 0.955509)),
        (8, 10, 2, 0.666667, 0.136083, (0.446846, 0.994625), (0.337019, 0.859712)),
        (12, 8, 1, 0.583333, 0.142319, (0.361614, 0.940998), (0.270139, 0.800940)),
        (23, 6, 1, 0.486111, 0.148130, (0.267518, 0.883319), (0.191877, 0.729672)),
        (27, 5, 1, 0.388889, 0.146986, (0.185397, 0.815736), (0.126272, 0.649817)),
        (30, 4, 1, 0.291667, 0.138715, (0.114831, 0.740822), (0.072402, 0.560886)),
        (33, 3, 1, 0.194444, 0.121875, (0.056922, 0.664224), (0.031199, 0.461429)),
        (43, 2, 1, 0.097222, 0.091866, (0.015257, 0.619549), (0.005746, 0.348904)),
    ],
}
KM_ROWS = [(arm, *row) for arm, rows in KM_TABLE.items() for row in rows]
KM_IDS = [f"{row[0]}-t{row[1]}" for row in KM_ROWS]

MAINTAINED_GREENWOOD_SUMS = [0.009091, 0.020202, 0.038059, 0.061869, 0.111869, 0.195202, 0.695202]


@pytest.mark.parametrize(
    ("arm", "time", "at_risk", "events", "survival", "se", "log_ci", "log_log_ci"), KM_ROWS, ids=KM_IDS
)
def test_kaplan_meier_matches_the_aml_reference_table(
    arm: str,
    time: int,
    at_risk: int,
    events: int,
    survival: float,
    se: float,
    log_ci: tuple[float, float],
    log_log_ci: tuple[float, float],
) -> None:
    for transform, expected_ci in (("log", log_ci), ("log-log", log_log_ci)):
        estimate = fit(arm, transform)
        (step,) = [step for step in estimate.steps if step.time == time]
        assert (step.at_risk, step.events) == (at_risk, events)
        assert step.survival == pytest.approx(survival, abs=SIX_DECIMALS)
        assert step.standard_error == pytest.approx(se, abs=SIX_DECIMALS)
        assert step.lower == pytest.approx(expected_ci[0], abs=SIX_DECIMALS), transform
        assert step.upper == pytest.approx(expected_ci[1], abs=SIX_DECIMALS), transform


def test_the_greenwood_sums_match_the_reference_column() -> None:
    sums = [step.greenwood_sum for step in fit("maintained").event_steps]
    assert sums == pytest.approx(MAINTAINED_GREENWOOD_SUMS, abs=SIX_DECIMALS)


def test_the_event_table_lists_event_times_only_and_the_step_table_every_time() -> None:
    estimate = fit("maintained")
    assert [step.time for step in estimate.event_steps] == [9, 13, 18, 23, 31, 34, 48]
    assert [step.time for step in estimate.steps] == [9, 13, 18, 23, 28, 31, 34, 45, 48, 161]
    assert [(step.events, step.censored) for step in estimate.steps if step.time == 13] == [(1, 1)]
    assert (estimate.subjects, estimate.events) == (11, 7)


@pytest.mark.parametrize("transform", ["log", "log-log", "plain"])
def test_it_reports_no_variance_or_limits_once_survival_reaches_zero(transform: str) -> None:
    last = fit("nonmaintained", transform).steps[-1]
    assert (last.time, last.at_risk, last.events, last.survival) == (45, 1, 1, 0.0)
    assert last.standard_error is None and last.greenwood_sum is None
    assert last.lower is None and last.upper is None
    assert "S(t) = 0" in (fit("nonmaintained", transform).survival_at(50).note or "")


def test_the_plain_interval_is_symmetric_and_clipped() -> None:
    step = fit("maintained", "plain").event_steps[0]
    z = stats.norm.ppf(0.975)
    assert step.lower == pytest.approx(step.survival - z * step.standard_error)
    assert step.upper == 1.0  # 0.909 + 1.96 * 0.087 clipped


@pytest.mark.parametrize(
    ("arm", "time", "survival"),
    [
        ("maintained", 10, 0.909091),
        ("maintained", 20, 0.715909),
        ("maintained", 24, 0.613636),
        ("maintained", 36, 0.368182),
        ("nonmaintained", 10, 0.666667),
        ("nonmaintained", 24, 0.486111),
        ("nonmaintained", 36, 0.194444),
        ("maintained", 9, 0.909091),  # right-continuous: the event at t counts
        ("maintained", 8.999, 1.0),
    ],
    ids=lambda value: str(value),
)
def test_survival_at_reads_the_right_continuous_step_function(arm: str, time: float, survival: float) -> None:
    assert fit(arm).survival_at(time).survival == pytest.approx(survival, abs=SIX_DECIMALS)


def test_survival_at_gives_the_step_standard_error_and_limits() -> None:
    point = fit("maintained").survival_at(20)
    assert point.standard_error == pytest.approx(0.139665, abs=SIX_DECIMALS)
    assert (point.lower, point.upper) == pytest.approx((0.350190, 0.899024), abs=SIX_DECIMALS)
    assert point.at_risk == 7
    assert point.transform is ConfidenceTransform.LOG_LOG
    assert point.note is None


@pytest.mark.parametrize(
    ("data", "median"),
    [(MAINTAINED, 31), (NONMAINTAINED, 23), (POOLED, 27)],
    ids=["maintained", "nonmaintained", "pooled"],
)
def test_medians_match_the_reference(data: list[tuple[int, int]], median: float) -> None:
    assert kaplan_meier([t for t, _ in data], [e for _, e in data]).median().median == median


@pytest.mark.parametrize(
    ("time", "survival", "se", "lower", "upper"),
    [(12, 0.7391, 0.0916, 0.5798, 0.942), (24, 0.5466, 0.1073, 0.3721, 0.803)],
    ids=["t12", "t24"],
)
def test_pooled_summary_matches_published_r_output(
    time: int, survival: float, se: float, lower: float, upper: float
) -> None:
    point = kaplan_meier(POOLED_TIMES, POOLED_EVENTS, transform="log").survival_at(time)
    assert point.survival == pytest.approx(survival, abs=5e-5)
    assert point.standard_error == pytest.approx(se, abs=5e-5)
    assert point.lower == pytest.approx(lower, abs=5e-5)
    assert point.upper == pytest.approx(upper, abs=5e-4)


def test_pooled_median_confidence_interval_matches_r() -> None:
    median = kaplan_meier(POOLED_TIMES, POOLED_EVENTS, transform="log").median()
    assert (median.median, median.lower, median.upper) == (27, 18, 45)
    assert median.transform is ConfidenceTransform.LOG


def test_median_confidence_limits_follow_the_transform_of_the_curve() -> None:
    # Maintained, log-log: the lower band first falls to <= 0.5 at 13 (0.447), the upper band never does.
    median = fit("maintained").median()
    assert (median.median, median.lower, median.upper) == (31, 13, None)
    # Nonmaintained, log-log: lower band <= 0.5 at 5 (0.482), upper band at 33 (0.461).
    median = fit("nonmaintained").median()
    assert (median.median, median.lower, median.upper) == (23, 5, 33)


def test_a_median_that_is_not_reached_is_none_with_a_note() -> None:
    median = kaplan_meier([10, 20, 30, 40], [1, 0, 0, 0]).median()
    assert median.median is None
    assert median.note == "median not reached"


# --- Log-rank -----------------------------------------------------------------------------------------------


def test_log_rank_matches_r_survdiff_on_aml() -> None:
    result = log_rank_test(POOLED_TIMES, POOLED_EVENTS, ARM_LABELS)
    assert result.chi_square == pytest.approx(3.396389, abs=SIX_DECIMALS)
    assert result.degrees_of_freedom == 1
    assert result.p_value == pytest.approx(0.065339, abs=SIX_DECIMALS)
    maintained, nonmaintained = result.groups
    assert (maintained.label, maintained.subjects, maintained.observed) == ("Maintained", 11, 7)
    assert maintained.expected == pytest.approx(10.6893, abs=5e-5)
    assert (nonmaintained.label, nonmaintained.observed) == ("Nonmaintained", 11)
    assert nonmaintained.expected == pytest.approx(7.3107, abs=5e-5)
    assert result.variance[0][0] == pytest.approx(4.0076, abs=5e-5)
    assert result.strata == 1


def test_stratified_log_rank_sums_over_strata() -> None:
    result = log_rank_test(POOLED_TIMES, POOLED_EVENTS, ARM_LABELS, strata=ROW_PARITY_STRATA)
    assert result.chi_square == pytest.approx(2.720759, abs=SIX_DECIMALS)
    assert result.p_value == pytest.approx(0.099051, abs=SIX_DECIMALS)
    nonmaintained = result.groups[1]
    assert nonmaintained.observed == 11
    assert nonmaintained.expected == pytest.approx(7.6433, abs=5e-5)
    assert result.variance[1][1] == pytest.approx(4.1414, abs=5e-5)
    assert result.strata == 2


def test_the_group_order_does_not_change_the_statistic() -> None:
    default = log_rank_test(POOLED_TIMES, POOLED_EVENTS, ARM_LABELS)
    reordered = log_rank_test(POOLED_TIMES, POOLED_EVENTS, ARM_LABELS, group_order=["Nonmaintained", "Maintained"])
    assert reordered.chi_square == pytest.approx(default.chi_square, rel=1e-12)
    assert [group.label for group in reordered.groups] == ["Nonmaintained", "Maintained"]


def test_log_rank_of_identical_groups_is_zero() -> None:
    times = POOLED_TIMES * 2
    result = log_rank_test(times, POOLED_EVENTS * 2, ["A"] * len(POOLED) + ["B"] * len(POOLED))
    assert result.chi_square == pytest.approx(0.0, abs=1e-12)
    assert result.p_value == pytest.approx(1.0)


def test_log_rank_handles_three_groups_with_two_degrees_of_freedom() -> None:
    groups = ["Maintained"] * 11 + ["Nonmaintained-early"] * 6 + ["Nonmaintained-late"] * 6
    result = log_rank_test(POOLED_TIMES, POOLED_EVENTS, groups)
    assert result.degrees_of_freedom == 2
    assert sum(group.observed for group in result.groups) == sum(POOLED_EVENTS)
    assert sum(group.expected for group in result.groups) == pytest.approx(sum(POOLED_EVENTS))


def test_log_rank_without_events_reports_no_information() -> None:
    result = log_rank_test([1, 2, 3, 4], [0, 0, 0, 0], ["A", "A", "B", "B"])
    assert (result.chi_square, result.degrees_of_freedom, result.p_value) == (0.0, 0, 1.0)
    assert result.note is not None


# --- Cox ----------------------------------------------------------------------------------------------------

COX_REFERENCE = [
    pytest.param(
        CoxTies.EFRON,
        None,
        {"coefficient": 0.915533, "hazard_ratio": 2.498105, "standard_error": 0.511934, "z": 1.788379},
        {"p_value": 0.073715, "lower": 0.915907, "upper": 6.813496},
        id="efron",
    ),
    pytest.param(
        CoxTies.BRESLOW,
        None,
        {"coefficient": 0.904220, "hazard_ratio": 2.470004, "standard_error": 0.512248},
        {"p_value": 0.077530},
        id="breslow",
    ),
    pytest.param(
        CoxTies.EFRON,
        ROW_PARITY_STRATA,
        {"coefficient": 0.821371, "hazard_ratio": 2.273615, "standard_error": 0.511415},
        {"p_value": 0.108257, "lower": 0.834450, "upper": 6.194893},
        id="efron-stratified",
    ),
]


@pytest.mark.parametrize(("ties", "strata", "estimates", "inference"), COX_REFERENCE)
def test_cox_matches_the_aml_reference(
    ties: CoxTies, strata: list[str] | None, estimates: dict[str, float], inference: dict[str, float]
) -> None:
    result = cox_proportional_hazards(
        POOLED_TIMES, POOLED_EVENTS, {"nonmaintained": NONMAINTAINED_INDICATOR}, strata=strata, ties=ties
    )
    coefficient = result.coefficient("nonmaintained")
    for name, expected in {**estimates, **inference}.items():
        assert getattr(coefficient, name) == pytest.approx(expected, abs=SIX_DECIMALS), name
    assert result.converged
    assert result.ties is ties


def test_cox_global_tests_match_r_coxph() -> None:
    result = cox_proportional_hazards(POOLED_TIMES, POOLED_EVENTS, {"nonmaintained": NONMAINTAINED_INDICATOR})
    assert result.likelihood_ratio.statistic == pytest.approx(3.384447, abs=SIX_DECIMALS)
    assert result.likelihood_ratio.p_value == pytest.approx(0.065814, abs=SIX_DECIMALS)
    assert result.likelihood_ratio.degrees_of_freedom == 1
    coefficient = result.coefficients[0]
    assert result.wald.statistic == pytest.approx(coefficient.z**2, rel=1e-12)
    assert result.wald.p_value == pytest.approx(coefficient.p_value, rel=1e-12)
    # R summary(coxph(Surv(time, status) ~ x, aml)): "Score (logrank) test = 3.42 on 1 df".
    assert result.score.statistic == pytest.approx(3.42, abs=5e-3)
    assert (result.subjects, result.events, result.strata) == (23, 18, 1)


def test_cox_converges_to_one_in_a_billion() -> None:
    result = cox_proportional_hazards(POOLED_TIMES, POOLED_EVENTS, {"nonmaintained": NONMAINTAINED_INDICATOR})
    tighter = cox_proportional_hazards(
        POOLED_TIMES, POOLED_EVENTS, {"nonmaintained": NONMAINTAINED_INDICATOR}, tolerance=1e-13
    )
    assert result.converged and result.iterations < 50
    assert result.coefficients[0].coefficient == pytest.approx(tighter.coefficients[0].coefficient, abs=1e-9)


def test_cox_flags_a_coefficient_heading_to_infinity() -> None:
    # Every event is in arm 1 and every arm-1 time is shorter: monotone likelihood.
    result = cox_proportional_hazards([1, 2, 3, 10, 11, 12], [1, 1, 1, 0, 0, 0], {"arm": [1, 1, 1, 0, 0, 0]})
    assert not result.converged
    assert "infinite" in (result.note or "")


def test_cox_accepts_more_covariates_and_orders_them_as_given() -> None:
    age = [60, 55, 70, 48, 66, 59, 72, 51, 63, 58, 69, 45, 62, 57, 71, 49, 64, 53, 68, 50, 61, 56, 67]
    result = cox_proportional_hazards(
        POOLED_TIMES, POOLED_EVENTS, {"nonmaintained": NONMAINTAINED_INDICATOR, "age": age}
    )
    assert [coefficient.name for coefficient in result.coefficients] == ["nonmaintained", "age"]
    assert result.likelihood_ratio.degrees_of_freedom == 2
    assert len(result.covariance) == 2
    with pytest.raises(KeyError):
        result.coefficient("sex")


def test_cox_rejects_a_constant_covariate() -> None:
    with pytest.raises(ValueError, match="singular"):
        cox_proportional_hazards(POOLED_TIMES, POOLED_EVENTS, {"arm": [1.0] * len(POOLED)})


# --- PFS-6: landmark and Clopper-Pearson -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "total"),
    [(0, 10), (10, 10), (5, 10), (1, 20), (17, 23), (0, 1), (40, 74)],
    ids=lambda value: str(value),
)
def test_clopper_pearson_matches_beta_quantiles(successes: int, total: int) -> None:
    result = clopper_pearson(successes, total)
    lower = 0.0 if successes == 0 else stats.beta.ppf(0.025, successes, total - successes + 1)
    upper = 1.0 if successes == total else stats.beta.ppf(0.975, successes + 1, total - successes)
    assert result.lower == pytest.approx(lower, abs=1e-12)
    assert result.upper == pytest.approx(upper, abs=1e-12)
    assert result.proportion == successes / total


@pytest.mark.parametrize(
    ("successes", "total", "lower", "upper"),
    [
        (0, 10, 0.0, 1 - 0.025 ** (1 / 10)),  # closed form at x = 0: 0.308497
        (10, 10, 0.025 ** (1 / 10), 1.0),  # closed form at x = n: 0.691503
        (5, 10, 0.187086, 0.812914),  # published exact interval for 5/10
    ],
    ids=["0-of-10", "10-of-10", "5-of-10"],
)
def test_clopper_pearson_known_values(successes: int, total: int, lower: float, upper: float) -> None:
    result = clopper_pearson(successes, total)
    assert (result.lower, result.upper) == pytest.approx((lower, upper), abs=SIX_DECIMALS)


def test_clopper_pearson_with_no_patients_has_no_estimate() -> None:
    result = clopper_pearson(0, 0)
    assert (result.proportion, result.lower, result.upper) == (None, None, None)


@pytest.mark.parametrize(
    ("time", "event", "status"),
    [
        (182, 1, LandmarkStatus.FAILURE),
        (183, 1, LandmarkStatus.SUCCESS),  # first PD scan after t*: success (§2.2)
        (182, 0, LandmarkStatus.UNKNOWN),  # censored before t*
        (183, 0, LandmarkStatus.SUCCESS),
        (182.625, 1, LandmarkStatus.FAILURE),  # event <= t*
        (182.625, 0, LandmarkStatus.SUCCESS),  # follow-up reaching t*
        (1, 0, LandmarkStatus.UNKNOWN),  # no post-baseline data: censored at day 1
    ],
    ids=["event-182", "event-183", "censored-182", "censored-183", "event-at-t*", "censored-at-t*", "day-1"],
)
def test_landmark_status_follows_the_spec(time: float, event: int, status: LandmarkStatus) -> None:
    assert landmark_status(time, event) is status


def test_landmark_status_takes_times_already_on_the_aval_scale() -> None:
    # Censored on study day 182 (date difference): AVAL = 183 (D2) reaches t* = 182.625; the raw 182 would not.
    assert landmark_status(182 + 1, False) is LandmarkStatus.SUCCESS
    assert landmark_status(182, False) is LandmarkStatus.UNKNOWN
    assert PFS6_LANDMARK_DAYS == 6 * 365.25 / 12


def test_landmark_proportion_reports_evaluable_and_itt() -> None:
    times = [50, 100, 182, 183, 200, 300, 90, 150, 400, 190]
    events = [1, 1, 1, 0, 1, 0, 0, 0, 0, 1]
    result = landmark_proportion(times, events)
    assert (result.successes, result.failures, result.unknown) == (5, 3, 2)
    assert (result.evaluable.successes, result.evaluable.total) == (5, 8)
    assert (result.intention_to_treat.successes, result.intention_to_treat.total) == (5, 10)
    assert result.evaluable.lower == pytest.approx(stats.beta.ppf(0.025, 5, 4))
    assert result.intention_to_treat.upper == pytest.approx(stats.beta.ppf(0.975, 6, 5))


def test_kaplan_meier_at_the_landmark_counts_events_up_to_and_including_it() -> None:
    times = [100, 182.625, 183, 300]
    estimate = kaplan_meier(times, [1, 1, 1, 0])
    assert estimate.survival_at(PFS6_LANDMARK_DAYS).survival == pytest.approx(0.5)
    assert estimate.numbers_at_risk([PFS6_LANDMARK_DAYS]) == (3,)


# --- D39 and ties -------------------------------------------------------------------------------------------


def test_log_log_limits_at_survival_one_are_null_with_a_note() -> None:
    estimate = kaplan_meier([10, 20, 30], [0, 1, 0])
    first = estimate.steps[0]
    assert first.survival == 1.0 and first.standard_error == 0.0
    assert (first.lower, first.upper) == (None, None)
    point = estimate.survival_at(15)
    assert (point.survival, point.lower, point.upper) == (1.0, None, None)
    assert "D39" in (point.note or "")
    assert "D39" in (estimate.survival_at(5).note or "")


@pytest.mark.parametrize("transform", ["log", "plain"])
def test_other_transforms_give_a_degenerate_interval_at_survival_one(transform: str) -> None:
    point = kaplan_meier([10, 20, 30], [0, 1, 0], transform=transform).survival_at(15)
    assert (point.lower, point.upper, point.note) == (1.0, 1.0, None)


def test_a_median_on_a_flat_at_one_half_is_the_midpoint_of_the_flat() -> None:
    # S = 0.75, 0.5 (flat from 2 to 4), 0.25, 0: R reports (2 + 4) / 2.
    assert kaplan_meier([1, 2, 4, 5], [1, 1, 1, 1]).median().median == 3


def test_a_flat_at_one_half_to_the_end_of_follow_up_runs_to_the_last_time() -> None:
    # S = 0.75, 0.5 from t = 2 to the last censoring at 7: R's quantile.survfit gives (2 + 7) / 2.
    assert kaplan_meier([1, 2, 3, 7], [1, 1, 0, 0]).median().median == 4.5


def test_a_censoring_inside_the_flat_does_not_move_the_midpoint() -> None:
    assert kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 1]).median().median == pytest.approx(4.0)


def test_events_are_processed_before_censorings_at_the_same_time() -> None:
    estimate = kaplan_meier([5, 5, 5, 8], [1, 0, 0, 1])
    first, last = estimate.steps
    assert (first.time, first.at_risk, first.events, first.censored) == (5, 4, 1, 2)
    assert first.survival == pytest.approx(0.75)
    assert (last.at_risk, last.survival) == (1, 0.0)


def test_labels_follow_each_patient_into_the_step_table() -> None:
    estimate = kaplan_meier([5, 5, 5, 8], [1, 0, 0, 1], labels=["P1", "P2", "P3", "P4"])
    assert (estimate.steps[0].event_labels, estimate.steps[0].censored_labels) == (("P1",), ("P2", "P3"))
    assert estimate.steps[1].event_labels == ("P4",)


def test_numbers_at_risk_count_patients_still_followed() -> None:
    assert fit("maintained").numbers_at_risk([0, 13, 14, 161, 200]) == (11, 10, 8, 1, 0)


def test_survival_after_the_last_time_is_carried_forward_with_a_note() -> None:
    point = fit("maintained").survival_at(200)
    assert point.survival == pytest.approx(0.184091, abs=SIX_DECIMALS)
    assert "carried forward" in (point.note or "")


# --- Follow-up and competing risks --------------------------------------------------------------------------


def test_median_follow_up_is_the_median_of_the_reverse_kaplan_meier() -> None:
    # Reversed: censorings at 20 and 40 become events; S = 2/3 at 20, 0 at 40.
    assert median_follow_up([10, 20, 30, 40], [1, 0, 1, 0]).median == 40
    assert median_follow_up([10, 20, 30, 40], [0, 0, 0, 0]).median == pytest.approx(25)


def test_median_follow_up_treats_an_event_tied_with_a_censoring_as_still_followed() -> None:
    # Reversed at 10: the censoring is the "event" (n = 3, S = 2/3) and the relapse, a "censoring" at 10,
    # is still at risk. Removing the relapse first would give S = 1/2 and a median of 15.
    assert median_follow_up([10, 10, 20], [1, 0, 1]).median is None


def test_aalen_johansen_matches_a_hand_computation() -> None:
    times = [1, 2, 3, 4, 5]
    causes = [1, 2, 0, 1, 2]
    progression = cumulative_incidence(times, causes, cause=1)
    death = cumulative_incidence(times, causes, cause=2)
    assert [step.cumulative_incidence for step in progression.steps] == pytest.approx([0.2, 0.2, 0.2, 0.5, 0.5])
    assert [step.cumulative_incidence for step in death.steps] == pytest.approx([0.0, 0.2, 0.2, 0.2, 0.5])
    assert progression.incidence_at(3.5) == pytest.approx(0.2)
    assert progression.incidence_at(0.5) == 0.0
    assert (progression.steps[1].competing_events, progression.steps[2].censored) == (1, 1)


def test_with_one_cause_the_cumulative_incidence_is_one_minus_kaplan_meier() -> None:
    incidence = cumulative_incidence(POOLED_TIMES, POOLED_EVENTS, cause=1)
    estimate = kaplan_meier(POOLED_TIMES, POOLED_EVENTS)
    for step in estimate.steps:
        assert incidence.incidence_at(step.time) == pytest.approx(1 - step.survival, abs=1e-12)


# --- Input checks and purity --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "events", "message"),
    [
        ([1, 2], [1], "same length"),
        ([], [], "no observations"),
        ([-1, 2], [1, 0], "non-negative"),
        ([math.nan, 2], [1, 0], "finite"),
        ([1, 2], [2, 0], "events must be"),
    ],
    ids=["length", "empty", "negative", "nan", "event-code"],
)
def test_it_rejects_malformed_survival_data(times: list[float], events: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaplan_meier(times, events)


def test_it_rejects_a_confidence_level_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="confidence_level"):
        kaplan_meier([1, 2], [1, 0], confidence_level=95)


def test_it_rejects_an_unknown_transform() -> None:
    with pytest.raises(ValueError, match="arcsine"):
        kaplan_meier([1, 2], [1, 0], transform="arcsine")


@pytest.mark.parametrize("module", ["outcomes/domain/survival.py", "patients/domain/factb.py"])
def test_the_engines_import_neither_django_nor_slow_libraries(module: str) -> None:
    source = Path(__file__).resolve().parents[2] / module
    imported = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    forbidden = {"django", "pandas", "lifelines", "scipy.stats"}
    assert not {name for name in imported if name.split(".")[0] in forbidden or name in forbidden}


def test_a_monotone_likelihood_reports_infinite_limits_instead_of_crashing() -> None:
    # every event in one arm: the Cox coefficient runs away; the limits must saturate, not raise OverflowError
    times = [1, 2, 3, 4, 5, 6, 7, 8]
    events = [1, 1, 1, 1, 0, 0, 0, 0]
    arm = [1, 1, 1, 1, 0, 0, 0, 0]
    result = cox_proportional_hazards(times, events, {"arm": arm})
    coefficient = result.coefficient("arm")
    assert coefficient.upper == math.inf or coefficient.upper > 1e6
    assert not result.converged or coefficient.hazard_ratio > 1e3
