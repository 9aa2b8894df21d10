"""Trial summaries: KM, medians, landmark, tests and HR per endpoint and grouping, stored as ``TrialSummary`` rows.

Reads only stored per-patient endpoint values and subgroup assignments; computes with the pure
``outcomes.domain.summaries``; replaces the trial's rows in one transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from trials.models import Trial
from trials.selectors import analysis_settings_current

from ..domain.summaries import DescriptiveRow, SurvivalRow, descriptive_summary, endpoint_summary
from ..models import EndpointValue, PatientDerivation, TrialSummary

logger = logging.getLogger(__name__)

SUMMARY_VERSION = "1"

#: (paramcd, grouping) per trial design. "overall" has no groups; "arm" compares B (reference) with A.
RANDOMISED = [
    ("TSF", "arm"),
    ("TSF_SW", "arm"),
    ("PFS", "arm"),
    ("PFS_EMA", "arm"),
    ("PFS2", "arm"),
    ("PFS2ND", "arm"),
    ("OS", "arm"),
]
SINGLE_ARM = [
    ("PFS", "overall"),
    ("PFS", "subtype"),
    ("PFS", "localisation"),
    ("PFS_EMA", "overall"),
    ("OS", "overall"),
    ("TTNT", "overall"),
    ("TTNTDTH", "overall"),
]
LANDMARK_ENDPOINTS = {"PFS", "PFS_EMA"}


def _groups(values: dict[str, Any], grouping: str) -> tuple[str, str]:
    """The patient's group for ``grouping`` and stratum (for the stratified log-rank)."""
    if grouping == "overall":
        return "All", ""
    return str(values.get(grouping) or "Unassigned"), str(values.get("stratum") or "")


def _descriptive_row(values: dict[str, Any], *, grouping: str) -> DescriptiveRow:
    group, _ = _groups(values.get("subgroups", {}), grouping)
    qol = values.get("quality_of_life") or {}
    normalised = qol.get("auc_normalised")
    return DescriptiveRow(
        group=group,
        visceral_crisis=bool((values.get("visceral_crisis") or {}).get("occurred")),
        lat_complications=tuple(
            (c["modality"], int(c["worst_grade"]), c["timing"]) for c in values.get("lat_complications") or []
        ),
        treatment_related_adverse_events=len(values.get("treatment_related_adverse_events") or []),
        qol_auc_normalised=float(normalised) if normalised is not None else None,
    )


@transaction.atomic
def trial_summaries_recompute(*, trial_id: int) -> int:
    trial = Trial.objects.get(pk=trial_id)
    settings = analysis_settings_current(trial=trial)
    landmark = float(settings.landmark_days)
    assignments = {
        d.patient_id: d.values.get("subgroups", {})
        for d in PatientDerivation.objects.filter(patient__trial=trial).only("patient_id", "values")
    }
    plan = RANDOMISED if trial.is_randomised else SINGLE_ARM
    paramcds = {paramcd for paramcd, _ in plan}
    rows_by_paramcd: dict[str, list[tuple[int, EndpointValue]]] = {p: [] for p in paramcds}
    values = (
        EndpointValue.objects.filter(patient__trial=trial, paramcd__in=paramcds, event__isnull=False)
        .select_related("patient")
        .only("patient__subject_id", "patient_id", "paramcd", "aval_days", "event", "reason")
    )
    for value in values.iterator(chunk_size=2000):
        rows_by_paramcd[value.paramcd].append((value.patient_id, value))
    now = timezone.now()
    keys = []
    for paramcd, grouping in plan:
        rows = []
        for patient_id, value in rows_by_paramcd[paramcd]:
            group, stratum = _groups(assignments.get(patient_id, {}), grouping)
            rows.append(
                SurvivalRow(
                    value.patient.subject_id, int(value.aval_days or 1), bool(value.event), value.reason, group, stratum
                )
            )
        data = endpoint_summary(
            rows,
            landmark_days=landmark if paramcd in LANDMARK_ENDPOINTS else None,
            comparison=("B", "A") if grouping == "arm" else None,
        )
        key = f"{paramcd}:{grouping}"
        keys.append(key)
        TrialSummary.objects.update_or_create(
            trial=trial,
            key=key,
            defaults={
                "data": data,
                "algorithm_version": SUMMARY_VERSION,
                "settings_version": settings.version,
                "patients": len(rows),
                "computed_at": now,
            },
        )
    descriptive = [
        _descriptive_row(values, grouping="arm" if trial.is_randomised else "overall")
        for values in PatientDerivation.objects.filter(patient__trial=trial).values_list("values", flat=True)
        if values.get("origin_date")
    ]
    key = "SAFETY_QOL:arm" if trial.is_randomised else "SAFETY_QOL:overall"
    keys.append(key)
    TrialSummary.objects.update_or_create(
        trial=trial,
        key=key,
        defaults={
            "data": descriptive_summary(descriptive),
            "algorithm_version": SUMMARY_VERSION,
            "settings_version": settings.version,
            "patients": len(descriptive),
            "computed_at": now,
        },
    )
    TrialSummary.objects.filter(trial=trial).exclude(key__in=keys).delete()
    logger.info("Trial summaries of %s recomputed: %s analyses.", trial, len(keys))
    return len(keys)
