"""Finding the history tables: every model django-simple-history generated, in any app, now or later."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.apps import apps
from django.db import models
from simple_history.models import HistoricalChanges

#: SQLite allows 32,766 variables per statement (999 before 3.32); stay well below for ``IN (...)`` lists.
IN_CHUNK = 500


def history_models() -> list[type[models.Model]]:
    """Every simple-history model, sorted by label (stable order for reports)."""
    found = [
        model
        for model in apps.get_models()
        if issubclass(model, HistoricalChanges) and any(f.name == "history_id" for f in model._meta.concrete_fields)
    ]
    return sorted(found, key=lambda model: model._meta.label_lower)


def history_model_for(label: str) -> type[models.Model] | None:
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return model if issubclass(model, HistoricalChanges) else None


def field_names(model: type[models.Model]) -> list[str]:
    """The columns hashed: every concrete field by attname (``site_id``, not ``site``), sorted."""
    return sorted(field.attname for field in model._meta.concrete_fields)


def chunks(values: list[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def rows_by_id(model: type[models.Model], ids: Iterable[int], names: list[str]) -> dict[int, dict[str, Any]]:
    """The history rows with these ids, as ``{history_id: {attname: value}}`` straight from the database."""
    wanted = sorted(set(ids))
    columns = sorted(set(names) | {"history_id"})
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(wanted):
        for values in model._base_manager.filter(history_id__in=part).values(*columns):
            found[values["history_id"]] = values
    return found
