"""Data cuts: frozen once from one snapshot, every dataset in every format with checksums, and downloaded later byte
for byte as frozen, whatever happened to the data since (issue 6)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import reverse

from lesions.models import TargetMeasurement
from outcomes.datasets import writers
from outcomes.datasets.exports import exports
from outcomes.models import DataCut, DataCutFile, DataCutStatus, ImmutableDataCut
from outcomes.services import datacuts
from trials.models import Role

from ...conftest import Cast
from .conftest import measured_patient

pytestmark = pytest.mark.django_db

STATISTICIAN = Role.STATISTICIAN


def _freeze(cast: Cast, capture: Any, name: str = "DMC 1") -> DataCut:
    with capture(execute=True):
        cut = datacuts.datacut_request(user=cast.user(STATISTICIAN), trial=cast.cosmo, name=name, description="DMC")
    cut.refresh_from_db()
    return cut


def _file_url(cut: DataCut, dataset: str, fmt: str) -> str:
    return reverse("api:datacut_file", kwargs={"code": cut.trial.code, "pk": cut.pk, "dataset": dataset, "fmt": fmt})


def _get(client: Any, url: str) -> Any:
    response = client.get(url)
    return response, b"".join(response.streaming_content) if response.status_code == 200 else response.content


def test_a_cut_holds_every_dataset_in_every_format_with_its_checksum(
    cast: Cast, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    measured_patient(cast, site=cast.site_a, screening_number="A-1")

    cut = _freeze(cast, django_capture_on_commit_callbacks)

    assert cut.status == DataCutStatus.READY and cut.frozen_at is not None
    assert cut.algorithm_version and cut.settings_version == 1
    files = {(f.dataset, f.format): f for f in cut.files.all()}
    assert set(files) == {(slug, code) for slug in exports() for code in writers.FORMATS} | {("manifest", "json")}
    assert files[("measurements", "csv")].rows == 5
    for file in files.values():
        path = Path(media) / file.file.name
        assert path.parent == Path(media) / "datacuts" / "cosmo" / str(cut.pk)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == file.sha256 and path.stat().st_size == file.size
        assert not os.access(path, os.W_OK) or os.geteuid() == 0  # read-only (root ignores the mode)
        assert path.stat().st_mode & 0o222 == 0
    manifest_bytes = (Path(media) / files[("manifest", "json")].file.name).read_bytes()
    assert hashlib.sha256(manifest_bytes).hexdigest() == cut.manifest_sha256
    manifest = json.loads(manifest_bytes)
    assert manifest["data_cut"]["name"] == "DMC 1" and manifest["data_cut"]["frozen_by"] == "statistician"
    listed = {(entry["dataset"], entry["format"]): entry["sha256"] for entry in manifest["files"]}
    assert listed == {key: file.sha256 for key, file in files.items() if key[0] != "manifest"}
    assert {d["slug"] for d in manifest["datasets"]} == set(exports())


def test_a_download_is_the_frozen_bytes_after_the_data_changed(
    client: Any, cast: Cast, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    measured_patient(cast, site=cast.site_a, screening_number="A-1")
    cut = _freeze(cast, django_capture_on_commit_callbacks)
    client.force_login(cast.user(STATISTICIAN))
    first, before = _get(client, _file_url(cut, "measurements", "csv"))

    TargetMeasurement.objects.update(diameter_tenths=999)  # the data move on after the cut
    measured_patient(cast, site=cast.site_b, screening_number="B-1")
    again, after = _get(client, _file_url(cut, "measurements", "csv"))
    live = b"".join(
        client.get(reverse("api:measurements_download", kwargs={"code": "cosmo", "fmt": "csv"})).streaming_content
    )

    assert first.status_code == again.status_code == 200
    assert before == after and b"25.3" in before
    assert hashlib.sha256(after).hexdigest() == cut.files.get(dataset="measurements", format="csv").sha256
    assert again["X-Checksum-SHA256"] == hashlib.sha256(after).hexdigest()
    assert first["Content-Disposition"] == again["Content-Disposition"]
    assert b"99.9" in live and live != after  # the live export does show the change


def test_a_changed_file_is_refused_not_served(
    client: Any, cast: Cast, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    cut = _freeze(cast, django_capture_on_commit_callbacks)
    file = cut.files.get(dataset="adsl", format="xpt")
    path = Path(media) / file.file.name
    path.chmod(0o640)
    path.write_bytes(path.read_bytes().replace(b"ADSL", b"ADSX"))
    client.force_login(cast.user(STATISTICIAN))

    response = client.get(_file_url(cut, "adsl", "xpt"))
    page = client.get(
        reverse("outcomes:datacut_file", kwargs={"code": "cosmo", "pk": cut.pk, "dataset": "adsl", "fmt": "xpt"})
    )

    assert response.status_code == 409 and "no longer matches" in response.json()["detail"]
    assert page.status_code == 409 and b"not served" in page.content
    path.unlink()
    assert client.get(_file_url(cut, "adsl", "xpt")).status_code == 409  # a missing file too


def test_names_are_unique_in_a_trial(cast: Cast, media: Path, django_capture_on_commit_callbacks: Any) -> None:
    _freeze(cast, django_capture_on_commit_callbacks, name="Final analysis")
    with pytest.raises(ValidationError, match="already has a data cut"):
        datacuts.datacut_request(user=cast.user(STATISTICIAN), trial=cast.cosmo, name="final  ANALYSIS")
    other = datacuts.datacut_request(user=cast.user(STATISTICIAN), trial=cast.avatar2, name="Final analysis")
    assert other.pk


def test_a_frozen_cut_and_its_files_never_change(
    cast: Cast, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    cut = _freeze(cast, django_capture_on_commit_callbacks)
    cut.name = "Renamed"
    with pytest.raises(ImmutableDataCut):
        cut.save()
    with pytest.raises(ImmutableDataCut):
        cut.delete()
    file = cut.files.first()
    assert file is not None
    file.sha256 = "0" * 64
    with pytest.raises(ImmutableDataCut):
        file.save()
    with pytest.raises(ImmutableDataCut):
        file.delete()
    assert datacuts.datacut_freeze(cut_id=cut.pk).manifest_sha256 == DataCut.objects.get().manifest_sha256


def test_a_failure_keeps_nothing_but_the_error(
    cast: Cast, media: Path, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> Any:
        raise RuntimeError("the database went away")
        yield  # a generator, as every dataset's rows are

    real = exports()
    adae = real["adae"]
    failing = {**real, "adae": replace(adae, dataset=replace(adae.dataset, rows=broken))}
    monkeypatch.setattr(datacuts, "exports", lambda: failing)
    cut = _freeze(cast, django_capture_on_commit_callbacks)

    assert cut.status == DataCutStatus.FAILED and "the database went away" in cut.error
    assert not DataCutFile.objects.exists()
    assert not list((Path(media) / "datacuts" / "cosmo" / str(cut.pk)).glob("*"))


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.STATISTICIAN, Role.SPONSOR_ADMIN)])
def test_other_roles_get_404_for_every_data_cut_url(
    client: Any, cast: Cast, media: Path, django_capture_on_commit_callbacks: Any, role: str
) -> None:
    cut = _freeze(cast, django_capture_on_commit_callbacks)
    client.force_login(cast.user(role))
    urls = [
        reverse("api:datacut_list", kwargs={"code": "cosmo"}),
        reverse("api:datacut_detail", kwargs={"code": "cosmo", "pk": cut.pk}),
        _file_url(cut, "manifest", "json"),
        reverse("outcomes:datacut_detail", kwargs={"code": "cosmo", "pk": cut.pk}),
    ]
    assert [client.get(url).status_code for url in urls] == [404] * len(urls)
    assert client.post(urls[0], {"name": "Mine"}).status_code == 404


def test_the_api_freezes_lists_and_describes_a_cut(
    client: Any, cast: Cast, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(cast.user(STATISTICIAN))
    url = reverse("api:datacut_list", kwargs={"code": "cosmo"})
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(url, {"name": "DMC 1", "description": "First DMC"}, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["status"] == "pending"  # the freeze runs after the request's commit (here: after the answer)
    detail = client.get(created.json()["url"]).json()
    assert detail["status"] == "ready" and detail["frozen_by"] == "statistician" and detail["name"] == "DMC 1"
    assert len(detail["files"]) == len(exports()) * len(writers.FORMATS) + 1
    manifest = next(f for f in detail["files"] if f["dataset"] == "manifest")
    assert manifest["sha256"] == detail["manifest_sha256"]
    assert client.get(manifest["url"])["X-Checksum-SHA256"] == manifest["sha256"]
    listed = client.get(url).json()["results"]
    assert [cut["name"] for cut in listed] == ["DMC 1"]
    again = client.post(url, {"name": "dmc 1"}, content_type="application/json")
    assert again.status_code == 400 and "name" in again.json()
    assert client.post(url, {"name": ""}, content_type="application/json").status_code == 400
    assert client.get(_file_url(DataCut.objects.get(), "adsl", "sav")).status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_read_of_a_freeze_sees_one_snapshot(cast: Cast) -> None:
    """On PostgreSQL the freeze's transaction is REPEATABLE READ: a row committed by someone else meanwhile is not
    seen by the reads that follow (READ COMMITTED would see it)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    measured_patient(cast, site=cast.site_a, screening_number="A-1")
    user = cast.user(Role.DATA_MANAGER)
    from outcomes.datasets.measurements import MEASUREMENTS

    def someone_else_edits() -> None:
        TargetMeasurement.objects.update(diameter_tenths=999)
        connections.close_all()

    with datacuts.snapshot():
        first = list(MEASUREMENTS.rows(trial=cast.cosmo, user=user))
        editor = threading.Thread(target=someone_else_edits)
        editor.start()
        editor.join()
        second = list(MEASUREMENTS.rows(trial=cast.cosmo, user=user))
    assert first == second
    assert 99.9 in [row[20] for row in MEASUREMENTS.rows(trial=cast.cosmo, user=user)]


def test_each_dataset_is_read_once_for_all_its_formats(
    cast: Cast, media: Path, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    measured_patient(cast, site=cast.site_a, screening_number="A-1")
    reads: dict[str, int] = {}
    real = exports()

    def counted(slug: str, rows: Any) -> Any:
        def read(**kwargs: Any) -> Any:
            reads[slug] = reads.get(slug, 0) + 1
            return rows(**kwargs)

        return read

    monkeypatch.setattr(
        datacuts,
        "exports",
        lambda: {s: replace(e, dataset=replace(e.dataset, rows=counted(s, e.dataset.rows))) for s, e in real.items()},
    )
    cut = _freeze(cast, django_capture_on_commit_callbacks)

    assert reads == dict.fromkeys(real, 1)
    assert {f.rows for f in cut.files.filter(dataset="measurements")} == {5}
