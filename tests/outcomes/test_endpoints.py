"""Endpoint engine, table-driven, no database.

Days are study days from the origin (day 0); ``aval`` is worked out by hand as ``end day + 1`` (D2). Each case names
the rule it pins (clinical-spec 2.1 worked examples E1-E3, the FDA 2018 censoring table, decisions D1-D40).
"""

from __future__ import annotations

import ast
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from outcomes.domain.endpoints import (
    AdverseEvent,
    AliveEvidence,
    Arm,
    Attribution,
    AttributionLevel,
    ClinicalProgression,
    Death,
    EndOfStudy,
    EndOfStudyReason,
    EndpointFlag,
    EndpointReason,
    EndpointResult,
    EndpointSettings,
    Intervention,
    LandmarkStatus,
    LatComplicationTiming,
    LatModality,
    LocalTreatment,
    NextLineProgression,
    OriginEvent,
    OverallResponse,
    Paramcd,
    PatientEndpoints,
    PatientInput,
    QueryCode,
    StopReason,
    StrategyFailure,
    StrategyFailureReason,
    TherapyLine,
    TimePoint,
    TrialDesign,
    VisceralCrisis,
    derive_endpoints,
    landmark_status,
)

ORIGIN = date(2025, 1, 6)
R = EndpointReason


def day(n: int) -> date:
    return ORIGIN + timedelta(days=n)


def tp(n: int, response: OverallResponse = OverallResponse.SD, *, id: str | None = None) -> TimePoint:
    return TimePoint(id=id or f"tp{n}", tp_date=day(n), response=response)


def sd(n: int) -> TimePoint:
    return tp(n)


def ne(n: int) -> TimePoint:
    return tp(n, OverallResponse.NE)


def pd(n: int, pd_day: int | None = None, *, within_strategy: bool = False, id: str | None = None) -> TimePoint:
    return TimePoint(
        id=id or f"tp{n}",
        tp_date=day(n),
        response=OverallResponse.PD,
        pd_date=day(n if pd_day is None else pd_day),
        within_strategy=within_strategy,
    )


def line(
    number: int,
    start: int,
    stop: int | None = None,
    reason: StopReason | None = None,
    *,
    protocol: bool = False,
) -> TherapyLine:
    return TherapyLine(
        id=f"L{number}",
        line_number=number,
        start=day(start),
        stop=None if stop is None else day(stop),
        stop_reason=reason,
        protocol_therapy_at_randomisation=protocol,
    )


FIRST_LINE = line(1, -400)  # the line in use at the origin: never a new line


def death(n: int) -> Death:
    return Death(id="death", date=day(n))


def clinical(n: int) -> ClinicalProgression:
    return ClinicalProgression(id=f"cp{n}", date=day(n))


def failure(
    n: int,
    linked: str | None = None,
    reason: StrategyFailureReason = StrategyFailureReason.NOT_AMENABLE_TO_SABR,
    lesions: int | None = None,
) -> StrategyFailure:
    return StrategyFailure(
        id=f"sf{n}", date=day(n), reason=reason, linked_record_id=linked, progressing_lesion_count=lesions
    )


def contact(n: int) -> AliveEvidence:
    return AliveEvidence(date=day(n), source="survival status contact", record_id=f"contact{n}")


def cosmo(**fields: Any) -> PatientInput:
    fields.setdefault("therapy_lines", (FIRST_LINE,))
    return PatientInput(patient_id="P1", trial=TrialDesign.COSMO, registration_date=ORIGIN, **fields)


def avatar(arm: Arm | None = Arm.A, **fields: Any) -> PatientInput:
    fields.setdefault("therapy_lines", (FIRST_LINE,))
    return PatientInput(patient_id="P2", trial=TrialDesign.AVATAR_II, arm=arm, randomisation_date=ORIGIN, **fields)


def derive(patient: PatientInput, **settings: Any) -> PatientEndpoints:
    return derive_endpoints(patient, EndpointSettings(**settings))


def row(patient: PatientInput, paramcd: Paramcd, **settings: Any) -> EndpointResult:
    return derive(patient, **settings).result(paramcd)


def outcome(result: EndpointResult) -> tuple[date | None, int | None, bool | None, EndpointReason | None]:
    return result.end_date, result.aval_days, result.event, result.reason


def query_codes(endpoints: PatientEndpoints) -> list[QueryCode]:
    return [query.code for query in endpoints.queries]


