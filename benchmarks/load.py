"""CRF save under load (issue 9): tumour assessments saved through the REST API against gunicorn + PostgreSQL.

A throwaway ``benchmark_load`` database gets a few hundred synthetic patients (``benchmarks/data.py``) whose
follow-up tumour assessments are taken out and kept as request bodies; a site coordinator per site with a personal
API token; a bare table for the bare view. gunicorn (sync workers, 2 x cores + 1) serves ``settings_bench``
(production settings, the bare view's URL and a rate limit no run reaches) on 127.0.0.1 with DEBUG off, Redis as
Celery broker and cache, and persistent database connections as in docker-compose.yml. wrk
(``benchmarks/load_requests.lua``) puts the assessments back, each request a distinct new record: ``POST
/api/v1/tumour-assessments/`` with its target, non-target and new-lesion rows, which runs everything a coordinator's
save runs (token, scope, edit checks of the form and of its rows, the history rows with the reason, the RECIST
recompute of the patient's every assessment and its discrepancy queries, the recompute task enqueued to Redis after
commit, the saved record read back and serialised with its warnings).

(a) Closed loop, 32 connections, 20 s each: the bare view (one ``INSERT``, 201), then the CRF save; throughput and
    latency; target: the save at least a third of the bare view's throughput.
(b) Open loop: 50 saves a second on a fixed schedule for 60 s (3,000 saves, about 3,000 coordinators each saving
    a form a minute); latency percentiles (target p95 under 150 ms) and errors (target none).
(c) Open loop again, at 60 % of the saves a second the machine can serve at most (its cores over the CPU per save
    measured in (a)), for 60 s: the latency of a save when the server is busy but not short of CPU, beside (b).

After each run the rows saved are counted against the 2xx answers. Run: ``DATABASE_URL=postgres://... python
benchmarks/load.py`` (PostgreSQL only; wrk must be installed: ``make bench`` installs it). ``BENCH_LOAD_PORT``
(default 18081), ``BENCH_LOAD_REDIS`` (default ``redis://127.0.0.1:6379/8``, flushed before and after),
``BENCH_LOAD_PATIENTS`` (default 600).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    ROOT,
    Figure,
    database_url,
    django_setup,
    machine_print,
    skipped_off_postgresql,
    throwaway_database,
)

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "load_requests.lua"
PORT = int(os.environ.get("BENCH_LOAD_PORT", "18081"))
REDIS_URL = os.environ.get("BENCH_LOAD_REDIS", "redis://127.0.0.1:6379/8")
PATIENTS = int(os.environ.get("BENCH_LOAD_PATIENTS", "600"))
#: the database this benchmark creates (``throwaway_database`` names its copy ``benchmark_<NAME>``)
DATABASE_NAME = "load"
WORKERS = 2 * (os.cpu_count() or 1) + 1
CLIENTS = 32
CLOSED_SECONDS = 20
OPEN_RATE = 50
OPEN_SECONDS = 60
OPEN_CONNECTIONS = 64  # the schedule holds while the latency stays under 64 / 50 s
SUSTAINABLE_SHARE = 0.6  # (c): this share of the most saves a second the cores could serve
WARM_UP_SAVES = 40  # each worker loads its code and opens its connection
SAVES_PATH = "/api/v1/tumour-assessments/"
RECOMPUTE_TASK = "outcomes.tasks.endpoints_recompute_for_patient"

TITLE = "CRF save under load"
DESCRIPTION = """\
Tumour assessments (CRF 8) created through the REST API (`POST /api/v1/tumour-assessments/`, personal API tokens of
8 site coordinators) on gunicorn + PostgreSQL over loopback, each request a distinct new record with its target,
non-target and new-lesion rows: token, scope, the form's and the rows' edit checks, history rows with the reason,
the patient's RECIST recompute and discrepancy queries, the recompute task enqueued to Redis after commit, the saved
record read back with its warnings. gunicorn: sync workers, 2 × cores + 1, `cosmo_avatar.settings_bench`
(production settings, DEBUG off, persistent database connections, Redis as broker and cache; only the bare view's
URL and the rate limit differ); the load from wrk (`benchmarks/load_requests.lua`) on the same machine. The data: a
few hundred synthetic patients (`benchmarks/data.py`, 13 follow-ups each) whose follow-up assessments are
taken out beforehand and put back by the load, in date order per patient.
- **(a) Closed loop, 32 connections, 20 s each**: a bare Django view that inserts one row and answers 201 (same
  server, middleware and database), then the CRF save. Target: the save's throughput at least a third of the bare
  view's.
