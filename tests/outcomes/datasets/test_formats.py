"""Every dataset (and the dictionary) goes through every writer, and SAS transport keeps the names and labels
declared beside each builder (read back with pyreadstat)."""

from __future__ import annotations

import io
from pathlib import Path

import pyreadstat
import pytest

from outcomes.datasets import DATASETS, writers
from outcomes.datasets.base import Dataset
from outcomes.datasets.dictionary import DICTIONARY
from trials.models import Role

from ...conftest import Cast
from .helpers import patients_with_records


@pytest.mark.parametrize("dataset", [*DATASETS.values(), DICTIONARY], ids=lambda d: d.name)
def test_every_format_writes_and_sas_transport_keeps_names_and_labels(
    cast: Cast, dataset: Dataset, tmp_path: Path
) -> None:
    patients_with_records(cast, count=2, site=cast.site_a, first=11)
    user = cast.user(Role.STATISTICIAN)
    expected_rows = sum(1 for _ in dataset.rows(trial=cast.avatar2, user=user))
    assert expected_rows > 0
    for code in writers.FORMATS:
        file = io.BytesIO()
        writers.write_to(code, dataset, dataset.rows(trial=cast.avatar2, user=user), file)
        assert file.getvalue(), code
        if code == "xpt":
            path = tmp_path / f"{dataset.name.lower()}.xpt"
            path.write_bytes(file.getvalue())
            frame, meta = pyreadstat.read_xport(str(path))
            assert list(frame.columns) == list(dataset.names)
            assert meta.column_labels == [variable.label for variable in dataset.variables]
            assert len(frame) == expected_rows
