"""What each role may do (trials.md, "People and what they may do").

One table, one question: ``can(user, Capability.X)``. Scope (which sites) is separate: see
``SiteScopedQuerySet.for_user``. Views answer 404 for anything a user may not do or see, so a refusal never
hints that a record exists.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.http import Http404

from .models import Role


class Capability(StrEnum):
    VIEW_PATIENTS = "view_patients"
    REGISTER_PATIENT = "register_patient"
    EDIT_CLINICAL_DATA = "edit_clinical_data"
    VIEW_AUDIT_TRAIL = "view_audit_trail"
    VIEW_TRIAL_CONFIGURATION = "view_trial_configuration"
    VIEW_ANALYSIS_SETTINGS = "view_analysis_settings"
    CHANGE_ANALYSIS_SETTINGS = "change_analysis_settings"
    MANAGE_USERS = "manage_users"
    RAISE_QUERIES = "raise_queries"
    VIEW_EFFICACY = "view_efficacy"
    ANSWER_QUERIES = "answer_queries"


_SITE_DATA_ENTRY = {
    Capability.ANSWER_QUERIES,
    Capability.VIEW_PATIENTS,
    Capability.REGISTER_PATIENT,
    Capability.EDIT_CLINICAL_DATA,
    Capability.VIEW_AUDIT_TRAIL,
    Capability.VIEW_TRIAL_CONFIGURATION,
}
_READ = {Capability.VIEW_PATIENTS, Capability.VIEW_AUDIT_TRAIL, Capability.VIEW_TRIAL_CONFIGURATION}
_ANALYSIS = {Capability.VIEW_ANALYSIS_SETTINGS, Capability.CHANGE_ANALYSIS_SETTINGS, Capability.VIEW_EFFICACY}

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.SITE_COORDINATOR: frozenset(_SITE_DATA_ENTRY),
    Role.INVESTIGATOR: frozenset(_SITE_DATA_ENTRY),
    Role.MONITOR: frozenset(_READ | {Capability.RAISE_QUERIES}),
    Role.DATA_MANAGER: frozenset(_READ | {Capability.RAISE_QUERIES, Capability.VIEW_ANALYSIS_SETTINGS}),
    Role.STATISTICIAN: frozenset(_READ | _ANALYSIS),
    # Trial managers watch operations; they do not open casebooks or audit trails of individual patients.
    Role.TRIAL_MANAGER: frozenset({Capability.VIEW_TRIAL_CONFIGURATION}),
    Role.SPONSOR_ADMIN: frozenset(_READ | _ANALYSIS | {Capability.MANAGE_USERS}),
}


def can(user: Any, capability: Capability) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return capability in ROLE_CAPABILITIES.get(user.role, frozenset())


def require(user: Any, capability: Capability) -> None:
    """Raise 404 unless the user may do this: refusals look like absence."""
    if not can(user, capability):
        raise Http404
