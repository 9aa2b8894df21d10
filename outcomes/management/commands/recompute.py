from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from outcomes import services
from trials.models import Trial


class Command(BaseCommand):
    help = "Recompute every stale patient derivation (or all, with --force), then the trial summaries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--trial", help="Trial code (default: every trial)")
        parser.add_argument("--force", action="store_true", help="Recompute every patient, not only stale ones")

    def handle(self, *args: Any, **options: Any) -> None:
        trials = Trial.objects.filter(code=options["trial"]) if options["trial"] else Trial.objects.all()
        for trial in trials:
            result = services.consistency_sweep(trial_id=trial.pk, force=options["force"])
            analyses = services.trial_summaries_recompute(trial_id=trial.pk)
            self.stdout.write(
                f"{trial.short_name}: {result['checked']} patients checked, {result['repaired']} recomputed, "
                f"{analyses} summaries."
            )
