"""Static checks on a permuted-block allocation list, generated or stored (clinical-spec §6.4).

Run before a list is uploaded and on the stored list at any later time (the DMC or an auditor can rerun them). Rule
checks return ``ERROR`` findings: a list with any must not be used. The two goodness-of-fit checks return ``WARNING``
findings when the χ² p-value falls below ``alpha``: a correct generator fails such a test with probability ``alpha``,
so a warning asks for a look, not a rejection.

* every complete block is balanced, only the last block of a stratum may be incomplete, rows and blocks are numbered
  without gaps (ICH E9 §2.3.2; Rosenberger & Lachin, *Randomization in Clinical Trials*, 2nd ed., Wiley 2016, random
  permuted blocks);
* block sizes are only from the allowed set, each a multiple of the number of arms;
* the running imbalance within a stratum (largest minus smallest arm count) never exceeds max block size / number of
  arms (max block / 2 with two arms), the bound permuted blocks guarantee;
* block-size frequencies are uniform over the allowed sizes (χ² goodness of fit);
* within-block orders are uniform over the distinct orders of each block size (χ² goodness of fit; 6 orders for a
  2-arm 4-block, 20 for a 6-block).

χ² p-values use the upper tail of the χ² distribution with (categories - 1) degrees of freedom (Pearson 1900). With
an expected count below 5 in some category the approximation is poor (Cochran 1954), so ``reliable`` is False and
no finding is raised. The spec's runs test is left out on purpose: permuted blocks are not independent draws (they
alternate more than coin flips), so a runs test against independence would flag every good list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby

from scipy.special import chdtrc  # type: ignore[import-untyped,unused-ignore]

from .blocks import AllocationList, AllocationRow

__all__ = [
    "DEFAULT_ALPHA",
    "FindingSeverity",
    "GoodnessOfFit",
    "ListCheck",
    "ListFinding",
    "block_size_frequencies",
    "check_allocation_list",
    "check_block_balance",
    "check_block_size_frequencies",
    "check_block_sizes",
    "check_list_structure",
    "check_permutation_uniformity",
    "check_running_imbalance",
    "permutation_frequencies",
]

DEFAULT_ALPHA = 0.001
MINIMUM_EXPECTED = 5


class ListCheck(StrEnum):
    STRUCTURE = "structure"
    BLOCK_BALANCE = "block_balance"
    BLOCK_SIZE = "block_size"
    RUNNING_IMBALANCE = "running_imbalance"
    BLOCK_SIZE_FREQUENCY = "block_size_frequency"
    PERMUTATION_UNIFORMITY = "permutation_uniformity"


class FindingSeverity(StrEnum):
    ERROR = "error"  # a rule is broken: do not use the list
    WARNING = "warning"  # a statistical test rejected at alpha: look into it


@dataclass(frozen=True, slots=True)
class ListFinding:
    check: ListCheck
    severity: FindingSeverity
    message: str
    stratum: str | None = None
    block: int | None = None


@dataclass(frozen=True, slots=True)
class GoodnessOfFit:
    """A Pearson χ² goodness-of-fit test of ``observed`` against ``expected`` counts per category."""

    categories: tuple[str, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    statistic: float
    degrees_of_freedom: int
    p_value: float

    @property
    def total(self) -> int:
        return sum(self.observed)

    @property
    def reliable(self) -> bool:
        """At least two categories and every expected count ≥ 5 (Cochran's rule)."""
        return self.degrees_of_freedom >= 1 and min(self.expected, default=0) >= MINIMUM_EXPECTED


def _goodness_of_fit(categories: Sequence[str], observed: Sequence[int]) -> GoodnessOfFit:
    """Pearson's χ² against equal expected counts."""
    total = sum(observed)
    expected = [total / len(categories)] * len(categories)
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True)) if total else 0.0
    degrees_of_freedom = len(categories) - 1
    p_value = float(chdtrc(degrees_of_freedom, statistic)) if degrees_of_freedom and total else 1.0
    return GoodnessOfFit(
        categories=tuple(categories),
        observed=tuple(observed),
        expected=tuple(expected),
        statistic=float(statistic),
        degrees_of_freedom=degrees_of_freedom,
        p_value=p_value,
    )


def _strata(allocation_list: AllocationList) -> Iterator[tuple[str, tuple[AllocationRow, ...]]]:
    yield from allocation_list.by_stratum().items()


def _blocks(rows: Sequence[AllocationRow]) -> Iterator[tuple[int, tuple[AllocationRow, ...]]]:
    """Consecutive runs of rows with the same block number, in sequence order."""
    for number, block in groupby(rows, key=lambda row: row.block):
        yield number, tuple(block)


