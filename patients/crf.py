"""The case report form (CRF) framework: one abstract base every CRF model inherits, and its declared metadata.

A CRF model carries its site, patient and (for visit-bound forms) visit; a status (draft / complete); a version for
optimistic locking; and a ``crf`` spec saying which trials use it, where it sits in the casebook and which fields a
complete form needs. Database columns stay nullable so a draft can be saved half-filled; completeness is enforced by
the service from ``required`` (decisions D21: endpoint dates must be complete — they are required fields).

CRFs are found by walking the installed models (``crf_models()``): no mutable registry for tests to reset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.apps import apps
from django.db import models

from trials.models import SiteOwnedModel

from .edit_checks import RuleSet


class CrfStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETE = "complete", "Complete"


@dataclass(frozen=True)
class CrfSpec:
    """What the casebook and the service need to know about one form (trials.md, "Case report forms")."""

    code: str
    name: str
    number: int
    #: trial codes using the form; empty means every trial
    trials: frozenset[str] = frozenset()
    #: visit kinds whose row shows this form in the casebook matrix; empty means a patient-level log
    visit_kinds: frozenset[str] = frozenset()
    #: several records per patient (a log: AEs, lesions, therapy lines) rather than one per visit / patient
    repeating: bool = False
    #: fields a complete form must have
    required: Sequence[str] = ()
    rules: RuleSet = field(default_factory=RuleSet)
    #: the model field giving the record's date in lists, if any
    date_field: str = ""
    #: dotted path of the form class; empty means ``<app>.forms.<Model>Form`` or a plain form of the data fields
    form: str = ""

    def used_in(self, trial_code: str) -> bool:
        return not self.trials or trial_code in self.trials


class CaseReportForm(SiteOwnedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey("patients.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=CrfStatus.choices, default=CrfStatus.DRAFT)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)

    crf: ClassVar[CrfSpec]

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.crf.name} #{self.pk}" if self.pk else self.crf.name

    @property
    def is_complete(self) -> bool:
        return self.status == CrfStatus.COMPLETE

    def summary(self) -> str:
        """A short line for lists and the casebook; models override it with what identifies the record."""
        date_field = self.crf.date_field
        value = getattr(self, date_field, None) if date_field else None
        return str(value) if value else self.crf.name


#: Fields of the base that are bookkeeping, never data entered on the form.
BOOKKEEPING_FIELDS = frozenset(
    {"id", "site", "patient", "visit", "status", "version", "created_at", "updated_at", "completed_at"}
)


def crf_models() -> list[type[CaseReportForm]]:
    """Every concrete CRF model, ordered by its number in trials.md."""
    found = [m for m in apps.get_models() if issubclass(m, CaseReportForm) and not m._meta.abstract]
    return sorted(found, key=lambda m: (m.crf.number, m.crf.code))


def crf_model(code: str) -> type[CaseReportForm] | None:
    return next((m for m in crf_models() if m.crf.code == code), None)


def data_fields(model: type[models.Model]) -> list[str]:
    return [
        f.name for f in model._meta.concrete_fields if f.name not in BOOKKEEPING_FIELDS and getattr(f, "editable", True)
    ]


def is_crf(model: Any) -> bool:
    return isinstance(model, type) and issubclass(model, CaseReportForm)