# PFS, primary (FDA-style) and EMA-style sensitivity: (patient, settings, PFS (end day, aval, event, reason),
# PFS_EMA (end day, aval, event, reason)).
PFS_CASES = [
    pytest.param(
        cosmo(time_points=(sd(84), sd(168), pd(252))),
        {},
        (252, 253, True, R.RADIOLOGICAL_PROGRESSION),
        (252, 253, True, R.RADIOLOGICAL_PROGRESSION),
        id="e1_sd_sd_pd_is_an_event_at_the_pd",
    ),
    pytest.param(
        cosmo(time_points=(sd(84),), death=death(300)),
        {},
        (84, 85, False, R.MISSED_ASSESSMENTS),
        (300, 301, True, R.DEATH),
        id="e2_death_after_two_missed_assessments_is_censored_at_the_last_assessment",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), pd(168)), therapy_lines=(FIRST_LINE, line(2, 100))),
        {},
        (84, 85, False, R.NEW_THERAPY),
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        id="e3_new_therapy_before_progression_is_censored_at_the_last_assessment",
    ),
    pytest.param(
        cosmo(has_baseline_assessment=False, time_points=(sd(84), pd(168)), death=death(200)),
        {},
        (0, 1, False, R.NO_BASELINE_ASSESSMENT),
        (0, 1, False, R.NO_BASELINE_ASSESSMENT),
        id="fda_no_baseline_assessment_is_censored_at_the_origin",
    ),
    pytest.param(
        cosmo(),
        {},
        (0, 1, False, R.NO_ADEQUATE_ASSESSMENT),
        (0, 1, False, R.NO_ADEQUATE_ASSESSMENT),
        id="fda_no_post_baseline_assessment_and_no_death_is_censored_at_day_1",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168))),
        {},
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="fda_no_progression_is_censored_at_the_last_adequate_assessment",
    ),
    pytest.param(
        cosmo(death=death(60)),
        {},
        (60, 61, True, R.DEATH),
        (60, 61, True, R.DEATH),
        id="fda_death_before_the_first_assessment_is_an_event",
    ),
    pytest.param(
        cosmo(time_points=(sd(84),), death=death(120)),
        {},
        (120, 121, True, R.DEATH),
        (120, 121, True, R.DEATH),
        id="d6_death_without_progression_between_visits_is_an_event",
    ),
    pytest.param(
        cosmo(
            time_points=(sd(84), sd(168)),
            end_of_study=EndOfStudy(id="eos", date=day(200), reason=EndOfStudyReason.WITHDREW_CONSENT),
        ),
        {},
        (168, 169, False, R.WITHDRAWN),
        (168, 169, False, R.WITHDRAWN),
        id="fda_withdrawal_is_censored_at_the_last_adequate_assessment",
    ),
    pytest.param(
        cosmo(
            time_points=(sd(84), ne(168)),
            end_of_study=EndOfStudy(id="eos", date=day(250), reason=EndOfStudyReason.LOST_TO_FOLLOW_UP),
        ),
        {},
        (84, 85, False, R.LOST_TO_FOLLOW_UP),
        (84, 85, False, R.LOST_TO_FOLLOW_UP),
        id="fda_lost_to_follow_up_is_censored_at_the_last_adequate_assessment",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168), pd(252)), clinical_progressions=(clinical(120),)),
        {},
        (120, 121, True, R.CLINICAL_PROGRESSION),
        (120, 121, True, R.CLINICAL_PROGRESSION),
        id="d4_clinical_progression_before_radiological_is_the_event",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168), pd(252)), clinical_progressions=(clinical(120),)),
        {"count_clinical_progression": False},
        (252, 253, True, R.RADIOLOGICAL_PROGRESSION),
        (252, 253, True, R.RADIOLOGICAL_PROGRESSION),
        id="d4_clinical_progression_is_ignored_when_the_setting_is_off",
    ),
    pytest.param(
        cosmo(
            time_points=(sd(84), sd(168)),
            visceral_crises=(VisceralCrisis(id="vc1", onset=day(100), organs=("liver",)),),
        ),
        {},
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="d20_visceral_crisis_alone_is_not_a_pfs_event",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), ne(168))),
        {},
        (84, 85, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (84, 85, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="d22_ne_time_point_is_not_an_adequate_assessment",
    ),
    pytest.param(
        # With the NE at day 168 counted, the gap would be 112 days and the death an event.
        cosmo(time_points=(sd(84), ne(168)), death=death(280)),
        {},
        (84, 85, False, R.MISSED_ASSESSMENTS),
        (280, 281, True, R.DEATH),
        id="d22_ne_time_point_is_not_l_for_the_missed_visit_rule",
    ),
    pytest.param(
        # L is the last adequate time point strictly before the event: the day-210 scan is not, so the gap is
        # 210 - 20 = 190 > 182.
        cosmo(time_points=(sd(20), sd(210)), death=death(210)),
        {},
        (20, 21, False, R.MISSED_ASSESSMENTS),
        (210, 211, True, R.DEATH),
        id="d22_assessment_on_the_event_day_is_not_l",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), pd(175, 170))),
        {},
        (170, 171, True, R.RADIOLOGICAL_PROGRESSION),
        (170, 171, True, R.RADIOLOGICAL_PROGRESSION),
        id="d22_d26_event_is_dated_by_the_pd_date_not_the_tp_date",
    ),
    pytest.param(
        cosmo(time_points=(sd(84),), death=death(266)),
        {},
        (266, 267, True, R.DEATH),
        (266, 267, True, R.DEATH),
        id="d23_gap_of_exactly_182_days_keeps_the_event",
    ),
    pytest.param(
        cosmo(time_points=(sd(84),), death=death(267)),
        {},
        (84, 85, False, R.MISSED_ASSESSMENTS),
        (267, 268, True, R.DEATH),
        id="d23_gap_of_183_days_is_censored",
    ),
    pytest.param(
        cosmo(time_points=(sd(56),), death=death(176)),
        {"interval_days": 56, "window_days": 7},
        (56, 57, False, R.MISSED_ASSESSMENTS),
        (176, 177, True, R.DEATH),
        id="d8_d23_threshold_follows_the_interval_and_window_settings",
    ),
    pytest.param(
        cosmo(time_points=(sd(84),), death=death(300)),
        {"missed_visit_censoring": False},
        (300, 301, True, R.DEATH),
        (300, 301, True, R.DEATH),
        id="d6_missed_visit_rule_off_keeps_the_event",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), pd(168)), therapy_lines=(FIRST_LINE, line(2, 100))),
        {"censor_at_new_therapy": False},
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        id="d6_new_therapy_censoring_off_keeps_the_event",
    ),
    pytest.param(
        cosmo(clinical_progressions=(clinical(0),)),
        {},
        (0, 1, True, R.CLINICAL_PROGRESSION),
        (0, 1, True, R.CLINICAL_PROGRESSION),
        id="d2_event_on_the_origin_day_has_aval_1",
    ),
    pytest.param(
        # Every lesion locally treated and no target: the RECIST engine calls the time point NE (D24).
        cosmo(time_points=(sd(84), tp(168, OverallResponse.NE, id="all_locally_treated"))),
        {},
        (84, 85, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (84, 85, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="d24_time_point_ne_because_every_lesion_is_locally_treated_is_not_adequate",
    ),
    pytest.param(
        cosmo(time_points=(tp(84, OverallResponse.CR), pd(168, 165))),
        {},
        (165, 166, True, R.RADIOLOGICAL_PROGRESSION),
        (165, 166, True, R.RADIOLOGICAL_PROGRESSION),
        id="d25_reappearance_after_cr_is_dated_by_its_earliest_scan",
    ),
    pytest.param(
        # Scans of the second time point run from day 84 to day 90: censoring uses its TP date, day 90.
        cosmo(time_points=(sd(90), pd(180, 176)), therapy_lines=(FIRST_LINE, line(2, 95))),
        {},
        (90, 91, False, R.NEW_THERAPY),
        (176, 177, True, R.RADIOLOGICAL_PROGRESSION),
        id="d26_censoring_uses_tp_dates_and_events_use_pd_dates",
    ),
    pytest.param(
        # An equivocal new lesion first seen at day 168 is confirmed at day 252: PD back-dated to 168, before
        # the new line started at day 200, so the line does not censor.
        cosmo(time_points=(sd(84), sd(168), pd(252, 168)), therapy_lines=(FIRST_LINE, line(2, 200))),
        {},
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        id="d27_back_dated_pd_wins_over_a_line_started_before_the_confirmation",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), pd(252), pd(336, 168))),
        {},
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        id="d27_earliest_pd_date_wins_even_on_a_later_time_point",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168), pd(252, 168))),
        {"data_cutoff": day(240)},
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="d27_confirmation_after_the_cutoff_is_ignored",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168), pd(250)), therapy_lines=(FIRST_LINE, line(2, 168))),
        {},
        (168, 169, False, R.NEW_THERAPY),
        (250, 251, True, R.RADIOLOGICAL_PROGRESSION),
        id="d29_new_line_started_on_scan_day_keeps_that_scan",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168), pd(252)), therapy_lines=(FIRST_LINE, line(2, 100))),
        {},
        (84, 85, False, R.NEW_THERAPY),
        (252, 253, True, R.RADIOLOGICAL_PROGRESSION),
        id="d29_scans_after_the_new_line_do_not_move_the_censoring",
    ),
    pytest.param(
        # The missed-visit rule alone would censor at day 168 (gap 232): new-therapy censoring comes first.
        cosmo(time_points=(sd(84), sd(168)), therapy_lines=(FIRST_LINE, line(2, 90)), death=death(400)),
        {},
        (84, 85, False, R.NEW_THERAPY),
        (400, 401, True, R.DEATH),
        id="d29_new_therapy_censoring_is_applied_before_the_missed_visit_rule",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168)), therapy_lines=(FIRST_LINE, line(2, 100))),
        {},
        (84, 85, False, R.NEW_THERAPY),
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="d29_new_line_without_event_censors_at_the_last_assessment_before_it",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), pd(168)), therapy_lines=(FIRST_LINE, line(2, 168))),
        {},
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        id="d30_new_line_started_on_the_event_date_does_not_censor",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), pd(168)), clinical_progressions=(clinical(168),), death=death(168)),
        {},
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        id="d30_same_day_radiological_progression_describes_the_event",
    ),
    pytest.param(
        cosmo(time_points=(sd(84),), clinical_progressions=(clinical(150),), death=death(150)),
        {},
        (150, 151, True, R.CLINICAL_PROGRESSION),
        (150, 151, True, R.CLINICAL_PROGRESSION),
        id="d30_same_day_clinical_progression_comes_before_death",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168), pd(252)), therapy_lines=(line(1, -400, 90, StopReason.TOXICITY),)),
        {},
        (252, 253, True, R.RADIOLOGICAL_PROGRESSION),
        (252, 253, True, R.RADIOLOGICAL_PROGRESSION),
        id="d35_treatment_stopped_without_a_new_line_does_not_censor_pfs",
    ),
    pytest.param(
        avatar(Arm.B, time_points=(sd(84), pd(168)), therapy_lines=(FIRST_LINE, line(2, 3, protocol=True))),
        {},
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        id="d35_arm_b_protocol_therapy_at_randomisation_is_not_a_new_line",
    ),
    pytest.param(
        avatar(Arm.A, time_points=(sd(84), pd(168, within_strategy=True), sd(252))),
        {},
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        id="d32_pfs_still_ends_at_the_first_progression_within_the_strategy",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168), pd(252))),
        {"data_cutoff": day(200)},
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="cutoff_progression_after_the_cutoff_is_ignored",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168))),
        {"data_cutoff": day(150)},
        (84, 85, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (84, 85, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="cutoff_assessment_after_the_cutoff_is_ignored",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168)), death=death(220)),
        {"data_cutoff": day(200)},
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (168, 169, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="cutoff_death_after_the_cutoff_is_not_a_pfs_event",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), pd(168)), therapy_lines=(FIRST_LINE, line(2, 210))),
        {"data_cutoff": day(200)},
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        (168, 169, True, R.RADIOLOGICAL_PROGRESSION),
        id="cutoff_progression_on_or_before_the_cutoff_is_kept",
    ),
]


