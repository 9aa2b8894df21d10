"""Export benchmarks (issue 6): ADTTE and the raw lesion-measurement export as CSV, against PostgreSQL's own COPY.

On PostgreSQL, for a COSMO trial of 2,500 and then 10,000 patients, each with a baseline and 28 follow-up tumour
assessments (about 100 lesion rows per patient: some 1,000,000 at 10,000 patients), every form complete and every
endpoint recomputed (``recompute_many``):

- the export as the API sends it (``writers.stream("csv", dataset, dataset.rows(trial=..., user=...))``, the chunks
  counted and dropped, as a socket would take them): wall time, rows per second;
- PostgreSQL's ``COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)`` of the same rows, in the same order, through
  psycopg2's ``copy_expert`` into the same kind of sink: the measurement export's own SQL (``measurement_queryset``);
  for ADTTE an equivalent SELECT over the stored endpoint rows. Target: the export within 3× of COPY's rows per second;
- peak memory of the export: the peak of Python allocations (``tracemalloc``, in a separate run: tracing slows Python
  down) at both sizes; memory that stays flat while the rows grow four-fold is what streaming means.

Run: ``DATABASE_URL=postgres://... python benchmarks/exports.py``. ``BENCH_EXPORT_SIZES`` (default ``2500,10000``)
sets the sizes; ``BENCH_KEEPDB=1`` keeps the generated database for the next run; ``BENCH_NOMIGRATIONS=1`` builds the
tables from the models instead of the migration files. SQLite is refused (the embedded demo set-up).
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Figure, django_setup, machine_print, skipped_off_postgresql, throwaway_database

SIZES = tuple(int(size) for size in os.environ.get("BENCH_EXPORT_SIZES", "2500,10000").split(","))
TIME_POINTS = 28  # a baseline and 28 follow-up assessments: about 100 lesion rows per patient
TRIAL = "cosmo"
RATIO_TARGET = 3.0

TITLE = "Exports: ADTTE and raw lesion measurements against PostgreSQL COPY"
DESCRIPTION = """\
On PostgreSQL, a COSMO trial of 2,500 and then 10,000 patients, each with a baseline and 28 follow-up tumour
assessments (about 100 lesion rows per patient, some 1,000,000 at 10,000) and every endpoint recomputed. Each export
runs as the API sends it (CSV chunks produced from the streamed rows and dropped, as a socket would take them) and
is compared with `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)` of the same rows in the same order through
psycopg2's `copy_expert` (the measurement export's own SQL; for ADTTE an equivalent SELECT of the stored endpoint
rows). Target: the export's rows per second within 3× of COPY's. The peak of the export's Python allocations
(`tracemalloc`, in a separate run) at both sizes shows memory does not grow with the trial. Best of two runs for
every time; statistics refreshed (`ANALYZE`) after the data are generated."""
NOTES: list[str] = []


class _Sink:
    """Takes chunks and keeps their size only: what a socket does with a response."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: Any) -> int:
        self.size += len(data)
        return len(data)


def _export(dataset: Any, trial: Any, user: Any) -> tuple[int, int]:
    """Rows and bytes of the CSV export, consumed chunk by chunk."""
    from outcomes.datasets import writers

    rows = writers.RowCounter(dataset.rows(trial=trial, user=user))
    sink = _Sink()
    for chunk in writers.stream("csv", dataset, rows):
        sink.write(chunk)
    return rows.count, sink.size


def _copy(sql: str) -> tuple[int, int]:
    """Rows (without the header) and bytes of ``COPY (sql) TO STDOUT`` as CSV."""
    from django.db import connection

    sink = _Sink()
    lines = 0

    class _Counting(_Sink):
        def write(self, data: Any) -> int:
            nonlocal lines
            lines += data.count(b"\n") if isinstance(data, bytes) else data.count("\n")
            return sink.write(data)

    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)", _Counting())
    return lines - 1, sink.size


def _best(function: Callable[[], tuple[int, int]], runs: int = 2) -> tuple[float, int, int]:
    best = float("inf")
    rows = size = 0
    for _ in range(runs):
        started = time.perf_counter()
        rows, size = function()
        best = min(best, time.perf_counter() - started)
    return best, rows, size


