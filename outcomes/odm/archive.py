"""The audit export: every audited change of every exported value (ODM FileType ``Transactional``, ``Archival``).

Source: the django-simple-history rows the EDC writes on every save (``trials/audit.py``), including records since
deleted (lesion rows dropped from an assessment), read chunk by chunk like the snapshot: one query per historical
table per chunk of patients, whatever the number of changes.

How the history becomes ODM transactions (ODM 1.3.2 specification, "Transaction Processing" and the AuditRecord
element; CDISC's archive rules: a Transactional file, transactions in the order they happened, every one with its
AuditRecord, no Upsert):
- A record's first history row is an ``Insert`` of its form (all values present), each later row an ``Update``
  listing only the values that changed (each ItemData says ``Insert``, ``Update`` or ``Remove`` for a value first
  given, changed or cleared), a deletion a ``Remove``. Saves that changed no exported value (a version bump, a
  derived column) are left out. A status change (draft → complete) updates the form-status flag (``clinical.py``).
- Rows of a form (a tumour assessment's lesion rows) are ``ItemGroupData`` transactions inside a ``FormData`` of
  type ``Context``, merged in time with the form's own transactions.
- The ``SubjectData`` is the patient's ``Insert`` (the registration); ``SE.COMMON`` and the subject form inherit it;
  later patient changes are ``Update`` transactions of ``F.SUBJECT``. Each visit is a ``StudyEventData`` ``Insert``
  (the visit's first save) holding its ``F.VISIT`` form; later visit changes update ``F.VISIT``.
- The AuditRecord: ``UserRef`` (the User OID; ``U.SYSTEM`` for saves without a user), ``LocationRef`` (the patient's
  site for site staff, ``LOC.SPONSOR`` for the all-site roles and the system), ``DateTimeStamp`` (the history date),
  ``ReasonForChange`` (the reason for change, when one was given) and ``SourceID`` (``<historical model>:<history
  id>``, pointing back to the audit-trail row).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from patients.models import Patient, Visit
from trials.models import ALL_SITE_ROLES

from .clinical import SPONSOR_LOCATION, item_data, item_value, location_oid, status_annotation, user_oid
from .elements import format_value, root, sub
from .specs import Event, Form, Item, ItemGroup, RowGroup, StudyMetadata

_TRANSACTION = {"+": "Insert", "~": "Update", "-": "Remove"}
_ORDER = ("history_date", "history_id")


@dataclass
class ArchiveChunk:
    patients: list[Patient]
    #: patient id → its historical rows, oldest first
    patient_rows: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))
    #: patient id → visit id → historical rows
    visit_rows: dict[int, dict[int, list[Any]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    #: patient id → visit id (or None) → [(form, the record's historical rows)] in form order, then id
    records: dict[int, dict[int | None, list[tuple[Form, list[Any]]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    #: (row group OID, form record id) → row id → historical rows
    rows: dict[tuple[str, int], dict[int, list[Any]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )


def history_model(model: type[Any]) -> Any:
    return model.history.model


def load_archive_chunk(*, metadata: StudyMetadata, patients: list[Patient]) -> ArchiveChunk:
    """The chunk's audit trail. The patients come from the user's scope (``for_user``); historical tables have no
    scope of their own and are read only for those patients' ids."""
    chunk = ArchiveChunk(patients=patients)
    ids = [patient.pk for patient in patients]
    for row in history_model(Patient).objects.filter(id__in=ids).order_by(*_ORDER):
        chunk.patient_rows[row.id].append(row)
    for row in history_model(Visit).objects.filter(patient_id__in=ids).order_by(*_ORDER):
        chunk.visit_rows[row.patient_id][row.id].append(row)
    for form in metadata.crf_forms:
        assert form.model is not None
        historical = history_model(form.model)
        by_record: dict[int, list[Any]] = defaultdict(list)
        found = historical.objects.filter(patient_id__in=ids).select_related(*form.related).order_by(*_ORDER)
        for row in found:
            by_record[row.id].append(row)
        for record_id in sorted(by_record):
            timeline = by_record[record_id]
            last = timeline[-1]
            chunk.records[last.patient_id][last.visit_id].append((form, timeline))
        for rows in form.rows:
            parents = historical.objects.filter(patient_id__in=ids).values("id")
            lookup = {f"{rows.parent}_id__in": parents}
            for row in history_model(rows.model).objects.filter(**lookup).order_by(*_ORDER):
                chunk.rows[(rows.group.oid, getattr(row, f"{rows.parent}_id"))][row.id].append(row)
    return chunk


