"""The registry and the metadata every writer relies on (``outcomes/datasets/base.py``): SAS V5 names and labels,
declared text widths, keys that are variables."""

from __future__ import annotations

import re

import pytest

from outcomes.datasets import DATASETS, dataset_get
from outcomes.datasets.base import Dataset, Kind
from outcomes.datasets.dictionary import DICTIONARY

ALL: list[Dataset] = [*DATASETS.values(), DICTIONARY]
NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")


def test_the_registry_holds_the_five_adam_datasets_by_lower_case_name() -> None:
    assert list(DATASETS) == ["adsl", "adtte", "adrs", "adae", "adqs"]
    assert all(key == dataset.name.lower() for key, dataset in DATASETS.items())


@pytest.mark.parametrize("name", ["adsl", "ADTTE", "AdRs"])
def test_a_dataset_is_found_whatever_the_case(name: str) -> None:
    assert dataset_get(name) is DATASETS[name.lower()]


def test_an_unknown_dataset_raises_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="adsl"):
        dataset_get("adxx")
    with pytest.raises(KeyError):
        dataset_get("dictionary")  # metadata, not an analysis dataset: served by its own page


@pytest.mark.parametrize("dataset", ALL, ids=lambda d: d.name)
def test_names_labels_and_widths_fit_sas_transport(dataset: Dataset) -> None:
    names = dataset.names
    assert len(names) == len(set(names)), "a variable is declared twice"
    for variable in dataset.variables:
        assert NAME.match(variable.name), variable.name
        assert 0 < len(variable.label) <= 40, variable.name
        assert variable.label.isascii(), variable.name
        if variable.kind == Kind.TEXT:
            assert variable.length is not None and 0 < variable.length <= 200, variable.name
            assert all(len(value) <= variable.length for value in variable.allowed), variable.name
    assert set(dataset.keys) <= set(names)
    assert len(dataset.label) <= 40
