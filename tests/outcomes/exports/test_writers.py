"""The writers give the same values in every format, with the labels the format carries: the SAS transport and Stata
files are read back with pyreadstat and compared with the CSV cell by cell (issue 6)."""

from __future__ import annotations

import csv
import io
import json
import struct
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pyreadstat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes.datasets import writers
from outcomes.datasets.base import Dataset, Kind, Variable
from outcomes.datasets.writers import xlsx
from outcomes.datasets.writers.xpt import ibm_double

VARIABLES = (
    Variable("USUBJID", "Unique Subject Identifier", Kind.TEXT, 20),
    Variable("SITE", "Hôpital (site name)", Kind.TEXT, 12),
    Variable("AVAL", "Analysis Value", Kind.FLOAT, unit="mm"),
    Variable("ADY", "Analysis Relative Day", Kind.INTEGER),
    Variable("ADT", "Analysis Date", Kind.DATE),
    Variable("COMPAT", "Computed At", Kind.DATETIME),
    Variable("EVENTFL", "Event", Kind.BOOLEAN),
)
ROWS = [
    ("AVT2-NL01-0001", "Zürich", 45.3, 245, date(2025, 3, 1), datetime(2025, 3, 2, 10, 15, tzinfo=UTC), True),
    ("AVT2-NL01-0002", None, None, None, None, None, None),
    ("AVT2-BE01-0001", "Leuven", -0.1, -7, date(1959, 12, 31), datetime(1960, 1, 1, 0, 0, 1, tzinfo=UTC), False),
    ("AVT2-BE01-0002", 'a, "quoted"', 1e-5, 0, date(2026, 2, 28), datetime(2026, 2, 28, 23, 59, tzinfo=UTC), True),
    (
        "AVT2-DE01-0001",
        "",
        123456.789,
        2_000_000_000,
        date(1960, 1, 1),
        datetime(2030, 6, 30, 12, 0, tzinfo=UTC),
        False,
    ),
]
DATASET = Dataset("TEST", "A test dataset for the writers", "One row per subject", ("USUBJID",), VARIABLES, None)  # type: ignore[arg-type]
CREATED = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def _file(tmp_path: Path, code: str, rows: list[tuple[Any, ...]] = ROWS, dataset: Dataset = DATASET) -> Path:
    path = tmp_path / f"test.{code}"
    with path.open("wb") as file:
        writers.write_to(code, dataset, rows, file, created=CREATED)
    return path


def _typed(variable: Variable, text: str) -> Any:
    """A CSV cell as the value it stands for (the CSV's documented conventions)."""
    if text == "":
        return None
    if variable.kind == Kind.FLOAT:
        return float(text)
    if variable.kind in (Kind.INTEGER, Kind.BOOLEAN):
        return int(text)
    if variable.kind == Kind.DATE:
        return date.fromisoformat(text)
    if variable.kind == Kind.DATETIME:
        return datetime.fromisoformat(text.removesuffix("Z"))
    return text


def _csv_values(tmp_path: Path) -> list[list[Any]]:
    text = _file(tmp_path, "csv").read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    assert next(reader) == list(DATASET.names)
    return [[_typed(variable, cell) for variable, cell in zip(VARIABLES, row, strict=True)] for row in reader]


def _normal(variable: Variable, value: Any) -> Any:
    """Missing text is empty in fixed-width formats; missing numbers NaN; numbers compared as numbers."""
    if value is None or value != value:  # None or NaN
        return None if variable.kind != Kind.TEXT else ""
    if variable.kind == Kind.TEXT:
        return str(value)
    if variable.kind in (Kind.INTEGER, Kind.BOOLEAN):
        return int(value)
    if variable.kind == Kind.DATETIME and hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def _frame_values(frame: Any) -> list[list[Any]]:
    return [
        [_normal(variable, value) for variable, value in zip(VARIABLES, row, strict=True)]
        for row in frame.itertuples(index=False)
    ]


def _expected(tmp_path: Path) -> list[list[Any]]:
    return [[_normal(v, value) for v, value in zip(VARIABLES, row, strict=True)] for row in _csv_values(tmp_path)]


def test_csv_holds_the_rows_in_its_documented_conventions(tmp_path: Path) -> None:
    values = _csv_values(tmp_path)
    assert values[0] == ["AVT2-NL01-0001", "Zürich", 45.3, 245, date(2025, 3, 1), datetime(2025, 3, 2, 10, 15), 1]
    assert values[1] == ["AVT2-NL01-0002", None, None, None, None, None, None]
    assert values[3][1] == 'a, "quoted"'
    assert len(values) == len(ROWS)


def test_sas_transport_reads_back_equal_to_the_csv_with_labels_and_dates(tmp_path: Path) -> None:
    frame, meta = pyreadstat.read_xport(str(_file(tmp_path, "xpt")))

    assert _frame_values(frame) == _expected(tmp_path)
    assert meta.column_names_to_labels == {v.name: v.label for v in VARIABLES}
    assert meta.file_label == DATASET.label
    assert meta.table_name == "TEST"
    assert meta.original_variable_types["ADT"] == "DATE9"
    assert frame["ADT"][0] == date(2025, 3, 1)  # a date, not a number of days