- **(b) Open loop, 50 saves a second for 60 s** (3,000 saves: about 3,000 coordinators each saving a form a
  minute), sent on a fixed schedule whatever the latency. Targets: p95 under 150 ms, no errors.
- **(c) Open loop at 60 % of what the cores can serve** (their number over the CPU per save measured in (a)), 60 s:
  the latency of a save on a busy server that is not short of CPU, beside (b). No target of its own.

After every run the records saved are counted against the 2xx answers."""
NOTES: list[str] = []


@dataclass(frozen=True)
class Result:
    """What one wrk run measured (``load_requests.lua``'s LOAD_RESULT line)."""

    raw: dict[str, Any]

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.raw["statuses"].items() if status.startswith("2"))

    @property
    def failed(self) -> int:
        """Answers other than 2xx, and requests that got no answer (socket errors, timeouts)."""
        errors = self.raw["errors"]
        return int(self.raw["sent"] - self.ok + errors["connect"])

    @property
    def throughput(self) -> float:
        """Answers a second, from the first request sent to the last answer."""
        return float(self.raw["answered"] / (self.raw["active_ms"] / 1000)) if self.raw["active_ms"] else 0.0

    def ms(self, name: str) -> float:
        return float(self.raw["latency_us"][name] / 1000)

    def summary(self) -> str:
        return (
            f"{self.raw['answered']:,} answered ({self.raw['statuses']}), {self.throughput:,.1f}/s, "
            f"p50 {self.ms('p50'):.1f} ms, p95 {self.ms('p95'):.1f} ms, p99 {self.ms('p99'):.1f} ms, "
            f"max {self.ms('max'):.1f} ms"
        )


# The data ---------------------------------------------------------------------------------------------------------


@contextmanager
def load_database() -> Iterator[str]:
    """``throwaway_database`` under this benchmark's own name (``benchmark_load``), so it never meets another
    benchmark's copy of the configured database running at the same time."""
    from django.db import connection

    configured = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = DATABASE_NAME
    try:
        with throwaway_database(keep=False) as name:
            yield name
    finally:
        connection.settings_dict["NAME"] = configured


def users_and_tokens() -> dict[int, str]:
    """A site coordinator for each site with a read-write API token: ``{site id: Authorization header}``."""
    from trials.models import Role, Site, SiteMembership, User
    from trials.services_tokens import api_token_create

    headers = {}
    for site in Site.objects.order_by("code"):
        user = User.objects.create(username=f"load-coordinator-{site.code.lower()}", role=Role.SITE_COORDINATOR)
        SiteMembership.objects.create(user=user, site=site)
        issued = api_token_create(actor=user, owner=user, name="Load benchmark", expires_in_days=1, read_only=False)
        headers[site.pk] = f"Token {issued.plaintext}"
    return headers