@pytest.mark.parametrize(("patient", "settings", "primary", "sensitivity"), PFS_CASES)
def test_pfs(
    patient: PatientInput,
    settings: dict[str, Any],
    primary: tuple[int, int, bool, EndpointReason],
    sensitivity: tuple[int, int, bool, EndpointReason],
) -> None:
    endpoints = derive(patient, **settings)
    for paramcd, (end, aval, event, reason) in ((Paramcd.PFS, primary), (Paramcd.PFS_EMA, sensitivity)):
        result = endpoints.result(paramcd)
        assert outcome(result) == (day(end), aval, event, reason), paramcd
        assert result.start_date == ORIGIN
        assert result.cnsr == (0 if event else 1)


def test_new_therapy_censoring_explains_itself_with_the_records_that_set_the_date() -> None:
    patient = cosmo(time_points=(sd(84), pd(168, id="a12")), therapy_lines=(FIRST_LINE, line(2, 100)))
    result = row(patient, Paramcd.PFS)
    assert result.explanation == (
        "censored at the 2025-03-31 assessment (TP tp84): new systemic therapy line 2 (L2) started 2025-04-16, "
        "before the radiological progression (TP a12, PD date) on 2025-06-23"
    )
    assert result.source_record_ids == ("tp84", "L2", "a12")


def test_d30_same_day_events_list_every_record_in_d30_order() -> None:
    patient = cosmo(time_points=(sd(84), pd(168)), clinical_progressions=(clinical(168),), death=death(168))
    assert row(patient, Paramcd.PFS).source_record_ids == ("tp168", "cp168", "death")


