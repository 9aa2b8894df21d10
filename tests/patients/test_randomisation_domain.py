"""The pure randomisation engine (clinical-spec §6.1-6.4, decision D17): lists, commitment, strata, minimisation."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest

from patients.domain.randomisation import (
    AVATAR2_STRATA,
    GENERATOR_VERSION,
    AllocationList,
    AllocationRow,
    FindingSeverity,
    ImbalanceMeasure,
    ListCheck,
    block_size_frequencies,
    canonical_serialisation,
    check_allocation_list,
    generate_block_list,
    list_commitment,
    marginal_counts,
    minimise,
    permutation_frequencies,
    recommended_rows,
    stratum_code,
    verify_commitment,
)

SEED = "avatar2-golden-seed-0001"


def generate(seed: str = SEED, **overrides: object) -> AllocationList:
    arguments: dict[str, object] = {"seed": seed, "strata": AVATAR2_STRATA, "rows_per_stratum": 20} | overrides
    return generate_block_list(**arguments)  # type: ignore[arg-type]


def blocks_of(rows: tuple[AllocationRow, ...]) -> dict[int, list[AllocationRow]]:
    blocks: dict[int, list[AllocationRow]] = {}
    for row in rows:
        blocks.setdefault(row.block, []).append(row)
    return blocks


def assert_block_rules(allocation_list: AllocationList, rows_per_stratum: int) -> None:
    """The invariants every generated list must meet, checked here without the package's own checks."""
    arms = allocation_list.arms
    for stratum in allocation_list.strata:
        rows = allocation_list.rows_for(stratum)
        assert [row.sequence for row in rows] == list(range(1, len(rows) + 1))
        blocks = blocks_of(rows)
        assert list(blocks) == list(range(1, len(blocks) + 1))
        for block in blocks.values():
            size = block[0].block_size
            assert size in allocation_list.block_sizes
            assert {row.block_size for row in block} == {size}
            assert len(block) == size  # every block whole, the last one too
            assert Counter(row.arm for row in block) == dict.fromkeys(arms, size // len(arms))
        assert rows_per_stratum <= len(rows) < rows_per_stratum + max(allocation_list.block_sizes)


# -- golden list ---------------------------------------------------------------------------------------------------

# Generated once, then checked by hand: block 1 (size 4) B A A B has 2 A + 2 B; blocks 2-4 (size 6) have 3 + 3 each;
# the running A - B difference stays within ±3; 22 rows >= 20 with the last block whole.
GOLDEN_AI_1 = [
    # (sequence, block, block size, arm)
    (1, 1, 4, "B"), (2, 1, 4, "A"), (3, 1, 4, "A"), (4, 1, 4, "B"),
    (5, 2, 6, "B"), (6, 2, 6, "A"), (7, 2, 6, "A"), (8, 2, 6, "A"), (9, 2, 6, "B"), (10, 2, 6, "B"),
    (11, 3, 6, "B"), (12, 3, 6, "A"), (13, 3, 6, "B"), (14, 3, 6, "A"), (15, 3, 6, "A"), (16, 3, 6, "B"),
    (17, 4, 6, "B"), (18, 4, 6, "A"), (19, 4, 6, "B"), (20, 4, 6, "A"), (21, 4, 6, "A"), (22, 4, 6, "B"),
]  # fmt: skip
GOLDEN_COMMITMENT = "de51e80ab71c20f965986f7ae35d4a3c2fbcad7ad65003ba4930054a093fc1b8"


def test_a_fixed_seed_reproduces_the_stored_list() -> None:
    allocation_list = generate()
    rows = allocation_list.rows_for("ai|1")
    assert [(r.sequence, r.block, r.block_size, r.arm) for r in rows] == GOLDEN_AI_1
    assert list_commitment(allocation_list) == GOLDEN_COMMITMENT
    assert allocation_list.generator_version == GENERATOR_VERSION
    assert allocation_list.strata == AVATAR2_STRATA
    assert_block_rules(allocation_list, rows_per_stratum=20)
    assert check_allocation_list(allocation_list) == ()


def test_the_golden_hand_check_itself_holds() -> None:
    """The literal rows above obey the block rules on their own, so the golden is not circular."""
    running = 0
    for block in {b for _, b, _, _ in GOLDEN_AI_1}:
        arms = [arm for _, number, _, arm in GOLDEN_AI_1 if number == block]
        assert arms.count("A") == arms.count("B") and len(arms) in (4, 6)
    for *_, arm in GOLDEN_AI_1:
        running += 1 if arm == "A" else -1
        assert abs(running) <= 3


class ReferenceMersenneTwister:
    """MT19937 from Matsumoto & Nishimura's reference mt19937ar.c (init_by_array, genrand_int32, genrand_res53)."""

    def __init__(self, key: list[int]) -> None:
        mt = [0] * 624
        mt[0] = 19650218
        for i in range(1, 624):
            mt[i] = (1812433253 * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i) & 0xFFFFFFFF
        i, j = 1, 0
        for _ in range(max(624, len(key))):
            mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525)) + key[j] + j) & 0xFFFFFFFF
            i, j = i + 1, (j + 1) % len(key)
            if i >= 624:
                mt[0], i = mt[623], 1
        for _ in range(623):
            mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941)) - i) & 0xFFFFFFFF
            i += 1
            if i >= 624:
                mt[0], i = mt[623], 1
        mt[0] = 0x80000000
        self.mt, self.index = mt, 624

    def int32(self) -> int:
        mt = self.mt
        if self.index >= 624:
            for k in range(624):
                y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7FFFFFFF)
                mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.index = 0
        y = mt[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        return y ^ (y >> 18)

    def res53(self) -> float:
        return ((self.int32() >> 5) * 67108864 + (self.int32() >> 6)) / 9007199254740992


def reference_stratum(
    seed: str, stratum: str, arms: tuple[str, ...], sizes: tuple[int, ...], wanted: int
) -> list[tuple[int, int, int, str]]:
    """The generator as the module docstring documents it, written from the documentation alone."""
    key = int.from_bytes(hashlib.sha256(f"{seed}\n{stratum}".encode()).digest(), "big")
    words: list[int] = []
    while key or not words:
        words.append(key & 0xFFFFFFFF)
        key >>= 32
    twister = ReferenceMersenneTwister(words)

    def index(n: int) -> int:
        return (int(twister.res53() * 2**53) * n) >> 53

    rows: list[tuple[int, int, int, str]] = []
    block_number = 0
    while len(rows) < wanted:
        block_number += 1
        size = sorted(sizes)[index(len(sizes))]
        block = [arm for arm in arms for _ in range(size // len(arms))]
        for i in range(size - 1, 0, -1):
            j = index(i + 1)
            block[i], block[j] = block[j], block[i]
        rows += [(len(rows) + n + 1, block_number, size, arm) for n, arm in enumerate(block)]
    return rows


@pytest.mark.parametrize(
    ("seed", "arms", "sizes"),
    [
        (SEED, ("A", "B"), (4, 6)),
        ("another-secret-seed-42", ("A", "B"), (6, 4, 2)),
        ("three-arm-seed-000000", ("A", "B", "C"), (3, 6)),
    ],
    ids=["avatar2", "sizes-unsorted", "three-arms"],
)
def test_the_documented_generator_is_reproducible_from_the_documentation_alone(
    seed: str, arms: tuple[str, ...], sizes: tuple[int, ...]
) -> None:
    allocation_list = generate(seed, arms=arms, block_sizes=sizes, rows_per_stratum=40)
    for stratum in AVATAR2_STRATA:
        generated = [(r.sequence, r.block, r.block_size, r.arm) for r in allocation_list.rows_for(stratum)]
        assert generated == reference_stratum(seed, stratum, arms, sizes, 40)


# -- block rules -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arms", "sizes", "rows"),
    [
        (("A", "B"), (4, 6), 89),
        (("A", "B"), (4,), 30),
        (("A", "B"), (2, 4, 6), 50),
        (("A", "B"), (6, 8), 1),
        (("A", "B", "C"), (3, 6), 45),
    ],
    ids=["avatar2-89-rows", "fixed-4", "2-4-6", "one-row-wanted", "three-arms"],
)
@pytest.mark.parametrize("seed", ["seed-number-one-xx", "seed-number-two-xx", "ünïcode-seed-ok-✓✓"])
def test_every_block_is_whole_balanced_and_of_an_allowed_size(
    seed: str, arms: tuple[str, ...], sizes: tuple[int, ...], rows: int
) -> None:
    allocation_list = generate(seed, arms=arms, block_sizes=sizes, rows_per_stratum=rows)
    assert allocation_list.block_sizes == tuple(sorted(sizes))
    assert_block_rules(allocation_list, rows_per_stratum=rows)
    assert not [f for f in check_allocation_list(allocation_list) if f.severity is FindingSeverity.ERROR]


def test_both_block_sizes_and_several_orders_occur() -> None:
    rows = generate(rows_per_stratum=200).rows
    assert {row.block_size for row in rows} == {4, 6}
    four_blocks = {
        tuple(r.arm for r in block)
        for stratum in AVATAR2_STRATA
        for block in blocks_of(tuple(r for r in rows if r.stratum == stratum)).values()
        if len(block) == 4
    }
    assert len(four_blocks) == 6


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"seed": SEED}, {"seed": SEED + "x"}),
        ({"seed": SEED}, {"seed": SEED.upper()}),
        ({"arms": ("A", "B")}, {"arms": ("B", "A")}),
        ({"block_sizes": (4, 6)}, {"block_sizes": (4, 8)}),
    ],
    ids=["seed-suffix", "seed-case", "arm-order", "block-sizes"],
)
def test_different_inputs_give_different_lists(first: dict[str, object], second: dict[str, object]) -> None:
    assert generate(**first).rows != generate(**second).rows  # type: ignore[arg-type]


