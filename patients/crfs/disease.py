"""Disease CRFs (trials.md numbering): tumour biology (4), systemic therapy lines (5), clinical progression (9),
strategy failure (10, AVATAR II) and subsequent systemic therapy (11).

Endpoint dates (therapy start, progression, strategy failure) are full dates (decisions D21). Agents are one yes/no
column each, so "which patients had palbociclib" is a plain filter on every database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords

from trials.models import AnalysisSettings
from trials.selectors import analysis_settings_current

from ..crf import CaseReportForm, CrfSpec, CrfStatus
from ..domain.subtype import Biology, Her2Ihc, Ish, Specimen, SubtypeResult, classify, patient_subtype
from ..edit_checks import (
    CheckContext,
    Finding,
    Rule,
    Severity,
    date_order,
    in_range,
    not_before_enrolment,
    not_in_future,
    rules,
)
from .enrolment import InvestigatorConfirmation, one_per_patient, required_on_completion_when, yes_no

__all__ = [
    "BestResponse",
    "ClinicalProgression",
    "Her2IhcScore",
    "IshResult",
    "ProgressionType",
    "ReasonStopped",
    "SpecimenType",
    "StrategyFailure",
    "StrategyFailureReason",
    "StrategyManagement",
    "SubsequentTherapy",
    "SystemicTherapyLine",
    "TumourBiology",
]


# Shared rule blocks ----------------------------------------------------------------------------------------------


def patient_enrolled(field_name: str) -> Rule:
    """On-study events need a registered / randomised patient: their dates count from that origin."""

    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        if context.patient.enrolment_date is None:
            yield Finding(
                field_name,
                f"{record.crf.name} is an on-study event: register or randomise the patient first.",
                "not_enrolled",
            )

    return rule


def agents_chosen(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and not record.agent_fields_ticked():
        yield Finding("agent_aromatase_inhibitor", "Tick at least one agent of the line.", "no_agent")


agent_details_for_other = required_on_completion_when(
    "agent_details", lambda r: r.agent_other, "Name the agent(s) ticked as other."
)


# Agents ---------------------------------------------------------------------------------------------------------

#: (field, label, endocrine partner stratum or "") per agent, grouped as on the form (trials.md CRF 5).
AGENTS: tuple[tuple[str, str, str], ...] = (
    ("agent_aromatase_inhibitor", "aromatase inhibitor", "ai"),
    ("agent_fulvestrant", "fulvestrant", "serd"),
    ("agent_other_serd", "other SERD", "serd"),
    ("agent_tamoxifen", "tamoxifen", ""),
    ("agent_palbociclib", "palbociclib", ""),
    ("agent_ribociclib", "ribociclib", ""),
    ("agent_abemaciclib", "abemaciclib", ""),
    ("agent_chemotherapy", "chemotherapy", ""),
    ("agent_targeted", "targeted therapy", ""),
    ("agent_other", "other", ""),
)
AGENT_FIELDS = tuple(name for name, _, _ in AGENTS)
ENDOCRINE_FIELDS = AGENT_FIELDS[:4]
CDK46_FIELDS = AGENT_FIELDS[4:7]


class Agents(models.Model):
    """The agents of one line of systemic therapy, one yes/no column each."""

    agent_aromatase_inhibitor = models.BooleanField("endocrine: aromatase inhibitor", default=False)
    agent_fulvestrant = models.BooleanField("endocrine: fulvestrant", default=False)
    agent_other_serd = models.BooleanField("endocrine: other SERD", default=False)
    agent_tamoxifen = models.BooleanField("endocrine: tamoxifen", default=False)
    agent_palbociclib = models.BooleanField("CDK4/6 inhibitor: palbociclib", default=False)
    agent_ribociclib = models.BooleanField("CDK4/6 inhibitor: ribociclib", default=False)
    agent_abemaciclib = models.BooleanField("CDK4/6 inhibitor: abemaciclib", default=False)
    agent_chemotherapy = models.BooleanField("chemotherapy", default=False)
    agent_targeted = models.BooleanField("targeted therapy", default=False)
    agent_other = models.BooleanField("other", default=False)
    agent_details = models.CharField(
        "agent names",
        max_length=200,
        blank=True,
        help_text="Name the chemotherapy, targeted or other agents (required for other).",
    )

    class Meta:
        abstract = True

    def agent_fields_ticked(self) -> list[str]:
        return [name for name in AGENT_FIELDS if getattr(self, name)]

    def agents_display(self) -> str:
        labels = [label for name, label, _ in AGENTS if getattr(self, name) and name != "agent_other"]
        if self.agent_other:
            labels.append("other")
        text = " + ".join(labels)
        return f"{text} ({self.agent_details})" if self.agent_details and text else (text or "no agent")

    def endocrine_partner(self) -> str | None:
        """The AVATAR II stratum of the line's endocrine agent: "ai", "serd", or None (D17)."""
        partners = {stratum for name, _, stratum in AGENTS if stratum and getattr(self, name)}
        return partners.pop() if len(partners) == 1 else None

    @property
    def has_cdk46_inhibitor(self) -> bool:
        return any(getattr(self, name) for name in CDK46_FIELDS)


