"""Append-only audit tables on PostgreSQL: a trigger refuses UPDATE and DELETE on every history table, the chain
entries and the sign-in log, whoever connects (the application's own database role included).

TRUNCATE stays possible on purpose: test databases are emptied with it, and it needs the table owner, who could
drop the trigger anyway; the hash chain is what reveals such a change. ``install_audit_triggers`` is idempotent
and runs after every ``migrate`` (``post_migrate``, which ``--nomigrations`` test databases send too), so tables
added by any app's later migrations are covered. On SQLite it does nothing.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from ..models_compliance import AuditChainEntry, SignInEvent
from .history import history_models

FUNCTION = "edc_audit_append_only"
TRIGGER = "edc_audit_append_only"

_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Corrections are new records with a reason for change; audit rows are never changed.';
END
$$;
"""


def protected_tables() -> list[str]:
    """Every table the trigger guards: the history tables of all apps, the chain entries, the sign-in log."""
    tables = [model._meta.db_table for model in history_models()]
    return sorted({*tables, AuditChainEntry._meta.db_table, SignInEvent._meta.db_table})


def install_audit_triggers(connection: BaseDatabaseWrapper) -> list[str]:
    """Create the trigger function and attach it where it is missing; returns the tables newly guarded."""
    if connection.vendor != "postgresql":
        return []
    existing_tables = set(connection.introspection.table_names())
    added: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(_FUNCTION_SQL)
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s AND NOT t.tgisinternal",
            [TRIGGER],
        )
        guarded = {row[0] for row in cursor.fetchall()}
        for table in protected_tables():
            if table in guarded or table not in existing_tables:
                continue
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {quoted} "
                f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
            )
            added.append(table)
    return added


def install_after_migrate(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` receiver (connected for the trials app, which migrates after the apps it depends on)."""
    install_audit_triggers(connections[using])
