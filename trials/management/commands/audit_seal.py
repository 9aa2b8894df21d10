"""``manage.py audit_seal``: seal pending history rows now; ``--adopt-unmarked`` once, on a database whose history
predates the chain (it seals rows that have no marker, which afterwards the verification reports as breaks)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from trials.audit_chain import audit_chain_adopt_unmarked, audit_chain_seal_pending


class Command(BaseCommand):
    help = "Seal pending audit history rows into the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--adopt-unmarked",
            action="store_true",
            help="Also seal history rows written before the chain existed (run once when introducing the chain).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Sealed {audit_chain_seal_pending()} pending history row(s).")
        if options["adopt_unmarked"]:
            adopted = audit_chain_adopt_unmarked()
            for label, count in adopted.items():
                self.stdout.write(f"Adopted {count} row(s) of {label}.")
            self.stdout.write(f"Adopted {sum(adopted.values())} history row(s) in total.")
