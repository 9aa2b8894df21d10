"""The casebook of one patient: a visit × form matrix from the trial's schedule, and the patient-level logs.

Read-only assembly of what the selectors load: which visits are planned, recorded, overdue; which form records
exist and in which state. The number of queries does not grow with the number of visits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from django.contrib.contenttypes.models import ContentType

from trials.domain.schedule import planned_visits
from trials.models import VisitDefinition, VisitKind
from trials.selectors import visit_specs

from .crf import CaseReportForm, CrfStatus, crf_models
from .models import Patient, Query, QueryStatus, Visit, VisitStatus
from .selectors_oversight import CasebookMarks, casebook_marks


class CellStatus(StrEnum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    COMPLETE = "complete"
    QUERIED = "queried"
    VERIFIED = "verified"
    LOCKED = "locked"


CELL_LOOK = {
    CellStatus.NOT_STARTED: ("Not started", "bi-circle", "text-secondary"),
    CellStatus.DRAFT: ("Draft", "bi-pencil-square", "text-warning-emphasis"),
    CellStatus.COMPLETE: ("Complete", "bi-check-circle-fill", "text-success"),
    CellStatus.QUERIED: ("Queried", "bi-question-circle-fill", "text-danger"),
    CellStatus.VERIFIED: ("Verified", "bi-patch-check-fill", "text-primary"),
    CellStatus.LOCKED: ("Locked", "bi-lock-fill", "text-dark"),
}


class VisitState(StrEnum):
    DONE = "done"
    MISSED = "missed"
    OVERDUE = "overdue"
    OPEN = "open"
    PLANNED = "planned"


@dataclass
class Cell:
    model: type[CaseReportForm]
    record: CaseReportForm | None
    status: CellStatus
    #: every record of a repeating visit-bound form at this visit (e.g. one LAT per treated lesion)
    others: list[Cell] = field(default_factory=list)
    #: oversight marks beside the status: "reverify", "signed", "resign" (``CasebookMarks.flags``)
    flags: tuple[str, ...] = ()

    @property
    def look(self) -> tuple[str, str, str]:
        return CELL_LOOK[self.status]


@dataclass
class Row:
    definition: VisitDefinition
    occurrence: int
    label: str
    visit: Visit | None
    state: VisitState
    target_date: date | None = None
    window_start: date | None = None
    window_end: date | None = None
    cells: list[Cell | None] = field(default_factory=list)


@dataclass
class Log:
    model: type[CaseReportForm]
    cells: list[Cell]


@dataclass
class Casebook:
    patient: Patient
    columns: list[type[CaseReportForm]]
    rows: list[Row]
    logs: list[Log]
    open_queries: list[Query]

    @property
    def overdue(self) -> list[Row]:
        return [row for row in self.rows if row.state == VisitState.OVERDUE]


def cell_status(
    record: CaseReportForm | None, queried: set[tuple[int, int]], marks: CasebookMarks | None = None
) -> CellStatus:
    """Locked before queried (nothing can be done on it), queried before verified (a question is open), verified
    (every item checked against the source) before complete."""
    if record is None:
        return CellStatus.NOT_STARTED
    key = (ContentType.objects.get_for_model(record).pk, record.pk)
    if marks is not None and marks.is_locked(record):
        return CellStatus.LOCKED
    if key in queried:
        return CellStatus.QUERIED
    if marks is not None and key in marks.verified:
        return CellStatus.VERIFIED
    return CellStatus.COMPLETE if record.status == CrfStatus.COMPLETE else CellStatus.DRAFT


def _state(visit: Visit | None, window_start: date | None, window_end: date | None, today: date) -> VisitState:
    if visit is not None:
        return VisitState.DONE if visit.status == VisitStatus.DONE else VisitState.MISSED
    if window_end is not None and today > window_end:
        return VisitState.OVERDUE
    if window_start is not None and window_start <= today:
        return VisitState.OPEN
    return VisitState.PLANNED


def build_casebook(*, patient: Patient, today: date) -> Casebook:
    trial = patient.trial
    definitions = {d.code: d for d in trial.visit_definitions.all()}
    models = [m for m in crf_models() if m.crf.used_in(trial.code)]
    columns = [m for m in models if m.crf.visit_kinds]
    visits = {(v.definition_id, v.occurrence): v for v in patient.visits.select_related("definition")}
    records: dict[type[CaseReportForm], list[CaseReportForm]] = {
        m: list(m._default_manager.filter(patient=patient).order_by("pk")) for m in models
    }
    open_queries = list(
        Query.objects.filter(patient=patient).exclude(status=QueryStatus.CLOSED).select_related("content_type")
    )
    queried = {(q.content_type_id, q.object_id) for q in open_queries}
    marks = casebook_marks(patient=patient)

    def cell(model: type[CaseReportForm], record: CaseReportForm | None) -> Cell:
        return Cell(model, record, cell_status(record, queried, marks), flags=marks.flags(record))

    by_visit: dict[tuple[type[CaseReportForm], int], list[CaseReportForm]] = defaultdict(list)
    for model, items in records.items():
        for record in items:
            if record.visit_id is not None:
                by_visit[(model, record.visit_id)].append(record)

    rows: list[Row] = []
    if patient.enrolment_date is not None:
        for planned in planned_visits(visit_specs(trial=trial), patient.enrolment_date):
            definition = definitions[planned.code]
            visit = visits.get((definition.pk, planned.occurrence))
            rows.append(
                Row(
                    definition,
                    planned.occurrence,
                    planned.name,
                    visit,
                    _state(visit, planned.window_start, planned.window_end, today),
                    planned.target_date,
                    planned.window_start,
                    planned.window_end,
                )
            )
    else:
        for definition in sorted(definitions.values(), key=lambda d: d.order):
            if definition.kind in (VisitKind.SCREENING, VisitKind.ENROLMENT):
                visit = visits.get((definition.pk, 1))
                rows.append(Row(definition, 1, definition.name, visit, _state(visit, None, None, today)))
    planned_keys = {(row.definition.pk, row.occurrence) for row in rows}
    for (definition_id, occurrence), visit in sorted(visits.items(), key=lambda kv: (kv[1].visit_date or today, kv[0])):
        if (definition_id, occurrence) not in planned_keys:  # unscheduled and long-term visits, as they happened
            rows.append(
                Row(visit.definition, occurrence, str(visit), visit, _state(visit, None, None, today), visit.visit_date)
            )
    rows.sort(
        key=lambda r: (r.target_date or (r.visit.visit_date if r.visit else None) or date.max, r.definition.order)
    )

    for row in rows:
        for model in columns:
            if row.definition.kind not in model.crf.visit_kinds:
                row.cells.append(None)
                continue
            found = by_visit.get((model, row.visit.pk), []) if row.visit is not None else []
            first = cell(model, found[0] if found else None)
            first.others = [cell(model, record) for record in found[1:]]
            row.cells.append(first)

    logs = [Log(m, [cell(m, r) for r in records[m]]) for m in models if not m.crf.visit_kinds]
    return Casebook(patient=patient, columns=columns, rows=rows, logs=logs, open_queries=open_queries)


def group_queries(queries: list[Query]) -> dict[tuple[int, int], list[Query]]:
    grouped: dict[tuple[int, int], list[Query]] = defaultdict(list)
    for query in queries:
        grouped[(query.content_type_id, query.object_id)].append(query)
    return grouped


def as_context(casebook: Casebook) -> dict[str, Any]:
    return {"casebook": casebook, "cell_look": CELL_LOOK}
