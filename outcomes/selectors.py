"""Reads for the recompute pipeline: everything a patient's derivation depends on, and its hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from patients.models import Patient


def patient_inputs(*, patient: Patient) -> dict[str, Any]:
    """Every input the engines read for this patient, as plain JSON-able data (sorted, so the hash is stable)."""
    return {
        "patient": {
            "id": patient.pk,
            "consent_date": patient.consent_date.isoformat(),
            "enrolment_date": patient.enrolment_date.isoformat() if patient.enrolment_date else None,
            "status": patient.status,
        },
    }


def input_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def trial_summaries(*, trial: Any) -> dict[str, Any]:
    """The stored summaries of a trial by key (e.g. ``"PFS:overall"``)."""
    from .models import TrialSummary

    return {summary.key: summary for summary in TrialSummary.objects.filter(trial=trial)}
