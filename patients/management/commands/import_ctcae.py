"""``manage.py import_ctcae PATH``: load NCI's CTCAE v5.0 term list (CSV or the .xlsx workbook) into the lookup."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patients.ctcae import CTCAE_VERSION, CtcaeImportError, ctcae_import


class Command(BaseCommand):
    help = (
        "Import the CTCAE v5.0 terms and grade definitions from NCI's CTCAE_v5.0.xlsx (sheet 'CTCAE v5.0 Clean "
        "Copy') or a CSV with columns soc,term,grade_1..grade_5,definition. Safe to re-run: terms are matched by "
        "name and updated only where they differ. A bad file changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The .xlsx workbook or .csv file.")
        parser.add_argument("--ctcae-version", default=CTCAE_VERSION, help=f"Version label (default {CTCAE_VERSION}).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = ctcae_import(path=options["path"], version=options["ctcae_version"])
        except CtcaeImportError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"CTCAE v{options['ctcae_version']}: {result.total} terms in {result.socs} system organ classes "
                f"({result.created} created, {result.updated} updated, {result.unchanged} unchanged)."
            )
        )
        if result.not_in_file:
            self.stdout.write(f"{result.not_in_file} term(s) already loaded are not in this file: kept.")