# CRF 4: Tumour biology --------------------------------------------------------------------------------------------


class SpecimenType(models.TextChoices):
    PRIMARY = Specimen.PRIMARY.value, "Primary tumour"
    METASTATIC = Specimen.METASTATIC.value, "Metastatic biopsy"


class Her2IhcScore(models.TextChoices):
    ZERO = Her2Ihc.ZERO.value, "0"
    ONE_PLUS = Her2Ihc.ONE_PLUS.value, "1+"
    TWO_PLUS = Her2Ihc.TWO_PLUS.value, "2+"
    THREE_PLUS = Her2Ihc.THREE_PLUS.value, "3+"


class IshResult(models.TextChoices):
    NOT_DONE = Ish.NOT_DONE.value, "Not done"
    NOT_AMPLIFIED = Ish.NOT_AMPLIFIED.value, "Not amplified"
    AMPLIFIED = Ish.AMPLIFIED.value, "Amplified"


def her2_equivocal_needs_ish(record: Any, context: CheckContext) -> Iterable[Finding]:
    """IHC 2+ is equivocal: without ISH the subtype is undetermined (D36), so the site is asked."""
    if context.completing and record.her2_ihc == Her2IhcScore.TWO_PLUS and record.ish in ("", IshResult.NOT_DONE):
        yield Finding(
            "ish",
            "HER2 IHC 2+ is equivocal: record the ISH result, or the subtype stays undetermined.",
            "her2_equivocal_without_ish",
            Severity.WARNING,
        )


def same_day_specimens_agree(record: Any, context: CheckContext) -> Iterable[Finding]:
    """Two specimens of one kind on one date in different subtype groups make the subtype undetermined (D36)."""
    if not (context.completing and record.specimen and record.specimen_date):
        return
    mine = classify(record.as_biology()).subtype
    same_day = (
        TumourBiology.objects.filter(
            patient_id=context.patient.pk,
            status=CrfStatus.COMPLETE,
            specimen=record.specimen,
            specimen_date=record.specimen_date,
        )
        .exclude(pk=record.pk)
        .order_by("pk")
    )
    others = {classify(other.as_biology()).subtype for other in same_day} - {mine}
    if others:
        yield Finding(
            "specimen_date",
            f"Another {record.get_specimen_display().lower()} specimen of {record.specimen_date} gives a different "
            f"subtype ({', '.join(sorted(s.label for s in others))} vs {mine.label}): the patient's subtype is "
            "undetermined until this is resolved.",
            "subtype_conflict_same_day",
            Severity.WARNING,
        )