def test_strata_get_different_sequences_and_do_not_depend_on_each_other() -> None:
    allocation_list = generate(rows_per_stratum=40)
    sequences = {tuple(r.arm for r in allocation_list.rows_for(stratum)) for stratum in AVATAR2_STRATA}
    assert len(sequences) == 4
    alone = generate(strata=["serd|2-5"], rows_per_stratum=40)
    assert alone.rows_for("serd|2-5") == allocation_list.rows_for("serd|2-5")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seed": "too-short"}, "at least 16 characters"),
        ({"seed": "line\nfeed-in-the-seed"}, "line feed"),
        ({"strata": []}, r"At least 1 stratum"),
        ({"strata": "ai|1"}, "sequence of codes"),
        ({"strata": ["ai|1", "ai|1"]}, "distinct"),
        ({"strata": ["ai\t1"]}, "tab or line break"),
        ({"arms": ("A",)}, "At least 2 arm"),
        ({"arms": ("A", "")}, "non-empty"),
        ({"block_sizes": (4, 5)}, "multiples of the number of arms"),
        ({"block_sizes": (0,)}, "multiples of the number of arms"),
        ({"block_sizes": ()}, "At least one block size"),
        ({"block_sizes": (4, 4)}, "distinct"),
        ({"arms": ("A", "B", "C"), "block_sizes": (4,)}, r"multiples of the number of arms \(3\)"),
        ({"rows_per_stratum": 0}, "rows_per_stratum"),
    ],
    ids=lambda value: None if isinstance(value, dict) else value,
)
def test_generation_rejects_bad_input(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(**overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sample_size", "strata_count", "expected"),
    [(74, 4, 89), (100, 4, 120), (5, 1, 6), (1, 8, 2)],
    ids=["avatar2", "exact-multiple", "small", "one-patient"],
)
def test_recommended_rows_leave_a_20_percent_margin_per_stratum(
    sample_size: int, strata_count: int, expected: int
) -> None:
    assert recommended_rows(sample_size, strata_count) == expected


@pytest.mark.parametrize(("sample_size", "strata_count"), [(0, 4), (74, 0), (74.0, 4)], ids=["n0", "strata0", "float"])
def test_recommended_rows_rejects_bad_input(sample_size: int, strata_count: int) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        recommended_rows(sample_size, strata_count)


# -- commitment -----------------------------------------------------------------------------------------------------

TINY = AllocationList(
    generator_version=GENERATOR_VERSION,
    arms=("A", "B"),
    block_sizes=(4,),
    rows=tuple(AllocationRow("ai|1", n, 1, 4, arm) for n, arm in enumerate("ABBA", start=1)),
)


def test_the_canonical_serialisation_is_the_documented_text() -> None:
    text = (
        "allocation-list/1\n"
        "generator\tpermuted-blocks/sha256-mt19937/1\n"
        "arms\tA\tB\n"
        "block_sizes\t4\n"
        "ai|1\t1\t1\t4\tA\n"
        "ai|1\t2\t1\t4\tB\n"
        "ai|1\t3\t1\t4\tB\n"
        "ai|1\t4\t1\t4\tA\n"
    )
    assert canonical_serialisation(TINY) == text
    assert list_commitment(TINY) == hashlib.sha256(text.encode()).hexdigest()


def test_the_commitment_does_not_depend_on_row_order_in_memory() -> None:
    allocation_list = generate()
    shuffled = dataclasses.replace(allocation_list, rows=tuple(reversed(allocation_list.rows)))
    assert list_commitment(shuffled) == list_commitment(allocation_list)
    assert verify_commitment(shuffled, GOLDEN_COMMITMENT)


def _with_row(allocation_list: AllocationList, index: int, **change: object) -> AllocationList:
    rows = list(allocation_list.rows)
    rows[index] = dataclasses.replace(rows[index], **change)  # type: ignore[arg-type]
    return dataclasses.replace(allocation_list, rows=tuple(rows))


def _swap_arms(allocation_list: AllocationList) -> AllocationList:
    rows = list(allocation_list.rows)
    first = next(i for i in range(len(rows) - 1) if rows[i].arm != rows[i + 1].arm)
    rows[first], rows[first + 1] = (
        dataclasses.replace(rows[first], arm=rows[first + 1].arm),
        dataclasses.replace(rows[first + 1], arm=rows[first].arm),
    )
    return dataclasses.replace(allocation_list, rows=tuple(rows))


TAMPERING = {
    "arm-of-first-row": lambda lst: _with_row(lst, 0, arm="A" if lst.rows[0].arm == "B" else "B"),
    "arm-of-last-row": lambda lst: _with_row(lst, -1, arm="A" if lst.rows[-1].arm == "B" else "B"),
    "two-adjacent-arms-swapped": _swap_arms,
    "sequence": lambda lst: _with_row(lst, 5, sequence=99),
    "block-number": lambda lst: _with_row(lst, 5, block=9),
    "block-size": lambda lst: _with_row(lst, 5, block_size=8),
    "stratum": lambda lst: _with_row(lst, 5, stratum="serd|1"),
    "row-dropped": lambda lst: dataclasses.replace(lst, rows=lst.rows[:-1]),
    "row-added": lambda lst: dataclasses.replace(lst, rows=(*lst.rows, AllocationRow("ai|1", 23, 5, 4, "A"))),
    "arms-header": lambda lst: dataclasses.replace(lst, arms=("B", "A")),
    "block-sizes-header": lambda lst: dataclasses.replace(lst, block_sizes=(2, 4, 6)),
    "generator-version": lambda lst: dataclasses.replace(lst, generator_version="permuted-blocks/other/1"),
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_the_commitment_changes_when_anything_changes(tamper) -> None:  # type: ignore[no-untyped-def]
    original = generate()
    tampered = tamper(original)
    assert list_commitment(tampered) != list_commitment(original)
    assert not verify_commitment(tampered, GOLDEN_COMMITMENT)


@pytest.mark.parametrize(
    ("digest", "verifies"),
    [
        (GOLDEN_COMMITMENT, True),
        (GOLDEN_COMMITMENT.upper(), True),
        (f" {GOLDEN_COMMITMENT}\n", True),
        (GOLDEN_COMMITMENT[:-1] + "0", False),
        ("", False),
        ("é" * 64, False),
    ],
    ids=["lowercase", "uppercase", "whitespace", "one-digit-off", "empty", "non-ascii"],
)
def test_verify_commitment(digest: str, verifies: bool) -> None:
    assert verify_commitment(generate(), digest) is verifies


def test_the_serialisation_refuses_codes_that_would_make_it_ambiguous() -> None:
    with pytest.raises(ValueError, match="tab or line break"):
        list_commitment(_with_row(TINY, 0, arm="A\tB"))


# -- strata ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "lesions", "expected"),
    [("ai", 1, "ai|1"), ("ai", 2, "ai|2-5"), ("ai", 5, "ai|2-5"), ("serd", 1, "serd|1"), ("serd", 3, "serd|2-5")],
    ids=lambda value: str(value),
)
def test_stratum_code(partner: str, lesions: int, expected: str) -> None:
    assert stratum_code(partner, lesions) == expected
    assert expected in AVATAR2_STRATA


@pytest.mark.parametrize(
    ("partner", "lesions", "message"),
    [
        ("AI", 1, "endocrine partner must be one of"),
        ("tamoxifen", 1, "endocrine partner must be one of"),
        ("", 1, "endocrine partner must be one of"),
        ("ai", 0, "between 1 and 5, got 0"),
        ("ai", 6, "between 1 and 5, got 6"),
        ("serd", -1, "between 1 and 5"),
        ("ai", 2.0, "whole number"),
        ("ai", "2", "whole number"),
        ("ai", True, "whole number"),
    ],
    ids=[
        "uppercase",
        "unknown-partner",
        "blank-partner",
        "0-lesions",
        "6-lesions",
        "negative",
        "float",
        "text",
        "bool",
    ],
)
def test_stratum_code_rejects_bad_input(partner: str, lesions: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stratum_code(partner, lesions)


def test_the_four_strata() -> None:
    assert AVATAR2_STRATA == ("ai|1", "ai|2-5", "serd|1", "serd|2-5")


# -- minimisation ---------------------------------------------------------------------------------------------------

# clinical-spec §6.1 worked example: the new patient is S1 / 1 lesion / bone-only.
WORKED_COUNTS = {
    "site": {"S1": {"A": 5, "B": 6}, "S2": {"A": 9, "B": 1}},
    "lesions": {"1": {"A": 7, "B": 6}, "2-5": {"A": 4, "B": 9}},
    "bone_only": {"yes": {"A": 6, "B": 7}, "no": {"A": 8, "B": 1}},
}
WORKED_PATIENT = {"site": "S1", "lesions": "1", "bone_only": "yes"}


@pytest.mark.parametrize(
    ("draw", "chosen"), [(0.0, "A"), (0.5, "A"), (0.7999, "A"), (0.8, "B"), (0.9999, "B")], ids=lambda v: str(v)
)
def test_the_spec_worked_example(draw: float, chosen: str) -> None:
    decision = minimise(counts=WORKED_COUNTS, patient_levels=WORKED_PATIENT, p=0.8, draw=draw, tie_draw=0.99)
    assert decision.scores == {"A": 2, "B": 4}
    assert decision.factor_imbalance == {
        "A": {"site": 0, "lesions": 2, "bone_only": 0},
        "B": {"site": 2, "lesions": 0, "bone_only": 2},
    }
    assert decision.level_counts == {
        "site": {"A": 5, "B": 6},
        "lesions": {"A": 7, "B": 6},
        "bone_only": {"A": 6, "B": 7},
    }
    assert decision.preferred_arm == "A" and decision.tied_arms == ("A",)
    assert decision.probabilities == {"A": 0.8, "B": pytest.approx(0.2)}
    assert decision.chosen_arm == chosen
    assert decision.followed_preference is (chosen == "A")
    assert (decision.draw, decision.tie_draw) == (draw, 0.99)


@pytest.mark.parametrize(
    ("tie_draw", "chosen"), [(0.0, "A"), (0.4999, "A"), (0.5, "B"), (0.9999, "B")], ids=lambda v: str(v)
)
def test_a_tie_between_all_arms_is_broken_by_the_tie_draw_alone(tie_draw: float, chosen: str) -> None:
    for draw in (0.0, 0.95):
        decision = minimise(counts={}, patient_levels=WORKED_PATIENT, draw=draw, tie_draw=tie_draw)
        assert decision.tied_arms == ("A", "B") and decision.preferred_arm is None
        assert decision.followed_preference is None
        assert decision.probabilities == {"A": 0.5, "B": 0.5}
        assert decision.chosen_arm == chosen


def test_a_tie_between_some_of_three_arms_picks_the_preferred_arm_by_the_tie_draw() -> None:
    counts = {"site": {"S1": {"A": 1, "B": 1, "C": 2}}}
    patient = {"site": "S1"}
    arms = ("A", "B", "C")
    low = minimise(counts=counts, patient_levels=patient, arms=arms, draw=0.1, tie_draw=0.2)
    high = minimise(counts=counts, patient_levels=patient, arms=arms, draw=0.1, tie_draw=0.7)
    assert low.tied_arms == high.tied_arms == ("A", "B")
    assert (low.preferred_arm, high.preferred_arm) == ("A", "B")
    assert (low.chosen_arm, high.chosen_arm) == ("A", "B")
    # not following: the two other arms share [p, 1) in the order of the arms
    assert minimise(counts=counts, patient_levels=patient, arms=arms, draw=0.85, tie_draw=0.2).chosen_arm == "B"
    assert minimise(counts=counts, patient_levels=patient, arms=arms, draw=0.95, tie_draw=0.2).chosen_arm == "C"
    assert low.probabilities == {"A": 0.8, "B": pytest.approx(0.1), "C": pytest.approx(0.1)}


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.8, 0.999999], ids=lambda v: str(v))
def test_p_one_is_deterministic(draw: float) -> None:
    decision = minimise(counts=WORKED_COUNTS, patient_levels=WORKED_PATIENT, p=1.0, draw=draw, tie_draw=0.5)
    assert decision.chosen_arm == "A" and decision.probabilities == {"A": 1.0, "B": 0.0}


