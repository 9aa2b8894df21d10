"""``manage.py audit_verify``: check the audit trail against its hash chain; exit code 1 on any break.

Prints the chain head (sequence and hash): write it down outside the database (a report, a ticket) so a later
rewrite of the whole chain would show against it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trials.audit_chain import audit_chain_seal_pending, audit_verification_record


class Command(BaseCommand):
    help = "Verify the tamper-evident audit trail (hash chain); exit code 1 if any break is found."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seal-first", action="store_true", help="Seal pending history rows before verifying (the sweep's job)."
        )
        parser.add_argument(
            "--overdue-minutes",
            type=int,
            default=30,
            help="Report rows still unsealed after this many minutes as a warning (default 30).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seal_first"]:
            self.stdout.write(f"Sealed {audit_chain_seal_pending()} pending history row(s).")
        verification = audit_verification_record(overdue_after=timedelta(minutes=options["overdue_minutes"]))
        self.stdout.write(
            f"Checked {verification.entries_checked} chain entries against {verification.rows_checked} history rows; "
            f"{verification.pending} row(s) pending sealing."
        )
        self.stdout.write(f"Chain head: #{verification.head_sequence} {verification.head_hash}")
        for problem in verification.problems:
            where = f"{problem['history_model']} history_id={problem['history_id']}" if problem["history_model"] else ""
            sequence = f" (entry #{problem['sequence']})" if problem["sequence"] else ""
            self.stdout.write(f"  {problem['kind'].upper()}: {where}{sequence}: {problem['detail']}")
        if verification.break_count > len(verification.problems):
            self.stdout.write(f"  ... {verification.break_count - len(verification.problems)} more not listed")
        if verification.ok:
            summary = f"OK: the audit trail is intact ({verification.warning_count} warning(s))."
            self.stdout.write(self.style.SUCCESS(summary))
            return
        raise CommandError(f"BROKEN: {verification.break_count} break(s) in the audit trail.", returncode=1)
