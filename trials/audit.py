"""The audit trail: every change to a clinical or configuration record is kept with who, when and why.

django-simple-history writes one historical row per save. This module adds the rule that an edit after the first
save carries a reason for change (21 CFR 11.10(e), ICH E6(R3) 4.2), enforced where every write ends up — the
history signal — so no screen, import or task can slip an unexplained edit past it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.signals import pre_create_historical_record

REASON_REQUIRED_MESSAGE = "A reason for change is required when editing a saved record."


class MissingReasonForChange(ValidationError):
    def __init__(self) -> None:
        super().__init__({"reason": REASON_REQUIRED_MESSAGE})


def stamp(instance: models.Model, *, user: Any, reason: str = "") -> None:
    """Attach the author and the reason to the next history row of ``instance``."""
    instance._history_user = user if getattr(user, "is_authenticated", False) else None  # type: ignore[attr-defined]
    instance._change_reason = reason.strip()  # type: ignore[attr-defined]


def require_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise MissingReasonForChange()
    return reason.strip()


def _refuse_edit_without_reason(sender: Any, instance: models.Model, history_instance: Any, **kwargs: Any) -> None:
    if history_instance.history_type != "~":
        return
    if not getattr(instance, "reason_for_change_required", True):
        return
    if not (history_instance.history_change_reason or "").strip():
        raise MissingReasonForChange()


pre_create_historical_record.connect(_refuse_edit_without_reason, dispatch_uid="audit_reason_for_change")


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class AuditEntry:
    when: Any
    who: str
    action: str
    reason: str
    changes: list[FieldChange]


_ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}


def _display(model: type[models.Model], field_name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    field = model._meta.get_field(field_name)
    choices = getattr(field, "flatchoices", None)
    if choices:
        return str(dict(choices).get(value, value))
    if isinstance(field, models.ForeignKey):
        related = field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else f"#{value}"
    return str(value)


def audit_entries(instance: models.Model) -> list[AuditEntry]:
    """The record's history, newest first, with field-by-field old → new values."""
    model = type(instance)
    history = instance.history  # type: ignore[attr-defined]
    records = list(history.all().select_related("history_user").order_by("history_date", "history_id"))
    entries: list[AuditEntry] = []
    previous = None
    for record in records:
        changes: list[FieldChange] = []
        if previous is not None:
            delta = record.diff_against(previous)
            for change in delta.changes:
                label = str(getattr(model._meta.get_field(change.field), "verbose_name", change.field))
                changes.append(
                    FieldChange(
                        field=change.field,
                        label=label[:1].upper() + label[1:],
                        old=_display(model, change.field, change.old),
                        new=_display(model, change.field, change.new),
                    )
                )
        user = record.history_user
        entries.append(
            AuditEntry(
                when=record.history_date,
                who=user.get_username() if user else "system",
                action=_ACTIONS.get(record.history_type, record.history_type),
                reason=record.history_change_reason or "",
                changes=changes,
            )
        )
        previous = record
    entries.reverse()
    return entries
