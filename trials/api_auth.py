"""API authentication, token scope and rate limiting (the ``REST_FRAMEWORK`` settings name these classes).

- ``TokenAuthentication``: ``Authorization: Token edc_<prefix>_<secret>`` (``Bearer`` is accepted too, for clients
  that only speak RFC 6750). The token's user is the request's user: the same object, scope and capabilities as
  in the browser (``SiteScopedQuerySet.for_user``, ``trials.permissions``). Revoked and expired tokens, tokens of
  deactivated users and of roles without ``USE_API_TOKENS`` answer 401 with a message saying which.
- ``TokenScopePermission``: a read-only token may only read; anything else answers 403 with a message.
- ``UserRateThrottle``: per user, whether by token or session, at ``API_RATE_LIMIT`` (a Django setting, else
  ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"]``). Every throttled response carries the limit, what is left and
  when a slot frees, both as ``X-RateLimit-*`` (GitHub's convention: ``Reset`` is a Unix time) and as the IETF
  ``RateLimit-*`` fields (draft-ietf-httpapi-ratelimit-headers: ``Reset`` is seconds from now). Over the limit:
  429 with ``Retry-After`` and a JSON body saying when to retry (RFC 6585 §4).
- ``exception_handler``: DRF's, plus a service's Django ``ValidationError`` as a 400 body (field → messages, form-wide
  under ``non_field_errors``; every 400 has that shape, a malformed JSON body included) and the 429 body above.

Models and services are imported inside the methods: DRF imports this module while building ``APIView``, which
may happen before the app registry is ready (DRF's own ``TokenAuthentication`` does the same).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.settings import api_settings

#: Authorization schemes that carry a personal API token (case-insensitive, RFC 7235 §2.1).
TOKEN_KEYWORDS = (b"token", b"bearer")
READ_ONLY_MESSAGE = "This API token is read-only: it may only read (GET, HEAD, OPTIONS). Use a read-write token."


class TokenAuthentication(BaseAuthentication):
    """Personal API tokens (``trials.models.ApiToken``); see the module docstring."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in TOKEN_KEYWORDS:
            return None  # not ours: the session (or nothing) decides
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: send 'Authorization: Token <token>' with the token and nothing else."
            )
        try:
            presented = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed("Invalid token: it contains characters a token never has.") from error
        return self.authenticate_token(presented)

    def authenticate_token(self, presented: str) -> tuple[Any, Any]:
        from .permissions import Capability, can
        from .selectors_tokens import api_token_find
        from .services_tokens import api_token_mark_used

        token = api_token_find(presented=presented)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"This token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC; create a new one."
            )
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(
                f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; create a new one."
            )
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This token's account is deactivated.")
        if not can(user, Capability.USE_API_TOKENS):
            raise exceptions.AuthenticationFailed("This token's account has no role that may use API tokens.")
        api_token_mark_used(token=token, at=now)
        return (user, token)

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (with this challenge) instead of 403 when no credentials came.
        return f'{self.keyword} realm="api"'


class TokenScopePermission(permissions.BasePermission):
    """A read-only token reads; every other method is refused (403, with a message). Sessions are not affected."""

    message = READ_ONLY_MESSAGE

    def has_permission(self, request: Request, view: Any) -> bool:
        from .models import ApiToken

        if isinstance(request.auth, ApiToken) and request.auth.read_only:
            return request.method in permissions.SAFE_METHODS
        return True


class UserRateThrottle(throttling.UserRateThrottle):
    """DRF's per-user sliding window, with the rate read per request and the state sent back as headers."""

    # Set by SimpleRateThrottle (not in its stubs).
    num_requests: int
    duration: int
    history: list[float]
    now: float

    def get_rate(self) -> str | None:
        # Read at request time (DRF's class attribute is frozen at import, so override_settings would not reach it).
        configured = getattr(settings, "API_RATE_LIMIT", None)
        if configured:
            return str(configured)
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        rate = rates.get(self.scope or "user")
        return None if rate is None else str(rate)

    def allow_request(self, request: Any, view: Any) -> bool:
        allowed: bool = super().allow_request(request, view)
        if self.rate is not None and getattr(self, "key", None) is not None:
            headers = getattr(view, "headers", None)
            if isinstance(headers, dict):  # APIView.finalize_response copies these onto the response, errors too
                headers.update(self.rate_limit_headers())
        return allowed

    def seconds_until_a_slot_frees(self) -> float:
        """Until the oldest request in the window leaves it (the whole window when there is none)."""
        if not self.history:
            return float(self.duration)
        return float(max(self.history[-1] + self.duration - self.now, 0.0))

    def rate_limit_headers(self) -> dict[str, str]:
        remaining = max(self.num_requests - len(self.history), 0)
        reset = math.ceil(self.seconds_until_a_slot_frees())
        return {
            "X-RateLimit-Limit": str(self.num_requests),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(self.now) + reset),
            "RateLimit-Limit": str(self.num_requests),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{self.num_requests};w={self.duration}",
        }

    def wait(self) -> float:
        """Whole seconds until the next request is allowed (DRF's default spreads the wait; clients want when)."""
        return float(max(math.ceil(self.seconds_until_a_slot_frees()), 1))


def _one_shape_for_bad_input(data: Any) -> Any:
    """Every 400 body is ``{"field": ["message", ...]}`` (``trials.api_common``): a malformed body's
    ``{"detail": "JSON parse error ..."}`` and a bare list of messages go under ``non_field_errors``."""
    if isinstance(data, dict) and set(data) == {"detail"} and isinstance(data["detail"], str):
        return {api_settings.NON_FIELD_ERRORS_KEY: [data["detail"]]}
    if isinstance(data, list):
        return {api_settings.NON_FIELD_ERRORS_KEY: [str(item) for item in data]}
    return data


def exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    from rest_framework.views import exception_handler as drf_exception_handler  # rest_framework.views imports us

    from .api_common import validation_errors  # imports DRF's serializers, which load these settings

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_errors(exc))
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == 400:
        response.data = _one_shape_for_bad_input(response.data)
    if isinstance(exc, exceptions.Throttled) and response is not None:
        wait = max(math.ceil(getattr(exc, "wait", None) or 1), 1)
        retry_at = datetime.fromtimestamp(timezone.now().timestamp() + wait, tz=UTC).replace(microsecond=0)
        response.data = {
            "detail": f"Rate limit exceeded: retry after {wait} seconds ({retry_at.isoformat()}).",
            "retry_after_seconds": wait,
            "retry_at": retry_at.isoformat(),
        }
        response["Retry-After"] = str(wait)
    return response
