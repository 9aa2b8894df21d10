"""The hash chain over the audit trail: canonical payloads, SHA-256 links and the walk that checks them. Pure.

Every history row (django-simple-history) gets one chain entry. The entry holds the SHA-256 of the row's canonical
JSON (``payload_hash``) and the previous entry's hash; its own hash is ``SHA-256(previous_hash + payload_hash +
sequence)``. Changing, removing or inserting a history row, or changing an entry, breaks either a payload hash or a
link, which the verification reports (21 CFR 11.10(e): audit trails that cannot be altered undetected; EMA
"Guideline on computerised systems and electronic data in clinical trials" (2023) §6.3 and Annex 2; the chain is
the construction of Haber & Stornetta, "How to time-stamp a digital document", J. Cryptology 3 (1991)).

A database owner who rewrites rows *and* recomputes every later link and the head is not caught by the chain alone:
the head hash that ``manage.py audit_verify`` prints is meant to be written down outside the database (a signed
report, a ticket) so such a rewrite shows up against it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

#: The link before the first entry.
GENESIS_HASH = "0" * 64


def canonical_value(value: Any) -> Any:
    """A JSON-able value whose serialisation does not depend on the database or the Python version.

    Datetimes become ISO 8601 in UTC with microseconds, decimals their exact string (the column's scale is fixed, so
    PostgreSQL and SQLite return the same digits), bytes hex, mappings sorted by key; floats keep their repr.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(key): canonical_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_value(item) for item in value]
    return str(value)


def canonical_json(model_label: str, values: Mapping[str, Any]) -> str:
    """The history row as one line of JSON: its model and its field values, keys sorted, no spaces."""
    document = {"model": model_label, "fields": {name: canonical_value(values[name]) for name in sorted(values)}}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def payload_hash(model_label: str, values: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(model_label, values).encode("utf-8")).hexdigest()


def entry_hash(previous_hash: str, payload: str, sequence: int) -> str:
    return hashlib.sha256(f"{previous_hash}{payload}{sequence}".encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Link:
    """One chain entry, as far as the links are concerned."""

    sequence: int
    previous_hash: str
    payload_hash: str
    entry_hash: str


def seal(*, head_sequence: int, head_hash: str, payloads: Sequence[str]) -> list[Link]:
    """Chain ``payloads`` (payload hashes, in chain order) after the head."""
    sealed: list[Link] = []
    previous, sequence = head_hash, head_sequence
    for payload in payloads:
        sequence += 1
        current = entry_hash(previous, payload, sequence)
        sealed.append(Link(sequence, previous, payload, current))
        previous = current
    return sealed


class BreakKind(StrEnum):
    """What a verification can find. Each names a kind of tampering (or a lost write) in plain words."""

    ROW_ALTERED = "row_altered"  # the history row differs from what was sealed
    ROW_DELETED = "row_deleted"  # a sealed history row is gone
    NOT_IN_CHAIN = "not_in_chain"  # a history row nobody sealed: written around the application
    ENTRY_ALTERED = "entry_altered"  # a chain entry's own hash does not match its content
    LINK_BROKEN = "link_broken"  # an entry does not point at the entry before it
    ENTRIES_MISSING = "entries_missing"  # a gap in the sequence numbers
    HEAD_MISMATCH = "head_mismatch"  # the chain's last entry is not the recorded head (tail cut off)
    UNSEALED_OVERDUE = "unsealed_overdue"  # a warning: written by the application but not sealed in time


#: Kinds that are warnings, not breaks: the data is intact, the sealing is late.
WARNINGS = frozenset({BreakKind.UNSEALED_OVERDUE})


@dataclass(frozen=True)
class LinkProblem:
    kind: BreakKind
    sequence: int
    detail: str


def check_links(links: Iterable[Link], *, start_sequence: int = 0, start_hash: str = GENESIS_HASH) -> list[LinkProblem]:
    """Walk entries in sequence order: each must follow the one before and hash to its stored hash.

    After a problem the walk goes on from the stored values, so one altered entry is reported once, not as a break
    of everything after it.
    """
    problems: list[LinkProblem] = []
    expected_sequence, expected_previous = start_sequence + 1, start_hash
    for link in links:
        if link.sequence != expected_sequence:
            problems.append(
                LinkProblem(
                    BreakKind.ENTRIES_MISSING,
                    link.sequence,
                    f"entries {expected_sequence}–{link.sequence - 1} are missing"
                    if link.sequence > expected_sequence
                    else f"sequence {link.sequence} out of order (expected {expected_sequence})",
                )
            )
        elif link.previous_hash != expected_previous:
            problems.append(LinkProblem(BreakKind.LINK_BROKEN, link.sequence, "does not point at the entry before it"))
        if entry_hash(link.previous_hash, link.payload_hash, link.sequence) != link.entry_hash:
            problems.append(LinkProblem(BreakKind.ENTRY_ALTERED, link.sequence, "the entry's hash does not match"))
        expected_sequence, expected_previous = link.sequence + 1, link.entry_hash
    return problems


@dataclass(frozen=True)
class ChainProblem:
    """One finding of a verification, located as precisely as the kind allows."""

    kind: BreakKind
    detail: str
    history_model: str = ""
    history_id: int | None = None
    sequence: int | None = None

    @property
    def is_break(self) -> bool:
        return self.kind not in WARNINGS

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "detail": self.detail,
            "history_model": self.history_model,
            "history_id": self.history_id,
            "sequence": self.sequence,
        }


@dataclass(frozen=True)
class ChainReport:
    entries_checked: int
    rows_checked: int
    pending: int
    head_sequence: int
    head_hash: str
    break_count: int
    warning_count: int
    problems: tuple[ChainProblem, ...]  # the first ones found (the counts cover all)

    @property
    def ok(self) -> bool:
        return self.break_count == 0