def test_d28_time_points_after_a_clinical_progression_still_count_for_tsf() -> None:
    patient = avatar(Arm.B, time_points=(sd(84), sd(168), sd(252)), clinical_progressions=(clinical(100),))
    endpoints = derive(patient)
    assert outcome(endpoints.result(Paramcd.PFS)) == (day(100), 101, True, R.CLINICAL_PROGRESSION)
    assert outcome(endpoints.result(Paramcd.TSF)) == (day(252), 253, False, R.EVENT_FREE_AT_LAST_ASSESSMENT)


# PFS-6 crude status at t* = 182.625 days on the AVAL scale (clinical-spec 2.2, D2, D3, D9).
LANDMARK_CASES = [
    pytest.param(cosmo(time_points=(sd(84), pd(181))), LandmarkStatus.FAILURE, id="event_at_aval_182_is_a_failure"),
    pytest.param(cosmo(time_points=(sd(84), pd(182))), LandmarkStatus.SUCCESS, id="event_at_aval_183_is_a_success"),
    pytest.param(cosmo(time_points=(sd(84), sd(181))), LandmarkStatus.UNKNOWN, id="censored_at_aval_182_is_unknown"),
    pytest.param(cosmo(time_points=(sd(84), sd(182))), LandmarkStatus.SUCCESS, id="censored_at_aval_183_is_success"),
    pytest.param(
        cosmo(time_points=(sd(84),)), LandmarkStatus.UNKNOWN, id="d9_followed_under_6_months_is_not_a_failure"
    ),
]


@pytest.mark.parametrize(("patient", "expected"), LANDMARK_CASES)
def test_d3_pfs6_status_at_the_landmark(patient: PatientInput, expected: LandmarkStatus) -> None:
    assert row(patient, Paramcd.PFS).landmark_status is expected


@pytest.mark.parametrize(
    ("aval", "event", "landmark", "expected"),
    [
        pytest.param(183, True, Decimal("183"), LandmarkStatus.FAILURE, id="event_on_an_integer_landmark_fails"),
        pytest.param(183, False, Decimal("183"), LandmarkStatus.SUCCESS, id="censored_on_the_landmark_succeeds"),
        pytest.param(182, False, Decimal("182.625"), LandmarkStatus.UNKNOWN, id="censored_before_is_unknown"),
    ],
)
def test_d3_landmark_status_boundaries(aval: int, event: bool, landmark: Decimal, expected: LandmarkStatus) -> None:
    assert landmark_status(aval, event, landmark) is expected


def test_landmark_status_is_given_for_pfs_rows_only() -> None:
    endpoints = derive(cosmo(time_points=(sd(84), pd(168))))
    assert endpoints.result(Paramcd.PFS_EMA).landmark_status is LandmarkStatus.FAILURE
    assert endpoints.result(Paramcd.OS).landmark_status is None


# D1 origin: (patient, settings, expected origin day or None).
@pytest.mark.parametrize(
    ("patient", "settings", "expected_origin"),
    [
        pytest.param(cosmo(randomisation_date=day(5)), {}, ORIGIN, id="cosmo_registration_by_default"),
        pytest.param(avatar(registration_date=day(-5)), {}, ORIGIN, id="avatar_randomisation_by_default"),
        pytest.param(
            cosmo(
                local_treatments=(
                    LocalTreatment(id="lat2", modality=LatModality.RFA, start=day(20)),
                    LocalTreatment(id="lat1", modality=LatModality.SABR, start=day(10)),
                )
            ),
            {"origin_event": OriginEvent.FIRST_LAT},
            day(10),
            id="first_lat_as_sensitivity_origin",
        ),
    ],
)
def test_d1_origin(patient: PatientInput, settings: dict[str, Any], expected_origin: date) -> None:
    endpoints = derive(patient, **settings)
    assert endpoints.origin_date == expected_origin
    assert endpoints.result(Paramcd.PFS).start_date == expected_origin


def test_d1_missing_origin_makes_every_endpoint_not_computable_and_raises_a_query() -> None:
    endpoints = derive(cosmo(), origin_event=OriginEvent.FIRST_LAT)
    assert all(EndpointFlag.NOT_COMPUTABLE in result.flags and result.end_date is None for result in endpoints.results)
    assert query_codes(endpoints) == [QueryCode.ORIGIN_MISSING]


def test_cutoff_origin_after_the_cutoff_is_not_computable() -> None:
    endpoints = derive(cosmo(time_points=(sd(84),)), data_cutoff=day(-1))
    assert all(not result.is_applicable for result in endpoints.results)


def test_events_dated_before_the_origin_are_ignored_and_queried() -> None:
    endpoints = derive(cosmo(time_points=(sd(84),), clinical_progressions=(clinical(-3),)))
    assert outcome(endpoints.result(Paramcd.PFS)) == (day(84), 85, False, R.EVENT_FREE_AT_LAST_ASSESSMENT)
    assert query_codes(endpoints) == [QueryCode.DATE_INCONSISTENT]


@pytest.mark.parametrize(
    ("patient", "not_applicable"),
    [
        pytest.param(
            cosmo(), {Paramcd.TSF, Paramcd.TSF_SWITCH, Paramcd.PFS2, Paramcd.PFS2ND}, id="cosmo_has_no_strategy"
        ),
        pytest.param(avatar(), {Paramcd.PFS2ND, Paramcd.TTNT, Paramcd.TTNT_OR_DEATH}, id="avatar_has_no_ttnt"),
    ],
)
def test_endpoints_that_do_not_exist_are_flagged_not_applicable(
    patient: PatientInput, not_applicable: set[Paramcd]
) -> None:
    endpoints = derive(patient)
    assert [result.paramcd for result in endpoints.results] == list(Paramcd)
    flagged = {result.paramcd for result in endpoints.results if EndpointFlag.NOT_APPLICABLE in result.flags}
    assert flagged == not_applicable
    assert all(result.aval_days is None for result in endpoints.results if result.paramcd in not_applicable)


