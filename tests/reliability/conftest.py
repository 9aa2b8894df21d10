"""The real parts of the reliability tests, which the tests break and restart themselves.

- ``celery_stack``: real Celery workers (subprocesses, as ``tests/outcomes/test_worker_end_to_end.py`` starts one)
  on Redis databases of their own (broker 3, cache 4 of the CI's Redis; ``RELIABILITY_BROKER_URL`` /
  ``RELIABILITY_CACHE_URL`` override), killed with SIGKILL as a crashed host would be, and started again.
- ``private_redis``: a redis-server of the test's own on a free port, which the test stops (never the machine's).
- ``private_postgres``: a PostgreSQL cluster of the test's own (``initdb`` into a temporary directory, a free port),
  which the test restarts under load (never the machine's, which other tests use in parallel).
- ``assert_endpoints_are_a_fresh_recompute``: the stored endpoints against the pure engines run now.

Everything started here is stopped, and its files deleted, when the test ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections, transaction
from django.db.models import Model

from benchmarks.common import database_url
from cosmo_avatar.celery import app
from outcomes.domain.endpoints import derive_endpoints
from outcomes.inputs import patient_data
from outcomes.models import EndpointValue, PatientDerivation
from outcomes.services import ALGORITHM_VERSION
from outcomes.services.patients import input_hash
from patients.models import Patient

from ..real_services import require_postgres, require_worker_stack

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, seconds: float = 30, what: str = "", log: Callable[[], str] = str) -> T:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` (and a log tail) otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what or 'condition'}: not within {seconds} s\n{log()[-4000:]}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def other_backends(*, waiting_on_a_lock: bool = False) -> list[int]:
    """Process ids of the other sessions on this test's database (the worker's, a helper thread's)."""
    sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    if waiting_on_a_lock:
        sql += " AND wait_event_type = 'Lock'"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class RowLock(threading.Thread):
    """Holds ``SELECT ... FOR UPDATE`` on one row from a connection of its own (on ``database``, default the test's)
    until ``release``: a writer that needs the row then waits inside its transaction, where the test wants to break
    something. If the server dies meanwhile the lock's own connection fails too: that error is kept, not raised."""

    def __init__(self, model: type[Model], pk: int, database: dict[str, Any] | None = None) -> None:
        super().__init__(daemon=True)
        self.model, self.pk, self.database = model, pk, database
        self.held, self.released = threading.Event(), threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        with thread_database(self.database) if self.database else contextlib.nullcontext():
            try:
                with transaction.atomic():
                    self.model._default_manager.select_for_update().get(pk=self.pk)
                    self.held.set()
                    self.released.wait(timeout=120)
            except Exception as error:  # noqa: BLE001 — the server went away under the lock
                self.error = error
            finally:
                connection.close()

    def take(self) -> None:
        self.start()
        if not self.held.wait(timeout=30):
            pytest.fail(f"could not lock {self.model.__name__} {self.pk}: {self.error}")

    def release(self) -> None:
        self.released.set()
        self.join(timeout=30)


# The endpoints against a fresh recompute --------------------------------------------------------------------------


def _stored_row(value: EndpointValue) -> tuple[Any, ...]:
    return (
        value.start_date,
        value.end_date,
        value.aval_days,
        value.event,
        value.reason,
        value.explanation,
        sorted(value.flags),
        value.landmark_status,
        [source["id"] for source in value.source_records],
    )


def assert_endpoints_are_a_fresh_recompute(patient_ids: Iterable[int]) -> None:
    """Each patient's stored derivation and endpoint rows are what the pure engines give from the data as it is
    now: the same input hash and algorithm version, the same endpoints (PARAMCDs) with the same dates, events,
    reasons and source records. Nothing is written."""
    for patient in Patient.objects.filter(pk__in=list(patient_ids)).select_related("trial"):
        data = patient_data(patient=patient)
        derivation = PatientDerivation.objects.filter(patient=patient).first()
        assert derivation is not None, f"patient {patient.pk} has no derivation"
        assert (derivation.input_hash, derivation.algorithm_version, derivation.settings_version) == (
            input_hash(data),
            ALGORITHM_VERSION,
            data.settings_version,
        ), f"the derivation of patient {patient.pk} is not of the current data"
        expected = {}
        if data.patient_input is not None:
            for result in derive_endpoints(data.patient_input, data.settings).results:
                expected[result.paramcd.value] = (
                    result.start_date,
                    result.end_date,
                    result.aval_days,
                    result.event,
                    result.reason.value if result.reason else "",
                    result.explanation,
                    sorted(flag.value for flag in result.flags),
                    result.landmark_status.value if result.landmark_status else "",
                    list(result.source_record_ids),
                )
        stored = {value.paramcd: _stored_row(value) for value in EndpointValue.objects.filter(patient=patient)}
        assert stored == expected, f"the endpoints of patient {patient.pk} differ from a fresh recompute"


