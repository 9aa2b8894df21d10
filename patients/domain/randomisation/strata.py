"""AVATAR II stratification: endocrine partner × number of oligoprogressive lesions (decision D17).

The strata are fixed by protocol before the first patient: aromatase inhibitor vs fulvestrant/other SERD, and one
vs two to five oligoprogressive lesions, four strata in all. Few strata keep permuted blocks filled with about 74
patients (clinical-spec §6.1: "keep the number of strata small"); ICH E9 §2.3.2 asks that stratification factors be
few and be analysed (here by the stratified log-rank test and Cox model with the same factors).

The codes match the trial's ``strata_definition`` setting (``trials/configuration.py``): factor
``endocrine_partner`` with levels ``ai``/``serd`` and factor ``oligo_lesions`` with levels ``1``/``2-5``. A stratum
code joins the two level codes with ``|``, e.g. ``"ai|1"``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "AVATAR2_STRATA",
    "MAX_OLIGO_LESIONS",
    "EndocrinePartner",
    "oligo_lesions_level",
    "stratum_code",
]

MAX_OLIGO_LESIONS: Final = 5
"""Oligoprogression in AVATAR II means at most five progressing lesions (D10 ``max_oligo_lesions`` default)."""


class EndocrinePartner(StrEnum):
    """The endocrine therapy given with the CDK4/6 inhibitor, a stratification factor (D17)."""

    AROMATASE_INHIBITOR = "ai"
    SERD = "serd"  # fulvestrant or another selective oestrogen receptor degrader


def oligo_lesions_level(oligo_lesions: int) -> str:
    """The stratification level of a count of oligoprogressive lesions: ``"1"`` or ``"2-5"`` (D17).

    Raises ``ValueError`` for anything but an integer from 1 to 5: a patient with no progressing lesion or more than
    five is not eligible, and a count of 0 usually means the field was left blank.
    """
    if isinstance(oligo_lesions, bool) or not isinstance(oligo_lesions, int):
        raise ValueError(f"The number of oligoprogressive lesions must be a whole number, got {oligo_lesions!r}.")
    if not 1 <= oligo_lesions <= MAX_OLIGO_LESIONS:
        raise ValueError(
            f"The number of oligoprogressive lesions must be between 1 and {MAX_OLIGO_LESIONS}, got {oligo_lesions}."
        )
    return "1" if oligo_lesions == 1 else f"2-{MAX_OLIGO_LESIONS}"


def stratum_code(endocrine_partner: str, oligo_lesions: int) -> str:
    """The AVATAR II stratum of a patient, e.g. ``stratum_code("serd", 3) == "serd|2-5"`` (D17).

    ``endocrine_partner`` is the level code ``"ai"`` or ``"serd"`` (an ``EndocrinePartner`` works too). Anything
    else raises ``ValueError`` naming the accepted values; codes are not case-folded, so a typo is caught rather than
    guessed.
    """
    partners = [partner.value for partner in EndocrinePartner]
    if endocrine_partner not in partners:
        raise ValueError(f"The endocrine partner must be one of {partners}, got {endocrine_partner!r}.")
    return f"{EndocrinePartner(endocrine_partner).value}|{oligo_lesions_level(oligo_lesions)}"


AVATAR2_STRATA: Final = tuple(
    stratum_code(partner, lesions) for partner in EndocrinePartner for lesions in (1, MAX_OLIGO_LESIONS)
)
"""The four AVATAR II strata in a fixed order: ``("ai|1", "ai|2-5", "serd|1", "serd|2-5")``."""
