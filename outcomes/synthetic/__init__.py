"""Synthetic trials at scale: COSMO and AVATAR II patients with realistic, complete CRFs, written in bulk.

Used by ``manage.py scale_data`` (a trial-sized database: 10,000 patients, about a million lesion measurements) and by
the benchmarks (``benchmarks/data.py`` re-exports it). Written in bulk straight into the tables (on PostgreSQL the big
ones by ``COPY``), not through the services: what is measured is what reads the data, not data entry. History tables
(the audit trail), edit checks and events are skipped; every form is complete, as after source-data verification.
Nothing is recomputed: run ``manage.py recompute`` (or ``scale_data --recompute``) afterwards. What a patient gets:
``plan.py``; how it is written: ``writes.py``.

Every synthetic patient's screening number starts with ``SYNTHETIC_PREFIX``: that is how the command tells them from
real ones. Nothing random leaks between runs: ``generate(n, seed=...)`` gives the same patients for the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.db import connection, models, transaction
from django.utils import timezone

from patients.models import Patient

from .plan import INTERVAL, MAX_FOLLOW_UPS, SYNTHETIC_PREFIX, Builder, Config, configure, new_patients, plan_patient
from .writes import TABLES, write

__all__ = ["SYNTHETIC_PREFIX", "TABLES", "Config", "analyze", "configure", "counts", "generate"]


def generate(
    count: int,
    *,
    seed: int = 2026,
    time_points: int | None = None,
    cosmo_share: float = 0.5,
    chunk: int = 500,
    trial: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Create ``count`` patients with complete CRF data; returns their ids.

    ``time_points`` fixes the number of follow-up tumour assessments per patient (beyond the schedule's 13, the
    rest are unscheduled assessments between them); by default each patient has what their follow-up so far
    allows (1 to 13). ``trial`` ("cosmo" / "avatar2") puts every patient in one trial. Written ``chunk`` patients a
    transaction; ``progress`` is called with the number written so far after each.
    """
    config = configure()
    rng = random.Random(seed)
    today = timezone.localdate()
    now = timezone.now()
    builder = Builder(config, rng, today, now, seed=seed)
    share = {"cosmo": 1.0, "avatar2": 0.0}.get(trial or "", cosmo_share)
    created: list[int] = []
    for start in range(0, count, chunk):
        with transaction.atomic():
            patients = new_patients(config, rng, min(chunk, count - start), today=today, cosmo_share=share)
            if time_points:
                for patient in patients:  # room for every time point before today
                    span = INTERVAL * min(time_points, MAX_FOLLOW_UPS) + 60
                    patient.enrolment_date = today - timedelta(days=span + rng.randint(0, 60))
                    patient.consent_date = patient.enrolment_date - timedelta(days=21)
            plans = [plan_patient(builder, patient, time_points=time_points) for patient in patients]
            Patient.objects.bulk_create(patients, batch_size=2000)
            write(plans)
            created += [patient.pk for patient in patients]
        if progress is not None:
            progress(len(created))
    return created


def analyze(tables: Iterable[type[models.Model]] = TABLES) -> None:
    """Refresh the planner's statistics of the tables written (by default, every table ``generate`` writes): after a
    bulk load they still describe the empty tables, and autovacuum may be off or late. PostgreSQL only (SQLite plans
    without them)."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")


def counts() -> dict[str, int]:
    """Rows per table written by ``generate`` (every row of the table, synthetic or not)."""
    return {model.__name__: model._default_manager.count() for model in TABLES}