def take_out_follow_ups(patient_ids: list[int], tokens: dict[int, str]) -> list[str]:
    """Remove every follow-up tumour assessment of the patients (the baseline stays) and return them as request
    lines for ``load_requests.lua``: the same visit, modality, investigator's response and rows, in date order per
    patient, the patients interleaved so that no two requests in flight are the same patient's."""
    from lesions.models import NewLesion, NonTargetObservation, TargetMeasurement, TumourAssessment
    from patients.models import StrategyFailure

    assessments = list(
        TumourAssessment.objects.filter(patient_id__in=patient_ids)
        .exclude(visit__definition__kind="screening")
        .select_related("patient")
        .order_by("patient_id", "assessment_date", "pk")
    )
    ids = [a.pk for a in assessments]
    targets: dict[int, list[dict[str, Any]]] = {}
    for row in TargetMeasurement.objects.filter(assessment_id__in=ids).order_by("lesion__label"):
        targets.setdefault(row.assessment_id, []).append(
            {"lesion": row.lesion_id, "status": row.status, "diameter_tenths": row.diameter_tenths}
            | {"scan_date": str(row.scan_date)}
        )
    non_targets: dict[int, list[dict[str, Any]]] = {}
    for row in NonTargetObservation.objects.filter(assessment_id__in=ids).order_by("lesion__label"):
        non_targets.setdefault(row.assessment_id, []).append(
            {"lesion": row.lesion_id, "status": row.status, "scan_date": str(row.scan_date)}
        )
    new_lesions: dict[int, list[dict[str, Any]]] = {}
    for row in NewLesion.objects.filter(assessment_id__in=ids):
        new_lesions.setdefault(row.assessment_id, []).append(
            {"status": row.status, "scan_date": str(row.scan_date), "site_code": row.site_code}
        )
    by_patient: dict[int, list[str]] = {}
    for a in assessments:
        body = {
            "patient": a.patient.subject_id,
            "visit": a.visit_id,
            "modality": a.modality,
            "investigator_response": a.investigator_response,
            "complete": True,
            "targets": targets.get(a.pk, []),
            "non_targets": non_targets.get(a.pk, []),
            "new_lesions": new_lesions.get(a.pk, []),
        }
        by_patient.setdefault(a.patient_id, []).append(
            f"{SAVES_PATH}\t{tokens[a.site_id]}\t{json.dumps(body, separators=(',', ':'))}"
        )
    # A strategy failure names the assessment showing the progression by id: that record is written again.
    StrategyFailure.objects.filter(linked_assessment_id__in=ids).update(linked_assessment_id=None)
    for rows in (TargetMeasurement, NonTargetObservation, NewLesion):  # protected rows first
        rows.objects.filter(assessment_id__in=ids).delete()
    TumourAssessment.objects.filter(pk__in=ids).delete()
    lines = []
    for rank in range(max((len(v) for v in by_patient.values()), default=0)):
        lines += [requests[rank] for requests in by_patient.values() if rank < len(requests)]
    return lines


def bare_table() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE benchmark_bare_row (id bigserial PRIMARY KEY, created_at timestamptz, body text)")


def count(sql: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])


def saved_assessments() -> int:
    return count("SELECT count(*) FROM lesions_tumourassessment")


def history_rows() -> int:
    """History rows of new assessments written through the service: each carries its author and reason."""
    return count(
        "SELECT count(*) FROM lesions_historicaltumourassessment WHERE history_type = '+' "
        "AND history_user_id IS NOT NULL AND history_change_reason <> ''"
    )


# Redis ------------------------------------------------------------------------------------------------------------


def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL)


def recompute_tasks_enqueued() -> int:
    """Recompute tasks waiting in the Celery queue (no worker runs: every one enqueued is still there)."""
    found = 0
    for message in redis_client().lrange("celery", 0, -1):
        with suppress(ValueError, KeyError, TypeError):
            found += json.loads(message)["headers"]["task"] == RECOMPUTE_TASK
    return found


# gunicorn and wrk -------------------------------------------------------------------------------------------------


