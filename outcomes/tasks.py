"""Thin Celery tasks: they take ids and call a service (STYLE.md rule 6).

Deduplication: a patient has at most one recompute waiting (a cache key set when it is enqueued, cleared when the
task starts, so a change landing during a run enqueues another); trial summaries are debounced the same way with a
short countdown, so a burst of saves refreshes them once.
"""

from __future__ import annotations

import contextlib
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from . import services

logger = logging.getLogger(__name__)


def _patient_key(patient_id: int) -> str:
    return f"edc:recompute:patient:{patient_id}"


def _summary_key(trial_id: int) -> str:
    return f"edc:recompute:summaries:{trial_id}"


@shared_task(name="outcomes.tasks.endpoints_recompute_for_patient", acks_late=True)
def endpoints_recompute_for_patient(patient_id: int) -> None:
    cache.delete(_patient_key(patient_id))
    derivation, changed = services.endpoints_recompute_for_patient(patient_id=patient_id)
    if derivation is not None and changed:
        enqueue_trial_summaries(derivation.patient.trial_id)


@shared_task(name="outcomes.tasks.trial_summaries_recompute", acks_late=True)
def trial_summaries_recompute(trial_id: int) -> int:
    cache.delete(_summary_key(trial_id))
    count = services.trial_summaries_recompute(trial_id=trial_id)
    enqueue_dashboards_refresh(trial_id)  # the dashboards read the summaries and the endpoint rows
    return count


@shared_task(name="outcomes.tasks.nightly_consistency_sweep", acks_late=True)
def nightly_consistency_sweep(trial_id: int | None = None) -> dict[str, int]:
    """Recompute every stale derivation, then every trial's summaries (repairs whatever a broker outage missed)."""
    result = services.consistency_sweep(trial_id=trial_id)
    from trials.models import Trial

    trials = Trial.objects.filter(pk=trial_id) if trial_id else Trial.objects.all()
    for trial in trials:
        services.trial_summaries_recompute(trial_id=trial.pk)
    return result


def _forget(key: str) -> None:
    """Drop a deduplication key after a failed enqueue, so the next change tries again. When the cache is down too
    (one Redis holds both in production) there is nothing to drop: the key was never set, or expires by itself."""
    with contextlib.suppress(Exception):
        cache.delete(key)


def enqueue_patient_recompute(patient_id: int) -> None:
    """Called after commit. A broker or cache outage must never fail the save that triggered it: the sweep repairs."""
    key = _patient_key(patient_id)
    try:
        if not cache.add(key, 1, timeout=300):
            return  # one recompute is already waiting; it will read this change too
        endpoints_recompute_for_patient.delay(patient_id)
    except Exception:
        _forget(key)
        logger.exception("Could not enqueue the recompute of patient %s; the nightly sweep will repair it.", patient_id)


def enqueue_trial_summaries(trial_id: int) -> None:
    key = _summary_key(trial_id)
    try:
        if not cache.add(key, 1, timeout=600):
            return
        trial_summaries_recompute.apply_async((trial_id,), countdown=settings.SUMMARY_DEBOUNCE_SECONDS)
    except Exception:
        _forget(key)
        logger.exception("Could not enqueue the summaries of trial %s; the nightly sweep will repair them.", trial_id)


def enqueue_trial_sweep(trial_id: int) -> None:
    try:
        nightly_consistency_sweep.delay(trial_id)
    except Exception:
        logger.exception("Could not enqueue the recompute of trial %s; the nightly sweep will repair it.", trial_id)


# Dashboards (issue 7) ---------------------------------------------------------------------------------------------


def _dashboards_key(trial_id: int) -> str:
    return f"edc:recompute:dashboards:{trial_id}"


@shared_task(name="outcomes.tasks.dashboards_refresh", acks_late=True)
def dashboards_refresh(trial_id: int) -> int:
    """Rebuild a trial's dashboard snapshots (after its summaries were recomputed)."""
    from .dashboards.snapshots import dashboard_snapshots_refresh

    cache.delete(_dashboards_key(trial_id))
    return dashboard_snapshots_refresh(trial_id=trial_id)


@shared_task(name="outcomes.tasks.dashboards_refresh_all", acks_late=True)
def dashboards_refresh_all(only_if_changed: bool = True) -> int:
    """The beat schedule's refresh of every trial's dashboards: what no recompute triggers (visits, queries, SAE
    dates, site activation) still reaches the pages; unchanged trials are skipped by their input watermark."""
    from trials.models import Trial

    from .dashboards.snapshots import dashboard_snapshots_refresh

    return sum(
        dashboard_snapshots_refresh(trial_id=trial_id, only_if_changed=only_if_changed)
        for trial_id in Trial.objects.values_list("pk", flat=True)
    )


def enqueue_dashboards_refresh(trial_id: int) -> None:
    """Debounced like the summaries: one refresh waiting per trial; a broker outage is repaired by the schedule.

    Without a broker (the embedded set-up, the tests) tasks run in the saving request: there the trial's snapshots
    are dropped instead (one query) and the next dashboard view rebuilds its own, so a save never pays for four
    dashboards."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        from .models import DashboardSnapshot

        DashboardSnapshot.objects.filter(trial_id=trial_id).delete()
        return
    key = _dashboards_key(trial_id)
    try:
        if not cache.add(key, 1, timeout=600):
            return
        dashboards_refresh.apply_async((trial_id,), countdown=settings.SUMMARY_DEBOUNCE_SECONDS)
    except Exception:
        _forget(key)
        logger.exception("Could not enqueue the dashboards of trial %s; the schedule will refresh them.", trial_id)


@shared_task(name="outcomes.tasks.datacut_freeze", acks_late=True)
def datacut_freeze(cut_id: int) -> str:
    """Freeze a requested data cut (issue 6): write every dataset in every format from one snapshot."""
    from .services.datacuts import datacut_freeze as freeze

    return str(freeze(cut_id=cut_id).status)
