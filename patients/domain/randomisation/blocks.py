"""Stratified permuted blocks with random block sizes: list generation and its commitment (clinical-spec §6.1-6.2).

The trial statistician generates one list per stratum before the first patient, from a secret seed, and the EDC
stores it out of site users' sight; each randomisation takes the next unused row of the patient's stratum
(clinical-spec §6.3). Random block sizes hide where a block ends, which limits selection bias (ICH E9 §2.3.2:
"the use of two or more block lengths, randomly selected for each block"); they do not remove predictability under
the convergence strategy (Blackwell & Hodges 1957; Rosenberger & Lachin, *Randomization in Clinical Trials*, 2nd ed.,
Wiley 2016, on permuted blocks and selection bias).

Generator ``GENERATOR_VERSION`` ("permuted-blocks/sha256-mt19937/1"), exactly, so that anyone can reproduce a list:

1. Per stratum, ``key = SHA-256(UTF-8(seed + "\\n" + stratum))`` (FIPS 180-4), read as a big-endian 256-bit integer.
2. ``rng = random.Random(key)``: CPython seeds its Mersenne Twister (MT19937, Matsumoto & Nishimura 1998) with the
   reference ``init_by_array`` over the integer's 32-bit words, least significant word first, as many words as the
   integer needs (eight unless the digest's first four bytes are zero). Each uniform ``u`` is
   ``rng.random()`` (the reference ``genrand_res53``), the one output CPython guarantees to keep reproducible
   across versions; ``choice``/``shuffle`` are deliberately not used.
3. A uniform index below ``n`` is ``(k * n) >> 53`` with ``k = u * 2**53`` (an exact integer): integer arithmetic,
   no float rounding.
4. Blocks are drawn one after the other until the stratum has at least ``rows_per_stratum`` rows. For each block:
   its size is ``sizes[index(len(sizes))]`` with ``sizes`` the allowed sizes sorted ascending; its arms start as
   each arm in the given order repeated ``size / len(arms)`` times (``A A B B`` for a 4-block) and are shuffled by
   Fisher-Yates (Durstenfeld 1964): for ``i`` from ``size - 1`` down to 1, swap positions ``i`` and ``index(i + 1)``.
   The last block is kept whole, so every block of a generated list is complete and balanced.
5. Rows are numbered 1..n per stratum (``sequence``) and blocks 1..m per stratum.

Every block size and every order of the arms within a block is equally likely (up to the 2**-53 granularity of
``u``).

Commitment (``list_commitment``): the SHA-256, as lowercase hex, of the UTF-8 bytes of this text, every line ending
in ``"\\n"`` and fields separated by one tab::

    allocation-list/1
    generator<TAB><generator_version>
    arms<TAB><arm 1><TAB><arm 2>...          (in the list's order)
    block_sizes<TAB><size 1><TAB>...          (ascending, decimal)
    <stratum><TAB><sequence><TAB><block><TAB><block_size><TAB><arm>     (one line per row)

Rows are sorted by stratum (Unicode code point order) then by sequence (numeric). Integers are plain decimal without
leading zeros. Codes may not contain a tab, a carriage return or a line feed, so the text parses back unambiguously.
Whoever holds the list (the statistician, an auditor, the DMC) can recompute the digest and show that the list the
EDC allocated from is the list that was approved.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "COMMITMENT_FORMAT",
    "GENERATOR_VERSION",
    "MINIMUM_SEED_LENGTH",
    "AllocationList",
    "AllocationRow",
    "canonical_serialisation",
    "generate_block_list",
    "list_commitment",
    "recommended_rows",
    "verify_commitment",
]

GENERATOR_VERSION: Final = "permuted-blocks/sha256-mt19937/1"
"""The generator described in the module docstring. A change to any step needs a new version."""

COMMITMENT_FORMAT: Final = "allocation-list/1"
"""First line of the canonical serialisation."""

MINIMUM_SEED_LENGTH: Final = 16
"""A seed guessed is every allocation revealed (and the commitment lets a guess be checked offline), so the seed must
carry real entropy: use ``secrets.token_hex(16)`` or longer. Sixteen characters is the floor enforced here."""

LIST_MARGIN: Final = 1.2
"""REDCap guidance: the allocation table should be at least 20 % larger than the sample size."""

_FORBIDDEN_IN_CODES: Final = frozenset("\t\r\n")
_RES53: Final = 2**53


@dataclass(frozen=True, slots=True)
class AllocationRow:
    """One row of a stratum's list: the ``sequence``-th allocation of ``stratum`` goes to ``arm``.

    ``block`` numbers the blocks of the stratum from 1; ``block_size`` is the size drawn for that block.
    """

    stratum: str
    sequence: int
    block: int
    block_size: int
    arm: str


@dataclass(frozen=True, slots=True)
class AllocationList:
    """A stratified permuted-block list, generated here or loaded from storage (the seed is never part of it).

    The constructor does not check the block rules, so a stored list that breaks them can still be loaded and
    examined with ``checks.check_allocation_list``.
    """

    generator_version: str
    arms: tuple[str, ...]
    block_sizes: tuple[int, ...]
    rows: tuple[AllocationRow, ...]

    @property
    def strata(self) -> tuple[str, ...]:
        """The strata in order of first appearance."""
        return tuple(dict.fromkeys(row.stratum for row in self.rows))

    def rows_for(self, stratum: str) -> tuple[AllocationRow, ...]:
        """The rows of one stratum in ``sequence`` order."""
        return self.by_stratum().get(stratum, ())

    def by_stratum(self) -> dict[str, tuple[AllocationRow, ...]]:
        """Every stratum's rows in ``sequence`` order, strata in order of first appearance (one pass)."""
        grouped: dict[str, list[AllocationRow]] = {}
        for row in self.rows:
            grouped.setdefault(row.stratum, []).append(row)
        return {stratum: tuple(sorted(rows, key=lambda row: row.sequence)) for stratum, rows in grouped.items()}