TUMOUR_BIOLOGY = rules(
    in_range("er_percent", 0, 100, unit="%"),
    in_range("pr_percent", 0, 100, unit="%"),
    not_in_future("specimen_date"),
    her2_equivocal_needs_ish,
    same_day_specimens_agree,
)


class TumourBiology(CaseReportForm):
    """CRF 4: receptor status of one specimen. The patient's subtype is derived from all of them (D19, D36)."""

    specimen = models.CharField(max_length=10, choices=SpecimenType.choices, blank=True)
    specimen_date = models.DateField("specimen date", null=True, blank=True, help_text="Date of biopsy or surgery.")
    er_percent = models.PositiveSmallIntegerField("ER (%)", null=True, blank=True, help_text="0–100; < 1 is negative.")
    pr_percent = models.PositiveSmallIntegerField("PR (%)", null=True, blank=True, help_text="0–100; < 1 is negative.")
    her2_ihc = models.CharField("HER2 IHC", max_length=2, choices=Her2IhcScore.choices, blank=True)
    ish = models.CharField(
        "HER2 ISH", max_length=14, choices=IshResult.choices, blank=True, help_text="Required to resolve IHC 2+."
    )
    history = HistoricalRecords()

    crf = CrfSpec(
        code="tumour-biology",
        name="Tumour biology",
        number=4,
        visit_kinds=frozenset({"screening"}),
        repeating=True,
        required=("specimen", "specimen_date", "er_percent", "pr_percent", "her2_ihc", "ish"),
        rules=TUMOUR_BIOLOGY,
        date_field="specimen_date",
        form="patients.crfs.disease_forms.TumourBiologyForm",
    )

    class Meta:
        verbose_name = "tumour biology"
        verbose_name_plural = "tumour biology"

    def as_biology(self) -> Biology:
        return Biology(
            specimen=Specimen(self.specimen) if self.specimen else None,
            specimen_date=self.specimen_date,
            er_percent=self.er_percent,
            pr_percent=self.pr_percent,
            her2_ihc=Her2Ihc(self.her2_ihc) if self.her2_ihc else None,
            ish=Ish(self.ish) if self.ish else None,
        )

    @classmethod
    def patient_subtype(cls, patient_id: int, *, including: TumourBiology | None = None) -> SubtypeResult:
        """The patient's subtype from the complete specimens (plus ``including``, as entered, if given)."""
        records = cls.objects.filter(patient_id=patient_id, status=CrfStatus.COMPLETE)
        if including is not None and including.pk is not None:
            records = records.exclude(pk=including.pk)
        specimens = [r.as_biology() for r in records]
        if including is not None:
            specimens.append(including.as_biology())
        return patient_subtype(specimens)

    def summary(self) -> str:
        if not self.specimen:
            return self.crf.name
        subtype = classify(self.as_biology()).subtype.label
        return f"{self.get_specimen_display()} {self.specimen_date or ''}: {subtype}".replace("  ", " ")

    def derived_values(self) -> list[tuple[str, Any]]:
        own = classify(self.as_biology())
        overall = TumourBiology.patient_subtype(self.patient_id, including=self)
        values: list[tuple[str, Any]] = [
            ("Subtype of this specimen", own.subtype.label),
            ("HER2", own.her2.value),
            ("ER-low (1–10 %)", "Yes" if own.er_low else "No"),
            ("Patient's subtype (D19)", overall.subtype.label + (" · ER-low" if overall.er_low else "")),
        ]
        if overall.query_reason:
            values.append(("Why undetermined", overall.query_reason))
        return values


# CRF 5: Systemic therapy lines ------------------------------------------------------------------------------------


class ReasonStopped(models.TextChoices):
    PROGRESSION = "progression", "Progression"
    TOXICITY = "toxicity", "Toxicity"
    PATIENT_CHOICE = "patient_choice", "Patient choice"
    OTHER = "other", "Other"


