"""What every benchmark script shares: the figure it reports, Django set-up, a throwaway database, the machine.

A benchmark script is a module in this folder with ``run() -> list[Figure]``; ``run_all.py`` finds and runs every
one of them and writes ``docs/benchmarks.md``. Scripts print figures; nothing here asserts a time (timed assertions
in tests are flaky by nature: the tests prove behaviour, the benchmarks measure it).

Benchmarks never touch the configured database's data: ``throwaway_database()`` creates ``benchmark_<name>`` beside it
(the same server, migrated from scratch, as the test runner does; not ``test_<name>``, which a test run on the same
server may be using) and drops it afterwards. SQLite gets an in-memory database.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Figure:
    """One measured figure, with the target it is held to (``target`` None: reported, no target)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    #: "<" (the default: the value must stay under the target) or ">" (it must reach it)
    direction: str = "<"
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value < self.target if self.direction == "<" else self.value >= self.target

    def line(self) -> str:
        target = "" if self.target is None else f"  (target {self.direction} {self.target:g} {self.unit}: "
        verdict = "" if self.target is None else ("met)" if self.met else "NOT MET)")
        return f"{self.name}: {self.value:,.2f} {self.unit}{target}{verdict}{'  ' + self.note if self.note else ''}"


def django_setup() -> None:
    """Django for a script run as ``python benchmarks/<name>.py``: the project settings, no query logging."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cosmo_avatar.settings")
    import django
    from django.conf import settings

    if not settings.configured or not _apps_ready():
        django.setup()
    settings.DEBUG = False  # DEBUG keeps every query in memory: that is not what production runs


def _apps_ready() -> bool:
    from django.apps import apps

    return apps.ready


def database_vendor() -> str:
    from django.db import connection

    return connection.vendor


def database_url(settings_dict: Mapping[str, Any], *, name: str | None = None) -> str:
    """A ``DATABASE_URL`` for a process started beside this one (a Celery worker, gunicorn) that must use the same
    PostgreSQL database as Django's connection (``settings_dict``: ``connection.settings_dict``), or the database
    ``name`` on the same server; user and password URL-quoted."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}{':' + quote(password, safe='') if password else ''}@" if user else ""
    host, port = settings_dict.get("HOST") or "127.0.0.1", settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{name or settings_dict['NAME']}"


POSTGRESQL_ONLY = "Skipped: measured on PostgreSQL only. Set DATABASE_URL=postgres://user@host:5432/name and run again."


def skipped_off_postgresql(notes: list[str], reason: str = POSTGRESQL_ONLY) -> bool:
    """True when the configured database is not PostgreSQL: the benchmark then reports ``reason`` (in its notes and
    on the console) and measures nothing."""
    if database_vendor() == "postgresql":
        return False
    notes.append(reason)
    print("  " + reason)
    return True


def machine_print() -> None:
    """Name the machine on the console at the start of a run (``run_all`` writes it under the figures)."""
    print("  machine: " + ", ".join(f"{key} {value}" for key, value in machine().items()))


@contextmanager
def throwaway_database(*, keep: bool | None = None) -> Iterator[str]:
    """A fresh, migrated ``benchmark_<name>`` database on the configured server for the duration of the block.

    ``keep`` (default: the ``BENCH_KEEPDB`` environment variable) keeps it afterwards and reuses it next time, so a
    large data set is generated once while iterating.
    """
    from django.db import connection

    keep = os.environ.get("BENCH_KEEPDB", "") not in ("", "0") if keep is None else keep
    old_name = connection.settings_dict["NAME"]
    test = connection.settings_dict.setdefault("TEST", {})
    old_test_name = test.get("NAME")
    if connection.vendor != "sqlite":
        test["NAME"] = f"benchmark_{old_name}"
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=keep)
    try:
        yield str(name)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=keep)
        test["NAME"] = old_test_name


#: what ``machine()`` found last (``run_all`` reports it after the benchmark's throwaway database is gone)
MACHINE: dict[str, str] = {}


def machine() -> dict[str, str]:
    """CPU count, Python and database server: every report names the machine it was measured on."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        database = f"{connection.vendor} {sqlite3.sqlite_version}"
    MACHINE.clear()
    MACHINE.update(
        {
            "cpus": str(os.cpu_count() or "?"),
            "cpu model": _cpu_model(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "database": database,
        }
    )
    return dict(MACHINE)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed(function: Callable[[], Any], *, repeat: int, setup: Callable[[], Any] | None = None) -> list[float]:
    """Wall-clock milliseconds of ``function`` ``repeat`` times (``setup`` runs before each, untimed)."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p95: ``fraction`` 0.95)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]