@dataclass(frozen=True)
class AuditContext:
    """Who is who, for the AuditRecords: user id → role (from the AdminData users)."""

    roles: dict[int, str]

    def record(self, parent: etree._Element, row: Any, *, site_code: str) -> None:
        """Append ``parent``'s AuditRecord (it must be the element's first child) from a historical row, or from a
        live record that has no history (created before auditing: its creation time, no user)."""
        user_id = getattr(row, "history_user_id", None)
        when: datetime = getattr(row, "history_date", None) or row.created_at
        historical = hasattr(row, "history_id")
        source = f"{row._meta.label_lower}:{row.history_id if historical else row.pk}"
        reason = (getattr(row, "history_change_reason", None) or "").strip()
        element = sub(parent, "AuditRecord")
        sub(element, "UserRef", UserOID=user_oid(user_id))
        site_staff = user_id is not None and self.roles.get(user_id, "") not in ALL_SITE_ROLES
        sub(element, "LocationRef", LocationOID=location_oid(site_code) if site_staff else SPONSOR_LOCATION)
        sub(element, "DateTimeStamp", format_value(when, "datetime"))
        if reason:
            sub(element, "ReasonForChange", reason)
        sub(element, "SourceID", source)


Change = tuple[Item, str | None, str | None]


def _diff(group: ItemGroup, row: Any, previous: Any | None) -> list[Change]:
    """(item, value, transaction) for the values that changed; every present value when there is no previous."""
    changes: list[Change] = []
    for item in group.items:
        value = item_value(item, row)
        if previous is None:
            if value is not None:
                changes.append((item, value, None))
            continue
        old = item_value(item, previous)
        if value != old:
            changes.append((item, value, "Insert" if old is None else ("Remove" if value is None else "Update")))
    return changes


def _write_items(parent: etree._Element, changes: list[Change]) -> None:
    for item, value, transaction in changes:
        item_data(parent, item, value, transaction)


@dataclass(frozen=True)
class _Step:
    """One historical row of a form record (``rows`` None) or of one of its rows (``rows`` its group)."""

    row: Any
    previous: Any | None
    rows: RowGroup | None = None


def _steps(timeline: list[Any], row_timelines: list[tuple[RowGroup, list[Any]]]) -> list[_Step]:
    """The record's saves and its rows' saves in the order they happened (a form is saved before its rows)."""
    steps = [_Step(row, timeline[i - 1] if i else None) for i, row in enumerate(timeline)]
    for rows, history in row_timelines:
        steps += [_Step(row, history[i - 1] if i else None, rows) for i, row in enumerate(history)]
    if len(steps) > 1:
        steps.sort(key=lambda step: (step.row.history_date, step.rows is not None, step.row.history_id))
    return steps


def _form_timeline(
    parent: etree._Element,
    form: Form,
    timeline: list[Any],
    *,
    audit: AuditContext,
    site_code: str,
    rows: dict[tuple[str, int], dict[int, list[Any]]] | None = None,
    first_inherits: bool = False,
) -> None:
    """The transactions of one form record in the order they happened. ``first_inherits``: the record's creation
    is its container's Insert (the subject form in the SubjectData, the visit form in its StudyEventData)."""
    record_id: int = timeline[-1].id if form.model is not None else 0
    key = str(record_id) if form.model is not None else None
    row_timelines = [
        (group, history)
        for group in form.rows
        for _, history in sorted((rows or {}).get((group.group.oid, record_id), {}).items())
    ]
    context: etree._Element | None = None
    for step in _steps(timeline, row_timelines):
        kind = _TRANSACTION.get(getattr(step.row, "history_type", "+"), "Update")
        if step.previous is None:
            kind = "Insert"
        if step.rows is None:
            context = None
            _form_step(parent, form, step, kind, key, audit=audit, site_code=site_code, inherit=first_inherits)
            continue
        changes = [] if kind == "Remove" else _diff(step.rows.group, step.row, step.previous)
        if kind == "Update" and not changes:
            continue
        if context is None:
            context = sub(parent, "FormData", FormOID=form.oid, FormRepeatKey=key, TransactionType="Context")
        group = sub(
            context,
            "ItemGroupData",
            ItemGroupOID=step.rows.group.oid,
            ItemGroupRepeatKey=str(step.row.id),
            TransactionType=kind,
        )
        audit.record(group, step.row, site_code=site_code)
        _write_items(group, changes)


