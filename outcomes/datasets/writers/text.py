"""CSV and JSON, written as the rows arrive: a few tens of kilobytes in memory whatever the size of the trial.

CSV (RFC 4180: UTF-8 without a byte-order mark, comma separated, ``\\r\\n`` line ends, quotes only where needed): one
header row of variable names, then one row per record. Dates are ISO 8601 (``2026-03-01``), datetimes ISO 8601 in
UTC (``2026-03-01T10:15:00Z``), booleans ``1``/``0`` (as in the SAS and Stata files), missing values empty. The
labels are not in the CSV (a second header row breaks every CSV reader): they are in the JSON, XLSX, SAS and Stata
files, in the data dictionary and in a data cut's ``manifest.json``. Free text stays as entered, even when it starts
with ``=``, ``+``, ``-`` or ``@``: these files feed SAS, R and Stata, where the usual quote prefix against spreadsheet
formula ("CSV") injection would change the data. A spreadsheet should open them through its import dialog; the XLSX
export is the one for spreadsheets, and it writes such text as text, never as a formula.

JSON: one document, the dataset's metadata first so a streaming reader knows the variables before the rows::

    {"name": "ADTTE", "label": "...", "structure": "...", "keys": [...],
     "variables": [{"name": "USUBJID", "label": "Unique Subject Identifier", "kind": "text", ...}, ...],
     "rows": [
    {"STUDYID": "avatar2", "USUBJID": "AVT2-NL01-0001", "AVAL": 245, "ADT": "2026-03-01", ...},
    ...
    ]}

Each row is an object keyed by variable name, on its own line; dates as in the CSV; booleans ``true``/``false``;
missing values ``null``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from ..base import Dataset, Kind, Row
from .values import Convert, batches, iso, nan_to_none, row_converter

#: bytes gathered before a chunk is handed on (a streaming response sends each chunk as it comes)
CHUNK_BYTES = 64 * 1024
BATCH_ROWS = 1000


def _csv_converters(dataset: Dataset) -> list[Convert | None]:
    converters: list[Convert | None] = []
    for variable in dataset.variables:
        if variable.kind == Kind.BOOLEAN:
            converters.append(int)
        elif variable.kind == Kind.DATETIME:
            converters.append(iso)
        else:  # text, numbers and dates are what ``str`` makes of them (``date.__str__`` is ISO 8601)
            converters.append(None)
    return converters


def write_csv(dataset: Dataset, rows: Iterable[Row]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(dataset.names)
    convert = row_converter(_csv_converters(dataset))
    for batch in batches(rows, BATCH_ROWS):
        writer.writerows(batch if convert is None else map(convert, batch))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def dataset_metadata(dataset: Dataset) -> dict[str, Any]:
    """The dataset and its variables, as the JSON export, the dataset list of the API and ``manifest.json`` give it."""
    return {
        "name": dataset.name,
        "label": dataset.label,
        "structure": dataset.structure,
        "keys": list(dataset.keys),
        "variables": [
            {
                "name": variable.name,
                "label": variable.label,
                "kind": str(variable.kind),
                "length": variable.length,
                "unit": variable.unit,
                "allowed": list(variable.allowed),
                "source": variable.source,
                "description": variable.description,
            }
            for variable in dataset.variables
        ],
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return iso(value)
    raise TypeError(f"{type(value).__name__} is not a dataset value")


def write_json(dataset: Dataset, rows: Iterable[Row]) -> Iterator[bytes]:
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default).encode
    head = encode(dataset_metadata(dataset))
    names = dataset.names
    floats = [index for index, variable in enumerate(dataset.variables) if variable.kind == Kind.FLOAT]
    convert = row_converter([nan_to_none if index in floats else None for index in range(len(names))])
    buffer = io.StringIO()
    buffer.write(head[:-1] + ',"rows":[')
    first = True
    for batch in batches(rows, BATCH_ROWS):
        for row in batch if convert is None else map(convert, batch):
            buffer.write("\n" if first else ",\n")
            buffer.write(encode(dict(zip(names, row, strict=True))))
            first = False
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    buffer.write("\n]}\n")
    yield buffer.getvalue().encode()