# TSF (AVATAR II): (patient, settings, TSF, TSF_SW).
TSF_CASES = [
    pytest.param(
        avatar(
            time_points=(sd(84), pd(168)),
            strategy_failures=(failure(168, "tp168", StrategyFailureReason.SYSTEMIC_CHANGE_FOR_PROGRESSION),),
            therapy_lines=(line(1, -400, 180, StopReason.PROGRESSION), line(2, 190)),
        ),
        {},
        (168, 169, True, R.STRATEGY_FAILURE),
        (168, 169, True, R.STRATEGY_FAILURE),
        id="d10_tsf_is_dated_by_the_progression_not_the_new_therapy",
    ),
    pytest.param(
        avatar(time_points=(sd(84), sd(168)), death=death(200)),
        {},
        (200, 201, True, R.DEATH),
        (200, 201, True, R.DEATH),
        id="d10_death_is_a_tsf_event",
    ),
    pytest.param(
        avatar(time_points=(sd(84), sd(168), sd(252))),
        {},
        (252, 253, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (252, 253, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="tsf_alive_without_failure_is_censored_at_the_last_adequate_assessment",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), sd(168), sd(252)),
            therapy_lines=(line(1, -400, 160, StopReason.TOXICITY), line(2, 168)),
        ),
        {},
        (168, 169, False, R.SWITCH_WITHOUT_PROGRESSION_CENSORED),
        (168, 169, True, R.SWITCH_WITHOUT_PROGRESSION),
        id="d10_d29_toxicity_switch_is_censored_at_the_scan_on_its_start_day_and_an_event_in_the_sensitivity",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), sd(168)),
            therapy_lines=(line(1, -400, 120, StopReason.PATIENT_CHOICE), line(2, 130)),
        ),
        {"tsf_toxicity_switch_is_event": True},
        (130, 131, True, R.SWITCH_WITHOUT_PROGRESSION),
        (130, 131, True, R.SWITCH_WITHOUT_PROGRESSION),
        id="d10_patient_choice_switch_is_an_event_when_the_setting_says_so",
    ),
    pytest.param(
        # A switch for another reason is no switch for toxicity or patient choice: censored in both.
        avatar(
            time_points=(sd(84), sd(168)),
            therapy_lines=(line(1, -400, 120, StopReason.OTHER), line(2, 130)),
        ),
        {},
        (84, 85, False, R.NEW_THERAPY),
        (84, 85, False, R.NEW_THERAPY),
        id="d10_switch_for_another_reason_is_censored_in_both",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), pd(168, within_strategy=True), sd(252), sd(336)),
        ),
        {},
        (336, 337, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (336, 337, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="d32_progression_within_the_strategy_does_not_end_tsf",
    ),
    pytest.param(
        # Without the within-strategy PD at day 168 as L, the gap would be 340 - 84 = 256 > 182.
        avatar(time_points=(sd(84), pd(168, within_strategy=True)), death=death(340)),
        {},
        (340, 341, True, R.DEATH),
        (340, 341, True, R.DEATH),
        id="d32_within_strategy_progression_counts_as_l_for_the_missed_visit_rule",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84),), strategy_failures=(failure(300, "cp300"),), clinical_progressions=(clinical(300),)
        ),
        {},
        (84, 85, False, R.MISSED_ASSESSMENTS),
        (84, 85, False, R.MISSED_ASSESSMENTS),
        id="tsf_missed_visit_rule_applies",
    ),
    pytest.param(
        avatar(has_baseline_assessment=False, time_points=(sd(84),), death=death(100)),
        {},
        (0, 1, False, R.NO_BASELINE_ASSESSMENT),
        (0, 1, False, R.NO_BASELINE_ASSESSMENT),
        id="tsf_no_baseline_is_censored_at_the_origin",
    ),
    pytest.param(
        avatar(time_points=(sd(84), pd(168)), strategy_failures=(failure(168, "tp168"),)),
        {"data_cutoff": day(160)},
        (84, 85, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        (84, 85, False, R.EVENT_FREE_AT_LAST_ASSESSMENT),
        id="cutoff_strategy_failure_after_the_cutoff_is_ignored",
    ),
]


@pytest.mark.parametrize(("patient", "settings", "primary", "sensitivity"), TSF_CASES)
def test_tsf(
    patient: PatientInput,
    settings: dict[str, Any],
    primary: tuple[int, int, bool, EndpointReason],
    sensitivity: tuple[int, int, bool, EndpointReason],
) -> None:
    endpoints = derive(patient, **settings)
    for paramcd, (end, aval, event, reason) in ((Paramcd.TSF, primary), (Paramcd.TSF_SWITCH, sensitivity)):
        assert outcome(endpoints.result(paramcd)) == (day(end), aval, event, reason), paramcd