def _peak(function: Callable[[], Any]) -> int:
    """The peak of Python allocations during one run, in bytes."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# The same rows as the datasets, in SQL ---------------------------------------------------------------------------


def _sql(queryset: Any) -> str:
    from django.db import connection

    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    with connection.cursor() as cursor:
        return str(cursor.mogrify(sql, params).decode())


def _case(column: str, mapping: dict[Any, str]) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        branches = " ".join(
            cursor.mogrify("WHEN %s THEN %s", (str(key), value)).decode() for key, value in mapping.items()
        )
    return f"CASE {column} {branches} ELSE '' END"


def adtte_sql(trial: Any) -> str:
    """ADTTE's rows (``outcomes/datasets/adtte.py``) straight from the stored endpoint rows: same columns, same
    values, same order (subject in byte order, then PARAMCD)."""
    from django.db import connection

    from outcomes.datasets import adtte
    from patients.crf import crf_models

    single_arm = trial.arms.order_by("code").values_list("name", flat=True).first() if not trial.is_randomised else None
    censored = dict(adtte.CENSOR_DATE_DESCRIPTIONS)
    date_fields = {model.crf.code: model.crf.date_field for model in crf_models() if model.crf.date_field}
    with connection.cursor() as cursor:
        arm_default = cursor.mogrify("%s", (single_arm,)).decode()
        study = cursor.mogrify("%s", (trial.code.upper(),)).decode()
    return f"""
        SELECT {study} AS "STUDYID", p.subject_id AS "USUBJID", s.code AS "SITEID",
               COALESCE(arm.name, CASE WHEN p.enrolment_date IS NOT NULL THEN {arm_default} END) AS "TRT01P",
               ev.paramcd AS "PARAMCD", {_case("ev.paramcd", {k.value: v for k, v in adtte.PARAMS.items()})} AS "PARAM",
               ev.start_date AS "STARTDT", ev.end_date AS "ADT", ev.aval_days AS "AVAL", 'DAYS' AS "AVALU",
               CASE WHEN ev.event THEN 0 ELSE 1 END AS "CNSR",
               {_case("ev.reason", {k.value: v for k, v in adtte.REASON_DESCRIPTIONS.items()})} AS "EVNTDESC",
               CASE WHEN ev.event THEN '' ELSE {_case("ev.reason", {k.value: v for k, v in censored.items()})} END
                   AS "CNSDTDSC",
               ev.reason AS "EVNTRSN", src.record ->> 'code' AS "SRCDOM",
               NULLIF({_case("src.record ->> 'code'", date_fields)}, '') AS "SRCVAR",
               (src.record ->> 'pk')::bigint AS "SRCSEQ", NULLIF(ev.landmark_status, '') AS "LMKSTAT",
               CASE WHEN ev.flags ? 'PENDING_QUERY' THEN 'Y' ELSE '' END AS "PENDQFL"
        FROM outcomes_endpointvalue ev
        JOIN patients_patient p ON p.id = ev.patient_id
        JOIN trials_site s ON s.id = p.site_id
        LEFT JOIN patients_allocation al ON al.patient_id = p.id
        LEFT JOIN trials_arm arm ON arm.id = al.arm_id
        LEFT JOIN LATERAL (
            SELECT e AS record FROM jsonb_array_elements(ev.source_records) e
            WHERE jsonb_typeof(e) = 'object' AND e ? 'pk' LIMIT 1
        ) src ON TRUE
        WHERE p.trial_id = {int(trial.pk)} AND p.enrolment_date IS NOT NULL
          AND ev.aval_days IS NOT NULL AND ev.event IS NOT NULL
        ORDER BY p.subject_id COLLATE "C", ev.paramcd
    """  # noqa: S608 - identifiers and values quoted above; nothing from a user


# The runs -------------------------------------------------------------------------------------------------------


def _grow_to(count: int) -> None:
    """``count`` benchmark patients in the trial, with their endpoints recomputed (only the missing ones made)."""
    from django.db import connection

    from benchmarks import data
    from outcomes.services.patients import recompute_many
    from patients.models import Patient

    existing = Patient.objects.filter(screening_number__startswith="BENCH-").count()
    if existing > count:
        raise RuntimeError(f"The kept benchmark database has {existing:,} patients, more than {count:,}: drop it.")
    if existing == count:
        return
    started = time.perf_counter()
    ids = data.generate(count - existing, seed=60_000 + existing, time_points=TIME_POINTS, trial=TRIAL)
    generated = time.perf_counter() - started
    recompute_many(ids, force=True)
    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would give a live database
        cursor.execute("ANALYZE")
    print(
        f"  {count - existing:,} patients generated in {generated:.0f} s, "
        f"endpoints recomputed in {time.perf_counter() - started - generated:.0f} s"
    )


def _statistician() -> Any:
    from trials.models import Role, User

    user, _ = User.objects.get_or_create(username="benchmark-statistician", defaults={"role": Role.STATISTICIAN})
    return user


def measure(count: int) -> dict[str, dict[str, float]]:
    from outcomes.datasets import DATASETS
    from outcomes.datasets.measurements import MEASUREMENTS, measurement_queryset
    from trials.models import Trial

    _grow_to(count)
    trial = Trial.objects.get(code=TRIAL)
    user = _statistician()
    cases: dict[str, tuple[Any, str]] = {
        "ADTTE": (DATASETS["adtte"], adtte_sql(trial)),
        "raw lesion measurements": (MEASUREMENTS, _sql(measurement_queryset(trial=trial, user=user))),
    }
    results: dict[str, dict[str, float]] = {}
    for name, (dataset, sql) in cases.items():
        export = partial(_export, dataset, trial, user)
        export_s, rows, size = _best(export)
        copy_s, copy_rows, copy_size = _best(partial(_copy, sql))
        traced = _peak(export)
        if copy_rows != rows:
            NOTES.append(f"{name} at {count:,} patients: COPY gave {copy_rows:,} rows, the export {rows:,}.")
        results[name] = {
            "rows": rows,
            "bytes": size,
            "copy_bytes": copy_size,
            "export_s": export_s,
            "copy_s": copy_s,
            "traced": traced,
        }
        print(
            f"  {name}, {count:,} patients: {rows:,} rows, export {export_s:.2f} s ({rows / export_s:,.0f} rows/s), "
            f"COPY {copy_s:.2f} s ({copy_rows / copy_s:,.0f} rows/s), {size:,} / {copy_size:,} bytes, "
            f"peak {traced / 2**20:.1f} MiB"
        )
    return results


def figures(sizes: dict[int, dict[str, dict[str, float]]]) -> list[Figure]:
    found: list[Figure] = []
    largest = max(sizes)
    smallest = min(sizes)
    for name in sizes[largest]:
        for count, results in sorted(sizes.items()):
            r = results[name]
            rate, copy_rate = r["rows"] / r["export_s"], r["rows"] / r["copy_s"]
            label = f"{name}, {count:,} patients ({r['rows']:,.0f} rows, {r['bytes'] / 2**20:,.0f} MiB of CSV)"
            found += [
                Figure(f"{label}: export time", r["export_s"], "s"),
                Figure(f"{label}: export rows per second", rate, "rows/s"),
                Figure(f"{label}: COPY rows per second", copy_rate, "rows/s"),
                Figure(f"{label}: COPY is faster by", copy_rate / rate, "×", RATIO_TARGET),
                Figure(f"{label}: peak memory of the export (tracemalloc)", r["traced"] / 2**20, "MiB"),
            ]
        if smallest != largest:
            small, large = sizes[smallest][name], sizes[largest][name]
            found.append(
                Figure(
                    f"{name}: peak memory at {largest:,} / at {smallest:,} patients "
                    f"({large['rows'] / small['rows']:.1f}× the rows)",
                    large["traced"] / small["traced"],
                    "×",
                    1.5,
                )
            )
    return found


def run() -> list[Figure]:
    django_setup()
    NOTES.clear()
    if skipped_off_postgresql(NOTES):
        return []
    if os.environ.get("BENCH_NOMIGRATIONS"):  # models ahead of their migration files: tables from the models
        from django.conf import settings

        settings.MIGRATION_MODULES = {app.split(".")[-1]: None for app in settings.INSTALLED_APPS}
    with throwaway_database():
        machine_print()
        results = {count: measure(count) for count in sorted(SIZES)}
    return figures(results)


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
