"""Edit-check rule sets of the patient-level CRFs, declared apart from the forms (STYLE.md rule 7)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError

from .edit_checks import CheckContext, Finding, rules
from .fields import partial_date_earliest, partial_date_latest


def metastatic_not_before_primary(record: Any, context: CheckContext) -> Iterable[Finding]:
    primary, metastatic = record.primary_diagnosis_date, record.metastatic_diagnosis_date
    if not primary or not metastatic:
        return
    try:
        impossible = partial_date_latest(metastatic) < partial_date_earliest(primary)
    except ValidationError:
        return  # the field validator reports the format
    if impossible:
        yield Finding(
            "metastatic_diagnosis_date",
            "The metastatic diagnosis cannot be before the primary diagnosis.",
            "date_order",
        )


def diagnosis_not_after_consent(record: Any, context: CheckContext) -> Iterable[Finding]:
    for name in ("primary_diagnosis_date", "metastatic_diagnosis_date"):
        value = getattr(record, name)
        try:
            if value and partial_date_earliest(value) > context.patient.consent_date:
                yield Finding(name, "A diagnosis before study entry cannot be after consent.", "after_consent")
        except ValidationError:
            continue


DEMOGRAPHICS = rules(metastatic_not_before_primary, diagnosis_not_after_consent)
