"""RECIST 1.1 engine, table-driven, no database.

Expected values come from clinical-spec §1.9 (vectors C01-C20, B1-B3), the worked cases of §1.3-§1.8 and the
rules of decisions.md (D13, D22-D28, D32, D37, D38); each case names its source. Measurements are written in mm as
strings and converted to integer tenths without floats.
"""

import ast
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from lesions.domain.recist import (
    Baseline,
    DatedResponse,
    NewLesionObservation,
    NewLesionStatus,
    NonTargetLesion,
    NonTargetObservation,
    NonTargetResponse,
    NonTargetStatus,
    OverallResponse,
    PatientAssessments,
    PatientResponse,
    RecistSettings,
    ResponseWindowLimits,
    TargetLesion,
    TargetObservation,
    TargetResponse,
    TargetStatus,
    TimePoint,
    TimePointResult,
    best_overall_response,
    evaluate,
    validate_baseline_timing,
    validate_diameter_tenths,
    validate_target_selection,
    validate_time_point_measurements,
)

CR, PR, SD, PD, NE = (
    OverallResponse.CR,
    OverallResponse.PR,
    OverallResponse.SD,
    OverallResponse.PD,
    OverallResponse.NE,
)
NON_CR_NON_PD = OverallResponse.NON_CR_NON_PD
ABSENT, PRESENT = NonTargetStatus.ABSENT, NonTargetStatus.PRESENT
PROGRESSION, NOT_EVALUATED = NonTargetStatus.UNEQUIVOCAL_PROGRESSION, NonTargetStatus.NOT_EVALUATED
YES, EQUIVOCAL, NO = NewLesionStatus.YES, NewLesionStatus.EQUIVOCAL, NewLesionStatus.NO
TSTM, GONE, NOT_SEEN = "too small", "absent", "not evaluated"

ORIGIN = date(2026, 1, 5)


def day(days: int) -> date:
    return ORIGIN + timedelta(days=days)


def tenths(mm: str) -> int:
    value = Decimal(mm) * 10
    assert value == value.to_integral_value(), mm
    return int(value)


def lesion(lesion_id: str, mm: str, *, organ: str = "", bone: bool = False) -> TargetLesion:
    return TargetLesion(lesion_id, organ or lesion_id, tenths(mm), bone=bone)


def node(lesion_id: str, mm: str) -> TargetLesion:
    return TargetLesion(lesion_id, "lymph node", tenths(mm), nodal=True)


def visit(
    tp_id: str,
    on_day: int,
    targets: dict[str, str] | None = None,
    non_targets: dict[str, NonTargetStatus] | None = None,
    new: dict[str, NewLesionStatus] | None = None,
    *,
    scans: dict[str, int] | None = None,
    investigator: OverallResponse | None = None,
    investigator_non_target: NonTargetResponse | None = None,
    new_baseline: Baseline | None = None,
) -> TimePoint:
    """One assessment; every lesion scanned on ``on_day`` unless ``scans`` gives its own day."""
    scans = scans or {}

    def scanned(lesion_id: str) -> date:
        return day(scans.get(lesion_id, on_day))

    def target_observation(lesion_id: str, value: str) -> TargetObservation:
        if value == NOT_SEEN:
            return TargetObservation.not_evaluated(lesion_id)
        if value == TSTM:
            return TargetObservation.too_small(lesion_id, scanned(lesion_id))
        if value == GONE:
            return TargetObservation.absent(lesion_id, scanned(lesion_id))
        return TargetObservation.measured(lesion_id, tenths(value), scanned(lesion_id))

    return TimePoint(
        time_point_id=tp_id,
        assessment_date=day(on_day),
        targets=tuple(target_observation(lesion_id, value) for lesion_id, value in (targets or {}).items()),
        non_targets=tuple(
            NonTargetObservation(lesion_id, status, None if status is NOT_EVALUATED else scanned(lesion_id))
            for lesion_id, status in (non_targets or {}).items()
        ),
        new_lesions=tuple(
            NewLesionObservation(lesion_id, status, scanned(lesion_id)) for lesion_id, status in (new or {}).items()
        ),
        investigator_non_target=investigator_non_target,
        investigator_overall=investigator,
        new_baseline=new_baseline,
    )


def patient(
    targets: list[TargetLesion],
    visits: list[TimePoint],
    *,
    non_targets: list[NonTargetLesion] | None = None,
    limits: ResponseWindowLimits | None = None,
) -> PatientAssessments:
    return PatientAssessments(
        origin_date=ORIGIN,
        baseline=Baseline(day(-7), tuple(targets), tuple(non_targets or [])),
        time_points=tuple(visits),
        window_limits=limits or ResponseWindowLimits(),
    )


def sums_patient(
    baseline_mm: list[str], follow_ups: list[list[str]], nt: NonTargetStatus = PRESENT
) -> PatientAssessments:
    """One target per column, one non-target NT1, a visit every 56 days."""
    ids = [f"T{i + 1}" for i in range(len(baseline_mm))]
    return patient(
        [lesion(lesion_id, mm) for lesion_id, mm in zip(ids, baseline_mm, strict=True)],
        [
            visit(f"TP{k + 1}", 56 * (k + 1), dict(zip(ids, values, strict=True)), {"NT1": nt})
            for k, values in enumerate(follow_ups)
        ],
        non_targets=[NonTargetLesion("NT1")],
    )


def overall(result: PatientResponse) -> list[OverallResponse]:
    return [tp.overall_response for tp in result.time_points]


def by_id(result: PatientResponse, tp_id: str) -> TimePointResult:
    return next(tp for tp in result.time_points if tp.time_point_id == tp_id)


# ---------------------------------------------------------------------------------------------------------------
# §1.9 sum vectors: overall and strict target responses.

S = TargetResponse.SD
P = TargetResponse.PR


