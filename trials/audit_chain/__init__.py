"""The tamper-evident audit trail (issue 8): every history row is sealed into a hash chain, verified on demand.

- ``sealing``: a history row gets a pending marker in its own transaction; after the commit the pending rows are
  sealed in one short transaction under the chain-head lock (a periodic Celery sweep seals anything left over).
- ``verification``: recomputes every payload hash from the history tables and walks the links.
- ``triggers``: on PostgreSQL, append-only triggers on every history table and on the chain itself.

The hashing is pure and lives in ``trials.domain.audit_chain``.
"""

from .history import history_model_for, history_models
from .sealing import (
    audit_chain_adopt_unmarked,
    audit_chain_markers_batched,
    audit_chain_seal,
    audit_chain_seal_pending,
    connect_signals,
)
from .triggers import install_audit_triggers, protected_tables
from .verification import audit_chain_verify, audit_verification_record

__all__ = [
    "audit_chain_adopt_unmarked",
    "audit_chain_markers_batched",
    "audit_chain_seal",
    "audit_chain_seal_pending",
    "audit_chain_verify",
    "audit_verification_record",
    "connect_signals",
    "history_model_for",
    "history_models",
    "install_audit_triggers",
    "protected_tables",
]
