"""Writes of derived values. Idempotent: recomputing unchanged inputs changes nothing."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from patients.models import Patient
from trials.models import AnalysisSettings

from ..domain.follow_up import FollowUpInput, derive_follow_up
from ..models import PatientDerivation
from ..selectors import input_hash, patient_inputs

logger = logging.getLogger(__name__)

#: Bump when any engine changes what it derives: every stored row then counts as stale and the sweep recomputes it.
ALGORITHM_VERSION = "0.1.0"


def _settings_version(patient: Patient) -> int | None:
    latest = AnalysisSettings.objects.filter(trial_id=patient.trial_id).order_by("-version").first()
    return latest.version if latest else None


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in values.items()}


def derivation_is_current(*, patient: Patient, derivation: PatientDerivation | None) -> bool:
    return (
        derivation is not None
        and derivation.algorithm_version == ALGORITHM_VERSION
        and derivation.settings_version == _settings_version(patient)
        and derivation.input_hash == input_hash(patient_inputs(patient=patient))
    )


@transaction.atomic
def endpoints_recompute_for_patient(*, patient_id: int) -> PatientDerivation | None:
    """Recompute every derived value of one patient from the full current data (clinical-spec C6)."""
    patient = Patient.objects.select_for_update().filter(pk=patient_id).first()
    if patient is None:
        logger.info("Patient %s no longer exists; nothing to recompute.", patient_id)
        return None
    inputs = patient_inputs(patient=patient)
    digest = input_hash(inputs)
    settings_version = _settings_version(patient)
    existing = PatientDerivation.objects.filter(patient=patient).first()
    if derivation_is_current(patient=patient, derivation=existing):
        return existing
    follow_up = derive_follow_up(
        FollowUpInput(consent_date=patient.consent_date, enrolment_date=patient.enrolment_date, status=patient.status)
    )
    derivation, _ = PatientDerivation.objects.update_or_create(
        patient=patient,
        defaults={
            "site_id": patient.site_id,
            "algorithm_version": ALGORITHM_VERSION,
            "settings_version": settings_version,
            "input_hash": digest,
            "computed_at": timezone.now(),
            "values": {"follow_up": _jsonable(asdict(follow_up))},
        },
    )
    return derivation


def consistency_sweep(*, trial_id: int | None = None) -> dict[str, int]:
    """Find every patient whose stored derivation is missing or stale and recompute it (repairs missed events)."""
    patients = Patient.objects.all()
    if trial_id is not None:
        patients = patients.filter(trial_id=trial_id)
    derivations = {d.patient_id: d for d in PatientDerivation.objects.filter(patient__in=patients)}
    checked = repaired = 0
    for patient in patients.iterator(chunk_size=500):
        checked += 1
        if not derivation_is_current(patient=patient, derivation=derivations.get(patient.pk)):
            endpoints_recompute_for_patient(patient_id=patient.pk)
            repaired += 1
    logger.info("Consistency sweep: %s patients checked, %s recomputed.", checked, repaired)
    return {"checked": checked, "repaired": repaired}