@pytest.mark.parametrize(
    ("assessments", "expected_overall", "expected_strict"),
    [
        pytest.param(sums_patient(["165"], [["63"], ["65"]]), [PR, PR], [P, P], id="C01-FAQ-definition-of-SD"),
        pytest.param(
            sums_patient(["100"], [["70"], ["70"], ["80"], ["80"], ["80"]]),
            [PR, PR, PR, PR, PR],
            [P, P, S, S, S],
            id="C02-FAQ-continued-PR",
        ),
        pytest.param(sums_patient(["60", "40"], [["42", "28"]]), [PR], [P], id="C03-exactly-minus-30"),
        pytest.param(sums_patient(["100"], [["71"]]), [SD], [S], id="C04-minus-29"),
        pytest.param(sums_patient(["50"], [["20"], ["24"]]), [PR, PR], [P, P], id="C05-plus-20-but-4mm"),
        pytest.param(
            sums_patient(["50"], [["25"], ["30"]]), [PR, PD], [P, TargetResponse.PD], id="C06-plus-20-and-5mm"
        ),
        pytest.param(sums_patient(["50"], [["30.5"], ["36.5"]]), [PR, PR], [P, S], id="C07-plus-19.7-continued-PR"),
    ],
)
def test_it_matches_the_sum_vectors(
    assessments: PatientAssessments, expected_overall: list[OverallResponse], expected_strict: list[TargetResponse]
) -> None:
    result = evaluate(assessments)
    assert overall(result) == expected_overall
    assert [tp.target_response_strict for tp in result.time_points] == expected_strict


def test_it_reports_continued_pr_beside_the_strict_response() -> None:
    # C02 at TP3: strict SD (-20 %), reported PR (FAQ "Managing PR..."; §1.3c; D13)
    tp3 = by_id(evaluate(sums_patient(["100"], [["70"], ["70"], ["80"]])), "TP3")
    assert (tp3.target_response_strict, tp3.target_response_reported) == (TargetResponse.SD, TargetResponse.PR)
    assert tp3.change_from_baseline_percent == Fraction(-20)
    assert tp3.nadir_tenths == 700


def test_it_computes_exact_changes_at_the_boundaries() -> None:
    # C03: exactly -30 %; C06: exactly +20 % and +5 mm over the nadir; C07: +6 mm is +1200/61 % (19.67 %)
    c03 = evaluate(sums_patient(["60", "40"], [["42", "28"]])).time_points[0]
    assert (c03.sum_tenths, c03.change_from_baseline_percent) == (700, Fraction(-30))
    c06 = evaluate(sums_patient(["50"], [["25"], ["30"]])).time_points[1]
    assert (c06.nadir_tenths, c06.change_from_nadir_percent, c06.change_from_nadir_tenths) == (250, Fraction(20), 50)
    c07 = evaluate(sums_patient(["50"], [["30.5"], ["36.5"]])).time_points[1]
    assert c07.change_from_nadir_percent == Fraction(1200, 61)


@pytest.mark.parametrize(
    ("nadir_mm", "current_mm", "progression"),
    [
        pytest.param("30", "36", True, id="plus-20.0-and-6mm"),
        pytest.param("25", "30", True, id="plus-20.0-and-5.0mm-inclusive"),
        pytest.param("24.5", "29.4", False, id="plus-20.0-but-4.9mm"),
        pytest.param("30.5", "36.5", False, id="plus-19.7-and-6mm"),
        pytest.param("40", "48", True, id="plus-20.0-and-8mm"),
        pytest.param("40", "47.9", False, id="plus-19.75-and-7.9mm"),
    ],
)
def test_it_applies_the_progression_rule_inclusively(nadir_mm: str, current_mm: str, progression: bool) -> None:
    # Baseline 100 mm: every nadir here is a PR, so the second time point is PD or (continued) PR (§4.3.1; C4)
    result = evaluate(sums_patient(["100"], [[nadir_mm], [current_mm]]))
    assert overall(result) == [PR, PD if progression else PR]
    assert result.time_points[1].nadir_tenths == tenths(nadir_mm)


@pytest.mark.parametrize(
    ("follow_up_mm", "expected"),
    [
        pytest.param("70.0", PR, id="exactly-70-percent"),
        pytest.param("70.1", SD, id="70.1-percent"),
        pytest.param("69.9", PR, id="69.9-percent"),
    ],
)
def test_it_applies_the_partial_response_rule_inclusively(follow_up_mm: str, expected: OverallResponse) -> None:
    assert overall(evaluate(sums_patient(["100"], [[follow_up_mm]]))) == [expected]


def test_it_explains_a_progression_in_words() -> None:
    result = evaluate(sums_patient(["50"], [["30"], ["36"]]))
    assert result.time_points[1].explanation == (
        f"PD: sum 36.0 mm is +20.0 % and +6.0 mm over nadir 30.0 mm (scan {day(112).isoformat()})"
    )


# ---------------------------------------------------------------------------------------------------------------
# §1.9 lesion-level vectors (C08-C20) and the worked cases of §1.3 (C21-C23 are named in §1.3 without values;
# these are reconstructed from the text there and D13/D25).


def two_target_patient(follow_up: dict[str, str], nt: NonTargetStatus | None) -> PatientAssessments:
    """Node SA 20 mm + lung LD 15 mm (C08-C10), optional non-target NT1."""
    non_targets = {"NT1": nt} if nt is not None else {}
    return patient(
        [node("N1", "20"), lesion("L1", "15", organ="lung")],
        [visit("TP1", 56, follow_up, non_targets)],
        non_targets=[NonTargetLesion("NT1")] if nt is not None else [],
    )


@pytest.mark.parametrize(
    ("assessments", "expected", "expected_sum_mm"),
    [
        pytest.param(two_target_patient({"N1": "8", "L1": GONE}, ABSENT), CR, "8", id="C08-node-8mm-CR-sum-not-0"),
        pytest.param(two_target_patient({"N1": "8", "L1": GONE}, PRESENT), PR, "8", id="C09-target-CR-NT-present"),
        pytest.param(two_target_patient({"N1": "10", "L1": GONE}, ABSENT), PR, "10", id="C10-node-10mm-not-CR"),
        pytest.param(
            patient(
                [lesion("L1", "12", organ="lung"), lesion("L2", "20", organ="liver")],
                [visit("TP1", 56, {"L1": TSTM, "L2": GONE})],
            ),
            PR,
            "5",
            id="C11-TSTM-is-5mm-not-CR",
        ),
        pytest.param(two_target_patient({"N1": "8", "L1": GONE}, NOT_EVALUATED), PR, "8", id="C14-target-CR-NT-NE"),
        pytest.param(
            patient(
                [lesion("L1", "40")],
                [visit("TP1", 56, {"L1": "38"}, {"NT1": NOT_EVALUATED})],
                non_targets=[NonTargetLesion("NT1")],
            ),
            SD,
            "38",
            id="C15-target-SD-NT-NE",
        ),
        pytest.param(
            patient(
                [lesion("L1", "40")],
                [visit("TP1", 56, {"L1": "38"}, {"NT1": PROGRESSION})],
                non_targets=[NonTargetLesion("NT1")],
            ),
            PD,
            "38",
            id="C16-target-SD-NT-PD",
        ),
        pytest.param(
            patient([lesion("L1", "40")], [visit("TP1", 56, {"L1": "20"}, new={"NEW1": YES})]),
            PD,
            "20",
            id="C17-target-PR-new-lesion",
        ),
        pytest.param(
            patient([lesion("L1", "40")], [visit("TP1", 56, {"L1": "20"}, new={"NEW1": EQUIVOCAL})]),
            PR,
            "20",
            id="C18-target-PR-equivocal-new-lesion",
        ),
        pytest.param(
            patient([], [visit("TP1", 56, {}, {"NT1": PRESENT})], non_targets=[NonTargetLesion("NT1")]),
            NON_CR_NON_PD,
            None,
            id="C19-no-targets-NT-present",
        ),
        pytest.param(
            patient([], [visit("TP1", 56, {}, {"NT1": ABSENT})], non_targets=[NonTargetLesion("NT1")]),
            CR,
            None,
            id="C20-no-targets-NT-absent",
        ),
    ],
)
def test_it_matches_the_lesion_vectors(
    assessments: PatientAssessments, expected: OverallResponse, expected_sum_mm: str | None
) -> None:
    result = evaluate(assessments).time_points[0]
    assert result.overall_response is expected
    assert result.sum_tenths == (tenths(expected_sum_mm) if expected_sum_mm is not None else None)


