"""Reads of data cuts (issue 6): the cuts of a trial, one cut, and one of its files, checked before it is served.

Data cuts hold the ADaM datasets (efficacy by arm): only roles with ``EXPORT_ANALYSIS_DATASETS`` see them; anyone
else gets 404, as for every refusal. A file is served only when its bytes still have the SHA-256 recorded when the cut
was frozen (and listed in its ``manifest.json``): a changed or missing file is refused with ``DataCutFileChanged``,
never served, so a download is either the frozen bytes or an error.
"""

from __future__ import annotations

import hashlib
from typing import IO, Any

from django.db.models import QuerySet
from django.http import Http404

from trials.models import Trial
from trials.permissions import Capability, require

from .models import DataCut, DataCutFile, DataCutStatus

_BLOCK = 1024 * 1024


class DataCutFileChanged(Exception):
    """A data-cut file no longer has the checksum recorded when the cut was frozen (or is gone)."""

    def __init__(self, file: DataCutFile, found: str) -> None:
        self.file = file
        super().__init__(
            f"{file.filename} of data cut “{file.cut.name}” no longer matches the SHA-256 recorded when the cut was "
            f"frozen ({found}); it is not served. The stored copy has been altered or lost: tell the data manager, "
            "who restores it from the backup (the manifest lists every file's checksum)."
        )


def datacut_list(*, user: Any, trial: Trial) -> QuerySet[DataCut]:
    require(user, Capability.EXPORT_ANALYSIS_DATASETS)
    return DataCut.objects.filter(trial=trial).select_related("frozen_by").order_by("-requested_at", "-pk")


def datacut_get(*, user: Any, trial: Trial, pk: int) -> DataCut:
    try:
        return datacut_list(user=user, trial=trial).get(pk=pk)
    except DataCut.DoesNotExist:
        raise Http404 from None


def datacut_files(*, cut: DataCut) -> list[DataCutFile]:
    return list(cut.files.order_by("pk"))


def datacut_file_get(*, user: Any, trial: Trial, pk: int, dataset: str, fmt: str) -> DataCutFile:
    """A file of a ready cut (404 for anything else)."""
    cut = datacut_get(user=user, trial=trial, pk=pk)
    if cut.status != DataCutStatus.READY:
        raise Http404
    try:
        return cut.files.select_related("cut__trial").get(dataset=dataset, format=fmt)
    except DataCutFile.DoesNotExist:
        raise Http404 from None


def datacut_file_open(*, file: DataCutFile) -> IO[bytes]:
    """The stored file, open for reading, after checking its size and SHA-256 against the recorded ones."""
    storage, name = file.file.storage, str(file.file.name)
    digest = hashlib.sha256()
    size = 0
    try:
        with storage.open(name, "rb") as stored:
            while block := stored.read(_BLOCK):
                digest.update(block)
                size += len(block)
    except FileNotFoundError:
        raise DataCutFileChanged(file, "the file is missing") from None
    if size != file.size or digest.hexdigest() != file.sha256:
        raise DataCutFileChanged(file, f"found {size:,} bytes with SHA-256 {digest.hexdigest()}")
    opened: IO[bytes] = storage.open(name, "rb")
    return opened
