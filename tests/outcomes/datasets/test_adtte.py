"""ADTTE: the stored endpoint rows, one per patient per PARAMCD, with the ADaM conventions (D2: AVAL +1; CNSR)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from outcomes.datasets import ADTTE
from outcomes.datasets.adtte import CENSOR_DATE_DESCRIPTIONS, REASON_DESCRIPTIONS
from outcomes.domain.endpoints import EndpointReason
from outcomes.models import EndpointValue
from patients.models import ClinicalProgression, Death, SystemicTherapyLine
from trials.models import Role

from ...conftest import Cast
from ...scenarios import Scenario
from .helpers import recompute, records


def _progression(scenario: Scenario) -> Any:
    scenario.assessment(84, 30, investigator="PR")
    return scenario.assessment(168, 37, investigator="PD")  # +23 % and +7 mm over the nadir 30: PD on day 168


def _no_progression(scenario: Scenario) -> Any:
    scenario.assessment(84, 39, investigator="SD")
    return scenario.assessment(170, 38, investigator="SD")


def _new_line_first(scenario: Scenario) -> Any:
    last = scenario.assessment(84, 39, investigator="SD")
    scenario.crf(
        SystemicTherapyLine,
        line_number=2,
        agent_chemotherapy=True,
        start_date=scenario.origin + timedelta(days=100),
        best_response="not_assessed",
    )
    progression = scenario.assessment(168, 60, investigator="PD")
    return {"PFS": last, "PFS_EMA": progression}  # FDA-style censors before the new line; EMA-style does not


def _clinical_progression(scenario: Scenario) -> Any:
    scenario.assessment(84, 39, investigator="SD")
    return scenario.crf(
        ClinicalProgression, progression_date=scenario.origin + timedelta(days=120), description="Bone pain"
    )


def _death(scenario: Scenario) -> Any:
    scenario.assessment(84, 39, investigator="SD")
    return scenario.crf(Death, death_date=scenario.origin + timedelta(days=130), primary_cause="disease")


# (story (returns the record that sets ADT, or one per PARAMCD), PARAMCD, CNSR, day of ADT, reason, its CRF code)
CASES: list[tuple[Callable[[Scenario], Any], str, int, int, EndpointReason, str]] = [
    (_progression, "PFS", 0, 168, EndpointReason.RADIOLOGICAL_PROGRESSION, "tumour-assessment"),
    (_no_progression, "PFS", 1, 170, EndpointReason.EVENT_FREE_AT_LAST_ASSESSMENT, "tumour-assessment"),
    (_new_line_first, "PFS", 1, 84, EndpointReason.NEW_THERAPY, "tumour-assessment"),
    (_new_line_first, "PFS_EMA", 0, 168, EndpointReason.RADIOLOGICAL_PROGRESSION, "tumour-assessment"),
    (_clinical_progression, "PFS", 0, 120, EndpointReason.CLINICAL_PROGRESSION, "clinical-progression"),
    (_death, "PFS", 0, 130, EndpointReason.DEATH, "death"),
    (_death, "OS", 0, 130, EndpointReason.DEATH, "death"),
]


@pytest.mark.parametrize(
    ("story", "paramcd", "cnsr", "day", "reason", "source"),
    CASES,
    ids=[f"{case[0].__name__}-{case[1]}" for case in CASES],
)
def test_each_endpoint_row_carries_the_adam_conventions(
    cast: Cast,
    story: Callable[[Scenario], Any],
    paramcd: str,
    cnsr: int,
    day: int,
    reason: EndpointReason,
    source: str,
) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    made = story(scenario)
    record = made[paramcd] if isinstance(made, dict) else made
    recompute(scenario.patient)
    rows = records(ADTTE, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    row = next(r for r in rows if r["USUBJID"] == scenario.patient.subject_id and r["PARAMCD"] == paramcd)
    assert row["STARTDT"] == scenario.origin
    assert row["ADT"] == scenario.origin + timedelta(days=day)
    assert row["AVAL"] == (row["ADT"] - row["STARTDT"]).days + 1 == day + 1  # D2: the origin is day 1
    assert row["CNSR"] == cnsr
    assert row["EVNTDESC"] == REASON_DESCRIPTIONS[reason]
    assert row["CNSDTDSC"] == (CENSOR_DATE_DESCRIPTIONS[reason] if cnsr else "")
    assert row["EVNTRSN"] == reason.value
    assert (row["SRCDOM"], row["SRCSEQ"]) == (source, record.pk)
    stored = EndpointValue.objects.get(patient=scenario.patient, paramcd=paramcd)
    assert (row["AVAL"], row["CNSR"]) == (stored.aval_days, stored.cnsr)


def test_rows_come_one_per_endpoint_in_paramcd_order_and_leave_out_endpoints_a_patient_does_not_have(
    cast: Cast,
) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    _no_progression(scenario)
    recompute(scenario.patient)
    rows = records(ADTTE, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    stored = EndpointValue.objects.filter(patient=scenario.patient)
    dated = sorted(value.paramcd for value in stored if value.aval_days is not None)
    assert [row["PARAMCD"] for row in rows] == dated
    assert len(dated) < stored.count()  # COSMO has no TSF / PFS2: those rows are not applicable and left out
    assert all(row["AVAL"] is not None and row["CNSR"] in (0, 1) for row in rows)
    assert {row["TRT01P"] for row in rows} == {cast.cosmo.arms.get().name}


def test_a_pending_query_flag_is_carried_to_the_dataset(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    _no_progression(scenario)
    recompute(scenario.patient)
    EndpointValue.objects.filter(patient=scenario.patient, paramcd="PFS").update(flags=["PENDING_QUERY"])
    rows = records(ADTTE, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    assert {row["PARAMCD"]: row["PENDQFL"] for row in rows}["PFS"] == "Y"
    assert {row["PENDQFL"] for row in rows if row["PARAMCD"] != "PFS"} == {""}


def test_an_avatar_strategy_failure_ends_tsf_and_opens_the_second_pfs(cast: Cast) -> None:
    from patients.models import StrategyFailure

    scenario = Scenario(cast, trial="avatar2", arm="A")
    scenario.baseline()
    scenario.assessment(84, 39, investigator="SD")
    failed_on = scenario.origin + timedelta(days=150)
    progression = scenario.crf(ClinicalProgression, progression_date=failed_on, description="Liver pain")
    failure = scenario.crf(
        StrategyFailure,
        failure_date=failed_on,
        failure_reason="systemic_change",
        progressing_lesions=3,
        amenable_to_sabr=False,
        management="systemic_change",
        linked_clinical_progression=progression,
    )
    recompute(scenario.patient)
    rows = {r["PARAMCD"]: r for r in records(ADTTE, trial=cast.avatar2, user=cast.user(Role.STATISTICIAN))}
    tsf = rows["TSF"]
    assert (tsf["CNSR"], tsf["ADT"], tsf["AVAL"]) == (0, failed_on, 151)
    assert tsf["EVNTDESC"] == REASON_DESCRIPTIONS[EndpointReason.STRATEGY_FAILURE]
    assert (tsf["SRCDOM"], tsf["SRCVAR"], tsf["SRCSEQ"]) == ("strategy-failure", "failure_date", failure.pk)
    assert tsf["TRT01P"] == cast.avatar2.arms.get(code="A").name
    assert rows["PFS2ND"]["STARTDT"] == failed_on  # 2nd PFS counts from the strategy failure (D11)
    assert rows["PFS2ND"]["CNSR"] == 1
