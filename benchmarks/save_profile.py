"""Where one tumour-assessment save through the API spends its CPU, in-process (no server, no network).

The load benchmark (``benchmarks/load.py``) measures the save under gunicorn; this one says what inside the save
costs what. It builds the same data the same way (its helpers, imported: synthetic patients, a site coordinator per
site with a personal API token, their follow-up assessments taken out and kept as request bodies) in a throwaway
``benchmark_save_profile`` database and puts ``SAVES`` of them back through Django's test client (the whole
middleware stack, token authentication, throttle, the view, the service, the audit-chain seal after commit, the
response), one after another on one persistent connection, as a gunicorn worker does.

Measured: CPU time of this process (``time.process_time``, not wall time: the machine is shared) and of its
PostgreSQL backend (``/proc/<pid>/stat``) per save, and queries per save; and per step (each step's function is
wrapped for the run: inclusive CPU and the queries run inside it). Celery publishes to an in-memory broker (the
recompute task is enqueued after commit, never run here, as with Redis and no worker); the cache is the
configured one (local memory without ``CACHE_URL``). Run: ``DATABASE_URL=postgres://... python
benchmarks/save_profile.py`` (PostgreSQL only). ``BENCH_SAVE_PATIENTS`` (default 24), ``BENCH_SAVES`` (default
200).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Figure, django_setup, machine_print, skipped_off_postgresql, throwaway_database

PATIENTS = int(os.environ.get("BENCH_SAVE_PATIENTS", "24"))
SAVES = int(os.environ.get("BENCH_SAVES", "200"))
WARM_UP = 20  # code loaded, SQL of the prepared reads built, caches filled: not what a steady worker pays
DATABASE_NAME = "save_profile"

TITLE = "CRF save: CPU and queries per step (in-process)"
DESCRIPTION = """\
One tumour assessment (CRF 8) created through `POST /api/v1/tumour-assessments/` with its target, non-target and
new-lesion rows, through Django's test client in-process (middleware, token, throttle, view, service, audit-chain
seal after commit, response), on PostgreSQL over one persistent connection; the data and request bodies built by
`benchmarks/load.py`'s own helpers. CPU time of the Python process and of its PostgreSQL backend per save (not wall
time), queries per save, and the same per step of the save (each step's function wrapped: inclusive CPU, queries
run inside it). Celery publishes to an in-memory broker (the recompute is enqueued, not run)."""
NOTES: list[str] = []


# Steps ------------------------------------------------------------------------------------------------------------


@dataclass
class Step:
    label: str
    seconds: float = 0.0
    queries: int = 0
    calls: int = 0


@dataclass
class Steps:
    """Timed wrappers around named functions; every query counts for each step it runs in."""

    order: list[str] = field(default_factory=list)
    found: dict[str, Step] = field(default_factory=dict)
    active: list[Step] = field(default_factory=list)
    restore: list[Callable[[], None]] = field(default_factory=list)

    def step(self, label: str) -> Step:
        if label not in self.found:
            self.order.append(label)
            self.found[label] = Step(label)
        return self.found[label]

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Time ``owner.<name>`` (a module's function or a class's plain method) under ``label``; ``owner`` may
        lack it (a step the code no longer has is simply not reported)."""
        if not hasattr(owner, name):
            return
        own = name in vars(owner)
        previous = vars(owner).get(name)
        original = getattr(owner, name)
        step = self.step(label)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            return _call(self, step, original, args, kwargs)

        if isinstance(owner, type):  # a method: looked up on the class, bound to each instance
            function = original

            @functools.wraps(function)
            def method(this: Any, *args: Any, **kwargs: Any) -> Any:
                return _call(self, step, function, (this, *args), kwargs)

            setattr(owner, name, method)
        else:
            setattr(owner, name, timed)

        def undo() -> None:
            if own:
                setattr(owner, name, previous)
            else:
                delattr(owner, name)

        self.restore.append(undo)

    def count_query(self) -> None:
        for step in self.active:
            step.queries += 1

    def undo(self) -> None:
        for undo in reversed(self.restore):
            undo()
        self.restore.clear()


