"""Biologically effective dose of a SABR course: the linear-quadratic (LQ) model, in exact decimals.

For n fractions of d Gy (total dose D = n·d) and a tissue's α/β ratio:

    BED     = n·d·(1 + d / (α/β))            (Fowler JF, "The linear-quadratic formula and progress in
                                              fractionated radiotherapy", Br J Radiol 1989;62:679-694)
    EQD2    = BED / (1 + 2 / (α/β))          (dose in 2 Gy fractions giving the same BED; Withers HR, Thames HD,
                                              Peters LJ, Radiother Oncol 1983;1:187-191)

Tumour effect is reported with α/β = 10 Gy (BED₁₀, EQD2₁₀), the convention of the SABR literature. The LQ model
is known to overestimate the effect of very large single doses; it is used here as the trials report it, not as
a claim about biology. ``Decimal`` throughout: 5 × 7 Gy gives EQD2 49.58333… Gy, never a binary float.
Pure Python: no Django (STYLE.md rule 2).
"""

from decimal import ROUND_HALF_UP, Decimal

ALPHA_BETA_TUMOUR_GY = Decimal(10)
"""α/β for tumour (and early-responding tissue), Gy."""

REFERENCE_DOSE_PER_FRACTION_GY = Decimal(2)
"""EQD2 is expressed in 2 Gy fractions."""


def _check(total_dose_gy: Decimal, fractions: int, alpha_beta_gy: Decimal) -> None:
    if isinstance(fractions, bool) or not isinstance(fractions, int) or fractions < 1:
        raise ValueError(f"fractions must be a whole number of at least 1 (got {fractions!r})")
    if total_dose_gy <= 0:
        raise ValueError(f"total dose must be above 0 Gy (got {total_dose_gy})")
    if alpha_beta_gy <= 0:
        raise ValueError(f"alpha/beta must be above 0 Gy (got {alpha_beta_gy})")


def dose_per_fraction(total_dose_gy: Decimal, fractions: int) -> Decimal:
    """d = D / n."""
    _check(total_dose_gy, fractions, ALPHA_BETA_TUMOUR_GY)
    return Decimal(total_dose_gy) / fractions


def biologically_effective_dose(
    total_dose_gy: Decimal, fractions: int, alpha_beta_gy: Decimal = ALPHA_BETA_TUMOUR_GY
) -> Decimal:
    """BED = n·d·(1 + d/(α/β)) = D·(1 + d/(α/β)) (Fowler 1989). 3 × 15 Gy → 112.5 Gy₁₀."""
    _check(total_dose_gy, fractions, alpha_beta_gy)
    total = Decimal(total_dose_gy)
    per_fraction = total / fractions
    return total * (1 + per_fraction / alpha_beta_gy)


def equivalent_dose_in_2gy_fractions(
    total_dose_gy: Decimal, fractions: int, alpha_beta_gy: Decimal = ALPHA_BETA_TUMOUR_GY
) -> Decimal:
    """EQD2 = BED / (1 + 2/(α/β)) (Withers 1983). 3 × 15 Gy → 93.75 Gy with α/β = 10 Gy."""
    bed = biologically_effective_dose(total_dose_gy, fractions, alpha_beta_gy)
    return bed / (1 + REFERENCE_DOSE_PER_FRACTION_GY / alpha_beta_gy)


def round_gy(value: Decimal, places: int = 2) -> Decimal:
    """For display: half away from zero, ``places`` decimals (49.58333… → 49.58)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