def test_p_may_be_the_trial_settings_decimal() -> None:
    decision = minimise(
        counts=WORKED_COUNTS, patient_levels=WORKED_PATIENT, p=Decimal("0.80"), draw=0.7999, tie_draw=0.5
    )
    assert decision.p == 0.8 and decision.chosen_arm == "A"


def test_weights_can_change_the_preferred_arm() -> None:
    # Unweighted A scores 2 (lesions) and B 4 (site + bone_only); lesions weighted 3 makes A score 6 > B's 4.
    decision = minimise(
        counts=WORKED_COUNTS, patient_levels=WORKED_PATIENT, weights={"lesions": 3}, draw=0.1, tie_draw=0.5
    )
    assert decision.scores == {"A": 6, "B": 4} and decision.chosen_arm == "B"


def test_float_weights_are_exact_so_ties_stay_ties() -> None:
    counts = {"f1": {"x": {"A": 1}}, "f2": {"y": {"A": 1}}, "f3": {"z": {"B": 1}}}
    patient = {"f1": "x", "f2": "y", "f3": "z"}
    # A: 0.1*2 + 0.2*2 + 0.3*0 = 0.6; B: 0.1*0 + 0.2*0 + 0.3*2 = 0.6. In floats 0.1*2 + 0.2*2 != 0.3*2.
    decision = minimise(
        counts=counts, patient_levels=patient, weights={"f1": 0.1, "f2": 0.2, "f3": 0.3}, draw=0.1, tie_draw=0.9
    )
    assert decision.scores == {"A": Fraction(3, 5), "B": Fraction(3, 5)}
    assert decision.preferred_arm is None and decision.chosen_arm == "B"


