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


class VisitStatus(models.TextChoices):
    DONE = "done", "Done"
    MISSED = "missed", "Missed"


class Visit(SiteOwnedModel):
    """A visit of the schedule as it happened: done on a date, or missed with a reason. Unscheduled visits too."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visits")
    definition = models.ForeignKey("trials.VisitDefinition", on_delete=models.PROTECT, related_name="+")
    occurrence = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=8, choices=VisitStatus.choices)
    visit_date = models.DateField(null=True, blank=True)
    missed_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    #: for incremental pulls of the API (``modified_since``); bookkeeping, so not in the audit trail
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["patient", "visit_date", "definition__order", "occurrence"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "definition", "occurrence"], name="unique_visit_occurrence")
        ]

    def __str__(self) -> str:
        name = self.definition.name
        return (
            name
            if self.occurrence == 1 and self.definition.repeat_interval_days is None
            else (f"{name} {self.occurrence}")
        )


class QueryStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class Query(SiteOwnedModel):
    """A data clarification request on a form (or one field of it), raised by a monitor or data manager, or by the
    EDC when an edit check fails on a completed form or the computed RECIST response differs from the
    investigator's. The site answers; the raiser closes or re-opens it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="queries")
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    field_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    #: set for automatic queries: the edit-check or discrepancy code that raised it
    check_code = models.CharField(max_length=60, blank=True)
    raised_by = models.ForeignKey("trials.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    raised_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    #: for incremental pulls of the API (``modified_since``): every step of the thread saves the query
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["content_type", "object_id", "status"]), models.Index(fields=["status"])]
        verbose_name_plural = "queries"

    def __str__(self) -> str:
        return f"Query {self.pk} on {self.patient}"

    @property
    def is_automatic(self) -> bool:
        return bool(self.check_code)

    @property
    def is_open(self) -> bool:
        return self.status != QueryStatus.CLOSED


class QueryMessageKind(models.TextChoices):
    RAISED = "raised", "Raised"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Re-opened"


class QueryMessage(SiteOwnedModel):
    """One step of a query's thread. Messages are never edited."""

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=10, choices=QueryMessageKind.choices)
    text = models.TextField()
    author = models.ForeignKey("trials.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "pk"]


# Case report forms ------------------------------------------------------------------------------------------------
# Each CRF model declares its spec (trials.md numbering) and its edit-check rule set; fields are nullable so drafts
# can be saved, and ``crf.required`` lists what a complete form needs.

from .crf import CaseReportForm, CrfSpec  # noqa: E402
from .crf_rules import DEMOGRAPHICS  # noqa: E402
from .fields import PartialDateField  # noqa: E402


class MenopausalStatus(models.TextChoices):
    PRE = "pre", "Premenopausal"
    PERI = "peri", "Perimenopausal"
    POST = "post", "Postmenopausal"
    NOT_APPLICABLE = "na", "Not applicable (male)"


class Demographics(CaseReportForm):
    """CRF 3, Demographics & baseline. Age at consent and sex are on the patient; no other identifier is held."""

    ecog = models.PositiveSmallIntegerField(
        "ECOG performance status", null=True, blank=True, choices=[(i, str(i)) for i in range(5)]
    )
    menopausal_status = models.CharField(max_length=4, choices=MenopausalStatus.choices, blank=True)
    primary_diagnosis_date = PartialDateField("date of primary diagnosis")
    metastatic_diagnosis_date = PartialDateField("date of metastatic diagnosis")
    history = HistoricalRecords()

    crf = CrfSpec(
        code="demographics",
        name="Demographics & baseline",
        number=3,
        visit_kinds=frozenset({"screening"}),
        required=("ecog", "menopausal_status", "primary_diagnosis_date", "metastatic_diagnosis_date"),
        rules=DEMOGRAPHICS,
    )

    class Meta:
        verbose_name = "demographics & baseline"
        verbose_name_plural = "demographics & baseline"


from .crfs.disease import *  # noqa: E402,F403
from .crfs.enrolment import *  # noqa: E402,F403
from .crfs.follow_up import *  # noqa: E402,F403
from .crfs.safety import *  # noqa: E402,F403
from .oversight import *  # noqa: E402,F403
from .randomisation import *  # noqa: E402,F403
