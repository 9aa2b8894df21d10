"""Writes of trial configuration and people. Each checks permission, validates, saves with the audit reason."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from .audit import require_reason, stamp
from .events import notify_analysis_settings_changed
from .models import ALL_SITE_ROLES, AnalysisSettings, Site, SiteMembership, Trial, User
from .permissions import Capability, require


@transaction.atomic
def analysis_settings_change(*, trial: Trial, user: Any, reason: str, values: dict[str, Any]) -> AnalysisSettings:
    """Save a new version of the trial's analysis settings; the earlier versions stay as they were.

    Everything derived is recomputed from the new version (decisions.md: "a change of setting recomputes
    everything and the old results stay traceable").
    """
    require(user, Capability.CHANGE_ANALYSIS_SETTINGS)
    reason = require_reason(reason)
    # Lock the trial row so two statisticians saving at once get versions n+1 and n+2, not a clash.
    Trial.objects.select_for_update().get(pk=trial.pk)
    current = trial.analysis_settings.order_by("-version").first()
    fields = AnalysisSettings.setting_fields()
    unknown = set(values) - set(fields)
    if unknown:
        raise ValidationError({name: "Not an analysis setting." for name in sorted(unknown)})
    data = current.as_dict() if current else {}
    data.update(values)
    if current is not None and data == current.as_dict():
        raise ValidationError(
            "Nothing changed: the new version would equal version %(v)s.", params={"v": current.version}
        )
    if (
        current is not None
        and current.randomisation_method != data.get("randomisation_method")
        and (trial.patients.filter(enrolment_date__isnull=False).exists())
    ):
        raise ValidationError(
            {"randomisation_method": "The randomisation method is locked once the first patient is enrolled (D17)."}
        )
    new = AnalysisSettings(
        trial=trial, version=(current.version + 1) if current else 1, created_by=user, reason=reason, **data
    )
    new.full_clean()
    stamp(new, user=user, reason=reason)
    new.save()
    notify_analysis_settings_changed(trial.pk)
    return new


@transaction.atomic
def user_save(
    *,
    actor: Any,
    user: User | None,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    sites: list[Site],
    is_active: bool,
    password: str | None = None,
    reason: str = "",
) -> User:
    """Create or change a user. Users are deactivated, never deleted (they may have entered data)."""
    require(actor, Capability.MANAGE_USERS)
    if role in ALL_SITE_ROLES and sites:
        raise ValidationError({"sites": "This role sees every site; leave the sites empty."})
    if role and role not in ALL_SITE_ROLES and not sites:
        raise ValidationError({"sites": "A site-scoped role needs at least one site."})
    creating = user is None
    if user is None:
        user = User(username=username)
        user.set_unusable_password()
    else:
        reason = require_reason(reason)
    user.username, user.first_name, user.last_name, user.email = username, first_name, last_name, email
    user.role, user.is_active = role, is_active
    user.full_clean(exclude=["password"])
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from error
        user.set_password(password)
    stamp(user, user=actor, reason=reason or "User created")
    user.save()
    wanted = {site.pk for site in sites}
    current = set(user.memberships.values_list("site_id", flat=True))
    for membership in user.memberships.exclude(site_id__in=wanted):
        stamp(membership, user=actor, reason=reason or "User created")
        membership.delete()
    for site_id in wanted - current:
        membership = SiteMembership(user=user, site_id=site_id)
        stamp(membership, user=actor, reason=reason or "User created")
        membership.save()
    if creating:
        user.refresh_from_db()
    return user
