"""Derived values, each stored with its provenance (clinical-spec C6): algorithm version, analysis-settings version,
input hash and the time it was computed. Derived rows are written only by the recompute service."""

from __future__ import annotations

from django.db import models

from patients.models import Patient
from trials.models import SiteOwnedModel


class PatientDerivation(SiteOwnedModel):
    """The latest derivation for one patient. ``input_hash`` is the SHA-256 of every input the engines read, so the
    nightly sweep can tell a stale row from a current one without recomputing."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="derivation")
    algorithm_version = models.CharField(max_length=60)
    settings_version = models.PositiveIntegerField(null=True)
    input_hash = models.CharField(max_length=64)
    computed_at = models.DateTimeField()
    values = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["input_hash"])]

    def __str__(self) -> str:
        return f"Derivation of {self.patient_id} ({self.algorithm_version})"


class EndpointValue(SiteOwnedModel):
    """One time-to-event endpoint of one patient (an ADTTE row), with the provenance of its derivation.

    ``source_records`` names the CRF records that set the date, e.g. ``["lesions.tumourassessment:12"]``, so a
    statistician can follow the value back to the form; ``explanation`` says why in words.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="endpoint_values")
    paramcd = models.CharField(max_length=12)
    start_date = models.DateField(null=True)
    end_date = models.DateField(null=True)
    aval_days = models.PositiveIntegerField(null=True)
    event = models.BooleanField(null=True)
    reason = models.CharField(max_length=60, blank=True)
    explanation = models.TextField(blank=True)
    source_records = models.JSONField(default=list)
    flags = models.JSONField(default=list)
    landmark_status = models.CharField(max_length=10, blank=True)
    algorithm_version = models.CharField(max_length=60)
    settings_version = models.PositiveIntegerField(null=True)
    input_hash = models.CharField(max_length=64)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["patient", "paramcd"]
        constraints = [models.UniqueConstraint(fields=["patient", "paramcd"], name="unique_endpoint_per_patient")]
        indexes = [models.Index(fields=["paramcd", "patient"])]

    def __str__(self) -> str:
        return f"{self.paramcd} of {self.patient_id}"

    @property
    def cnsr(self) -> int | None:
        return None if self.event is None else (0 if self.event else 1)


class TrialSummary(models.Model):
    """A precomputed trial-level analysis (KM, medians, tests), refreshed by Celery after recomputes.

    Dashboards and the statisticians' summary page read these rows; nothing aggregates on a page view.
    """

    trial = models.ForeignKey("trials.Trial", on_delete=models.CASCADE, related_name="summaries")
    key = models.CharField(max_length=60, help_text="e.g. PFS:overall, PFS:subtype, TSF:arm")
    data = models.JSONField(default=dict)
    algorithm_version = models.CharField(max_length=60)
    settings_version = models.PositiveIntegerField(null=True)
    patients = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["trial", "key"]
        constraints = [models.UniqueConstraint(fields=["trial", "key"], name="unique_trial_summary")]

    def __str__(self) -> str:
        return f"{self.trial} {self.key}"