class BestResponse(models.TextChoices):
    CR = "CR", "Complete response (CR)"
    PR = "PR", "Partial response (PR)"
    SD = "SD", "Stable disease (SD)"
    PD = "PD", "Progressive disease (PD)"
    NE = "NE", "Not evaluable (NE)"
    NOT_ASSESSED = "not_assessed", "Not assessed"


def line_number_unique(record: Any, context: CheckContext) -> Iterable[Finding]:
    if record.line_number is None:
        return
    others = SystemicTherapyLine.objects.filter(patient_id=context.patient.pk, line_number=record.line_number)
    if record.pk is not None:
        others = others.exclude(pk=record.pk)
    if others.exists():
        yield Finding("line_number", f"This patient already has a line {record.line_number}.", "line_number_taken")


def protocol_therapy_fits(record: Any, context: CheckContext) -> Iterable[Finding]:
    """Arm B's physician's-choice therapy started at randomisation is protocol therapy, not a new line (D35)."""
    if not record.protocol_therapy:
        return
    patient = context.patient
    if patient.trial.code != "avatar2":
        yield Finding(
            "protocol_therapy",
            "Only AVATAR II has protocol systemic therapy (arm B, physician's choice).",
            "protocol_therapy_trial",
        )
    elif patient.enrolment_date is None:
        yield Finding("protocol_therapy", "Protocol therapy starts at randomisation: randomise first.", "not_enrolled")
    elif record.start_date is not None and record.start_date < patient.enrolment_date:
        yield Finding(
            "start_date",
            f"Protocol therapy cannot start before randomisation ({patient.enrolment_date}).",
            "protocol_therapy_before_randomisation",
        )


SYSTEMIC_THERAPY = rules(
    in_range("line_number", 1, None),
    line_number_unique,
    agents_chosen,
    agent_details_for_other,
    not_in_future("start_date", "stop_date"),
    date_order("start_date", "stop_date"),
    required_on_completion_when(
        "reason_stopped", lambda r: r.stop_date is not None, "Give the reason the line was stopped."
    ),
    required_on_completion_when("stop_date", lambda r: bool(r.reason_stopped), "Give the date the line was stopped."),
    required_on_completion_when(
        "reason_stopped_specify", lambda r: r.reason_stopped == ReasonStopped.OTHER, "Say why the line was stopped."
    ),
    protocol_therapy_fits,
)


class SystemicTherapyLine(Agents, CaseReportForm):
    """CRF 5: one line of systemic therapy, before or during the study (a patient-level log)."""

    line_number = models.PositiveSmallIntegerField(
        "line number", null=True, blank=True, help_text="1 for first line; unique per patient."
    )
    start_date = models.DateField("start date", null=True, blank=True)
    stop_date = models.DateField("stop date", null=True, blank=True, help_text="Empty while the line continues.")
    reason_stopped = models.CharField("reason stopped", max_length=16, choices=ReasonStopped.choices, blank=True)
    reason_stopped_specify = models.CharField("other reason", max_length=200, blank=True)
    best_response = models.CharField("best response", max_length=12, choices=BestResponse.choices, blank=True)
    protocol_therapy = models.BooleanField(
        "protocol therapy started at randomisation",
        default=False,
        help_text="AVATAR II arm B: the physician's-choice therapy started at randomisation (not a new line, D35).",
    )
    history = HistoricalRecords()

    crf = CrfSpec(
        code="systemic-therapy",
        name="Systemic therapy lines",
        number=5,
        repeating=True,
        required=("line_number", "start_date", "best_response"),
        rules=SYSTEMIC_THERAPY,
        date_field="start_date",
        form="patients.crfs.disease_forms.SystemicTherapyLineForm",
    )

    class Meta:
        verbose_name = "systemic therapy line"
        ordering = ["patient", "line_number", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "line_number"], name="unique_therapy_line_number"),
        ]

    def __str__(self) -> str:
        return f"{self.crf.name}: {self.summary()}"

    def summary(self) -> str:
        number = f"Line {self.line_number}" if self.line_number else "Line ?"
        until = f" to {self.stop_date}" if self.stop_date else " (ongoing)"
        since = f", {self.start_date}{until}" if self.start_date else ""
        return f"{number}: {self.agents_display()}{since}"

    def derived_values(self) -> list[tuple[str, Any]]:
        partner = self.endocrine_partner()
        values: list[tuple[str, Any]] = [
            ("Regimen", self.agents_display()),
            ("CDK4/6 inhibitor", "Yes" if self.has_cdk46_inhibitor else "No"),
            (
                "Endocrine partner (AVATAR II stratum)",
                {"ai": "Aromatase inhibitor", "serd": "SERD"}.get(partner or "", "—"),
            ),
        ]
        if self.start_date and self.stop_date:
            values.append(("Duration (days)", (self.stop_date - self.start_date).days + 1))
        return values


