"""The REST API's side of two-factor sign-in.

A request authenticated by the browser session of a user who still owes the second factor is refused with 403 and
a plain message; token requests pass (a token is only issued to a fully signed-in session, and using one is not
interactive). In ``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

from .services import two_factor_satisfied


class TwoFactorVerified(BasePermission):
    message = (
        "Two-factor sign-in is not complete for this session: finish it in the browser "
        "(/accounts/two-factor/verify/) or call the API with a personal API token."
    )

    def has_permission(self, request: Any, view: Any) -> bool:
        if not isinstance(request.successful_authenticator, SessionAuthentication):
            return True
        return two_factor_satisfied(request.user)