def test_sas_transport_is_whole_80_byte_records(tmp_path: Path) -> None:
    content = _file(tmp_path, "xpt").read_bytes()
    assert len(content) % 80 == 0
    assert content.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")


def test_stata_reads_back_equal_to_the_csv_with_labels_and_dates(tmp_path: Path) -> None:
    frame, meta = pyreadstat.read_dta(str(_file(tmp_path, "dta")))

    assert _frame_values(frame) == _expected(tmp_path)
    assert meta.column_names_to_labels == {v.name: v.label for v in VARIABLES}
    assert meta.file_label == DATASET.label
    assert meta.number_rows == len(ROWS)
    assert meta.original_variable_types["ADT"] == "%td"
    assert frame["ADT"][0] == date(2025, 3, 1)


def test_stata_of_many_rows_has_the_row_count_filled_in(tmp_path: Path) -> None:
    rows = [(f"S-{n}", "x", float(n), n, date(2025, 1, 1), None, n % 2 == 0) for n in range(2500)]
    frame, meta = pyreadstat.read_dta(str(_file(tmp_path, "dta", rows)))
    assert meta.number_rows == 2500
    assert list(frame["ADY"]) == list(range(2500))


def test_stata_refuses_an_integer_it_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not fit a Stata long"):
        _file(tmp_path, "dta", [("S-1", "x", 1.0, 2**31, None, None, None)])


def test_excel_reads_back_equal_to_the_csv_with_a_variables_sheet(tmp_path: Path) -> None:
    workbook = openpyxl.load_workbook(_file(tmp_path, "xlsx"))
    data = list(workbook["TEST"].iter_rows(values_only=True))
    assert list(data[0]) == list(DATASET.names)
    values = [
        [
            _normal(v, value.date() if v.kind == Kind.DATE and value else value)
            for v, value in zip(VARIABLES, row, strict=True)
        ]
        for row in data[1:]
    ]  # Excel has one kind of date: openpyxl reads a date back as midnight of that day
    assert values == _expected(tmp_path)
    labels = {row[0]: row[1] for row in workbook["Variables"].iter_rows(min_row=2, values_only=True)}
    assert labels == {v.name: v.label for v in VARIABLES}
    assert workbook.properties.title == "TEST: A test dataset for the writers"


def test_excel_continues_on_a_new_sheet_past_its_row_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 3)  # a header and two rows per sheet
    workbook = openpyxl.load_workbook(_file(tmp_path, "xlsx"))
    assert workbook.sheetnames == ["TEST", "TEST (2)", "TEST (3)", "Variables"]
    subjects = [
        row[0]
        for name in ("TEST", "TEST (2)", "TEST (3)")
        for row in workbook[name].iter_rows(min_row=2, values_only=True)
    ]
    assert subjects == [row[0] for row in ROWS]


def test_json_has_the_metadata_then_the_rows(tmp_path: Path) -> None:
    document = json.loads(_file(tmp_path, "json").read_bytes())
    assert document["name"] == "TEST"
    assert [v["label"] for v in document["variables"]] == [v.label for v in VARIABLES]
    assert document["rows"][0] == {
        "USUBJID": "AVT2-NL01-0001",
        "SITE": "Zürich",
        "AVAL": 45.3,
        "ADY": 245,
        "ADT": "2025-03-01",
        "COMPAT": "2025-03-02T10:15:00Z",
        "EVENTFL": True,
    }
    assert document["rows"][1]["AVAL"] is None
    assert len(document["rows"]) == len(ROWS)


def test_text_longer_than_its_width_is_cut_at_a_character_boundary(tmp_path: Path) -> None:
    rows = [("S-1", "a" * 11 + "ü and more", 1.0, 1, None, None, None)]  # 12 bytes wide: "ü" would take 12 and 13
    for code, read in (("xpt", pyreadstat.read_xport), ("dta", pyreadstat.read_dta)):
        frame, _ = read(str(_file(tmp_path, code, rows)))
        assert frame["SITE"][0] == "a" * 11


def _ibm_to_float(data: bytes) -> float:
    """IBM System/370 hexadecimal floating point, decoded independently of the writer."""
    (bits,) = struct.unpack(">Q", data)
    sign = -1.0 if bits >> 63 else 1.0
    exponent = (bits >> 56) & 0x7F
    fraction = bits & ((1 << 56) - 1)
    return sign * fraction / 2**56 * 16.0 ** (exponent - 64)


@given(st.floats(min_value=-1e70, max_value=1e70, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-70))
def test_ibm_floating_point_holds_every_double_exactly(value: float) -> None:
    assert _ibm_to_float(ibm_double(value)) == value


def test_ibm_floating_point_of_known_values() -> None:
    assert ibm_double(1.0) == bytes.fromhex("4110000000000000")
    assert ibm_double(-118.625) == bytes.fromhex("C276A00000000000")  # the classic example of IBM's manual
    assert ibm_double(0.0) == bytes(8)
