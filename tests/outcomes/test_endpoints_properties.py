"""Properties of the endpoint engine over random patients (hypothesis): order of records never matters, recomputing
gives the same result, no row ends before it starts, AVAL >= 1 with the +1 of D2, and the FDA-style primary never
ends after the EMA-style sensitivity (D6, D7)."""

from __future__ import annotations

import random
from dataclasses import fields, replace
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

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
    EndpointSettings,
    Intervention,
    LatModality,
    LocalTreatment,
    NextLineProgression,
    OriginEvent,
    OverallResponse,
    Paramcd,
    PatientInput,
    StopReason,
    StrategyFailure,
    StrategyFailureReason,
    TherapyLine,
    TimePoint,
    TrialDesign,
    VisceralCrisis,
    derive_endpoints,
)

ORIGIN = date(2025, 1, 6)
DAYS = st.integers(min_value=-30, max_value=900)


def day(n: int) -> date:
    return ORIGIN + timedelta(days=n)


@st.composite
def time_points(draw: st.DrawFn, arm_a: bool) -> list[TimePoint]:
    result = []
    for index, tp_day in enumerate(draw(st.lists(st.integers(1, 900), max_size=8))):
        response = draw(st.sampled_from(OverallResponse))
        is_pd = response is OverallResponse.PD
        result.append(
            TimePoint(
                id=f"tp{index}",
                tp_date=day(tp_day),
                response=response,
                pd_date=day(tp_day - draw(st.integers(0, 30))) if is_pd else None,
                within_strategy=is_pd and arm_a and draw(st.booleans()),
            )
        )
    return result


@st.composite
def therapy_lines(draw: st.DrawFn, arm_b: bool) -> list[TherapyLine]:
    lines = []
    for number in range(1, draw(st.integers(1, 4)) + 1):
        start = -400 if number == 1 else draw(st.integers(0, 900))
        stop = draw(st.none() | st.integers(start, 950))
        lines.append(
            TherapyLine(
                id=f"L{number}",
                line_number=number,
                start=day(start),
                stop=None if stop is None else day(stop),
                stop_reason=draw(st.none() | st.sampled_from(StopReason)),
                protocol_therapy_at_randomisation=arm_b and number == 2 and draw(st.booleans()),
            )
        )
    return lines


@st.composite
def patients(draw: st.DrawFn) -> PatientInput:
    trial = draw(st.sampled_from(TrialDesign))
    arm = draw(st.sampled_from(Arm)) if trial is TrialDesign.AVATAR_II else None
    tps = draw(time_points(arm is Arm.A))
    clinical = [ClinicalProgression(id=f"cp{i}", date=day(n)) for i, n in enumerate(draw(st.lists(DAYS, max_size=2)))]
    lines = draw(therapy_lines(arm is Arm.B))
    linkable = [None, "missing", *(tp.id for tp in tps), *(cp.id for cp in clinical)]
    failures = []
    if trial is TrialDesign.AVATAR_II:
        failures = [
            StrategyFailure(
                id=f"sf{i}",
                date=day(n),
                reason=draw(st.sampled_from(StrategyFailureReason)),
                linked_record_id=draw(st.sampled_from(linkable)),
                progressing_lesion_count=draw(st.none() | st.integers(1, 8)),
            )
            for i, n in enumerate(draw(st.lists(DAYS, max_size=2)))
        ]
    next_line_progressions = [
        NextLineProgression(id=f"np{i}", date=day(n), line_id=draw(st.sampled_from([line.id for line in lines])))
        for i, n in enumerate(draw(st.lists(DAYS, max_size=3)))
    ]
    death_day = draw(st.none() | DAYS)
    end_of_study_day = draw(st.none() | DAYS)
    related = draw(st.sampled_from(AttributionLevel))
    return PatientInput(
        patient_id="P",
        trial=trial,
        arm=arm,
        registration_date=ORIGIN,
        randomisation_date=ORIGIN,
        has_baseline_assessment=draw(st.booleans()),
        time_points=tuple(tps),
        clinical_progressions=tuple(clinical),
        therapy_lines=tuple(lines),
        strategy_failures=tuple(failures),
        next_line_progressions=tuple(next_line_progressions),
        death=None if death_day is None else Death(id="death", date=day(death_day)),
        end_of_study=None
        if end_of_study_day is None
        else EndOfStudy(id="eos", date=day(end_of_study_day), reason=draw(st.sampled_from(EndOfStudyReason))),
        alive_evidence=tuple(
            AliveEvidence(date=day(n), source="contact", record_id=f"c{i}")
            for i, n in enumerate(draw(st.lists(DAYS, max_size=3)))
        ),
        visceral_crises=tuple(
            VisceralCrisis(id=f"vc{i}", onset=day(n)) for i, n in enumerate(draw(st.lists(DAYS, max_size=2)))
        ),
        local_treatments=tuple(
            LocalTreatment(id=f"lat{i}", modality=draw(st.sampled_from(LatModality)), start=day(n))
            for i, n in enumerate(draw(st.lists(st.integers(-10, 60), max_size=2)))
        ),
        adverse_events=tuple(
            AdverseEvent(
                id=f"ae{i}",
                term="Pneumonitis",
                worst_grade=draw(st.integers(1, 5)),
                onset=day(n),
                attributions=(Attribution(intervention=draw(st.sampled_from(Intervention)), level=related),),
            )
            for i, n in enumerate(draw(st.lists(DAYS, max_size=2)))
        ),
    )


