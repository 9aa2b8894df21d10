"""Safety CRFs: adverse events graded with CTCAE v5.0 (CRF 12) and visceral crisis (CRF 13), with the CTCAE lookup.

The calculators (seriousness, relatedness, SUSAR, reporting clocks) are pure, in ``patients.domain.safety``; the rule
sets below are the forms' edit checks (STYLE.md rule 7), run by ``crf_save`` for every write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ..crf import CaseReportForm, CrfSpec
from ..domain import safety as calc
from ..edit_checks import (
    CheckContext,
    Finding,
    Severity,
    date_order,
    in_range,
    not_before_consent,
    not_in_future,
    rules,
)

__all__ = ["AdverseEvent", "CtcaeTerm", "VisceralCrisis"]

OTHER_SPECIFY_SUFFIX = "- Other, specify"


class CtcaeTerm(models.Model):
    """One CTCAE v5.0 term with its grade definitions (clinical-spec §5.2). Loaded by ``manage.py import_ctcae``.

    An empty grade text means the grade does not exist for the term ("-" in NCI's sheet): it is never offered.
    """

    soc = models.CharField("system organ class", max_length=200)
    term = models.CharField("CTCAE term", max_length=200, unique=True)
    grade_1 = models.TextField(blank=True)
    grade_2 = models.TextField(blank=True)
    grade_3 = models.TextField(blank=True)
    grade_4 = models.TextField(blank=True)
    grade_5 = models.TextField(blank=True)
    definition = models.TextField(blank=True)
    version = models.CharField(max_length=10, default="5.0")
    history = HistoricalRecords()

    class Meta:
        ordering = ["soc", "term"]
        verbose_name = "CTCAE term"

    def __str__(self) -> str:
        return self.term

    def grade_text(self, grade: int) -> str:
        return str(getattr(self, f"grade_{grade}", "") or "") if grade in range(1, 6) else ""

    def grade_texts(self) -> dict[int, str]:
        """The grades that exist for this term, with their CTCAE descriptions."""
        return {grade: text for grade in range(1, 6) if (text := self.grade_text(grade))}

    @property
    def available_grades(self) -> tuple[int, ...]:
        return tuple(self.grade_texts())

    @property
    def is_other_specify(self) -> bool:
        return self.term.endswith(OTHER_SPECIFY_SUFFIX)


# Adverse event (CRF 12) ------------------------------------------------------------------------------------------


class AttributionLevel(models.TextChoices):
    UNRELATED = calc.Attribution.UNRELATED.value, "Unrelated"
    UNLIKELY = calc.Attribution.UNLIKELY.value, "Unlikely"
    POSSIBLE = calc.Attribution.POSSIBLE.value, "Possible"
    PROBABLE = calc.Attribution.PROBABLE.value, "Probable"
    DEFINITE = calc.Attribution.DEFINITE.value, "Definite"


class Expectedness(models.TextChoices):
    EXPECTED = "expected", "Expected (listed in the reference safety information)"
    UNEXPECTED = "unexpected", "Unexpected"


class AdverseEventOutcome(models.TextChoices):
    RECOVERED = "recovered", "Recovered / resolved"
    RECOVERING = "recovering", "Recovering / resolving"
    NOT_RECOVERED = "not_recovered", "Not recovered / not resolved"
    RECOVERED_WITH_SEQUELAE = "sequelae", "Recovered with sequelae"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


#: Outcomes that mean the event ended (a resolution date is expected) and those that mean it goes on.
RESOLVED_OUTCOMES = frozenset({AdverseEventOutcome.RECOVERED, AdverseEventOutcome.RECOVERED_WITH_SEQUELAE})
UNRESOLVED_OUTCOMES = frozenset({AdverseEventOutcome.RECOVERING, AdverseEventOutcome.NOT_RECOVERED})


class ActionTaken(models.TextChoices):
    NONE = "none", "Dose not changed"
    REDUCED = "reduced", "Dose reduced"
    INTERRUPTED = "interrupted", "Treatment interrupted"
    WITHDRAWN = "withdrawn", "Treatment permanently withdrawn"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


GRADE_CHOICES = [(grade, f"Grade {grade}") for grade in range(1, 6)]

#: model field per intervention (D15), in form order
ATTRIBUTION_FIELDS: dict[calc.Intervention, str] = {
    intervention: f"attribution_{intervention.value}" for intervention in calc.Intervention
}
#: model field per ICH E2A seriousness criterion
SERIOUSNESS_FIELDS: dict[calc.SeriousnessCriterion, str] = {
    criterion: f"serious_{criterion.value}" for criterion in calc.SeriousnessCriterion
}


def _attribution(label: str) -> models.CharField:  # type: ignore[type-arg]
    return models.CharField(
        f"attribution to {label}",
        max_length=10,
        choices=AttributionLevel.choices,
        blank=True,
    )


def _yes(label: str) -> models.BooleanField:  # type: ignore[type-arg]
    return models.BooleanField(label, default=False)


def _grade_available(record: Any, context: CheckContext) -> Iterable[Finding]:
    term, grade = record.term, record.grade
    if term is None or grade is None:
        return
    if grade not in term.available_grades:
        offered = ", ".join(str(g) for g in term.available_grades)
        yield Finding(
            "grade",
            f"Grade {grade} does not exist in CTCAE v5.0 for {term.term} (grades {offered}).",
            "grade_not_available",
        )


def _other_specify(record: Any, context: CheckContext) -> Iterable[Finding]:
    term, text = record.term, (record.other_specify or "").strip()
    if term is None:
        return
    if term.is_other_specify and not text and context.completing:
        yield Finding("other_specify", "Name the event: the CTCAE term is an 'Other, specify' term.", "other_specify")
    if text and not term.is_other_specify:
        yield Finding(
            "other_specify",
            f"'Other, specify' text is only for an '… - Other, specify' term, not {term.term}.",
            "other_specify_not_other",
        )


def _fatal_outcome(record: Any, context: CheckContext) -> Iterable[Finding]:
    outcome = record.outcome
    if record.grade == 5 and outcome and outcome != AdverseEventOutcome.FATAL:
        yield Finding("outcome", "Grade 5 is death related to the event: the outcome must be fatal.", "grade_5_outcome")
    if outcome == AdverseEventOutcome.FATAL and not record.serious_death:
        yield Finding(
            "serious_death", "A fatal outcome makes the event serious: tick 'results in death'.", "fatal_not_serious"
        )
    if record.serious_death and outcome and outcome != AdverseEventOutcome.FATAL:
        yield Finding(
            "outcome", "The event is serious because it resulted in death: the outcome must be fatal.", "death_outcome"
        )
    if outcome == AdverseEventOutcome.FATAL and record.grade is not None and record.grade != 5 and context.completing:
        yield Finding(
            "grade",
            "A fatal outcome is normally grade 5 (death related to the adverse event): please confirm the grade.",
            "fatal_not_grade_5",
            Severity.WARNING,
        )


def _death_record_expected(record: Any, context: CheckContext) -> Iterable[Finding]:
    if not context.completing or not (record.grade == 5 or record.outcome == AdverseEventOutcome.FATAL):
        return
    death = apps.get_model("patients", "Death")
    if not context.lookup("death_exists", lambda: death.objects.filter(patient=context.patient).exists()):
        yield Finding(
            "grade",
            "A fatal adverse event: a Death form is expected for this patient.",
            "death_record_expected",
            Severity.WARNING,
        )


def _resolution_or_ongoing(record: Any, context: CheckContext) -> Iterable[Finding]:
    resolved, ongoing, outcome = record.resolution_date, record.ongoing, record.outcome
    if resolved is not None and ongoing:
        yield Finding("ongoing", "An event with a resolution date is not ongoing: clear one of them.", "ongoing")
    if resolved is not None and outcome in UNRESOLVED_OUTCOMES:
        yield Finding(
            "resolution_date",
            f"The outcome is '{AdverseEventOutcome(outcome).label}': an unresolved event has no resolution date.",
            "resolution_unresolved",
        )
    if not context.completing:
        return
    if resolved is None and not ongoing and outcome != AdverseEventOutcome.FATAL:
        yield Finding(
            "resolution_date", "Give the resolution date, or tick 'ongoing' if not resolved.", "resolution_or_ongoing"
        )
    if resolved is None and outcome in RESOLVED_OUTCOMES:
        yield Finding(
            "resolution_date",
            f"The outcome is '{AdverseEventOutcome(outcome).label}': give the resolution date.",
            "resolution_missing",
        )


def _attribution_given(record: Any, context: CheckContext) -> Iterable[Finding]:
    if not context.completing:
        return
    interventions = [name for intervention, name in ATTRIBUTION_FIELDS.items() if intervention in calc.TREATMENTS]
    if not any(getattr(record, name) for name in interventions):
        yield Finding(
            interventions[0],
            "Give the attribution to each study treatment the patient received (at least one).",
            "attribution_missing",
        )


def _serious_needs_awareness(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and record.is_serious and record.site_awareness_date is None:
        yield Finding(
            "site_awareness_date",
            "A serious adverse event needs the date the site became aware of it (the 24-hour clock starts there).",
            "sae_awareness_missing",
        )


def _expectedness_for_serious_related(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and record.is_serious and record.is_treatment_related and not record.expectedness:
        yield Finding(
            "expectedness",
            "A serious, treatment-related event needs its expectedness (it decides whether it is a SUSAR).",
            "expectedness_missing",
        )


ADVERSE_EVENT_RULES = rules(
    _grade_available,
    _other_specify,
    _fatal_outcome,
    _death_record_expected,
    _resolution_or_ongoing,
    date_order("onset_date", "resolution_date"),
    not_in_future("onset_date", "resolution_date", "site_awareness_date", "reported_to_sponsor_date"),
    not_before_consent("onset_date"),
    _attribution_given,
    _serious_needs_awareness,
    _expectedness_for_serious_related,
    date_order("onset_date", "site_awareness_date"),
    date_order("site_awareness_date", "reported_to_sponsor_date"),
)


class AdverseEvent(CaseReportForm):
    """CRF 12, Adverse event: one record per episode with its worst CTCAE v5.0 grade (D15), attribution per
    intervention, ICH E2A seriousness and the expedited-reporting dates (D16)."""

    term = models.ForeignKey(
        CtcaeTerm, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="CTCAE term"
    )
    other_specify = models.CharField(
        "other, specify",
        max_length=200,
        blank=True,
        help_text="Only for an '… - Other, specify' term: the event in a few words.",
    )
    grade = models.PositiveSmallIntegerField("worst grade", null=True, blank=True, choices=GRADE_CHOICES)
    onset_date = models.DateField("onset date", null=True, blank=True)
    resolution_date = models.DateField("resolution date", null=True, blank=True)
    ongoing = models.BooleanField("ongoing", default=False, help_text="Not resolved at the time of reporting.")

    attribution_sabr = _attribution("SABR")
    attribution_surgery = _attribution("surgery")
    attribution_rfa = _attribution("radiofrequency ablation")
    attribution_endocrine_therapy = _attribution("endocrine therapy")
    attribution_cdk46_inhibitor = _attribution("the CDK4/6 inhibitor")
    attribution_physicians_choice = _attribution("physician's-choice therapy")
    attribution_disease = models.CharField(
        "attribution to the disease", max_length=10, choices=AttributionLevel.choices, blank=True
    )

    serious_death = _yes("results in death")
    serious_life_threatening = _yes("life-threatening")
    serious_hospitalisation = _yes("requires or prolongs inpatient hospitalisation")
    serious_disability = _yes("persistent or significant disability / incapacity")
    serious_congenital_anomaly = _yes("congenital anomaly / birth defect")
    serious_important_medical_event = _yes("other important medical event")

    expectedness = models.CharField(max_length=10, choices=Expectedness.choices, blank=True)
    outcome = models.CharField(max_length=14, choices=AdverseEventOutcome.choices, blank=True)
    action_taken = models.CharField(
        "action taken with study treatment", max_length=14, choices=ActionTaken.choices, blank=True
    )
    site_awareness_date = models.DateField(
        "date the site became aware", null=True, blank=True, help_text="For a serious adverse event: day 0 of 24 h."
    )
    reported_to_sponsor_date = models.DateField(
        "date reported to the sponsor",
        null=True,
        blank=True,
        help_text="The sponsor's awareness: day 0 of the 7 / 15-day SUSAR clock.",
    )
    history = HistoricalRecords()

    crf = CrfSpec(
        code="adverse-event",
        name="Adverse event",
        number=12,
        trials=frozenset({"avatar2", "cosmo"}),
        repeating=True,
        required=("term", "grade", "onset_date", "attribution_disease", "outcome", "action_taken"),
        rules=ADVERSE_EVENT_RULES,
        date_field="onset_date",
        form="patients.crfs.safety_forms.AdverseEventForm",
    )

    class Meta:
        verbose_name = "adverse event"

    # The calculators' inputs -----------------------------------------------------------------------------------

    def attributions(self) -> dict[calc.Intervention, calc.Attribution | None]:
        return {
            intervention: calc.Attribution(value) if (value := getattr(self, name)) else None
            for intervention, name in ATTRIBUTION_FIELDS.items()
        }

    def seriousness_criteria(self) -> list[calc.SeriousnessCriterion]:
        return [criterion for criterion, name in SERIOUSNESS_FIELDS.items() if getattr(self, name)]

    @property
    def is_serious(self) -> bool:
        return calc.is_serious(self.seriousness_criteria())

    @property
    def is_treatment_related(self) -> bool:
        return calc.is_treatment_related(self.attributions())

    @property
    def is_lat_related(self) -> bool:
        return calc.is_lat_related(self.attributions())

    def susar_status(self) -> calc.SusarStatus:
        expected = None if not self.expectedness else self.expectedness == Expectedness.EXPECTED
        return calc.susar_status(serious=self.is_serious, related=self.is_treatment_related, expected=expected)

    def site_to_sponsor_clock(self) -> calc.ReportingClock | None:
        if not self.is_serious or self.site_awareness_date is None:
            return None
        return calc.site_to_sponsor_clock(awareness=self.site_awareness_date, reported=self.reported_to_sponsor_date)

    def susar_clock(self) -> calc.ReportingClock | None:
        if self.susar_status() != calc.SusarStatus.SUSAR or self.reported_to_sponsor_date is None:
            return None
        fatal = self.serious_death or self.serious_life_threatening or self.outcome == AdverseEventOutcome.FATAL
        return calc.susar_clock(sponsor_awareness=self.reported_to_sponsor_date, fatal_or_life_threatening=fatal)

    def term_label(self) -> str:
        term = self.term if self.term_id is not None else None
        if term is None:
            return "Adverse event"
        other = (self.other_specify or "").strip()
        return f"{term.term}: {other}" if other and term.is_other_specify else term.term

    def summary(self) -> str:
        grade = f" grade {self.grade}" if self.grade else ""
        serious = " (SAE)" if self.is_serious else ""
        onset = f", onset {self.onset_date}" if self.onset_date else ""
        return f"{self.term_label()}{grade}{serious}{onset}"

    def derived_values(self) -> list[tuple[str, Any]]:
        yes_no = {True: "Yes", False: "No"}
        values: list[tuple[str, Any]] = [
            ("Serious (ICH E2A)", yes_no[self.is_serious]),
            ("Treatment-related", yes_no[self.is_treatment_related]),
            ("LAT-related", yes_no[self.is_lat_related]),
        ]
        susar = self.susar_status()
        if self.is_serious:
            susar_label = {
                calc.SusarStatus.SUSAR: "Yes",
                calc.SusarStatus.NOT_SUSAR: "No",
                calc.SusarStatus.UNDETERMINED: "Expectedness not assessed",
            }[susar]
            values.append(("SUSAR", susar_label))
        today = timezone.localdate()
        site_clock = self.site_to_sponsor_clock()
        if site_clock is not None:
            values.append(("Site → sponsor report due (24 h)", site_clock.due))
            values.append(("Site → sponsor report", _clock_text(site_clock, today)))
        elif self.is_serious:
            values.append(("Site → sponsor report due (24 h)", "awareness date missing"))
        susar_clock = self.susar_clock()
        if susar_clock is not None:
            days = (susar_clock.due - susar_clock.start).days
            values.append((f"SUSAR report to authorities due ({days} days)", susar_clock.due))
        elif susar == calc.SusarStatus.SUSAR:
            values.append(("SUSAR report to authorities due", "date reported to the sponsor missing"))
        return values


def _clock_text(clock: calc.ReportingClock, today: date) -> str:
    status = clock.status(today)
    if status == calc.ClockStatus.ON_TIME:
        return f"on time ({clock.done})"
    if status == calc.ClockStatus.LATE:
        return f"late by {clock.days_late(today)} day(s) ({clock.done})"
    if status == calc.ClockStatus.OVERDUE:
        return f"OVERDUE by {clock.days_late(today)} day(s)"
    return "pending"


# Visceral crisis (CRF 13) ----------------------------------------------------------------------------------------


class TreatmentDecision(models.TextChoices):
    CHEMOTHERAPY = "chemotherapy", "Switch to chemotherapy"
    OTHER_SYSTEMIC = "other_systemic", "Other change of systemic therapy"
    LOCAL_THERAPY = "local_therapy", "Local therapy (e.g. drainage, radiotherapy, surgery)"
    SUPPORTIVE_CARE = "supportive_care", "Best supportive care"
    OTHER = "other", "Other"


VISCERAL_ORGAN_FIELDS = ("organ_liver", "organ_lung_pleura", "organ_bone_marrow", "organ_cns", "organ_other")
ORGAN_LABELS = {
    "organ_liver": "liver",
    "organ_lung_pleura": "lung / pleura",
    "organ_bone_marrow": "bone marrow",
    "organ_cns": "central nervous system",
}


def _an_organ(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and not any(getattr(record, name) for name in VISCERAL_ORGAN_FIELDS):
        yield Finding("organ_liver", "Tick at least one organ in crisis.", "organ_missing")


def _specify_when(flag: str, text: str, message: str, code: str) -> Any:
    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        if context.completing and getattr(record, flag) and not (getattr(record, text) or "").strip():
            yield Finding(text, message, code)

    return rule


def _lab_needs_uln(value: str, uln: str, label: str) -> Any:
    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        if getattr(record, value) is not None and getattr(record, uln) is None:
            yield Finding(uln, f"Give the laboratory's upper limit of normal for {label}.", "uln_missing")

    return rule


def _abc_attested(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and not record.abc_definition_met:
        yield Finding(
            "abc_definition_met",
            "The investigator must attest that the ABC definition of visceral crisis is met to complete the form.",
            "abc_not_attested",
        )


VISCERAL_CRISIS_RULES = rules(
    not_in_future("onset_date"),
    not_before_consent("onset_date"),
    _an_organ,
    _specify_when("organ_other", "organ_other_specify", "Name the other organ.", "organ_other_specify"),
    _specify_when(
        "treatment_decision_is_other", "treatment_decision_specify", "Describe the decision.", "decision_specify"
    ),
    _lab_needs_uln("bilirubin", "bilirubin_uln", "bilirubin"),
    _lab_needs_uln("alt", "alt_uln", "ALT"),
    _lab_needs_uln("ast", "ast_uln", "AST"),
    # Both bounds: the framework's message for an exclusive lower bound alone reads "at least" (see the report).
    in_range("bilirubin_uln", 0, 1000, unit="µmol/L", exclusive=True),
    in_range("alt_uln", 0, 10000, unit="U/L", exclusive=True),
    in_range("ast_uln", 0, 10000, unit="U/L", exclusive=True),
    in_range("spo2", 50, 100, unit="%"),
    in_range("haemoglobin", Decimal("2"), Decimal("25"), unit="g/dL"),
    in_range("neutrophils", Decimal("0"), Decimal("100"), unit="× 10⁹/L"),
    in_range("platelets", 0, 2000, unit="× 10⁹/L"),
    _abc_attested,
)


def _decimal(label: str, *, digits: int = 6, places: int = 1, help_text: str = "") -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(
        label, max_digits=digits, decimal_places=places, null=True, blank=True, help_text=help_text
    )


def _finding(label: str) -> models.BooleanField:  # type: ignore[type-arg]
    # Yes / no / not assessed: None means the finding was not looked for.
    return models.BooleanField(label, null=True, blank=True)


class VisceralCrisis(CaseReportForm):
    """CRF 13, Visceral crisis (ABC consensus; clinical-spec §7.2, D20): severe organ dysfunction with rapid
    progression, attested by the investigator. Counted as its own endpoint; a PFS event only with a progression."""

    onset_date = models.DateField("onset date", null=True, blank=True)
    organ_liver = _yes(ORGAN_LABELS["organ_liver"])
    organ_lung_pleura = _yes(ORGAN_LABELS["organ_lung_pleura"])
    organ_bone_marrow = _yes(ORGAN_LABELS["organ_bone_marrow"])
    organ_cns = _yes(ORGAN_LABELS["organ_cns"])
    organ_other = _yes("other organ")
    organ_other_specify = models.CharField("other organ, specify", max_length=200, blank=True)

    bilirubin = _decimal("total bilirubin (µmol/L)")
    bilirubin_uln = _decimal("bilirubin upper limit of normal (µmol/L)")
    alt = _decimal("ALT (U/L)", digits=7, places=0)
    alt_uln = _decimal("ALT upper limit of normal (U/L)", digits=7, places=0)
    ast = _decimal("AST (U/L)", digits=7, places=0)
    ast_uln = _decimal("AST upper limit of normal (U/L)", digits=7, places=0)
    dyspnoea_at_rest = _finding("dyspnoea at rest")
    spo2 = models.PositiveSmallIntegerField("SpO₂ (%)", null=True, blank=True)
    spo2_on_room_air = _finding("SpO₂ measured on room air")
    haemoglobin = _decimal("haemoglobin (g/dL)", digits=4)
    neutrophils = _decimal("neutrophils (× 10⁹/L)", digits=5, places=2)
    platelets = models.PositiveIntegerField("platelets (× 10⁹/L)", null=True, blank=True)
    lymphangitic_spread = _finding("lymphangitic carcinomatosis")
    rapid_progression = _finding("rapid progression of disease")
    other_findings = models.TextField("other supporting findings", blank=True)

    abc_definition_met = models.BooleanField(
        "the investigator attests that the ABC definition of visceral crisis is met",
        default=False,
        help_text="Severe organ dysfunction (signs and symptoms, laboratory studies) with rapid progression of "
        "disease, needing a more rapidly efficacious therapy; not the mere presence of visceral metastases (ABC4).",
    )
    treatment_decision = models.CharField(max_length=16, choices=TreatmentDecision.choices, blank=True)
    treatment_decision_specify = models.CharField("treatment decision, details", max_length=200, blank=True)
    history = HistoricalRecords()

    crf = CrfSpec(
        code="visceral-crisis",
        name="Visceral crisis",
        number=13,
        trials=frozenset({"avatar2", "cosmo"}),
        repeating=True,
        required=("onset_date", "treatment_decision"),
        rules=VISCERAL_CRISIS_RULES,
        date_field="onset_date",
        form="patients.crfs.safety_forms.VisceralCrisisForm",
    )

    class Meta:
        verbose_name = "visceral crisis"
        verbose_name_plural = "visceral crises"

    @property
    def treatment_decision_is_other(self) -> bool:
        return self.treatment_decision == TreatmentDecision.OTHER

    def organs(self) -> list[str]:
        found = [label for name, label in ORGAN_LABELS.items() if getattr(self, name)]
        if self.organ_other:
            found.append(self.organ_other_specify.strip() or "other")
        return found

    def summary(self) -> str:
        organs = ", ".join(self.organs()) or "organ not given"
        return f"Visceral crisis ({organs}){f', onset {self.onset_date}' if self.onset_date else ''}"

    def derived_values(self) -> list[tuple[str, Any]]:
        values: list[tuple[str, Any]] = [("Organs", ", ".join(self.organs()) or None)]
        for label, value, uln in (
            ("Bilirubin × ULN", self.bilirubin, self.bilirubin_uln),
            ("ALT × ULN", self.alt, self.alt_uln),
            ("AST × ULN", self.ast, self.ast_uln),
        ):
            if value is not None and uln:
                values.append((label, f"{Decimal(value) / Decimal(uln):.1f}"))
        values.append(("ABC definition attested", "Yes" if self.abc_definition_met else "No"))
        return values
