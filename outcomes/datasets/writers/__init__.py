"""Writers: any ``Dataset`` (``outcomes/datasets/base.py``) as CSV, JSON, XLSX, SAS transport or Stata, without
holding it in memory.

Each format is one module: ``text.py`` (CSV, JSON), ``xlsx.py``, ``xpt.py`` (SAS V5 transport), ``stata.py``
(Stata 118). CSV, JSON and XPT are generators of byte chunks (``stream``): a web response sends each chunk as the
rows are read. XLSX (a zip archive) and Stata (its header holds the row count, known only at the end) are written
to a seekable file (``write_to``), which the response then streams. Every format carries the variable labels except
CSV (see ``text.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from ..base import Dataset, Row
from .stata import write_dta
from .text import dataset_metadata, write_csv, write_json
from .xlsx import write_xlsx
from .xpt import write_xpt

__all__ = [
    "FORMATS",
    "Format",
    "RowCounter",
    "dataset_metadata",
    "stream",
    "write_csv",
    "write_dta",
    "write_json",
    "write_to",
    "write_xlsx",
    "write_xpt",
]


@dataclass(frozen=True)
class Format:
    code: str  # the file extension too
    label: str
    content_type: str
    #: the bytes come out as the rows are read (``stream``); otherwise written to a seekable file first
    streams: bool
    chunks: Callable[..., Iterator[bytes]] | None = None  # (dataset, rows, *, created) -> chunks
    to_file: Callable[..., None] | None = None  # (dataset, rows, file, *, created) -> None


def _csv(dataset: Dataset, rows: Iterable[Row], *, created: datetime | None = None) -> Iterator[bytes]:
    return write_csv(dataset, rows)


def _json(dataset: Dataset, rows: Iterable[Row], *, created: datetime | None = None) -> Iterator[bytes]:
    return write_json(dataset, rows)


FORMATS: dict[str, Format] = {
    "csv": Format("csv", "CSV", "text/csv; charset=utf-8", True, chunks=_csv),
    "json": Format("json", "JSON", "application/json", True, chunks=_json),
    "xlsx": Format(
        "xlsx",
        "Excel workbook",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        False,
        to_file=write_xlsx,
    ),
    "xpt": Format("xpt", "SAS transport (V5)", "application/x-sas-xport", True, chunks=write_xpt),
    "dta": Format("dta", "Stata (118)", "application/x-stata-dta", False, to_file=write_dta),
}


class RowCounter:
    """Passes rows through and counts them (the count a data cut records for each file)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self._rows = iter(rows)
        self.count = 0

    def __iter__(self) -> Iterator[Row]:
        for row in self._rows:
            self.count += 1
            yield row


def stream(code: str, dataset: Dataset, rows: Iterable[Row], *, created: datetime | None = None) -> Iterator[bytes]:
    """The file as chunks of bytes, produced as ``rows`` are consumed (CSV, JSON and XPT only)."""
    chunks = FORMATS[code].chunks
    if chunks is None:
        raise ValueError(f"{code} files are written to a seekable file, not streamed")
    return chunks(dataset, rows, created=created)


def write_to(
    code: str, dataset: Dataset, rows: Iterable[Row], file: IO[bytes], *, created: datetime | None = None
) -> None:
    """Write the file to ``file`` (binary; seekable for XLSX and Stata)."""
    fmt = FORMATS[code]
    if fmt.to_file is not None:
        fmt.to_file(dataset, rows, file, created=created)
        return
    for chunk in stream(code, dataset, rows, created=created):
        file.write(chunk)