# Celery: the web side publishing to a broker, and real workers --------------------------------------------------


def redis_url(base: str, db: int) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def point_celery_at(broker_url: str | None, *, eager: bool) -> None:
    """Make this process publish to ``broker_url`` (``None``: the configured broker), or run tasks in-process when
    ``eager``. Celery prefers the ``CELERY_BROKER_URL`` environment variable to ``broker_url``, so the write and
    read URLs are what is set. The producer pool was built for the previous URL: it is dropped (not closed: kombu
    shares pools by URL) and rebuilt on the next publish."""
    app.conf.update(broker_write_url=broker_url, broker_read_url=broker_url, task_always_eager=eager)
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def use_redis_cache(settings: Any, url: str) -> None:
    """The cache that deduplicates recomputes, shared by the web side and the workers as in production."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class CeleryStack:
    """Workers on this test's own broker and cache, against pytest's test database."""

    broker_url: str
    cache_url: str
    settings: Any
    workers: list[Worker] = field(default_factory=list)

    def publish_to_broker(self) -> None:
        """From now on this process enqueues to the broker (the test settings run tasks eagerly until then)."""
        use_redis_cache(self.settings, self.cache_url)
        point_celery_at(self.broker_url, eager=False)

    def unacknowledged(self) -> int:
        """Messages delivered to a worker and not acknowledged yet (kombu's Redis transport keeps them in the
        ``unacked`` hash until the task returns, with ``acks_late``)."""
        import redis

        client = redis.Redis.from_url(self.broker_url)
        try:
            return int(client.hlen("unacked"))
        finally:
            client.close()

    def start_worker(self, *, visibility_timeout: int) -> Worker:
        log_path = Path(tempfile.mkstemp(prefix="reliability-worker-", suffix=".log")[1])
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cosmo_avatar.settings",
            "DATABASE_URL": database_url(connection.settings_dict),
            "CELERY_BROKER_URL": self.broker_url,
            "CACHE_URL": self.cache_url,
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    # prefork, as deployed (docker-compose.yml): the main process takes and acknowledges messages
                    # while a child runs the task (the solo pool would not acknowledge early even without acks_late)
                    *("-m", "celery", "-A", "cosmo_avatar", "worker", "--pool=prefork", "--concurrency=1"),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"),
                    f"--hostname=reliability-{len(self.workers)}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a kill takes the whole worker, as a crash would
            )
        worker = Worker(process, log_path)
        self.workers.append(worker)

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"The Celery worker exited:\n{worker.log()[-4000:]}")
            return " ready." in worker.log()

        wait_for(ready, seconds=60, what="the Celery worker to start", log=worker.log)
        return worker

    def kill(self, worker: Worker) -> None:
        """SIGKILL: no warm shutdown, no message handed back; the host died."""
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)

    def close(self) -> None:
        """Workers still running are idle by now (or the test failed): killed, not shut down warmly, which takes
        seconds; whatever they held is flushed with the broker database by the next test."""
        for worker in self.workers:
            if worker.process.poll() is None:
                self.kill(worker)
            worker.log_path.unlink(missing_ok=True)


def _flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def celery_stack(transactional_db: None, settings: Any) -> Iterator[CeleryStack]:
    """Workers read committed data, so the test's data are committed (``transactional_db``)."""
    require_worker_stack()
    base = django_settings.CELERY_BROKER_URL
    stack = CeleryStack(
        broker_url=os.environ.get("RELIABILITY_BROKER_URL") or redis_url(base, 3),
        cache_url=os.environ.get("RELIABILITY_CACHE_URL") or redis_url(base, 4),
        settings=settings,
    )
    for url in (stack.broker_url, stack.cache_url):
        _flush_redis(url)  # messages and dedup keys of an earlier run name patients of another database
    eager = app.conf.task_always_eager
    try:
        yield stack
    finally:
        stack.close()
        point_celery_at(None, eager=eager)
        for url in (stack.broker_url, stack.cache_url):
            _flush_redis(url)