def test_the_variance_measure() -> None:
    decision = minimise(
        counts=WORKED_COUNTS, patient_levels=WORKED_PATIENT, measure=ImbalanceMeasure.VARIANCE, draw=0.1, tie_draw=0.5
    )
    # variance of two counts is (range / 2)²: A 0 + 1 + 0, B 1 + 0 + 1
    assert decision.scores == {"A": 1, "B": 2} and decision.chosen_arm == "A"


def test_factors_missing_from_the_counts_count_zero() -> None:
    decision = minimise(counts={"site": {}}, patient_levels={"site": "S9", "lesions": "1"}, draw=0.1, tie_draw=0.1)
    assert decision.level_counts == {"site": {"A": 0, "B": 0}, "lesions": {"A": 0, "B": 0}}


def test_the_record_is_json_and_replays_to_the_same_allocation() -> None:
    decision = minimise(counts=WORKED_COUNTS, patient_levels=WORKED_PATIENT, draw=0.83, tie_draw=0.4)
    record = json.loads(json.dumps(decision.as_record()))
    assert record["scores"] == {"A": "2", "B": "4"} and record["preferred_arm"] == "A"
    assert record["chosen_arm"] == "B" and record["algorithm_version"] == "pocock-simon/1"
    replayed = minimise(
        counts={factor: {WORKED_PATIENT[factor]: counts} for factor, counts in record["level_counts"].items()},
        patient_levels=record["patient_levels"],
        arms=record["arms"],
        p=record["p"],
        weights={factor: Fraction(weight) for factor, weight in record["weights"].items()},
        measure=ImbalanceMeasure(record["measure"]),
        draw=record["draw"],
        tie_draw=record["tie_draw"],
    )
    assert replayed == decision


