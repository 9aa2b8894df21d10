import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from lesions.models import TumourAssessment
from outcomes import services, synthetic
from outcomes.models import EndpointValue, PatientDerivation
from outcomes.services.patients import recompute_many
from patients.models import Patient
from trials.models import Trial


class Command(BaseCommand):
    help = (
        "Add a synthetic trial at scale (default 10,000 patients, about a million lesion measurements) with complete "
        "CRFs: visits, lesions, tumour assessments, adverse events, FACT-B. Written in bulk, without audit history; "
        "for load and performance work, never beside real patients (refused unless --force)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=10_000, help="Patients to add (default 10,000)")
        parser.add_argument("--seed", type=int, default=2026, help="The same seed gives the same patients")
        parser.add_argument(
            "--time-points",
            type=int,
            default=28,
            help="Follow-up tumour assessments per patient: 13 scheduled, the rest unscheduled between them (default "
            "28: about 100 lesion measurements a patient); 0: what each patient's follow-up so far allows (1-13)",
        )
        parser.add_argument(
            "--recompute", action="store_true", help="Recompute the new patients' endpoints and the trial summaries"
        )
        parser.add_argument(
            "--force", action="store_true", help="Run even though the database holds real (non-synthetic) patients"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count, time_points = options["patients"], options["time_points"]
        if count < 1 or time_points < 0:
            raise CommandError("--patients must be at least 1 and --time-points at least 0.")
        real = Patient.objects.exclude(screening_number__startswith=synthetic.SYNTHETIC_PREFIX).count()
        if real and not options["force"]:
            raise CommandError(
                f"This database holds {real:,} real (non-synthetic) patient(s). scale_data would mix made-up patients "
                "into their trial (its exports, dashboards and statistics). Run it against a database of its own, "
                "or pass --force if this really is a scratch database."
            )
        started = time.monotonic()

        def progress(done: int) -> None:
            if options["verbosity"] >= 1 and (done % 2000 == 0 or done == count):
                self.stdout.write(f"  {done:,} / {count:,} patients written ({time.monotonic() - started:.0f} s)")

        ids = synthetic.generate(count, seed=options["seed"], time_points=time_points or None, progress=progress)
        synthetic.analyze()  # the planner's statistics still describe empty tables (autovacuum may be off)
        generated = time.monotonic() - started

        recomputed = ""
        if options["recompute"]:
            began = time.monotonic()
            result = recompute_many(ids)
            trials = Trial.objects.values_list("pk", flat=True)
            summaries = sum(services.trial_summaries_recompute(trial_id=pk) for pk in trials)
            synthetic.analyze((TumourAssessment, PatientDerivation, EndpointValue))  # what the recompute wrote
            recomputed = (
                f"Recomputed {result['repaired']:,} of {result['checked']:,} patients and {summaries} trial summaries "
                f"in {time.monotonic() - began:.1f} s."
            )

        rows = synthetic.counts()
        if options["recompute"]:
            rows |= {model.__name__: model._default_manager.count() for model in (PatientDerivation, EndpointValue)}
        width = max(len(name) for name in rows)
        self.stdout.write(self.style.MIGRATE_HEADING("Rows per table (the whole table)"))
        for name, value in rows.items():
            self.stdout.write(f"  {name.ljust(width)}  {value:>12,}")
        measurements = rows["TargetMeasurement"] + rows["NonTargetObservation"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {len(ids):,} synthetic patients (seed {options['seed']}) in {generated:.1f} s "
                f"({connection.vendor}); the database now holds {measurements:,} lesion measurements. "
                "No audit history was written for them."
            )
        )
        if recomputed:
            self.stdout.write(self.style.SUCCESS(recomputed))
        self.stdout.write(f"Elapsed: {time.monotonic() - started:.1f} s.")