# A private Redis --------------------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    *("--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self.answers, seconds=20, what="the private redis-server to answer", log=self.log)

    def answers(self) -> bool:
        import redis

        client = redis.Redis.from_url(self.url(0), socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def queue_length(self, db: int, queue: str = "celery") -> int:
        import redis

        client = redis.Redis.from_url(self.url(db))
        try:
            return int(client.llen(queue))
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if os.environ.get("RUN_WORKER_TESTS") != "1":
        pytest.skip("Redis outage tests run in the PostgreSQL + Redis stage (RUN_WORKER_TESTS=1, see .ci/run)")
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server program to start a Redis of the test's own")
    server = PrivateRedis(free_port(), Path(tempfile.mkstemp(prefix="reliability-redis-", suffix=".log")[1]))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.log_path.unlink(missing_ok=True)


# A private PostgreSQL ---------------------------------------------------------------------------------------------


@dataclass
class PrivatePostgres:
    """A cluster in ``root`` (owned by the ``postgres`` user when we are root: PostgreSQL refuses to run as root)."""

    bin_dir: Path
    root: Path
    port: int
    as_postgres: bool
    running: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        command = [*prefix, str(self.bin_dir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            pytest.fail(f"{program} {' '.join(args)} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    @property
    def _options(self) -> str:
        # fsync off: the machine does not crash in these tests, only the server's processes die
        return (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB "
            "-c max_connections=40"
        )

    def start(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", self._options, "-w", "start"
        )
        self.running = True

    def restart(self, mode: str = "immediate") -> None:
        """``immediate``: every session is cut at once and the server recovers from its write-ahead log, as after a
        crash; ``fast``: sessions are terminated and the server shuts down cleanly first."""
        log = str(self.root / "server.log")  # not our pipes: the server outlives pg_ctl
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-m", mode, "-o", self._options, "-w", "restart")

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.running = False

    def psql(self, database: str, *args: str, stdin: Any = None) -> None:
        command = [str(self.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"]
        command += ["-p", str(self.port), "-U", "postgres", "-d", database, *args]
        done = subprocess.run(command, stdin=stdin, capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            pytest.fail(f"psql failed: {done.stderr.decode(errors='replace')[-3000:]}")

    def copy_of(self, settings_dict: dict[str, Any], name: str) -> dict[str, Any]:
        """Load ``settings_dict``'s database (schema and committed rows) into a new database ``name`` here; returns
        the Django settings of the copy."""
        self.psql("postgres", "-c", f'CREATE DATABASE "{name}"')
        source = ["-h", settings_dict.get("HOST") or "127.0.0.1", "-p", str(settings_dict.get("PORT") or 5432)]
        source += ["-U", settings_dict.get("USER") or "postgres"]
        env = {**os.environ, "PGPASSWORD": settings_dict.get("PASSWORD") or ""}
        dump = subprocess.Popen(
            [str(self.bin_dir / "pg_dump"), *source, "--no-owner", "--no-privileges", settings_dict["NAME"]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.psql(name, stdin=dump.stdout)
        _, errors = dump.communicate(timeout=120)
        if dump.returncode != 0:
            pytest.fail(f"pg_dump failed: {errors.decode(errors='replace')[-3000:]}")
        return {**settings_dict, "NAME": name, "HOST": "127.0.0.1", "PORT": str(self.port), "PASSWORD": ""}


def _postgres_bin_dir() -> Path | None:
    """The binaries of the test server's major version (a dump loads into the same major version)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    for candidate in (Path(f"/usr/lib/postgresql/{major}/bin"), Path(f"/usr/pgsql-{major}/bin")):
        if (candidate / "initdb").exists():
            return candidate
    return None


@pytest.fixture
def private_postgres(transactional_db: None) -> Iterator[PrivatePostgres]:
    """The copy is made with ``pg_dump``, which sees committed data only (hence ``transactional_db``)."""
    require_postgres()
    if os.environ.get("RUN_WORKER_TESTS") != "1":
        pytest.skip("database restart tests run in the PostgreSQL + Redis stage (RUN_WORKER_TESTS=1, see .ci/run)")
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("needs PostgreSQL's server programs (initdb, pg_ctl) of the test server's version")
    as_postgres = os.geteuid() == 0
    if as_postgres:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user: PostgreSQL refuses to run as root")
    root = Path(tempfile.mkdtemp(prefix="reliability-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivatePostgres(bin_dir, root, free_port(), as_postgres)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def thread_database(settings_dict: dict[str, Any]) -> Iterator[None]:
    """Point this thread's ``default`` connection at another database. Django's connections are per thread, so
    the services called in this thread read and write there while the rest of the process is untouched."""
    previous = connections["default"]
    connections["default"] = previous.__class__(settings_dict, alias="default")
    try:
        yield
    finally:
        connections["default"].close()
        connections["default"] = previous
