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
    #: allocate a patient (randomise / register to the single arm): the site investigator only (trials.md)
    RANDOMISE = "randomise"
    #: generate, read and verify allocation lists; the full balance report (arm by stratum, site, month)
    MANAGE_RANDOMISATION = "manage_randomisation"
    #: enrolment counts by site, without arms (operational dashboards)
    VIEW_ENROLMENT_COUNTS = "view_enrolment_counts"


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
_RANDOMISATION = {Capability.MANAGE_RANDOMISATION, Capability.VIEW_ENROLMENT_COUNTS}

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.SITE_COORDINATOR: frozenset(_SITE_DATA_ENTRY),
    Role.INVESTIGATOR: frozenset(_SITE_DATA_ENTRY | {Capability.RANDOMISE}),
    Role.MONITOR: frozenset(_READ | {Capability.RAISE_QUERIES}),
    Role.DATA_MANAGER: frozenset(
        _READ | {Capability.RAISE_QUERIES, Capability.VIEW_ANALYSIS_SETTINGS, Capability.VIEW_ENROLMENT_COUNTS}
    ),
    # The allocation list is concealed from everyone but the statistician and the sponsor admin (§6.2).
    Role.STATISTICIAN: frozenset(_READ | _ANALYSIS | _RANDOMISATION),
    # Trial managers watch operations; they do not open casebooks or audit trails of individual patients.
    Role.TRIAL_MANAGER: frozenset({Capability.VIEW_TRIAL_CONFIGURATION, Capability.VIEW_ENROLMENT_COUNTS}),
    Role.SPONSOR_ADMIN: frozenset(_READ | _ANALYSIS | _RANDOMISATION | {Capability.MANAGE_USERS}),
}


def can(user: Any, capability: Capability) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return capability in ROLE_CAPABILITIES.get(user.role, frozenset())


def require(user: Any, capability: Capability) -> None:
    """Raise 404 unless the user may do this: refusals look like absence."""
    if not can(user, capability):
        raise Http404
