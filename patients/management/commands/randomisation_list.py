"""``manage.py randomisation_list generate|verify``: the statistician's allocation list, from the command line.

The seed is read from standard input (``--seed-stdin``), never from an argument, so it stays out of the shell
history and the process list; without it the EDC draws one and prints it once. The command acts as ``--user``, who
must be a statistician or sponsor admin, through the same services as the screens (``services.randomisation``).

    manage.py randomisation_list generate --trial avatar2 --user stat [--seed-stdin] [--reason "..."]
    manage.py randomisation_list verify --trial avatar2 --user stat --list-version 1 [--seed-stdin]
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from patients.randomisation import AllocationList
from patients.services import randomisation as service
from trials.models import Trial, User


class Command(BaseCommand):
    help = "Generate a stratified permuted-block allocation list, or verify a stored one against its commitment."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["generate", "verify"])
        parser.add_argument("--trial", required=True, help="Trial code, e.g. avatar2.")
        parser.add_argument("--user", required=True, help="Username of the statistician (or sponsor admin).")
        parser.add_argument("--seed-stdin", action="store_true", help="Read the secret seed from standard input.")
        parser.add_argument("--reason", default="", help="Why (required when replacing an unused list).")
        parser.add_argument("--list-version", type=int, help="verify: the list version (default: the active list).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            trial = Trial.objects.get(code=options["trial"])
            user = User.objects.get(username=options["user"], is_active=True)
        except (Trial.DoesNotExist, User.DoesNotExist) as error:
            raise CommandError(str(error)) from error
        seed = sys.stdin.readline().rstrip("\r\n") if options["seed_stdin"] else None
        try:
            if options["action"] == "generate":
                self._generate(user=user, trial=trial, seed=seed, reason=options["reason"])
            else:
                self._verify(user=user, trial=trial, seed=seed, version=options["list_version"])
        except Http404 as error:
            raise CommandError(
                f"{user.username} may not manage allocation lists (statistician or sponsor admin)."
            ) from error
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error

    def _generate(self, *, user: User, trial: Trial, seed: str | None, reason: str) -> None:
        generated = service.allocation_list_generate(user=user, trial=trial, seed=seed, reason=reason)
        allocation_list = generated.allocation_list
        self.stdout.write(
            self.style.SUCCESS(
                f"{trial.short_name} allocation list v{allocation_list.version}: "
                f"{len(allocation_list.strata)} strata × {allocation_list.rows_per_stratum}+ rows, "
                f"block sizes {allocation_list.block_sizes}."
            )
        )
        self.stdout.write(f"generator   {allocation_list.generator_version}")
        self.stdout.write(f"commitment  {allocation_list.commitment}")
        if generated.seed_generated:
            self.stdout.write(self.style.WARNING("seed        " + generated.seed))
            self.stdout.write("The seed is shown once and not stored: keep it sealed.")

    def _verify(self, *, user: User, trial: Trial, seed: str | None, version: int | None) -> None:
        lists = AllocationList.objects.filter(trial=trial)
        allocation_list = (
            lists.filter(version=version).first()
            if version is not None
            else lists.filter(superseded_at__isnull=True).order_by("-version").first()
        )
        if allocation_list is None:
            raise CommandError(f"{trial.short_name} has no such allocation list.")
        result = service.allocation_list_verify(user=user, allocation_list=allocation_list, seed=seed)
        self.stdout.write(f"list        v{allocation_list.version}")
        self.stdout.write(f"published   {result.stored_commitment}")
        self.stdout.write(f"recomputed  {result.recomputed_commitment}")
        if result.seed_matches is not None:
            self.stdout.write(f"seed        {'is' if result.seed_matches else 'is NOT'} the seed of this list")
            self.stdout.write(f"regenerated {'identical' if result.regenerated_matches else 'DIFFERS'}")
        for finding in result.findings:
            self.stdout.write(f"{finding.severity}: {finding.message}")
        if not result.ok:
            raise CommandError("Verification failed.")
        self.stdout.write(self.style.SUCCESS("Verified."))
