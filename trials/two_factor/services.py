"""Two-factor sign-in: who needs it, enrolment, verification, recovery codes and the administrator's reset.

TOTP (RFC 6238) through django-otp; recovery codes are django-otp static tokens, each accepted once and stored only
as a keyed hash (``recovery_code_stored``: OWASP ASVS 4.0.3 §2.6.2, look-up secrets not kept in clear), so a copy of
the database does not hand out second factors; the codes themselves are shown once, at creation. A wrong code
is throttled by the device (exponential back-off, django-otp's ThrottlingMixin: 1, 2, 4, 8 ... seconds, across
sessions) and counts as a failed sign-in for django-axes, which locks the account after ``AXES_FAILURE_LIMIT``
failures (NIST SP 800-63B §5.2.2 rate limiting; OWASP ASVS 4.0.3 §2.8).
"""

from __future__ import annotations

import re
from base64 import b32encode
from binascii import unhexlify
from typing import Any

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from ..audit import require_reason
from ..models_compliance import SignInOutcome
from ..permissions import Capability, require
from ..security import TWO_FACTOR_SENDER, sign_in_event_record

RECOVERY_CODE_COUNT = 10
#: The session holds the secret of an authenticator being enrolled until a code confirms it (nothing in the
#: database before that) and, once, the recovery codes to show.
ENROL_KEY_SESSION = "two_factor_enrol_key"
NEW_CODES_SESSION = "two_factor_new_recovery_codes"
_TOTP_CODE = re.compile(r"^\d{6}$")
_RECOVERY_CODE = re.compile(r"^[a-z2-7]{8}$")
#: The HMAC's salt for recovery codes (also in migration trials/0004, which hashed the codes stored before)
RECOVERY_CODE_SALT = "cosmo_avatar.two_factor.recovery_code"


def two_factor_required(user: Any) -> bool:
    """Required by role (settings.TWO_FACTOR_REQUIRED_ROLES), or because the user enrolled voluntarily."""
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "role", "") in settings.TWO_FACTOR_REQUIRED_ROLES:
        return True
    return has_authenticator(user)


def two_factor_satisfied(user: Any) -> bool:
    """True when the user may act: signed in and, where two-factor applies, verified in this session.

    The API token work uses this to require a fully signed-in session before a token is issued in the browser.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    is_verified = getattr(user, "is_verified", None)
    if callable(is_verified) and is_verified():
        return True
    return not two_factor_required(user)


def has_authenticator(user: Any) -> bool:
    return bool(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


def may_enrol(user: Any) -> bool:
    """A first authenticator needs only the password; replacing one needs the old one (else a stolen password
    would be enough to take over the second factor)."""
    if not getattr(user, "is_authenticated", False):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not has_authenticator(user) or (callable(is_verified) and bool(is_verified()))


def recovery_codes_left(user: Any) -> int:
    return int(StaticToken.objects.filter(device__user_id=user.pk, device__confirmed=True).count())


# --- Enrolment ---------------------------------------------------------------------------------------------------


def enrolment_key(request: HttpRequest) -> str:
    """The secret being enrolled in this session (a new random 160-bit key the first time; RFC 4226 §4 R6)."""
    key = request.session.get(ENROL_KEY_SESSION)
    if not key:
        key = random_hex(20)
        request.session[ENROL_KEY_SESSION] = key
    return str(key)


def secret_for_display(key: str) -> str:
    """The base32 secret an authenticator app accepts, in groups of four for typing."""
    secret = b32encode(unhexlify(key)).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(user: Any, key: str) -> str:
    return str(TOTPDevice(user=user, key=key, name="Authenticator app").config_url)


def qr_code_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code, made here: the secret never goes to a QR-code service."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathFillImage, border=2)
    svg = image.to_string(encoding="unicode")
    return str(svg).replace("<svg ", '<svg class="two-factor-qr" role="img" aria-label="QR code to scan" ', 1)


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def recovery_code_stored(code: str) -> str:
    """What the database keeps of a recovery code: HMAC-SHA256 under the site's ``SECRET_KEY``, 64 bits (the
    16 characters django-otp's token column holds). Without the key the stored value says nothing about the code;
    a new ``SECRET_KEY`` voids the codes (users then sign in with their authenticator and make new ones, or an
    administrator resets their second factor)."""
    return salted_hmac(RECOVERY_CODE_SALT, _normalise(code), algorithm="sha256").hexdigest()[:16]


def _new_recovery_codes(user: Any) -> list[str]:
    StaticDevice.objects.filter(user_id=user.pk).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=recovery_code_stored(code)) for code in codes])
    return codes


@transaction.atomic
def two_factor_enrol(*, request: HttpRequest, code: str) -> list[str]:
    """Confirm the authenticator being enrolled with a current code; returns the new recovery codes.

    The user is then verified for this session (they just proved the second factor) and the session key changes.
    """
    user = request.user
    if not may_enrol(user):
        raise ValidationError("Verify with your current authenticator before replacing it.")
    key = enrolment_key(request)
    token = _normalise(code)
    totp = TOTP(unhexlify(key))
    totp.time = timezone.now().timestamp()
    if not _TOTP_CODE.match(token) or not totp.verify(int(token), tolerance=1):
        raise ValidationError({"code": "That code does not match. Check the time on your phone and try again."})
    TOTPDevice.objects.filter(user_id=user.pk).delete()
    device = TOTPDevice.objects.create(user=user, key=key, name="Authenticator app", confirmed=True, last_t=totp.t())
    codes = _new_recovery_codes(user)
    del request.session[ENROL_KEY_SESSION]
    _signed_in_with(request, device)
    sign_in_event_record(outcome=SignInOutcome.TWO_FACTOR_ENROLLED, request=request, user=user)
    return codes


@transaction.atomic
def recovery_codes_renew(*, request: HttpRequest) -> list[str]:
    user = request.user
    if not has_authenticator(user) or not two_factor_satisfied(user):
        raise ValidationError("Enrol an authenticator first.")
    codes = _new_recovery_codes(user)
    sign_in_event_record(outcome=SignInOutcome.RECOVERY_CODES_RENEWED, request=request, user=user)
    return codes


# --- Verification ------------------------------------------------------------------------------------------------


class CodeRefused(Exception):
    """The code was not accepted; ``message`` says why in words for the person signing in."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _signed_in_with(request: HttpRequest, device: Any) -> None:
    django_otp.login(request, device)
    request.session.cycle_key()  # a privilege change: a new session id (OWASP ASVS 3.2.1)


