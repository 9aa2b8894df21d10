"""Audit-trail exports as CSV: one line per changed field, with who, when (UTC), why and the chain sequence.

Three scopes (issue 8): a patient (the patient and every record that hangs off it: visits, forms, lesions,
assessments and their rows, queries), a single form or record (with its rows), and the whole trail between two dates.
The long format (one field per line) is what an inspector filters and pivots (FDA, "Electronic Source Data in
Clinical Investigations" (2013) §IV.C; EMA computerised systems guideline (2023) Annex 2: audit trails reviewable and
exportable in a readable form). Values are the stored ones (codes, ids), so the export matches the database.

The trials app cannot import the apps above it: what hangs off a record is found from the foreign keys of the
history-tracked models, not from a list of model names.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import models
from django.db.models import Q

from .audit_chain import history_models
from .domain.audit_chain import canonical_value
from .models import SiteOwnedModel, User
from .models_compliance import AuditChainEntry
from .spreadsheet import formula_safe

COLUMNS = [
    "chain_sequence",
    "history_date_utc",
    "model",
    "record_id",
    "action",
    "user",
    "reason",
    "field",
    "old_value",
    "new_value",
    "history_id",
]
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
#: How far the records hanging off a patient go: patient → assessment → target measurement, patient → query → message.
MAX_DEPTH = 3


@dataclass(frozen=True)
class Source:
    """History rows of one table to export: ``history_model`` rows matching ``where``."""

    history_model: type[models.Model]
    where: Q


@dataclass(frozen=True)
class DateRange:
    start: date | None = None
    end: date | None = None  # inclusive

    def filter(self) -> Q:
        q = Q()
        if self.start:
            q &= Q(history_date__gte=datetime.combine(self.start, time.min, tzinfo=UTC))
        if self.end:
            q &= Q(history_date__lt=datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC))
        return q


def _tracked() -> dict[type[models.Model], type[models.Model]]:
    """Live model → its history model."""
    return {history.instance_type: history for history in history_models()}  # type: ignore[attr-defined]


def record_sources(record: models.Model) -> list[Source]:
    """The record's own history and, for site-owned records, the history of every record whose foreign keys lead
    to it (breadth first, ``MAX_DEPTH`` levels), deleted records included (their ids come from the history)."""
    tracked = _tracked()
    root = type(record)
    sources = [Source(tracked[root], Q(**{root._meta.pk.attname: record.pk}))]
    if not issubclass(root, SiteOwnedModel):
        return sources
    found: dict[type[models.Model], set[Any]] = {root: {record.pk}}
    frontier: list[type[models.Model]] = [root]
    for _ in range(MAX_DEPTH):
        next_frontier: list[type[models.Model]] = []
        for model, history in tracked.items():
            if not issubclass(model, SiteOwnedModel) or model is root:
                continue
            where = Q()
            for field in model._meta.concrete_fields:
                target = getattr(field, "related_model", None)
                if field.many_to_one and target in frontier and found.get(target):
                    where |= Q(**{f"{field.attname}__in": sorted(found[target])})
            if not where:
                continue
            ids = set(history._base_manager.filter(where).values_list(model._meta.pk.attname, flat=True).distinct())
            new_ids = ids - found.get(model, set())
            if new_ids:
                found.setdefault(model, set()).update(new_ids)
                next_frontier.append(model)
        if not next_frontier:
            break
        frontier = next_frontier
    for model, ids in found.items():
        if model is not root:
            sources.append(Source(tracked[model], Q(**{f"{model._meta.pk.attname}__in": sorted(ids)})))
    return sources


def trail_sources(*, include_users: bool, label: str = "") -> list[Source]:
    """Every history table (the people table only for user administrators), or the one named by ``label``."""
    sources = []
    for history in history_models():
        live_label = history.instance_type._meta.label_lower  # type: ignore[attr-defined]
        if live_label == User._meta.label_lower and not include_users:
            continue
        if label and label != live_label:
            continue
        sources.append(Source(history, Q()))
    return sources


def exportable_models(*, include_users: bool) -> list[tuple[str, str]]:
    """(label, name) of every audited model, for the trail export's filter."""
    return [
        (
            source.history_model.instance_type._meta.label_lower,  # type: ignore[attr-defined]
            str(source.history_model.instance_type._meta.verbose_name).capitalize(),  # type: ignore[attr-defined]
        )
        for source in trail_sources(include_users=include_users)
    ]


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(canonical_value(value))
    return formula_safe(text)  # a cell a spreadsheet would run as a formula is shown as text


