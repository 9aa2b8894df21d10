"""HTTP responses for dataset exports and data-cut files, shared by the API (``api_datasets.py``) and the screens
(``views_datacuts.py``).

An export is read as it is sent: CSV, JSON and SAS transport go out as a ``StreamingHttpResponse`` whose chunks are
produced while the rows are read from the database, so memory stays flat however big the trial; XLSX and Stata need a
seekable file (a zip archive; a header holding the row count), so they are written to a temporary file first (in
chunks, never the whole dataset in memory) which a ``FileResponse`` then sends block by block and deletes. A
data-cut file is the stored file itself, checked against its recorded SHA-256 before the first byte is sent.

File names say what and when: ``<trial>_<dataset>_<yyyymmddThhmm>.<ext>`` (UTC), the time of the export or, for a
data cut, the time it was frozen (so a cut's file has the same name at every download).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone

from trials.models import Trial

from .datasets import writers
from .datasets.exports import Export
from .models import DataCutFile
from .selectors_datacuts import datacut_file_open


def export_filename(trial: Trial, slug: str, extension: str, moment: datetime) -> str:
    return f"{trial.code}_{slug}_{moment.astimezone(UTC):%Y%m%dT%H%M}.{extension}"


def _no_store(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "no-store, private"  # clinical data: no cache keeps a copy
    return response


def export_response(*, export: Export, fmt: str, trial: Trial, user: object) -> HttpResponseBase:
    """The dataset in format ``fmt`` as a download, read from the user's scope as it is sent."""
    spec = writers.FORMATS[fmt]
    now = timezone.now()
    filename = export_filename(trial, export.slug, fmt, now)
    rows = export.dataset.rows(trial=trial, user=user)
    if spec.streams:
        response: HttpResponseBase = StreamingHttpResponse(
            writers.stream(fmt, export.dataset, rows, created=now), content_type=spec.content_type
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return _no_store(response)
    scratch = tempfile.TemporaryFile()  # noqa: SIM115 - the response sends, then closes (and so deletes) it
    try:
        writers.write_to(fmt, export.dataset, rows, scratch, created=now)
        scratch.seek(0)
    except BaseException:
        scratch.close()
        raise
    return _no_store(FileResponse(scratch, as_attachment=True, filename=filename, content_type=spec.content_type))


def datacut_file_response(*, file: DataCutFile) -> HttpResponseBase:
    """The stored bytes of a data-cut file (``DataCutFileChanged`` if they are not the frozen ones)."""
    cut = file.cut
    moment = cut.frozen_at or cut.requested_at
    content_type = writers.FORMATS[file.format].content_type if file.format in writers.FORMATS else "application/json"
    filename = export_filename(cut.trial, file.dataset, file.format, moment)
    opened = datacut_file_open(file=file)
    response = FileResponse(opened, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Checksum-SHA256"] = file.sha256
    return _no_store(response)
