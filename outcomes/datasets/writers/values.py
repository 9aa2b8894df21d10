"""What every writer does to a value before it writes it: the column conversions shared by the formats.

Rows come from ``Dataset.rows`` as tuples of ``str``, ``int``, ``float``, ``date``, ``datetime``, ``bool`` or
``None`` (``outcomes/datasets/base.py``); ``None`` is missing. A float NaN is not a dataset value: JSON (which cannot
hold one), Excel, SAS and Stata write it as missing; CSV writes what ``str`` makes of it (``nan``), because checking
every float of every row would cost the CSV export a tenth of its speed.
Time-zone aware datetimes are written in UTC (the EDC stores UTC; SAS, Stata and Excel have no time zones).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from ..base import Dataset, Kind, Row

Convert = Callable[[Any], Any]

#: the width a text variable gets when the dataset declares none (SAS V5 transport's limit)
DEFAULT_TEXT_LENGTH = 200


def batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """``rows`` in lists of ``size``: the writers work a batch at a time, never on the whole dataset."""
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def utc_naive(value: datetime) -> datetime:
    """A datetime in UTC without its zone (formats without zones); a naive one is taken as UTC already."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def text_length(dataset: Dataset, index: int) -> int:
    length = dataset.variables[index].length
    return max(1, length or DEFAULT_TEXT_LENGTH)


def row_converter(converters: list[Convert | None]) -> Callable[[Row], Row] | None:
    """One function applying each column's conversion, or None when no column needs one (rows pass untouched)."""
    if not any(converters):
        return None
    steps = [(index, convert) for index, convert in enumerate(converters) if convert is not None]

    def convert_row(row: Row) -> Row:
        values = list(row)
        for index, convert in steps:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        return tuple(values)

    return convert_row


def iso(value: date | datetime) -> str:
    """ISO 8601: ``2026-03-01``, or ``2026-03-01T10:15:00Z`` for a datetime (in UTC)."""
    if isinstance(value, datetime):
        return utc_naive(value).isoformat() + "Z"
    return value.isoformat()


def nan_to_none(value: float) -> float | None:
    return None if isinstance(value, float) and math.isnan(value) else value


def kinds(dataset: Dataset) -> list[Kind]:
    return [variable.kind for variable in dataset.variables]
