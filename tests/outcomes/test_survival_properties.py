"""Properties of the survival engine (hypothesis) and cross-checks against lifelines on random data.

lifelines is used here only, as an independent implementation; the engine itself never imports it.
"""

from __future__ import annotations

import math
import random
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.domain.survival import (
    ConfidenceTransform,
    CoxTies,
    clopper_pearson,
    cox_proportional_hazards,
    cumulative_incidence,
    kaplan_meier,
    landmark_proportion,
    log_rank_test,
    median_follow_up,
)

observations = st.lists(st.tuples(st.integers(1, 60), st.booleans()), min_size=1, max_size=40)
transforms = st.sampled_from(list(ConfidenceTransform))


def split(data: list[tuple[int, bool]]) -> tuple[list[int], list[bool]]:
    return [time for time, _ in data], [event for _, event in data]


@given(observations, transforms)
def test_survival_is_non_increasing_and_within_zero_one(data: list[tuple[int, bool]], transform: str) -> None:
    survival = [step.survival for step in kaplan_meier(*split(data), transform=transform).steps]
    assert all(0.0 <= value <= 1.0 for value in survival)
    assert all(later <= earlier for earlier, later in pairwise(survival))


@given(observations, st.randoms(use_true_random=False), transforms)
def test_the_input_order_changes_nothing(data: list[tuple[int, bool]], shuffler: random.Random, transform: str) -> None:
    shuffled = list(data)
    shuffler.shuffle(shuffled)
    original = kaplan_meier(*split(data), transform=transform)
    reordered = kaplan_meier(*split(shuffled), transform=transform)
    assert original == reordered
    assert original.median() == reordered.median()


@given(observations, transforms)
def test_the_confidence_interval_contains_the_estimate(data: list[tuple[int, bool]], transform: str) -> None:
    for step in kaplan_meier(*split(data), transform=transform).steps:
        if step.lower is not None and step.upper is not None:
            assert 0.0 <= step.lower <= step.survival + 1e-12
            assert step.survival - 1e-12 <= step.upper <= 1.0


@given(observations, transforms)
def test_the_median_lies_inside_its_confidence_interval(data: list[tuple[int, bool]], transform: str) -> None:
    median = kaplan_meier(*split(data), transform=transform).median()
    if median.median is not None and median.lower is not None:
        assert median.lower <= median.median
    if median.median is not None and median.upper is not None:
        assert median.median <= median.upper


@given(observations)
def test_survival_at_agrees_with_the_product_of_conditional_survivals(data: list[tuple[int, bool]]) -> None:
    times, events = split(data)
    estimate = kaplan_meier(times, events)
    for t in {*times, 0, 30, 61}:
        expected = 1.0
        for u in sorted({time for time, event in data if event and time <= t}):
            at_risk = sum(time >= u for time in times)
            deaths = sum(time == u and event for time, event in data)
            expected *= 1 - deaths / at_risk
        assert estimate.survival_at(t).survival == pytest.approx(expected, abs=1e-12)
        assert estimate.numbers_at_risk([t]) == (sum(time >= t for time in times),)


@given(observations)
def test_log_rank_of_identical_groups_is_zero(data: list[tuple[int, bool]]) -> None:
    times, events = split(data)
    result = log_rank_test(times * 2, events * 2, ["A"] * len(data) + ["B"] * len(data))
    assert result.chi_square == pytest.approx(0.0, abs=1e-9)


@given(observations, st.lists(st.sampled_from(["A", "B", "C"]), min_size=40, max_size=40))
def test_log_rank_observed_and_expected_totals_agree(data: list[tuple[int, bool]], labels: list[str]) -> None:
    times, events = split(data)
    result = log_rank_test(times, events, labels[: len(data)])
    assert sum(group.observed for group in result.groups) == sum(events)
    assert sum(group.expected for group in result.groups) == pytest.approx(sum(events))
    assert result.chi_square >= -1e-9
    assert 0.0 <= result.p_value <= 1.0


@settings(max_examples=50)
@given(
    st.lists(st.integers(1, 10_000), min_size=4, max_size=30, unique=True),
    st.data(),
)
def test_without_ties_the_cox_score_test_is_the_log_rank_test(times: list[int], data: st.DataObject) -> None:
    events = data.draw(st.lists(st.booleans(), min_size=len(times), max_size=len(times)))
    arms = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(times), max_size=len(times)))
    if not any(events) or len(set(arms)) < 2:
        return
    logrank = log_rank_test(times, events, ["x" if arm else "o" for arm in arms])
    if logrank.degrees_of_freedom == 0:
        return
    for ties in CoxTies:
        try:
            cox = cox_proportional_hazards(times, events, {"arm": arms}, ties=ties, max_iterations=5)
        except ValueError:
            return  # no arm difference in any risk set: information zero at beta = 0
        assert cox.score.statistic == pytest.approx(logrank.chi_square, rel=1e-9, abs=1e-12)


@given(
    st.lists(st.tuples(st.integers(1, 30), st.integers(0, 3)), min_size=1, max_size=40),
)
def test_cumulative_incidences_and_survival_add_up_to_one(data: list[tuple[int, int]]) -> None:
    times = [time for time, _ in data]
    causes = [cause for _, cause in data]
    survival = kaplan_meier(times, [cause > 0 for cause in causes])
    incidences = [cumulative_incidence(times, causes, cause=cause) for cause in (1, 2, 3)]
    for step in survival.steps:
        total = sum(incidence.incidence_at(step.time) for incidence in incidences)
        assert total + step.survival == pytest.approx(1.0, abs=1e-12)