def test_marginal_counts_tally_each_factor_level() -> None:
    history = [({"site": "S1", "lesions": "1"}, "A"), ({"site": "S1", "lesions": "2-5"}, "B"), ({"site": "S2"}, "A")]
    assert marginal_counts(history) == {
        "site": {"S1": {"A": 1, "B": 1}, "S2": {"A": 1}},
        "lesions": {"1": {"A": 1}, "2-5": {"B": 1}},
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"arms": ("A",)}, "at least two distinct arms"),
        ({"arms": ("A", "A")}, "at least two distinct arms"),
        ({"arms": "AB"}, "sequence of codes"),
        ({"patient_levels": {}}, "at least one factor"),
        ({"p": 0.4}, "between 1/2 and 1"),
        ({"p": 1.01}, "between 1/2 and 1"),
        ({"draw": 1.0}, r"draw must be a number in \[0, 1\)"),
        ({"draw": -0.1}, "draw must be"),
        ({"tie_draw": 1.5}, "tie_draw must be"),
        ({"weights": {"colour": 1}}, "no level for"),
        ({"weights": {"site": -1}}, "must not be negative"),
        ({"weights": {"site": float("nan")}}, "must be finite"),
        ({"weights": {"site": "1"}}, "must be a number"),
        ({"counts": {"site": {"S1": {"C": 1}}}}, "unknown arms"),
        ({"counts": {"site": {"S1": {"A": -1}}}}, "non-negative integers"),
    ],
    ids=lambda value: None if isinstance(value, dict) else value,
)
def test_minimise_rejects_bad_input(overrides: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "counts": WORKED_COUNTS,
        "patient_levels": WORKED_PATIENT,
        "draw": 0.5,
        "tie_draw": 0.5,
    } | overrides
    with pytest.raises(ValueError, match=message):
        minimise(**arguments)  # type: ignore[arg-type]


