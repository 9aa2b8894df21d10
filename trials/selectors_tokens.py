"""Reads of personal API tokens. A user sees their own tokens; a sponsor admin sees everyone's; others get 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .domain.api_tokens import token_matches, token_prefix
from .models import ApiToken, User
from .permissions import Capability, can, require


def api_token_list(*, user: Any) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked and expired ones too: they explain past access)."""
    if not getattr(user, "is_authenticated", False):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user).select_related("created_by", "revoked_by")


def api_token_list_all(*, user: Any, owner: User | None = None) -> QuerySet[ApiToken]:
    """Every user's tokens (or one owner's) for a sponsor admin."""
    require(user, Capability.MANAGE_USERS)
    tokens = ApiToken.objects.select_related("user", "created_by", "revoked_by")
    return tokens if owner is None else tokens.filter(user=owner)


def api_token_get(*, user: Any, pk: int) -> ApiToken:
    """A token the user may revoke: their own, or anyone's for a sponsor admin; 404 otherwise."""
    tokens = ApiToken.objects.all() if can(user, Capability.MANAGE_USERS) else api_token_list(user=user)
    token: ApiToken = get_object_or_404(tokens.select_related("user"), pk=pk)
    return token


def api_token_get_own(*, user: Any, pk: int) -> ApiToken:
    """One of the user's own tokens (the API manages own tokens only, admins included); 404 otherwise."""
    token: ApiToken = get_object_or_404(api_token_list(user=user), pk=pk)
    return token


def api_token_owner_choices(*, user: Any) -> QuerySet[User]:
    """The users a sponsor admin may create a token for: active, with a role."""
    require(user, Capability.MANAGE_USERS)
    return User.objects.filter(is_active=True).exclude(role="").order_by("username")


def api_token_find(*, presented: str) -> ApiToken | None:
    """The stored token a presented string is, whatever its state, or ``None``.

    The prefix (not secret) finds the row; the hash is compared in constant time, so timing reveals at most whether
    a prefix exists. Whether the token may be used (revoked, expired, owner deactivated) is the caller's question.
    """
    prefix = token_prefix(presented)
    if prefix is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not token_matches(presented, token.secret_hash):
        return None
    return token
