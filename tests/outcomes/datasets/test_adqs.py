"""ADQS: FACT-B items as entered, subscales and totals as the FACIT scoring function gives them, and the AUC the
derivation stored (clinical-spec §4, D14)."""

from __future__ import annotations

from datetime import timedelta
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