# Queries: (patient, expected query codes, TSF pending, 2nd PFS pending).
QUERY_CASES = [
    pytest.param(
        avatar(time_points=(sd(84), pd(168))),
        [QueryCode.UNFOLLOWED_ARM_A_PROGRESSION],
        True,
        None,
        id="d32_unfollowed_arm_a_progression_raises_a_query_and_tsf_is_pending",
    ),
    pytest.param(
        avatar(time_points=(sd(84), pd(168, within_strategy=True))),
        [],
        False,
        None,
        id="d32_progression_treated_by_sabr_within_the_strategy_raises_none",
    ),
    pytest.param(
        avatar(time_points=(sd(84), pd(168)), strategy_failures=(failure(168, "tp168"),)),
        [],
        False,
        False,
        id="d32_progression_followed_by_a_strategy_failure_raises_none",
    ),
    pytest.param(
        avatar(Arm.B, time_points=(sd(84), pd(168))),
        [],
        False,
        None,
        id="d32_arm_b_progression_raises_no_d32_query",
    ),
    pytest.param(
        avatar(
            Arm.B,
            time_points=(sd(84), sd(168)),
            therapy_lines=(FIRST_LINE, line(2, 2, 150, StopReason.PROGRESSION, protocol=True), line(3, 155)),
        ),
        [QueryCode.PROGRESSION_WITHOUT_STRATEGY_FAILURE],
        True,
        None,
        id="d33_line_stopped_for_progression_and_replaced_without_strategy_failure_raises_a_query",
    ),
    pytest.param(
        avatar(time_points=(sd(84), sd(168)), therapy_lines=(line(1, -400, 150), line(2, 155))),
        [QueryCode.PROGRESSION_WITHOUT_STRATEGY_FAILURE],
        True,
        None,
        id="d33_line_stopped_without_a_reason_and_replaced_raises_a_query",
    ),
    pytest.param(
        avatar(time_points=(sd(84), sd(168)), therapy_lines=(line(1, -400, 150, StopReason.TOXICITY), line(2, 155))),
        [],
        False,
        None,
        id="d33_switch_for_toxicity_raises_none",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), pd(168)),
            strategy_failures=(failure(168, "tp168"),),
            therapy_lines=(line(1, -400, 170, StopReason.PROGRESSION), line(2, 175)),
        ),
        [],
        False,
        False,
        id="d33_switch_after_a_strategy_failure_raises_none",
    ),
    pytest.param(
        cosmo(time_points=(sd(84), sd(168)), therapy_lines=(line(1, -400, 150, StopReason.PROGRESSION), line(2, 155))),
        [],
        None,
        None,
        id="d33_is_an_avatar_ii_rule_only",
    ),
    pytest.param(
        avatar(time_points=(sd(84), pd(168, 160)), strategy_failures=(failure(168, "tp168"),)),
        [QueryCode.STRATEGY_FAILURE_DATE_MISMATCH],
        True,
        True,
        id="d40_strategy_failure_date_differing_from_the_pd_date_raises_a_query",
    ),
    pytest.param(
        avatar(time_points=(sd(84), sd(168)), strategy_failures=(failure(168, "tp168"),)),
        [QueryCode.STRATEGY_FAILURE_DATE_MISMATCH],
        True,
        True,
        id="d40_strategy_failure_linked_to_a_time_point_without_progression_raises_a_query",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84),), clinical_progressions=(clinical(120),), strategy_failures=(failure(120, "cp120"),)
        ),
        [],
        False,
        False,
        id="d40_strategy_failure_on_its_clinical_progression_date_raises_none",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), pd(168)),
            strategy_failures=(failure(168, "tp168", StrategyFailureReason.TOO_MANY_PROGRESSING_LESIONS, lesions=5),),
        ),
        [QueryCode.STRATEGY_FAILURE_LESION_COUNT],
        False,
        False,
        id="d10_more_than_max_oligo_lesions_needs_a_count_above_the_setting",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), pd(168)),
            strategy_failures=(failure(168, "tp168", StrategyFailureReason.TOO_MANY_PROGRESSING_LESIONS, lesions=6),),
        ),
        [],
        False,
        False,
        id="d10_six_progressing_lesions_are_more_than_five",
    ),
]


@pytest.mark.parametrize(("patient", "codes", "tsf_pending", "second_pending"), QUERY_CASES)
def test_queries(
    patient: PatientInput, codes: list[QueryCode], tsf_pending: bool | None, second_pending: bool | None
) -> None:
    endpoints = derive(patient)
    assert query_codes(endpoints) == codes
    for paramcd, pending in (
        (Paramcd.TSF, tsf_pending),
        (Paramcd.TSF_SWITCH, tsf_pending),
        (Paramcd.PFS2ND, second_pending),
    ):
        if pending is not None:
            assert (EndpointFlag.PENDING_QUERY in endpoints.result(paramcd).flags) is pending, paramcd
    assert EndpointFlag.PENDING_QUERY not in endpoints.result(Paramcd.PFS).flags


def test_d32_query_names_the_unfollowed_time_point() -> None:
    (query,) = derive(avatar(time_points=(sd(84), pd(168)))).queries
    assert query.record_ids == ("tp168",)


def test_d33_tsf_is_censored_at_the_new_line_while_the_query_is_open() -> None:
    patient = avatar(
        time_points=(sd(84), sd(168), sd(252)), therapy_lines=(line(1, -400, 160, StopReason.PROGRESSION), line(2, 170))
    )
    endpoints = derive(patient)
    assert outcome(endpoints.result(Paramcd.TSF)) == (day(168), 169, False, R.NEW_THERAPY)
    assert endpoints.queries[0].record_ids == ("L1", "L2")


def test_d40_tsf_and_2nd_pfs_use_the_crf_date_while_the_query_is_open() -> None:
    patient = avatar(
        time_points=(sd(84), pd(170, 160)),
        strategy_failures=(failure(168, "tp170"),),
        therapy_lines=(FIRST_LINE, line(2, 180)),
        next_line_progressions=(NextLineProgression(id="np1", date=day(300), line_id="L2"),),
    )
    endpoints = derive(patient)
    assert outcome(endpoints.result(Paramcd.TSF)) == (day(168), 169, True, R.STRATEGY_FAILURE)
    second = endpoints.result(Paramcd.PFS2ND)
    assert (second.start_date, second.end_date, second.aval_days) == (day(168), day(300), 133)
    assert EndpointFlag.PENDING_QUERY in second.flags
    assert EndpointFlag.PENDING_QUERY not in endpoints.result(Paramcd.PFS2).flags


