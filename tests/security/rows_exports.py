"""Permission-matrix rows: dataset exports, the raw lesion measurements, the data dictionary and data cuts (issue 6).

ADaM datasets and data cuts: statistician and sponsor admin. Measurements and dictionary: also the data manager.
Everyone else 404. The trial, not a site, is the record: own and other site answer alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from outcomes.models import DataCut, DataCutFile, DataCutStatus, datacut_storage
from trials.models import Role

from ..conftest import Cast
from .matrix import Row, plain, same, trial_url

ANALYSTS = {"statistician": 200, "sponsor_admin": 200}
CLINICAL = {"data_manager": 200, **ANALYSTS}


def _ready_cut(cast: Cast) -> DataCut:
    """A frozen cut of AVATAR II with its manifest (made directly: the matrix tests who gets in, not freezing)."""
    cut = DataCut.objects.filter(trial=cast.avatar2, name="Matrix cut").first()
    if cut is not None:
        return cut
    content = b'{"files": []}\n'
    cut = DataCut.objects.create(
        trial=cast.avatar2,
        name="Matrix cut",
        frozen_by=cast.user(Role.STATISTICIAN),
        status=DataCutStatus.READY,
        frozen_at=timezone.now(),
        manifest_sha256=hashlib.sha256(content).hexdigest(),
    )
    storage = datacut_storage()
    name = storage.save(f"datacuts/{cast.avatar2.code}/{cut.pk}/manifest.json", ContentFile(content))
    DataCutFile.objects.create(
        cut=cut, dataset="manifest", format="json", size=len(content), sha256=cut.manifest_sha256, file=name
    )
    return cut


def cut_url(url_name: str, **extra: str) -> Callable[[Cast, Any], str]:
    def build(cast: Cast, patient: Any) -> str:
        return reverse(url_name, kwargs={"code": cast.avatar2.code, "pk": _ready_cut(cast).pk, **extra})

    return build


def download_url(url_name: str, **extra: str) -> Callable[[Cast, Any], str]:
    return lambda cast, patient: reverse(url_name, kwargs={"code": cast.avatar2.code, **extra})


ROWS: list[Row] = [
    ("api:dataset_list", trial_url("api:dataset_list"), "get", same(404, **CLINICAL)),
    (
        "api:dataset_download",
        download_url("api:dataset_download", name="adtte", fmt="csv"),
        "get",
        same(404, **ANALYSTS),
    ),
    ("api:measurements_download", download_url("api:measurements_download", fmt="csv"), "get", same(404, **CLINICAL)),
    ("api:dictionary_download", download_url("api:dictionary_download", fmt="csv"), "get", same(404, **CLINICAL)),
    ("api:datacut_list", trial_url("api:datacut_list"), "get", same(404, **ANALYSTS)),
    ("api:datacut_detail", cut_url("api:datacut_detail"), "get", same(404, **ANALYSTS)),
    ("api:datacut_file", cut_url("api:datacut_file", dataset="manifest", fmt="json"), "get", same(404, **ANALYSTS)),
    ("outcomes:datacut_index", plain("outcomes:datacut_index"), "get", same(404, **ANALYSTS)),
    ("outcomes:datacut_list", trial_url("outcomes:datacut_list"), "get", same(404, **ANALYSTS)),
    ("outcomes:datacut_detail", cut_url("outcomes:datacut_detail"), "get", same(404, **ANALYSTS)),
    (
        "outcomes:datacut_file",
        cut_url("outcomes:datacut_file", dataset="manifest", fmt="json"),
        "get",
        same(404, **ANALYSTS),
    ),
]
