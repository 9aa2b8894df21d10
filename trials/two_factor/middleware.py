"""Until the second factor is verified, a signed-in user whose role requires it (or who enrolled) sees only the
two-factor step: every other page answers a redirect to it.

Runs after ``django_otp.middleware.OTPMiddleware`` (which adds ``user.is_verified()``). Exempt: the two-factor
screens, sign-in and sign-out, static files, and ``/api/``, whose token requests are not interactive; a session
calling the API unverified is refused by ``trials.two_factor.api.TwoFactorVerified`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .services import has_authenticator, two_factor_satisfied

#: Where the JSON API lives (``cosmo_avatar/urls.py``): exempt here, answered in JSON by ``trials.views_errors``
API_PREFIX = "/api/"


@cache
def _exempt_paths() -> tuple[str, ...]:
    return (
        reverse("security:two_factor_enrol"),
        reverse("security:two_factor_verify"),
        reverse("security:two_factor_recovery_codes"),
        reverse("security:keep_alive"),
        reverse("login"),
        reverse("logout"),
    )


def _not_a_page(path: str) -> bool:
    static_url = "/" + settings.STATIC_URL.lstrip("/")
    return path.startswith(API_PREFIX) or path.startswith(static_url)


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if _not_a_page(request.path) or not user.is_authenticated:
            return self.get_response(request)
        # The two-factor screens read this too: they show no menu while the second factor is owed.
        request.two_factor_pending = pending = not two_factor_satisfied(user)  # type: ignore[attr-defined]
        if pending and request.path not in _exempt_paths():
            step = "security:two_factor_verify" if has_authenticator(user) else "security:two_factor_enrol"
            url = f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}"
            response: HttpResponse = HttpResponseRedirect(url)
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url  # htmx: reload the whole page there, not a fragment
            return response
        return self.get_response(request)
