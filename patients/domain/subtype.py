"""Breast cancer subtype from tumour biology: the COSMO subgroups HR+/HER2−, HER2+ and triple negative.

Rules (decisions.md D19 and D36, which wins over clinical-spec.md §2.3):

- hormone-receptor positive (HR+) = ER ≥ 1 % or PR ≥ 1 %; ER-low = 1 ≤ ER ≤ 10 (inclusive) is flagged
  (ASCO/CAP ER/PgR guideline update: Allison et al., J Clin Oncol 2020;38:1346–1366);
- HER2-positive = IHC 3+ or ISH amplified; HER2-negative = IHC 0/1+ with ISH not done or not amplified, or IHC 2+
  with ISH not amplified; IHC 2+ without ISH is equivocal, so undetermined (ASCO/CAP HER2 guideline update:
  Wolff et al., J Clin Oncol 2018;36:2105–2122);
- groups: HER2+ (any ER), HR+/HER2−, triple negative (ER < 1 %, PR < 1 %, HER2-negative);
- the patient's subtype comes from the most recent metastatic biopsy, else the most recent primary specimen; two
  specimens of that kind on that date that disagree make it undetermined, with a reason for a query. Undetermined
  patients belong to no subgroup.

Pure: no Django; frozen dataclasses and enums in and out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

ER_LOW_MIN = 1
ER_LOW_MAX = 10
#: Receptor positivity threshold in percent of stained tumour nuclei.
POSITIVE_PERCENT = 1


class Specimen(StrEnum):
    PRIMARY = "primary"
    METASTATIC = "metastatic"


class Her2Ihc(StrEnum):
    ZERO = "0"
    ONE_PLUS = "1+"
    TWO_PLUS = "2+"
    THREE_PLUS = "3+"


class Ish(StrEnum):
    NOT_DONE = "not_done"
    NOT_AMPLIFIED = "not_amplified"
    AMPLIFIED = "amplified"


class Her2Status(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    UNDETERMINED = "undetermined"


class Subtype(StrEnum):
    HR_POSITIVE_HER2_NEGATIVE = "hr_positive_her2_negative"
    HER2_POSITIVE = "her2_positive"
    TRIPLE_NEGATIVE = "triple_negative"
    UNDETERMINED = "undetermined"

    @property
    def label(self) -> str:
        return SUBTYPE_LABELS[self]


SUBTYPE_LABELS = {
    Subtype.HR_POSITIVE_HER2_NEGATIVE: "HR+/HER2−",
    Subtype.HER2_POSITIVE: "HER2+",
    Subtype.TRIPLE_NEGATIVE: "Triple negative",
    Subtype.UNDETERMINED: "Undetermined",
}


@dataclass(frozen=True)
class Biology:
    """One specimen's receptor results. ``None`` means not (yet) recorded."""

    specimen: Specimen | None
    specimen_date: date | None
    er_percent: int | None
    pr_percent: int | None
    her2_ihc: Her2Ihc | None
    ish: Ish | None = None


@dataclass(frozen=True)
class SubtypeResult:
    subtype: Subtype
    her2: Her2Status
    er_low: bool
    #: why the subtype is undetermined, worded for a query to the site; empty when determined
    query_reason: str = ""
    #: the specimen(s) the result rests on (for a patient: the selected one, or the disagreeing same-day ones)
    basis: tuple[Biology, ...] = ()


def her2_status(ihc: Her2Ihc | None, ish: Ish | None) -> Her2Status:
    if ish == Ish.AMPLIFIED or ihc == Her2Ihc.THREE_PLUS:
        return Her2Status.POSITIVE
    if ihc in (Her2Ihc.ZERO, Her2Ihc.ONE_PLUS):
        return Her2Status.NEGATIVE
    if ihc == Her2Ihc.TWO_PLUS and ish == Ish.NOT_AMPLIFIED:
        return Her2Status.NEGATIVE
    return Her2Status.UNDETERMINED


def is_er_low(er_percent: int | None) -> bool:
    return er_percent is not None and ER_LOW_MIN <= er_percent <= ER_LOW_MAX


def classify(biology: Biology) -> SubtypeResult:
    """The subtype one specimen indicates."""
    er_low = is_er_low(biology.er_percent)
    her2 = her2_status(biology.her2_ihc, biology.ish)
    if her2 == Her2Status.POSITIVE:
        return SubtypeResult(Subtype.HER2_POSITIVE, her2, er_low, basis=(biology,))
    if her2 == Her2Status.UNDETERMINED:
        reason = (
            "HER2 IHC 2+ (equivocal) without an ISH result: the subtype is undetermined until ISH is recorded."
            if biology.her2_ihc == Her2Ihc.TWO_PLUS
            else "HER2 IHC is not recorded: the subtype is undetermined."
        )
        return SubtypeResult(Subtype.UNDETERMINED, her2, er_low, reason, (biology,))
    if biology.er_percent is None or biology.pr_percent is None:
        return SubtypeResult(
            Subtype.UNDETERMINED, her2, er_low, "ER or PR is not recorded: the subtype is undetermined.", (biology,)
        )
    if biology.er_percent >= POSITIVE_PERCENT or biology.pr_percent >= POSITIVE_PERCENT:
        return SubtypeResult(Subtype.HR_POSITIVE_HER2_NEGATIVE, her2, er_low, basis=(biology,))
    return SubtypeResult(Subtype.TRIPLE_NEGATIVE, her2, er_low, basis=(biology,))


def patient_subtype(specimens: Iterable[Biology]) -> SubtypeResult:
    """The patient's subtype: most recent metastatic biopsy first, else the most recent primary specimen.

    Specimens without a type or a date cannot be ranked and are left out. When the selected date has several
    specimens of the selected type whose results differ (including one undetermined), the subtype is undetermined.
    """
    dated = [s for s in specimens if s.specimen is not None and s.specimen_date is not None]
    for kind in (Specimen.METASTATIC, Specimen.PRIMARY):
        candidates = [s for s in dated if s.specimen == kind]
        if not candidates:
            continue
        latest = max(s.specimen_date for s in candidates if s.specimen_date is not None)
        chosen = [s for s in candidates if s.specimen_date == latest]
        results = [classify(s) for s in chosen]
        if len({r.subtype for r in results}) > 1:
            groups = ", ".join(sorted(r.subtype.label for r in results))
            reason = (
                f"{len(chosen)} {kind.value} specimens dated {latest.isoformat()} give different subtypes "
                f"({groups}): the subtype is undetermined until resolved."
            )
            return SubtypeResult(
                Subtype.UNDETERMINED,
                Her2Status.UNDETERMINED,
                any(r.er_low for r in results),
                reason,
                tuple(chosen),
            )
        first = results[0]
        # Same group on the same day: keep the group; flag ER-low if any of them is ER-low.
        return SubtypeResult(
            first.subtype, first.her2, any(r.er_low for r in results), first.query_reason, tuple(chosen)
        )
    return SubtypeResult(
        Subtype.UNDETERMINED, Her2Status.UNDETERMINED, False, "No dated tumour biology specimen is recorded."
    )
