"""The pure safety calculators (patients/domain/safety.py), table-driven and without a database."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from patients.domain.safety import (
    Attribution,
    ClockStatus,
    Intervention,
    LatComplicationTiming,
    SeriousnessCriterion,
    SusarStatus,
    is_lat_related,
    is_related,
    is_serious,
    is_treatment_related,
    lat_complication_timing,
    site_to_sponsor_clock,
    susar_clock,
    susar_status,
)

A = Attribution
I = Intervention  # noqa: E741


@pytest.mark.parametrize(
    ("criteria", "serious"),
    [
        ((), False),
        ((SeriousnessCriterion.DEATH,), True),
        ((SeriousnessCriterion.LIFE_THREATENING,), True),
        ((SeriousnessCriterion.HOSPITALISATION,), True),
        ((SeriousnessCriterion.DISABILITY,), True),
        ((SeriousnessCriterion.CONGENITAL_ANOMALY,), True),
        ((SeriousnessCriterion.IMPORTANT_MEDICAL_EVENT,), True),
        ((SeriousnessCriterion.HOSPITALISATION, SeriousnessCriterion.DISABILITY), True),
    ],
)
def test_any_ich_e2a_criterion_makes_an_event_serious(
    criteria: tuple[SeriousnessCriterion, ...], serious: bool
) -> None:
    assert is_serious(criteria) is serious


@pytest.mark.parametrize(
    ("level", "related"),
    [
        (None, False),
        (A.UNRELATED, False),
        (A.UNLIKELY, False),
        (A.POSSIBLE, True),
        (A.PROBABLE, True),
        (A.DEFINITE, True),
    ],
)
def test_related_means_possible_probable_or_definite(level: Attribution | None, related: bool) -> None:
    assert is_related(level) is related


@pytest.mark.parametrize(
    ("attributions", "treatment_related", "lat_related"),
    [
        ({}, False, False),
        ({I.DISEASE: A.DEFINITE}, False, False),  # the disease is not a treatment
        ({I.SABR: A.POSSIBLE}, True, True),
        ({I.SURGERY: A.PROBABLE}, True, True),
        ({I.RFA: A.DEFINITE}, True, True),
        ({I.SABR: A.UNLIKELY, I.RFA: A.UNRELATED}, False, False),
        ({I.ENDOCRINE_THERAPY: A.POSSIBLE}, True, False),
        ({I.CDK46_INHIBITOR: A.DEFINITE, I.SABR: A.UNLIKELY}, True, False),
        ({I.PHYSICIANS_CHOICE: A.PROBABLE}, True, False),
        ({I.PHYSICIANS_CHOICE: A.UNLIKELY, I.DISEASE: A.PROBABLE}, False, False),
        ({I.SABR: None, I.ENDOCRINE_THERAPY: None}, False, False),
    ],
)
def test_treatment_and_lat_relatedness(
    attributions: dict[Intervention, Attribution | None], treatment_related: bool, lat_related: bool
) -> None:
    assert is_treatment_related(attributions) is treatment_related
    assert is_lat_related(attributions) is lat_related


@pytest.mark.parametrize(
    ("serious", "related", "expected", "status"),
    [
        (False, False, None, SusarStatus.NOT_SUSAR),
        (False, True, False, SusarStatus.NOT_SUSAR),  # not serious
        (True, False, False, SusarStatus.NOT_SUSAR),  # not related
        (True, True, True, SusarStatus.NOT_SUSAR),  # expected
        (True, True, False, SusarStatus.SUSAR),
        (True, True, None, SusarStatus.UNDETERMINED),
    ],
)
def test_a_susar_is_serious_related_and_unexpected(
    serious: bool, related: bool, expected: bool | None, status: SusarStatus
) -> None:
    assert susar_status(serious=serious, related=related, expected=expected) == status


@pytest.mark.parametrize(
    ("reported", "today", "status", "days_late"),
    [
        (None, date(2025, 5, 1), ClockStatus.PENDING, 0),  # the awareness day
        (None, date(2025, 5, 2), ClockStatus.PENDING, 0),  # within 24 h
        (None, date(2025, 5, 3), ClockStatus.OVERDUE, 1),
        (date(2025, 5, 1), date(2025, 6, 1), ClockStatus.ON_TIME, 0),
        (date(2025, 5, 2), date(2025, 6, 1), ClockStatus.ON_TIME, 0),
        (date(2025, 5, 5), date(2025, 6, 1), ClockStatus.LATE, 3),
    ],
)
def test_the_site_reports_a_serious_event_within_24_hours_of_awareness(
    reported: date | None, today: date, status: ClockStatus, days_late: int
) -> None:
    clock = site_to_sponsor_clock(awareness=date(2025, 5, 1), reported=reported)
    assert clock.due == date(2025, 5, 2)
    assert clock.status(today) == status
    assert clock.days_late(today) == days_late


@pytest.mark.parametrize(
    ("fatal_or_life_threatening", "due"),
    [(True, date(2025, 5, 8)), (False, date(2025, 5, 16))],
)
def test_a_susar_is_due_in_7_or_15_days_from_sponsor_awareness_as_day_0(
    fatal_or_life_threatening: bool, due: date
) -> None:
    clock = susar_clock(sponsor_awareness=date(2025, 5, 1), fatal_or_life_threatening=fatal_or_life_threatening)
    assert (clock.start, clock.due) == (date(2025, 5, 1), due)
    assert clock.status(due) == ClockStatus.PENDING
    assert clock.status(date(2025, 5, 17)) == ClockStatus.OVERDUE


@pytest.mark.parametrize(
    ("onset", "timing"),
    [
        (date(2025, 3, 31), None),  # before the LAT: not a complication of it
        (date(2025, 4, 1), LatComplicationTiming.ACUTE),
        (date(2025, 6, 30), LatComplicationTiming.ACUTE),  # day 90
        (date(2025, 7, 1), LatComplicationTiming.LATE),  # day 91
    ],
)
def test_a_lat_complication_is_acute_up_to_90_days(onset: date, timing: LatComplicationTiming | None) -> None:
    assert lat_complication_timing(onset=onset, lat_date=date(2025, 4, 1)) == timing


def test_the_safety_domain_never_imports_django() -> None:
    source = Path(__file__).resolve().parents[2] / "patients" / "domain" / "safety.py"
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not [name for name in imported if name.split(".")[0] == "django"]