def test_c18_equivocal_lesion_confirmed_later_makes_its_first_scan_pd() -> None:
    # §1.5 / C18: "PR, becoming PD dated to this scan if a later scan confirms the lesion"
    assessments = patient(
        [lesion("L1", "40")],
        [
            visit("TP1", 56, {"L1": "20"}, new={"NEW1": EQUIVOCAL}, scans={"NEW1": 54}),
            visit("TP2", 112, {"L1": "20"}, new={"NEW1": YES}),
        ],
    )
    result = evaluate(assessments)
    tp1 = by_id(result, "TP1")
    assert (tp1.overall_response, tp1.new_lesions, tp1.pd_date) == (PD, YES, day(54))
    assert (result.first_progression_time_point_id, result.first_progression_date) == ("TP1", day(54))


@pytest.mark.parametrize(
    ("second_visit", "expected", "expected_pd_day"),
    [
        pytest.param({"L1": "3", "N1": "6"}, PD, 112, id="C21-non-nodal-reappears-after-CR-sum-rule-not-met"),
        pytest.param({"L1": GONE, "N1": "10"}, PD, 112, id="C23-node-reaches-10mm-after-CR"),
        pytest.param({"L1": GONE, "N1": "9.9"}, CR, None, id="node-9.9mm-stays-normal"),
        pytest.param({"L1": TSTM, "N1": "6"}, PD, 112, id="non-nodal-TSTM-after-CR-is-present"),
    ],
)
def test_a_target_reappearing_after_cr_is_progression(
    second_visit: dict[str, str], expected: OverallResponse, expected_pd_day: int | None
) -> None:
    # §1.3b; D25: after a target CR (lung absent, node 8 mm) any reappearance is PD even if the sum rule fails
    result = evaluate(
        patient(
            [lesion("L1", "20", organ="lung"), node("N1", "15")],
            [visit("TP1", 56, {"L1": GONE, "N1": "8"}), visit("TP2", 112, second_visit)],
        )
    )
    assert overall(result) == [CR, expected]
    assert result.time_points[1].pd_date == (day(expected_pd_day) if expected_pd_day is not None else None)


def test_c22_node_only_targets_below_10mm_stay_cr_even_if_the_sum_rises() -> None:
    # §1.3a; D13: nodes 2.0 + 1.5 mm (sum 3.5) then 4.5 + 4.5 (sum 9.0, +5.5 mm and +157 %) is still CR
    result = evaluate(
        patient(
            [node("N1", "15"), node("N2", "16")],
            [visit("TP1", 56, {"N1": "2", "N2": "1.5"}), visit("TP2", 112, {"N1": "4.5", "N2": "4.5"})],
        )
    )
    assert overall(result) == [CR, CR]
    assert result.time_points[1].change_from_nadir_tenths == 55
    assert "CR takes precedence" in result.time_points[1].explanation


def test_an_ne_time_point_between_does_not_undo_the_cr() -> None:
    # D25: "An NE time point in between does not undo the CR"
    result = evaluate(
        patient(
            [lesion("L1", "20")],
            [
                visit("TP1", 56, {"L1": GONE}),
                visit("TP2", 112, {"L1": NOT_SEEN}),
                visit("TP3", 168, {"L1": "2"}),
            ],
        )
    )
    assert overall(result) == [CR, NE, PD]


def test_without_an_earlier_cr_a_reappearing_target_re_enters_the_sum() -> None:
    # D25 last sentence: L1 gone but L2 present (PR, not CR); L1 back at 3 mm: sum 13 vs nadir 10 is +3 mm only
    result = evaluate(
        patient(
            [lesion("L1", "20"), lesion("L2", "30")],
            [visit("TP1", 56, {"L1": GONE, "L2": "10"}), visit("TP2", 112, {"L1": "3", "L2": "10"})],
        )
    )
    assert overall(result) == [PR, PR]
    assert result.time_points[1].sum_tenths == 130


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        pytest.param(PRESENT, PD, id="NT-present-after-NT-CR-is-PD"),
        pytest.param(ABSENT, CR, id="NT-still-absent"),
    ],
)
def test_a_non_target_reappearing_after_non_target_cr_is_progression(
    second: NonTargetStatus, expected: OverallResponse
) -> None:
    # D25: non-target CR at TP1 (targets CR too), NT1 back at TP2
    result = evaluate(
        patient(
            [lesion("L1", "20")],
            [visit("TP1", 56, {"L1": GONE}, {"NT1": ABSENT}), visit("TP2", 112, {"L1": GONE}, {"NT1": second})],
            non_targets=[NonTargetLesion("NT1")],
        )
    )
    assert overall(result) == [CR, expected]


def test_a_non_target_present_without_earlier_cr_is_simply_present() -> None:
    result = evaluate(
        patient(
            [lesion("L1", "20")],
            [visit("TP1", 56, {"L1": "10"}, {"NT1": NOT_EVALUATED}), visit("TP2", 112, {"L1": "10"}, {"NT1": PRESENT})],
            non_targets=[NonTargetLesion("NT1")],
        )
    )
    assert [tp.non_target_response for tp in result.time_points] == [
        NonTargetResponse.NE,
        NonTargetResponse.NON_CR_NON_PD,
    ]
    assert overall(result) == [PR, PR]