def _form_step(
    parent: etree._Element,
    form: Form,
    step: _Step,
    kind: str,
    key: str | None,
    *,
    audit: AuditContext,
    site_code: str,
    inherit: bool,
) -> None:
    if kind == "Remove":
        element = sub(parent, "FormData", FormOID=form.oid, FormRepeatKey=key, TransactionType="Remove")
        audit.record(element, step.row, site_code=site_code)
        return
    changes = _diff(form.main, step.row, step.previous)
    status = getattr(step.row, "status", None) if form.model is not None else None
    status_changed = status is not None and (step.previous is None or step.previous.status != status)
    if kind == "Update" and not changes and not status_changed:
        return  # a save that changed nothing exported
    inherited = inherit and step.previous is None
    element = sub(parent, "FormData", FormOID=form.oid, FormRepeatKey=key, TransactionType=None if inherited else kind)
    if not inherited:
        audit.record(element, step.row, site_code=site_code)
    if status_changed:
        status_annotation(element, str(status))
    if kind == "Insert" or changes:
        _write_items(sub(element, "ItemGroupData", ItemGroupOID=form.main.oid), changes)


def _event_key(event: Event, occurrence: int) -> str | None:
    return str(occurrence) if event.repeating or occurrence != 1 else None


def subject_archive(
    *, metadata: StudyMetadata, chunk: ArchiveChunk, patient: Patient, audit: AuditContext
) -> etree._Element:
    site_code = patient.site.code
    history = chunk.patient_rows.get(patient.pk) or [patient]
    subject = root("SubjectData", SubjectKey=patient.subject_id, TransactionType="Insert")
    audit.record(subject, history[0], site_code=site_code)
    sub(subject, "SiteRef", LocationOID=location_oid(site_code))
    records = chunk.records.get(patient.pk, {})
    visits = [
        (metadata.events_by_definition[rows[-1].definition_id], rows)
        for rows in chunk.visit_rows.get(patient.pk, {}).values()
        if rows[-1].definition_id in metadata.events_by_definition
    ]
    visits.sort(key=lambda pair: (pair[0].order_number, pair[1][-1].occurrence))
    shown = {rows[-1].id for _, rows in visits}
    form_order = {form.oid: number for number, form in enumerate(metadata.forms)}

    common = sub(subject, "StudyEventData", StudyEventOID=metadata.common_event.oid)
    _form_timeline(common, metadata.subject_form, history, audit=audit, site_code=site_code, first_inherits=True)
    logs = [entry for visit_id, entries in records.items() if visit_id not in shown for entry in entries]
    logs.sort(key=lambda entry: (form_order[entry[0].oid], entry[1][-1].id))
    for form, timeline in logs:
        _form_timeline(common, form, timeline, audit=audit, site_code=site_code, rows=chunk.rows)

    for event, rows in visits:
        key = _event_key(event, rows[-1].occurrence)
        element = sub(
            subject, "StudyEventData", StudyEventOID=event.oid, StudyEventRepeatKey=key, TransactionType="Insert"
        )
        audit.record(element, rows[0], site_code=site_code)
        kept = [row for row in rows if row.history_type != "-"]
        _form_timeline(element, metadata.visit_form, kept, audit=audit, site_code=site_code, first_inherits=True)
        for form, timeline in records.get(rows[-1].id, ()):
            _form_timeline(element, form, timeline, audit=audit, site_code=site_code, rows=chunk.rows)
        if rows[-1].history_type == "-":
            removed = sub(
                subject, "StudyEventData", StudyEventOID=event.oid, StudyEventRepeatKey=key, TransactionType="Remove"
            )
            audit.record(removed, rows[-1], site_code=site_code)
    return subject
