"""Security hardening: Content-Security-Policy and other headers, CSRF everywhere, session fixation, POST-only
sign-out, the session timeout warning."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ..conftest import Cast
from ..security.test_permission_matrix import MATRIX, records  # noqa: F401 (records: a fixture the rows need)

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
TEMPLATES = Path(settings.BASE_DIR) / "templates"


@pytest.mark.parametrize("name", ["login", "home", "patients:list", "security:two_factor", "audit:integrity"])
def test_pages_carry_the_strict_content_security_policy(client: Any, cast: Cast, name: str) -> None:
    if name != "login":
        client.force_login(cast.user("sponsor_admin"))
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == PAGE_POLICY


def test_errors_and_redirects_carry_it_too(client: Any, cast: Cast) -> None:
    assert client.get(reverse("home"))["Content-Security-Policy"] == PAGE_POLICY  # 302 to the login page
    client.force_login(cast.user("site_coordinator"))
    missing = client.get(reverse("users:list"))
    assert missing.status_code == 404 and missing["Content-Security-Policy"] == PAGE_POLICY


@pytest.mark.parametrize("name", ["api:docs", "api:redoc"])
def test_only_the_api_documentation_pages_may_run_their_inline_scripts(client: Any, cast: Cast, name: str) -> None:
    client.force_login(cast.user("statistician"))
    response = client.get(reverse(name))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy and "worker-src 'self' blob:" in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_other_headers(client: Any, cast: Cast) -> None:
    client.force_login(cast.user("site_coordinator"))
    response = client.get(reverse("patients:list"))
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store, private"  # a casebook never stays in the browser's cache


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.IGNORECASE)
_INLINE_STYLE = re.compile(r"<style\b|\sstyle=\"", re.IGNORECASE)
_INLINE_HANDLER = re.compile(r"\son[a-z]+=\"", re.IGNORECASE)


#: The API documentation pages (templates/drf_spectacular/) are served under their own, relaxed policy.
PAGE_TEMPLATES = sorted(p for p in TEMPLATES.rglob("*.html") if p.relative_to(TEMPLATES).parts[0] != "drf_spectacular")


@pytest.mark.parametrize("path", PAGE_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_scripts_styles_or_event_handlers(path: Path) -> None:
    """The policy would silently refuse them in the browser; this says where, before anyone clicks."""
    text = path.read_text()
    assert not _INLINE_SCRIPT.search(text), "inline <script>: move it to static/js/"
    assert not _INLINE_STYLE.search(text), "inline style: use a class (static/css/edc.css)"
    assert not _INLINE_HANDLER.search(text), "inline event handler: use addEventListener in static/js/"


def test_htmx_is_told_not_to_inject_its_indicator_style(client: Any, cast: Cast) -> None:
    client.force_login(cast.user("site_coordinator"))
    html = client.get(reverse("home")).content.decode()
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false}'>""" in html


# --- CSRF ------------------------------------------------------------------------------------------------------------


def _views(resolver: URLResolver, namespace: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            found += _views(pattern, f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace)
        elif isinstance(pattern, URLPattern):
            found.append((f"{namespace}{pattern.name}", pattern.callback))
    return found


def test_no_page_is_exempt_from_csrf_protection() -> None:
    """Django's CSRF check runs for every page. DRF views are exempt from Django's check because DRF runs the same
    check itself for session-authenticated requests (token requests carry no cookie to forge)."""
    exempt = [name for name, view in _views(get_resolver()) if getattr(view, "csrf_exempt", False)]
    assert exempt and all(name.startswith("api:") for name in exempt)
    assert (
        "rest_framework.authentication.SessionAuthentication"
        in settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    )


POSTS: list[tuple[str, Callable[[Cast], str], str | None]] = [
    ("login", lambda cast: reverse("login"), None),
    ("logout", lambda cast: reverse("logout"), "site_coordinator"),
    ("password_change", lambda cast: reverse("password_change"), "site_coordinator"),
    ("patients:register", lambda cast: reverse("patients:register"), "site_coordinator"),
    ("users:create", lambda cast: reverse("users:create"), "sponsor_admin"),
    (
        "trials:analysis_settings_change",
        lambda cast: reverse("trials:analysis_settings_change", kwargs={"code": cast.avatar2.code}),
        "statistician",
    ),
    ("tokens:create", lambda cast: reverse("tokens:create"), "statistician"),
    ("security:two_factor_enrol", lambda cast: reverse("security:two_factor_enrol"), "investigator"),
    ("security:keep_alive", lambda cast: reverse("security:keep_alive"), "investigator"),
    (
        "security:two_factor_reset",
        lambda cast: reverse("security:two_factor_reset", kwargs={"pk": cast.user("investigator").pk}),
        "sponsor_admin",
    ),
    ("audit:integrity_verify", lambda cast: reverse("audit:integrity_verify"), "data_manager"),
    ("api:token_list", lambda cast: reverse("api:token_list"), "statistician"),
]


@pytest.mark.parametrize(("name", "build", "role"), POSTS, ids=[name for name, *_ in POSTS])
def test_a_post_without_a_csrf_token_is_refused(cast: Cast, name: str, build: Any, role: str | None) -> None:
    client = Client(enforce_csrf_checks=True)
    if role:
        client.force_login(cast.user(role))
    response = client.post(build(cast), {"reason": "x", "code": "123456", "name": "x"})
    assert response.status_code == 403
    assert b"CSRF" in response.content


@pytest.mark.parametrize(
    ("name", "build"),
    [(name, build) for name, build, method, _ in MATRIX if method == "post"],
    ids=[name for name, _, method, _ in MATRIX if method == "post"],
)
def test_every_post_of_the_permission_matrix_refuses_a_missing_csrf_token(
    cast: Cast,
    records: None,  # noqa: F811 (the matrix's fixture, imported above)
    name: str,
    build: Any,
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.user("investigator"))
    assert client.post(build(cast, cast.patient_a)).status_code == 403


def test_the_session_key_changes_at_sign_in(client: Any, cast: Cast) -> None:
    client.get(reverse("login"))
    session = client.session
    session["seen_login_page"] = True
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = client.post(reverse("login"), {"username": "site_coordinator", "password": "Correct-Horse-Battery-42"})
    assert response.status_code == 302
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before


def test_signing_out_is_post_only(client: Any, cast: Cast) -> None:
    client.force_login(cast.user("site_coordinator"))
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("patients:list")).status_code == 200  # still signed in
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("patients:list")).status_code == 302


# --- Session timeout ------------------------------------------------------------------------------------------------


def test_every_signed_in_page_loads_the_timeout_warning(client: Any, cast: Cast) -> None:
    assert b"session-timeout.js" not in client.get(reverse("login")).content
    client.force_login(cast.user("site_coordinator"))
    html = client.get(reverse("patients:list")).content.decode()
    assert 'src="/static/js/session-timeout.js"' in html
    assert f'data-timeout-seconds="{settings.SESSION_COOKIE_AGE}"' in html
    assert f'data-keep-alive-url="{reverse("security:keep_alive")}"' in html
    assert (Path(settings.BASE_DIR) / "static" / "js" / "session-timeout.js").exists()


def test_the_keep_alive_renews_the_session_and_only_answers_posts(client: Any, cast: Cast) -> None:
    assert client.post(reverse("security:keep_alive")).status_code == 302  # signed out: to the login page
    client.force_login(cast.user("site_coordinator"))
    assert client.get(reverse("security:keep_alive")).status_code == 405
    response = client.post(reverse("security:keep_alive"))
    assert response.status_code == 204
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] in ("", settings.SESSION_COOKIE_AGE)
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
