"""BED₁₀ and EQD2 of a SABR course (LQ model, Fowler 1989; α/β = 10 Gy), exact decimals, no database."""

from decimal import Decimal

import pytest

from lesions.domain.radiobiology import (
    biologically_effective_dose,
    dose_per_fraction,
    equivalent_dose_in_2gy_fractions,
    round_gy,
)

# (fractions, total dose Gy, BED₁₀, EQD2₁₀ rounded to 0.01 Gy)
COURSES = [
    (3, "45", "112.5", "93.75"),  # 3 × 15 Gy: 45 · (1 + 1.5)
    (5, "35", "59.5", "49.58"),  # 5 × 7 Gy: 35 · 1.7 = 59.5; / 1.2 = 49.583…
    (1, "20", "60", "50.00"),  # 1 × 20 Gy: 20 · 3
    (5, "50", "100", "83.33"),  # 5 × 10 Gy
    (3, "54", "151.2", "126.00"),  # 3 × 18 Gy (lung SABR)
    (8, "60", "105", "87.50"),  # 8 × 7.5 Gy
    (30, "60", "72", "60.00"),  # 30 × 2 Gy: EQD2 equals the physical dose
]


@pytest.mark.parametrize(("fractions", "total", "bed", "eqd2"), COURSES)
def test_bed10_and_eqd2_follow_the_linear_quadratic_model(fractions: int, total: str, bed: str, eqd2: str) -> None:
    assert biologically_effective_dose(Decimal(total), fractions) == Decimal(bed)
    assert round_gy(equivalent_dose_in_2gy_fractions(Decimal(total), fractions)) == Decimal(eqd2)


def test_eqd2_is_exact_before_rounding() -> None:
    value = equivalent_dose_in_2gy_fractions(Decimal(35), 5)
    assert value == Decimal("59.5") / Decimal("1.2")
    assert str(value).startswith("49.58333")


def test_another_alpha_beta_changes_the_result() -> None:
    # Late-responding tissue, α/β = 3 Gy: 3 × 15 Gy → 45 · (1 + 5) = 270 Gy₃; EQD2 = 270 / (5/3) = 162 Gy.
    assert biologically_effective_dose(Decimal(45), 3, Decimal(3)) == Decimal(270)
    assert equivalent_dose_in_2gy_fractions(Decimal(45), 3, Decimal(3)) == Decimal(162)


def test_dose_per_fraction_is_total_over_fractions() -> None:
    assert dose_per_fraction(Decimal("37.5"), 5) == Decimal("7.5")


@pytest.mark.parametrize(("total", "fractions"), [("0", 3), ("-5", 3), ("45", 0), ("45", -1)])
def test_impossible_courses_are_refused(total: str, fractions: int) -> None:
    with pytest.raises(ValueError):
        biologically_effective_dose(Decimal(total), fractions)


def test_rounding_is_half_away_from_zero() -> None:
    assert round_gy(Decimal("49.585")) == Decimal("49.59")
    assert round_gy(Decimal("112.5"), 1) == Decimal("112.5")
