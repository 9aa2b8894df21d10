"""COSMO and AVATAR II as trials.md describes them: identity, arms, visit schedule, analysis-settings defaults.

``trial_configure`` applies this to the database idempotently: a first run creates everything; later runs only add
what is missing, so a statistician's later settings versions and edited visit windows are never overwritten.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from .audit import stamp
from .models import (
    AnalysisSettings,
    Arm,
    OriginEvent,
    RandomisationMethod,
    Trial,
    TrialDesign,
    VisitDefinition,
    VisitKind,
)

# Follow-up every 12 weeks (D8): 13 occurrences cover AVATAR II's 3 years (13 × 84 = 1,092 days).
FOLLOW_UP_OCCURRENCES = 13


def _visits(enrolment_name: str, lat_content: str, qol: str) -> list[dict[str, Any]]:
    return [
        {
            "code": "screening",
            "name": "Screening",
            "kind": VisitKind.SCREENING,
            "order": 1,
            "day": 0,
            "window_before": 42,
            "window_after": 0,
            "content": f"Eligibility, demographics, tumour biology, therapy history, baseline lesions{qol}.",
        },
        {
            "code": "enrolment",
            "name": enrolment_name,
            "kind": VisitKind.ENROLMENT,
            "order": 2,
            "day": 0,
            "content": enrolment_name + ".",
        },
        {
            "code": "lat",
            "name": "Local ablative treatment",
            "kind": VisitKind.TREATMENT,
            "order": 3,
            "day": 0,
            "window_after": 28,
            "content": lat_content,
        },
        {
            "code": "follow-up",
            "name": "Follow-up",
            "kind": VisitKind.FOLLOW_UP,
            "order": 4,
            "day": 84,
            "window_before": 14,
            "window_after": 14,
            "repeat_interval_days": 84,
            "repeat_count": FOLLOW_UP_OCCURRENCES,
            "content": "Tumour assessment, adverse events, current systemic therapy"
            + (", FACT-B at weeks 12, 24, 36, 48." if qol else "."),
        },
        {
            "code": "long-term",
            "name": "Long-term follow-up",
            "kind": VisitKind.LONG_TERM,
            "order": 5,
            "day": 84,
            "window_before": 14,
            "window_after": 14,
            "repeat_interval_days": 84,
            "content": "Every 12 weeks after progression / strategy failure (days count from that event): survival "
            "status, subsequent therapy, progression on the next line.",
        },
        {
            "code": "unscheduled",
            "name": "Unscheduled",
            "kind": VisitKind.UNSCHEDULED,
            "order": 6,
            "day": 0,
            "content": "Tumour assessment, adverse event, clinical progression.",
        },
    ]


TRIALS: list[dict[str, Any]] = [
    {
        "trial": {
            "code": "cosmo",
            "subject_prefix": "COSMO",
            "short_name": "COSMO",
            "title": "COntinue the SaMe Systemic Therapy After Local Ablative Therapy for Oligo Progression in "
            "Metastatic Breast Cancer - the COSMO Study",
            "registry_id": "",
            "design": TrialDesign.SINGLE_ARM,
            "target_enrolment": 80,
            "primary_endpoint": "Progression-free survival at 6 months (PFS-6)",
        },
        "arms": [
            {
                "code": "LAT",
                "name": "Local ablative therapy + same systemic therapy",
                "description": "SABR, surgery or RFA to the oligoprogressive lesion(s); "
                "the systemic therapy continues.",
            },
        ],
        "visits": _visits("Registration", "SABR / surgery / RFA per treated lesion (every patient).", qol=""),
        "settings": {
            "origin_event": OriginEvent.REGISTRATION,
            "randomisation_method": RandomisationMethod.NONE,
            "max_oligo_lesions": 2,
            "randomisation_block_sizes": [],
        },
    },
    {
        "trial": {
            "code": "avatar2",
            "subject_prefix": "AVT2",
            "short_name": "AVATAR II",
            "title": "Stereotactic Ablative Body Radiotherapy (SABR) with Maintenance of Systemic Therapy Versus "
            "Physicians' Choice of Systemic Therapy for Oligoprogressive ER-positive, Her-2 Negative Breast Cancer II",
            "registry_id": "NCT06882499",
            "design": TrialDesign.RANDOMISED,
            "target_enrolment": 74,
            "primary_endpoint": "Time to strategy failure (TSF)",
        },
        "arms": [
            {
                "code": "A",
                "name": "SABR + continued endocrine therapy and CDK4/6 inhibitor",
                "description": "SABR to all known oligoprogressive sites; the same endocrine therapy and CDK4/6 "
                "inhibitor continue; new oligoprogression may be treated with SABR again within the strategy.",
            },
            {
                "code": "B",
                "name": "Physician's choice of systemic therapy",
                "description": "Physician's choice of systemic therapy alone, no SABR.",
            },
        ],
        "visits": _visits("Randomisation", "SABR per treated lesion (arm A).", qol=", FACT-B"),
        "settings": {
            "origin_event": OriginEvent.RANDOMISATION,
            "randomisation_method": RandomisationMethod.PERMUTED_BLOCKS,
            "max_oligo_lesions": 5,
            "randomisation_block_sizes": [4, 6],
            "minimisation_probability": Decimal("0.80"),
            "strata_definition": {
                "factors": [
                    {
                        "code": "endocrine_partner",
                        "label": "Endocrine partner",
                        "levels": [
                            {"code": "ai", "label": "Aromatase inhibitor"},
                            {"code": "serd", "label": "Fulvestrant / other SERD"},
                        ],
                    },
                    {
                        "code": "oligo_lesions",
                        "label": "Oligoprogressive lesions",
                        "levels": [{"code": "1", "label": "1"}, {"code": "2-5", "label": "2–5"}],
                    },
                ],
                "minimisation_factors": ["site", "endocrine_partner", "oligo_lesions"],
            },
        },
    },
]


@transaction.atomic
def trial_configure(*, user: Any = None) -> list[Trial]:
    """Create COSMO and AVATAR II, their arms, schedules and first analysis settings. Safe to re-run."""
    reason = "Initial trial configuration (trials.md)"
    configured = []
    for spec in TRIALS:
        trial = Trial.objects.filter(code=spec["trial"]["code"]).first()
        if trial is None:
            trial = Trial(**spec["trial"])
            stamp(trial, user=user, reason=reason)
            trial.full_clean()
            trial.save()
        for arm in spec["arms"]:
            if not trial.arms.filter(code=arm["code"]).exists():
                arm_record = Arm(trial=trial, **arm)
                stamp(arm_record, user=user, reason=reason)
                arm_record.save()
        for visit in spec["visits"]:
            if not trial.visit_definitions.filter(code=visit["code"]).exists():
                record = VisitDefinition(trial=trial, **visit)
                stamp(record, user=user, reason=reason)
                record.full_clean()
                record.save()
        if not trial.analysis_settings.exists():
            settings = AnalysisSettings(trial=trial, version=1, reason=reason, created_by=user, **spec["settings"])
            settings.full_clean()
            stamp(settings, user=user, reason=reason)
            settings.save()
        configured.append(trial)
    return configured
