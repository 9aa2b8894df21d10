"""The data dictionary of a trial: every field of every case report form the trial uses, of the records behind
them (patient, visit, the rows of a tumour assessment), and every variable of the analysis datasets, with its label,
type, unit, allowed values, whether a complete form needs it, and (for analysis variables) its source.

It is read from the models and the datasets' own declarations (``Model._meta``, ``CrfSpec``, ``Variable``), so it
cannot drift from them. ``dictionary_entries`` gives the full entries (the HTML page shows every allowed value);
``DICTIONARY`` is the same as a ``Dataset`` (one row per entry) for the CSV and other writers, where a very long code
list (the anatomical sites) is cut to the 200 characters a text variable may hold, with a pointer to the page.
Clinical metadata only, no patient data: the page needs ``Capability.EXPORT_CLINICAL_DATA``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from lesions.models import NewLesion, NonTargetObservation, TargetMeasurement
from patients.crf import BOOKKEEPING_FIELDS, crf_models, is_crf
from patients.fields import PartialDateField
from patients.models import Patient, Visit
from trials.models import Trial

from . import DATASETS
from .base import Dataset, Kind, Row, Variable

CRF, RECORD, ANALYSIS = "CRF", "Record", "ADaM"

#: records behind the forms that hold entered data but are not forms themselves (trials.md CRFs 3, 8)
RECORD_MODELS: tuple[type[models.Model], ...] = (Patient, Visit, TargetMeasurement, NonTargetObservation, NewLesion)

#: units by field-name ending, where the name declares it (measurements are integer tenths of a mm, clinical-spec C4)
_UNIT_SUFFIXES = (("_tenths", "0.1 mm"), ("_percent", "%"), ("_gy", "Gy"))
_UNIT_FIELDS = {"age_at_consent": "years"}
#: units as the forms write them at the end of a label, e.g. "total bilirubin (µmol/L)"
_LABEL_UNIT = re.compile(r"\((%|Gy|mm|µmol/L|U/L|g/dL|× 10⁹/L|days|years)\)\s*$")

_TYPES = {
    "AutoField": "integer (record id)",
    "BigAutoField": "integer (record id)",
    "BooleanField": "yes/no",
    "CharField": "text",
    "TextField": "text (long)",
    "DateField": "date",
    "DateTimeField": "date and time (UTC)",
    "DecimalField": "decimal",
    "IntegerField": "integer",
    "PositiveIntegerField": "integer",
    "PositiveSmallIntegerField": "integer",
    "PositiveBigIntegerField": "integer",
    "SmallIntegerField": "integer",
    "JSONField": "JSON",
}
MAX_TEXT = 200


@dataclass(frozen=True)
class Entry:
    """One field of a form or record, or one variable of an analysis dataset."""

    section: str  # CRF, Record or ADaM
    form: str  # the form's name, the record's name, or the dataset's name
    number: int | None  # the CRF's number in trials.md
    trials: str  # the trial codes using the form; empty: every trial
    table: str  # the database table, or the dataset's label
    field: str
    label: str
    type: str
    length: int | None
    unit: str
    allowed: tuple[str, ...]
    required: bool  # a complete form needs it (CrfSpec.required)
    key: bool  # an analysis dataset's key variable
    help: str
    source: str


VARIABLES: tuple[Variable, ...] = (
    Variable("SEQ", "Entry Number", Kind.INTEGER, source="Assigned: the dictionary's order"),
    Variable("SECTION", "Section", Kind.TEXT, 6, allowed=(CRF, RECORD, ANALYSIS), source="Assigned"),
    Variable("FORM", "Form, Record or Dataset", Kind.TEXT, 60, source="CrfSpec.name / verbose_name / Dataset.name"),
    Variable("FORMNO", "CRF Number (trials.md)", Kind.INTEGER, source="CrfSpec.number"),
    Variable("TRIALS", "Trials Using the Form", Kind.TEXT, 20, source="CrfSpec.trials; empty: every trial"),
    Variable("TABLE", "Database Table or Dataset Label", Kind.TEXT, 60, source="Model._meta.db_table"),
    Variable("FIELD", "Field or Variable Name", Kind.TEXT, 40, source="Model field name / Variable.name"),
    Variable("LABEL", "Label", Kind.TEXT, 200, source="Field verbose_name / Variable.label"),
    Variable("TYPE", "Type", Kind.TEXT, 80, source="Field type / Variable.kind"),
    Variable("LENGTH", "Maximum Length", Kind.INTEGER, source="Field max_length / Variable.length"),
    Variable("UNIT", "Unit", Kind.TEXT, 20, source="Declared by the field's name or label / Variable.unit"),
    Variable(
        "ALLOWED",
        "Allowed Values",
        Kind.TEXT,
        MAX_TEXT,
        source="Field choices and validators / Variable.allowed",
        description="code = label; ...; cut to 200 characters for a long list (the HTML dictionary shows all).",
    ),
    Variable("REQUIRED", "Required to Complete the Form", Kind.TEXT, 1, allowed=("Y",), source="CrfSpec.required"),
    Variable("KEY", "Key Variable of the Dataset", Kind.TEXT, 1, allowed=("Y",), source="Dataset.keys"),
    Variable("HELP", "Help Text or Description", Kind.TEXT, MAX_TEXT, source="Field help_text / Variable.description"),
    Variable("SOURCE", "Source or Derivation", Kind.TEXT, MAX_TEXT, source="Variable.source"),
)


def dictionary_entries(*, trial: Trial) -> Iterator[Entry]:
    """The trial's forms (trials.md order), the records behind them, then the analysis datasets' variables."""
    for form in crf_models():
        if form.crf.used_in(trial.code):
            yield from _model_entries(form, CRF)
    for record in RECORD_MODELS:
        yield from _model_entries(record, RECORD)
    for dataset in DATASETS.values():
        yield from _dataset_entries(dataset)


def _model_entries(model: type[models.Model], section: str) -> Iterator[Entry]:
    spec = getattr(model, "crf", None) if is_crf(model) else None
    required = set(spec.required) if spec is not None else set()
    form = spec.name if spec is not None else str(model._meta.verbose_name).capitalize()
    for field in model._meta.concrete_fields:
        bookkeeping = spec is not None and field.name in BOOKKEEPING_FIELDS
        yield Entry(
            section=section,
            form=form,
            number=spec.number if spec is not None else None,
            trials=", ".join(sorted(spec.trials)) if spec is not None else "",
            table=model._meta.db_table,
            field=field.name,
            label=str(field.verbose_name),
            type=field_type(field),
            length=getattr(field, "max_length", None) if isinstance(field, models.CharField) else None,
            unit=field_unit(field),
            allowed=allowed_values(field),
            required=field.name in required,
            key=False,
            help=("Bookkeeping, set by the EDC. " if bookkeeping else "") + str(field.help_text or ""),
            source="",
        )


def _dataset_entries(dataset: Dataset) -> Iterator[Entry]:
    for variable in dataset.variables:
        yield Entry(
            section=ANALYSIS,
            form=dataset.name,
            number=None,
            trials="",
            table=dataset.label,
            field=variable.name,
            label=variable.label,
            type=str(variable.kind),
            length=variable.length,
            unit=variable.unit,
            allowed=variable.allowed,
            required=False,
            key=variable.name in dataset.keys,
            help=variable.description,
            source=variable.source,
        )


def field_type(field: Any) -> str:
    if isinstance(field, PartialDateField):
        return "partial date (YYYY, YYYY-MM or YYYY-MM-DD)"
    if field.is_relation:
        target = field.related_model
        return f"reference to {target._meta.verbose_name} ({target._meta.label})"
    internal = str(field.get_internal_type())
    if internal == "DecimalField":
        return f"decimal ({field.max_digits} digits, {field.decimal_places} after the point)"
    return _TYPES.get(internal, internal)


def field_unit(field: Any) -> str:
    if field.name in _UNIT_FIELDS:
        return _UNIT_FIELDS[field.name]
    for suffix, unit in _UNIT_SUFFIXES:
        if field.name.endswith(suffix):
            return unit
    match = _LABEL_UNIT.search(str(field.verbose_name))
    return match.group(1) if match else ""


def allowed_values(field: Any) -> tuple[str, ...]:
    """The field's choices as "code = label"; a yes/no field's two answers; else the validators' range."""
    if field.choices:
        return tuple(f"{_code(code)} = {label}" for code, label in field.flatchoices)
    if isinstance(field, models.BooleanField):
        return ("True = yes", "False = no")
    declared = getattr(field, "_validators", [])  # the model's own, not the database column's range
    low = next((v.limit_value for v in declared if isinstance(v, MinValueValidator)), None)
    high = next((v.limit_value for v in declared if isinstance(v, MaxValueValidator)), None)
    if low is not None or high is not None:
        return (f"{'' if low is None else low} to {'' if high is None else high}".strip(),)
    return ()