class _Usernames:
    def __init__(self) -> None:
        self.names: dict[int, str] = {}

    def __call__(self, user_id: int | None) -> str:
        if user_id is None:
            return "system"
        if user_id not in self.names:
            user = User.objects.filter(pk=user_id).only("username").first()
            self.names[user_id] = user.username if user else f"user #{user_id}"
        return self.names[user_id]


def _rows_of(source: Source, dates: DateRange, usernames: _Usernames) -> Iterator[tuple[Any, list[str]]]:
    """(sort key, CSV line) for each changed field of each history row, record by record, oldest first."""
    history = source.history_model
    label = history._meta.label_lower
    live = history.instance_type  # type: ignore[attr-defined]
    pk_name = live._meta.pk.attname
    fields = [f.attname for f in history._meta.concrete_fields if not f.name.startswith("history_")]
    model_name = live._meta.label_lower
    rows = (
        history._base_manager.filter(source.where & dates.filter())
        .order_by(pk_name, "history_date", "history_id")
        .values(*fields, "history_id", "history_date", "history_type", "history_user_id", "history_change_reason")
    )
    previous: dict[str, Any] | None = None
    batch: list[dict[str, Any]] = []

    def flush() -> Iterator[tuple[Any, list[str]]]:
        nonlocal previous
        sequences = dict(
            AuditChainEntry.objects.filter(
                history_model=label, history_id__in=[row["history_id"] for row in batch]
            ).values_list("history_id", "sequence")
        )
        for row in batch:
            before = previous if previous is not None and previous[pk_name] == row[pk_name] else None
            if before is None and row["history_type"] == "~":
                before = (
                    history._base_manager.filter(
                        Q(**{pk_name: row[pk_name]}),
                        Q(history_date__lt=row["history_date"])
                        | Q(history_date=row["history_date"], history_id__lt=row["history_id"]),
                    )
                    .order_by("-history_date", "-history_id")
                    .values(*fields)
                    .first()
                )
            if row["history_type"] == "+":
                changes = [(name, None, row[name]) for name in fields if row[name] not in (None, "")]
            elif row["history_type"] == "~":
                old = before or {}
                changes = [(name, old.get(name), row[name]) for name in fields if old.get(name) != row[name]]
            else:
                changes = []
            common = [
                str(sequences.get(row["history_id"], "")),
                _text(row["history_date"]),
                model_name,
                str(row[pk_name]),
                ACTIONS.get(row["history_type"], row["history_type"]),
                usernames(row["history_user_id"]),
                _text(row["history_change_reason"] or ""),
            ]
            key = (row["history_date"], label, row["history_id"])
            for name, old_value, new_value in changes or [("", None, None)]:
                yield key, [*common, name, _text(old_value), _text(new_value), str(row["history_id"])]
            previous = row
        batch.clear()

    for row in rows.iterator(chunk_size=2000):
        batch.append(row)
        if len(batch) >= 500:
            yield from flush()
    if batch:
        yield from flush()


def export_lines(sources: Iterable[Source], dates: DateRange, *, chronological: bool) -> Iterator[list[str]]:
    """The CSV lines (header first). ``chronological`` sorts everything in memory: for one patient or record;
    the whole trail streams table by table, record by record."""
    yield COLUMNS
    usernames = _Usernames()
    if chronological:
        lines = [line for source in sources for line in _rows_of(source, dates, usernames)]
        lines.sort(key=lambda item: item[0])
        yield from (line for _, line in lines)
        return
    for source in sources:
        yield from (line for _, line in _rows_of(source, dates, usernames))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(lines: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for line in lines:
        yield writer.writerow(line)