# CRF 9: Clinical progression --------------------------------------------------------------------------------------

CLINICAL_PROGRESSION = rules(
    patient_enrolled("progression_date"),
    not_in_future("progression_date"),
    not_before_enrolment("progression_date"),
)


class ClinicalProgression(CaseReportForm, InvestigatorConfirmation):
    """CRF 9: investigator-declared clinical progression (D4), a PFS event whatever the scans show."""

    progression_date = models.DateField("date of clinical progression", null=True, blank=True)
    description = models.TextField(blank=True, help_text="Signs, symptoms and findings that show the progression.")
    history = HistoricalRecords()

    crf = CrfSpec(
        code="clinical-progression",
        name="Clinical progression",
        number=9,
        repeating=True,
        required=("progression_date", "description"),
        rules=CLINICAL_PROGRESSION,
        date_field="progression_date",
        form="patients.crfs.disease_forms.ClinicalProgressionForm",
    )

    class Meta:
        verbose_name = "clinical progression"
        ordering = ["patient", "progression_date", "pk"]

    def __str__(self) -> str:
        return f"Clinical progression {self.progression_date}" if self.progression_date else super().__str__()

    def summary(self) -> str:
        confirmed = "confirmed" if self.investigator_confirmed else "not confirmed"
        return f"{self.progression_date or 'Date ?'}: {(self.description or '')[:60]} ({confirmed})"

    def derived_values(self) -> list[tuple[str, Any]]:
        origin = self.patient.enrolment_date
        values: list[tuple[str, Any]] = [("Investigator", self.confirmation_display())]
        if origin and self.progression_date:
            values.append(("Days from enrolment (AVAL, D2)", (self.progression_date - origin).days + 1))
        return values


# CRF 10: Strategy failure (AVATAR II) -----------------------------------------------------------------------------


class StrategyFailureReason(models.TextChoices):
    """Decisions D10."""

    SYSTEMIC_CHANGE = "systemic_change", "Change of systemic therapy for progression"
    NOT_AMENABLE = "not_amenable", "Progression not amenable to SABR"
    TOO_MANY_LESIONS = "too_many_lesions", "More progressing lesions than the protocol maximum"
    VISCERAL_CRISIS = "visceral_crisis", "Visceral crisis"
    OTHER = "other", "Other"


class StrategyManagement(models.TextChoices):
    FURTHER_SABR = "further_sabr", "Further SABR within the strategy"
    SYSTEMIC_CHANGE = "systemic_change", "Change of systemic therapy"
    BEST_SUPPORTIVE_CARE = "best_supportive_care", "Best supportive care"


def _settings(context: CheckContext) -> AnalysisSettings:
    trial = context.patient.trial
    settings: AnalysisSettings = context.lookup("analysis_settings", lambda: analysis_settings_current(trial=trial))
    return settings


