"""A trial-sized database in minutes (issue 9): ``manage.py scale_data`` writing 10,000 synthetic patients.

The command as an operator runs it, into an empty, migrated throwaway database: 10,000 patients (COSMO and AVATAR II)
with 28 follow-up tumour assessments each (about a million lesion measurements), every other form, adverse events and
FACT-B questionnaires, then ANALYZE. Target: under 300 s on PostgreSQL (2 cores). Not measured on SQLite.

Run: ``DATABASE_URL=postgres://... python benchmarks/scale_data.py`` (or ``make bench``); ``BENCH_PATIENTS`` changes
the 10,000.
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Figure, django_setup, machine_print, skipped_off_postgresql, throwaway_database

PATIENTS = int(os.environ.get("BENCH_PATIENTS", "10000"))

TITLE = "Synthetic trial at scale (manage.py scale_data)"
DESCRIPTION = """\
`manage.py scale_data --patients 10000` as an operator runs it, into an empty, migrated throwaway PostgreSQL
database: 10,000 patients (COSMO and AVATAR II) with a baseline and 28 follow-up tumour assessments each (about a
million target measurements and non-target observations), visits, lesions, treatment, every other form, adverse events
and FACT-B questionnaires, then `ANALYZE`. Written in bulk (the big tables by `COPY`), without audit history: synthetic
data are for load and performance work only. Target: under 300 s on 2 cores. Not measured on SQLite."""
NOTES: list[str] = []


def measure(count: int) -> list[Figure]:
    from django.core.management import call_command

    from outcomes import synthetic

    output = io.StringIO()
    started = time.perf_counter()
    call_command("scale_data", "--patients", str(count), stdout=output)
    seconds = time.perf_counter() - started
    rows = synthetic.counts()
    measurements = rows["TargetMeasurement"] + rows["NonTargetObservation"]
    others = (
        f"{rows['Visit']:,} visits, {rows['TumourAssessment']:,} tumour assessments, {rows['AdverseEvent']:,} adverse "
        f"events, {rows['FactB']:,} FACT-B questionnaires"
    )
    return [
        Figure("Patients written", rows["Patient"], "patients"),
        Figure("Lesion measurements written (target + non-target rows)", measurements, "rows", note=others),
        Figure(
            f"scale_data --patients {count:,}, end to end (with ANALYZE)",
            seconds,
            "s",
            300 if count >= 10_000 else None,  # the target is for 10,000 patients
        ),
        Figure("  throughput", measurements / seconds, "measurements/s"),
    ]


def run() -> list[Figure]:
    django_setup()
    NOTES.clear()
    with throwaway_database(keep=False):
        machine_print()
        if skipped_off_postgresql(NOTES):
            return []
        return measure(PATIENTS)


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
