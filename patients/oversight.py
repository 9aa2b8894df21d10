"""Oversight records of a regulated trial (issue 8): source data verification, electronic signatures and locks.

- ``FieldVerification``: one field (or the rows of a form, e.g. a tumour assessment's measurements) of one case
  report form checked against the source by a monitor (ICH E6(R3) 3.11.4, monitoring; "SDV"). A later change to the
  field clears the verification (``cleared_*``, audited with the change's reason); verifying again adds a new row.
- ``Signature``: an investigator's electronic signature of a form, a visit or the whole casebook, with the printed
  name, date and time and meaning (21 CFR 11.50), linked to exactly what was signed by the records' versions and a
  SHA-256 of their content (11.70). A later change to signed data invalidates it (``invalidated_*``): it then needs
  re-signing. ``SigningFailure`` keeps every refused attempt (wrong password or authenticator code).
- ``Lock``: a data manager's lock of a form, a patient's casebook or a site's data in a trial. An active lock has no
  ``unlocked_at``; unlocking keeps the row, with who, when and why. The trial-wide state (open / frozen / locked)
  is ``trials.Trial.data_state``.

The rules live in ``patients.services.oversight`` and ``patients.locking``; the reads in
``patients.selectors_oversight``; what a verification or signature covers in ``patients.oversight_content``.
Records are addressed as the query model does (content type + object id), so every CRF model, in ``patients`` or
``lesions``, can be verified, signed and locked without this app importing the floors above.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from trials.models import SiteOwnedModel

__all__ = [
    "FieldVerification",
    "Lock",
    "LockScope",
    "Signature",
    "SignatureScope",
    "SigningFailure",
    "SigningFailureReason",
]


class FieldVerification(SiteOwnedModel):
    """A monitor's source data verification of one item of one CRF record (a data field, or a form's rows)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    field_name = models.CharField(max_length=100)
    #: SHA-256 of the item's canonical value when verified: shows later whether the value is still the one verified
    value_sha256 = models.CharField(max_length=64)
    record_version = models.PositiveIntegerField()
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cleared_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["patient", "content_type", "object_id", "field_name", "verified_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field_name"],
                condition=Q(cleared_at__isnull=True),
                name="one_active_verification_per_field",
            )
        ]
        indexes = [models.Index(fields=["content_type", "object_id"]), models.Index(fields=["patient", "cleared_at"])]

    def __str__(self) -> str:
        return f"{self.field_name} of {self.content_type.model} #{self.object_id} verified"

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None


class SignatureScope(models.TextChoices):
    FORM = "form", "Form"
    VISIT = "visit", "Visit"
    CASEBOOK = "casebook", "Casebook"


class Signature(SiteOwnedModel):
    """An investigator's electronic signature (21 CFR 11.50, 11.70, 11.200(a)); never deleted or re-used."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=8, choices=SignatureScope.choices)
    visit = models.ForeignKey("patients.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    #: the printed name and role at the time of signing (11.50(a)(1)): a later rename does not rewrite it
    signer_name = models.CharField(max_length=300)
    signer_role = models.CharField(max_length=32)
    signed_at = models.DateTimeField(default=timezone.now)
    meaning = models.TextField(help_text="The meaning of the signature, as shown to the signer (11.50(a)(3)).")
    #: what was signed: [{"model": "patients.demographics", "pk": 3, "version": 2, "label": "..."}, ...]
    records = models.JSONField(default=list)
    content_sha256 = models.CharField(max_length=64)
    second_factor = models.BooleanField(default=False, help_text="An authenticator code was verified too.")
    invalidated_at = models.DateTimeField(null=True, blank=True)
    invalidated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    invalidated_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["patient", "-signed_at", "-pk"]
        indexes = [models.Index(fields=["patient", "invalidated_at"])]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} signature {self.pk} by {self.signer_name}"

    @property
    def is_valid(self) -> bool:
        return self.invalidated_at is None


class SigningFailureReason(models.TextChoices):
    WRONG_PASSWORD = "wrong_password", "Wrong password"
    WRONG_TOKEN = "wrong_token", "Wrong or missing authenticator code"
    LOCKED_OUT = "locked_out", "Too many failed attempts"


class SigningFailure(SiteOwnedModel):
    """A refused signing attempt (21 CFR 11.300(d): attempts at unauthorised use are detected and recorded)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=8, choices=SignatureScope.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=SigningFailureReason.choices)
    attempted_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-attempted_at", "-pk"]

    def __str__(self) -> str:
        return f"Refused signature of {self.user} ({self.get_reason_display()})"


class LockScope(models.TextChoices):
    FORM = "form", "Form"
    PATIENT = "patient", "Patient"
    SITE = "site", "Site"


class Lock(SiteOwnedModel):
    """A data manager's lock: the form, the patient's casebook or the site's data in the trial become read-only."""

    scope = models.CharField(max_length=8, choices=LockScope.choices)
    trial = models.ForeignKey("trials.Trial", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField(default=timezone.now)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "-locked_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["trial", "site"],
                condition=Q(scope="site", unlocked_at__isnull=True),
                name="one_active_site_lock",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(scope="patient", unlocked_at__isnull=True),
                name="one_active_patient_lock",
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id"],
                condition=Q(scope="form", unlocked_at__isnull=True),
                name="one_active_form_lock",
            ),
        ]
        indexes = [models.Index(fields=["trial", "unlocked_at"])]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} lock {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.unlocked_at is None
