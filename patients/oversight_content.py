"""What a verification or a signature covers: the items of a form and the canonical content of records.

An *item* of a CRF record is one of its data fields (``crf.data_fields``) or, for a form that owns child rows (a
tumour assessment's target measurements, non-target observations and new lesions), the set of those rows: a monitor
verifies "the target measurements" against the radiology report as one item, and a change to any row clears it.
Child rows are found from the model (a reverse one-to-many relation from a site-owned, non-CRF model whose key to
the form is required), so ``lesions`` needs no registration here and ``patients`` never imports it.

The canonical content is JSON with sorted keys of each item's stored value (foreign keys as ids, dates ISO): two
reads of unchanged data give the same text, so comparing before and after a save finds exactly the changed items,
and the SHA-256 of a signature's content shows later whether the signed data are still the same (21 CFR 11.70,
signature/record linking). Versions are listed with a signature but not hashed: a save that changes nothing does
not make signed data look different.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.text import capfirst

from trials.models import SiteOwnedModel

from .crf import CaseReportForm, crf_models, data_fields, is_crf
from .models import Patient, Visit

#: The patient's own fields a casebook signature covers (those ``services.patient_update`` may change).
PATIENT_FIELDS = ("screening_number", "age_at_consent", "sex", "consent_date", "enrolment_date", "status")
VISIT_FIELDS = ("status", "visit_date", "missed_reason")

Content = dict[str, str]


@dataclass(frozen=True)
class Item:
    name: str
    label: str
    is_rows: bool = False


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def child_relations(model: type[models.Model]) -> list[Any]:
    """The reverse relations to rows the form owns (e.g. ``TumourAssessment.target_measurements``)."""
    return [
        rel
        for rel in model._meta.related_objects
        if rel.one_to_many
        and not rel.field.null
        and rel.related_model is not model
        and issubclass(rel.related_model, SiteOwnedModel)
        and not is_crf(rel.related_model)
    ]


def record_items(model: type[CaseReportForm]) -> list[Item]:
    """What a monitor verifies on a form of ``model``, in the form's order."""
    items = []
    for name in data_fields(model):
        label = str(getattr(model._meta.get_field(name), "verbose_name", name))
        items.append(Item(name, capfirst(label)))
    for rel in child_relations(model):
        items.append(Item(rel.get_accessor_name(), capfirst(str(rel.related_model._meta.verbose_name_plural)), True))
    return items


def _row_values(row: models.Model, parent_field: str) -> dict[str, Any]:
    return {
        field.name: field.value_from_object(row)
        for field in row._meta.concrete_fields
        if field.editable and not field.primary_key and field.name not in ("site", parent_field)
    } | {"pk": row.pk}


def records_content(model: type[CaseReportForm], pks: Iterable[int]) -> dict[int, Content]:
    """The canonical content of each record of ``model`` in ``pks``, read from the database: one query for the
    records and one per kind of child row, whatever their number."""
    wanted = list(pks)
    if not wanted:
        return {}
    fields = [field for field in model._meta.concrete_fields if field.name in set(data_fields(model))]
    found: dict[int, Content] = {}
    for record in model._default_manager.filter(pk__in=wanted):
        found[record.pk] = {field.name: canonical(field.value_from_object(record)) for field in fields}
    for rel in child_relations(model):
        parent = rel.field.name
        rows: dict[int, list[dict[str, Any]]] = {pk: [] for pk in found}
        for row in rel.related_model._default_manager.filter(**{f"{parent}__in": list(found)}).order_by("pk"):
            rows[getattr(row, rel.field.attname)].append(_row_values(row, parent))
        for pk, values in rows.items():
            found[pk][rel.get_accessor_name()] = canonical(values)
    return found


def record_content(record: CaseReportForm) -> Content:
    return records_content(type(record), [record.pk]).get(record.pk, {})


def changed_items(before: Content, after: Content) -> list[str]:
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def fields_content(instance: models.Model, names: Iterable[str]) -> Content:
    wanted = set(names)
    return {
        field.name: canonical(field.value_from_object(instance))
        for field in instance._meta.concrete_fields
        if field.name in wanted
    }


@dataclass(frozen=True)
class SignedRecord:
    """One record a signature covers: what the signing page lists and ``Signature.records`` stores."""

    model: str
    pk: int
    version: int
    label: str
    content: Content

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "pk": self.pk, "version": self.version, "label": self.label}


def _label(instance: models.Model) -> str:
    return f"{instance._meta.app_label}.{instance._meta.model_name}"


def _record_label(record: CaseReportForm, visits: dict[int, Visit]) -> str:
    visit = visits.get(record.visit_id) if record.visit_id else None
    where = f" at {visit}" if visit is not None else ""
    summary = record.summary() if record.crf.repeating else ""
    what = f": {summary}" if summary and summary != record.crf.name else ""
    return f"{record.crf.name}{where} #{record.pk}{what} ({record.get_status_display().lower()})"


def signed_records(
    *, patient: Patient, visit: Visit | None = None, record: CaseReportForm | None = None
) -> list[SignedRecord]:
    """The records a signature covers: one form; a visit and its forms; or the casebook (the patient, every visit
    and every form of the patient)."""
    if record is not None:
        content = record_content(record)
        visits = {record.visit.pk: record.visit} if record.visit is not None else {}
        return [SignedRecord(_label(record), record.pk, record.version, _record_label(record, visits), content)]
    visit_list = [visit] if visit is not None else list(patient.visits.select_related("definition").order_by("pk"))
    visits = {v.pk: v for v in visit_list}
    signed: list[SignedRecord] = []
    if visit is None:
        signed.append(
            SignedRecord(
                _label(patient),
                patient.pk,
                patient.version,
                f"Patient {patient.subject_id}",
                fields_content(patient, PATIENT_FIELDS),
            )
        )
    for item in visit_list:
        date = f" on {item.visit_date}" if item.visit_date else ""
        signed.append(
            SignedRecord(
                _label(item),
                item.pk,
                item.version,
                f"Visit {item} ({item.get_status_display().lower()}{date})",
                fields_content(item, VISIT_FIELDS),
            )
        )
    for model in crf_models():
        if not model.crf.used_in(patient.trial.code):
            continue
        records = model._default_manager.filter(patient=patient).order_by("pk")
        if visit is not None:
            records = records.filter(visit=visit)
        found = list(records)
        contents = records_content(model, [r.pk for r in found])
        for item_record in found:
            signed.append(
                SignedRecord(
                    _label(item_record),
                    item_record.pk,
                    item_record.version,
                    _record_label(item_record, visits),
                    contents.get(item_record.pk, {}),
                )
            )
    return signed


def content_sha256(records: Iterable[SignedRecord]) -> str:
    """SHA-256 of what was signed: each record's model, key and content (not its version)."""
    return sha256(canonical([{"model": r.model, "pk": r.pk, "content": r.content} for r in records]))
