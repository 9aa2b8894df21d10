"""SAS transport files, version 5 (XPT), written as the rows arrive: what the FDA accepts for submitted datasets.

Layout (SAS Institute, "The Record Layout of a Data Set in SAS Transport (XPORT) Format", TS-140): 80-byte records
of ASCII; the library header, the member header (dataset name, at most 8 characters, and label, at most 40), one
140-byte NAMESTR per variable (type, length, name, label, format), then the observations back to back, the last
record padded with blanks. Version 5 stores no observation count (readers count the records), which is why it can
be streamed without knowing the number of rows or seeking back.

Numbers are 8-byte IBM System/370 floating point (base 16, 7-bit excess-64 exponent, 56-bit fraction): every
integer and float of the dataset, the booleans as 1/0, dates as SAS dates (days since 1 January 1960) with the
``DATE9.`` format and datetimes as SAS datetimes (seconds since 1960-01-01T00:00, UTC) with ``DATETIME20.``, so
SAS, R (haven) and pyreadstat read them back as dates. A missing number is SAS's ``.`` (0x2E then seven zero
bytes). Text is fixed width (the variable's ``length``, at most 200 bytes), UTF-8, padded with blanks; a longer
value is cut at a character boundary.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

from ..base import Dataset, Kind, Row
from .values import batches, text_length, utc_naive

RECORD = 80
SAS_EPOCH = date(1960, 1, 1)
SAS_EPOCH_DATETIME = datetime(1960, 1, 1)
MISSING = b"." + b"\x00" * 7
MAX_TEXT = 200
CHUNK_BYTES = 64 * 1024

_NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhl52s")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def ibm_double(value: float) -> bytes:
    """``value`` as an 8-byte IBM hexadecimal floating-point number (big-endian), exactly where it fits.

    ``value = m · 2**e`` with ``0.5 <= m < 1`` (``math.frexp``); IBM wants ``f · 16**E`` with ``1/16 <= f < 1``, so
    ``E = ceil(e / 4)`` and ``f = m / 2**(4E - e)``. The 56-bit fraction ``f · 2**56 = (m · 2**53) · 2**(3 - 4E + e)``
    is an exact integer (m has 53 significant bits), so nothing is rounded. Magnitudes below 16**-65 become 0;
    above IBM's largest (about 7.2e75) they raise (no dataset value comes near).
    """
    if value == 0:
        return b"\x00" * 8
    if math.isnan(value):
        return MISSING
    mantissa, exponent = math.frexp(abs(value))
    exponent16 = (exponent + 3) // 4
    if exponent16 < -64:
        return b"\x00" * 8
    if exponent16 > 63 or math.isinf(value):
        raise ValueError(f"{value!r} is beyond the range of IBM floating point")
    fraction = int(mantissa * (1 << 53)) << (3 - (4 * exponent16 - exponent))
    sign = 0x80 if value < 0 else 0
    return (((sign | (exponent16 + 64)) << 56) | fraction).to_bytes(8, "big")


def _sas_timestamp(moment: datetime) -> bytes:
    """``ddMMMyy:hh:mm:ss``, the header's creation and modification times."""
    text = f"{moment.day:02d}{_MONTHS[moment.month - 1]}{moment.year % 100:02d}:{moment:%H:%M:%S}"
    return text.encode("ascii")


def _field(text: str, width: int) -> bytes:
    """A fixed-width header field: UTF-8 (plain ASCII for names, as SAS requires), blank padded."""
    return _text(text, width)


def _text(value: str, width: int) -> bytes:
    encoded = value.encode()
    if len(encoded) > width:  # cut at a character boundary, never in the middle of a UTF-8 sequence
        encoded = encoded[:width].decode("utf-8", "ignore").encode()
    return encoded.ljust(width)


def _number(value: Any) -> bytes:
    return MISSING if value is None else ibm_double(float(value))


def _date(value: Any) -> bytes:
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        value = utc_naive(value).date()
    return ibm_double(float((value - SAS_EPOCH).days))


def _datetime(value: Any) -> bytes:
    if value is None:
        return MISSING
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return ibm_double((utc_naive(value) - SAS_EPOCH_DATETIME).total_seconds())


def _text_encoder(width: int) -> Callable[[Any], bytes]:
    blank = b" " * width

    def encode(value: Any) -> bytes:
        return blank if value is None else _text(str(value), width)

    return encode


def _encoders(dataset: Dataset) -> list[Callable[[Any], bytes]]:
    found: list[Callable[[Any], bytes]] = []
    for index, variable in enumerate(dataset.variables):
        if variable.kind == Kind.TEXT:
            found.append(_text_encoder(min(text_length(dataset, index), MAX_TEXT)))
        elif variable.kind == Kind.DATE:
            found.append(_date)
        elif variable.kind == Kind.DATETIME:
            found.append(_datetime)
        else:  # integers, floats and booleans (True is 1)
            found.append(_number)
    return found


def _headers(dataset: Dataset, created: datetime) -> bytes:
    stamp = _sas_timestamp(created)
    name = dataset.name.upper()[:8]
    records = [
        b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000  ",
        b"SAS     SAS     SASLIB  9.4     " + _field("X64_LIN", 8) + b" " * 24 + stamp,
        stamp + b" " * 64,
        b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140  ",
        b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!000000000000000000000000000000  ",
        b"SAS     " + _field(name, 8) + b"SASDATA 9.4     " + _field("X64_LIN", 8) + b" " * 24 + stamp,
        stamp + b" " * 16 + _field(dataset.label, 40) + b" " * 8,
        f"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000{len(dataset.variables):04d}"
        f"00000000000000000000  ".encode("ascii"),
    ]
    namestrs = b""
    position = 0
    for index, variable in enumerate(dataset.variables):
        if variable.kind == Kind.TEXT:
            kind, length, form, form_length = 2, min(text_length(dataset, index), MAX_TEXT), "", 0
        elif variable.kind == Kind.DATE:
            kind, length, form, form_length = 1, 8, "DATE", 9
        elif variable.kind == Kind.DATETIME:
            kind, length, form, form_length = 1, 8, "DATETIME", 20
        else:
            kind, length, form, form_length = 1, 8, "", 0
        namestrs += _NAMESTR.pack(
            kind,
            0,
            length,
            index + 1,
            _field(variable.name.upper(), 8),
            _field(variable.label, 40),
            _field(form, 8),
            form_length,
            0,
            0,
            b"\x00\x00",
            _field("", 8),
            0,
            0,
            position,
            b"\x00" * 52,
        )
        position += length
    namestrs += b" " * (-len(namestrs) % RECORD)
    observations = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!000000000000000000000000000000  "
    return b"".join(records) + namestrs + observations


def write_xpt(dataset: Dataset, rows: Iterable[Row], *, created: datetime | None = None) -> Iterator[bytes]:
    if len(dataset.variables) > 9999:
        raise ValueError("SAS transport files hold at most 9,999 variables")
    created = utc_naive(created or datetime.now().astimezone())
    encoders = _encoders(dataset)
    buffer = bytearray(_headers(dataset, created))
    written = 0
    for batch in batches(rows, 1000):
        for row in batch:
            for encode, value in zip(encoders, row, strict=True):
                buffer += encode(value)
        if len(buffer) >= CHUNK_BYTES:
            written += len(buffer)
            yield bytes(buffer)
            buffer.clear()
    written += len(buffer)
    buffer += b" " * (-written % RECORD)
    yield bytes(buffer)
