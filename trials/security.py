"""Security hardening (issue 8): the Content-Security-Policy and other response headers, the sign-in log, the
session keep-alive, and the rule that a user who entered data is deactivated, never deleted.

References: OWASP ASVS 4.0.3 §14.4 (HTTP security headers), §3.3 (session timeout), §7.2 (authentication events
logged, never the secrets); W3C Content Security Policy Level 3; 21 CFR 11.10(d) and 11.300 (limited, attributable
access); ICH E6(R3) 4.2 (computerised systems: access control and audit trails).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import cache
from typing import Any

from axes.helpers import get_client_ip_address
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import ProtectedError
from django.db.models.signals import pre_delete
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from .models_compliance import SignInEvent, SignInOutcome

#: The policy of every page: nothing inline, nothing from elsewhere, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
#: Swagger UI and ReDoc (drf-spectacular's sidecar pages) render inline scripts and styles and ReDoc runs a web
#: worker from a blob: URL. They only show the API schema, to signed-in users; only those two paths get this.
API_DOCS_POLICY = {
    **CONTENT_SECURITY_POLICY,
    "script-src": "'self' 'unsafe-inline'",
    "style-src": "'self' 'unsafe-inline'",
    "worker-src": "'self' blob:",
}
#: Features the EDC never uses, switched off for the page and anything it could embed.
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=()"
)


def _policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


@cache
def _api_docs_paths() -> frozenset[str]:
    paths = set()
    for name in ("api:docs", "api:redoc"):
        try:
            paths.add(reverse(name))
        except NoReverseMatch:
            continue
    return frozenset(paths)


def content_security_policy_for(path: str) -> str:
    return _policy(API_DOCS_POLICY if path in _api_docs_paths() else CONTENT_SECURITY_POLICY)


class SecurityHeadersMiddleware:
    """Adds CSP, Permissions-Policy and cross-origin isolation headers; pages of signed-in users are not cached
    (a shared computer's back button must not show a casebook after sign-out)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy_for(request.path))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if getattr(user, "is_authenticated", False) and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store, private"
        return response


# --- The sign-in log ---------------------------------------------------------------------------------------------

#: ``sender`` of the ``user_login_failed`` signal the two-factor step sends for a wrong code (so axes counts it).
TWO_FACTOR_SENDER = "trials.two_factor"


def sign_in_event_record(
    *,
    outcome: str,
    request: HttpRequest | None = None,
    user: Any = None,
    username: str = "",
    actor: Any = None,
    detail: str = "",
) -> SignInEvent:
    """Append one event to the sign-in log. Never pass a password or a code."""
    meta = request.META if request is not None else {}
    address = get_client_ip_address(request) if request is not None else None
    try:
        address = str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        address = None  # a proxy's odd header must never break signing in
    return SignInEvent.objects.create(
        outcome=outcome,
        user=user if getattr(user, "pk", None) else None,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        actor=actor if getattr(actor, "pk", None) else None,
        ip_address=address,
        user_agent=str(meta.get("HTTP_USER_AGENT", ""))[:300],
        detail=detail,
    )


def _on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    sign_in_event_record(outcome=SignInOutcome.SIGNED_IN, request=request, user=user)


def _on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kw: Any) -> None:
    from django.contrib.auth import get_user_model

    username = str(credentials.get("username", ""))[:150]
    user = get_user_model().objects.filter(username=username).first() if username else None
    outcome = SignInOutcome.TWO_FACTOR_FAILED if sender == TWO_FACTOR_SENDER else SignInOutcome.FAILED
    sign_in_event_record(outcome=outcome, request=request, user=user, username=username)


def _on_logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        sign_in_event_record(outcome=SignInOutcome.SIGNED_OUT, request=request, user=user)


def _on_locked_out(sender: Any, request: HttpRequest | None, username: str | None = None, **kwargs: Any) -> None:
    sign_in_event_record(outcome=SignInOutcome.LOCKED_OUT, request=request, username=username or "")


# --- Users are deactivated, never deleted once they entered data --------------------------------------------------


def user_has_entered_data(user: Any) -> bool:
    """True if any audited change anywhere names the user as its author."""
    from .audit_chain import history_models

    for model in history_models():
        authored = any(f.name == "history_user" for f in model._meta.concrete_fields)
        if authored and model._base_manager.filter(history_user_id=user.pk).exists():
            return True
    return False


def _refuse_deleting_authors(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is not None and user_has_entered_data(instance):
        raise ProtectedError(
            f"User {instance.get_username()} entered audited data: deactivate the account instead of deleting it "
            "(the audit trail must keep naming who did what).",
            set(),
        )


def connect_signals() -> None:
    from django.contrib.auth import get_user_model

    user_logged_in.connect(_on_logged_in, dispatch_uid="sign_in_log_logged_in")
    user_login_failed.connect(_on_login_failed, dispatch_uid="sign_in_log_failed")
    user_logged_out.connect(_on_logged_out, dispatch_uid="sign_in_log_logged_out")
    user_locked_out.connect(_on_locked_out, dispatch_uid="sign_in_log_locked_out")
    pre_delete.connect(_refuse_deleting_authors, sender=get_user_model(), dispatch_uid="refuse_deleting_authors")


# --- Session timeout ---------------------------------------------------------------------------------------------


@require_POST
@login_required
def session_keep_alive(request: HttpRequest) -> HttpResponse:
    """'Stay signed in' (static/js/session-timeout.js): any request renews the idle timer
    (SESSION_SAVE_EVERY_REQUEST); this one just does nothing else."""
    return HttpResponse(status=204)


def session_timeout(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the idle timeout the page's warning counts down from."""
    return {"session_timeout_seconds": settings.SESSION_COOKIE_AGE}
