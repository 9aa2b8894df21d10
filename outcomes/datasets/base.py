"""What an analysis dataset is: its variables (with the metadata CDISC Define-XML and the data dictionary need) and a
streaming source of rows. Builders (``adsl.py``, ``adtte.py``, ...) declare one ``Dataset`` each; writers
(``writers.py``) turn any dataset into CSV, JSON, XLSX, SAS transport or Stata without holding it in memory.

Contract between the two sides:
- ``Dataset.rows(trial=..., user=...)`` yields one tuple per row, values in ``variables`` order, lazily (database
  reads in chunks via ``.iterator(chunk_size=...)`` or ``fetch_rows``), never a whole-trial list.
- Values are Python ``str``, ``int``, ``float``, ``datetime.date``, ``datetime.datetime``, ``bool`` or ``None``,
  matching the variable's ``kind``.
- Variable names follow SAS V5 transport limits (at most 8 characters, upper case, starting with a letter); labels
  at most 40 characters; text lengths at most 200.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"  # written as 0/1 integers in XPT and Stata (ADaM flags are "Y"/"" text: use TEXT for those)


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    kind: Kind
    length: int | None = None  # text: the longest value allowed (XPT/Stata column width)
    unit: str = ""  # e.g. "days", "mm", "Gy"
    allowed: tuple[str, ...] = ()  # the code list, when the values are controlled
    source: str = ""  # where it comes from: "CRF Demographics (patients.demographics.ecog)" or "Derived: ..."
    description: str = ""


Row = tuple[Any, ...]


@dataclass(frozen=True)
class Dataset:
    name: str  # "ADSL"
    label: str  # "Subject-Level Analysis Dataset"
    structure: str  # "One record per subject"
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]
    rows: Callable[..., Iterator[Row]]  # rows(*, trial, user) -> Iterator[Row]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(variable.name for variable in self.variables)
