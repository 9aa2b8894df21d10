"""Errors under /api/ are JSON even when no DRF view answers: a program never gets the browser's HTML page."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import get_resolver

from trials.models import Role
from trials.views_errors import server_error

from ..conftest import Cast


@pytest.mark.parametrize("path", ["/api/v2/patients/", "/api/v1/no-such-resource/", "/api/v1/patients/x/y/z/"])
def test_an_unmatched_api_path_answers_json_404(client: Client, cast: Cast, path: str) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("Not found")


def test_an_unmatched_page_outside_the_api_stays_html(client: Client, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    response = client.get("/patients/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_crash_under_the_api_answers_json_500() -> None:
    assert get_resolver().resolve_error_handler(500) is server_error  # wired in cosmo_avatar/urls.py
    response = server_error(RequestFactory().get("/api/v1/patients/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b"Server error" in response.content
    assert server_error(RequestFactory().get("/patients/"))["Content-Type"].startswith("text/html")
