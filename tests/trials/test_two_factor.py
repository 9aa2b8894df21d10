"""Two-factor sign-in: required per role, QR enrolment, verification, recovery codes, lockout, reset, the API.

The test settings switch the requirement off for the rest of the suite (cosmo_avatar/settings_test.py); these tests
switch the production roles back on with ``required_roles``.
"""

from __future__ import annotations

import importlib.util
import re
from binascii import unhexlify
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from trials.models import SignInEvent, SignInOutcome
from trials.two_factor import services

from ..conftest import Cast

PASSWORD = "Correct-Horse-Battery-42"
PRODUCTION_ROLES = ("investigator", "data_manager", "statistician", "sponsor_admin")
required_roles = override_settings(TWO_FACTOR_REQUIRED_ROLES=PRODUCTION_ROLES)


def test_the_production_default_requires_it_for_investigators_data_managers_statisticians_and_admins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TWO_FACTOR_REQUIRED_ROLES", raising=False)
    path = Path(settings.BASE_DIR) / "cosmo_avatar" / "settings.py"
    spec = importlib.util.spec_from_file_location("fresh_production_settings", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.TWO_FACTOR_REQUIRED_ROLES) == {"investigator", "data_manager", "statistician", "sponsor_admin"}
    assert "django_otp.middleware.OTPMiddleware" in module.MIDDLEWARE
    otp = module.MIDDLEWARE.index("django_otp.middleware.OTPMiddleware")
    assert module.MIDDLEWARE[otp - 1] == "django.contrib.auth.middleware.AuthenticationMiddleware"
    assert module.MIDDLEWARE[otp + 1] == "trials.two_factor.middleware.TwoFactorMiddleware"
    assert "trials.two_factor.api.TwoFactorVerified" in module.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]


def test_the_test_settings_switch_it_off_for_the_rest_of_the_suite() -> None:
    assert settings.TWO_FACTOR_REQUIRED_ROLES == ()


def _sign_in(client: Any, user: Any) -> Any:
    return client.post(reverse("login"), {"username": user.username, "password": PASSWORD})


def _current_code(key: str) -> str:
    return f"{totp(unhexlify(key)):06d}"


def _enrol(client: Any) -> list[str]:
    """Enrol through the screens with the code an app would show; returns the recovery codes shown."""
    client.get(reverse("security:two_factor_enrol"))
    key = client.session[services.ENROL_KEY_SESSION]
    response = client.post(reverse("security:two_factor_enrol"), {"code": _current_code(key)})
    assert response.status_code == 302 and response.url == reverse("security:two_factor_recovery_codes")
    page = client.get(response.url)
    return [code.replace("-", "") for code in page.context["codes"]]


def _device(user: Any) -> TOTPDevice:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    device.last_t = -1  # a later sign-in: the enrolment's own code would be a replay now
    device.save()
    return device


@required_roles
def test_an_investigator_is_sent_to_enrolment_after_the_password(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    assert _sign_in(client, investigator).status_code == 302
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response.url == f"{reverse('security:two_factor_enrol')}?next=%2Fpatients%2F"


@required_roles
@pytest.mark.parametrize(
    "name", ["home", "patients:list", "users:list", "audit:integrity", "password_change", "security:two_factor"]
)
def test_every_page_but_the_two_factor_steps_redirects_until_verified(client: Any, cast: Cast, name: str) -> None:
    client.force_login(cast.user("sponsor_admin"))
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("security:two_factor_enrol"))


@required_roles
def test_the_two_factor_steps_sign_out_and_static_files_stay_reachable(client: Any, cast: Cast) -> None:
    client.force_login(cast.user("investigator"))
    enrol = client.get(reverse("security:two_factor_enrol"))
    assert enrol.status_code == 200 and enrol.context["nav_items"] == []  # no menu of pages not yet open
    assert client.post(reverse("security:keep_alive")).status_code == 204
    assert client.get(f"/{settings.STATIC_URL.strip('/')}/css/edc.css").status_code != 302
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")


