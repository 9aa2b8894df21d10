"""The CTCAE v5.0 lookup table: read NCI's term list (CSV or workbook) and upsert it into ``CtcaeTerm``.

Two inputs are accepted (clinical-spec §5.1–5.2):

* a CSV with the columns ``soc,term,grade_1,…,grade_5,definition`` (the project's ``ctcae_v5.csv``: UTF-8, RFC 4180
  quoting, cells may hold line breaks, so it is read with the ``csv`` module, never line by line);
* NCI's own ``CTCAE_v5.0.xlsx``, sheet "CTCAE v5.0 Clean Copy", columns MedDRA Code / MedDRA SOC / CTCAE Term /
  Grade 1 … Grade 5 / Definition / Navigational Note (other columns are ignored).

In both, an empty grade cell or NCI's "-" means the grade does not exist for the term and the form must not offer it.
MedDRA codes are not stored: they are licensed separately (clinical-spec §5.1).

The whole file is read and checked before anything is written; the writes run in one transaction, so a bad file
changes nothing. Re-importing the same file changes nothing either (idempotent upsert keyed by term).
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from trials.audit import stamp

from .models import CtcaeTerm

CTCAE_VERSION = "5.0"
XLSX_SHEET = "CTCAE v5.0 Clean Copy"
GRADES = (1, 2, 3, 4, 5)
#: Cells meaning "this grade does not exist" (NCI uses a hyphen; en and em dashes are tolerated).
NOT_AVAILABLE = frozenset({"", "-", "–", "—"})

# Accepted header spellings, after normalising (lower case, "_" → " ", spaces collapsed).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "soc": ("soc", "meddra soc", "system organ class"),
    "term": ("term", "ctcae term", "ctcae v5.0 term"),
    **{f"grade_{grade}": (f"grade {grade}",) for grade in GRADES},
    "definition": ("definition",),
}
_MAX_LENGTH = {"soc": 200, "term": 200}


class CtcaeImportError(Exception):
    """The file cannot be imported; nothing was written."""


@dataclass(frozen=True)
class CtcaeRow:
    soc: str
    term: str
    grades: tuple[str, str, str, str, str]  # "" = grade not available
    definition: str


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    #: terms already in the table but absent from the file: kept (adverse events may point at them)
    not_in_file: int
    socs: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _normalise_header(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value or "").replace("_", " ")).strip().lower()


def _clean(value: Any) -> str:
    """A cell as text: line endings unified, surrounding blanks removed."""
    if value is None:
        return ""
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _column_positions(header: Sequence[Any]) -> dict[str, int]:
    normalised = [_normalise_header(cell) for cell in header]
    positions: dict[str, int] = {}
    missing: list[str] = []
    for name, spellings in _COLUMNS.items():
        found = next((index for index, cell in enumerate(normalised) if cell in spellings), None)
        if found is None:
            missing.append(name)
        else:
            positions[name] = found
    if missing:
        shown = ", ".join(str(cell) for cell in header if cell not in (None, "")) or "(empty)"
        raise CtcaeImportError(
            f"Wrong header: missing column(s) {', '.join(missing)}. Expected soc, term, grade_1 … grade_5, definition "
            f"(or NCI's MedDRA SOC, CTCAE Term, Grade 1 … Grade 5, Definition); found: {shown}."
        )
    return positions


def _rows(records: Iterable[tuple[str, Sequence[Any]]]) -> list[CtcaeRow]:
    """Check and convert the data records (``(where, cells)``, header first). Every problem is collected, so one run
    of the command reports them all."""
    iterator = iter(records)
    try:
        _, header = next(iterator)
    except StopIteration:
        raise CtcaeImportError("The file is empty: no header row.") from None
    positions = _column_positions(header)
    width = max(positions.values()) + 1
    rows: list[CtcaeRow] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for where, cells in iterator:
        if all(_clean(cell) == "" for cell in cells):
            continue  # blank lines at the end of a sheet
        if len(cells) < width:
            errors.append(f"{where}: {len(cells)} cell(s), expected at least {width}.")
            continue
        values = {name: _clean(cells[index]) for name, index in positions.items()}
        problems = [f"{name} is empty" for name in ("soc", "term") if not values[name]]
        # Python's csv module reads NUL bytes since 3.11; PostgreSQL refuses them in text (the import crashed).
        problems += [f"{name} holds a NUL byte" for name, value in values.items() if "\x00" in value]
        problems += [
            f"{name} is longer than {limit} characters"
            for name, limit in _MAX_LENGTH.items()
            if len(values[name]) > limit
        ]
        grades = tuple("" if values[f"grade_{g}"] in NOT_AVAILABLE else values[f"grade_{g}"] for g in GRADES)
        if values["term"] and not any(grades):
            problems.append("no grade is available")
        if values["term"] in seen:
            problems.append(f"term {values['term']!r} repeats {seen[values['term']]}")
        if problems:
            errors.append(f"{where}: {'; '.join(problems)}.")
            continue
        seen[values["term"]] = where
        rows.append(CtcaeRow(values["soc"], values["term"], grades, values["definition"]))  # type: ignore[arg-type]
    if errors:
        shown = errors[:20] + ([f"… and {len(errors) - 20} more."] if len(errors) > 20 else [])
        raise CtcaeImportError("Malformed row(s), nothing imported:\n" + "\n".join(shown))
    if not rows:
        raise CtcaeImportError("The file has a header but no term.")
    return rows


def _csv_records(path: Path) -> Iterator[tuple[str, list[str]]]:
    # utf-8-sig: a byte-order mark (spreadsheet exports) must not end up in the first header cell.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        for number, cells in enumerate(reader):
            yield (f"Row {number} (line {reader.line_num})" if number else "Header", cells)


def read_ctcae_csv(path: Path) -> list[CtcaeRow]:
    try:
        return _rows(_csv_records(path))
    except UnicodeDecodeError as error:
        raise CtcaeImportError(f"{path.name} is not UTF-8 text: {error}.") from error
    except csv.Error as error:
        raise CtcaeImportError(f"{path.name} is not a well-formed CSV file: {error}.") from error


def read_ctcae_xlsx(path: Path) -> list[CtcaeRow]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise CtcaeImportError(f"{path.name} is not a readable .xlsx workbook: {error}.") from error
    try:
        if XLSX_SHEET in workbook.sheetnames:
            sheet = workbook[XLSX_SHEET]
        elif len(workbook.sheetnames) == 1:
            sheet = workbook.worksheets[0]
        else:
            raise CtcaeImportError(
                f"{path.name} has no sheet {XLSX_SHEET!r} (sheets: {', '.join(workbook.sheetnames)})."
            )
        records = (
            ("Header" if number == 1 else f"Sheet row {number}", list(cells))
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        return _rows(records)
    finally:
        workbook.close()


def read_ctcae(path: str | Path) -> list[CtcaeRow]:
    """Read and check a CTCAE file (``.csv`` or ``.xlsx``); raises :class:`CtcaeImportError`, writes nothing."""
    path = Path(path)
    if not path.is_file():
        raise CtcaeImportError(f"File not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_ctcae_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return read_ctcae_xlsx(path)
    raise CtcaeImportError(f"Unsupported file type {suffix or '(none)'}: give NCI's .xlsx workbook or a .csv.")


def _fields(row: CtcaeRow, version: str) -> dict[str, str]:
    return {
        "soc": row.soc,
        **{f"grade_{grade}": text for grade, text in zip(GRADES, row.grades, strict=True)},
        "definition": row.definition,
        "version": version,
    }


@transaction.atomic
def ctcae_import(*, path: str | Path, version: str = CTCAE_VERSION, user: Any = None) -> ImportResult:
    """Upsert the terms of ``path`` into ``CtcaeTerm`` (keyed by term). All or nothing; idempotent."""
    rows = read_ctcae(path)
    reason = f"CTCAE v{version} import from {Path(path).name}"
    existing = {term.term: term for term in CtcaeTerm.objects.all()}
    created = updated = unchanged = 0
    for row in rows:
        values = _fields(row, version)
        term = existing.get(row.term)
        if term is None:
            term = CtcaeTerm(term=row.term, **values)
            created += 1
        elif any(getattr(term, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(term, name, value)
            updated += 1
        else:
            unchanged += 1
            continue
        stamp(term, user=user, reason=reason)
        term.save()
    in_file = {row.term for row in rows}
    return ImportResult(
        created=created,
        updated=updated,
        unchanged=unchanged,
        not_in_file=sum(1 for name in existing if name not in in_file),
        socs=len({row.soc for row in rows}),
    )


def grade_catalogue(terms: Iterable[CtcaeTerm]) -> dict[str, dict[str, Any]]:
    """Per term id: its available grades with their texts and whether it is an "Other, specify" term. Embedded in
    the adverse-event form so the grade choices follow the chosen term without a request."""
    return {
        str(term.pk): {
            "grades": {str(grade): text for grade, text in term.grade_texts().items()},
            "other": term.is_other_specify,
        }
        for term in terms
    }