@given(st.integers(0, 80), st.integers(0, 80))
def test_clopper_pearson_brackets_the_proportion(successes: int, extra: int) -> None:
    total = successes + extra
    result = clopper_pearson(successes, total)
    if total == 0:
        assert result.proportion is None
        return
    assert result.lower is not None and result.upper is not None and result.proportion is not None
    assert 0.0 <= result.lower <= result.proportion <= result.upper <= 1.0


@given(st.lists(st.tuples(st.integers(183, 400), st.booleans()), max_size=20), st.integers(0, 20))
def test_without_early_censoring_km_at_the_landmark_is_the_crude_proportion(
    late: list[tuple[int, bool]], early_failures: int
) -> None:
    data = late + [(100, True)] * early_failures
    if not data:
        return
    times, events = split(data)
    crude = landmark_proportion(times, events)
    assert crude.unknown == 0
    assert kaplan_meier(times, events).survival_at(182.625).survival == pytest.approx(
        crude.intention_to_treat.proportion, abs=1e-12
    )


# --- lifelines cross-checks ---------------------------------------------------------------------------------

SEEDS = list(range(8))


def random_trial(seed: int, n: int = 60) -> tuple[list[int], list[bool], list[str], list[str]]:
    """Two arms with exponential times rounded to whole days (so ties occur) and uniform censoring."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    event_time = np.ceil(rng.exponential(300 / np.where(arm == 1, 1.6, 1.0)))
    censor_time = np.ceil(rng.uniform(30, 700, n))
    times = np.minimum(event_time, censor_time).astype(int)
    events = event_time <= censor_time
    strata = rng.choice(["AI", "SERD"], n)
    return times.tolist(), events.tolist(), ["B" if a else "A" for a in arm], strata.tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_kaplan_meier_agrees_with_lifelines(seed: int) -> None:
    lifelines = pytest.importorskip("lifelines")
    times, events, _, _ = random_trial(seed)
    estimate = kaplan_meier(times, events)
    reference = lifelines.KaplanMeierFitter().fit(times, events)
    survival = reference.survival_function_.iloc[:, 0]
    band = reference.confidence_interval_
    for step in estimate.steps:
        assert step.survival == pytest.approx(survival.loc[step.time], abs=1e-12)
        if step.lower is not None and step.upper is not None:
            assert step.lower == pytest.approx(band.iloc[:, 0].loc[step.time], abs=1e-10)
            assert step.upper == pytest.approx(band.iloc[:, 1].loc[step.time], abs=1e-10)
    if all(abs(step.survival - 0.5) > 1e-8 for step in estimate.steps):  # lifelines has no midpoint rule
        expected = reference.median_survival_time_
        assert (estimate.median().median or math.inf) == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_reverse_kaplan_meier_agrees_with_lifelines(seed: int) -> None:
    lifelines = pytest.importorskip("lifelines")
    times, events, _, _ = random_trial(seed)
    reversed_curve = lifelines.KaplanMeierFitter().fit(times, [not event for event in events])
    if all(abs(value - 0.5) > 1e-8 for value in reversed_curve.survival_function_.iloc[:, 0]):
        assert (median_follow_up(times, events).median or math.inf) == reversed_curve.median_survival_time_


@pytest.mark.parametrize("seed", SEEDS)
def test_log_rank_agrees_with_lifelines(seed: int) -> None:
    lifelines_statistics = pytest.importorskip("lifelines.statistics")
    times, events, arms, _ = random_trial(seed)
    result = log_rank_test(times, events, arms)
    reference = lifelines_statistics.multivariate_logrank_test(times, arms, events)
    assert result.chi_square == pytest.approx(reference.test_statistic, rel=1e-9)
    assert result.p_value == pytest.approx(reference.p_value, rel=1e-9)
    three_groups = [arm if time % 3 else "C" for arm, time in zip(arms, times, strict=True)]
    result = log_rank_test(times, events, three_groups)
    reference = lifelines_statistics.multivariate_logrank_test(times, three_groups, events)
    assert result.degrees_of_freedom == 2
    assert result.chi_square == pytest.approx(reference.test_statistic, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("stratified", [False, True], ids=["unstratified", "stratified"])
def test_cox_efron_agrees_with_lifelines(seed: int, stratified: bool) -> None:
    lifelines = pytest.importorskip("lifelines")
    pandas = pytest.importorskip("pandas")
    times, events, arms, strata = random_trial(seed)
    arm = [1.0 if label == "B" else 0.0 for label in arms]
    age = np.random.default_rng(seed + 100).normal(60, 10, len(times)).round().tolist()
    result = cox_proportional_hazards(times, events, {"arm": arm, "age": age}, strata=strata if stratified else None)
    frame = pandas.DataFrame({"T": times, "E": events, "arm": arm, "age": age, "stratum": strata})
    if not stratified:
        frame = frame.drop(columns="stratum")
    reference = lifelines.CoxPHFitter().fit(
        frame,
        "T",
        "E",
        strata=["stratum"] if stratified else None,
        fit_options={"precision": 1e-12},
    )
    # lifelines stops its Newton-Raphson a little earlier than our 1e-9 step criterion (its estimates leave
    # a score of ~1e-7 where ours leave ~1e-14), hence 1e-5 rather than 1e-9.
    for name in ("arm", "age"):
        coefficient = result.coefficient(name)
        assert coefficient.coefficient == pytest.approx(reference.params_[name], rel=1e-5, abs=1e-7)
        assert coefficient.standard_error == pytest.approx(reference.standard_errors_[name], rel=1e-5)
    assert result.log_likelihood == pytest.approx(reference.log_likelihood_, rel=1e-9)
    assert result.likelihood_ratio.statistic == pytest.approx(
        reference.log_likelihood_ratio_test().test_statistic, rel=1e-6
    )
