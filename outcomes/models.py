"""Derived values, each stored with its provenance (clinical-spec C6): algorithm version, analysis-settings version,
input hash and the time it was computed. Derived rows are written only by the recompute service."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import FileSystemStorage
from django.db import models
from simple_history.models import HistoricalRecords

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


class DashboardKind(models.TextChoices):
    ENROLMENT = "enrolment", "Enrolment"
    HEALTH = "health", "Trial health"
    RANDOMISATION = "randomisation", "Randomisation"
    EFFICACY = "efficacy", "Efficacy"


class DashboardSnapshot(models.Model):
    """The precomputed figures of one dashboard of one trial (issue 7), refreshed by Celery after recomputes and on a
    schedule (``outcomes.dashboards``). A page view reads one row and filters its per-site facts in Python, so the
    number of queries per page does not grow with the trial.

    ``scope_key`` names whose data the facts hold ("all": every site; the view narrows to the user's sites). A kind may
    store parts beside it, read only by the pages that need them (efficacy: "site:<id>", one site's curves; "patients",
    the per-patient arrays a month filter re-estimates from).
    ``input_watermark`` fingerprints the inputs read, so the scheduled refresh can skip a trial whose data did not
    change.
    """

    trial = models.ForeignKey("trials.Trial", on_delete=models.CASCADE, related_name="dashboard_snapshots")
    kind = models.CharField(max_length=16, choices=DashboardKind.choices)
    scope_key = models.CharField(max_length=40, default="all")
    algorithm_version = models.CharField(max_length=20)
    computed_at = models.DateTimeField()
    figures = models.JSONField(default=dict)
    input_watermark = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["trial", "kind", "scope_key"]
        constraints = [models.UniqueConstraint(fields=["trial", "kind", "scope_key"], name="unique_dashboard_snapshot")]

    def __str__(self) -> str:
        return f"{self.trial} {self.kind} dashboard ({self.scope_key})"


# Data cuts (issue 6) ------------------------------------------------------------------------------------------------


class ImmutableDataCut(Exception):
    """A frozen data cut (or one of its files) was about to be changed or deleted: it never is."""


def datacut_storage() -> FileSystemStorage:
    """Where data-cut files live: ``MEDIA_ROOT/datacuts/<trial>/<cut id>/``, written once and left read-only (0440).

    ``MEDIA_ROOT`` is never served by URL: a download goes through the permission-checked views, which verify the
    stored SHA-256 before sending a byte (``outcomes.selectors_datacuts.datacut_file_open``)."""
    return FileSystemStorage(file_permissions_mode=0o440, directory_permissions_mode=0o750)


class DataCutStatus(models.TextChoices):
    PENDING = "pending", "Being frozen"
    READY = "ready", "Frozen"
    FAILED = "failed", "Failed"


class DataCut(models.Model):
    """A named, immutable data cut of a trial: every exportable dataset in every format at one moment, with
    checksums, for DMC and final analyses (issue 6). Written by ``outcomes.services.datacuts``.

    Immutable once ready: ``save`` and ``delete`` refuse (``ImmutableDataCut``), its files are written once and
    read-only, and a download verifies each file's SHA-256 against the one stored here before serving it.
    ``manifest_sha256`` is the SHA-256 of the cut's ``manifest.json``, which lists every file with its checksum.
    """

    trial = models.ForeignKey("trials.Trial", on_delete=models.PROTECT, related_name="data_cuts")
    name = models.CharField(max_length=100, help_text='e.g. "DMC 2 (June 2026)" or "Final analysis". Unique per trial.')
    description = models.TextField(blank=True, help_text="What the cut is for.")
    status = models.CharField(max_length=10, choices=DataCutStatus.choices, default=DataCutStatus.PENDING)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    frozen_by = models.ForeignKey("trials.User", on_delete=models.PROTECT, related_name="+")
    #: the moment of the snapshot every file was read from
    frozen_at = models.DateTimeField(null=True, blank=True)
    settings_version = models.PositiveIntegerField(null=True, blank=True)
    algorithm_version = models.CharField(max_length=60, blank=True)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "-requested_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["trial", "name"], name="unique_data_cut_name")]

    def __str__(self) -> str:
        return f"{self.trial} data cut {self.name!r}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and DataCut.objects.filter(pk=self.pk, status=DataCutStatus.READY).exists():
            raise ImmutableDataCut(f"{self} is frozen: it cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if DataCut.objects.filter(pk=self.pk, status=DataCutStatus.READY).exists():
            raise ImmutableDataCut(f"{self} is frozen: it cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_ready(self) -> bool:
        return self.status == DataCutStatus.READY


class DataCutFile(models.Model):
    """One file of a data cut: a dataset in one format (or the cut's ``manifest.json``), with its row count, size
    and SHA-256. Written once, never changed."""

    cut = models.ForeignKey(DataCut, on_delete=models.PROTECT, related_name="files")
    dataset = models.CharField(max_length=20, help_text='The export\'s slug ("adtte", "measurements") or "manifest".')
    format = models.CharField(max_length=8)
    rows = models.PositiveBigIntegerField(default=0)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(storage=datacut_storage, max_length=255)

    class Meta:
        ordering = ["cut", "pk"]
        constraints = [models.UniqueConstraint(fields=["cut", "dataset", "format"], name="unique_data_cut_file")]

    def __str__(self) -> str:
        return f"{self.cut}: {self.filename}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableDataCut(f"{self} was written once: it cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableDataCut(f"{self} cannot be deleted.")

    @property
    def filename(self) -> str:
        return f"{self.dataset}.{self.format}"
