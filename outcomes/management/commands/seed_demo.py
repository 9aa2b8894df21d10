import logging
import time
from typing import Any

from django.core.management.base import BaseCommand

from outcomes.demo import seed_full_demo
from patients.models import PatientStatus
from trials.models import Role


class Command(BaseCommand):
    help = (
        "Fill the database with demo data: COSMO and AVATAR II, 6 sites in 3 countries, one login per role and "
        "~150 synthetic patients, all through the services (audited). Safe to re-run; resets the demo passwords."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Eager Celery logs one line per recompute (~150 here), which would bury the logins table; -v 2 shows them.
        task_log = logging.getLogger("celery.app.trace")
        previous_level = task_log.level
        if options["verbosity"] < 2:
            task_log.setLevel(logging.WARNING)
        started = time.monotonic()
        try:
            full = seed_full_demo()
        finally:
            task_log.setLevel(previous_level)
        elapsed = time.monotonic() - started
        summary = full.base

        rows = [("Username", "Role", "Sites", "Password")]
        rows += [
            (login.username, str(Role(login.role).label), ", ".join(login.sites) or "all", login.password)
            for login in summary.logins
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        self.stdout.write(
            self.style.MIGRATE_HEADING("Demo logins (demo data only: never use these passwords elsewhere)")
        )
        for index, row in enumerate(rows):
            self.stdout.write("  " + "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * width for width in widths))

        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Demo data"))
        self.stdout.write(f"  Trials: {summary.trials}    Sites: {summary.sites} in {summary.countries} countries")
        for trial, statuses in summary.patients_by_trial.items():
            breakdown = ", ".join(
                f"{statuses[status]} {PatientStatus(status).label.lower()}"
                for status in PatientStatus.values
                if statuses.get(status)
            )
            self.stdout.write(f"  {trial}: {sum(statuses.values())} patients ({breakdown})")
        self.stdout.write(
            f"  CTCAE v5.0 terms: {full.ctcae_terms}    patients given case report forms this run: "
            f"{full.patients_with_forms}    endpoint derivations recomputed: {full.recomputed}"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {elapsed:.1f} s: {summary.patients_created} patients registered, "
                f"{summary.patients_skipped} already present."
            )
        )