def _is_complete(block: Sequence[AllocationRow]) -> bool:
    return len(block) == block[0].block_size


def _is_balanced(block: Sequence[AllocationRow], arms: Sequence[str]) -> bool:
    per_arm = Counter(row.arm for row in block)
    return set(per_arm) <= set(arms) and len(set(per_arm[arm] for arm in arms)) == 1


def check_list_structure(allocation_list: AllocationList) -> tuple[ListFinding, ...]:
    """Rows 1..n and blocks 1..m per stratum without gaps, one size per block, known arms, whole blocks but the last."""
    findings: list[ListFinding] = []

    def error(message: str, stratum: str, block: int | None = None) -> None:
        findings.append(ListFinding(ListCheck.STRUCTURE, FindingSeverity.ERROR, message, stratum, block))

    for stratum, rows in _strata(allocation_list):
        sequences = [row.sequence for row in rows]
        if sequences != list(range(1, len(rows) + 1)):
            error(f"Rows are not numbered 1..{len(rows)} without gaps or repeats.", stratum)
        unknown = sorted({row.arm for row in rows} - set(allocation_list.arms))
        if unknown:
            error(f"Rows name arms not in the list's arms {list(allocation_list.arms)}: {unknown}.", stratum)
        blocks = list(_blocks(rows))
        numbers = [number for number, _ in blocks]
        if numbers != list(range(1, len(blocks) + 1)):
            error(f"Blocks are not numbered 1..{len(blocks)} consecutively in sequence order: {numbers}.", stratum)
        for index, (number, block) in enumerate(blocks):
            sizes = {row.block_size for row in block}
            if len(sizes) > 1:
                error(f"Block {number} records several sizes {sorted(sizes)}.", stratum, number)
            elif len(block) > block[0].block_size:
                error(
                    f"Block {number} has {len(block)} rows, more than its size {block[0].block_size}.", stratum, number
                )
            elif not _is_complete(block) and index < len(blocks) - 1:
                error(
                    f"Block {number} has {len(block)} of {block[0].block_size} rows but is not the last block.",
                    stratum,
                    number,
                )
    return tuple(findings)


def check_block_balance(allocation_list: AllocationList) -> tuple[ListFinding, ...]:
    """Every complete block allocates each arm equally often."""
    findings = []
    for stratum, rows in _strata(allocation_list):
        for number, block in _blocks(rows):
            if _is_complete(block) and not _is_balanced(block, allocation_list.arms):
                arms = "".join(row.arm for row in block)
                findings.append(
                    ListFinding(
                        ListCheck.BLOCK_BALANCE,
                        FindingSeverity.ERROR,
                        f"Complete block {number} is unbalanced: {arms}.",
                        stratum,
                        number,
                    )
                )
    return tuple(findings)


def check_block_sizes(
    allocation_list: AllocationList, allowed: Collection[int] | None = None
) -> tuple[ListFinding, ...]:
    """Block sizes only from ``allowed`` (default: the list's own ``block_sizes``), each a multiple of the arms."""
    allowed_sizes = set(allocation_list.block_sizes if allowed is None else allowed)
    arm_count = len(allocation_list.arms)
    findings = [
        ListFinding(
            ListCheck.BLOCK_SIZE,
            FindingSeverity.ERROR,
            f"The allowed block size {size} is not a positive multiple of the {arm_count} arms.",
        )
        for size in sorted(allowed_sizes)
        if size <= 0 or size % arm_count
    ]
    for stratum, rows in _strata(allocation_list):
        for number, block in _blocks(rows):
            for size in sorted({row.block_size for row in block} - allowed_sizes):
                findings.append(
                    ListFinding(
                        ListCheck.BLOCK_SIZE,
                        FindingSeverity.ERROR,
                        f"Block {number} has size {size}, not one of {sorted(allowed_sizes)}.",
                        stratum,
                        number,
                    )
                )
    return tuple(findings)


def check_running_imbalance(allocation_list: AllocationList) -> tuple[ListFinding, ...]:
    """Within each stratum the running arm counts never differ by more than max block size / number of arms."""
    arms = allocation_list.arms
    largest = max(allocation_list.block_sizes or {row.block_size for row in allocation_list.rows} or {0})
    limit = largest // len(arms)
    findings = []
    for stratum, rows in _strata(allocation_list):
        running = dict.fromkeys(arms, 0)
        for row in rows:
            running[row.arm] = running.get(row.arm, 0) + 1
            imbalance = max(running.values()) - min(running.values())
            if imbalance > limit:
                findings.append(
                    ListFinding(
                        ListCheck.RUNNING_IMBALANCE,
                        FindingSeverity.ERROR,
                        f"Running imbalance {imbalance} at row {row.sequence} exceeds {limit} "
                        f"(max block size {largest} / {len(arms)} arms).",
                        stratum,
                        row.block,
                    )
                )
                break  # the first breach per stratum says enough
    return tuple(findings)


