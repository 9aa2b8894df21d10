"""Verifying the chain: recompute every payload hash from the history tables as they are now, walk every link.

Read in chunks of entries (keyset on the sequence), so memory stays flat however long the trial runs. Used by
``manage.py audit_verify``, the data manager's integrity screen and the nightly Celery check.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..domain.audit_chain import (
    GENESIS_HASH,
    BreakKind,
    ChainProblem,
    ChainReport,
    Link,
    check_links,
    payload_hash,
)
from ..models_compliance import AuditChainEntry, AuditChainHead, AuditChainPending, AuditVerification
from .history import history_model_for, history_models, rows_by_id

#: A row the application wrote but nobody sealed after this long is reported (a warning: the sweep is not running).
DEFAULT_OVERDUE = timedelta(minutes=30)
PROBLEM_LIMIT = 1000
CHUNK = 2000


class _Findings:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.problems: list[ChainProblem] = []
        self.breaks = 0
        self.warnings = 0

    def add(self, problem: ChainProblem) -> None:
        if problem.is_break:
            self.breaks += 1
        else:
            self.warnings += 1
        if len(self.problems) < self.limit:
            self.problems.append(problem)


def _check_payloads(entries: list[AuditChainEntry], findings: _Findings) -> None:
    by_model: dict[str, list[AuditChainEntry]] = defaultdict(list)
    for entry in entries:
        by_model[entry.history_model].append(entry)
    for label, group in by_model.items():
        model = history_model_for(label)
        if model is None:
            for entry in group:
                findings.add(
                    ChainProblem(
                        BreakKind.ROW_DELETED, "the history table is gone", label, entry.history_id, entry.sequence
                    )
                )
            continue
        existing = {field.attname for field in model._meta.concrete_fields}
        names_by_entry = {entry.pk: entry.field_names.split(",") for entry in group}
        all_names = sorted({name for names in names_by_entry.values() for name in names} & existing)
        rows = rows_by_id(model, [entry.history_id for entry in group], all_names)
        for entry in group:
            names = names_by_entry[entry.pk]
            values = rows.get(entry.history_id)
            if values is None:
                findings.add(
                    ChainProblem(
                        BreakKind.ROW_DELETED, "the sealed history row is gone", label, entry.history_id, entry.sequence
                    )
                )
                continue
            missing = [name for name in names if name not in existing]
            if missing:
                detail = f"column(s) {', '.join(missing)} no longer exist"
                findings.add(ChainProblem(BreakKind.ROW_ALTERED, detail, label, entry.history_id, entry.sequence))
                continue
            if payload_hash(label, {name: values[name] for name in names}) != entry.payload_hash:
                findings.add(
                    ChainProblem(
                        BreakKind.ROW_ALTERED,
                        "the history row differs from what was sealed",
                        label,
                        entry.history_id,
                        entry.sequence,
                    )
                )


def _check_entries(findings: _Findings, chunk: int, up_to: int | None) -> tuple[int, int, str]:
    """Walk the chain up to the head read at the start (later entries belong to a later check); returns (entries
    checked, last sequence, last hash)."""
    checked, last_sequence, last_hash = 0, 0, GENESIS_HASH
    while True:
        window = AuditChainEntry.objects.filter(sequence__gt=last_sequence)
        if up_to is not None:
            window = window.filter(sequence__lte=up_to)
        entries = list(window.order_by("sequence")[:chunk])
        if not entries:
            return checked, last_sequence, last_hash
        links = [Link(e.sequence, e.previous_hash, e.payload_hash, e.entry_hash) for e in entries]
        by_sequence = {entry.sequence: entry for entry in entries}
        for problem in check_links(links, start_sequence=last_sequence, start_hash=last_hash):
            entry = by_sequence[problem.sequence]
            findings.add(
                ChainProblem(problem.kind, problem.detail, entry.history_model, entry.history_id, problem.sequence)
            )
        _check_payloads(entries, findings)
        checked += len(entries)
        last_sequence, last_hash = entries[-1].sequence, entries[-1].entry_hash


def _check_head(
    head: AuditChainHead | None, last_sequence: int, last_hash: str, findings: _Findings
) -> tuple[int, str]:
    if head is None:
        if last_sequence:
            findings.add(ChainProblem(BreakKind.HEAD_MISMATCH, "the chain head is missing", sequence=last_sequence))
        return last_sequence, last_hash
    if (head.sequence, head.entry_hash) != (last_sequence, last_hash):
        detail = (
            f"entries after #{last_sequence} up to #{head.sequence} are missing"
            if head.sequence > last_sequence
            else f"the head records #{head.sequence} but the chain ends at #{last_sequence}"
        )
        findings.add(ChainProblem(BreakKind.HEAD_MISMATCH, detail, sequence=head.sequence))
    return head.sequence, head.entry_hash


def _check_unsealed(findings: _Findings, overdue_after: timedelta) -> tuple[int, int]:
    """History rows without a chain entry; returns (rows in the history tables, rows pending in time)."""
    rows_total, pending_in_time = 0, 0
    cutoff = timezone.now() - overdue_after
    for model in history_models():
        label = model._meta.label_lower
        rows_total += model._base_manager.count()
        unsealed = (
            model._base_manager.annotate(
                sealed=Exists(AuditChainEntry.objects.filter(history_model=label, history_id=OuterRef("history_id"))),
                marked=Exists(AuditChainPending.objects.filter(history_model=label, history_id=OuterRef("history_id"))),
            )
            .filter(sealed=False)
            .order_by("history_id")
            .values_list("history_id", "history_date", "marked")
        )
        for history_id, history_date, marked in unsealed.iterator(chunk_size=CHUNK):
            if not marked:
                findings.add(
                    ChainProblem(
                        BreakKind.NOT_IN_CHAIN,
                        "a history row that was never sealed: written around the application",
                        label,
                        history_id,
                    )
                )
            elif history_date < cutoff:
                findings.add(
                    ChainProblem(
                        BreakKind.UNSEALED_OVERDUE,
                        f"written {history_date:%Y-%m-%d %H:%M} UTC and still not sealed",
                        label,
                        history_id,
                    )
                )
            else:
                pending_in_time += 1
    return rows_total, pending_in_time


def audit_chain_verify(
    *, overdue_after: timedelta = DEFAULT_OVERDUE, problem_limit: int = PROBLEM_LIMIT, chunk: int = CHUNK
) -> ChainReport:
    """Check the whole audit trail against its chain. Read-only."""
    findings = _Findings(problem_limit)
    head = AuditChainHead.objects.filter(pk=1).first()
    entries_checked, last_sequence, last_hash = _check_entries(findings, chunk, head.sequence if head else None)
    head_sequence, head_hash = _check_head(head, last_sequence, last_hash, findings)
    rows_total, pending = _check_unsealed(findings, overdue_after)
    return ChainReport(
        entries_checked=entries_checked,
        rows_checked=rows_total,
        pending=pending,
        head_sequence=head_sequence,
        head_hash=head_hash,
        break_count=findings.breaks,
        warning_count=findings.warnings,
        problems=tuple(findings.problems),
    )


def audit_verification_record(*, requested_by: Any = None, **options: Any) -> AuditVerification:
    """Run the verification and keep its report (the integrity screen shows the latest)."""
    verification = AuditVerification.objects.create(
        requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None
    )
    report = audit_chain_verify(**options)
    verification.finished_at = timezone.now()
    verification.ok = report.ok
    verification.entries_checked = report.entries_checked
    verification.rows_checked = report.rows_checked
    verification.pending = report.pending
    verification.break_count = report.break_count
    verification.warning_count = report.warning_count
    verification.head_sequence = report.head_sequence
    verification.head_hash = report.head_hash
    verification.problems = [problem.as_dict() for problem in report.problems]
    verification.save()
    return verification
