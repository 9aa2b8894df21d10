"""Hypothesis on every import path (issue 9).

The product's imports are two management commands: ``import_ctcae`` (NCI's CTCAE term list, CSV or XLSX) and
``randomisation_list`` (reads the statistician's seed from standard input). There is no upload view (see
``test_request_bodies.py``), and the API's writes are fuzzed by schemathesis (``tests/security``).

``import_ctcae`` gets malformed files: wrong or missing headers, latin-1, UTF-16, a byte-order mark, binary garbage,
NUL bytes, huge lines, empty files, broken quotes, short rows, repeated terms, workbooks that are not workbooks.
Each either imports (a well-formed file) or stops with a specific ``CommandError`` naming the problem, never a
traceback; and a refused file changes nothing, not even the terms already loaded.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from patients.crfs.safety import CtcaeTerm
from patients.randomisation import AllocationList
from trials.models import Role

from ..conftest import Cast
from .hostile import CONTROL, PAYLOADS, hostile_settings, hostile_text, rolled_back

HEADERS: tuple[list[str], ...] = (
    ["soc", "term", "grade_1", "grade_2", "grade_3", "grade_4", "grade_5", "definition"],
    ["MedDRA Code", "MedDRA SOC", "CTCAE Term", "Grade 1", "Grade 2", "Grade 3", "Grade 4", "Grade 5", "Definition"],
    ["soc", "term", "grade 1", "definition"],  # grades missing
    ["\ufeffsoc", "TERM", "Grade_1", "grade_2", "grade_3", "grade_4", "grade_5", "Definition"],
    [],
)
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "utf-16", "utf-16-le", "cp1252")
#: The file already loaded before each example: a refused file must leave it exactly as it was.
LOADED = (
    "soc,term,grade_1,grade_2,grade_3,grade_4,grade_5,definition\r\n"
    "Blood and lymphatic system disorders,Anemia,mild,moderate,severe,life-threatening,death,A disorder.\r\n"
)

cells = st.one_of(hostile_text, st.sampled_from(["", "-", "–", "Anemia", "Blood", "mild"]))
rows = st.lists(st.lists(cells, max_size=10), max_size=6)


@st.composite
def csv_files(draw: Any) -> bytes:
    """A CSV as a spreadsheet or a hostile user might save it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = draw(st.sampled_from(HEADERS))
    if header:
        writer.writerow(header)
    writer.writerows(draw(rows))
    text = buffer.getvalue()
    tamper = draw(st.sampled_from(["none", "quote", "nul", "huge", "crlf", "truncate"]))
    if tamper == "quote":
        text += '"an unterminated quote,'
    elif tamper == "nul":
        text = text.replace(",", ",\x00", 1)
    elif tamper == "huge":
        text += "Blood," + "A" * 200_000 + ",mild,,,,,x\r\n"
    elif tamper == "crlf":
        text = text.replace("\r\n", "\r")
    elif tamper == "truncate":
        text = text[: len(text) // 2]
    return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


files = st.one_of(
    csv_files(),
    st.binary(max_size=3000),
    st.just(b""),
    st.just(b"\xef\xbb\xbf"),
    st.sampled_from(PAYLOADS + CONTROL).map(str.encode),
)


def _terms() -> list[tuple[Any, ...]]:
    return list(CtcaeTerm.objects.order_by("term").values_list("term", "soc", "grade_1", "grade_5", "definition"))


def _import(path: Path) -> str:
    out = io.StringIO()
    call_command("import_ctcae", str(path), stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_malformed_ctcae_file_is_refused_with_a_clear_error_and_changes_nothing(
    db: None, tmp_path: Path, suffix: str
) -> None:
    loaded = tmp_path / "loaded.csv"
    loaded.write_text(LOADED, encoding="utf-8")
    _import(loaded)
    path = tmp_path / f"CTCAE_v5.0{suffix}"
    outcomes = {"imported": 0, "refused": 0}

    @hostile_settings
    @given(content=files)
    def check(content: bytes) -> None:
        path.write_bytes(content)
        with rolled_back():
            before = (_terms(), CtcaeTerm.history.count())
            try:
                output = _import(path)
            except CommandError as error:
                outcomes["refused"] += 1
                message = str(error)
                assert message and "Traceback" not in message
                assert (_terms(), CtcaeTerm.history.count()) == before, "a refused file changed the terms"
            else:
                outcomes["imported"] += 1
                assert "terms in" in output

    check()
    assert outcomes["refused"], "no file was refused: the strategy is not hostile"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (LOADED.encode("utf-16"), "not UTF-8"),
        (LOADED.encode("utf-8").replace(b"Anemia", "Anémia".encode("latin-1")), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not UTF-8"),
        (LOADED.encode().replace(b"mild", b"mi\x00ld"), "grade_1 holds a NUL byte"),
        (b"soc,term\r\nBlood,Anemia\r\n", "missing column"),
        (LOADED.encode() + b'Blood,"Fatigue,mild\r\n', "not a well-formed CSV"),
        (LOADED.encode() + b"Blood," + b"A" * 200_000 + b",mild,,,,,x\r\n", "not a well-formed CSV"),
        (LOADED.encode() + b"Blood," + b"T" * 201 + b",mild,,,,,x\r\n", "longer than 200"),
        (LOADED.encode() + LOADED.encode().splitlines()[1] + b"\r\n", "repeats"),
        (LOADED.encode() + b"Blood,Fatigue\r\n", r"2 cell\(s\), expected at least 8"),
    ],
    ids=[
        "empty",
        "bom-only",
        "utf-16",
        "latin-1",
        "binary",
        "nul",
        "wrong-header",
        "broken-quote",
        "huge-line",
        "long-term",
        "repeated-term",
        "short-row",
    ],
)
def test_each_malformed_csv_gets_its_own_message(db: None, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "ctcae.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        _import(path)
    assert not CtcaeTerm.objects.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"PK\x03\x04 not really a zip", b"PK\x05\x06" + b"\x00" * 18, LOADED.encode()],
    ids=["empty", "broken-zip", "empty-zip", "a-csv-named-xlsx"],
)
def test_a_workbook_that_is_not_one_is_refused(db: None, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "CTCAE_v5.0.xlsx"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=r"not a readable \.xlsx workbook"):
        _import(path)