analysis_settings = st.builds(
    EndpointSettings,
    origin_event=st.sampled_from([None, OriginEvent.FIRST_LAT]),
    count_clinical_progression=st.booleans(),
    censor_at_new_therapy=st.booleans(),
    missed_visit_censoring=st.booleans(),
    tsf_toxicity_switch_is_event=st.booleans(),
    ttnt_death_is_event=st.booleans(),
    data_cutoff=st.none() | DAYS.map(day),
)


def shuffled(patient: PatientInput, seed: int) -> PatientInput:
    generator = random.Random(seed)
    changes: dict[str, Any] = {}
    for field in fields(patient):
        value = getattr(patient, field.name)
        if isinstance(value, tuple):
            items = list(value)
            generator.shuffle(items)
            changes[field.name] = tuple(items)
    return replace(patient, **changes)


@settings(max_examples=150, deadline=None)
@given(patients(), analysis_settings, st.integers())
def test_the_order_of_records_never_changes_a_result(
    patient: PatientInput, endpoint_settings: EndpointSettings, seed: int
) -> None:
    assert derive_endpoints(shuffled(patient, seed), endpoint_settings) == derive_endpoints(patient, endpoint_settings)


@settings(max_examples=50, deadline=None)
@given(patients(), analysis_settings)
def test_recomputing_gives_an_equal_result(patient: PatientInput, endpoint_settings: EndpointSettings) -> None:
    assert derive_endpoints(patient, endpoint_settings) == derive_endpoints(patient, endpoint_settings)


@settings(max_examples=150, deadline=None)
@given(patients(), analysis_settings)
def test_every_row_ends_on_or_after_its_start_with_aval_at_least_1(
    patient: PatientInput, endpoint_settings: EndpointSettings
) -> None:
    endpoints = derive_endpoints(patient, endpoint_settings)
    assert [result.paramcd for result in endpoints.results] == list(Paramcd)
    for result in endpoints.results:
        if not result.is_applicable:
            assert (result.start_date, result.end_date, result.aval_days, result.event) == (None, None, None, None)
            continue
        assert result.start_date is not None and result.end_date is not None and result.aval_days is not None
        assert result.end_date >= result.start_date
        assert result.aval_days == (result.end_date - result.start_date).days + 1 >= 1
        assert endpoints.origin_date is not None and result.start_date >= endpoints.origin_date
        assert result.cnsr == (0 if result.event else 1)
        if endpoint_settings.data_cutoff is not None:
            assert result.end_date <= endpoint_settings.data_cutoff


@settings(max_examples=150, deadline=None)
@given(patients(), analysis_settings)
def test_fda_primary_never_ends_after_the_ema_sensitivity(
    patient: PatientInput, endpoint_settings: EndpointSettings
) -> None:
    endpoints = derive_endpoints(patient, endpoint_settings)
    primary, sensitivity = endpoints.result(Paramcd.PFS), endpoints.result(Paramcd.PFS_EMA)
    if EndpointFlag.NOT_COMPUTABLE in primary.flags:
        return
    assert primary.end_date is not None and sensitivity.end_date is not None
    assert primary.end_date <= sensitivity.end_date
    if primary.event and sensitivity.event:
        assert sensitivity.end_date <= primary.end_date
        assert primary.reason == sensitivity.reason
    if primary.event:
        assert sensitivity.event
