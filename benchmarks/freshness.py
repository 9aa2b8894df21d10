"""Event-to-fresh latency (issue 9): from the commit of a tumour assessment to the patient's new PFS in the database.

The real pipeline, nothing bypassed: the assessment is saved through ``lesions.services.tumour_assessment_save`` (the
service the CRF form and the API call), whose commit sends ``patient_data_changed``; ``outcomes`` enqueues the
patient's recompute (deduplicated in the shared Redis cache) on a Redis broker; a real Celery worker, started here as
in production (``celery -A cosmo_avatar worker --concurrency=2``, ``DJANGO_DEBUG=False``, persistent database
connections), recomputes and writes the endpoint rows, and debounced trial-summary and dashboard refreshes run beside
it. The benchmark polls ``EndpointValue`` every 10 ms until the patient's PFS shows the event. Target: p95 under 2 s.

Run: ``DATABASE_URL=postgres://... python benchmarks/freshness.py`` with Redis at ``FRESHNESS_REDIS_URL`` (default
``redis://127.0.0.1:6379/9``: broker and cache, flushed before and after). PostgreSQL only.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    ROOT,
    Figure,
    database_url,
    django_setup,
    machine_print,
    median,
    percentile,
    skipped_off_postgresql,
    throwaway_database,
)

REDIS_URL = os.environ.get("FRESHNESS_REDIS_URL", "redis://127.0.0.1:6379/9")
PATIENTS = int(os.environ.get("BENCH_FRESHNESS_PATIENTS", "300"))
SAVES = int(os.environ.get("BENCH_FRESHNESS_SAVES", "100"))
POLL_SECONDS = 0.01
GIVE_UP_SECONDS = 30.0

TITLE = "Event-to-fresh latency (a progression saved → the patient's PFS recomputed by the worker)"
DESCRIPTION = """\
From the commit of a tumour assessment showing progression (an unequivocal new lesion) to the moment the patient's
PFS endpoint row shows the event, through the real pipeline: the service the CRF form and the API use
(`tumour_assessment_save`), the `patient_data_changed` event on commit, the deduplicated enqueue on a Redis broker,
and a real Celery worker started as in production (`--concurrency=2`, `DJANGO_DEBUG=False`, persistent connections),
with the debounced trial-summary and dashboard refreshes it triggers running beside it. 300 synthetic patients (both
trials, realistic follow-up) recomputed first; then 100 progressions saved one after another (each waited for before
the next), `EndpointValue` polled every 10 ms. Target: p95 under 2 s. PostgreSQL only."""
NOTES: list[str] = []


@dataclass
class Progression:
    """What one save will write: a new unscheduled visit's assessment, the last one's rows plus a new lesion."""

    patient: Any
    visit: Any
    rows: Any
    on: date


def prepare(count: int, saves: int) -> tuple[Any, list[Progression]]:
    """Synthetic patients, recomputed; a site coordinator of every site; for ``saves`` patients still free of
    progression, an unscheduled visit (recorded with events paused: only the assessment's event is measured) and the
    rows of a progressing assessment."""
    from django.db.models import Max
    from django.utils import timezone

    from lesions.models import (
        AssessmentRows,
        NewLesionRow,
        NonTargetObservation,
        NonTargetRow,
        TargetMeasurement,
        TargetRow,
        TumourAssessment,
    )
    from outcomes import synthetic
    from outcomes.models import EndpointValue
    from outcomes.services import trial_summaries_recompute
    from outcomes.services.patients import recompute_many
    from patients import events
    from patients.models import Death, EndOfStudy, Patient, Visit, VisitStatus
    from patients.services import visit_record
    from trials.models import Role, Site, SiteMembership, Trial, User

    ids = synthetic.generate(count, seed=90_210)
    synthetic.analyze()
    recompute_many(ids)
    for trial_id in Trial.objects.values_list("pk", flat=True):
        trial_summaries_recompute(trial_id=trial_id)
    synthetic.analyze()

    user = User.objects.create_user(username="freshness-coordinator", role=Role.SITE_COORDINATOR)
    SiteMembership.objects.bulk_create([SiteMembership(user=user, site=site) for site in Site.objects.all()])

    today = timezone.localdate()
    ended = set(Death.objects.values_list("patient_id", flat=True)) | set(
        EndOfStudy.objects.values_list("patient_id", flat=True)
    )
    free = set(EndpointValue.objects.filter(paramcd="PFS", event=False).values_list("patient_id", flat=True))
    last = dict(
        TumourAssessment.objects.filter(patient_id__in=free - ended, status="complete")
        .values("patient_id")
        .annotate(last=Max("assessment_date"))
        .values_list("patient_id", "last")
    )
    chosen = sorted(pk for pk, on in last.items() if on is not None and on <= today - timedelta(days=14))[:saves]
    patients = Patient.objects.select_related("trial").in_bulk(chosen)
    progressions = []
    with events.paused():
        for pk in chosen:
            patient = patients[pk]
            on = min(last[pk] + timedelta(days=56), today)
            latest = TumourAssessment.objects.filter(patient=patient, assessment_date=last[pk]).latest("pk")
            targets = TargetMeasurement.objects.filter(assessment=latest).select_related("lesion")
            non_targets = NonTargetObservation.objects.filter(assessment=latest).select_related("lesion")
            occurrence = Visit.objects.filter(patient=patient, definition__code="unscheduled").count() + 1
            visit = visit_record(
                user=user,
                patient=patient,
                definition=patient.trial.visit_definitions.get(code="unscheduled"),
                occurrence=occurrence,
                status=VisitStatus.DONE,
                visit_date=on,
            )
            rows = AssessmentRows(
                targets=tuple(TargetRow(row.lesion, row.status, row.diameter_tenths, on) for row in targets),
                non_targets=tuple(NonTargetRow(row.lesion, row.status, on) for row in non_targets),
                new_lesions=(NewLesionRow("YES", on, "LIVER"),),
            )
            progressions.append(Progression(patient, visit, rows, on))
    return user, progressions


def start_worker(log: Any) -> subprocess.Popen[str]:
    """A Celery worker as production runs it, on the throwaway database; returns once it consumes the queue."""
    from django.db import connection

    from cosmo_avatar.celery import app

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cosmo_avatar.settings",
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),  # DEBUG off needs one; this worker lives for minutes
        "DATABASE_URL": database_url(connection.settings_dict),
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": REDIS_URL,
        "CACHE_URL": REDIS_URL,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cosmo_avatar", "worker", "--concurrency=2", "--loglevel=INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopped with its pool processes, and nothing else
    )
    deadline = time.monotonic() + 60
    while not app.control.inspect(timeout=1).active_queues():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_worker(process)
            raise RuntimeError(f"The Celery worker did not start:\n{Path(log.name).read_text()[-3000:]}")
    return process


def stop_worker(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()  # warm shutdown: the pool processes finish their task and exit with the main process
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # this benchmark's own database: the broker's queue and the cache


def measure(user: Any, progressions: list[Progression]) -> tuple[list[float], list[float], int]:
    """Save each progression and wait for its PFS: (commit → fresh latencies in ms, save times in ms, worker tasks)."""
    from django.db import transaction

    from lesions.services import tumour_assessment_save
    from outcomes.models import EndpointValue

    latencies, saves = [], []
    for progression in progressions:
        began = time.perf_counter()
        with transaction.atomic():
            tumour_assessment_save(
                user=user,
                patient=progression.patient,
                visit=progression.visit,
                values={"modality": "ct", "investigator_response": "PD"},
                rows=progression.rows,
                complete=True,
            )
            committing = time.perf_counter()  # the commit, then its callbacks: the event, the enqueue
        saves.append((committing - began) * 1000)
        fresh = EndpointValue.objects.filter(
            patient_id=progression.patient.pk, paramcd="PFS", event=True, end_date=progression.on
        )
        while not fresh.exists():
            if time.perf_counter() - committing > GIVE_UP_SECONDS:
                raise RuntimeError(f"Patient {progression.patient.pk}: no fresh PFS within {GIVE_UP_SECONDS:.0f} s")
            time.sleep(POLL_SECONDS)
        latencies.append((time.perf_counter() - committing) * 1000)
    return latencies, saves, len(progressions)


def run() -> list[Figure]:
    django_setup()
    from django.test.utils import override_settings

    from cosmo_avatar.celery import app

    NOTES.clear()
    with throwaway_database(keep=False):
        machine_print()
        if skipped_off_postgresql(NOTES, "Skipped: measured on PostgreSQL (with Redis and a Celery worker) only."):
            return []
        user, progressions = prepare(PATIENTS, SAVES)
        print(f"  {len(progressions)} patients free of progression get one; the worker starts")
        cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
        previous = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
        log = tempfile.NamedTemporaryFile("w+", prefix="freshness-worker-", suffix=".log", delete=False)  # noqa: SIM115
        process = None
        try:
            with override_settings(CACHES=cache, CELERY_BROKER_URL=REDIS_URL, CELERY_TASK_ALWAYS_EAGER=False):
                _flush_redis()
                app.conf.update(broker_url=REDIS_URL, task_always_eager=False)
                process = start_worker(log)
                latencies, saves, count = measure(user, progressions)
        finally:
            if process is not None:
                stop_worker(process)
            app.conf.update(**previous)
            _flush_redis()
        worker_log = Path(log.name).read_text()
        tasks = len(re.findall(r"outcomes\.tasks\.endpoints_recompute_for_patient\[[^\]]+\] succeeded", worker_log))
        Path(log.name).unlink()
    if tasks < count:  # the recomputes must have run in the worker, not in this process
        raise RuntimeError(f"Only {tasks} recompute tasks in the worker's log for {count} saves")
    note = f"{count} progressions, one after another"
    NOTES.append(
        f"{count} saves on {PATIENTS} synthetic patients; the worker's log shows {tasks} patient recomputes that "
        "succeeded."
    )
    return [
        Figure("Commit → fresh PFS, p50", median(latencies), "ms", note=note),
        Figure("Commit → fresh PFS, p95", percentile(latencies, 0.95), "ms", 2000),
        Figure("Commit → fresh PFS, p99", percentile(latencies, 0.99), "ms"),
        Figure("Commit → fresh PFS, max", max(latencies), "ms"),
        Figure("The save itself (service call up to the commit), median", median(saves), "ms"),
    ]


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
