"""Exports stream: rows are pulled from the dataset as the bytes go out, never gathered first, and memory stays flat
as the dataset grows (issue 6)."""

from __future__ import annotations

import tempfile
import tracemalloc
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.http import FileResponse, StreamingHttpResponse

from outcomes.datasets import writers
from outcomes.datasets.base import Dataset, Kind, Row, Variable
from outcomes.datasets.exports import Export
from outcomes.downloads import export_response
from trials.models import Role
from trials.permissions import Capability

from ...conftest import Cast

VARIABLES = (
    Variable("USUBJID", "Unique Subject Identifier", Kind.TEXT, 20),
    Variable("AVAL", "Analysis Value", Kind.FLOAT),
    Variable("ADY", "Study Day", Kind.INTEGER),
    Variable("ADT", "Analysis Date", Kind.DATE),
    Variable("FLAG", "Flag", Kind.TEXT, 1),
)


class CountingDataset:
    """A dataset of ``size`` generated rows that counts how many have been pulled."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pulled = 0
        self.dataset = Dataset("COUNT", "Counting dataset", "One row per n", ("USUBJID",), VARIABLES, self.rows)

    def rows(self, **_: Any) -> Iterator[Row]:
        for n in range(self.size):
            self.pulled += 1
            yield (f"AVT2-NL01-{n:06d}", n / 7, n, date(2025, 1, 1 + n % 28), "Y" if n % 3 else "")


@pytest.mark.parametrize("code", ["csv", "json", "xpt"])
def test_a_streamed_file_pulls_rows_only_as_its_chunks_are_taken(code: str) -> None:
    source = CountingDataset(50_000)
    chunks = writers.stream(code, source.dataset, source.dataset.rows())
    assert source.pulled == 0
    first = next(chunks)
    assert first and 0 < source.pulled < source.size / 4  # one chunk's worth, not the dataset
    rest = sum(len(chunk) for chunk in chunks)
    assert source.pulled == source.size and rest > 10 * len(first)


def _peak_while(function: Any) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _write(code: str, size: int) -> int:
    source = CountingDataset(size)

    def write() -> None:
        with tempfile.TemporaryFile() as file:
            writers.write_to(code, source.dataset, source.dataset.rows(), file)

    peak = _peak_while(write)
    assert source.pulled == size
    return peak


@pytest.mark.parametrize(
    ("code", "small"), [("csv", 2000), ("json", 2000), ("xpt", 2000), ("dta", 2000), ("xlsx", 800)]
)
def test_memory_does_not_grow_with_the_number_of_rows(code: str, small: int) -> None:
    large = 10 * small  # ten times the rows (and the bytes)
    peak_small, peak_large = _write(code, small), _write(code, large)
    assert peak_large < peak_small * 1.5 + 128 * 1024, f"{code}: peak {peak_small:,} B, then {peak_large:,} B"


@pytest.mark.django_db
def test_the_http_response_streams_rows_as_it_is_sent(cast: Cast) -> None:
    source = CountingDataset(50_000)
    export = Export("count", source.dataset, Capability.EXPORT_CLINICAL_DATA)
    response = export_response(export=export, fmt="csv", trial=cast.cosmo, user=cast.user(Role.DATA_MANAGER))

    assert isinstance(response, StreamingHttpResponse)
    assert source.pulled == 0  # nothing read before the body is sent
    content = iter(response.streaming_content)
    next(content)
    assert 0 < source.pulled < source.size / 4
    b"".join(content)
    assert source.pulled == source.size
    assert response["Content-Disposition"].startswith('attachment; filename="cosmo_count_')


@pytest.mark.django_db
def test_excel_and_stata_answer_from_a_temporary_file(cast: Cast) -> None:
    for code in ("xlsx", "dta"):
        source = CountingDataset(1_000)
        export = Export("count", source.dataset, Capability.EXPORT_CLINICAL_DATA)
        response = export_response(export=export, fmt=code, trial=cast.cosmo, user=cast.user(Role.DATA_MANAGER))
        assert isinstance(response, FileResponse)
        assert b"".join(response.streaming_content)
        assert response["Content-Disposition"].endswith(f'.{code}"')
