"""ADQS: FACT-B items as entered, subscales and totals as the FACIT scoring function gives them, and the AUC the
derivation stored (clinical-spec §4, D14)."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest

from outcomes.datasets import ADQS
from outcomes.datasets.adqs import SCORES
from outcomes.models import PatientDerivation
from patients import services
from patients.domain.factb import FACT_B_ITEMS, ScoredAssessment, fact_b_area_under_curve, score_fact_b
from patients.models import FactB
from trials.models import Role

from ...conftest import Cast
from ...scenarios import CONSENT, Scenario, visit_done
from .helpers import recompute, records

# clinical-spec §4.4 example A ("–" = missing)
EXAMPLE_A: dict[str, int | None] = dict(
    zip(
        FACT_B_ITEMS,
        [
            *(1, 0, 2, 1, 0, 1, 0),  # PWB
            *(4, 3, 3, 2, 4, 3, None),  # SWB
            *(1, 3, 1, 0, 1, 1),  # EWB
            *(3, 2, 3, 3, 2, 3, 3),  # FWB
            *(1, 2, 0, 2, 1, 0, None, 1, 3, 2),  # BCS
        ],
        strict=True,
    )
)
ALL_BEST_RAW = {item: (0 if item.startswith("GP") else 4) for item in FACT_B_ITEMS}  # not the best: a mixed pattern
SPARSE = {item: (2 if index % 3 == 0 else None) for index, item in enumerate(FACT_B_ITEMS)}  # invalid subscales


def _form(scenario: Scenario, day: int, responses: dict[str, int | None]) -> Any:
    """A questionnaire on study day ``day``: at screening before the origin, else at the next follow-up visit."""
    on = scenario.origin + timedelta(days=day)
    occurrence = FactB.objects.filter(patient=scenario.patient, completion_date__gt=scenario.origin).count() + 1
    code = "screening" if day < 0 else "follow-up"
    visit = visit_done(scenario.user, scenario.patient, code, CONSENT if day < 0 else on, occurrence)
    values = {code.lower(): value for code, value in responses.items()}
    return services.crf_save(
        user=scenario.user,
        model=FactB,
        patient=scenario.patient,
        visit=visit,
        values={"completion_date": on, **values},
        complete=True,
    )


@pytest.mark.parametrize("responses", [EXAMPLE_A, ALL_BEST_RAW, SPARSE], ids=["example-a", "mixed", "sparse"])
def test_scores_are_the_facit_scoring_functions(cast: Cast, responses: dict[str, int | None]) -> None:
    scenario = Scenario(cast)
    form = _form(scenario, -3, responses)
    rows = records(ADQS, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    by_code = {row["PARAMCD"]: row for row in rows}
    expected = score_fact_b(responses)
    for code, _, _, _, attribute in SCORES:
        part = getattr(expected, attribute)
        wanted = None if part.score is None else float(part.score)
        assert by_code[code]["AVAL"] == wanted, code
        assert (by_code[code]["NANS"], by_code[code]["NITEMS"]) == (part.items_answered, part.items_total)
        assert (by_code[code]["SRCSEQ"], by_code[code]["ADT"]) == (form.pk, form.completion_date)
    for item, response in responses.items():
        assert by_code[item]["AVAL"] == (None if response is None else float(response))
    assert by_code["GP1"]["REVFL"] == "Y" and by_code["GS1"]["REVFL"] == ""


def test_example_a_gives_the_published_scores(cast: Cast) -> None:
    scenario = Scenario(cast)
    _form(scenario, 0, EXAMPLE_A)
    rows = {row["PARAMCD"]: row["AVAL"] for row in records(ADQS, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))}
    assert rows["PWB"] == 23
    assert rows["SWB"] == pytest.approx(133 / 6)
    assert rows["FACTBTOT"] == pytest.approx(2017 / 18)
    assert rows["TOI"] == pytest.approx(638 / 9)


def test_the_auc_is_the_one_the_derivation_stored_over_the_questionnaires(cast: Cast) -> None:
    scenario = Scenario(cast)
    forms = [_form(scenario, day, responses) for day, responses in ((-3, EXAMPLE_A), (84, ALL_BEST_RAW))]
    recompute(scenario.patient)
    rows = records(ADQS, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    auc = {row["PARAMCD"]: row for row in rows if row["PARCAT1"] == "FACT-B AUC"}
    stored = PatientDerivation.objects.get(patient=scenario.patient).values["quality_of_life"]
    computed = fact_b_area_under_curve(
        [
            ScoredAssessment(day=(form.completion_date - scenario.origin).days, score=form.scores().total.score)
            for form in forms
        ],
        horizon_days=stored["horizon_days"],
    )
    assert auc["FBAUC"]["AVAL"] == pytest.approx(float(computed.auc), abs=1e-4)
    assert auc["FBAUCN"]["AVAL"] == pytest.approx(float(computed.normalised), abs=1e-4)
    assert auc["FBAUC"]["SHORTFL"] == "Y"  # follow-up ends at day 84, before the 336-day horizon
    assert [row["PARAMCD"] for row in rows][-3:] == ["FBAUC", "FBAUCN", "FBAUCCB"]


def test_items_come_parameter_by_parameter_over_time(cast: Cast) -> None:
    scenario = Scenario(cast)
    first, second = _form(scenario, -3, EXAMPLE_A), _form(scenario, 84, EXAMPLE_A)
    rows = records(ADQS, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    assert [(row["PARAMCD"], row["SRCSEQ"]) for row in rows[:4]] == [
        ("GP1", first.pk),
        ("GP1", second.pk),
        ("GP2", first.pk),
        ("GP2", second.pk),
    ]
    assert [row["ADY"] for row in rows[:2]] == [-3, 85]


# --- Baseline and change from baseline (ADaMIG BDS ABLFL, BASE, CHG; D14) ------------------------------------------

TWOS: dict[str, int | None] = dict.fromkeys(FACT_B_ITEMS, 2)  # PWB 14, SWB 14, EWB 12, FWB 14, BCS 20: total 74
SWB_INVALID = {**TWOS, "GS1": None, "GS2": None, "GS3": None, "GS4": None}  # SWB 3 of 7: FACT-G and total invalid
PARAMETERS = (*FACT_B_ITEMS, *(score[0] for score in SCORES))


def _adqs(cast: Cast) -> list[dict[str, Any]]:
    return records(ADQS, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))


def _of(rows: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [row for row in rows if row["PARAMCD"] == code]


def _baseline_forms(rows: list[dict[str, Any]], code: str) -> list[int]:
    return [row["SRCSEQ"] for row in _of(rows, code) if row["ABLFL"] == "Y"]


@pytest.mark.parametrize(
    ("days", "baseline"),
    [((-40, -20, -3, 5, 84), -3), ((-29, 3, 6, 84), 3), ((-29, 8, 84), None)],
    ids=["last-on-or-before-origin-over-later-in-window", "first-after-origin", "none-in-window"],
)
def test_the_baseline_form_is_the_one_the_auc_rule_chooses(
    cast: Cast, days: tuple[int, ...], baseline: int | None
) -> None:
    scenario = Scenario(cast, origin=CONSENT + timedelta(days=60))  # room for forms before the -28-day window
    forms = {day: _form(scenario, day, TWOS) for day in days}
    rows = _adqs(cast)
    for code in PARAMETERS:
        assert _baseline_forms(rows, code) == ([] if baseline is None else [forms[baseline].pk]), code
    if baseline is None:
        assert [(row["ABLFL"], row["BASE"], row["CHG"]) for row in rows] == [("", None, None)] * len(rows)
        assert len(rows) == len(PARAMETERS) * len(days)


#: (PARAMCD, baseline AVAL from example A, change at the post-baseline form of TWOS), computed by hand
CHANGES: tuple[tuple[str, Fraction, Fraction], ...] = (
    ("PWB", Fraction(23), Fraction(-9)),
    ("SWB", Fraction(133, 6), Fraction(-49, 6)),  # 14 - 133/6; float(14) - float(133/6) is -8.166666666666668
    ("BCS", Fraction(260, 9), Fraction(-80, 9)),
    ("FACTG", Fraction(499, 6), Fraction(-175, 6)),
    ("FACTBTOT", Fraction(2017, 18), Fraction(-685, 18)),
    ("TOI", Fraction(638, 9), Fraction(-206, 9)),
    ("GP1", Fraction(1), Fraction(1)),
    ("GE4", Fraction(0), Fraction(2)),  # a baseline of 0 is a baseline
)


def test_change_from_baseline_is_exact_and_only_after_the_baseline(cast: Cast) -> None:
    scenario = Scenario(cast)
    before, baseline, after = _form(scenario, -20, TWOS), _form(scenario, -3, EXAMPLE_A), _form(scenario, 84, TWOS)
    rows = _adqs(cast)
    for code, base, change in CHANGES:
        by_form = {row["SRCSEQ"]: (row["ABLFL"], row["BASE"], row["CHG"]) for row in _of(rows, code)}
        assert by_form == {
            before.pk: ("", float(base), None),
            baseline.pk: ("Y", float(base), None),
            after.pk: ("", float(base), float(change)),
        }, code
    # GS7 is blank in example A: the earlier answer at day -20 is that item's baseline
    assert [(row["ABLFL"], row["BASE"], row["CHG"]) for row in _of(rows, "GS7")] == [
        ("Y", 2.0, None),
        ("", 2.0, None),
        ("", 2.0, 0.0),
    ]


def test_the_auc_records_have_no_baseline(cast: Cast) -> None:
    scenario = Scenario(cast)
    _form(scenario, -3, EXAMPLE_A)
    _form(scenario, 84, TWOS)
    recompute(scenario.patient)
    auc = [row for row in _adqs(cast) if row["PARCAT1"] == "FACT-B AUC"]
    assert [(row["PARAMCD"], row["ABLFL"], row["BASE"], row["CHG"]) for row in auc] == [
        ("FBAUC", "", None, None),
        ("FBAUCN", "", None, None),
        ("FBAUCCB", "", None, None),
    ]


def test_a_score_invalid_on_the_only_form_in_the_window_has_no_baseline(cast: Cast) -> None:
    scenario = Scenario(cast)
    baseline, after = _form(scenario, -3, SWB_INVALID), _form(scenario, 84, TWOS)
    rows = _adqs(cast)
    for code in ("SWB", "FACTG", "FACTBTOT", "GS1"):
        assert [(row["ABLFL"], row["BASE"], row["CHG"]) for row in _of(rows, code)] == [("", None, None)] * 2, code
    for code, base in (("PWB", 14.0), ("TOI", 48.0), ("GS5", 2.0)):  # valid on that form: it is their baseline
        assert _baseline_forms(rows, code) == [baseline.pk], code
        assert [(row["BASE"], row["CHG"]) for row in _of(rows, code)] == [(base, None), (base, 0.0)], code
    assert after.pk not in _baseline_forms(rows, "SWB")


def test_each_parameter_takes_its_first_valid_value_in_the_window_as_the_auc_does(cast: Cast) -> None:
    scenario = Scenario(cast)
    forms = [_form(scenario, day, responses) for day, responses in ((-3, SWB_INVALID), (5, TWOS), (84, TWOS))]
    rows = _adqs(cast)
    assert _baseline_forms(rows, "PWB") == [forms[0].pk]
    for code in ("SWB", "FACTG", "FACTBTOT"):
        assert _baseline_forms(rows, code) == [forms[1].pk], code
        assert [row["CHG"] for row in _of(rows, code)] == [None, None, 0.0], code  # the day -3 row is before baseline
    auc = fact_b_area_under_curve(
        [
            ScoredAssessment(day=(form.completion_date - scenario.origin).days, score=form.scores().total.score)
            for form in forms
        ]
    )
    [total] = [row for row in _of(rows, "FACTBTOT") if row["ABLFL"] == "Y"]
    assert auc.baseline_score is not None
    assert ((total["ADT"] - scenario.origin).days, total["BASE"]) == (auc.baseline_day, float(auc.baseline_score))


def test_two_values_on_the_baseline_day_leave_no_baseline(cast: Cast) -> None:
    scenario = Scenario(cast)
    first = _form(scenario, -3, EXAMPLE_A)
    twos = _form(scenario, -4, TWOS)
    _form(scenario, 84, TWOS)
    # entry refuses a second questionnaire on a day (patients.crfs.follow_up); data from before that check may have one
    FactB.objects.filter(pk=twos.pk).update(completion_date=first.completion_date)
    rows = _adqs(cast)
    for code in ("PWB", "FACTBTOT", "GP1"):
        assert [(row["ABLFL"], row["BASE"], row["CHG"]) for row in _of(rows, code)] == [("", None, None)] * 3, code
    assert _baseline_forms(rows, "GS7") == [twos.pk]  # blank in example A: one value that day, so a baseline
