"""Sealing history rows into the chain.

Why this shape: one global chain must not make every clinical write wait for every other. So a write only adds a
small pending marker in its own transaction (it commits or rolls back with the history row, so nothing is lost or
sealed that never happened). After the commit, ``audit_chain_seal_pending`` seals whatever is pending in short
transactions that hold the chain-head row lock for a few milliseconds; a concurrent writer's rows are sealed by
whoever gets the lock next. The Celery beat sweep (``cosmo_avatar/celery.py``) seals anything a crashed process
left pending. Chain order is history date, then table, then history id.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from simple_history.signals import post_create_historical_record

from ..domain.audit_chain import GENESIS_HASH, payload_hash, seal
from ..models_compliance import AuditChainEntry, AuditChainHead, AuditChainPending
from .history import chunks, field_names, history_model_for, history_models, rows_by_id

logger = logging.getLogger(__name__)

HEAD_PK = 1
BATCH_SIZE = 1000


def _lock_head() -> AuditChainHead:
    """Lock the head row first thing in the transaction, so two sealers never read the same head: a row lock on
    PostgreSQL; on SQLite a write (which takes the database's write lock at once, where a read would have to upgrade
    its lock later and could fail with "database is locked")."""
    if connection.vendor == "postgresql":
        head = _locked_head()
        if head is not None:
            return head
    if not AuditChainHead.objects.filter(pk=HEAD_PK).update(updated_at=timezone.now()):
        last = AuditChainEntry.objects.order_by("-sequence").first()
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(
                    pk=HEAD_PK,
                    sequence=last.sequence if last else 0,
                    entry_hash=last.entry_hash if last else GENESIS_HASH,
                )
        except IntegrityError:
            pass  # another sealer created it first
        AuditChainHead.objects.filter(pk=HEAD_PK).update(updated_at=timezone.now())
    return AuditChainHead.objects.select_for_update().get(pk=HEAD_PK)


# The statements of every seal, written out once: the same rows as their querysets, without building those each
# time (a seal runs after every clinical write). Identifiers come from the models' metadata, quoted; values are
# parameters.


def _sql(model: type[models.Model], name: str) -> str:
    field: Any = model._meta.get_field(name)
    return connection.ops.quote_name(field.column)


def _locked_head() -> AuditChainHead | None:
    """``AuditChainHead.objects.select_for_update().filter(pk=HEAD_PK).first()`` (PostgreSQL)."""
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    names = [field.attname for field in AuditChainHead._meta.concrete_fields]
    columns = ", ".join(_sql(AuditChainHead, name) for name in names)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {_sql(AuditChainHead, 'id')} = %s FOR UPDATE", [HEAD_PK])  # noqa: S608
        row = cursor.fetchone()
    return None if row is None else AuditChainHead.from_db(connection.alias, names, row)


def _pending(limit: int) -> list[tuple[int, str, int]]:
    """The first ``limit`` pending markers in chain order: (marker id, history model, history id)."""
    table = connection.ops.quote_name(AuditChainPending._meta.db_table)
    label, history_id = _sql(AuditChainPending, "history_model"), _sql(AuditChainPending, "history_id")
    order = f"{_sql(AuditChainPending, 'history_date')}, {label}, {history_id}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_sql(AuditChainPending, 'id')}, {label}, {history_id} FROM {table} ORDER BY {order} LIMIT %s",  # noqa: S608
            [limit],
        )
        return [(int(pk), str(model), int(hid)) for pk, model, hid in cursor.fetchall()]


def _forget_pending(ids: list[int]) -> None:
    """Delete the pending markers with these ids (nothing else happens on deleting one: no signals, no cascade)."""
    table = connection.ops.quote_name(AuditChainPending._meta.db_table)
    with connection.cursor() as cursor:
        for part in chunks(ids):
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(f"DELETE FROM {table} WHERE {_sql(AuditChainPending, 'id')} IN ({marks})", part)  # noqa: S608


def _move_head(head: AuditChainHead) -> None:
    """``head.save(update_fields=["sequence", "entry_hash", "updated_at"])``."""
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    assignments = ", ".join(f"{_sql(AuditChainHead, name)} = %s" for name in ("sequence", "entry_hash", "updated_at"))
    updated_at = connection.ops.adapt_datetimefield_value(head.updated_at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} WHERE {_sql(AuditChainHead, 'id')} = %s",  # noqa: S608
            [head.sequence, head.entry_hash, updated_at, head.pk],
        )
        if cursor.rowcount != 1:  # as ``save(update_fields=...)`` on a row that is gone
            raise DatabaseError("Save with update_fields did not affect any rows.")


def _seal_rows(head: AuditChainHead, keys: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Chain the history rows named by ``keys`` (already in chain order) after ``head``; returns those sealed."""
    wanted: dict[str, list[int]] = defaultdict(list)
    for label, history_id in keys:
        wanted[label].append(history_id)
    rows: dict[tuple[str, int], tuple[list[str], dict[str, Any]]] = {}
    for label, ids in wanted.items():
        model = history_model_for(label)
        if model is None:
            continue
        names = field_names(model)
        for history_id, values in rows_by_id(model, ids, names).items():
            rows[(label, history_id)] = (names, values)
    sealable = [key for key in keys if key in rows]
    if not sealable:
        return []
    payloads = [payload_hash(label, rows[(label, hid)][1]) for label, hid in sealable]
    links = seal(head_sequence=head.sequence, head_hash=head.entry_hash, payloads=payloads)
    now = timezone.now()
    AuditChainEntry.objects.bulk_create(
        [
            AuditChainEntry(
                sequence=link.sequence,
                history_model=label,
                history_id=history_id,
                history_date=rows[(label, history_id)][1]["history_date"],
                field_names=",".join(rows[(label, history_id)][0]),
                payload_hash=link.payload_hash,
                previous_hash=link.previous_hash,
                entry_hash=link.entry_hash,
                sealed_at=now,
            )
            for (label, history_id), link in zip(sealable, links, strict=True)
        ]
    )
    head.sequence, head.entry_hash, head.updated_at = links[-1].sequence, links[-1].entry_hash, now
    _move_head(head)
    return sealable