def free_port(preferred: int) -> int:
    for port in range(preferred, preferred + 20):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in {preferred}-{preferred + 19}")


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@contextmanager
def gunicorn(database: str, port: int, logs: Path) -> Iterator[Server]:
    """gunicorn on 127.0.0.1:``port`` with the benchmark settings until the block ends (always stopped)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cosmo_avatar.settings_bench",
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database,
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": REDIS_URL,
        "CACHE_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
        # no collectstatic here: whitenoise's warning about the missing folder, once per worker, is not news
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "cosmo_avatar.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={WORKERS}",
        "--worker-class=sync",
        f"--access-logfile={logs / 'access.log'}",
        f"--error-logfile={logs / 'error.log'}",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(server, url, logs)
        yield Server(url, server.pid)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def _wait_until_serving(server: subprocess.Popen[bytes], url: str, logs: Path) -> None:
    """Until Django answers: a bare-view row (the bare run counts its rows before and after)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}): {(logs / 'error.log').read_text()[-2000:]}")
        try:
            probe = urllib.request.Request(  # noqa: S310 - our own server on loopback
                f"{url}/bench/bare-insert/", data=b"readiness", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(probe, timeout=5) as answer:  # noqa: S310
                if answer.status == 201:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


@dataclass
class CpuMeter:
    """CPU seconds used by gunicorn's workers and by the benchmark database's PostgreSQL backends while the block
    runs, read from /proc (the database on this machine; else PostgreSQL shows 0). Sampled every 0.2 s, so a
    backend that ends in the middle (``DATABASE_CONN_MAX_AGE``) counts up to its last sample. CPU time, unlike
    latency, hardly depends on what else the shared machine runs."""

    server_pid: int
    database: str
    seconds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._started = False

    def _sample(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        backend = f" {self.database} "  # a backend's title: "postgres: 15/main: USER DATABASE HOST(PORT) STATE"
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if int(stat[1]) == self.server_pid:
                group = "gunicorn"
            elif command.startswith("postgres: ") and backend in command:
                group = "postgres"
            else:
                continue
            pid, used = int(entry.name), (int(stat[11]) + int(stat[12])) / tick
            self._first.setdefault(pid, used if not self._started else 0.0)
            self._last[pid] = (group, used)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._sample()
        self._started = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.seconds = {"gunicorn": 0.0, "postgres": 0.0}
        for pid, (group, used) in self._last.items():
            self.seconds[group] += used - self._first[pid]

    def per_request_ms(self, requests: int) -> dict[str, float]:
        return {group: used * 1000 / max(requests, 1) for group, used in self.seconds.items()}


def wrk(
    url: str,
    lines: list[str],
    *,
    connections: int,
    seconds: float = 0,
    rate: float = 0,
    budget: int = 0,
    work: Path,
) -> Result:
    """One wrk run over ``lines``: it stops sending at ``budget`` requests or after ``seconds``, and is stopped
    (SIGINT: wrk prints its results) once every request sent has its answer."""
    requests = work / "requests.txt"
    requests.write_text("\n".join(lines) + "\n")
    errors, finished = work / "errors.txt", work / "finished"
    errors.unlink(missing_ok=True)
    finished.unlink(missing_ok=True)
    env = {
        **os.environ,
        "LOAD_REQUESTS": str(requests),
        "LOAD_RATE": str(rate),
        "LOAD_BUDGET": str(budget),
        "LOAD_SECONDS": str(seconds),
        "LOAD_ERRORS": str(errors),
        "LOAD_FINISHED": str(finished),
        "LOAD_CONNECTIONS": str(connections),
    }
    backstop = int((budget / rate if rate else seconds) + 120)  # wrk's -d: only if answers never come
    command = ["wrk", "-t1", f"-c{connections}", f"-d{backstop}s", "--timeout=60s", "-s", str(SCRIPT), f"{url}/"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        while process.poll() is None and not finished.exists():
            time.sleep(0.1)
        for _ in range(5):  # wrk stops at SIGINT (its sleeping main thread takes it: the kernel prefers it)
            if process.poll() is not None:
                break
            process.send_signal(signal.SIGINT)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=3)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    found = [line for line in stdout.splitlines() if line.startswith("LOAD_RESULT ")]
    if process.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stdout[-2000:]} {stderr[-2000:]}")
    result = Result(json.loads(found[-1].removeprefix("LOAD_RESULT ")))
    if result.raw["sent"] != result.raw["answered"]:
        NOTES.append(f"wrk stopped with {result.raw['sent'] - result.raw['answered']} requests unanswered.")
    if errors.exists():
        print("  first answers other than 2xx:\n    " + "\n    ".join(errors.read_text().splitlines()[:5]))
    return result


# The benchmark ---------------------------------------------------------------------------------------------------


def run() -> list[Figure]:
    django_setup()
    NOTES.clear()
    if skipped_off_postgresql(NOTES):
        return []
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    with load_database() as name, tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        machine_print()
        work = Path(scratch)
        pool, patients = prepare()
        redis_client().flushdb()
        from django.db import connection, connections

        try:
            with gunicorn(database_url(connection.settings_dict, name=name), free_port(PORT), work) as server:
                return measure(server, name, pool, patients, work)
        finally:
            redis_client().flushdb()
            connections.close_all()


def prepare() -> tuple[list[str], int]:
    from django.db import connection, transaction

    from benchmarks import data
    from outcomes.services.patients import recompute_many

    started = time.perf_counter()
    ids = data.generate(PATIENTS, seed=9_000, time_points=13)
    with transaction.atomic():
        tokens = users_and_tokens()
        pool = take_out_follow_ups(ids, tokens)
        bare_table()
    recompute_many(ids)  # the computed responses, derivations and queries a live trial has stored
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the planner's statistics of the freshly loaded tables, as autovacuum would
    seconds = time.perf_counter() - started
    print(f"  {len(ids):,} patients, {len(pool):,} follow-up assessments to save, ready in {seconds:.0f} s")
    return pool, len(ids)


def measure(server: Server, database: str, pool: list[str], patients: int, work: Path) -> list[Figure]:
    url = server.url
    bare = [f"/bench/bare-insert/\t\t{json.dumps({'n': n})}" for n in range(1000)]
    taken = 0

    def saves(result: Result) -> None:
        nonlocal taken
        taken += result.raw["sent"]

    # Warm-up: every worker loads its code and opens its database connection.
    wrk(url, bare, connections=8, seconds=2, work=work)
    saves(wrk(url, pool, connections=8, budget=WARM_UP_SAVES, rate=0, work=work))
    redis_client().flushdb()
    time.sleep(2)

    # (a) closed loop ----------------------------------------------------------------------------------------------
    before = count("SELECT count(*) FROM benchmark_bare_row")
    with CpuMeter(server.pid, database) as bare_cpu:
        bare_run = wrk(url, bare, connections=CLIENTS, seconds=CLOSED_SECONDS, work=work)
    bare_rows = count("SELECT count(*) FROM benchmark_bare_row") - before
    print(f"  (a) bare view: {bare_run.summary()}; rows inserted {bare_rows:,}")
    time.sleep(2)
    left = len(pool) - taken - OPEN_RATE * OPEN_SECONDS * 2  # (b), and (c) at less than (b)'s rate
    if left < 200:
        raise RuntimeError(f"Only {len(pool):,} assessments to save: raise BENCH_LOAD_PATIENTS")
    closed, closed_check, save_cpu = save_run(
        server, database, pool[taken:], work, connections=CLIENTS, seconds=CLOSED_SECONDS, budget=left
    )
    saves(closed)
    print(f"  (a) CRF save: {closed.summary()}; {closed_check}")
    bare_ms, save_ms = (
        bare_cpu.per_request_ms(bare_run.raw["answered"]),
        save_cpu.per_request_ms(closed.raw["answered"]),
    )
    print(
        f"      CPU per request: bare view gunicorn {bare_ms['gunicorn']:.1f} ms + PostgreSQL "
        f"{bare_ms['postgres']:.1f} ms; CRF save gunicorn {save_ms['gunicorn']:.1f} ms + PostgreSQL "
        f"{save_ms['postgres']:.1f} ms"
    )
    redis_client().flushdb()
    time.sleep(2)

    def open_loop(label: str, rate: int) -> tuple[Result, str, float, dict[str, float]]:
        """An open-loop run at ``rate`` saves a second for ``OPEN_SECONDS``: the result, its check, the rate
        achieved and the latencies from the schedule."""
        result, check, _ = save_run(
            server,
            database,
            pool[taken:],
            work,
            connections=OPEN_CONNECTIONS,
            rate=rate,
            budget=rate * OPEN_SECONDS,
            seconds=OPEN_SECONDS,
        )
        saves(result)
        achieved = result.raw["answered"] / (result.raw["sending_ms"] / 1000 + 1 / rate)
        schedule = result.raw["schedule_ms"]
        print(f"  ({label}) CRF save at {rate}/s: {result.summary()}; {check}")
        print(
            f"      from the schedule: p50 {schedule['p50']:.1f} ms, p95 {schedule['p95']:.1f} ms, "
            f"p99 {schedule['p99']:.1f} ms, max {schedule['max']:.1f} ms ({schedule['count']:,} saves); latest "
            f"send {result.raw['lag_max_ms']:.1f} ms behind its slot, {result.raw['lag_over_5ms']:,} more than 5 ms "
            "late"
        )
        redis_client().flushdb()
        time.sleep(2)
        return result, check, achieved, schedule

    # (b) open loop at the target's rate; (c) at a rate the cores can serve ----------------------------------------
    opened, open_check, rate, schedule = open_loop("b", OPEN_RATE)
    capacity = (os.cpu_count() or 1) * 1000 / max(sum(save_ms.values()), 0.001)
    easy_rate = max(1, min(OPEN_RATE, int(capacity * SUSTAINABLE_SHARE)))
    easy, easy_check, easy_achieved, easy_schedule = open_loop("c", easy_rate)

    ratio = closed.throughput / bare_run.throughput if bare_run.throughput else 0.0
    adjusted = [
        name
        for name, result in (("bare view", bare_run), ("CRF save", closed))
        if result.ms("max") > result.raw["corrected_above_ms"]
    ]
    kept_up = opened.raw["lag_over_5ms"] == 0
    NOTES.extend(
        [
            f"{patients:,} patients; {taken:,} of their {len(pool):,} follow-up assessments saved in this run "
            f"({WARM_UP_SAVES} of them as a warm-up); gunicorn {WORKERS} sync workers; wrk 1 thread, "
            f"{CLIENTS} connections in (a), {OPEN_CONNECTIONS} in (b).",
            f"(a) bare view: {bare_run.raw['answered']:,} answered, {bare_rows:,} rows inserted; CRF save: "
            f"{closed_check}. Closed-loop latency is mostly waiting for one of the {WORKERS} workers: about "
            f"{CLIENTS} / throughput. "
            + (
                f"wrk's own coordinated-omission correction (latencies over twice a connection's mean interval) "
                f"adjusted the histogram of: {', '.join(adjusted)}."
                if adjusted
                else "No latency reached wrk's coordinated-omission correction (twice a connection's mean "
                "interval): the percentiles are as measured."
            ),
            f"(b) {open_check}. Open loop: request n is due at n / {OPEN_RATE} s and leaves then if a connection is "
            f"free; the latest left {opened.raw['lag_max_ms']:,.0f} ms behind its slot "
            f"({opened.raw['lag_over_5ms']:,} more than 5 ms late"
            + (
                "). "
                if kept_up
                else f": the server fell behind, every connection was waiting; what was not sent within the "
                f"{OPEN_SECONDS} s is missing from the achieved rate). "
            )
            + "The latencies of (b) are measured from each request's slot on the schedule, so waiting for a free "
            f"connection counts (no coordinated omission); from the moment each was sent (wrk's own figures): p50 "
            f"{opened.ms('p50'):,.0f} ms, p95 {opened.ms('p95'):,.0f} ms, p99 {opened.ms('p99'):,.0f} ms.",
            f"CPU per CRF save, gunicorn worker + PostgreSQL backend: {sum(save_ms.values()):,.0f} ms (bare view: "
            f"{sum(bare_ms.values()):,.1f} ms); {OPEN_RATE} saves a second need "
            f"{OPEN_RATE * sum(save_ms.values()) / 1000:,.1f} CPU-seconds a second, on a machine of "
            f"{os.cpu_count()} cores that also run PostgreSQL and wrk (the load average before and after is below).",
            f"(c) {easy_check}. {easy_rate} saves a second is {SUSTAINABLE_SHARE:.0%} of the {capacity:,.0f} the "
            f"{os.cpu_count()} cores could serve at most at the CPU per save of (a); the latencies are from the "
            f"schedule, as in (b).",
            "Recompute tasks: one per patient until a worker starts it (the dedup key, `outcomes.tasks`); no worker "
            "runs here, so a patient saved again within a run enqueues nothing new: the counts above are patients "
            "saved, not saves. In production, with workers draining the queue, most saves enqueue one (a Redis "
            "round trip or two).",
        ]
    )
    return [
        Figure("(a) Bare view (one INSERT), closed loop 32 clients: throughput", bare_run.throughput, "req/s"),
        Figure("(a) Bare view: p50", bare_run.ms("p50"), "ms"),
        Figure("(a) Bare view: p99", bare_run.ms("p99"), "ms"),
        Figure("(a) CRF save, closed loop 32 clients: throughput", closed.throughput, "req/s"),
        Figure("(a) CRF save throughput / bare view throughput", ratio, "×", 1 / 3, ">"),
        Figure("(a) CRF save: p50", closed.ms("p50"), "ms"),
        Figure("(a) CRF save: p95", closed.ms("p95"), "ms"),
        Figure("(a) CRF save: p99", closed.ms("p99"), "ms"),
        Figure("(a) CRF save: errors (not 2xx)", closed.failed, "requests"),
        Figure("(a) CPU per bare-view request: gunicorn worker + PostgreSQL", sum(bare_ms.values()), "ms"),
        Figure("(a) CPU per CRF save: gunicorn worker", save_ms["gunicorn"], "ms"),
        Figure("(a) CPU per CRF save: PostgreSQL backend", save_ms["postgres"], "ms"),
        Figure(
            f"(a) CRF saves a second the {os.cpu_count()} cores could serve at most (CPU per save alone)",
            (os.cpu_count() or 1) * 1000 / max(sum(save_ms.values()), 0.001),
            "req/s",
        ),
        Figure(f"(b) CRF save, open loop {OPEN_RATE}/s for {OPEN_SECONDS} s: achieved rate", rate, "req/s"),
        Figure("(b) CRF save: p50 (from the schedule)", schedule["p50"], "ms"),
        Figure("(b) CRF save: p95 (from the schedule)", schedule["p95"], "ms", 150),
        Figure("(b) CRF save: p99 (from the schedule)", schedule["p99"], "ms"),
        Figure("(b) CRF save: errors (not 2xx)", opened.failed, "requests", 1),
        Figure(f"(c) CRF save, open loop {easy_rate}/s for {OPEN_SECONDS} s: achieved rate", easy_achieved, "req/s"),
        Figure("(c) CRF save: p50 (from the schedule)", easy_schedule["p50"], "ms"),
        Figure("(c) CRF save: p95 (from the schedule)", easy_schedule["p95"], "ms"),
        Figure("(c) CRF save: p99 (from the schedule)", easy_schedule["p99"], "ms"),
        Figure("(c) CRF save: errors (not 2xx, or no answer)", easy.failed, "requests"),
    ]


def save_run(
    server: Server, database: str, lines: list[str], work: Path, **options: Any
) -> tuple[Result, str, CpuMeter]:
    """A run of saves, the check that every 2xx answer is one new record with its audited history row, and the
    CPU the server and the database used."""
    records, audited = saved_assessments(), history_rows()
    with CpuMeter(server.pid, database) as cpu:
        result = wrk(server.url, lines, work=work, **options)
    time.sleep(1)
    records, audited = saved_assessments() - records, history_rows() - audited
    enqueued = recompute_tasks_enqueued()
    if result.raw["sent"] > len(lines):
        NOTES.append(f"The run outlasted its {len(lines):,} distinct assessments: the repeats failed.")
    socket = {name: count for name, count in result.raw["errors"].items() if count and name != "status"}
    unanswered = result.raw["sent"] - result.raw["answered"]
    check = (
        f"{result.ok:,} answered 2xx, {result.failed:,} not; {records:,} assessments saved "
        f"({'equal' if records == result.ok else 'NOT EQUAL'}), {audited:,} history rows with author and reason, "
        f"{enqueued:,} recompute tasks enqueued"
    )
    if unanswered or socket:
        check += (
            f"; {unanswered:,} sent without an answer (wrk's socket errors: "
            + (", ".join(f"{name} {count:,}" for name, count in socket.items()) or "none")
            + f"): {records - result.ok:+,} saved beyond the 2xx answers, so "
            + ("the server saved what the client did not hear back about" if records > result.ok else "not saved")
        )
    return result, check, cpu


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
