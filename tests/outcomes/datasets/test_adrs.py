"""ADRS: the computed RECIST response beside the investigator's per assessment, and the best overall response."""

from __future__ import annotations

from datetime import timedelta

from lesions.models import TumourAssessment
from outcomes.datasets import ADRS
from patients.models import SystemicTherapyLine
from trials.models import Role

from ...conftest import Cast
from ...scenarios import Scenario
from .helpers import recompute, records


def _rows(cast: Cast, scenario: Scenario) -> list[dict]:
    recompute(scenario.patient)
    rows = records(ADRS, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    return [row for row in rows if row["USUBJID"] == scenario.patient.subject_id]


def test_computed_and_investigator_responses_stand_side_by_side_and_a_disagreement_is_flagged(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    differs = scenario.assessment(84, 26, investigator="SD")  # 40 → 26 mm: −35 %, RECIST says PR
    agrees = scenario.assessment(168, 26, investigator="PR")
    rows = _rows(cast, scenario)
    by_key = {(row["RSEVAL"], row["SRCSEQ"]): row for row in rows if row["PARAMCD"] == "OVRLRESP"}
    stored = TumourAssessment.objects.get(pk=differs.pk)
    assert stored.computed_response == "PR" and stored.response_differs  # what the dataset must carry
    assert (by_key["COMPUTED", differs.pk]["AVALC"], by_key["INVESTIGATOR", differs.pk]["AVALC"]) == ("PR", "SD")
    assert by_key["COMPUTED", differs.pk]["RESPDIFF"] == by_key["INVESTIGATOR", differs.pk]["RESPDIFF"] == "Y"
    assert by_key["COMPUTED", agrees.pk]["RESPDIFF"] == ""
    computed = by_key["COMPUTED", differs.pk]
    assert computed["ADT"] == scenario.origin + timedelta(days=84)
    assert computed["ADY"] == 85
    assert (computed["SUMDIAM"], computed["PCHGBL"], computed["TRGRESP"]) == (26.0, -35.0, "PR")
    assert computed["AVAL"] == 2  # CR 1, PR 2, SD 3, NON-CR/NON-PD 4, PD 5, NE 6
    assert by_key["INVESTIGATOR", differs.pk]["SUMDIAM"] is None  # the investigator gives the call only
    best = [row for row in rows if row["PARAMCD"] == "BOR"]
    assert len(best) == 1
    assert (best[0]["AVALC"], best[0]["ADT"], best[0]["SRCSEQ"]) == ("PR", computed["ADT"], differs.pk)


def test_the_best_response_window_ends_at_a_new_systemic_line(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    stable = scenario.assessment(84, 39, investigator="SD")
    scenario.crf(
        SystemicTherapyLine,
        line_number=2,
        agent_chemotherapy=True,
        start_date=scenario.origin + timedelta(days=100),
        best_response="not_assessed",
    )
    later = scenario.assessment(168, 20, investigator="PR")  # −50 %, but on the next line (D28)
    rows = _rows(cast, scenario)
    computed = {row["SRCSEQ"]: row for row in rows if row["PARAMCD"] == "OVRLRESP" and row["RSEVAL"] == "COMPUTED"}
    assert computed[later.pk]["AVALC"] == "PR"  # the time point's own response is still derived and exported
    assert (computed[stable.pk]["ANL01FL"], computed[later.pk]["ANL01FL"]) == ("Y", "")
    best = next(row for row in rows if row["PARAMCD"] == "BOR")
    assert (best["AVALC"], best["SRCSEQ"]) == ("SD", stable.pk)


def test_without_a_baseline_assessment_the_best_response_is_not_evaluable_and_says_why(cast: Cast) -> None:
    scenario = Scenario(cast)
    rows = _rows(cast, scenario)
    assert [row["PARAMCD"] for row in rows] == ["BOR"]
    assert (rows[0]["AVALC"], rows[0]["AVAL"], rows[0]["ADT"]) == ("NE", 6, None)
    assert "baseline" in rows[0]["EXPLAN"]