# ---------------------------------------------------------------------------------------------------------------
# §1.3 step 1, TSTM and absent (D38), no imaging (§1.6)


@pytest.mark.parametrize(
    ("second_visit", "expected", "expected_partial_mm"),
    [
        pytest.param({"T1": "70", "T2": NOT_SEEN}, PD, "70", id="partial-sum-meets-PD"),
        pytest.param({"T1": "55", "T2": NOT_SEEN}, NE, "55", id="partial-sum-below-PD"),
        pytest.param({"T1": NOT_SEEN}, NE, None, id="nothing-evaluated"),
    ],
)
def test_missing_targets_give_ne_unless_the_partial_sum_already_shows_pd(
    second_visit: dict[str, str], expected: OverallResponse, expected_partial_mm: str | None
) -> None:
    # §1.3 step 1 (Eisenhauer §4.4.2): nadir 50 (25 + 25); 70 is +40 % and +20 mm whatever T2 measures
    result = evaluate(
        patient(
            [lesion("T1", "50"), lesion("T2", "50")],
            [visit("TP1", 56, {"T1": "25", "T2": "25"}), visit("TP2", 112, second_visit)],
        )
    )
    tp2 = result.time_points[1]
    assert tp2.overall_response is expected
    assert tp2.sum_tenths is None
    assert tp2.partial_sum_tenths == (tenths(expected_partial_mm) if expected_partial_mm else None)


@pytest.mark.parametrize(
    ("follow_up", "expected", "expected_sum"),
    [
        pytest.param({"N1": TSTM, "L1": GONE}, CR, 50, id="D38-nodal-TSTM-records-5mm-normal"),
        pytest.param({"N1": "7", "L1": "0"}, CR, 70, id="D38-non-nodal-0mm-is-absent"),
        pytest.param({"N1": "7", "L1": TSTM}, PR, 120, id="non-nodal-TSTM-is-present"),
        pytest.param({"N1": "4", "L1": "4"}, PR, 80, id="measured-below-5mm-kept-as-measured"),
    ],
)
def test_too_small_and_absent_values(follow_up: dict[str, str], expected: OverallResponse, expected_sum: int) -> None:
    result = evaluate(patient([node("N1", "20"), lesion("L1", "15", organ="lung")], [visit("TP1", 56, follow_up)]))
    assert (result.time_points[0].overall_response, result.time_points[0].sum_tenths) == (expected, expected_sum)


def test_a_time_point_without_imaging_is_ne_and_not_adequate() -> None:
    # §1.6 "no imaging at all -> NE"; D22; its TP date falls back to the visit date
    result = evaluate(
        patient(
            [lesion("L1", "20")],
            [visit("TP1", 90, {}, {}, investigator_non_target=NonTargetResponse.PD)],
            non_targets=[NonTargetLesion("NT1")],
        )
    )
    tp1 = result.time_points[0]
    assert (tp1.overall_response, tp1.adequate, tp1.tp_date) == (NE, False, day(90))
    assert "no imaging" in tp1.explanation


# ---------------------------------------------------------------------------------------------------------------
# D22 time-point date, D24 locally treated lesions, D26 PD date


def test_the_time_point_date_is_the_latest_scan_and_target_sd_with_nt_ne_is_adequate() -> None:
    # D22: target SD with non-target not evaluated is SD and adequate; TP date = latest scan
    result = evaluate(
        patient(
            [lesion("L1", "40"), lesion("L2", "40")],
            [visit("TP1", 84, {"L1": "38", "L2": "40"}, {"NT1": NOT_EVALUATED}, scans={"L1": 80})],
            non_targets=[NonTargetLesion("NT1")],
        )
    )
    tp1 = result.time_points[0]
    assert (tp1.overall_response, tp1.adequate, tp1.tp_date) == (SD, True, day(84))


LOCALLY_TREATED = [NonTargetLesion("NT1"), NonTargetLesion("LT1", locally_treated=True)]


@pytest.mark.parametrize(
    ("targets", "non_target_lesions", "observed", "expected_nt", "expected", "expected_pd_day"),
    [
        pytest.param(
            {"L1": GONE},
            LOCALLY_TREATED,
            {"NT1": ABSENT, "LT1": PRESENT},
            NonTargetResponse.CR,
            CR,
            None,
            id="locally-treated-present-does-not-block-CR",
        ),
        pytest.param(
            {"L1": GONE},
            LOCALLY_TREATED,
            {"NT1": ABSENT, "LT1": NOT_EVALUATED},
            NonTargetResponse.CR,
            CR,
            None,
            id="locally-treated-not-evaluated-does-not-make-NE",
        ),
        pytest.param(
            {"L1": "15"},
            LOCALLY_TREATED,
            {"NT1": PRESENT, "LT1": PROGRESSION},
            NonTargetResponse.PD,
            PD,
            50,
            id="local-failure-is-non-target-PD-dated-by-its-scan",
        ),
        pytest.param(
            {"L1": "15"},
            [NonTargetLesion("LT1", locally_treated=True)],
            {"LT1": PRESENT},
            NonTargetResponse.NONE,
            SD,
            None,
            id="all-non-targets-locally-treated-is-none",
        ),
        pytest.param(
            {},
            [NonTargetLesion("LT1", locally_treated=True)],
            {"LT1": PRESENT},
            NonTargetResponse.NONE,
            NE,
            None,
            id="no-targets-and-only-locally-treated-is-NE",
        ),
        pytest.param(
            {},
            [NonTargetLesion("LT1", locally_treated=True)],
            {"LT1": PROGRESSION},
            NonTargetResponse.PD,
            PD,
            50,
            id="no-targets-and-local-failure-is-PD",
        ),
    ],
)
def test_locally_treated_lesions_count_only_by_local_failure(
    targets: dict[str, str],
    non_target_lesions: list[NonTargetLesion],
    observed: dict[str, NonTargetStatus],
    expected_nt: NonTargetResponse,
    expected: OverallResponse,
    expected_pd_day: int | None,
) -> None:
    # D24; D5. The locally treated lesion is scanned on day 50, the rest on day 56.
    result = evaluate(
        patient(
            [lesion("L1", "20")] if targets else [],
            [visit("TP1", 56, targets, observed, scans={"LT1": 50})],
            non_targets=non_target_lesions,
        )
    )
    tp1 = result.time_points[0]
    assert (tp1.non_target_response, tp1.overall_response) == (expected_nt, expected)
    assert tp1.pd_date == (day(expected_pd_day) if expected_pd_day is not None else None)


