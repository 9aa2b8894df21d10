"""Thin Celery tasks: they take ids and call a service (STYLE.md rule 6)."""

from __future__ import annotations

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="outcomes.tasks.endpoints_recompute_for_patient", acks_late=True, max_retries=3)
def endpoints_recompute_for_patient(patient_id: int) -> None:
    services.endpoints_recompute_for_patient(patient_id=patient_id)


@shared_task(name="outcomes.tasks.nightly_consistency_sweep", acks_late=True)
def nightly_consistency_sweep(trial_id: int | None = None) -> dict[str, int]:
    return services.consistency_sweep(trial_id=trial_id)


def enqueue_patient_recompute(patient_id: int) -> None:
    """Called after commit. A broker outage must never fail the save that triggered it: the sweep repairs."""
    try:
        endpoints_recompute_for_patient.delay(patient_id)
    except Exception:
        logger.exception("Could not enqueue the recompute of patient %s; the nightly sweep will repair it.", patient_id)


def enqueue_trial_sweep(trial_id: int) -> None:
    try:
        nightly_consistency_sweep.delay(trial_id)
    except Exception:
        logger.exception("Could not enqueue the recompute of trial %s; the nightly sweep will repair it.", trial_id)
