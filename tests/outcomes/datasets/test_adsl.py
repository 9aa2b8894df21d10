"""ADSL: one record per patient in the user's scope, with the arm as allocated, the strata as randomised, the derived
subgroups and the population flags."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from outcomes.datasets import ADSL
from outcomes.datasets.adsl import SCREEN_FAILURE
from patients import services
from patients.models import Allocation, Death, EndOfStudy, PatientStatus, TumourBiology
from trials.models import Role

from ...conftest import Cast
from ...factories import PatientFactory
from ...scenarios import CONSENT, Scenario, visit_done
from .helpers import recompute, records, treat_with_sabr


def test_a_site_user_gets_one_row_per_patient_of_their_own_sites_only(cast: Cast) -> None:
    mine = records(ADSL, trial=cast.avatar2, user=cast.user(Role.SITE_COORDINATOR))
    everyone = records(ADSL, trial=cast.avatar2, user=cast.user(Role.STATISTICIAN))
    assert [row["USUBJID"] for row in mine] == [cast.patient_a.subject_id]
    assert [row["USUBJID"] for row in everyone] == sorted([cast.patient_a.subject_id, cast.patient_b.subject_id])
    assert {row["SITEID"] for row in everyone} == {"NL01", "BE01"}
    assert records(ADSL, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN)) == []  # the other trial's patients


def test_no_birth_date_leaves_the_edc_only_the_age_at_consent_and_its_group(cast: Cast) -> None:
    (row,) = records(ADSL, trial=cast.avatar2, user=cast.user(Role.SITE_COORDINATOR))
    assert not any("BRTH" in name or "DOB" in name for name in ADSL.names)
    assert (row["AGE"], row["AGEU"], row["AGEGR1"]) == (cast.patient_a.age_at_consent, "YEARS", "50-69")
    assert row["SUBJID"] == cast.patient_a.subject_id.split("-", 1)[1]


def test_a_randomised_patient_carries_the_arm_and_the_strata_as_randomised(cast: Cast) -> None:
    scenario = Scenario(cast, trial="avatar2", arm="A")
    allocation = Allocation.objects.get(patient=scenario.patient)
    rows = records(ADSL, trial=cast.avatar2, user=cast.user(Role.STATISTICIAN))
    row = next(r for r in rows if r["USUBJID"] == scenario.patient.subject_id)
    assert (row["ARMCD"], row["ARM"], row["TRT01P"]) == ("A", allocation.arm.name, allocation.arm.name)
    assert (row["STRAT1R"], row["STRAT2R"]) == (
        allocation.factors["endocrine_partner"],
        allocation.factors["oligo_lesions"],
    )
    assert (row["RANDDT"], row["ENRLDT"], row["RFICDT"]) == (scenario.origin, scenario.origin, CONSENT)
    assert (row["ITTFL"], row["SAFFL"], row["LATSDT"]) == ("Y", "", None)
    sabr = treat_with_sabr(scenario, day=10)
    row = next(r for r in records(ADSL, trial=cast.avatar2, user=cast.user(Role.STATISTICIAN)) if r["ARMCD"] == "A")
    assert (row["SAFFL"], row["LATSDT"]) == ("Y", sabr.start_date)
    unallocated = next(r for r in rows if r["USUBJID"] == cast.patient_b.subject_id)
    assert (unallocated["ARMCD"], unallocated["ITTFL"], unallocated["TRT01P"]) == ("NOTASSGN", "", None)


def test_a_screen_failure_is_listed_and_says_so(cast: Cast) -> None:
    failed = PatientFactory(
        trial=cast.avatar2, site=cast.site_a, sequence=9, status=PatientStatus.SCREEN_FAILED, enrolment_date=None
    )
    row = next(
        r
        for r in records(ADSL, trial=cast.avatar2, user=cast.user(Role.STATISTICIAN))
        if r["USUBJID"] == failed.subject_id
    )
    assert (row["ARM"], row["ARMCD"]) == SCREEN_FAILURE
    assert (row["ITTFL"], row["EOSSTT"], row["DCSREAS"]) == ("", "DISCONTINUED", "SCREEN FAILURE")


@pytest.mark.parametrize(("follow_ups", "evaluable"), [(0, ""), (1, "Y")], ids=["baseline-only", "with-follow-up"])
def test_a_registered_cosmo_patient_is_itt_in_the_single_arm_and_evaluable_with_a_follow_up(
    cast: Cast, follow_ups: int, evaluable: str
) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    for index in range(follow_ups):
        scenario.assessment(84 * (index + 1), 39, investigator="SD")
    (row,) = records(ADSL, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    arm = cast.cosmo.arms.get()
    assert (row["ARMCD"], row["ARM"], row["ITTFL"], row["RANDDT"]) == (arm.code, arm.name, "Y", None)
    assert row["EFFFL"] == evaluable


@pytest.mark.parametrize(
    ("er_percent", "her2_ihc", "subtype", "er_low"),
    [(80, "0", "HR+/HER2-", ""), (5, "1+", "HR+/HER2-", "Y"), (0, "3+", "HER2+", "")],
)
def test_subtype_comes_from_the_stored_derivation_and_er_low_from_the_biology(
    cast: Cast, er_percent: int, her2_ihc: str, subtype: str, er_low: str
) -> None:
    scenario = Scenario(cast)
    services.crf_save(
        user=scenario.user,
        model=TumourBiology,
        patient=scenario.patient,
        visit=visit_done(scenario.user, scenario.patient, "screening", CONSENT),
        values={
            "specimen": "metastatic",
            "specimen_date": CONSENT - timedelta(days=10),
            "er_percent": er_percent,
            "pr_percent": 0,
            "her2_ihc": her2_ihc,
            "ish": "not_done",
        },
        complete=True,
    )
    (before,) = records(ADSL, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    assert before["SUBTYPE"] is None  # nothing derived yet: the dataset never derives it on its own
    recompute(scenario.patient)
    (row,) = records(ADSL, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    assert (row["SUBTYPE"], row["ERLOWFL"]) == (subtype, er_low)


def test_death_and_last_known_alive(cast: Cast) -> None:
    alive, dead = Scenario(cast), Scenario(cast, origin=date(2025, 2, 10))  # its own screening number
    for scenario in (alive, dead):
        scenario.baseline()
    last = alive.assessment(84, 39, investigator="SD")
    dead.assessment(84, 39, investigator="SD")
    died = dead.origin + timedelta(days=100)
    dead.crf(Death, death_date=died, primary_cause="disease")
    recompute(alive.patient, dead.patient)
    rows = {r["USUBJID"]: r for r in records(ADSL, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))}
    assert (rows[dead.patient.subject_id]["DTHFL"], rows[dead.patient.subject_id]["DTHDT"]) == ("Y", died)
    assert rows[dead.patient.subject_id]["DTHCAUS"] == "DISEASE PROGRESSION"
    assert rows[dead.patient.subject_id]["LSTALVDT"] is None
    assert (rows[dead.patient.subject_id]["EOSSTT"], rows[dead.patient.subject_id]["DCSREAS"]) == (
        "DISCONTINUED",
        "DEATH",
    )
    assert (rows[alive.patient.subject_id]["EOSSTT"], rows[alive.patient.subject_id]["DCSREAS"]) == ("ONGOING", None)
    assert (rows[alive.patient.subject_id]["DTHFL"], rows[alive.patient.subject_id]["DTHDT"]) == ("", None)
    assert rows[alive.patient.subject_id]["LSTALVDT"] == last.assessment_date
    assert rows[alive.patient.subject_id]["ORIGDT"] == alive.origin


@pytest.mark.parametrize(
    ("values", "status", "reason"),
    [
        ({"end_reason": "completed"}, "COMPLETED", None),
        ({"end_reason": "withdrew", "withdrawal_data_use": "collected"}, "DISCONTINUED", "WITHDREW CONSENT"),
        ({"end_reason": "lost"}, "DISCONTINUED", "LOST TO FOLLOW-UP"),
    ],
)
def test_the_end_of_study_form_gives_status_reason_and_date(
    cast: Cast, values: dict[str, str], status: str, reason: str | None
) -> None:
    scenario = Scenario(cast)
    ended = scenario.origin + timedelta(days=200)
    scenario.crf(EndOfStudy, end_date=ended, **values)
    (row,) = records(ADSL, trial=cast.cosmo, user=cast.user(Role.STATISTICIAN))
    assert (row["EOSSTT"], row["DCSREAS"], row["EOSDT"]) == (status, reason, ended)
