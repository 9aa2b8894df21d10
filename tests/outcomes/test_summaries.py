"""Trial summaries on the AML reference data (clinical-spec §3): the summary layer passes the engine's figures on."""

import pytest

from outcomes.domain.summaries import SurvivalRow, endpoint_summary

MAINTAINED = [(9, 1), (13, 1), (13, 0), (18, 1), (23, 1), (28, 0), (31, 1), (34, 1), (45, 0), (48, 1), (161, 0)]
NONMAINTAINED = [(5, 1), (5, 1), (8, 1), (8, 1), (12, 1), (16, 0), (23, 1), (27, 1), (30, 1), (33, 1), (43, 1), (45, 1)]


def _rows() -> list[SurvivalRow]:
    rows = [
        SurvivalRow(f"M{i}", aval=t, event=bool(e), reason="EVENT" if e else "CENSORED", group="Maintained")
        for i, (t, e) in enumerate(MAINTAINED)
    ]
    rows += [
        SurvivalRow(f"N{i}", aval=t, event=bool(e), reason="EVENT" if e else "CENSORED", group="Nonmaintained")
        for i, (t, e) in enumerate(NONMAINTAINED)
    ]
    return rows


def test_medians_counts_and_comparison_match_the_reference() -> None:
    summary = endpoint_summary(_rows(), comparison=("Maintained", "Nonmaintained"))
    assert summary["groups"]["Maintained"]["median_days"] == 31
    assert summary["groups"]["Nonmaintained"]["median_days"] == 23
    assert summary["overall"]["median_days"] == 27
    # R's 18–45 is on the log transform; the summaries use log-log throughout (D9) and say so
    assert summary["overall"]["transform"] == "log-log"
    assert summary["overall"]["median_lower"] <= 27 <= summary["overall"]["median_upper"]
    assert (summary["groups"]["Maintained"]["events"], summary["groups"]["Maintained"]["censored"]) == (7, 4)
    comparison = summary["comparison"]
    assert comparison["log_rank"]["chi_square"] == pytest.approx(3.396389, abs=1e-6)
    assert comparison["log_rank"]["p"] == pytest.approx(0.065339, abs=1e-6)
    assert comparison["cox"]["hazard_ratio"] == pytest.approx(2.498105, abs=1e-6)
    assert (comparison["cox"]["lower"], comparison["cox"]["upper"]) == pytest.approx((0.915907, 6.813496), abs=1e-6)


def test_the_landmark_reads_the_curve_and_counts_crudely() -> None:
    summary = endpoint_summary([r for r in _rows() if r.group == "Maintained"], landmark_days=20)
    landmark = summary["overall"]["landmark"]
    assert landmark["survival"] == pytest.approx(0.715909, abs=1e-6)
    # by t=20: 3 events (9, 13, 18) are failures, one censored at 13 is unknown, 7 reach 20
    assert (landmark["crude"]["failures"], landmark["crude"]["unknown"], landmark["crude"]["successes"]) == (3, 1, 7)
    assert landmark["crude"]["itt"]["proportion"] == pytest.approx(7 / 11, abs=1e-6)


def test_the_stratified_log_rank_is_reported_when_every_row_has_a_stratum() -> None:
    rows = _rows()
    order = MAINTAINED + NONMAINTAINED  # R row order: Maintained first
    assert len(order) == len(rows)
    stratified = [
        SurvivalRow(r.subject_id, r.aval, r.event, r.reason, r.group, stratum=str(i % 2)) for i, r in enumerate(rows)
    ]
    result = endpoint_summary(stratified, comparison=("Maintained", "Nonmaintained"))["comparison"]
    assert result["log_rank_stratified"]["chi_square"] == pytest.approx(2.720759, abs=1e-6)


def test_censoring_reasons_are_counted() -> None:
    rows = [
        SurvivalRow("a", 10, False, "NEW_THERAPY"),
        SurvivalRow("b", 12, False, "NEW_THERAPY"),
        SurvivalRow("c", 5, True, "PD"),
    ]
    assert endpoint_summary(rows)["overall"]["by_reason"] == {"NEW_THERAPY": 2, "PD": 1}


def test_one_arm_or_no_events_is_not_estimable() -> None:
    rows = [SurvivalRow("a", 10, False, "C", "A"), SurvivalRow("b", 12, False, "C", "B")]
    assert "Not estimable" in endpoint_summary(rows, comparison=("A", "B"))["comparison"]["note"]


def test_unbounded_limits_are_stored_as_null_json() -> None:
    import json

    rows = [SurvivalRow(f"a{i}", 10 + i, True, "PD", "A") for i in range(4)]
    rows += [SurvivalRow(f"b{i}", 10 + i, False, "CENSORED", "B") for i in range(4)]
    summary = endpoint_summary(rows, comparison=("B", "A"))
    json.loads(json.dumps(summary, allow_nan=False))  # raises if any inf or nan slipped through


def test_descriptive_counts_per_group() -> None:
    from outcomes.domain.summaries import DescriptiveRow, descriptive_summary

    rows = [
        DescriptiveRow("A", True, (("SABR", 3, "ACUTE"),), 2, 100.0),
        DescriptiveRow("A", False, (("SABR", 1, "LATE"),), 0, 110.0),
        DescriptiveRow("B", False, (), 1, None),
    ]
    summary = descriptive_summary(rows)
    a = summary["groups"]["A"]
    assert (a["visceral_crisis"]["patients"], a["visceral_crisis"]["of"]) == (1, 2)
    sabr = a["lat_complications"]["SABR"]
    assert (sabr["any"]["patients"], sabr["grade_2_or_more"]["patients"], sabr["grade_3_or_more"]["patients"]) == (
        2,
        1,
        1,
    )
    assert (sabr["acute"]["patients"], sabr["late"]["patients"]) == (1, 1)
    assert a["qol_auc"] == {"evaluable": 2, "median_normalised": 105.0}
    assert summary["overall"]["treatment_related_adverse_events"]["patients"] == 2
    assert summary["groups"]["B"]["lat_complications"] == {}
