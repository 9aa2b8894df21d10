"""Stata datasets, format 118 (Stata 14 and later; UTF-8), written row by row into a seekable file.

Layout (StataCorp, "Stata 118 dta file format", ``help dta``): ``<stata_dta>``, a header with the number of
variables K and of observations N and the dataset label (at most 80 characters), a map of where each section starts,
the variable types, names, sort list, display formats, value-label names, variable labels (at most 80 characters),
then ``<data>`` with N fixed-width little-endian records, and the (empty) strL and value-label sections. N and the
map come before the data but are only known after it: they are written as zeros and filled in by seeking back
once the rows are written, so the rows are never held in memory (pandas' and pyreadstat's writers need the whole
data frame).

Types: text is ``strN`` (the variable's ``length`` in bytes, at most 2,045; UTF-8, null padded; a longer value is
cut at a character boundary), integers ``long`` (4 bytes; beyond ±2,147,483,620 the export stops with an error
rather than write a wrong number), floats ``double``, booleans ``byte`` 1/0, dates ``long`` days since 1 January
1960 with format ``%td``, datetimes ``double`` milliseconds since 1960-01-01T00:00 (UTC) with format ``%tc``.
Missing values are Stata's system missing ``.`` of each type.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import IO, Any

from ..base import Dataset, Kind, Row
from .values import batches, text_length, utc_naive

STATA_EPOCH = date(1960, 1, 1)
STATA_EPOCH_DATETIME = datetime(1960, 1, 1)
MAX_STR = 2045
TYPE_DOUBLE, TYPE_LONG, TYPE_BYTE = 65526, 65528, 65530
MISSING_DOUBLE = 2.0**1023  # 0x7FE0000000000000, Stata's "."
MISSING_LONG = 2_147_483_621
MISSING_BYTE = 101
LONG_MAX = 2_147_483_620
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SECTIONS = (
    "stata_data",
    "map",
    "variable_types",
    "varnames",
    "sortlist",
    "formats",
    "value_label_names",
    "variable_labels",
    "characteristics",
    "data",
    "strls",
    "value_labels",
    "stata_data_close",
    "end-of-file",
)


def _tag(name: str, content: bytes) -> bytes:
    return f"<{name}>".encode() + content + f"</{name}>".encode()


def _utf8(text: str, width: int) -> bytes:
    """``text`` in at most ``width`` bytes of UTF-8, cut at a character boundary."""
    encoded = text.encode()
    if len(encoded) > width:
        encoded = encoded[:width].decode("utf-8", "ignore").encode()
    return encoded


def _padded(text: str, width: int) -> bytes:
    return _utf8(text, width - 1).ljust(width, b"\x00")


def _long(value: Any) -> int:
    if value is None:
        return MISSING_LONG
    number = int(value)
    if not -LONG_MAX <= number <= LONG_MAX:
        raise ValueError(f"{number} does not fit a Stata long")
    return number


def _double(value: Any) -> float:
    if value is None:
        return MISSING_DOUBLE
    number = float(value)
    return MISSING_DOUBLE if math.isnan(number) else number


def _byte(value: Any) -> int:
    return MISSING_BYTE if value is None else int(bool(value))


def _date(value: Any) -> int:
    if value is None:
        return MISSING_LONG
    if isinstance(value, datetime):
        value = utc_naive(value).date()
    return int((value - STATA_EPOCH).days)


def _datetime(value: Any) -> float:
    if value is None:
        return MISSING_DOUBLE
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    delta = utc_naive(value) - STATA_EPOCH_DATETIME
    return float(delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000)


class _Column:
    def __init__(self, dataset: Dataset, index: int) -> None:
        variable = dataset.variables[index]
        self.convert: Callable[[Any], Any]
        if variable.kind == Kind.TEXT:
            width = min(text_length(dataset, index), MAX_STR)
            self.type, self.code, self.format = width, f"{width}s", f"%-{min(width, 2045)}s"
            self.convert = lambda value: b"" if value is None else _utf8(str(value), width)
        elif variable.kind == Kind.INTEGER:
            self.type, self.code, self.format, self.convert = TYPE_LONG, "i", "%12.0g", _long
        elif variable.kind == Kind.BOOLEAN:
            self.type, self.code, self.format, self.convert = TYPE_BYTE, "b", "%8.0g", _byte
        elif variable.kind == Kind.DATE:
            self.type, self.code, self.format, self.convert = TYPE_LONG, "i", "%td", _date
        elif variable.kind == Kind.DATETIME:
            self.type, self.code, self.format, self.convert = TYPE_DOUBLE, "d", "%tc", _datetime
        else:
            self.type, self.code, self.format, self.convert = TYPE_DOUBLE, "d", "%10.0g", _double


def _timestamp(moment: datetime) -> bytes:
    text = f"{moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year:04d} {moment:%H:%M}"
    return bytes([len(text)]) + text.encode("ascii")


def write_dta(dataset: Dataset, rows: Iterable[Row], file: IO[bytes], *, created: datetime | None = None) -> None:
    """Write ``dataset`` to ``file`` (binary, seekable, positioned where the dataset starts)."""
    columns = [_Column(dataset, index) for index in range(len(dataset.variables))]
    if len(columns) > 32_767:
        raise ValueError("Stata 118 holds at most 32,767 variables")
    record = struct.Struct("<" + "".join(column.code for column in columns))
    converters = [column.convert for column in columns]
    start = file.tell()
    offsets = dict.fromkeys(_SECTIONS, 0)

    def mark(section: str) -> None:
        offsets[section] = file.tell() - start

    created = utc_naive(created or datetime.now().astimezone())
    file.write(b"<stata_dta>")
    label = _utf8(dataset.label[:80], 320)
    header = _tag("release", b"118") + _tag("byteorder", b"LSF") + _tag("K", struct.pack("<H", len(columns))) + b"<N>"
    file.write(b"<header>" + header)
    count_at = file.tell()
    file.write(struct.pack("<Q", 0) + b"</N>")
    file.write(_tag("label", struct.pack("<H", len(label)) + label))
    file.write(_tag("timestamp", _timestamp(created)) + b"</header>")
    mark("map")
    file.write(_tag("map", b"\x00" * 8 * len(_SECTIONS)))
    mark("variable_types")
    file.write(_tag("variable_types", b"".join(struct.pack("<H", column.type) for column in columns)))
    mark("varnames")
    file.write(_tag("varnames", b"".join(_padded(name, 129) for name in dataset.names)))
    mark("sortlist")
    file.write(_tag("sortlist", b"\x00" * 2 * (len(columns) + 1)))
    mark("formats")
    file.write(_tag("formats", b"".join(_padded(column.format, 57) for column in columns)))
    mark("value_label_names")
    file.write(_tag("value_label_names", b"\x00" * 129 * len(columns)))
    mark("variable_labels")
    labels = b"".join(_padded(variable.label[:80], 321) for variable in dataset.variables)
    file.write(_tag("variable_labels", labels))
    mark("characteristics")
    file.write(_tag("characteristics", b""))
    mark("data")
    file.write(b"<data>")
    count = 0
    pack = record.pack
    for batch in batches(rows, 1000):
        file.write(
            b"".join(pack(*[convert(value) for convert, value in zip(converters, row, strict=True)]) for row in batch)
        )
        count += len(batch)
    file.write(b"</data>")
    mark("strls")
    file.write(_tag("strls", b""))
    mark("value_labels")
    file.write(_tag("value_labels", b""))
    mark("stata_data_close")
    file.write(b"</stata_dta>")
    mark("end-of-file")
    end = file.tell()
    file.seek(count_at)
    file.write(struct.pack("<Q", count))
    file.seek(start + offsets["map"] + len(b"<map>"))
    file.write(b"".join(struct.pack("<Q", offsets[section]) for section in _SECTIONS))
    file.seek(end)