def audit_chain_seal(*, limit: int = BATCH_SIZE) -> int:
    """Seal up to ``limit`` pending history rows in one transaction; returns how many were sealed.

    A pending marker whose history row does not exist (it was deleted around the application) stays, so the
    verification reports it as overdue instead of the sweep forgetting it.
    """
    with transaction.atomic():
        head = _lock_head()
        pending = _pending(limit)
        if not pending:
            return 0
        sealed = set(_seal_rows(head, [(label, hid) for _, label, hid in pending]))
        _forget_pending([pk for pk, label, hid in pending if (label, hid) in sealed])
    return len(sealed)


def audit_chain_seal_pending(*, batch_size: int = BATCH_SIZE) -> int:
    """Seal everything pending, one short transaction per batch. Called after each commit and by the sweep."""
    total = 0
    while True:
        sealed = audit_chain_seal(limit=batch_size)
        total += sealed
        if sealed < batch_size:
            return total


def audit_chain_adopt_unmarked(*, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Seal history rows that have neither a chain entry nor a pending marker.

    Only for a database that had history before the chain existed (run once, on purpose:
    ``manage.py audit_seal --adopt-unmarked``). Afterwards such rows are exactly what the verification must report
    as written around the application, so nothing adopts them automatically.
    """
    adopted: dict[str, int] = {}
    for model in history_models():
        label = model._meta.label_lower
        sealed_or_marked = Q(
            Exists(AuditChainEntry.objects.filter(history_model=label, history_id=OuterRef("history_id")))
        ) | Q(Exists(AuditChainPending.objects.filter(history_model=label, history_id=OuterRef("history_id"))))
        unmarked = (
            model._base_manager.exclude(sealed_or_marked)
            .order_by("history_date", "history_id")
            .values_list("history_id", flat=True)
        )
        count = 0
        while True:
            ids = list(unmarked[:batch_size])
            if not ids:
                break
            with transaction.atomic():
                count += len(_seal_rows(_lock_head(), [(label, hid) for hid in ids]))
        if count:
            adopted[label] = count
    return adopted


def _seal_after_commit() -> None:
    audit_chain_seal_pending()


#: The markers ``audit_chain_markers_batched`` holds back, while a block of it runs.
_BATCHED: ContextVar[list[AuditChainPending] | None] = ContextVar("audit_chain_markers_batched", default=None)


@contextmanager
def audit_chain_markers_batched() -> Iterator[None]:
    """The pending markers of the history rows written inside the block are inserted when it ends, in one INSERT
    and in the order the rows were written, instead of one INSERT each (for a service writing many rows at once;
    the same transaction, so they still commit or roll back with their rows). An error inside the block leaves
    them out, with the transaction that wrote the rows, which the error rolls back. A block inside another joins
    it: the outer one inserts them all."""
    if _BATCHED.get() is not None:
        yield
        return
    batch: list[AuditChainPending] = []
    token = _BATCHED.set(batch)
    try:
        yield
    finally:
        _BATCHED.reset(token)
    if batch:
        AuditChainPending.objects.bulk_create(batch)


def _mark_pending(sender: type[models.Model], history_instance: Any, **kwargs: Any) -> None:
    """A history row was written: note it for sealing (same transaction) and seal once the transaction commits."""
    marker = AuditChainPending(
        history_model=sender._meta.label_lower,
        history_id=history_instance.history_id,
        history_date=history_instance.history_date,
    )
    batch = _BATCHED.get()
    if batch is not None:
        batch.append(marker)
    else:
        marker.save(force_insert=True)
    if connection.in_atomic_block and any(_seal_after_commit in entry for entry in connection.run_on_commit):
        return  # one seal after this transaction is enough
    # robust: a sealing failure after the commit is logged, never turned into an error of the save that caused it
    # (the data is committed; the sweep seals it later).
    transaction.on_commit(_seal_after_commit, robust=True)


def connect_signals() -> None:
    post_create_historical_record.connect(_mark_pending, dispatch_uid="audit_chain_mark_pending")
