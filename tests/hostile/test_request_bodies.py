"""Oversized and malformed request bodies (issue 9).

The product takes no file upload: no view reads ``request.FILES`` and no form has a file field (the one FileField,
``DataCut.file``, holds files the EDC writes itself). A test below keeps it so: an upload added later fails it
until hostile-upload tests join this package. What remains are request bodies, under Django's defaults (the
settings set none of them): ``DATA_UPLOAD_MAX_MEMORY_SIZE`` 2.5 MB, ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` 1,000 and
``FILE_UPLOAD_MAX_MEMORY_SIZE`` 2.5 MB. Each limit answers 400 on the screens and the API, never 500, and writes
nothing; malformed JSON, a wrong content type, deeply nested JSON and multipart garbage get a clear 4xx.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from trials.models import Role

from .conftest import Casebook
from .hostile import fingerprint

TWO_AND_A_HALF_MB = 2_621_440
PRODUCT_APPS = ("cosmo_avatar", "trials", "patients", "lesions", "outcomes")


def test_no_view_accepts_a_file_upload() -> None:
    found = []
    for app in PRODUCT_APPS:
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            if re.search(r"request\.FILES|forms\.(File|Image)Field|FileInput", text):
                found.append(str(path.relative_to(settings.BASE_DIR)))
    assert not found, f"an upload was added ({found}): give it hostile-upload tests in tests/hostile/"


def test_the_body_limits_are_django_s_defaults() -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == TWO_AND_A_HALF_MB
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 1000
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE == TWO_AND_A_HALF_MB


@pytest.fixture
def coordinator_client(casebook: Casebook) -> Client:
    client = Client()
    client.force_login(casebook.coordinator)
    return client


def _demographics_url(casebook: Casebook) -> str:
    patient = casebook.patients["avatar2"]
    visit = casebook.visits[("avatar2", "screening")]
    url = reverse("patients:crf_new", kwargs={"subject_id": patient.subject_id, "code": "demographics"})
    return f"{url}?visit={visit.pk}"


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_form_post_over_the_size_limit_is_refused_with_400(
    coordinator_client: Client, casebook: Casebook, encoding: str
) -> None:
    before = fingerprint()
    body = {"ecog": "1", "menopausal_status": "A" * (TWO_AND_A_HALF_MB + 10)}
    if encoding == "urlencoded":
        response = coordinator_client.post(
            _demographics_url(casebook),
            "&".join(f"{key}={value}" for key, value in body.items()),
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = coordinator_client.post(_demographics_url(casebook), body)
    assert response.status_code == 400
    assert fingerprint() == before


def test_a_form_post_with_too_many_fields_is_refused_with_400(coordinator_client: Client, casebook: Casebook) -> None:
    before = fingerprint()
    body = {f"field{index}": "x" for index in range(1001)} | {"ecog": "1"}
    response = coordinator_client.post(_demographics_url(casebook), body)
    assert response.status_code == 400
    assert fingerprint() == before


@pytest.mark.parametrize(
    "garbage",
    [
        b'--xyz\r\nContent-Disposition: form-data; name="ecog"\r\n\r\n1',  # never closed
        b"\x00\xff\xfe garbage \x89PNG\r\n\x1a\n",
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="../../etc/passwd"\r\n\r\nroot\r\n--xyz--',
        b"--xyz--",
    ],
)
def test_multipart_garbage_to_a_form_is_refused_cleanly(
    coordinator_client: Client, casebook: Casebook, garbage: bytes
) -> None:
    before = fingerprint()
    response = coordinator_client.generic(
        "POST", _demographics_url(casebook), garbage, content_type="multipart/form-data; boundary=xyz"
    )
    assert response.status_code in (200, 302, 400)  # 302: the parser took what it could read as a draft
    if response.status_code != 302:
        assert fingerprint() == before


def test_a_form_post_that_is_not_utf_8_is_refused_cleanly(coordinator_client: Client, casebook: Casebook) -> None:
    before = fingerprint()
    response = coordinator_client.post(
        _demographics_url(casebook),
        "ecog=1&menopausal_status=%FF%FE%00".encode("latin-1") + b"&other_findings=\xe9\xff",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 400)
    assert fingerprint() == before


# --- The JSON API -----------------------------------------------------------------------------------------------------

API_WRITES = ["api:crf-demographics-list", "api:crf-adverse-event-list", "api:lesion-list", "api:token_list"]


def _json_error(response: Any) -> str:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body, "an empty error body"
    return json.dumps(body)


@pytest.mark.parametrize("name", API_WRITES)
@pytest.mark.parametrize(
    ("body", "content_type", "statuses"),
    [
        pytest.param(b'{"ecog": 1,', "application/json", (400,), id="truncated"),
        pytest.param(b"{'ecog': 1}", "application/json", (400,), id="single-quotes"),
        pytest.param(b'{"ecog": NaN}', "application/json", (400,), id="nan"),
        pytest.param(b'{"ecog": Infinity}', "application/json", (400,), id="infinity"),
        pytest.param(b'{"ecog": 1e999}', "application/json", (400,), id="overflowing-number"),
        pytest.param(b"\xff\xfe{\x00}\x00", "application/json", (400,), id="utf-16"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", "application/json", (400,), id="binary"),
        pytest.param(b"", "application/json", (400,), id="empty"),
        pytest.param(b"[]", "application/json", (400,), id="a-list"),
        pytest.param(b'"text"', "application/json", (400,), id="a-string"),
        pytest.param(b'{"text": "a\\u0000b", "patient": "x"}', "application/json", (400,), id="nul-in-a-string"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", (400,), id="deeply-nested-list"),
        pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json", (400,), id="deeply-nested-object"),
        pytest.param(b"ecog=1", "text/plain", (415,), id="text-plain"),
        pytest.param(b"<ecog>1</ecog>", "application/xml", (415,), id="xml"),
        pytest.param(b"--xyz\r\n\x00garbage", "multipart/form-data; boundary=xyz", (400, 415), id="multipart"),
    ],
)
def test_a_malformed_api_body_gets_a_clear_4xx(
    coordinator_client: Client, casebook: Casebook, name: str, body: bytes, content_type: str, statuses: tuple[int]
) -> None:
    before = fingerprint()
    response = coordinator_client.generic("POST", reverse(name), body, content_type=content_type)
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert _json_error(response)
    assert fingerprint() == before


@pytest.mark.parametrize("name", API_WRITES)
def test_an_api_body_over_the_size_limit_is_refused_with_400(
    coordinator_client: Client, casebook: Casebook, name: str
) -> None:
    before = fingerprint()
    body = json.dumps({"text": "A" * (TWO_AND_A_HALF_MB + 10)})
    response = coordinator_client.post(reverse(name), body, content_type="application/json")
    assert response.status_code in (400, 413)
    assert fingerprint() == before


def test_a_wrong_method_with_a_body_gets_405_not_500(coordinator_client: Client, casebook: Casebook) -> None:
    response = coordinator_client.generic(
        "PUT", reverse("api:crf-demographics-list"), b"{}", content_type="application/json"
    )
    assert response.status_code == 405
    assert _json_error(response)


def test_a_statistician_s_api_write_with_a_bad_body_is_refused_before_parsing(casebook: Casebook) -> None:
    """The read-only role is refused whatever the body: the permission answers before the parser reads it."""
    client = Client()
    client.force_login(casebook.cast.user(Role.STATISTICIAN))
    response = client.generic(
        "POST", reverse("api:crf-demographics-list"), b"[" * 10_000, content_type="application/json"
    )
    assert 400 <= response.status_code < 500
