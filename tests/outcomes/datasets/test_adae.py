"""ADAE: one record per adverse-event episode, with the CTCAE term and SOC, and the seriousness and relatedness flags
the safety calculators give (D15, ICH E2A)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from outcomes.datasets import ADAE
from patients.models import AdverseEvent, CtcaeTerm
from trials.models import Role

from ...conftest import Cast
from ...scenarios import Scenario
from .helpers import recompute, records, treat_with_sabr

BASE: dict[str, Any] = {"grade": 2, "outcome": "recovered", "action_taken": "none", "attribution_disease": "unlikely"}

# (values of the form beyond BASE, expected ADAE variables)
CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"attribution_sabr": "possible", "serious_hospitalisation": True, "expectedness": "expected"},
        {"AESER": "Y", "AESHOSP": "Y", "AESDTH": "N", "TRRELFL": "Y", "LATRELFL": "Y", "AERELSAB": "POSSIBLE"},
    ),
    (
        {"attribution_endocrine_therapy": "unlikely", "attribution_disease": "definite"},
        {"AESER": "N", "AESHOSP": "N", "TRRELFL": "", "LATRELFL": "", "AERELET": "UNLIKELY", "AERELDIS": "DEFINITE"},
    ),
    (
        {
            "attribution_cdk46_inhibitor": "probable",
            "serious_important_medical_event": True,
            "expectedness": "unexpected",
        },
        {"AESER": "Y", "AESMIE": "Y", "TRRELFL": "Y", "LATRELFL": "", "AERELCDK": "PROBABLE", "SUSARFL": "Y"},
    ),
]


@pytest.fixture
def fatigue(db: None) -> CtcaeTerm:
    return CtcaeTerm.objects.create(
        soc="General disorders and administration site conditions",
        term="Fatigue",
        grade_1="Relieved by rest",
        grade_2="Not relieved by rest",
        grade_3="Limiting self care ADL",
    )


@pytest.mark.parametrize(("values", "expected"), CASES, ids=["sabr-serious", "disease-only", "cdk-susar"])
def test_seriousness_and_relatedness_flags_follow_the_form(
    cast: Cast, fatigue: CtcaeTerm, values: dict[str, Any], expected: dict[str, Any]
) -> None:
    scenario = Scenario(cast)
    onset = scenario.origin + timedelta(days=30)
    serious = {"site_awareness_date": onset} if any(k.startswith("serious_") for k in values) else {}
    event = scenario.crf(
        AdverseEvent,
        term=fatigue,
        onset_date=onset,
        resolution_date=onset + timedelta(days=9),
        **{**BASE, **serious, **values},
    )
    (row,) = records(ADAE, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    assert {name: row[name] for name in expected} == expected
    assert (row["AEDECOD"], row["AEBODSYS"]) == (fatigue.term, fatigue.soc)
    assert (row["AETOXGR"], row["ATOXGRN"]) == ("2", 2)
    assert (row["ASTDT"], row["ASTDY"], row["ADURN"]) == (onset, 31, 10)
    assert (row["AESPID"], row["AESEQ"], row["TRTEMFL"]) == (event.pk, 1, "Y")
    assert (row["TRRELFL"] == "Y") is event.is_treatment_related  # the same calculator as the form


def test_episodes_are_numbered_by_onset_and_an_event_before_the_origin_is_not_treatment_emergent(
    cast: Cast, fatigue: CtcaeTerm
) -> None:
    scenario = Scenario(cast)
    later = scenario.crf(
        AdverseEvent,
        term=fatigue,
        onset_date=scenario.origin + timedelta(days=40),
        ongoing=True,
        outcome="not_recovered",
        action_taken="none",
        grade=1,
        attribution_disease="possible",
        attribution_sabr="unrelated",
    )
    earlier = scenario.crf(
        AdverseEvent,
        term=fatigue,
        onset_date=scenario.origin - timedelta(days=3),
        resolution_date=scenario.origin,
        outcome="recovered",
        action_taken="none",
        grade=1,
        attribution_disease="possible",
        attribution_sabr="unrelated",
    )
    recompute(scenario.patient)
    rows = records(ADAE, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    assert [(row["AESEQ"], row["AESPID"]) for row in rows] == [(1, earlier.pk), (2, later.pk)]
    assert [row["TRTEMFL"] for row in rows] == ["", "Y"]
    assert [row["ASTDY"] for row in rows] == [-3, 41]  # no day 0
    assert (rows[1]["AEONGO"], rows[1]["AENDT"], rows[1]["ADURN"]) == ("Y", None, None)


def test_a_draft_adverse_event_is_not_data_yet(cast: Cast, fatigue: CtcaeTerm, coordinator: Any) -> None:
    from patients import services

    scenario = Scenario(cast)
    services.crf_save(
        user=coordinator, model=AdverseEvent, patient=scenario.patient, values={"term": fatigue}, complete=False
    )
    assert records(ADAE, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN)) == []


def test_an_event_related_to_sabr_soon_after_it_is_an_acute_lat_complication(cast: Cast, fatigue: CtcaeTerm) -> None:
    scenario = Scenario(cast)
    treat_with_sabr(scenario, day=7)
    scenario.crf(
        AdverseEvent,
        term=fatigue,
        onset_date=scenario.origin + timedelta(days=20),
        resolution_date=scenario.origin + timedelta(days=30),
        **{**BASE, "attribution_sabr": "definite"},
    )
    (before,) = records(ADAE, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    assert before["LATCOMP"] is None  # read from the stored derivation: none yet
    recompute(scenario.patient)
    (row,) = records(ADAE, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    assert (row["LATRELFL"], row["LATCOMP"]) == ("Y", "ACUTE")