# PFS2 and 2nd PFS: (patient, settings, PFS2 (end, aval, event, reason), 2nd PFS (start, end, aval, event) or None).
PFS2_CASES = [
    pytest.param(
        # Toxicity switch to line 2 at day 105 and progression on it at day 150; strategy failure at day 200;
        # line 3 from day 210 progresses at day 400. Only line 3 is the "next line".
        avatar(
            time_points=(sd(84), sd(168), pd(200)),
            strategy_failures=(failure(200, "tp200"),),
            therapy_lines=(
                line(1, -400, 100, StopReason.TOXICITY),
                line(2, 105, 205, StopReason.PROGRESSION),
                line(3, 210),
            ),
            next_line_progressions=(
                NextLineProgression(id="np150", date=day(150), line_id="L2"),
                NextLineProgression(id="np400", date=day(400), line_id="L3"),
            ),
        ),
        {},
        (400, 401, True, R.NEXT_LINE_PROGRESSION),
        (200, 400, 201, True),
        id="d34_progression_on_a_line_before_the_strategy_failure_does_not_count",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), pd(100)),
            strategy_failures=(failure(100, "tp100"),),
            therapy_lines=(FIRST_LINE, line(2, 110)),
            next_line_progressions=(NextLineProgression(id="np600", date=day(600), line_id="L2"),),
        ),
        {},
        (600, 601, True, R.NEXT_LINE_PROGRESSION),
        (100, 600, 501, True),
        id="d34_no_missed_visit_rule_for_pfs2",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), pd(100)),
            strategy_failures=(failure(100, "tp100"),),
            therapy_lines=(FIRST_LINE, line(2, 100)),
            next_line_progressions=(NextLineProgression(id="np300", date=day(300), line_id="L2"),),
        ),
        {},
        (300, 301, True, R.NEXT_LINE_PROGRESSION),
        (100, 300, 201, True),
        id="d34_line_started_on_the_strategy_failure_date_is_the_next_line",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), pd(100)),
            strategy_failures=(failure(100, "tp100"),),
            death=death(150),
        ),
        {},
        (150, 151, True, R.DEATH),
        (100, 150, 51, True),
        id="d11_death_before_starting_a_next_line_is_an_event",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), pd(100)),
            strategy_failures=(failure(100, "tp100"),),
            therapy_lines=(FIRST_LINE, line(2, 110)),
            alive_evidence=(contact(500),),
        ),
        {},
        (500, 501, False, R.LAST_KNOWN_ALIVE),
        (100, 500, 401, False),
        id="d34_censored_at_the_last_date_known_alive",
    ),
    pytest.param(
        avatar(time_points=(sd(84), sd(168)), alive_evidence=(contact(250),)),
        {},
        (250, 251, False, R.LAST_KNOWN_ALIVE),
        None,
        id="d34_no_strategy_failure_pfs2_censored_at_last_contact_and_no_2nd_pfs",
    ),
    pytest.param(
        avatar(time_points=(sd(84),), death=death(120)),
        {},
        (120, 121, True, R.DEATH),
        None,
        id="d11_death_without_strategy_failure_is_a_pfs2_event",
    ),
    pytest.param(
        avatar(
            time_points=(sd(84), pd(100)),
            strategy_failures=(failure(100, "tp100"),),
            therapy_lines=(FIRST_LINE, line(2, 110)),
            next_line_progressions=(NextLineProgression(id="np300", date=day(300), line_id="L2"),),
            alive_evidence=(contact(310),),
        ),
        {"data_cutoff": day(250)},
        (250, 251, False, R.ALIVE_AFTER_CUTOFF),
        (100, 250, 151, False),
        id="cutoff_second_progression_after_the_cutoff_is_censored_at_the_cutoff",
    ),
]


@pytest.mark.parametrize(("patient", "settings", "pfs2", "second"), PFS2_CASES)
def test_pfs2_and_2nd_pfs(
    patient: PatientInput,
    settings: dict[str, Any],
    pfs2: tuple[int, int, bool, EndpointReason],
    second: tuple[int, int, int, bool] | None,
) -> None:
    endpoints = derive(patient, **settings)
    end, aval, event, reason = pfs2
    assert outcome(endpoints.result(Paramcd.PFS2)) == (day(end), aval, event, reason)
    result = endpoints.result(Paramcd.PFS2ND)
    if second is None:
        assert EndpointFlag.NOT_APPLICABLE in result.flags
        assert result.start_date is None
    else:
        start, end, aval, event = second
        assert (result.start_date, result.end_date, result.aval_days, result.event) == (
            day(start),
            day(end),
            aval,
            event,
        )


# OS (D31): (patient, settings, (end, aval, event, reason)).
OS_CASES = [
    pytest.param(cosmo(death=death(400)), {}, (400, 401, True, R.DEATH), id="death_is_the_event"),
    pytest.param(
        cosmo(
            time_points=(sd(252),),
            alive_evidence=(contact(300),),
            therapy_lines=(line(1, -400, 310, StopReason.TOXICITY),),
            adverse_events=(
                AdverseEvent(id="ae1", term="Fatigue", worst_grade=2, onset=day(200), resolution=day(320)),
            ),
        ),
        {},
        (320, 321, False, R.LAST_KNOWN_ALIVE),
        id="d31_last_known_alive_is_the_latest_of_every_source",
    ),
    pytest.param(
        cosmo(
            time_points=(sd(84), sd(350)),
            local_treatments=(LocalTreatment(id="lat", modality=LatModality.SABR, start=day(360)),),
        ),
        {},
        (360, 361, False, R.LAST_KNOWN_ALIVE),
        id="d31_lat_start_is_proof_of_life",
    ),
    pytest.param(
        cosmo(alive_evidence=(contact(100), contact(300))),
        {"data_cutoff": day(400)},
        (300, 301, False, R.LAST_KNOWN_ALIVE),
        id="d31_alive_before_the_cutoff_is_censored_at_the_last_contact",
    ),
    pytest.param(
        cosmo(alive_evidence=(contact(100), contact(450))),
        {"data_cutoff": day(400)},
        (400, 401, False, R.ALIVE_AFTER_CUTOFF),
        id="d31_proof_of_life_after_the_cutoff_is_censored_at_the_cutoff",
    ),
    pytest.param(
        cosmo(alive_evidence=(contact(100),), death=death(420)),
        {"data_cutoff": day(400)},
        (400, 401, False, R.DEATH_AFTER_CUTOFF),
        id="d31_death_after_the_cutoff_is_censored_at_the_cutoff",
    ),
    pytest.param(cosmo(), {}, (0, 1, False, R.LAST_KNOWN_ALIVE), id="no_contact_is_censored_at_the_origin"),
]


