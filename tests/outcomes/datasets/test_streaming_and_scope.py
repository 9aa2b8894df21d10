"""What every dataset promises (issue 6): rows stream lazily, a page of patients at a time, so the number of queries
grows with the pages and not with the patients; rows come sorted by the dataset's keys; and a user's rows hold only
their own sites' patients whatever the caller checked."""

from __future__ import annotations

import inspect
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outcomes.datasets import DATASETS
from outcomes.datasets.base import Dataset
from trials.models import Role

from ...conftest import Cast
from .helpers import patients_with_records, records

DATASET_NAMES = sorted(DATASETS)


def _queries(dataset: Dataset, cast: Cast, **options: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        for _ in dataset.rows(trial=cast.avatar2, user=cast.user(Role.STATISTICIAN), **options):
            pass
    return len(captured)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_rows_is_a_generator_that_reads_nothing_until_asked(cast: Cast, name: str) -> None:
    dataset = DATASETS[name]
    patients_with_records(cast, count=2, site=cast.site_a, first=11)
    with CaptureQueriesContext(connection) as captured:
        rows = dataset.rows(trial=cast.avatar2, user=cast.user(Role.STATISTICIAN))
    assert inspect.isgenerator(rows)
    assert len(captured) == 0
    first = next(rows)
    assert len(first) == len(dataset.variables)


#: datasets read as one statement through a server-side cursor (``common.stream_values``), not page by page
SINGLE_STATEMENT = {"adtte"}


def test_queries_grow_with_pages_of_patients_not_with_patients(cast: Cast) -> None:
    patients_with_records(cast, count=3, site=cast.site_a, first=11)
    few = {name: _queries(dataset, cast) for name, dataset in DATASETS.items()}
    patients_with_records(cast, count=27, site=cast.site_b, first=11)
    many = {name: _queries(dataset, cast) for name, dataset in DATASETS.items()}
    # 30 patients (and the 2 of the cast) in one page read as many queries as 3 patients in one page
    assert many == few
    paged = {name: _queries(dataset, cast, chunk_size=10) for name, dataset in DATASETS.items()}
    for name in DATASETS:  # 32 patients in pages of 10: four pages, and each page costs what one page did
        if name in SINGLE_STATEMENT:  # one streamed statement whatever the page size
            assert paged[name] == few[name], name
        else:
            assert few[name] < paged[name] <= 4 * few[name] + 1, name


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_rows_are_sorted_by_the_keys_across_pages(cast: Cast, name: str) -> None:
    dataset = DATASETS[name]
    patients_with_records(cast, count=4, site=cast.site_b, first=11)
    patients_with_records(cast, count=4, site=cast.site_a, first=21)
    rows = records(dataset, trial=cast.avatar2, user=cast.user(Role.STATISTICIAN), chunk_size=3)
    keys = [tuple(_sortable(row[key]) for key in dataset.keys) for row in rows]
    assert keys == sorted(keys)
    assert len({row["USUBJID"] for row in rows}) >= 8
    assert rows == records(dataset, trial=cast.avatar2, user=cast.user(Role.STATISTICIAN))  # pages change nothing


def _sortable(value: Any) -> tuple[bool, Any]:
    if value is None:
        return (True, "")
    return (False, value.isoformat() if isinstance(value, date) else value)


@pytest.mark.parametrize("name", DATASET_NAMES)
@pytest.mark.parametrize("role", [Role.SITE_COORDINATOR, Role.INVESTIGATOR, Role.MONITOR])
def test_a_site_user_gets_only_their_own_sites_rows(cast: Cast, name: str, role: str) -> None:
    (own,) = patients_with_records(cast, count=1, site=cast.site_a, first=11)
    (other,) = patients_with_records(cast, count=1, site=cast.site_b, first=11)
    dataset = DATASETS[name]
    theirs = {row["USUBJID"] for row in records(dataset, trial=cast.avatar2, user=cast.user(role))}
    everyone = {row["USUBJID"] for row in records(dataset, trial=cast.avatar2, user=cast.user(Role.STATISTICIAN))}
    assert own.subject_id in theirs and other.subject_id not in theirs
    assert {own.subject_id, other.subject_id} <= everyone
    assert cast.patient_b.subject_id not in theirs


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_an_anonymous_or_roleless_user_gets_nothing(cast: Cast, name: str) -> None:
    from django.contrib.auth.models import AnonymousUser

    from ...factories import UserFactory

    patients_with_records(cast, count=1, site=cast.site_a, first=11)
    for user in (AnonymousUser(), UserFactory(username="nobody", role="")):
        assert list(DATASETS[name].rows(trial=cast.avatar2, user=user)) == []