def lesion_count_supports_reason(record: Any, context: CheckContext) -> Iterable[Finding]:
    if record.failure_reason != StrategyFailureReason.TOO_MANY_LESIONS:
        return
    limit = _settings(context).max_oligo_lesions
    if record.progressing_lesions is None or record.progressing_lesions <= limit:
        yield Finding(
            "progressing_lesions",
            f"This reason needs more than {limit} progressing lesions (the trial's maximum for oligoprogression).",
            "too_few_lesions_for_reason",
        )


def not_amenable_is_consistent(record: Any, context: CheckContext) -> Iterable[Finding]:
    if record.failure_reason == StrategyFailureReason.NOT_AMENABLE and record.amenable_to_sabr is True:
        yield Finding(
            "amenable_to_sabr",
            "The reason is progression not amenable to SABR, but the lesions are marked amenable.",
            "amenable_contradicts_reason",
        )


def linked_progression_fits(record: Any, context: CheckContext) -> Iterable[Finding]:
    """The linked clinical progression is the patient's own, and the failure is dated by it (D40)."""
    link_id = record.linked_clinical_progression_id
    if link_id is None:
        return
    linked = ClinicalProgression.objects.filter(pk=link_id).first()
    if linked is None or linked.patient_id != context.patient.pk:
        yield Finding(
            "linked_clinical_progression", "Link a clinical progression of this patient.", "link_other_patient"
        )
        return
    if record.failure_date is not None and record.failure_date != linked.progression_date:
        yield Finding(
            "failure_date",
            f"The strategy-failure date must be the date of the linked clinical progression "
            f"({linked.progression_date}).",
            "tsf_date_mismatch",
        )


