"""Excel workbooks (XLSX) written with openpyxl's write-only mode, which spools each sheet's XML to a temporary file
as rows are appended: memory stays flat however many rows there are.

The first sheet, named after the dataset, holds the data: a header row of variable names, then the rows. Dates are
Excel dates (shown ``yyyy-mm-dd``), datetimes Excel datetimes in UTC, booleans Excel's TRUE/FALSE, missing values
empty cells. A sheet holds at most 1,048,576 rows (Excel's limit): a larger dataset continues on sheets
``<NAME> (2)``, ``<NAME> (3)``, ... each with the header again. The ``Variables`` sheet lists every variable with
its label, kind, length, unit, allowed values, source and description; the workbook's title is the dataset's
label.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from ..base import Dataset, Kind, Row
from .values import Convert, batches, nan_to_none, row_converter, utc_naive

#: Excel's rows per sheet, the header included
MAX_SHEET_ROWS = 1_048_576


def _text_converter(sheet: WriteOnlyWorksheet) -> Convert:
    def clean_text(value: Any) -> Any:
        """Excel refuses control characters in cells: they are dropped (they carry no clinical meaning). openpyxl
        writes a string starting with "=" as a formula: such a text (free text typed at a site, e.g. an adverse
        event's "other, specify") is written as the text it is, never a live formula (OWASP "CSV injection")."""
        if not isinstance(value, str):
            return value
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"
            return cell
        return value

    return clean_text


def _converters(dataset: Dataset, sheet: WriteOnlyWorksheet) -> list[Convert | None]:
    found: list[Convert | None] = []
    for variable in dataset.variables:
        if variable.kind == Kind.TEXT:
            found.append(_text_converter(sheet))
        elif variable.kind == Kind.DATETIME:
            found.append(utc_naive)
        elif variable.kind == Kind.FLOAT:
            found.append(nan_to_none)
        else:
            found.append(None)
    return found


def write_xlsx(dataset: Dataset, rows: Iterable[Row], file: IO[bytes], *, created: datetime | None = None) -> None:
    workbook = Workbook(write_only=True)
    workbook.properties.title = f"{dataset.name}: {dataset.label}"[:255]
    workbook.properties.creator = "COSMO / AVATAR II EDC"
    if created is not None:
        workbook.properties.created = workbook.properties.modified = utc_naive(created)
    sheets = 1
    sheet = workbook.create_sheet(dataset.name)
    convert = row_converter(_converters(dataset, sheet))  # the cell's sheet is only its label: one serves all
    sheet.append(list(dataset.names))
    used = 1
    for batch in batches(rows, 1000):
        for row in batch if convert is None else map(convert, batch):
            if used == MAX_SHEET_ROWS:
                sheets += 1
                sheet = workbook.create_sheet(f"{dataset.name} ({sheets})")
                sheet.append(list(dataset.names))
                used = 1
            sheet.append(row)
            used += 1
    variables = workbook.create_sheet("Variables")
    variables.append(["Variable", "Label", "Kind", "Length", "Unit", "Allowed values", "Source", "Description"])
    for variable in dataset.variables:
        variables.append(
            [
                variable.name,
                variable.label,
                str(variable.kind),
                variable.length,
                variable.unit,
                " | ".join(variable.allowed),
                variable.source,
                variable.description,
            ]
        )
    workbook.save(file)
