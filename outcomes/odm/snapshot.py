"""The snapshot export: every subject's current data (ODM FileType ``Snapshot``).

One chunk of patients is read with one query per table (patients, visits, each form model, each row model), whatever
the number of records, and written subject by subject. A ``SubjectData`` holds ``SE.COMMON`` first (the subject
record and the patient-level logs), then one ``StudyEventData`` per visit in schedule order, the repeat key being
the visit's occurrence. Form records carry their id as ``FormRepeatKey`` and rows their id as
``ItemGroupRepeatKey``: stable keys that linking items (a treatment's lesion, a confirming new lesion) point to.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from patients.models import Patient, Visit

from .clinical import item_data, item_value, location_oid, status_annotation
from .elements import root, sub
from .specs import Event, Form, StudyMetadata


@dataclass
class SnapshotChunk:
    patients: list[Patient]
    visits: dict[int, list[Visit]] = field(default_factory=lambda: defaultdict(list))
    #: patient id → visit id or None → [(form, record)] in form order, then id
    records: dict[int, dict[int | None, list[tuple[Form, Any]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    #: (row group OID, form record id) → rows by id
    rows: dict[tuple[str, int], list[Any]] = field(default_factory=lambda: defaultdict(list))


def load_snapshot_chunk(*, metadata: StudyMetadata, user: Any, patients: list[Patient]) -> SnapshotChunk:
    """Everything the chunk's subjects hold. Every query starts from the user's scope (``for_user``)."""
    chunk = SnapshotChunk(patients=patients)
    ids = [patient.pk for patient in patients]
    for visit in Visit.objects.for_user(user).filter(patient_id__in=ids).order_by("occurrence", "pk"):
        chunk.visits[visit.patient_id].append(visit)
    for form in metadata.crf_forms:
        assert form.model is not None
        records = form.model.objects.for_user(user).filter(patient_id__in=ids).select_related(*form.related)
        for record in records.order_by("pk"):
            chunk.records[record.patient_id][record.visit_id].append((form, record))
        for rows in form.rows:
            manager: Any = rows.model._default_manager
            found = manager.for_user(user).filter(**{f"{rows.parent}__patient_id__in": ids}).order_by("pk")
            for row in found:
                chunk.rows[(rows.group.oid, getattr(row, f"{rows.parent}_id"))].append(row)
    return chunk


def _form_data(parent: etree._Element, form: Form, record: Any, chunk: SnapshotChunk) -> None:
    element = sub(parent, "FormData", FormOID=form.oid, FormRepeatKey=str(record.pk) if form.model else None)
    if form.model is not None:
        status_annotation(element, record.status)
    group = sub(element, "ItemGroupData", ItemGroupOID=form.main.oid)
    for item in form.main.items:
        value = item_value(item, record)
        if value is not None:
            item_data(group, item, value)
    for rows in form.rows:
        for row in chunk.rows.get((rows.group.oid, record.pk), ()):
            row_element = sub(element, "ItemGroupData", ItemGroupOID=rows.group.oid, ItemGroupRepeatKey=str(row.pk))
            for item in rows.group.items:
                value = item_value(item, row)
                if value is not None:
                    item_data(row_element, item, value)


def _event(parent: etree._Element, event: Event, occurrence: int) -> etree._Element:
    key = str(occurrence) if event.repeating or occurrence != 1 else None
    return sub(parent, "StudyEventData", StudyEventOID=event.oid, StudyEventRepeatKey=key)


def subject_snapshot(*, metadata: StudyMetadata, chunk: SnapshotChunk, patient: Patient) -> etree._Element:
    subject = root("SubjectData", SubjectKey=patient.subject_id)
    sub(subject, "SiteRef", LocationOID=location_oid(patient.site.code))
    visits = [v for v in chunk.visits.get(patient.pk, ()) if v.definition_id in metadata.events_by_definition]
    visits.sort(key=lambda v: (metadata.events_by_definition[v.definition_id].order_number, v.occurrence))
    shown = {visit.pk for visit in visits}
    form_order = {form.oid: number for number, form in enumerate(metadata.forms)}
    # A record whose visit is not shown (none should exist: the service checks it) still appears, with the logs.
    records = chunk.records.get(patient.pk, {})
    common = [entry for visit_id, entries in records.items() if visit_id not in shown for entry in entries]
    common.sort(key=lambda entry: (form_order[entry[0].oid], entry[1].pk))
    event = _event(subject, metadata.common_event, 1)
    _form_data(event, metadata.subject_form, patient, chunk)
    for form, record in common:
        _form_data(event, form, record, chunk)
    for visit in visits:
        event = _event(subject, metadata.events_by_definition[visit.definition_id], visit.occurrence)
        _form_data(event, metadata.visit_form, visit, chunk)
        for form, record in records.get(visit.pk, ()):
            _form_data(event, form, record, chunk)
    return subject