@pytest.mark.parametrize(("patient", "settings", "expected"), OS_CASES)
def test_os(patient: PatientInput, settings: dict[str, Any], expected: tuple[int, int, bool, EndpointReason]) -> None:
    end, aval, event, reason = expected
    assert outcome(row(patient, Paramcd.OS, **settings)) == (day(end), aval, event, reason)


def test_d31_death_date_is_never_a_last_known_alive_date() -> None:
    # The death's date would be day 420; the cut-off rules instead (the death is after it).
    result = row(cosmo(death=death(420)), Paramcd.OS, data_cutoff=day(400))
    assert result.end_date == day(400)


# TTNT (COSMO): (patient, settings, TTNT, TTNT or death).
TTNT_CASES = [
    pytest.param(
        cosmo(therapy_lines=(line(1, -400, 240, StopReason.PROGRESSION), line(2, 250)), death=death(400)),
        {},
        (250, 251, True, R.NEW_LINE),
        (250, 251, True, R.NEW_LINE),
        id="d12_next_line_start_is_the_event",
    ),
    pytest.param(
        cosmo(death=death(300)),
        {},
        (300, 301, False, R.DEATH_WITHOUT_NEW_LINE),
        (300, 301, True, R.DEATH),
        id="d12_death_without_a_new_line_is_censored_at_death_and_an_event_in_the_sensitivity",
    ),
    pytest.param(
        cosmo(death=death(300)),
        {"ttnt_death_is_event": True},
        (300, 301, True, R.DEATH),
        (300, 301, True, R.DEATH),
        id="d12_death_is_an_event_when_the_setting_says_so",
    ),
    pytest.param(
        cosmo(therapy_lines=(line(1, -400, 200, StopReason.TOXICITY),), alive_evidence=(contact(350),)),
        {},
        (350, 351, False, R.LAST_KNOWN_ALIVE),
        (350, 351, False, R.LAST_KNOWN_ALIVE),
        id="d35_treatment_stopped_without_a_new_line_is_censored_at_last_known_alive",
    ),
    pytest.param(
        cosmo(therapy_lines=(FIRST_LINE, line(2, 300)), death=death(300)),
        {},
        (300, 301, True, R.NEW_LINE),
        (300, 301, True, R.NEW_LINE),
        id="d30_new_line_on_the_death_day_describes_the_event",
    ),
    pytest.param(
        cosmo(therapy_lines=(FIRST_LINE, line(2, 300)), alive_evidence=(contact(320),)),
        {"data_cutoff": day(280)},
        (280, 281, False, R.ALIVE_AFTER_CUTOFF),
        (280, 281, False, R.ALIVE_AFTER_CUTOFF),
        id="cutoff_line_started_after_the_cutoff_is_ignored",
    ),
]


@pytest.mark.parametrize(("patient", "settings", "primary", "sensitivity"), TTNT_CASES)
def test_ttnt(
    patient: PatientInput,
    settings: dict[str, Any],
    primary: tuple[int, int, bool, EndpointReason],
    sensitivity: tuple[int, int, bool, EndpointReason],
) -> None:
    endpoints = derive(patient, **settings)
    for paramcd, (end, aval, event, reason) in ((Paramcd.TTNT, primary), (Paramcd.TTNT_OR_DEATH, sensitivity)):
        assert outcome(endpoints.result(paramcd)) == (day(end), aval, event, reason), paramcd


def test_d20_visceral_crisis_is_counted_once_with_its_first_date() -> None:
    patient = cosmo(
        visceral_crises=(
            VisceralCrisis(id="vc2", onset=day(200)),
            VisceralCrisis(id="vc1", onset=day(100)),
            VisceralCrisis(id="vc0", onset=day(50), investigator_attested=False),
        )
    )
    summary = derive(patient).visceral_crisis
    assert (summary.occurred, summary.first_onset, summary.days_from_origin) == (True, day(100), 101)
    assert summary.record_ids == ("vc1", "vc2")


def test_d15_lat_complication_is_acute_up_to_90_days_after_the_lat() -> None:
    related = (Attribution(intervention=Intervention.SABR, level=AttributionLevel.POSSIBLE),)
    patient = cosmo(
        local_treatments=(LocalTreatment(id="sabr", modality=LatModality.SABR, start=day(10)),),
        adverse_events=(
            AdverseEvent(id="ae90", term="Pneumonitis", worst_grade=2, onset=day(100), attributions=related),
            AdverseEvent(id="ae91", term="Pneumonitis", worst_grade=3, onset=day(101), attributions=related),
            AdverseEvent(
                id="unrelated",
                term="Fatigue",
                worst_grade=1,
                onset=day(20),
                attributions=(Attribution(intervention=Intervention.SABR, level=AttributionLevel.UNLIKELY),),
            ),
            AdverseEvent(
                id="disease",
                term="Bone pain",
                worst_grade=2,
                onset=day(20),
                attributions=(Attribution(intervention=Intervention.DISEASE, level=AttributionLevel.DEFINITE),),
            ),
        ),
    )
    endpoints = derive(patient)
    assert [(c.adverse_event_id, c.timing) for c in endpoints.lat_complications] == [
        ("ae90", LatComplicationTiming.ACUTE),
        ("ae91", LatComplicationTiming.LATE),
    ]
    assert endpoints.treatment_related_adverse_event_ids == ("ae90", "ae91")


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: TimePoint(id="x", tp_date=day(1), response=OverallResponse.PD), id="pd_without_pd_date"),
        pytest.param(lambda: pd(100, 120), id="pd_date_after_tp_date"),
        pytest.param(
            lambda: TimePoint(id="x", tp_date=day(1), response=OverallResponse.SD, within_strategy=True),
            id="within_strategy_without_progression",
        ),
        pytest.param(lambda: avatar(arm=None), id="avatar_without_arm"),
        pytest.param(
            lambda: avatar(Arm.A, therapy_lines=(line(2, 0, protocol=True),)), id="d35_protocol_flag_on_arm_a"
        ),
    ],
)
def test_invalid_input_is_rejected(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


def test_domain_package_never_imports_django() -> None:
    package = Path(__file__).resolve().parents[2] / "outcomes" / "domain" / "endpoints"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(name.split(".")[0] == "django" for name in names), source.name