def test_a_bom_and_a_utf_8_sheet_still_import(db: None, tmp_path: Path) -> None:
    path = tmp_path / "ctcae.csv"
    path.write_bytes(LOADED.replace("Anemia", "Anémie ⚠").encode("utf-8-sig"))
    assert "1 terms in 1 system organ classes" in _import(path)
    assert CtcaeTerm.objects.get().term == "Anémie ⚠"


# --- randomisation_list: the seed from standard input ----------------------------------------------------------------

seeds = st.one_of(hostile_text, st.just(""), st.just("a" * 200_000), st.sampled_from(CONTROL))
#: An argument of a real command line cannot hold a NUL byte (C strings); standard input can.
reasons = st.one_of(hostile_text, st.just("")).map(lambda text: text.replace("\x00", ""))


def test_a_hostile_seed_or_reason_never_crashes_the_list_command(cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    statistician = cast.user(Role.STATISTICIAN)

    @hostile_settings
    @given(seed=seeds, reason=reasons, action=st.sampled_from(["generate", "verify"]))
    def check(seed: str, reason: str, action: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(seed + "\n"))
        with rolled_back():
            lists = AllocationList.objects.count()
            options = {"trial": cast.avatar2.code, "user": statistician.username, "seed_stdin": True}
            if action == "generate":
                options["reason"] = reason
            try:
                call_command("randomisation_list", action, stdout=io.StringIO(), **options)
            except CommandError as error:
                assert str(error)
                assert AllocationList.objects.count() == lists, "a refused list was half stored"

    check()
