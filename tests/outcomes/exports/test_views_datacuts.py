"""The statisticians' data-cut screens: list and freeze, the manifest with its checksums, the downloads."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from outcomes.models import DataCut
from trials.models import Role

from ...conftest import Cast

pytestmark = pytest.mark.django_db


def test_a_statistician_freezes_a_cut_and_sees_its_manifest(
    client: Any, cast: Cast, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    url = reverse("outcomes:datacut_list", kwargs={"code": "avatar2"})
    page = client.get(url)
    assert page.status_code == 200 and b"Freeze data cut" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"name": "DMC 1", "description": "First DMC meeting"})
    cut = DataCut.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "outcomes:datacut_detail", kwargs={"code": "avatar2", "pk": cut.pk}
    )

    detail = client.get(response.url)
    assert detail.status_code == 200
    assert cut.manifest_sha256.encode() in detail.content and b"Frozen" in detail.content
    file = cut.files.get(dataset="adtte", format="dta")
    assert file.sha256.encode() in detail.content
    download_url = reverse(
        "outcomes:datacut_file", kwargs={"code": "avatar2", "pk": cut.pk, "dataset": "adtte", "fmt": "dta"}
    )
    assert download_url.encode() in detail.content
    download = client.get(download_url)
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == file.sha256
    listing = client.get(url)
    assert b"DMC 1" in listing.content and b"First DMC meeting" in listing.content


def test_the_freeze_form_reports_a_name_already_taken(
    client: Any, cast: Cast, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(cast.user(Role.SPONSOR_ADMIN))
    url = reverse("outcomes:datacut_list", kwargs={"code": "cosmo"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"name": "Final"})
    response = client.post(url, {"name": "final"})
    assert response.status_code == 200 and "already has a data cut named" in response.content.decode()
    assert DataCut.objects.count() == 1


def test_the_index_lists_each_trial_and_the_menu_links_it(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    page = client.get(reverse("outcomes:datacut_index"))
    assert page.status_code == 200
    assert b"AVATAR II" in page.content and b"COSMO" in page.content
    assert f'href="{reverse("outcomes:datacut_index")}"'.encode() in page.content  # the navigation entry


@pytest.mark.parametrize("role", [Role.DATA_MANAGER, Role.SITE_COORDINATOR, Role.TRIAL_MANAGER])
def test_other_roles_have_neither_the_pages_nor_the_menu_entry(client: Any, cast: Cast, role: str) -> None:
    client.force_login(cast.user(role))
    assert client.get(reverse("outcomes:datacut_index")).status_code == 404
    assert client.get(reverse("outcomes:datacut_list", kwargs={"code": "cosmo"})).status_code == 404
    assert client.post(reverse("outcomes:datacut_list", kwargs={"code": "cosmo"}), {"name": "X"}).status_code == 404
    home = client.get(reverse("home"))
    assert reverse("outcomes:datacut_index").encode() not in home.content
    assert not DataCut.objects.exists()
