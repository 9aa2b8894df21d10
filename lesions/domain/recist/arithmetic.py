"""Exact RECIST 1.1 thresholds on integer tenths of a millimetre, and their display.

The ±30 % and +20 % boundaries are hit exactly in practice, so every comparison is integer arithmetic
(clinical-spec C4) and every boundary is inclusive ("at least", Eisenhauer 2009 §4.3.1).
"""

from fractions import Fraction

PD_MIN_INCREASE_TENTHS = 50
"""PD needs an absolute increase of at least 5 mm over the nadir (Eisenhauer 2009 §4.3.1)."""


def meets_progression(sum_tenths: int, nadir_tenths: int) -> bool:
    """PD by the sum: S >= 1.2 N and S - N >= 5 mm, i.e. ``5S >= 6N`` and ``S - N >= 50`` (§4.3.1; C4)."""
    return 5 * sum_tenths >= 6 * nadir_tenths and sum_tenths - nadir_tenths >= PD_MIN_INCREASE_TENTHS


def meets_partial_response(sum_tenths: int, baseline_tenths: int) -> bool:
    """PR by the sum: a decrease of at least 30 % from baseline, i.e. ``10S <= 7B`` (§4.3.1; C4)."""
    return 10 * sum_tenths <= 7 * baseline_tenths


def percent_change(value_tenths: int, reference_tenths: int) -> Fraction | None:
    """Exact percentage change from a reference; None when the reference is 0."""
    if reference_tenths == 0:
        return None
    return Fraction(100 * (value_tenths - reference_tenths), reference_tenths)


def format_mm(tenths: int) -> str:
    """``365`` -> ``"36.5 mm"``."""
    sign = "-" if tenths < 0 else ""
    magnitude = abs(tenths)
    return f"{sign}{magnitude // 10}.{magnitude % 10} mm"


def format_signed_mm(tenths: int) -> str:
    """``60`` -> ``"+6.0 mm"``."""
    return ("+" if tenths >= 0 else "") + format_mm(tenths)


def format_percent(value: Fraction) -> str:
    """Signed, one decimal, rounded half away from zero, without floats: ``Fraction(197, 1)`` -> ``"+19.7 %"``."""
    magnitude = abs(value)
    tenths_of_percent = (2 * magnitude.numerator * 10 + magnitude.denominator) // (2 * magnitude.denominator)
    sign = "-" if value < 0 and tenths_of_percent else "+"
    return f"{sign}{tenths_of_percent // 10}.{tenths_of_percent % 10} %"
