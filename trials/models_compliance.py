"""Tables of the tamper-evident audit trail and of the sign-in log (issue 8). Imported at the end of ``models.py``.

- ``AuditChainEntry``: one per history row of every django-simple-history model, hash-chained
  (``trials.domain.audit_chain``). Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE
  (``trials.audit_chain.triggers``).
- ``AuditChainPending``: the history rows written but not yet sealed. A row is added in the same transaction as the
  history row (so a commit never loses it) and removed when the row is sealed, right after the commit or by the
  periodic sweep.
- ``AuditChainHead``: one row, the chain's last sequence and hash; sealing locks it, so entries are numbered one at
  a time, and verification compares it with the last entry (a cut-off tail shows).
- ``AuditVerification``: the reports of past verifications (the data manager's integrity screen).
- ``SignInEvent``: sign-in, failed sign-in, sign-out, lockout and two-factor events; never a password or a code.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .domain.audit_chain import GENESIS_HASH


class AuditChainEntry(models.Model):
    sequence = models.PositiveBigIntegerField(unique=True)
    history_model = models.CharField(max_length=100, help_text="The history model, e.g. patients.historicalpatient.")
    history_id = models.BigIntegerField()
    history_date = models.DateTimeField()
    field_names = models.TextField(help_text="The fields hashed, comma-separated: later schema changes keep old rows.")
    payload_hash = models.CharField(max_length=64)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sequence"]
        verbose_name = "audit chain entry"
        verbose_name_plural = "audit chain entries"
        constraints = [
            models.UniqueConstraint(fields=["history_model", "history_id"], name="unique_chain_entry_per_row")
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.history_model} {self.history_id}"


class AuditChainPending(models.Model):
    history_model = models.CharField(max_length=100)
    history_id = models.BigIntegerField()
    history_date = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["history_date", "history_model", "history_id"]
        constraints = [
            models.UniqueConstraint(fields=["history_model", "history_id"], name="unique_pending_history_row")
        ]

    def __str__(self) -> str:
        return f"pending {self.history_model} {self.history_id}"


class AuditChainHead(models.Model):
    """The single row (pk 1) that sealing locks."""

    sequence = models.PositiveBigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"audit chain head #{self.sequence}"


class AuditVerification(models.Model):
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ok = models.BooleanField(default=False)
    entries_checked = models.PositiveBigIntegerField(default=0)
    rows_checked = models.PositiveBigIntegerField(default=0)
    pending = models.PositiveBigIntegerField(default=0)
    break_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    head_sequence = models.PositiveBigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, blank=True)
    problems = models.JSONField(default=list, blank=True, help_text="The first problems found (at most 1,000).")

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"audit verification {self.started_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'BROKEN'}"


class SignInOutcome(models.TextChoices):
    SIGNED_IN = "signed_in", "Password accepted"
    FAILED = "failed", "Wrong username or password"
    LOCKED_OUT = "locked_out", "Locked out after repeated failures"
    SIGNED_OUT = "signed_out", "Signed out"
    TWO_FACTOR_VERIFIED = "two_factor_verified", "Authenticator code accepted"
    RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
    TWO_FACTOR_FAILED = "two_factor_failed", "Wrong two-factor code"
    TWO_FACTOR_ENROLLED = "two_factor_enrolled", "Authenticator enrolled"
    RECOVERY_CODES_RENEWED = "recovery_codes_renewed", "Recovery codes renewed"
    TWO_FACTOR_RESET = "two_factor_reset", "Two-factor devices reset by an administrator"


class SignInEvent(models.Model):
    """One sign-in related event. ``username`` is what was typed (it may name nobody); no password, no code.

    The user columns carry no database constraint, like simple-history's: the log outlives any change to users.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.CharField(max_length=32, choices=SignInOutcome.choices)
    username = models.CharField(max_length=150, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="Who did it, when not the user (an administrator's reset).",
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.TextField(blank=True, help_text="The reason of a reset, the recovery codes left, ...")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '?'} {self.outcome}"