@pytest.mark.parametrize(
    ("status", "expected_tp_day"),
    [
        pytest.param(PRESENT, 56, id="locally-treated-scan-does-not-count"),
        pytest.param(PROGRESSION, 60, id="local-failure-scan-counts-as-it-dates-the-PD"),
    ],
)
def test_scans_of_locally_treated_lesions_and_the_time_point_date(
    status: NonTargetStatus, expected_tp_day: int
) -> None:
    # D24 "their scans do not count in non-target dates"; a PD time point is never dated before its PD (D22, D26)
    result = evaluate(
        patient(
            [lesion("L1", "20")],
            [visit("TP1", 56, {"L1": "15"}, {"LT1": status}, scans={"LT1": 60})],
            non_targets=[NonTargetLesion("LT1", locally_treated=True)],
        )
    )
    assert result.time_points[0].tp_date == day(expected_tp_day)


@pytest.mark.parametrize(
    ("tp", "expected_pd_day", "expected_tp_day"),
    [
        pytest.param(
            visit(
                "TP1", 85, {"L1": "20", "L2": "20"}, {"NT1": PROGRESSION, "NT2": PRESENT}, scans={"NT1": 80, "NT2": 82}
            ),
            80,
            85,
            id="non-target-progression-earliest-item-scan",
        ),
        pytest.param(
            visit("TP1", 86, {"L1": "40", "L2": "20"}, {"NT1": PRESENT, "NT2": PRESENT}, scans={"L1": 84, "NT1": 80}),
            86,
            86,
            id="sum-progression-latest-target-scan",
        ),
        pytest.param(
            visit(
                "TP1",
                90,
                {"L1": "20", "L2": "20"},
                {"NT1": PRESENT, "NT2": PRESENT},
                scans={"NT1": 80, "NT2": 82},
                investigator_non_target=NonTargetResponse.PD,
            ),
            82,
            90,
            id="investigator-call-alone-latest-non-target-scan",
        ),
        pytest.param(
            visit(
                "TP1",
                86,
                {"L1": "40", "L2": "20"},
                {"NT1": PROGRESSION, "NT2": PRESENT},
                {"NEW1": YES},
                scans={"NT1": 83, "NEW1": 78},
            ),
            78,
            86,
            id="earliest-of-all-reasons-new-lesion",
        ),
    ],
)
def test_the_pd_date_is_the_earliest_qualifying_scan(tp: TimePoint, expected_pd_day: int, expected_tp_day: int) -> None:
    # D26 (clinical-spec §1.8b); nadir = baseline 40 mm, so 60 mm is +50 % and +20 mm
    result = evaluate(
        patient(
            [lesion("L1", "20"), lesion("L2", "20")],
            [tp],
            non_targets=[NonTargetLesion("NT1"), NonTargetLesion("NT2")],
        )
    )
    tp1 = result.time_points[0]
    assert (tp1.overall_response, tp1.pd_date, tp1.tp_date) == (PD, day(expected_pd_day), day(expected_tp_day))
    assert result.first_progression_date == day(expected_pd_day)


# ---------------------------------------------------------------------------------------------------------------
# D27 back-dating of confirmed equivocal lesions


def equivocal_then_confirmed(
    *, middle: dict[str, str], middle_new: NewLesionStatus | None, limits: ResponseWindowLimits
) -> PatientAssessments:
    """PR at TP0; NEW1 equivocal at TP1 (scan day 110); a middle TP2; NEW1 unequivocal at TP3 (day 252)."""
    return patient(
        [lesion("L1", "50")],
        [
            visit("TP0", 56, {"L1": "30"}),
            visit("TP1", 112, {"L1": "30"}, new={"NEW1": EQUIVOCAL}, scans={"NEW1": 110}),
            visit("TP2", 168, middle, new={"NEW1": middle_new} if middle_new else {}),
            visit("TP3", 252, {"L1": "30"}, new={"NEW1": YES}),
        ],
        limits=limits,
    )


@pytest.mark.parametrize(
    ("assessments", "expected", "first_pd"),
    [
        pytest.param(
            equivocal_then_confirmed(
                middle={"L1": "30"},
                middle_new=EQUIVOCAL,
                limits=ResponseWindowLimits(new_systemic_line_starts=(day(140),)),
            ),
            [PR, PD, PD, PD],
            ("TP1", 110),
            id="back-dated-across-a-new-systemic-line",
        ),
        pytest.param(
            equivocal_then_confirmed(middle={"L1": "40"}, middle_new=None, limits=ResponseWindowLimits()),
            [PR, PD, PD, PD],
            ("TP1", 110),
            id="back-dated-before-another-PD-earliest-wins",
        ),
        pytest.param(
            equivocal_then_confirmed(
                middle={"L1": "30"}, middle_new=None, limits=ResponseWindowLimits(data_cutoff=day(200))
            ),
            [PR, PR, PR, PD],
            None,
            id="confirmation-after-cut-off-ignored",
        ),
        pytest.param(
            equivocal_then_confirmed(middle={"L1": "30"}, middle_new=NO, limits=ResponseWindowLimits()),
            [PR, PR, PR, PD],
            ("TP3", 252),
            id="a-NO-in-between-breaks-the-chain",
        ),
    ],
)
def test_a_confirmed_equivocal_lesion_back_dates_progression(
    assessments: PatientAssessments, expected: list[OverallResponse], first_pd: tuple[str, int] | None
) -> None:
    result = evaluate(assessments)
    assert overall(result) == expected
    if first_pd is None:
        assert (result.first_progression_time_point_id, result.first_progression_date) == (None, None)
        assert by_id(result, "TP1").new_lesions is EQUIVOCAL
    else:
        assert (result.first_progression_time_point_id, result.first_progression_date) == (
            first_pd[0],
            day(first_pd[1]),
        )


def test_the_time_point_with_the_middle_pd_is_after_progression() -> None:
    result = evaluate(equivocal_then_confirmed(middle={"L1": "40"}, middle_new=None, limits=ResponseWindowLimits()))
    tp2 = by_id(result, "TP2")
    assert (tp2.after_progression, tp2.pd_date) == (True, None)
    assert by_id(result, "TP1").pd_date == day(110)


# ---------------------------------------------------------------------------------------------------------------
# PD is final within a segment (§1.8c)


