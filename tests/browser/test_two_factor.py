"""Two-factor sign-in in Chromium: an investigator enrols with the key shown on the page, keeps the recovery codes,
signs out and back in with a code; the page's Content-Security-Policy refuses nothing; the idle-session warning.

The live server runs in this process, so ``override_settings`` switches the production roles back on for it.
"""

from __future__ import annotations

from base64 import b32decode
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from trials.models import SignInEvent, SignInOutcome

from ..conftest import Cast
from .conftest import PASSWORD

pytestmark = pytest.mark.browser

PRODUCTION_ROLES = ("investigator", "data_manager", "statistician", "sponsor_admin")


def _code_from(secret: str, drift: int = 0) -> str:
    """What an authenticator app shows for the key typed in from the page (``drift=1``: its clock a step ahead)."""
    key = b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key, drift=drift):06d}"


def _password_step(page: Page, live_server: Any, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _watch_csp(page: Page) -> list[str]:
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    return refused


@override_settings(TWO_FACTOR_REQUIRED_ROLES=PRODUCTION_ROLES)
def test_an_investigator_enrols_keeps_the_recovery_codes_and_signs_in_again_with_a_code(
    transactional_db: None, cast: Cast, live_server: Any, page: Page, screenshot: Any, sign_out: Any
) -> None:
    refused = _watch_csp(page)
    investigator = cast.user("investigator")
    _password_step(page, live_server, investigator.username)
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.locator("svg.two-factor-qr")).to_be_visible()
    screenshot("two-factor-enrol")
    secret = page.get_by_test_id("totp-secret").inner_text()

    page.get_by_label("Code from the app").fill("000000" if _code_from(secret) != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("That code does not match")).to_be_visible()

    page.get_by_label("Code from the app").fill(_code_from(secret))
    page.get_by_role("button", name="Confirm").click()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    screenshot("two-factor-recovery-codes")
    page.get_by_role("link", name="I have saved my codes, continue").click()
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Patients", exact=True).click()
    page.wait_for_url("**/patients/")
    sign_out(page)

    _password_step(page, live_server, investigator.username)
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    screenshot("two-factor-verify")
    # The enrolment used this time step's code; a code may not be used twice, so the app's next one.
    page.get_by_label("Code").fill(_code_from(secret, drift=1))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("navigation", name="Main navigation").wait_for()
    assert page.url.rstrip("/") == live_server.url
    outcomes = set(SignInEvent.objects.filter(user=investigator).values_list("outcome", flat=True))
    assert {SignInOutcome.TWO_FACTOR_ENROLLED, SignInOutcome.TWO_FACTOR_VERIFIED, SignInOutcome.SIGNED_OUT} <= outcomes
    assert refused == []


@override_settings(SESSION_COOKIE_AGE=10)
def test_an_idle_session_warns_before_it_ends_and_stay_signed_in_keeps_it(
    transactional_db: None, cast: Cast, live_server: Any, page: Page, screenshot: Any, sign_in: Any
) -> None:
    """With a 10-second idle timeout the warning comes after 5 seconds (half the time, at most two minutes)."""
    refused = _watch_csp(page)
    sign_in(page, "site_coordinator")
    warning = page.get_by_role("alertdialog")
    expect(warning).to_be_visible(timeout=9000)
    expect(warning).to_contain_text("You will be signed out in")
    screenshot("session-timeout-warning")
    with page.expect_response(lambda r: r.url.endswith(reverse("security:keep_alive"))) as kept:
        warning.get_by_role("button", name="Stay signed in").click()
    assert kept.value.status == 204
    expect(warning).to_be_hidden()
    # Left alone, the page goes to the sign-in page when the time is up, and the server agrees.
    page.wait_for_url("**/accounts/login/**", timeout=15000)
    page.goto(live_server.url + reverse("patients:list"))
    assert "/accounts/login/" in page.url
    assert refused == []