def failure_is_linked(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and record.linked_clinical_progression_id is None and record.linked_assessment_id is None:
        yield Finding(
            "linked_clinical_progression",
            "Link the tumour assessment or clinical progression that caused the failure: its date is the TSF date.",
            "tsf_unlinked",
            Severity.WARNING,
        )


STRATEGY_FAILURE = rules(
    patient_enrolled("failure_date"),
    not_in_future("failure_date"),
    not_before_enrolment("failure_date"),
    one_per_patient("failure_date"),
    in_range("progressing_lesions", 1, None),
    lesion_count_supports_reason,
    required_on_completion_when(
        "failure_reason_specify", lambda r: r.failure_reason == StrategyFailureReason.OTHER, "Specify the other reason."
    ),
    not_amenable_is_consistent,
    linked_progression_fits,
    failure_is_linked,
)


class StrategyFailure(CaseReportForm):
    """CRF 10 (AVATAR II): the investigator declares the treatment strategy failed (D10, D32, D40).

    The TSF date is the date of the progression that caused the failure, not the start of the next therapy."""

    failure_date = models.DateField(
        "date of strategy failure",
        null=True,
        blank=True,
        help_text="The date of the progression assessment that caused the failure (its PD date, D40).",
    )
    failure_reason = models.CharField(
        "reason for failure", max_length=20, choices=StrategyFailureReason.choices, blank=True
    )
    failure_reason_specify = models.CharField("other reason", max_length=200, blank=True)
    progressing_lesions = models.PositiveSmallIntegerField("number of progressing lesions", null=True, blank=True)
    progressing_sites = models.TextField("sites of progressing lesions", blank=True)
    amenable_to_sabr = yes_no("progressing lesions amenable to SABR")
    management = models.CharField(max_length=20, choices=StrategyManagement.choices, blank=True)
    linked_clinical_progression = models.ForeignKey(
        ClinicalProgression,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="linked clinical progression",
    )
    #: the tumour assessment (lesions app) whose PD caused the failure; an id, not a key, to keep apps apart
    linked_assessment_id = models.PositiveIntegerField(
        "linked tumour assessment", null=True, blank=True, help_text="The tumour assessment showing the progression."
    )
    history = HistoricalRecords()

    crf = CrfSpec(
        code="strategy-failure",
        name="Strategy failure",
        number=10,
        trials=frozenset({"avatar2"}),
        repeating=True,
        required=("failure_date", "failure_reason", "progressing_lesions", "amenable_to_sabr", "management"),
        rules=STRATEGY_FAILURE,
        date_field="failure_date",
        form="patients.crfs.disease_forms.StrategyFailureForm",
    )

    class Meta:
        verbose_name = "strategy failure"

    def summary(self) -> str:
        reason = self.get_failure_reason_display() if self.failure_reason else "reason ?"
        return f"{self.failure_date or 'Date ?'}: {reason}"

    def derived_values(self) -> list[tuple[str, Any]]:
        values: list[tuple[str, Any]] = []
        origin = self.patient.enrolment_date
        if origin and self.failure_date:
            values.append(("TSF (days, AVAL = date − randomisation + 1)", (self.failure_date - origin).days + 1))
        settings = self.patient.trial.analysis_settings.order_by("-version").first()
        if self.progressing_lesions and settings is not None:
            limit = settings.max_oligo_lesions
            kind = "oligoprogression" if self.progressing_lesions <= limit else "polyprogression"
            values.append(("Progression", f"{kind} ({self.progressing_lesions} lesions; maximum {limit})"))
        return values


# CRF 11: Subsequent systemic therapy ------------------------------------------------------------------------------


class ProgressionType(models.TextChoices):
    RADIOLOGICAL = "radiological", "Radiological"
    CLINICAL = "clinical", "Clinical"


def progression_details_only_when_progressed(record: Any, context: CheckContext) -> Iterable[Finding]:
    if record.progression is not True:
        for name in ("progression_date", "progression_type"):
            if getattr(record, name) not in (None, ""):
                yield Finding(
                    name, "Leave this empty unless progression on this line is answered yes.", "progression_details"
                )


SUBSEQUENT_THERAPY = rules(
    patient_enrolled("start_date"),
    not_in_future("start_date", "progression_date"),
    not_before_enrolment("start_date"),
    date_order("start_date", "progression_date"),
    agents_chosen,
    agent_details_for_other,
    required_on_completion_when(
        "progression_date", lambda r: r.progression is True, "Give the date of progression on this line."
    ),
    required_on_completion_when(
        "progression_type", lambda r: r.progression is True, "Say whether the progression was radiological or clinical."
    ),
    progression_details_only_when_progressed,
)


class SubsequentTherapy(Agents, CaseReportForm):
    """CRF 11: the next line of systemic therapy after progression or strategy failure, and progression on it
    (investigator-assessed, D11): the data of PFS2 and 2nd PFS (D34) and of COSMO's time to next treatment (D12)."""

    start_date = models.DateField("start date of the next line", null=True, blank=True)
    progression = yes_no("progression on this line")
    progression_date = models.DateField("date of progression on this line", null=True, blank=True)
    progression_type = models.CharField(
        "progression assessed", max_length=12, choices=ProgressionType.choices, blank=True
    )
    history = HistoricalRecords()

    crf = CrfSpec(
        code="subsequent-therapy",
        name="Subsequent systemic therapy",
        number=11,
        repeating=True,
        required=("start_date", "progression"),
        rules=SUBSEQUENT_THERAPY,
        date_field="start_date",
        form="patients.crfs.disease_forms.SubsequentTherapyForm",
    )

    class Meta:
        verbose_name = "subsequent systemic therapy"
        verbose_name_plural = "subsequent systemic therapy"
        ordering = ["patient", "start_date", "pk"]

    def __str__(self) -> str:
        return f"{self.crf.name}: {self.summary()}"

    def summary(self) -> str:
        progression = f"; progression {self.progression_date}" if self.progression and self.progression_date else ""
        return f"{self.start_date or 'Date ?'}: {self.agents_display()}{progression}"

    def derived_values(self) -> list[tuple[str, Any]]:
        values: list[tuple[str, Any]] = [("Regimen", self.agents_display())]
        if self.start_date and self.progression_date:
            values.append(("Days on this line to progression", (self.progression_date - self.start_date).days + 1))
        return values
