"""Writes of personal API tokens: create, revoke, and the last-used stamp.

Who may do what (issue 6):
- a user whose role has ``USE_API_TOKENS`` creates and revokes their own tokens (no reason needed to revoke one's own);
- a sponsor admin (``MANAGE_USERS``) may create a token for another user (it is shown once, to the admin) and revoke
  anyone's token with a reason, which goes into the token's audit trail;
- anyone else is refused with 404, as everywhere (``trials.permissions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from .audit import require_reason, stamp
from .domain.api_tokens import token_generate
from .models import ApiToken, User
from .permissions import Capability, can, require

#: Expiry offered by default and the longest allowed (issue 6: "default 90 days, max 365").
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 365
#: ``last_used_at`` is written at most this often, so a busy script does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
OWNER_REVOCATION_REASON = "Revoked by its owner"
NAME_MAX_LENGTH = 100  # ApiToken.name


@dataclass(frozen=True)
class IssuedToken:
    """A token just created and its plaintext, which exists only in this object and the one response showing it."""

    token: ApiToken
    plaintext: str


def _check_may_create(*, actor: Any, owner: User) -> None:
    if owner.pk != actor.pk:
        require(actor, Capability.MANAGE_USERS)
        if not owner.is_active:
            raise ValidationError({"user": "This user is deactivated."})
        if not can(owner, Capability.USE_API_TOKENS):
            raise ValidationError({"user": "This user's role may not hold API tokens."})
    else:
        require(actor, Capability.USE_API_TOKENS)


@transaction.atomic
def api_token_create(*, actor: Any, owner: User, name: str, expires_in_days: int, read_only: bool) -> IssuedToken:
    """Create a token for ``owner`` (the actor themselves, or any user for a sponsor admin)."""
    _check_may_create(actor=actor, owner=owner)
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the token a name that says what it is for."
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = f"Use at most {NAME_MAX_LENGTH} characters."
    if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        errors["expires_in_days"] = f"A token is valid for 1 to {MAX_EXPIRY_DAYS} days."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    for _attempt in range(5):  # the prefix is 32 random bits: a clash is rare, and retried
        generated = token_generate()
        if ApiToken.objects.filter(prefix=generated.prefix).exists():
            continue
        token = ApiToken(
            user=owner,
            name=name,
            prefix=generated.prefix,
            secret_hash=generated.hash,
            read_only=read_only,
            created_at=now,
            created_by=actor,
            expires_at=now + timedelta(days=expires_in_days),
        )
        stamp(token, user=actor, reason="API token created" if owner.pk == actor.pk else "API token created by admin")
        try:
            with transaction.atomic():
                token.save()
        except IntegrityError:  # a concurrent create took the same prefix
            continue
        return IssuedToken(token=token, plaintext=generated.token)
    raise RuntimeError("Could not find a free token prefix")  # pragma: no cover - 5 clashes of 32 random bits


@transaction.atomic
def api_token_revoke(*, actor: Any, token: ApiToken, reason: str = "") -> ApiToken:
    """Revoke a token at once. The owner needs no reason; a sponsor admin revoking someone else's token gives one."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id == getattr(actor, "pk", None):
        if not getattr(actor, "is_authenticated", False):
            raise Http404
        reason = (reason or "").strip() or OWNER_REVOCATION_REASON
    else:
        require(actor, Capability.MANAGE_USERS)
        reason = require_reason(reason)
    if token.revoked_at is not None:
        raise ValidationError("This token is already revoked.")
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.revocation_reason = reason
    stamp(token, user=actor, reason=reason)
    token.save()
    return token


def api_token_mark_used(*, token: ApiToken, at: datetime) -> bool:
    """Stamp ``last_used_at``, at most once per ``LAST_USED_RESOLUTION``; returns whether it wrote.

    A queryset update: bookkeeping, not a change of the token, so no history row and no reason (the field is
    excluded from the token's history).
    """
    if token.last_used_at is not None and at - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)
    token.last_used_at = at
    return True
