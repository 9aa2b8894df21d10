"""Celery tasks of the audit chain: thin, they call the services (STYLE.md rule 6). Scheduled in
``cosmo_avatar/celery.py``; registered by name when the trials app is ready."""

from __future__ import annotations

from celery import shared_task

from ..models_compliance import AuditVerification
from .sealing import audit_chain_seal_pending
from .verification import audit_verification_record


@shared_task(name="trials.audit_chain.seal_sweep", acks_late=True)  # type: ignore[untyped-decorator]
def audit_chain_seal_sweep() -> int:
    """Seal whatever a process left pending (it died between its commit and its seal)."""
    return audit_chain_seal_pending()


@shared_task(name="trials.audit_chain.verify", acks_late=True)  # type: ignore[untyped-decorator]
def audit_chain_verify_task(requested_by_id: int | None = None) -> int:
    """Verify the whole chain and keep the report; returns the report's id."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    verification: AuditVerification = audit_verification_record(requested_by=user)
    return verification.pk
