from typing import Any

from django.core.management.base import BaseCommand

from trials.configuration import trial_configure
from trials.selectors import analysis_settings_current


class Command(BaseCommand):
    help = "Create COSMO and AVATAR II (arms, visits, analysis settings v1) as trials.md describes; re-runnable."

    def handle(self, *args: Any, **options: Any) -> None:
        for trial in trial_configure():
            self.stdout.write(
                f"{trial.short_name}: {trial.arms.count()} arm(s), {trial.visit_definitions.count()} visits, "
                f"analysis settings v{analysis_settings_current(trial=trial).version}"
            )
