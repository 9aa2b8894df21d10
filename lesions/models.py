"""Lesions and tumour assessments: case report forms 6-8 (trials.md) and the rows a tumour assessment holds.

- ``Lesion`` (CRF 6): the patient's lesion register, a repeating log. Its anatomical site code maps to a
  localisation category and an organ through the versioned table in ``domain/localisation.py`` (D18, D37).
- ``LocalAblativeTreatment`` (CRF 7): SABR, surgery or RFA of one lesion at the treatment visit; saving it marks
  the lesion locally treated (D5). BED₁₀ / EQD2 come from ``domain/radiobiology.py``.
- ``TumourAssessment`` (CRF 8): one per screening (baseline), follow-up or unscheduled visit, with its rows
  ``TargetMeasurement``, ``NonTargetObservation`` and ``NewLesion``. The investigator's overall response is stored
  and never overwritten; the computed RECIST 1.1 response is stored beside it (clinical-spec C7) by
  ``services.assessments_sync_computed`` from every complete assessment of the patient through ``domain/recist``.

Measurements are integer tenths of a millimetre (clinical-spec C4); forms convert at the boundary and show mm.
Edit checks are in ``crf_rules.py``; computation in ``domain/``; writes in ``services.py``; reads in ``selectors.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from patients.crf import CaseReportForm, CrfSpec
from trials.models import SiteOwnedModel

from .crf_rules import LESION, LOCAL_TREATMENT, TUMOUR_ASSESSMENT
from .domain.localisation import AnatomicalSite, Localisation, anatomical_site, site_choices
from .domain.recist import NewLesionStatus, NonTargetStatus, OverallResponse, TargetStatus
from .domain.recist.arithmetic import format_mm

# Choices ------------------------------------------------------------------------------------------------------


class LesionRole(models.TextChoices):
    TARGET = "target", "Target"
    NON_TARGET = "non_target", "Non-target"
    NEW = "new", "New lesion (appeared after baseline)"


class Modality(models.TextChoices):
    SABR = "sabr", "SABR"
    SURGERY = "surgery", "Surgery"
    RFA = "rfa", "Radiofrequency ablation (RFA)"


class SabrTechnique(models.TextChoices):
    VMAT = "vmat", "VMAT"
    IMRT = "imrt", "Static-field IMRT"
    CONFORMAL = "3dcrt", "3D conformal"
    ROBOTIC = "robotic", "Robotic (CyberKnife)"
    HELICAL = "helical", "Helical (TomoTherapy)"
    MR_LINAC = "mr_linac", "MR-guided (MR-linac)"
    OTHER = "other", "Other"


class SurgicalMargin(models.TextChoices):
    R0 = "R0", "R0 (microscopically clear)"
    R1 = "R1", "R1 (microscopic residual)"
    R2 = "R2", "R2 (macroscopic residual)"


class RfaApproach(models.TextChoices):
    PERCUTANEOUS = "percutaneous", "Percutaneous"
    LAPAROSCOPIC = "laparoscopic", "Laparoscopic"
    OPEN = "open", "Open"


class ImagingModality(models.TextChoices):
    CT = "ct", "CT"
    MRI = "mri", "MRI"
    PET_CT = "pet_ct", "PET-CT"
    BONE_SCAN = "bone_scan", "Bone scan"


# The RECIST engine's own values are stored, so nothing maps between the database and the engine.
RESPONSE_CHOICES = [
    (OverallResponse.CR.value, "CR"),
    (OverallResponse.PR.value, "PR"),
    (OverallResponse.SD.value, "SD"),
    (OverallResponse.NON_CR_NON_PD.value, "Non-CR/Non-PD"),
    (OverallResponse.PD.value, "PD"),
    (OverallResponse.NE.value, "NE (not evaluable)"),
]
TARGET_STATUS_CHOICES = [
    (TargetStatus.MEASURED.value, "Measured"),
    (TargetStatus.TOO_SMALL_TO_MEASURE.value, "Too small to measure"),
    (TargetStatus.ABSENT.value, "Absent"),
    (TargetStatus.NOT_EVALUATED.value, "Not evaluated"),
]
NON_TARGET_STATUS_CHOICES = [
    (NonTargetStatus.PRESENT.value, "Present"),
    (NonTargetStatus.ABSENT.value, "Absent"),
    (NonTargetStatus.UNEQUIVOCAL_PROGRESSION.value, "Unequivocal progression"),
    (NonTargetStatus.NOT_EVALUATED.value, "Not evaluated"),
]
NEW_LESION_STATUS_CHOICES = [
    (NewLesionStatus.EQUIVOCAL.value, "Equivocal"),
    (NewLesionStatus.YES.value, "Unequivocal"),
]
RESPONSE_LABELS = dict(RESPONSE_CHOICES)


# CRF 6 --------------------------------------------------------------------------------------------------------


class Lesion(CaseReportForm):
    """CRF 6, lesion register: one row per lesion (or grouped non-target item) of the patient."""

    label = models.CharField(
        "lesion label",
        max_length=8,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{1,4}[0-9]{1,3}$", 'Letters then a number, e.g. "T1", "NT2", "NEW1".')],
        help_text='e.g. "T1" (target), "NT2" (non-target), "NEW1" (new lesion). Unique for the patient.',
    )
    site_code = models.CharField("anatomical site", max_length=40, blank=True, choices=site_choices)
    organ = models.CharField(
        max_length=60, blank=True, help_text="As recorded, e.g. 'left lung'; filled from the site when left empty."
    )
    nodal = models.BooleanField(
        "lymph node",
        null=True,
        blank=True,
        help_text="Filled from the site when it is obvious; a node is measured by its short axis.",
    )
    measurable = models.BooleanField(null=True, blank=True, help_text="Measurable by RECIST 1.1 at baseline.")
    role = models.CharField(max_length=12, choices=LesionRole.choices, blank=True)
    baseline_tenths = models.PositiveIntegerField(
        "baseline measurement", null=True, blank=True, help_text="Tenths of a millimetre (entered in mm)."
    )
    oligoprogressive = models.BooleanField(null=True, blank=True)
    locally_treated = models.BooleanField(
        default=False, help_text="Treated by SABR, surgery or RFA; set by the local ablative treatment form."
    )
    locally_treated_date = models.DateField("date locally treated", null=True, blank=True)
    first_seen_date = models.DateField("first seen", null=True, blank=True)
    history = HistoricalRecords()

    crf = CrfSpec(
        code="lesion",
        name="Lesion register",
        number=6,
        repeating=True,
        required=("label", "site_code", "measurable", "role", "oligoprogressive", "first_seen_date"),
        rules=LESION,
        date_field="first_seen_date",
    )

    class Meta:
        ordering = ["patient", "label"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "label"], condition=~Q(label=""), name="unique_lesion_label")
        ]

    def __str__(self) -> str:
        site = self.anatomical_site
        return f"{self.label or 'Lesion'} · {site.label if site else 'site not coded'}"

    def summary(self) -> str:
        role = self.get_role_display() if self.role else "role not set"
        treated = " · locally treated" if self.locally_treated else ""
        return f"{self}{' · ' + role}{treated}"

    @property
    def anatomical_site(self) -> AnatomicalSite | None:
        if not self.site_code:
            return None
        try:
            return anatomical_site(self.site_code)
        except ValueError:
            return None

    @property
    def is_nodal(self) -> bool | None:
        """As recorded, else as the site code says (None when neither tells)."""
        if self.nodal is not None:
            return self.nodal
        site = self.anatomical_site
        return site.nodal if site else None

    @property
    def is_bone(self) -> bool:
        site = self.anatomical_site
        return bool(site and site.bone)

    @property
    def organ_group(self) -> str:
        """The organ this lesion counts against for "two targets per organ": all nodes one, all bone one (D37)."""
        if self.is_nodal:
            return "lymph node"
        site = self.anatomical_site
        return site.organ if site else ""

    @property
    def localisation(self) -> Localisation | None:
        site = self.anatomical_site
        return site.category if site else None

    def clean(self) -> None:
        """Fill what the site code makes obvious (organ, nodal) when the form left it empty."""
        self.label = self.label.strip().upper()
        site = self.anatomical_site
        if site is not None:
            if not self.organ:
                self.organ = site.organ
            if self.nodal is None and site.nodal is not None:
                self.nodal = site.nodal

    def derived_values(self) -> list[tuple[str, Any]]:
        from .selectors import lesion_derived_values

        return lesion_derived_values(lesion=self)


# CRF 7 --------------------------------------------------------------------------------------------------------


class LocalAblativeTreatment(CaseReportForm):
    """CRF 7, local ablative treatment: one record per treated lesion at the treatment visit."""

    lesion = models.ForeignKey(
        Lesion, on_delete=models.PROTECT, null=True, blank=True, related_name="treatments", verbose_name="lesion"
    )
    modality = models.CharField(max_length=10, choices=Modality.choices, blank=True)
    start_date = models.DateField(
        "treatment date", null=True, blank=True, help_text="SABR: first fraction. Surgery / RFA: date of the procedure."
    )
    # SABR
    total_dose_gy = models.DecimalField("total dose (Gy)", max_digits=5, decimal_places=2, null=True, blank=True)
    fractions = models.PositiveSmallIntegerField("number of fractions", null=True, blank=True)
    end_date = models.DateField("last fraction", null=True, blank=True)
    technique = models.CharField(max_length=10, choices=SabrTechnique.choices, blank=True)
    # Surgery
    procedure = models.CharField(max_length=200, blank=True, help_text="Surgery: the procedure performed.")
    margin = models.CharField("resection margin", max_length=2, choices=SurgicalMargin.choices, blank=True)
    # RFA
    approach = models.CharField("RFA approach", max_length=12, choices=RfaApproach.choices, blank=True)
    history = HistoricalRecords()

    crf = CrfSpec(
        code="local-treatment",
        name="Local ablative treatment",
        number=7,
        visit_kinds=frozenset({"treatment"}),
        repeating=True,
        required=("lesion", "modality", "start_date"),
        rules=LOCAL_TREATMENT,
        date_field="start_date",
    )

    class Meta:
        ordering = ["patient", "start_date", "pk"]

    def summary(self) -> str:
        what = self.get_modality_display() if self.modality else "Treatment"
        lesion = f" of {self.lesion.label}" if self.lesion_id and self.lesion and self.lesion.label else ""
        dose = f" {self.total_dose_gy} Gy / {self.fractions} fr" if self.modality == Modality.SABR else ""
        when = f" on {self.start_date}" if self.start_date else ""
        return f"{what}{lesion}{dose}{when}"

    def derived_values(self) -> list[tuple[str, Any]]:
        from .selectors import treatment_derived_values

        return treatment_derived_values(treatment=self)


# CRF 8 --------------------------------------------------------------------------------------------------------


class TumourAssessment(CaseReportForm):
    """CRF 8, tumour assessment at one time point: the screening (baseline), follow-up or unscheduled visit.

    The fields after ``investigator_response`` are derived (not entered): the assessment date is the latest scan
    date of its rows (D22); the ``computed_*`` fields come from the RECIST engine over every complete assessment of
    the patient and are rewritten on every recompute, never the investigator's.
    """

    modality = models.CharField("imaging modality", max_length=10, choices=ImagingModality.choices, blank=True)
    investigator_response = models.CharField(
        "investigator's overall response", max_length=16, choices=RESPONSE_CHOICES, blank=True
    )
    assessment_date = models.DateField("assessment date (latest scan)", null=True, blank=True, editable=False)
    computed_response = models.CharField(
        "computed overall response (RECIST 1.1)", max_length=16, choices=RESPONSE_CHOICES, blank=True, editable=False
    )
    computed_target_response = models.CharField(max_length=8, blank=True, editable=False)
    computed_non_target_response = models.CharField(max_length=16, blank=True, editable=False)
    computed_new_lesions = models.CharField(max_length=12, blank=True, editable=False)
    target_sum_tenths = models.PositiveIntegerField("target sum", null=True, blank=True, editable=False)
    baseline_sum_tenths = models.PositiveIntegerField("baseline sum", null=True, blank=True, editable=False)
    nadir_tenths = models.PositiveIntegerField("nadir", null=True, blank=True, editable=False)
    change_from_baseline_percent = models.DecimalField(
        max_digits=7, decimal_places=1, null=True, blank=True, editable=False
    )
    change_from_nadir_percent = models.DecimalField(
        max_digits=7, decimal_places=1, null=True, blank=True, editable=False
    )
    response_differs = models.BooleanField(
        "computed response differs from the investigator's", null=True, blank=True, editable=False
    )
    computed_explanation = models.TextField(blank=True, editable=False)
    computed_algorithm_version = models.CharField(max_length=40, blank=True, editable=False)
    computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords()

    crf = CrfSpec(
        code="tumour-assessment",
        name="Tumour assessment",
        number=8,
        visit_kinds=frozenset({"screening", "follow_up", "unscheduled"}),
        required=("modality",),
        rules=TUMOUR_ASSESSMENT,
        date_field="assessment_date",
    )

    class Meta:
        ordering = ["patient", "assessment_date", "pk"]

    @property
    def is_baseline(self) -> bool:
        return self.visit is not None and self.visit.definition.kind == "screening"

    def summary(self) -> str:
        when = str(self.assessment_date) if self.assessment_date else "no scan date"
        if self.is_baseline:
            return f"{when} · baseline"
        response = RESPONSE_LABELS.get(self.computed_response, "")
        investigator = RESPONSE_LABELS.get(self.investigator_response, "")
        if response and investigator and response != investigator:
            return f"{when} · computed {response}, investigator {investigator}"
        return f"{when} · {response or investigator or 'response pending'}"

    def derived_values(self) -> list[tuple[str, Any]]:
        from .selectors import assessment_derived_values

        return assessment_derived_values(assessment=self)


class TargetMeasurement(SiteOwnedModel):
    """One target lesion at one tumour assessment (clinical-spec §1.2): a diameter, or TSTM / absent / NE."""

    assessment = models.ForeignKey(TumourAssessment, on_delete=models.PROTECT, related_name="target_measurements")
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=24, choices=TARGET_STATUS_CHOICES)
    diameter_tenths = models.PositiveIntegerField("diameter", null=True, blank=True)
    scan_date = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["assessment", "lesion__label"]
        constraints = [models.UniqueConstraint(fields=["assessment", "lesion"], name="unique_target_measurement")]

    def __str__(self) -> str:
        value = format_mm(self.diameter_tenths) if self.diameter_tenths is not None else self.get_status_display()
        return f"{self.lesion.label}: {value}"


class NonTargetObservation(SiteOwnedModel):
    """One non-target lesion at one tumour assessment (clinical-spec §1.2)."""

    assessment = models.ForeignKey(TumourAssessment, on_delete=models.PROTECT, related_name="non_target_observations")
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=24, choices=NON_TARGET_STATUS_CHOICES)
    scan_date = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["assessment", "lesion__label"]
        constraints = [models.UniqueConstraint(fields=["assessment", "lesion"], name="unique_non_target_observation")]

    def __str__(self) -> str:
        return f"{self.lesion.label}: {self.get_status_display()}"


class NewLesion(SiteOwnedModel):
    """A lesion not present at baseline, as seen at one assessment (Eisenhauer 2009 §4.3.4).

    ``confirms`` links an unequivocal finding to the earlier equivocal one it confirms: PD is then dated to the
    first equivocal scan (D27). The chain's first row identifies the lesion for the RECIST engine.
    """

    assessment = models.ForeignKey(TumourAssessment, on_delete=models.PROTECT, related_name="new_lesions")
    site_code = models.CharField("anatomical site", max_length=40, blank=True, choices=site_choices)
    status = models.CharField(max_length=12, choices=NEW_LESION_STATUS_CHOICES)
    scan_date = models.DateField(null=True, blank=True)
    confirms = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="confirmed_by",
        verbose_name="same lesion as the earlier equivocal finding",
    )
    description = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["assessment", "pk"]

    def __str__(self) -> str:
        when = f" ({self.scan_date})" if self.scan_date else ""
        site = self.get_site_code_display() if self.site_code else "site not coded"
        return f"{self.get_status_display()} new lesion, {site}{when}"

    @property
    def root(self) -> NewLesion:
        """The first finding of this lesion (following ``confirms`` back); it names the lesion for the engine."""
        node, seen = self, {self.pk}
        while node.confirms_id is not None and node.confirms is not None and node.confirms_id not in seen:
            seen.add(node.confirms_id)
            node = node.confirms
        return node


# What a tumour assessment form (or an API write) submits for its rows, before anything is written -------------
# The form sets ``assessment._pending_rows`` so the edit checks read the rows as they would be saved (nothing is
# written when a row is wrong); ``services.assessment_rows_save`` writes them inside the CRF service's transaction.


@dataclass(frozen=True)
class TargetRow:
    lesion: Lesion
    status: str
    diameter_tenths: int | None = None
    scan_date: date | None = None


@dataclass(frozen=True)
class NonTargetRow:
    lesion: Lesion
    status: str
    scan_date: date | None = None


@dataclass(frozen=True)
class NewLesionRow:
    status: str
    scan_date: date | None = None
    site_code: str = ""
    confirms: NewLesion | None = None
    description: str = ""
    #: an existing row of this assessment being edited; None for a new one
    pk: int | None = None


@dataclass(frozen=True)
class AssessmentRows:
    targets: tuple[TargetRow, ...] = ()
    non_targets: tuple[NonTargetRow, ...] = ()
    new_lesions: tuple[NewLesionRow, ...] = ()

    def scan_dates(self) -> list[date]:
        rows: list[TargetRow | NonTargetRow | NewLesionRow] = [*self.targets, *self.non_targets, *self.new_lesions]
        return [row.scan_date for row in rows if row.scan_date is not None]

    @property
    def latest_scan_date(self) -> date | None:
        """The assessment's own date: its latest scan date (D22, clinical-spec §1.8a)."""
        return max(self.scan_dates(), default=None)