# -- list checks ----------------------------------------------------------------------------------------------------


def _rows(stratum: str, *blocks: tuple[int, str]) -> tuple[AllocationRow, ...]:
    """Rows from (block size, arms) pairs, numbered from 1."""
    rows: list[AllocationRow] = []
    for number, (size, arms) in enumerate(blocks, start=1):
        rows += [AllocationRow(stratum, len(rows) + i + 1, number, size, arm) for i, arm in enumerate(arms)]
    return tuple(rows)


def _list(*rows: AllocationRow, sizes: tuple[int, ...] = (4, 6)) -> AllocationList:
    return AllocationList(GENERATOR_VERSION, ("A", "B"), sizes, rows)


BROKEN_LISTS = {
    "unbalanced-complete-block": (_list(*_rows("s", (4, "ABBA"), (4, "AABA"))), {ListCheck.BLOCK_BALANCE}),
    "unknown-arm": (_list(*_rows("s", (4, "ABBC"))), {ListCheck.STRUCTURE, ListCheck.BLOCK_BALANCE}),
    "size-not-allowed": (_list(*_rows("s", (8, "AABBABAB"))), {ListCheck.BLOCK_SIZE}),
    "allowed-size-not-a-multiple": (_list(*_rows("s", (4, "ABAB")), sizes=(4, 5)), {ListCheck.BLOCK_SIZE}),
    "incomplete-block-in-the-middle": (_list(*_rows("s", (4, "AB"), (4, "ABBA"))), {ListCheck.STRUCTURE}),
    "block-longer-than-its-size": (_list(*_rows("s", (4, "ABBAAB"))), {ListCheck.STRUCTURE}),
    "sequence-gap": (
        _list(*(dataclasses.replace(r, sequence=r.sequence + (r.sequence > 2)) for r in _rows("s", (4, "ABBA")))),
        {ListCheck.STRUCTURE},
    ),
    "block-numbers-skip": (
        _list(*(dataclasses.replace(r, block=r.block * 2) for r in _rows("s", (4, "ABBA"), (4, "BAAB")))),
        {ListCheck.STRUCTURE},
    ),
    "two-sizes-in-one-block": (
        _list(*(dataclasses.replace(r, block_size=6 if r.sequence == 4 else 4) for r in _rows("s", (4, "ABBA")))),
        {ListCheck.STRUCTURE},
    ),
    "running-imbalance-beyond-half-the-largest-block": (
        _list(*_rows("s", (6, "AAABBB")), sizes=(4,)),
        {ListCheck.BLOCK_SIZE, ListCheck.RUNNING_IMBALANCE},
    ),
}