@required_roles
def test_enrolment_shows_a_qr_code_and_the_key_and_confirms_with_a_current_code(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    _sign_in(client, investigator)
    page = client.get(reverse("security:two_factor_enrol"))
    html = page.content.decode()
    key = client.session[services.ENROL_KEY_SESSION]
    assert '<svg class="two-factor-qr"' in html and "<path" in html
    assert page.context["secret"].replace(" ", "") in services.provisioning_uri(investigator, key)
    assert "issuer=COSMO%20AVATAR%20II%20EDC" in services.provisioning_uri(investigator, key)
    assert not TOTPDevice.objects.filter(user=investigator).exists()  # nothing stored before the code confirms it

    wrong = client.post(
        reverse("security:two_factor_enrol"), {"code": "000000" if _current_code(key) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and "does not match" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=investigator).exists()

    codes = _enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get(reverse("security:two_factor_recovery_codes")).status_code == 302  # shown once only
    assert TOTPDevice.objects.get(user=investigator).confirmed
    assert client.get(reverse("patients:list")).status_code == 200  # verified by the enrolment itself
    assert SignInEvent.objects.filter(user=investigator, outcome=SignInOutcome.TWO_FACTOR_ENROLLED).exists()


@required_roles
def test_an_enrolled_user_verifies_at_every_sign_in_and_the_session_key_changes(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    _sign_in(client, investigator)
    _enrol(client)
    client.post(reverse("logout"))
    _sign_in(client, investigator)
    response = client.get(reverse("patients:list"))
    assert response.url == f"{reverse('security:two_factor_verify')}?next=%2Fpatients%2F"
    device = _device(investigator)
    before = client.session.session_key
    response = client.post(
        reverse("security:two_factor_verify"), {"code": _current_code(device.key), "next": "/patients/"}
    )
    assert response.status_code == 302 and response.url == "/patients/"
    assert client.session.session_key != before
    assert client.get(reverse("patients:list")).status_code == 200
    assert SignInEvent.objects.filter(user=investigator, outcome=SignInOutcome.TWO_FACTOR_VERIFIED).exists()


@required_roles
def test_a_recovery_code_signs_in_once(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    _sign_in(client, investigator)
    code = _enrol(client)[0]
    for expected in (302, 200):
        client.post(reverse("logout"))
        _sign_in(client, investigator)
        response = client.post(reverse("security:two_factor_verify"), {"code": f"{code[:4]}-{code[4:]}".upper()})
        assert response.status_code == expected
    assert "not valid" in response.content.decode()
    assert not StaticToken.objects.filter(token=services.recovery_code_stored(code)).exists()
    assert services.recovery_codes_left(investigator) == 9
    event = SignInEvent.objects.get(user=investigator, outcome=SignInOutcome.RECOVERY_CODE_USED)
    assert event.detail == "9 left"


@required_roles
def test_an_open_redirect_after_verification_is_refused(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    _sign_in(client, investigator)
    _enrol(client)
    client.post(reverse("logout"))
    _sign_in(client, investigator)
    device = _device(investigator)
    response = client.post(
        reverse("security:two_factor_verify"), {"code": _current_code(device.key), "next": "https://evil.example/"}
    )
    assert response.url == reverse("home")


@required_roles
def test_a_wrong_code_is_refused_logged_and_never_stored(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    _sign_in(client, investigator)
    _enrol(client)
    client.post(reverse("logout"))
    _sign_in(client, investigator)
    device = _device(investigator)
    wrong = "123456" if _current_code(device.key) != "123456" else "654321"
    response = client.post(reverse("security:two_factor_verify"), {"code": wrong})
    assert response.status_code == 200 and "not valid" in response.content.decode()
    assert client.get(reverse("patients:list")).status_code == 302
    event = SignInEvent.objects.get(user=investigator, outcome=SignInOutcome.TWO_FACTOR_FAILED)
    assert wrong not in f"{event.detail}{event.username}{event.user_agent}"
    assert all(wrong not in attempt.post_data for attempt in AccessAttempt.objects.all())
    # The device backs off: right after a wrong code even the right one waits.
    response = client.post(reverse("security:two_factor_verify"), {"code": _current_code(device.key)})
    assert "Too many wrong codes: wait" in response.content.decode()


@required_roles
def test_repeated_wrong_codes_lock_the_account_and_end_the_session(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    _sign_in(client, investigator)
    _enrol(client)
    client.post(reverse("logout"))
    _sign_in(client, investigator)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("security:two_factor_verify"), {"code": "000000"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert _sign_in(client, investigator).status_code == 429  # the password alone no longer gets in either
    assert SignInEvent.objects.filter(username=investigator.username, outcome=SignInOutcome.LOCKED_OUT).exists()


@required_roles
def test_replacing_the_authenticator_needs_the_current_one(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    _sign_in(client, investigator)
    _enrol(client)
    old_key = TOTPDevice.objects.get(user=investigator).key
    client.post(reverse("logout"))
    _sign_in(client, investigator)  # password only: not verified
    response = client.get(reverse("security:two_factor_enrol"))
    assert response.status_code == 302 and response.url.startswith(reverse("security:two_factor_verify"))
    response = client.post(reverse("security:two_factor_enrol"), {"code": "123456"})
    assert response.status_code == 302 and TOTPDevice.objects.get(user=investigator).key == old_key
    client.post(reverse("security:two_factor_verify"), {"code": _current_code(_device(investigator).key)})
    _enrol(client)  # verified: moving to a new phone is allowed
    assert TOTPDevice.objects.get(user=investigator).key != old_key


@required_roles
def test_roles_without_the_requirement_go_straight_in_and_once_enrolled_must_verify(client: Any, cast: Cast) -> None:
    coordinator = cast.user("site_coordinator")
    _sign_in(client, coordinator)
    assert client.get(reverse("patients:list")).status_code == 200
    overview = client.get(reverse("security:two_factor"))
    assert "Your role does not need it" in overview.content.decode()
    _enrol(client)
    client.post(reverse("logout"))
    _sign_in(client, coordinator)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("security:two_factor_verify"))


@required_roles
def test_new_recovery_codes_replace_the_old_ones(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    _sign_in(client, investigator)
    old = _enrol(client)
    response = client.post(reverse("security:two_factor_recovery_codes"))
    assert response.status_code == 302
    new = [c.replace("-", "") for c in client.get(response.url).context["codes"]]
    assert len(new) == 10 and not set(new) & set(old)
    stored = set(StaticToken.objects.filter(device__user=investigator).values_list("token", flat=True))
    assert stored == {services.recovery_code_stored(code) for code in new}
    assert not stored & set(new)  # no code is kept in clear


def test_the_sponsor_admin_resets_a_lost_authenticator_with_a_reason(client: Any, cast: Cast) -> None:
    investigator = cast.user("investigator")
    with required_roles:
        _sign_in(client, investigator)
        _enrol(client)
        client.post(reverse("logout"))
    admin = cast.user("sponsor_admin")
    client.force_login(admin)
    url = reverse("security:two_factor_reset", kwargs={"pk": investigator.pk})
    assert "has no authenticator" not in client.get(url).content.decode()
    assert client.post(url, {"reason": " "}).status_code == 200
    assert TOTPDevice.objects.filter(user=investigator).exists()
    response = client.post(url, {"reason": "Phone lost; identity checked by video call"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=investigator).exists()
    assert services.recovery_codes_left(investigator) == 0
    event = SignInEvent.objects.get(outcome=SignInOutcome.TWO_FACTOR_RESET)
    assert (event.user, event.actor, event.detail) == (
        investigator,
        admin,
        "Phone lost; identity checked by video call",
    )
    client.post(reverse("logout"))
    with required_roles:
        _sign_in(client, investigator)
        assert client.get(reverse("home")).url.startswith(reverse("security:two_factor_enrol"))


@required_roles
def test_an_unverified_browser_session_gets_403_from_the_api_with_a_clear_message(client: Any, cast: Cast) -> None:
    _sign_in(client, cast.user("statistician"))
    response = client.get(reverse("api:schema"))
    assert response.status_code == 403
    assert b"Two-factor sign-in is not complete" in response.content
    # Not a redirect: API clients get an answer they can read.
    response = client.get(reverse("api:token_list"))
    assert response.status_code == 403 and "Two-factor" in response.json()["detail"]


@required_roles
def test_a_verified_browser_session_uses_the_api(client: Any, cast: Cast) -> None:
    _sign_in(client, cast.user("statistician"))
    _enrol(client)
    assert client.get(reverse("api:schema")).status_code == 200


@required_roles
def test_api_token_requests_are_not_held_up_by_the_second_factor(client: Any, cast: Cast) -> None:
    from trials.services_tokens import api_token_create

    statistician = cast.user("statistician")
    issued = api_token_create(
        actor=statistician, owner=statistician, name="R laptop", expires_in_days=30, read_only=True
    )
    response = client.get(reverse("api:token_list"), HTTP_AUTHORIZATION=f"Token {issued.plaintext}")
    assert response.status_code == 200


@required_roles
def test_creating_an_api_token_in_the_browser_needs_a_verified_session(client: Any, cast: Cast) -> None:
    _sign_in(client, cast.user("investigator"))
    response = client.get(reverse("tokens:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("security:two_factor_enrol"))
    assert services.two_factor_satisfied(cast.user("site_coordinator"))


@required_roles
def test_htmx_requests_are_sent_to_the_two_factor_step_as_a_full_page(client: Any, cast: Cast) -> None:
    client.force_login(cast.user("investigator"))
    response = client.get(reverse("patients:list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"].startswith(reverse("security:two_factor_enrol"))


@required_roles
def test_recovery_codes_are_kept_only_as_keyed_hashes_and_older_clear_ones_are_hashed(client: Any, cast: Cast) -> None:
    from importlib import import_module

    from django.apps import apps

    investigator = cast.user("investigator")
    _sign_in(client, investigator)
    codes = _enrol(client)
    stored = list(StaticToken.objects.filter(device__user=investigator).values_list("token", flat=True))
    assert len(stored) == 10 and all(re.fullmatch(r"[0-9a-f]{16}", token) for token in stored)
    assert not set(stored) & {code.replace("-", "") for code in codes}

    device = StaticToken.objects.filter(device__user=investigator).first().device  # type: ignore[union-attr]
    device.token_set.all().delete()
    device.token_set.create(token="abcd2345")  # as a code was stored before this change
    import_module("trials.migrations.0004_recovery_codes_hashed").hash_clear_codes(apps, None)
    assert list(device.token_set.values_list("token", flat=True)) == [services.recovery_code_stored("abcd2345")]
    client.post(reverse("logout"))
    _sign_in(client, investigator)
    assert client.post(reverse("security:two_factor_verify"), {"code": "ABCD-2345"}).status_code == 302