def _code(value: Any) -> str:
    return str(value)


def _joined(values: tuple[str, ...]) -> str:
    text = "; ".join(values)
    if len(text) <= MAX_TEXT:
        return text
    note = f" ... ({len(values)} values; all in the HTML data dictionary)"
    return text[: MAX_TEXT - len(note)].rstrip("; ") + note


def _clipped(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3].rstrip() + "..."


def dictionary_rows(*, trial: Trial, user: Any = None) -> Iterator[Row]:
    """One row per entry; ``user`` is accepted for the ``Dataset`` contract (metadata, no patient data)."""
    for sequence, entry in enumerate(dictionary_entries(trial=trial), start=1):
        yield (
            sequence,
            entry.section,
            entry.form,
            entry.number,
            entry.trials or None,
            entry.table,
            entry.field,
            _clipped(entry.label),
            entry.type,
            entry.length,
            entry.unit or None,
            _joined(entry.allowed) or None,
            "Y" if entry.required else "",
            "Y" if entry.key else "",
            _clipped(entry.help) or None,
            _clipped(entry.source) or None,
        )


DICTIONARY = Dataset(
    name="DICTIONARY",
    label="Data Dictionary",
    structure="One record per form field, record field and analysis variable",
    keys=("SEQ",),
    variables=VARIABLES,
    rows=dictionary_rows,
)