@pytest.mark.parametrize(("allocation_list", "expected"), BROKEN_LISTS.values(), ids=BROKEN_LISTS.keys())
def test_the_list_checks_find_broken_lists(allocation_list: AllocationList, expected: set[ListCheck]) -> None:
    findings = check_allocation_list(allocation_list)
    assert {finding.check for finding in findings} == expected
    assert all(
        finding.severity is FindingSeverity.ERROR and finding.stratum == "s" for finding in findings if finding.stratum
    )


def test_an_incomplete_last_block_is_allowed_and_a_good_list_passes() -> None:
    assert check_allocation_list(_list(*_rows("s", (4, "ABBA"), (6, "BAABBA"), (4, "AB")))) == ()
    truncated = generate(rows_per_stratum=30)
    truncated = dataclasses.replace(truncated, rows=tuple(r for r in truncated.rows if r.sequence <= 19))
    assert check_allocation_list(truncated) == ()


def test_the_finding_names_the_stratum_and_block() -> None:
    (finding,) = check_allocation_list(_list(*_rows("serd|1", (4, "ABBA"), (6, "AABABA"))))
    assert (finding.check, finding.stratum, finding.block) == (ListCheck.BLOCK_BALANCE, "serd|1", 2)
    assert "AABABA" in finding.message