def test_time_points_after_the_first_pd_stay_pd_and_stop_the_nadir() -> None:
    result = evaluate(sums_patient(["50"], [["25"], ["30"], ["10"], [NOT_SEEN]]))
    assert overall(result) == [PR, PD, PD, PD]
    tp3, tp4 = result.time_points[2], result.time_points[3]
    assert tp3.after_progression and tp3.pd_date is None and tp3.nadir_tenths == 250
    assert tp3.target_response_strict is TargetResponse.PR  # its own data, shown beside the final PD
    assert (tp3.adequate, tp4.adequate) == (True, False)
    assert result.nadir_tenths == 250
    assert (result.first_progression_time_point_id, result.first_progression_date) == ("TP2", day(112))


# ---------------------------------------------------------------------------------------------------------------
# Discrepancy with the investigator (C7)


@pytest.mark.parametrize(
    ("investigator", "discrepant"),
    [
        pytest.param(SD, True, id="investigator-SD-computed-PR"),
        pytest.param(PR, False, id="agrees"),
        pytest.param(None, False, id="not-entered"),
    ],
)
def test_it_keeps_the_investigator_response_and_flags_discrepancy(
    investigator: OverallResponse | None, discrepant: bool
) -> None:
    result = evaluate(patient([lesion("L1", "50")], [visit("TP1", 56, {"L1": "30"}, investigator=investigator)]))
    tp1 = result.time_points[0]
    assert (tp1.overall_response, tp1.investigator_overall, tp1.discrepant) == (PR, investigator, discrepant)


# ---------------------------------------------------------------------------------------------------------------
# Best overall response: §1.9 B1-B3 end to end, D28 window, Table 3


def bor_patient(sums: list[tuple[int, str]], limits: ResponseWindowLimits | None = None) -> PatientAssessments:
    """One 100 mm target; ``(day, mm or NOT_SEEN)`` per time point."""
    return patient(
        [lesion("L1", "100")],
        [visit(f"TP{i + 1}", on_day, {"L1": mm}) for i, (on_day, mm) in enumerate(sums)],
        limits=limits,
    )


@pytest.mark.parametrize(
    ("assessments", "expected_each", "expected_bor", "expected_tp"),
    [
        pytest.param(bor_patient([(42, "90"), (84, "60"), (126, "80")]), [SD, PR, PD], PR, "TP2", id="B1-SD-PR-PD"),
        pytest.param(bor_patient([(35, "90"), (70, "120")]), [SD, PD], PD, "TP2", id="B2-early-SD-then-PD"),
        pytest.param(bor_patient([(35, "90"), (70, NOT_SEEN)]), [SD, NE], NE, None, id="B3-early-SD-then-NE"),
        pytest.param(bor_patient([(42, "90")]), [SD], SD, "TP1", id="SD-on-day-42-counts"),
        pytest.param(bor_patient([(41, "90")]), [SD], NE, None, id="SD-on-day-41-does-not"),
    ],
)
def test_best_overall_response_vectors(
    assessments: PatientAssessments,
    expected_each: list[OverallResponse],
    expected_bor: OverallResponse,
    expected_tp: str | None,
) -> None:
    result = evaluate(assessments)
    assert overall(result) == expected_each
    assert (result.best_overall_response.response, result.best_overall_response.time_point_id) == (
        expected_bor,
        expected_tp,
    )


@pytest.mark.parametrize(
    ("sums", "limits", "expected_bor", "expected_window"),
    [
        pytest.param(
            [(42, "90"), (84, "60")],
            ResponseWindowLimits(new_systemic_line_starts=(day(84),)),
            SD,
            [True, False],
            id="TP-on-new-line-start-is-outside",
        ),
        pytest.param(
            [(28, "90"), (70, "120")],
            ResponseWindowLimits(clinical_progression_dates=(day(70),)),
            PD,
            [True, True],
            id="first-PD-on-a-limit-date-is-inside",
        ),
        pytest.param(
            [(28, "90"), (71, "120")],
            ResponseWindowLimits(clinical_progression_dates=(day(70),)),
            NE,
            [True, False],
            id="PD-after-clinical-progression-is-outside",
        ),
        pytest.param(
            [(42, "90"), (84, "60")],
            ResponseWindowLimits(new_lesion_local_treatment_dates=(day(60),)),
            SD,
            [True, False],
            id="LAT-to-a-new-lesion-ends-the-window",
        ),
        pytest.param(
            [(42, "90"), (84, "60")],
            ResponseWindowLimits(data_cutoff=day(84)),
            SD,
            [True, False],
            id="cut-off-is-exclusive",
        ),
        pytest.param(
            [(42, "90"), (84, "120"), (126, "60")],
            ResponseWindowLimits(),
            SD,
            [True, True, False],
            id="window-ends-at-first-PD",
        ),
    ],
)
def test_the_bor_window(
    sums: list[tuple[int, str]],
    limits: ResponseWindowLimits,
    expected_bor: OverallResponse,
    expected_window: list[bool],
) -> None:
    # D28
    result = evaluate(bor_patient(sums, limits))
    assert [tp.in_bor_window for tp in result.time_points] == expected_window
    assert result.best_overall_response.response is expected_bor


def test_time_points_after_clinical_progression_are_still_derived() -> None:
    # D28: "Clinical progression does not stop RECIST derivation"
    result = evaluate(
        bor_patient([(42, "90"), (84, "60")], ResponseWindowLimits(clinical_progression_dates=(day(50),)))
    )
    assert overall(result) == [SD, PR]
    assert result.best_overall_response.response is SD


def dated(*items: tuple[int, OverallResponse]) -> list[DatedResponse]:
    return [DatedResponse(f"TP{i + 1}", day(on_day), response) for i, (on_day, response) in enumerate(items)]


CONFIRMING = RecistSettings(confirmation_required=True)


