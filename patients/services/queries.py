"""Queries (data clarification): raised by monitors and data managers or automatically, answered by the site,
closed or re-opened by the raiser's side. Every step is a message in the query's thread; nothing is edited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from trials.audit import stamp
from trials.permissions import Capability, require

from ..edit_checks import Finding
from ..locking import ensure_writable
from ..models import Patient, Query, QueryMessage, QueryMessageKind, QueryStatus

AUTOMATIC_PREFIX = "check:"


def _message(query: Query, *, kind: str, text: str, author: Any) -> QueryMessage:
    message = QueryMessage(query=query, site_id=query.site_id, kind=kind, text=text, author=author)
    stamp(message, user=author, reason=f"Query {kind}")
    message.save()
    return message


def _set_status(query: Query, status: str, *, user: Any, reason: str) -> None:
    query.status = status
    query.closed_at = timezone.now() if status == QueryStatus.CLOSED else None
    stamp(query, user=user, reason=reason)
    query.save()


def _text(text: str, what: str) -> str:
    if not text or not text.strip():
        raise ValidationError({"text": f"Write the {what}."})
    return text.strip()


@transaction.atomic
def query_raise(*, user: Any, record: models.Model, text: str, field_name: str = "") -> Query:
    require(user, Capability.RAISE_QUERIES)
    patient: Patient = record.patient  # type: ignore[attr-defined]
    if not Patient.objects.for_user(user).filter(pk=patient.pk).exists():
        raise ValidationError("This patient is not in your sites.")
    ensure_writable(record=record, patient=patient, action="query")
    if field_name and field_name not in {f.name for f in record._meta.concrete_fields}:
        raise ValidationError({"field_name": "Not a field of this form."})
    query = Query(
        patient=patient,
        site_id=patient.site_id,
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        field_name=field_name,
        raised_by=user,
    )
    stamp(query, user=user, reason="Query raised")
    query.save()
    _message(query, kind=QueryMessageKind.RAISED, text=_text(text, "question"), author=user)
    return query


def _scoped(user: Any, query: Query) -> Query:
    found: Query | None = Query.objects.for_user(user).select_for_update().filter(pk=query.pk).first()
    if found is None:
        raise ValidationError("This query is not in your sites.")
    record = found.content_type.get_object_for_this_type(pk=found.object_id)
    ensure_writable(record=record, patient=found.patient, action="query")
    return found


@transaction.atomic
def query_answer(*, user: Any, query: Query, text: str) -> Query:
    """The site's answer. A data correction, when needed, is saved through ``crf_save`` with its own reason."""
    require(user, Capability.ANSWER_QUERIES)
    query = _scoped(user, query)
    if query.status == QueryStatus.CLOSED:
        raise ValidationError("This query is closed.")
    _message(query, kind=QueryMessageKind.ANSWERED, text=_text(text, "answer"), author=user)
    _set_status(query, QueryStatus.ANSWERED, user=user, reason="Query answered")
    return query


@transaction.atomic
def query_close(*, user: Any, query: Query, text: str = "") -> Query:
    require(user, Capability.RAISE_QUERIES)
    query = _scoped(user, query)
    if query.status == QueryStatus.CLOSED:
        raise ValidationError("This query is already closed.")
    _message(query, kind=QueryMessageKind.CLOSED, text=text.strip() or "Closed.", author=user)
    _set_status(query, QueryStatus.CLOSED, user=user, reason="Query closed")
    return query


@transaction.atomic
def query_reopen(*, user: Any, query: Query, text: str) -> Query:
    require(user, Capability.RAISE_QUERIES)
    query = _scoped(user, query)
    if query.status != QueryStatus.CLOSED and query.status != QueryStatus.ANSWERED:
        raise ValidationError("Only an answered or closed query can be re-opened.")
    _message(query, kind=QueryMessageKind.REOPENED, text=_text(text, "reason for re-opening"), author=user)
    _set_status(query, QueryStatus.OPEN, user=user, reason="Query re-opened")
    return query


def queries_sync_automatic(
    *, record: models.Model, findings: Iterable[Finding], prefix: str = AUTOMATIC_PREFIX
) -> None:
    """Open one automatic query per failing check (and field) of ``record``; close those whose check now passes.

    Only queries whose code starts with ``prefix`` are managed, so edit checks and RECIST discrepancies
    (``recist:``) each keep their own.
    """
    content_type = ContentType.objects.get_for_model(record)
    existing = {
        (q.check_code, q.field_name): q
        for q in Query.objects.filter(
            content_type=content_type, object_id=record.pk, check_code__startswith=prefix
        ).exclude(status=QueryStatus.CLOSED)
    }
    wanted: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        wanted.setdefault((f"{prefix}{finding.code}", finding.field), finding)
    patient: Patient = record.patient  # type: ignore[attr-defined]
    for key, finding in wanted.items():
        if key in existing:
            continue
        query = Query(
            patient=patient,
            site_id=patient.site_id,
            content_type=content_type,
            object_id=record.pk,
            field_name=finding.field,
            check_code=key[0],
        )
        stamp(query, user=None, reason="Automatic query")
        query.save()
        _message(query, kind=QueryMessageKind.RAISED, text=finding.message, author=None)
    for key, query in existing.items():
        if key not in wanted:
            _message(
                query,
                kind=QueryMessageKind.CLOSED,
                text="Closed automatically: the data now pass the check.",
                author=None,
            )
            _set_status(query, QueryStatus.CLOSED, user=None, reason="Automatic query resolved")
