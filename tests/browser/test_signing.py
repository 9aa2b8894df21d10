"""An investigator signs a casebook in Chromium by re-entering the password, and with an authenticator code when a
TOTP device is enrolled (issue 8; 21 CFR 11.50, 11.200). A later correction flags the signature for re-signing.

The casebook (a COSMO patient with lesions and a baseline assessment) comes from the scenario builder, through the
services: this test is about signing, not data entry.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from lesions.services import lesion_save
from patients.models import Signature, SignatureScope
from trials.models import Role
from trials.two_factor.services import recovery_code_stored

from ..conftest import Cast
from ..scenarios import Scenario
from .conftest import PASSWORD

pytestmark = pytest.mark.browser

RECOVERY_CODE = "abcdefgh"


def open_signing_page(page: Page, casebook_url: str) -> None:
    page.goto(casebook_url)
    expect(page.locator("#casebook-signature")).to_have_text("Casebook not signed")
    page.get_by_role("link", name="Sign casebook").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign the casebook of")


def test_an_investigator_signs_the_casebook_with_the_password(
    transactional_db: None, cast: Cast, live_server: Any, page: Page, sign_in: Any, screenshot: Any
) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    investigator = cast.user(Role.INVESTIGATOR)
    casebook_url = live_server.url + reverse("patients:detail", kwargs={"subject_id": scenario.patient.subject_id})
    page.set_default_timeout(10_000)

    sign_in(page, investigator.username)
    open_signing_page(page, casebook_url)
    name = f"{investigator.get_full_name()} ({investigator.username})"
    expect(page.locator("#meaning")).to_contain_text(f"I, {name}, approve the data in the casebook of")
    expect(page.locator("#meaning")).to_contain_text("21 CFR 11.50")
    expect(page.locator("#signed-records")).to_contain_text("Tumour assessment at Screening")
    expect(page.get_by_label("Authenticator code")).to_have_count(0)
    screenshot("signing-casebook")

    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign").click()
    expect(page.locator("#sign-form")).to_contain_text("The password is not correct. Nothing was signed.")
    assert not Signature.objects.exists()

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign").click()
    expect(page.locator("#casebook-signature")).to_contain_text(f"Casebook signed by {name}")
    expect(page.locator("#signature-manifest tbody tr")).to_have_count(1)
    signature = Signature.objects.get()
    assert (signature.scope, signature.signer, signature.second_factor) == (
        SignatureScope.CASEBOOK,
        investigator,
        False,
    )
    screenshot("casebook-signed")

    # The coordinator corrects a signed lesion: the signature is invalidated and flagged for re-signing.
    lesion = type(scenario.target).objects.get(pk=scenario.target.pk)
    lesion_save(
        user=scenario.user,
        patient=scenario.patient,
        values={"oligoprogressive": True},
        complete=True,
        instance=lesion,
        reason="Oligoprogressive per the tumour board",
    )
    page.reload()
    expect(page.locator("#casebook-signature")).to_have_text("Casebook needs re-signing")
    expect(page.locator('#signature-manifest tr[data-status="invalidated"]')).to_contain_text(
        "Oligoprogressive per the tumour board"
    )


def test_an_investigator_with_an_authenticator_signs_with_password_and_code(
    transactional_db: None, cast: Cast, live_server: Any, page: Page, sign_in: Any, screenshot: Any
) -> None:
    scenario = Scenario(cast)
    investigator = cast.user(Role.INVESTIGATOR)
    casebook_url = live_server.url + reverse("patients:detail", kwargs={"subject_id": scenario.patient.subject_id})
    page.set_default_timeout(10_000)
    sign_in(page, investigator.username)
    device = TOTPDevice.objects.create(user=investigator, name="Authenticator app", confirmed=True)
    recovery = StaticDevice.objects.create(user=investigator, name="Recovery codes", confirmed=True)
    recovery.token_set.create(token=recovery_code_stored(RECOVERY_CODE))
    # The session now needs its second factor: a recovery code here, so the authenticator's current code is still
    # unused for the signature (django-otp accepts each TOTP code once).
    page.goto(casebook_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Two-factor sign-in")
    page.get_by_label("Code").fill(RECOVERY_CODE)
    page.get_by_role("button", name="Verify").click()

    open_signing_page(page, casebook_url)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill("000000" if _code(device) != "000000" else "111111")
    page.get_by_role("button", name="Sign").click()
    expect(page.locator("#sign-form")).to_contain_text("The authenticator code is missing or not correct.")
    assert not Signature.objects.exists()

    device.refresh_from_db()
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None  # as if the user waited
    device.save()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(_code(device))
    screenshot("signing-casebook-totp")
    page.get_by_role("button", name="Sign").click()
    expect(page.locator("#casebook-signature")).to_contain_text("Casebook signed by")
    assert Signature.objects.get().second_factor


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"