def _failed(request: HttpRequest) -> None:
    """A wrong second factor is a failed sign-in: the sign-in log records it and axes counts it."""
    credentials = {"username": request.user.get_username()}
    user_login_failed.send(sender=TWO_FACTOR_SENDER, credentials=credentials, request=request)


def two_factor_verify(*, request: HttpRequest, code: str) -> Any:
    """Accept a current authenticator code or an unused recovery code (which is then used up); returns the device.

    Raises ``CodeRefused``. A wrong code is throttled by the device and reported to axes as a failed sign-in.
    """
    user = request.user
    token = _normalise(code)
    if _TOTP_CODE.match(token):
        devices: list[Any] = list(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True))
    elif _RECOVERY_CODE.match(token):
        devices = list(StaticDevice.objects.filter(user_id=user.pk, confirmed=True))
    else:
        devices = []
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if not allowed:
            # Hammering during the back-off counts as failing: axes locks the account after enough of it.
            _failed(request)
            wait = max(1, int(((data or {}).get("locked_until", timezone.now()) - timezone.now()).total_seconds()))
            raise CodeRefused(f"Too many wrong codes: wait {wait} seconds, then try again.")
        entered = recovery_code_stored(token) if isinstance(device, StaticDevice) else token
        verified = django_otp.verify_token(user, device.persistent_id, entered)
        if verified is not None:
            _signed_in_with(request, verified)
            if isinstance(verified, StaticDevice):
                left = verified.token_set.count()
                sign_in_event_record(
                    outcome=SignInOutcome.RECOVERY_CODE_USED, request=request, user=user, detail=f"{left} left"
                )
            else:
                sign_in_event_record(outcome=SignInOutcome.TWO_FACTOR_VERIFIED, request=request, user=user)
            return verified
    _failed(request)
    raise CodeRefused("That code is not valid. Enter the 6-digit code your app shows now, or a recovery code.")


# --- Administration ----------------------------------------------------------------------------------------------


@transaction.atomic
def two_factor_reset(*, actor: Any, user: Any, reason: str) -> int:
    """Remove a user's authenticator and recovery codes (a lost phone); they enrol again at the next sign-in.

    Sponsor admin only; kept in the sign-in log with who did it and why. Returns the devices removed.
    """
    require(actor, Capability.MANAGE_USERS)
    reason = require_reason(reason)
    removed, _ = TOTPDevice.objects.filter(user_id=user.pk).delete()
    static, _ = StaticDevice.objects.filter(user_id=user.pk).delete()
    sign_in_event_record(outcome=SignInOutcome.TWO_FACTOR_RESET, user=user, actor=actor, detail=reason)
    return int(removed + static)
