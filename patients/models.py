"""Patients: the site-owned root of every casebook. No names, birth dates or other direct identifiers."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from trials.models import SiteOwnedModel, Trial


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"


class PatientStatus(models.TextChoices):
    SCREENING = "screening", "Screening"
    SCREEN_FAILED = "screen_failed", "Screen failed"
    ON_STUDY = "on_study", "On study"
    OFF_STUDY = "off_study", "Off study"
    DIED = "died", "Died"


class Patient(SiteOwnedModel):
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="patients")
    screening_number = models.CharField(
        max_length=20,
        validators=[RegexValidator(r"^[A-Za-z0-9-]+$", "Letters, digits and hyphens only (no names).")],
        help_text="The site's screening-log number. Never a name or a hospital record number.",
    )
    subject_id = models.CharField(max_length=30, unique=True, editable=False)
    sequence = models.PositiveIntegerField(editable=False)
    age_at_consent = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(18, "Patients must be adults (18 or older)."), MaxValueValidator(110)],
        help_text="Age in whole years on the day of consent (no birth date is stored).",
    )
    sex = models.CharField(max_length=1, choices=Sex.choices)
    consent_date = models.DateField(help_text="Date of written informed consent.")
    enrolment_date = models.DateField(
        null=True,
        blank=True,
        help_text="Registration (COSMO) or randomisation (AVATAR II) date: the origin of every endpoint.",
    )
    status = models.CharField(max_length=16, choices=PatientStatus.choices, default=PatientStatus.SCREENING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Optimistic locking: a save is refused when someone else saved since the form was opened.
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["trial", "site__code", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "site", "sequence"], name="unique_patient_sequence"),
            models.UniqueConstraint(fields=["trial", "site", "screening_number"], name="unique_screening_number"),
        ]
        indexes = [models.Index(fields=["trial", "status"])]

    def __str__(self) -> str:
        return self.subject_id
