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
    algorithm_version = models.CharField(max_length=20)
    settings_version = models.PositiveIntegerField(null=True)
    input_hash = models.CharField(max_length=64)
    computed_at = models.DateTimeField()
    values = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["input_hash"])]

    def __str__(self) -> str:
        return f"Derivation of {self.patient_id} ({self.algorithm_version})"