def _check_code(kind: str, code: str) -> None:
    if not isinstance(code, str) or not code:
        raise ValueError(f"Each {kind} must be a non-empty string, got {code!r}.")
    if _FORBIDDEN_IN_CODES & set(code):
        raise ValueError(f"The {kind} {code!r} contains a tab or line break, which the list serialisation forbids.")


def _check_codes(kind: str, codes: Sequence[str], *, minimum: int) -> tuple[str, ...]:
    if isinstance(codes, str):
        raise ValueError(f"Give the {kind}s as a sequence of codes, not the single string {codes!r}.")
    codes = tuple(codes)
    for code in codes:
        _check_code(kind, code)
    if len(codes) < minimum:
        raise ValueError(f"At least {minimum} {kind}(s) needed, got {len(codes)}.")
    if len(set(codes)) != len(codes):
        raise ValueError(f"The {kind}s must be distinct, got {list(codes)}.")
    return codes


def _check_block_sizes(block_sizes: Sequence[int], arm_count: int) -> tuple[int, ...]:
    sizes = tuple(block_sizes)
    if not sizes:
        raise ValueError("At least one block size is needed.")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0 or size % arm_count:
            raise ValueError(
                f"Block sizes must be positive multiples of the number of arms ({arm_count}), got {size!r}."
            )
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"Block sizes must be distinct, got {list(sizes)}.")
    return tuple(sorted(sizes))


def _stratum_generator(seed: str, stratum: str) -> random.Random:
    """Step 1-2 of the generator: the per-stratum Mersenne Twister."""
    key = hashlib.sha256(f"{seed}\n{stratum}".encode()).digest()
    return random.Random(int.from_bytes(key, "big"))  # reproducible by design: the secret is the seed, not the RNG


def _uniform_index(rng: random.Random, n: int) -> int:
    """Step 3 of the generator: an integer uniform on 0..n-1 from one ``random()`` output, in exact arithmetic."""
    k = int(rng.random() * _RES53)  # random() is k / 2**53 exactly, so this recovers k without rounding
    return (k * n) >> 53