@pytest.mark.parametrize(
    ("responses", "expected"),
    [
        pytest.param(dated((56, CR), (84, CR)), CR, id="CR-CR"),
        pytest.param(dated((56, CR), (84, PR)), PR, id="CR-PR-footnote-PR"),
        pytest.param(dated((56, CR), (84, SD)), SD, id="CR-SD-min-SD-met"),
        pytest.param(dated((28, CR), (35, SD)), PD, id="CR-SD-min-SD-not-met"),
        pytest.param(dated((56, CR), (84, PD)), SD, id="CR-PD-min-SD-met"),
        pytest.param(dated((28, CR), (56, PD)), PD, id="CR-PD-min-SD-not-met"),
        pytest.param(dated((56, CR), (84, NE)), SD, id="CR-NE-min-SD-met"),
        pytest.param(dated((28, CR), (56, NE)), NE, id="CR-NE-min-SD-not-met"),
        pytest.param(dated((56, PR), (84, CR)), PR, id="PR-CR"),
        pytest.param(dated((56, PR), (84, PR)), PR, id="PR-PR"),
        pytest.param(dated((56, PR), (84, SD)), SD, id="PR-SD"),
        pytest.param(dated((56, PR), (84, PD)), SD, id="PR-PD-min-SD-met"),
        pytest.param(dated((28, PR), (56, PD)), PD, id="PR-PD-min-SD-not-met"),
        pytest.param(dated((56, PR), (84, NE)), SD, id="PR-NE-min-SD-met"),
        pytest.param(dated((28, PR), (35, NE)), NE, id="PR-NE-min-SD-not-met"),
        pytest.param(dated((56, NE), (84, NE)), NE, id="NE-NE"),
        pytest.param(dated((56, PR), (70, PR)), SD, id="PR-PR-only-14-days-apart"),
        pytest.param(dated((56, PR), (70, NE), (84, PR)), PR, id="PR-NE-PR-confirmed-across-NE"),
        pytest.param(dated((56, PR), (70, SD), (84, PR)), SD, id="PR-SD-PR-not-confirmed"),
    ],
)
def test_table_3_with_confirmation(responses: list[DatedResponse], expected: OverallResponse) -> None:
    # Eisenhauer 2009 Table 3; clinical-spec §1.7
    assert best_overall_response(responses, origin_date=ORIGIN, settings=CONFIRMING).response is expected


@pytest.mark.parametrize(
    ("responses", "expected"),
    [
        pytest.param(dated((42, SD), (84, PR), (126, PD)), PR, id="B1"),
        pytest.param(dated((35, SD), (70, PD)), PD, id="B2"),
        pytest.param(dated((35, SD), (70, NE)), NE, id="B3"),
        pytest.param(dated((28, PR)), PR, id="unconfirmed-PR-counts-without-confirmation"),
        pytest.param(dated((56, PR), (84, CR)), CR, id="CR-beats-PR"),
        pytest.param(dated((56, NON_CR_NON_PD)), NON_CR_NON_PD, id="non-target-only"),
        pytest.param([], NE, id="no-time-points"),
    ],
)
def test_best_overall_response_without_confirmation(responses: list[DatedResponse], expected: OverallResponse) -> None:
    assert best_overall_response(responses, origin_date=ORIGIN, settings=RecistSettings()).response is expected


def test_with_confirmation_continued_pr_starts_only_once_pr_is_confirmed() -> None:
    # §1.3c "(confirmed, if confirmation is required)": 100 -> 70 (d56) -> 80 (d84): not yet confirmed, so SD
    assessments = bor_patient([(56, "70"), (84, "80")])
    assert overall(evaluate(assessments, CONFIRMING)) == [PR, SD]
    assert overall(evaluate(bor_patient([(56, "70"), (84, "70"), (112, "80")]), CONFIRMING)) == [PR, PR, PR]
    assert overall(evaluate(assessments)) == [PR, PR]


# ---------------------------------------------------------------------------------------------------------------
# AVATAR II arm A re-baselining (D32)


def rebaselined_patient() -> PatientAssessments:
    """Targets L1 + L2 (B 60). TP1 PR. TP2: new lesion NEW1 treated by SABR and L2 treated too; a new baseline
    with L1 (30 mm) as the only target and NEW1, L2 as locally treated non-targets. TP3, TP4: L1 25 mm (-16.7 %)."""
    new_baseline = Baseline(
        day(112),
        (TargetLesion("L1", "liver", tenths("30")),),
        (NonTargetLesion("NEW1", locally_treated=True), NonTargetLesion("L2", locally_treated=True)),
    )
    return patient(
        [lesion("L1", "30", organ="liver"), lesion("L2", "30", organ="lung")],
        [
            visit("TP1", 56, {"L1": "0", "L2": "10"}),
            visit("TP2", 112, {"L1": "30", "L2": "10"}, new={"NEW1": YES}, new_baseline=new_baseline),
            visit("TP3", 196, {"L1": "25"}, {"NEW1": PRESENT, "L2": NOT_EVALUATED}),
            visit("TP4", 280, {"L1": "25"}, {"NEW1": PRESENT, "L2": PRESENT}),
        ],
    )


def test_a_new_baseline_segment_restarts_nadir_and_history() -> None:
    result = evaluate(rebaselined_patient())
    assert overall(result) == [PR, PD, SD, SD]
    assert [tp.segment_index for tp in result.time_points] == [0, 0, 1, 1]
    assert [tp.starts_new_baseline for tp in result.time_points] == [False, True, False, False]
    tp3 = by_id(result, "TP3")
    assert (tp3.baseline_sum_tenths, tp3.nadir_tenths, tp3.after_progression) == (300, 300, False)
    assert tp3.non_target_response is NonTargetResponse.NONE  # both non-targets locally treated (D24)
    assert (result.first_progression_time_point_id, result.first_progression_date) == ("TP2", day(112))
    assert [(s.index, s.progression_time_point_id) for s in result.segments] == [(0, "TP2"), (1, None)]
    assert result.nadir_tenths == 250


def test_cr_history_does_not_cross_a_new_baseline() -> None:
    # D25 "within one baseline segment": L1 was absent at TP1 but target CR needs L2 gone too, so use one target
    new_baseline = Baseline(
        day(112), (TargetLesion("L1", "liver", tenths("10")),), (NonTargetLesion("NEW1", locally_treated=True),)
    )
    result = evaluate(
        patient(
            [lesion("L1", "30", organ="liver")],
            [
                visit("TP1", 56, {"L1": GONE}),
                visit("TP2", 112, {"L1": "10"}, new={"NEW1": YES}, new_baseline=new_baseline),
                visit("TP3", 196, {"L1": "12"}),
            ],
        )
    )
    assert overall(result) == [CR, PD, SD]


# ---------------------------------------------------------------------------------------------------------------
# Structural errors raise; clinical edit checks return (field, message) lists


