"""Writes and reads of dashboard snapshots (issue 7; djangoproject.com's dashboard: precompute, never aggregate on
a page view).

``dashboard_snapshots_refresh`` runs after the debounced trial-summary refresh (``outcomes.tasks``) and on the beat
schedule; each kind's ``build`` reads the database with a fixed number of aggregate queries and returns JSON-ready
facts. The scheduled run skips a trial whose input watermark (row counts and latest change times of what the
builders read) has not moved.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from patients.crf import crf_models
from patients.models import Patient, Query, QueryStatus, Visit
from patients.randomisation import Allocation
from trials.models import Trial

from ..models import DashboardKind, DashboardSnapshot, EndpointValue, TrialSummary
from . import efficacy, enrolment, health, randomisation
from .common import site_rows

logger = logging.getLogger(__name__)

SNAPSHOT_VERSION = "2"  # 2: efficacy curves stored compact, per site and per patient in parts

BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    DashboardKind.ENROLMENT: enrolment.build,
    DashboardKind.HEALTH: health.build,
    DashboardKind.RANDOMISATION: randomisation.build,
    DashboardKind.EFFICACY: efficacy.build,
}


def input_watermark(trial: Trial) -> str:
    """A fingerprint of every input the builders read: counts and the latest change per table (about 25 cheap
    aggregate queries, run only by the scheduled refresh)."""
    parts: list[Any] = [SNAPSHOT_VERSION]
    parts.append(Patient.objects.filter(trial=trial).aggregate(n=Count("id"), t=Max("updated_at")))
    parts.append(Visit.objects.filter(patient__trial=trial).aggregate(n=Count("id"), v=Sum("version")))
    parts.append(
        Query.objects.filter(patient__trial=trial).aggregate(
            n=Count("id"), open=Count("id", filter=~Q(status=QueryStatus.CLOSED)), t=Max("closed_at")
        )
    )
    parts.append(Allocation.objects.filter(trial=trial).aggregate(n=Count("id"), t=Max("allocated_at")))
    parts.append(EndpointValue.objects.filter(patient__trial=trial).aggregate(n=Count("id"), t=Max("computed_at")))
    parts.append(TrialSummary.objects.filter(trial=trial).aggregate(t=Max("computed_at")))
    parts.append(site_rows(trial))
    for model in crf_models():
        parts.append(model._default_manager.filter(patient__trial=trial).aggregate(n=Count("id"), t=Max("updated_at")))
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


def dashboard_snapshot_refresh(
    *, trial: Trial, kind: str, today: date | None = None, watermark: str = ""
) -> DashboardSnapshot:
    """Build one dashboard's facts and store them (replacing the previous snapshot). Idempotent.

    A builder may return parts beside its main facts (``figures["_parts"]``: scope key → facts), each stored as its
    own row of the same kind, read only by the pages that need it (the efficacy dashboard's per-site curves and
    per-patient arrays); parts no longer built are deleted."""
    today = today or timezone.localdate()
    figures = BUILDERS[kind](trial, today=today)
    parts: dict[str, Any] = figures.pop("_parts", {})
    figures["sites"] = site_rows(trial)
    figures["built_on"] = today.isoformat()
    now = timezone.now()
    snapshot, _ = DashboardSnapshot.objects.update_or_create(
        trial=trial,
        kind=kind,
        scope_key="all",
        defaults={
            "algorithm_version": SNAPSHOT_VERSION,
            "computed_at": now,
            "figures": figures,
            "input_watermark": watermark,
        },
    )
    DashboardSnapshot.objects.filter(trial=trial, kind=kind).exclude(scope_key__in=["all", *parts]).delete()
    for scope_key, facts in parts.items():
        DashboardSnapshot.objects.update_or_create(
            trial=trial,
            kind=kind,
            scope_key=scope_key,
            defaults={"algorithm_version": SNAPSHOT_VERSION, "computed_at": now, "figures": facts},
        )
    return snapshot


def dashboard_snapshots_refresh(
    *, trial_id: int, kinds: Iterable[str] | None = None, only_if_changed: bool = False
) -> int:
    """Refresh a trial's dashboards; with ``only_if_changed``, skip when the inputs' watermark has not moved.
    Returns the number of snapshots written."""
    trial = Trial.objects.get(pk=trial_id)
    kinds = list(kinds or BUILDERS)
    watermark = input_watermark(trial) if only_if_changed else ""
    if only_if_changed:
        current = dict(
            DashboardSnapshot.objects.filter(trial=trial, kind__in=kinds, scope_key="all").values_list(
                "kind", "input_watermark"
            )
        )
        kinds = [kind for kind in kinds if current.get(kind) != watermark]
    for kind in kinds:
        with transaction.atomic():
            dashboard_snapshot_refresh(trial=trial, kind=kind, watermark=watermark)
    if kinds:
        logger.info("Dashboards of %s refreshed: %s.", trial, ", ".join(kinds))
    return len(kinds)


def dashboard_snapshot_part(*, trial: Trial, kind: str, scope_key: str) -> dict[str, Any] | None:
    """One part of a snapshot (one query; None when it has none by that key). A snapshot whose parts are missing
    (written by an older version) is rebuilt once."""
    current = DashboardSnapshot.objects.filter(trial=trial, kind=kind, algorithm_version=SNAPSHOT_VERSION)
    figures: dict[str, Any] | None = current.filter(scope_key=scope_key).values_list("figures", flat=True).first()
    if figures is None and not current.exclude(scope_key="all").exists():
        with transaction.atomic():
            dashboard_snapshot_refresh(trial=trial, kind=kind)
        figures = current.filter(scope_key=scope_key).values_list("figures", flat=True).first()
    return figures


def dashboard_snapshot_get(*, trial: Trial, kind: str) -> DashboardSnapshot:
    """The stored snapshot (one query). The first view of a dashboard that has none builds it once, synchronously,
    so a fresh installation or demo shows data at once; later views only read."""
    snapshot = DashboardSnapshot.objects.filter(trial=trial, kind=kind, scope_key="all").first()
    if snapshot is None or snapshot.algorithm_version != SNAPSHOT_VERSION:
        with transaction.atomic():
            snapshot = dashboard_snapshot_refresh(trial=trial, kind=kind)
    return snapshot