def _stratum_blocks(
    rng: random.Random, stratum: str, arms: tuple[str, ...], sizes: tuple[int, ...], rows_wanted: int
) -> Iterator[AllocationRow]:
    """Step 4-5 of the generator: whole blocks until at least ``rows_wanted`` rows."""
    sequence = 0
    block_number = 0
    while sequence < rows_wanted:
        block_number += 1
        size = sizes[_uniform_index(rng, len(sizes))]
        block = [arm for arm in arms for _ in range(size // len(arms))]
        for i in range(size - 1, 0, -1):
            j = _uniform_index(rng, i + 1)
            block[i], block[j] = block[j], block[i]
        for arm in block:
            sequence += 1
            yield AllocationRow(stratum=stratum, sequence=sequence, block=block_number, block_size=size, arm=arm)


def generate_block_list(
    *,
    seed: str,
    strata: Sequence[str],
    arms: Sequence[str] = ("A", "B"),
    block_sizes: Sequence[int] = (4, 6),
    rows_per_stratum: int,
) -> AllocationList:
    """Generate a stratified permuted-block list with block sizes drawn at random (see the module docstring).

    Deterministic: the same seed, strata, arms, block sizes and ``rows_per_stratum`` give the same list, and a
    stratum's rows depend only on the seed, that stratum's code, the arms and the sizes (adding a stratum leaves the
    others unchanged). Each stratum gets at least ``rows_per_stratum`` rows (whole blocks; see
    ``recommended_rows``). Equal allocation between the arms within every block (ICH E9 §2.3.2; Rosenberger &
    Lachin 2016, random permuted blocks).

    Raises ``ValueError`` for a seed shorter than ``MINIMUM_SEED_LENGTH`` or containing a line feed, fewer than two
    arms, block sizes that are not positive multiples of the number of arms, repeated codes, or
    ``rows_per_stratum`` < 1.
    """
    if not isinstance(seed, str) or len(seed) < MINIMUM_SEED_LENGTH:
        raise ValueError(
            f"The seed must be a secret string of at least {MINIMUM_SEED_LENGTH} characters "
            "(e.g. secrets.token_hex(16))."
        )
    if "\n" in seed:
        raise ValueError("The seed may not contain a line feed (it separates seed and stratum in the key).")
    strata_codes = _check_codes("stratum", strata, minimum=1)
    arm_codes = _check_codes("arm", arms, minimum=2)
    sizes = _check_block_sizes(block_sizes, len(arm_codes))
    if isinstance(rows_per_stratum, bool) or not isinstance(rows_per_stratum, int) or rows_per_stratum < 1:
        raise ValueError(f"rows_per_stratum must be a positive integer, got {rows_per_stratum!r}.")
    rows = tuple(
        row
        for stratum in strata_codes
        for row in _stratum_blocks(_stratum_generator(seed, stratum), stratum, arm_codes, sizes, rows_per_stratum)
    )
    return AllocationList(generator_version=GENERATOR_VERSION, arms=arm_codes, block_sizes=sizes, rows=rows)


def recommended_rows(sample_size: int, strata_count: int) -> int:
    """Rows to generate per stratum: ``ceil(1.2 * sample_size)``, whatever the number of strata.

    REDCap's guidance is a table at least 20 % larger than the sample size. Stratum sizes are not known in advance
    (one endocrine partner or lesion count may dominate recruitment), and a stratum whose list runs out stops
    randomisation, so each stratum gets room for the whole trial plus the margin; unused rows cost nothing and stay
    concealed. The whole table is then ``strata_count`` times this. ``strata_count`` is validated (≥ 1) so a
    caller's design error shows here.
    """
    for name, value in (("sample_size", sample_size), ("strata_count", strata_count)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return -(-sample_size * 6 // 5)  # ceil(1.2 n) in integers: no float rounding at exact multiples


def canonical_serialisation(allocation_list: AllocationList) -> str:
    """The text ``list_commitment`` hashes (format in the module docstring)."""
    _check_codes("arm", allocation_list.arms, minimum=1)
    lines = [
        COMMITMENT_FORMAT,
        f"generator\t{allocation_list.generator_version}",
        "\t".join(("arms", *allocation_list.arms)),
        "\t".join(("block_sizes", *(str(size) for size in sorted(allocation_list.block_sizes)))),
    ]
    _check_code("generator version", allocation_list.generator_version)
    for row in sorted(allocation_list.rows, key=lambda row: (row.stratum, row.sequence)):
        _check_code("stratum", row.stratum)
        _check_code("arm", row.arm)
        lines.append(f"{row.stratum}\t{row.sequence:d}\t{row.block:d}\t{row.block_size:d}\t{row.arm}")
    return "".join(f"{line}\n" for line in lines)


def list_commitment(allocation_list: AllocationList) -> str:
    """SHA-256 (lowercase hex) of the list's canonical serialisation: a commitment to every row and its header."""
    return hashlib.sha256(canonical_serialisation(allocation_list).encode()).hexdigest()


def verify_commitment(allocation_list: AllocationList, digest: str) -> bool:
    """Whether ``digest`` is this list's commitment (hex, case-insensitive; compared in constant time)."""
    if not isinstance(digest, str) or not digest.isascii():
        return False
    return hmac.compare_digest(list_commitment(allocation_list), digest.strip().lower())
