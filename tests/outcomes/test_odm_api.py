"""``GET /api/v1/trials/{code}/odm.xml``: a streamed XML download; bad parameters answer 400, anything outside the
user's scope or role 404, always as JSON."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from lxml import etree

from trials.models import Role

from ..conftest import Cast
from .odm_support import assert_valid, load_odm_schema, subject_keys


def _url(code: str = "avatar2") -> str:
    return reverse("api:trial_odm", kwargs={"code": code})


def test_it_streams_a_valid_odm_document(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.DATA_MANAGER))
    response = client.get(_url(), {"site": "NL01"}, HTTP_ACCEPT="application/xml")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="avatar2-NL01-odm-')
    document = etree.ElementTree(etree.fromstring(b"".join(response.streaming_content)))
    assert_valid(load_odm_schema(), document)
    assert subject_keys(document) == [cast.patient_a.subject_id]


def test_audit_true_gives_the_transactional_archive(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    response = client.get(_url(), {"audit": "1", "patient": cast.patient_b.subject_id})
    document = etree.fromstring(b"".join(response.streaming_content))
    assert (document.get("FileType"), document.get("Archival"), document.get("Granularity")) == (
        "Transactional",
        "Yes",
        "SingleSubject",
    )


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"audit": "perhaps"}, 400, "audit"),
        ({"site": "nl01; drop"}, 400, "site"),
        ({"patient": "x" * 31}, 400, "patient"),
        ({"site": "FR01"}, 404, "detail"),
        ({"patient": "AVT2-NL01-9999"}, 404, "detail"),
    ],
)
def test_bad_parameters_answer_clearly_in_json(
    client: Any, cast: Cast, query: dict[str, str], status: int, field: str
) -> None:
    client.force_login(cast.user(Role.SPONSOR_ADMIN))
    response = client.get(_url(), query, HTTP_ACCEPT="application/xml")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert field in response.json()


def test_an_unknown_trial_and_a_role_without_the_capability_answer_404(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    assert client.get(_url("no-such-trial")).status_code == 404
    client.force_login(cast.user(Role.TRIAL_MANAGER))
    assert client.get(_url()).status_code == 404
