"""Data cuts (issue 6): a statistician freezes a named, immutable cut of a trial for a DMC or the final analysis.

``datacut_request`` records the request (name unique per trial) and enqueues ``datacut_freeze`` on commit (a Celery
task; eager in development and tests). ``datacut_freeze`` writes every exportable dataset
(``outcomes.datasets.exports``: the ADaM datasets, the raw lesion measurements, the data dictionary) in every format
(CSV, JSON, XLSX, SAS transport, Stata) plus a ``manifest.json`` under ``MEDIA_ROOT/datacuts/<trial>/<cut id>/``,
records each file's rows, size and SHA-256, and marks the cut ready. From then on nothing about it changes
(``DataCut.save`` refuses) and every download is the stored bytes, checked against the stored SHA-256 first
(``outcomes.selectors_datacuts``).

**Each dataset read once.** A builder may take minutes over a large trial: each dataset is read once, spooled to
a scratch file (pickled batches of rows, never the whole dataset in memory), and every format is written from the
spool, so the five files of a dataset hold the same rows by construction.

**One consistent snapshot.** The datasets are read one after the other (each builder in several queries) while
sites keep entering data. All of it happens inside one transaction: on PostgreSQL at the REPEATABLE READ isolation
level, where every statement of the transaction sees the snapshot taken at its first statement (PostgreSQL manual,
"Transaction Isolation", 13.2.2), so ADSL, ADTTE and the measurements agree with each other to the row whatever is
committed meanwhile; the default READ COMMITTED would give each statement a newer snapshot. SQLite (the embedded
demo) runs one writer at a time and a transaction's reads see one state of the file. The files are written as the
rows stream (``outcomes.datasets.writers``), so memory stays flat however big the trial. If anything fails, nothing
is recorded but the failure: the transaction rolls back, the files written so far are removed, and the cut says
``failed`` with the error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from trials.audit import stamp
from trials.models import AnalysisSettings, Trial
from trials.permissions import Capability, require

from ..datasets import writers
from ..datasets.base import Row
from ..datasets.exports import exports
from ..datasets.writers.values import batches
from ..models import DataCut, DataCutFile, DataCutStatus, datacut_storage
from .patients import ALGORITHM_VERSION

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 100
SPOOL_BATCH = 2000
MANIFEST = "manifest"
_BLOCK = 1024 * 1024


def datacut_request(*, user: Any, trial: Trial, name: str, description: str = "") -> DataCut:
    """Record a data cut to be frozen and enqueue the freeze once the request is committed."""
    require(user, Capability.FREEZE_DATA_CUT)
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the data cut a name, e.g. “DMC 2 (June 2026)”."})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"At most {NAME_MAX_LENGTH} characters."})
    taken = ValidationError({"name": f"{trial} already has a data cut named “{name}”: names identify cuts for good."})
    if DataCut.objects.filter(trial=trial, name__iexact=name).exists():
        raise taken
    try:
        with transaction.atomic():
            cut = DataCut.objects.create(trial=trial, name=name, description=description.strip(), frozen_by=user)
            transaction.on_commit(lambda: _enqueue_freeze(cut.pk))
    except IntegrityError as error:  # the same name requested twice at once
        raise taken from error
    return cut


def _enqueue_freeze(cut_id: int) -> None:
    from ..tasks import datacut_freeze as task  # tasks import the services

    task.delay(cut_id)


@contextmanager
def snapshot() -> Iterator[None]:
    """One transaction whose reads all see one state of the database (module docstring)."""
    connection = transaction.get_connection()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # must be the transaction's first statement
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def datacut_directory(cut: DataCut) -> str:
    return f"datacuts/{cut.trial.code}/{cut.pk}"


def datacut_freeze(*, cut_id: int) -> DataCut:
    """Write the cut's files from one snapshot and mark it ready (or failed). Idempotent: a cut no longer pending is
    returned as it is, so a task delivered twice writes nothing twice."""
    cut = DataCut.objects.select_related("trial", "frozen_by").get(pk=cut_id)
    if cut.status != DataCutStatus.PENDING:
        return cut
    storage = datacut_storage()
    _remove_files(storage, datacut_directory(cut))  # what an interrupted earlier attempt may have left
    try:
        with snapshot():
            _write_cut(cut, storage)
    except Exception as error:  # any failure is the cut's failure: recorded on it and logged
        logger.exception("Data cut %s of %s failed", cut.pk, cut.trial)
        _remove_files(storage, datacut_directory(cut))
        cut.refresh_from_db()
        cut.status, cut.error = DataCutStatus.FAILED, f"{error.__class__.__name__}: {error}"
        stamp(cut, user=cut.frozen_by, reason="Data cut failed")
        cut.save(update_fields=["status", "error"])
    return cut


def _write_cut(cut: DataCut, storage: Any) -> None:
    trial, user = cut.trial, cut.frozen_by
    frozen_at = timezone.now()
    settings = AnalysisSettings.objects.filter(trial=trial).order_by("-version").first()
    directory = datacut_directory(cut)
    files: list[DataCutFile] = []
    datasets: list[dict[str, Any]] = []
    for slug, export in exports().items():
        datasets.append(
            {"slug": slug, "capability": str(export.capability), **writers.dataset_metadata(export.dataset)}
        )
        with tempfile.TemporaryFile() as spool:
            count = _spool(export.dataset.rows(trial=trial, user=user), spool)
            for code in writers.FORMATS:
                with tempfile.TemporaryFile() as scratch:
                    writers.write_to(code, export.dataset, _unspool(spool), scratch, created=frozen_at)
                    files.append(_store(storage, scratch, cut, f"{directory}/{slug}.{code}", slug, code, count))
    cut.frozen_at = frozen_at
    cut.settings_version = settings.version if settings is not None else None
    cut.algorithm_version = ALGORITHM_VERSION
    manifest = _manifest(cut, files, datasets)
    with tempfile.TemporaryFile() as scratch:
        scratch.write(manifest)
        files.append(_store(storage, scratch, cut, f"{directory}/{MANIFEST}.json", MANIFEST, "json", 0))
    DataCutFile.objects.bulk_create(files)
    cut.manifest_sha256 = files[-1].sha256
    cut.status, cut.error = DataCutStatus.READY, ""
    stamp(cut, user=user, reason="Data cut frozen: files written and checksummed")
    cut.save()


def _spool(rows: Iterable[Row], spool: IO[bytes]) -> int:
    """Read the dataset once into a scratch file, a pickled batch at a time; the number of rows."""
    count = 0
    for batch in batches(rows, SPOOL_BATCH):
        pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
        count += len(batch)
    return count


def _unspool(spool: IO[bytes]) -> Iterator[Row]:
    """The spooled rows again, a batch in memory at a time (the file is this process's own scratch file)."""
    spool.seek(0)
    while True:
        try:
            batch = pickle.load(spool)  # noqa: S301 - our own scratch file, written just above, never input
        except EOFError:
            return
        yield from batch


def _store(
    storage: Any, scratch: IO[bytes], cut: DataCut, name: str, dataset: str, code: str, rows: int
) -> DataCutFile:
    """Checksum the scratch file and save it to the storage, once (read-only from then on)."""
    digest = hashlib.sha256()
    scratch.seek(0)
    while block := scratch.read(_BLOCK):
        digest.update(block)
    size = scratch.tell()
    scratch.seek(0)
    stored = storage.save(name, File(scratch, name=name))
    if stored != name:  # an earlier attempt's file survived the clean-up: never write beside it
        storage.delete(stored)
        raise RuntimeError(f"{name} already exists in the data-cut storage")
    return DataCutFile(
        cut=cut, dataset=dataset, format=code, rows=rows, size=size, sha256=digest.hexdigest(), file=name
    )


def _manifest(cut: DataCut, files: list[DataCutFile], datasets: list[dict[str, Any]]) -> bytes:
    """``manifest.json``: the cut, its provenance and every file with its checksum (sorted keys: stable bytes)."""
    frozen_at: datetime = cut.frozen_at  # type: ignore[assignment]
    document = {
        "trial": {"code": cut.trial.code, "name": cut.trial.short_name, "registry_id": cut.trial.registry_id},
        "data_cut": {
            "id": cut.pk,
            "name": cut.name,
            "description": cut.description,
            "frozen_at": frozen_at.isoformat(),
            "frozen_by": cut.frozen_by.get_username(),
            "analysis_settings_version": cut.settings_version,
            "algorithm_version": cut.algorithm_version,
        },
        "files": [
            {
                "dataset": file.dataset,
                "format": file.format,
                "file": file.filename,
                "rows": file.rows,
                "size": file.size,
                "sha256": file.sha256,
            }
            for file in files
        ],
        "datasets": datasets,
    }
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _remove_files(storage: Any, directory: str) -> None:
    try:
        _, names = storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        storage.delete(f"{directory}/{name}")
