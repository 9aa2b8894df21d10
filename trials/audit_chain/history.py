"""Finding the history tables: every model django-simple-history generated, in any app, now or later."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.apps import apps
from django.db import connections, models
from django.db.models.expressions import Col
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
    """The history rows with these ids, as ``{history_id: {attname: value}}`` straight from the database: the values
    of ``model._base_manager.filter(history_id__in=ids).values(*names)``, converted as a queryset converts them.

    Every seal and every verification reads here, so the statement is built once per model, set of columns and
    connection, not compiled as a queryset on every call."""
    wanted = sorted(set(ids))
    columns = sorted(set(names) | {"history_id"})
    found: dict[int, dict[str, Any]] = {}
    if not wanted:
        return found
    sql, compiler, converters = _prepared(model, tuple(columns))
    with compiler.connection.cursor() as cursor:
        for part in chunks(wanted):
            cursor.execute(sql.replace("<ids>", ", ".join(["%s"] * len(part))), part)
            rows: Any = cursor.fetchall()
            if converters:
                rows = compiler.apply_converters(rows, converters)
            for row in rows:
                values = dict(zip(columns, row, strict=True))
                found[values["history_id"]] = values
    return found


def _prepared(model: type[models.Model], columns: tuple[str, ...]) -> tuple[str, Any, dict[int, Any]]:
    """(SQL with ``<ids>`` for the id placeholders, compiler, its converters of the columns) for ``rows_by_id``,
    kept on the connection it was built for (a compiler holds its connection, which belongs to one thread)."""
    using = model._base_manager.db
    connection = connections[using]
    cache: dict[tuple[Any, ...], tuple[str, Any, dict[int, Any]]] = connection.__dict__.setdefault(
        "_audit_chain_rows_by_id", {}
    )
    prepared = cache.get((model, columns))
    if prepared is None:
        quote = connection.ops.quote_name
        table = model._meta.db_table
        fields: list[Any] = [model._meta.get_field(name) for name in columns]
        history_id: Any = model._meta.get_field("history_id")
        selected = ", ".join(f"{quote(table)}.{quote(field.column)}" for field in fields)
        key_column = quote(history_id.column)
        # identifiers from the model's metadata, quoted; every id is a parameter
        sql = f"SELECT {selected} FROM {quote(table)} WHERE {quote(table)}.{key_column} IN (<ids>)"  # noqa: S608
        compiler = model._base_manager.all().query.get_compiler(using=using)
        converters = compiler.get_converters([Col(table, field) for field in fields])
        prepared = cache[(model, columns)] = (sql, compiler, converters)
    return prepared