def test_a_biased_order_or_size_is_flagged_as_a_warning() -> None:
    always_aabb = _list(*(row for s in range(40) for row in _rows(f"s{s}", (4, "AABB"), (4, "AABB"))))
    findings = check_allocation_list(always_aabb)
    assert {f.check for f in findings} == {ListCheck.BLOCK_SIZE_FREQUENCY, ListCheck.PERMUTATION_UNIFORMITY}
    assert all(f.severity is FindingSeverity.WARNING for f in findings)


def test_goodness_of_fit_on_too_few_blocks_is_not_reliable_and_raises_nothing() -> None:
    few = _list(*_rows("s", (4, "AABB"), (4, "AABB"), (4, "AABB")))
    assert not permutation_frequencies(few, 4).reliable
    assert permutation_frequencies(few, 4).observed == (3, 0, 0, 0, 0, 0)
    assert check_allocation_list(few) == ()


@pytest.mark.parametrize(
    ("arms", "size", "orders"),
    [(("A", "B"), 2, 2), (("A", "B"), 4, 6), (("A", "B"), 6, 20), (("A", "B"), 8, 70), (("A", "B", "C"), 6, 90)],
    ids=["2", "4", "6", "8", "3-arms-6"],
)
def test_every_distinct_order_is_a_category(arms: tuple[str, ...], size: int, orders: int) -> None:
    empty = AllocationList(GENERATOR_VERSION, arms, (size,), ())
    categories = permutation_frequencies(empty, size).categories
    assert len(categories) == len(set(categories)) == orders
    assert block_size_frequencies(empty).p_value == 1.0