@pytest.mark.parametrize(
    "assessments",
    [
        pytest.param(patient([lesion("L1", "20")], [visit("TP1", 56, {"L9": "10"})]), id="unknown-target"),
        pytest.param(patient([lesion("L1", "20")], [visit("TP1", 56, {}, {"NT9": PRESENT})]), id="unknown-non-target"),
        pytest.param(
            patient([lesion("L1", "20")], [visit("TP1", 56, {"L1": "10"}), visit("TP1", 84, {"L1": "10"})]),
            id="duplicate-time-point",
        ),
        pytest.param(
            patient([lesion("L1", "20")], [visit("TP1", 56, {"L1": "10"}, new={"L1": YES})]),
            id="new-lesion-is-a-baseline-lesion",
        ),
        pytest.param(patient([lesion("L1", "20"), lesion("L1", "30")], []), id="duplicate-baseline-lesion"),
    ],
)
def test_inconsistent_input_raises(assessments: PatientAssessments) -> None:
    with pytest.raises(ValueError, match="invalid RECIST input"):
        evaluate(assessments)


def test_an_observation_needs_its_value_and_scan_date() -> None:
    with pytest.raises(ValueError):
        TargetObservation("L1", TargetStatus.NOT_EVALUATED, None, 100)
    with pytest.raises(ValueError):
        NonTargetObservation("NT1", PRESENT, None)


def fields(errors: list[tuple[str, str]]) -> list[str]:
    return [field for field, _message in errors]


@pytest.mark.parametrize(
    ("targets", "expected_fields"),
    [
        pytest.param(
            [lesion("L1", "10", organ="liver"), lesion("L2", "12", organ="Liver ")], [], id="two-per-organ-ok"
        ),
        pytest.param([lesion(f"L{i}", "20", organ=f"organ {i}") for i in range(6)], ["targets"], id="six-targets"),
        pytest.param([lesion(f"L{i}", "20", organ="liver") for i in range(3)], ["targets"], id="three-in-liver"),
        pytest.param(
            [TargetLesion(f"N{i}", f"station {i}", 150, nodal=True) for i in range(3)],
            ["targets"],
            id="three-nodes-are-one-organ",
        ),
        pytest.param(
            [lesion(f"B{i}", "20", organ=f"vertebra {i}", bone=True) for i in range(3)],
            ["targets"],
            id="D37-three-bone-lesions-are-one-organ",
        ),
        pytest.param([node("N1", "14.9")], ["targets.N1.baseline_tenths"], id="node-below-15mm"),
        pytest.param([node("N1", "15")], [], id="node-15mm-ok"),
        pytest.param([lesion("L1", "9.9")], ["targets.L1.baseline_tenths"], id="non-nodal-below-10mm"),
        pytest.param([lesion("L1", "0")], ["targets.L1.baseline_tenths"], id="zero-diameter"),
        pytest.param([lesion("L1", "500")], ["targets.L1.baseline_tenths"], id="500mm"),
        pytest.param([lesion("L1", "499.9")], [], id="499.9mm-ok"),
        pytest.param(
            [TargetLesion("L1", "liver", 200, locally_treated=True)],
            ["targets.L1.locally_treated"],
            id="locally-treated-target",
        ),
    ],
)
def test_target_selection_checks(targets: list[TargetLesion], expected_fields: list[str]) -> None:
    # Eisenhauer 2009 §3; clinical-spec §1.1; D5, D37
    assert fields(validate_target_selection(targets)) == expected_fields


@pytest.mark.parametrize(
    ("scan_day", "expected_fields"),
    [
        pytest.param(-28, [], id="28-days-before"),
        pytest.param(-29, ["baseline.scan_date"], id="29-days-before"),
        pytest.param(0, [], id="on-origin"),
        pytest.param(1, ["baseline.scan_date"], id="after-origin"),
    ],
)
def test_baseline_timing_check(scan_day: int, expected_fields: list[str]) -> None:
    # D5, D23: origin - scan <= baseline_window_days
    assert fields(validate_baseline_timing(ORIGIN, day(scan_day))) == expected_fields


@pytest.mark.parametrize(
    ("slice_mm", "diameter_mm", "expected_fields"),
    [
        pytest.param("5", "10", [], id="5mm-slices-10mm-minimum"),
        pytest.param("7", "13.9", ["targets.L1.baseline_tenths"], id="7mm-slices-need-14mm"),
        pytest.param("7", "14", [], id="7mm-slices-14mm-ok"),
    ],
)
def test_thick_slices_raise_the_minimum_diameter(slice_mm: str, diameter_mm: str, expected_fields: list[str]) -> None:
    # Eisenhauer 2009 §3.1: with slices > 5 mm the minimum is twice the slice thickness
    errors = validate_target_selection([lesion("L1", diameter_mm)], slice_thickness_tenths=tenths(slice_mm))
    assert fields(errors) == expected_fields


def test_the_input_order_of_time_points_and_lesions_does_not_matter() -> None:
    # C6: a pure function of the data; the engine sorts time points by date (D22)
    ordered = sums_patient(["60", "40"], [["42", "28"], ["42", "30"], ["45", "35"]])
    reversed_input = PatientAssessments(
        ordered.origin_date,
        Baseline(ordered.baseline.scan_date, ordered.baseline.targets[::-1], ordered.baseline.non_targets),
        tuple(
            TimePoint(tp.time_point_id, tp.assessment_date, tp.targets[::-1], tp.non_targets)
            for tp in ordered.time_points[::-1]
        ),
    )
    assert [tp.target_response_strict for tp in evaluate(ordered).time_points] == [P, S, S]
    assert evaluate(reversed_input) == evaluate(ordered)


def test_follow_up_measurement_checks() -> None:
    assert validate_diameter_tenths(0, field="x", allow_zero=True) == []
    assert fields(validate_diameter_tenths(-1, field="x", allow_zero=True)) == ["x"]
    tp = visit("TP1", 56, {"L1": "500", "L2": "0"}, scans={"L2": -7})
    assert fields(validate_time_point_measurements(tp, day(-7))) == [
        "TP1.targets.L1.tenths",
        "TP1.targets.L2.scan_date",
    ]


def test_the_domain_package_never_imports_django() -> None:
    # STYLE.md rule 2: clinical computation is pure
    package = Path(__file__).resolve().parents[2] / "lesions" / "domain"
    for source in package.rglob("*.py"):
        for node_ in ast.walk(ast.parse(source.read_text())):
            names = (
                [alias.name for alias in node_.names]
                if isinstance(node_, ast.Import)
                else [node_.module or ""]
                if isinstance(node_, ast.ImportFrom)
                else []
            )
            assert not any(name.split(".")[0] == "django" for name in names), source