def block_size_frequencies(allocation_list: AllocationList) -> GoodnessOfFit:
    """How many blocks (all strata, the last incomplete block included) have each allowed size, against uniform."""
    sizes = Counter(block[0].block_size for _, rows in _strata(allocation_list) for _, block in _blocks(rows))
    allowed = sorted(allocation_list.block_sizes)
    return _goodness_of_fit([str(size) for size in allowed], [sizes[size] for size in allowed])


def _distinct_orders(arms: Sequence[str], per_arm: int) -> list[tuple[str, ...]]:
    """Every distinct order of a balanced block, lexicographic in the order of ``arms``."""
    orders: list[tuple[str, ...]] = []
    remaining = dict.fromkeys(arms, per_arm)

    def extend(prefix: tuple[str, ...]) -> None:
        if len(prefix) == per_arm * len(arms):
            orders.append(prefix)
            return
        for arm in arms:
            if remaining[arm]:
                remaining[arm] -= 1
                extend((*prefix, arm))
                remaining[arm] += 1

    extend(())
    return orders


def _order_label(order: Sequence[str]) -> str:
    return ("" if all(len(arm) == 1 for arm in order) else "-").join(order)


def permutation_frequencies(allocation_list: AllocationList, block_size: int) -> GoodnessOfFit:
    """How often each distinct arm order occurs among complete balanced blocks of ``block_size``, against uniform."""
    arms = allocation_list.arms
    if block_size <= 0 or block_size % len(arms):
        raise ValueError(f"Block size {block_size} is not a positive multiple of the {len(arms)} arms.")
    orders = _distinct_orders(arms, block_size // len(arms))
    seen = Counter(
        tuple(row.arm for row in block)
        for _, rows in _strata(allocation_list)
        for _, block in _blocks(rows)
        if block[0].block_size == block_size and _is_complete(block) and _is_balanced(block, arms)
    )
    return _goodness_of_fit([_order_label(order) for order in orders], [seen[order] for order in orders])


def _warn_if_rejected(check: ListCheck, test: GoodnessOfFit, alpha: float, what: str) -> tuple[ListFinding, ...]:
    if not (test.reliable and test.p_value < alpha):
        return ()
    return (
        ListFinding(
            check,
            FindingSeverity.WARNING,
            f"{what} are not uniform: χ² = {test.statistic:.2f} on {test.degrees_of_freedom} df, "
            f"p = {test.p_value:.2g} < {alpha} (observed {dict(zip(test.categories, test.observed, strict=True))}).",
        ),
    )


def check_block_size_frequencies(
    allocation_list: AllocationList, *, alpha: float = DEFAULT_ALPHA
) -> tuple[ListFinding, ...]:
    """A warning when block sizes are not uniform over the allowed sizes at level ``alpha``."""
    return _warn_if_rejected(
        ListCheck.BLOCK_SIZE_FREQUENCY, block_size_frequencies(allocation_list), alpha, "Block-size frequencies"
    )


def check_permutation_uniformity(
    allocation_list: AllocationList, *, alpha: float = DEFAULT_ALPHA
) -> tuple[ListFinding, ...]:
    """A warning per allowed block size whose within-block orders are not uniform at level ``alpha``."""
    return tuple(
        finding
        for size in sorted(allocation_list.block_sizes)
        if size > 0 and size % len(allocation_list.arms) == 0
        for finding in _warn_if_rejected(
            ListCheck.PERMUTATION_UNIFORMITY,
            permutation_frequencies(allocation_list, size),
            alpha,
            f"Orders within {size}-blocks",
        )
    )


def check_allocation_list(
    allocation_list: AllocationList, *, allowed_block_sizes: Collection[int] | None = None, alpha: float = DEFAULT_ALPHA
) -> tuple[ListFinding, ...]:
    """Every §6.4 static check; an empty result means the list passed. ERROR findings forbid using the list."""
    return (
        *check_list_structure(allocation_list),
        *check_block_sizes(allocation_list, allowed_block_sizes),
        *check_block_balance(allocation_list),
        *check_running_imbalance(allocation_list),
        *check_block_size_frequencies(allocation_list, alpha=alpha),
        *check_permutation_uniformity(allocation_list, alpha=alpha),
    )
