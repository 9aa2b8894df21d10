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
    #: operational dashboards: visit compliance, missing forms, queries, data-entry lag, SAE clocks (issue 7)
    VIEW_TRIAL_HEALTH = "view_trial_health"
    #: analysis-ready datasets (ADaM: ADSL, ADTTE, ...) and data cuts: they hold efficacy by arm (issue 6)
    EXPORT_ANALYSIS_DATASETS = "export_analysis_datasets"
    #: freeze a named, immutable data cut (DMC and final analyses)
    FREEZE_DATA_CUT = "freeze_data_cut"
    #: clinical data exports without derived efficacy: CDISC ODM, raw lesion measurements, data dictionary
    EXPORT_CLINICAL_DATA = "export_clinical_data"
    #: keep personal API tokens (every role may use the API within its own capabilities)
    USE_API_TOKENS = "use_api_tokens"
    #: source data verification of forms and fields (issue 8)
    VERIFY_SOURCE_DATA = "verify_source_data"
    #: electronic signature of forms, visits and casebooks (issue 8)
    SIGN_CLINICAL_DATA = "sign_clinical_data"
    #: lock and unlock forms, patients and sites; freeze the trial (issue 8)
    LOCK_DATA = "lock_data"
    #: lock a trial read-only and unlock a locked trial, with a reason (issue 8)
    LOCK_TRIAL = "lock_trial"
    #: the audit-trail integrity report (hash chain) and audit exports (issue 8)
    VIEW_AUDIT_INTEGRITY = "view_audit_integrity"


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

_EXPORTS = {Capability.EXPORT_ANALYSIS_DATASETS, Capability.FREEZE_DATA_CUT, Capability.EXPORT_CLINICAL_DATA}
_OVERSIGHT = {Capability.VIEW_TRIAL_HEALTH, Capability.VIEW_ENROLMENT_COUNTS}

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.SITE_COORDINATOR: frozenset(_SITE_DATA_ENTRY | {Capability.USE_API_TOKENS}),
    Role.INVESTIGATOR: frozenset(
        _SITE_DATA_ENTRY | {Capability.RANDOMISE, Capability.SIGN_CLINICAL_DATA, Capability.USE_API_TOKENS}
    ),
    Role.MONITOR: frozenset(
        _READ | {Capability.RAISE_QUERIES, Capability.VERIFY_SOURCE_DATA, Capability.USE_API_TOKENS}
    ),
    Role.DATA_MANAGER: frozenset(
        _READ
        | _OVERSIGHT
        | {
            Capability.RAISE_QUERIES,
            Capability.VIEW_ANALYSIS_SETTINGS,
            Capability.EXPORT_CLINICAL_DATA,
            Capability.USE_API_TOKENS,
            Capability.LOCK_DATA,
            Capability.VIEW_AUDIT_INTEGRITY,
        }
    ),
    # The allocation list is concealed from everyone but the statistician and the sponsor admin (§6.2).
    Role.STATISTICIAN: frozenset(
        _READ | _ANALYSIS | _RANDOMISATION | _EXPORTS | _OVERSIGHT | {Capability.USE_API_TOKENS}
    ),
    # Trial managers watch operations; they do not open casebooks, audit trails of individual patients or efficacy.
    Role.TRIAL_MANAGER: frozenset(_OVERSIGHT | {Capability.VIEW_TRIAL_CONFIGURATION, Capability.USE_API_TOKENS}),
    Role.SPONSOR_ADMIN: frozenset(
        _READ
        | _ANALYSIS
        | _RANDOMISATION
        | _EXPORTS
        | _OVERSIGHT
        | {
            Capability.MANAGE_USERS,
            Capability.USE_API_TOKENS,
            Capability.LOCK_DATA,
            Capability.LOCK_TRIAL,
            Capability.VIEW_AUDIT_INTEGRITY,
        }
    ),
}


def can(user: Any, capability: Capability) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return capability in ROLE_CAPABILITIES.get(user.role, frozenset())


def require(user: Any, capability: Capability) -> None:
    """Raise 404 unless the user may do this: refusals look like absence."""
    if not can(user, capability):
        raise Http404