def _call(steps: Steps, step: Step, function: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    if step in steps.active:
        return function(*args, **kwargs)
    steps.active.append(step)
    started = time.process_time()
    try:
        return function(*args, **kwargs)
    finally:
        step.seconds += time.process_time() - started
        step.calls += 1
        steps.active.remove(step)


class _TimedRuleSet:
    """A rule set whose ``run`` is timed (rule sets are frozen dataclasses: the module's name is replaced)."""

    def __init__(self, rules: Any, steps: Steps, label: str) -> None:
        self._rules, self._steps, self._step = rules, steps, steps.step(label)

    def run(self, record: Any, context: Any) -> Any:
        return _call(self._steps, self._step, self._rules.run, (record, context), {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rules, name)


def instrument(steps: Steps) -> None:
    """The steps of a tumour-assessment save, as the profile that motivated this benchmark named them."""
    from lesions import api, services
    from trials.audit_chain import sealing

    viewset = api.TumourAssessmentViewSet
    steps.wrap(viewset.serializer_class, "is_valid", "Input validation (serializer)")
    steps.wrap(services, "tumour_assessment_save", "tumour_assessment_save (whole service)")
    steps.wrap(services, "crf_save", "  crf_save (scope, form checks, record write, hooks)")
    for name in ("assessment_rows_save", "_rows_save"):  # the service's own name for it, when it has one
        steps.wrap(services, name, "    assessment_rows_save (rows, recompute)")
    module: Any = services  # the rule set the service runs is a module global: replaced for the run
    rules = module.ASSESSMENT_ROWS
    module.ASSESSMENT_ROWS = _TimedRuleSet(rules, steps, "      row edit checks")

    def put_back() -> None:
        module.ASSESSMENT_ROWS = rules

    steps.restore.append(put_back)
    for name in ("_save_targets", "_save_non_targets", "_save_new_lesions"):
        steps.wrap(services, name, "      row writes (row, history, audit-chain marker)")
    steps.wrap(services, "queries_sync_automatic", "      automatic queries of the rows")
    for name in ("recist_records", "assessments_sync_computed"):  # reading the inputs, evaluating, writing
        steps.wrap(services, name, "      RECIST recompute")
    steps.wrap(sealing, "audit_chain_seal_pending", "Audit-chain seal after commit")
    steps.wrap(viewset, "warnings", "Response warnings")
    steps.wrap(viewset.serializer_class, "to_representation", "Response serialisation")


# Database and CPU -------------------------------------------------------------------------------------------------


@contextmanager
def profile_database() -> Iterator[str]:
    """``throwaway_database`` under this benchmark's own name (``benchmark_save_profile``)."""
    from django.db import connection

    configured = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = DATABASE_NAME
    try:
        with throwaway_database(keep=False) as name:
            yield name
    finally:
        connection.settings_dict["NAME"] = configured


def backend_cpu_seconds() -> float:
    """CPU seconds (user + system) of this connection's PostgreSQL backend so far."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def in_memory_broker() -> Iterator[None]:
    """Tasks published to an in-memory broker, not run eagerly: the save's cost, not the recompute's."""
    from cosmo_avatar.celery import app

    eager, broker = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, "memory://"
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_url = eager, broker


@contextmanager
def profiled() -> Iterator[None]:
    """cProfile of the measured saves into the file ``BENCH_SAVE_CPROFILE`` names, when set (its overhead
    inflates the CPU figures of that run)."""
    target = os.environ.get("BENCH_SAVE_CPROFILE")
    if not target:
        yield
        return
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(target)
        print(f"  cProfile written to {target}")


# The benchmark ---------------------------------------------------------------------------------------------------


def prepare() -> list[tuple[str, str, str]]:
    """The load benchmark's data, smaller: (path, Authorization header, JSON body) of each save, in its order."""
    from django.db import connection, transaction

    from benchmarks import data
    from benchmarks.load import take_out_follow_ups, users_and_tokens
    from outcomes.services.patients import recompute_many

    ids = data.generate(PATIENTS, seed=9_000, time_points=13)
    with transaction.atomic():
        tokens = users_and_tokens()
        lines = take_out_follow_ups(ids, tokens)
    recompute_many(ids)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    requests = []
    for line in lines:
        path, token, body = line.split("\t", 2)
        requests.append((path, token, body))
    return requests


def run() -> list[Figure]:
    django_setup()
    NOTES.clear()
    if skipped_off_postgresql(NOTES):
        return []
    from django.conf import settings

    throttle = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"]
    settings.API_RATE_LIMIT = "1000000/second"  # as settings_bench: the throttle runs, no run reaches it
    try:
        with profile_database(), in_memory_broker():
            machine_print()
            requests = prepare()
            if len(requests) < WARM_UP + SAVES:
                raise RuntimeError(f"Only {len(requests)} assessments to save: raise BENCH_SAVE_PATIENTS")
            return measure(requests)
    finally:
        settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"] = throttle
        del settings.API_RATE_LIMIT
        from django.db import connections

        connections.close_all()


def measure(requests: list[tuple[str, str, str]]) -> list[Figure]:
    from django.db import connection
    from django.test import Client

    from lesions.models import TumourAssessment
    from trials.models_compliance import AuditChainPending

    client = Client(HTTP_HOST="127.0.0.1")
    statuses: dict[int, int] = {}

    def save(path: str, token: str, body: str) -> None:
        answer = client.post(
            path, data=body, content_type="application/json", HTTP_AUTHORIZATION=token, HTTP_X_FORWARDED_PROTO="https"
        )
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        if answer.status_code != 201 and statuses[answer.status_code] == 1:
            print(f"  first {answer.status_code}: {answer.content[:500]!r}")

    for request in requests[:WARM_UP]:
        save(*request)
    statuses.clear()
    before = TumourAssessment.objects.count()
    measured = requests[WARM_UP : WARM_UP + SAVES]

    steps = Steps()
    instrument(steps)
    queries = 0

    def counted(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        steps.count_query()
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(counted):
            database_started = backend_cpu_seconds()
            started = time.process_time()
            with profiled():
                for request in measured:
                    save(*request)
            cpu = time.process_time() - started
            database_cpu = backend_cpu_seconds() - database_started
    finally:
        steps.undo()
    queries -= 1  # the backend's pid, read at the end
    saved = TumourAssessment.objects.count() - before
    pending = AuditChainPending.objects.count()
    per_save = {label: step for label, step in steps.found.items()}
    n = len(measured)
    print(f"  {n} saves: {statuses}; {saved} assessments saved; {pending} history rows left unsealed")
    print(f"  CPU per save: Python {cpu * 1000 / n:.1f} ms, PostgreSQL backend {database_cpu * 1000 / n:.1f} ms; ")
    print(f"  queries per save: {queries / n:.1f}")
    for label in steps.order:
        step = per_save[label]
        print(f"    {label:<55} {step.seconds * 1000 / n:7.2f} ms {step.queries / n:6.1f} queries ({step.calls} calls)")
    NOTES.extend(
        [
            f"{PATIENTS} synthetic patients (13 follow-ups each), {WARM_UP} saves to warm up, then {n} measured: "
            f"answers {statuses}, {saved} assessments saved, {pending} history rows left unsealed afterwards.",
            "Step figures are inclusive (a step's CPU and queries include those of the steps indented under it); "
            "the wrappers themselves add a few microseconds a call. 'Rest' is the total less the top-level steps: "
            "middleware, token, throttle, DRF, the read-back of the saved record.",
        ]
    )
    top = [step for label, step in per_save.items() if not label.startswith(" ")]
    rest_cpu = cpu - sum(step.seconds for step in top)
    rest_queries = queries - sum(step.queries for step in top)
    figures = [
        Figure("CPU per save: Python (in-process request)", cpu * 1000 / n, "ms"),
        Figure("CPU per save: PostgreSQL backend", database_cpu * 1000 / n, "ms"),
        Figure("Queries per save", queries / n, "queries"),
    ]
    for label in steps.order:
        step = per_save[label]
        name = label.strip()
        figures.append(Figure(f"Step: {name}: CPU per save", step.seconds * 1000 / n, "ms"))
        figures.append(Figure(f"Step: {name}: queries per save", step.queries / n, "queries"))
    figures.append(Figure("Step: rest (middleware, token, DRF, read-back): CPU per save", rest_cpu * 1000 / n, "ms"))
    figures.append(Figure("Step: rest: queries per save", rest_queries / n, "queries"))
    figures.append(Figure("Saves answered other than 201", sum(c for s, c in statuses.items() if s != 201), "", 1))
    return figures


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cosmo_avatar.settings")
    for figure in run():
        print(figure.line())
    for note in NOTES:
        print(f"  note: {note}")
