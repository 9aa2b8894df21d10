"""CRF 1, Screening & eligibility, and CRF 2, Registration (COSMO) / Randomisation (AVATAR II) (trials.md).

Each trial has its own eligibility checklist, one explicit yes/no field per criterion, so exports and queries read
the criteria by name. The criteria are derived from the registry entries (``shared/seeds``), trials.md and
clinical-spec.md §1.8e / §7.1; check them against the final protocols before go-live. "Eligible" is derived (every
inclusion criterion met, no exclusion criterion) and stored for queries and dashboards. A coordinator fills in the
checklist; only a site investigator confirms it (``services.enrolment.investigator_confirm``), and who and when are
kept on the record.

Registration / randomisation comes after a complete, eligible, confirmed checklist; one per patient. Completing it
sets the patient's enrolment date (the origin of every endpoint, decisions D1) through
``services.enrolment.enrolment_patient_sync``. The allocated arm is set later by the allocation, never on the form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from ..crf import CaseReportForm, CrfSpec, CrfStatus
from ..edit_checks import CheckContext, Finding, Rule, Severity, not_before_consent, not_in_future, rules

__all__ = [
    "AvatarEligibility",
    "CosmoEligibility",
    "EndocrinePartner",
    "OligoLesionsStratum",
    "Randomisation",
    "Registration",
]

YES_NO = [(True, "Yes"), (False, "No")]


def yes_no(verbose_name: str, help_text: str = "") -> Any:
    """A yes/no question; null until answered, so a draft can leave it open."""
    return models.BooleanField(verbose_name, null=True, blank=True, choices=YES_NO, help_text=help_text)


# Shared rule blocks (also used by the disease CRFs) -------------------------------------------------------------


def required_on_completion_when(name: str, condition: Callable[[Any], bool], message: str) -> Rule:
    """Like ``required_when`` but, as for the spec's ``required`` fields, only when the form is being completed."""

    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        value = getattr(record, name, None)
        if context.completing and condition(record) and (value is None or value == ""):
            yield Finding(name, message, "required_when")

    return rule


def one_per_patient(field_name: str) -> Rule:
    """At most one record of the form per patient (the database constraint is the backstop for races).

    ``field_name`` empty: the finding is about the whole form."""

    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        others = type(record)._default_manager.filter(patient_id=context.patient.pk)
        if record.pk is not None:
            others = others.exclude(pk=record.pk)
        if others.exists():
            yield Finding(
                field_name,
                f"This patient already has a {record.crf.name} form: a patient has only one; correct that one.",
                "one_per_patient",
            )

    return rule


class InvestigatorConfirmation(models.Model):
    """A site investigator's confirmation of a complete form: who and when (trials.md, "People").

    Not a form field: set only by ``services.enrolment.investigator_confirm``, which checks the role."""

    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name="confirmed by (site investigator)",
    )
    confirmed_at = models.DateTimeField("confirmed at", null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def investigator_confirmed(self) -> bool:
        return self.confirmed_by_id is not None

    def confirmation_display(self) -> str:
        if not self.investigator_confirmed or self.confirmed_at is None:
            return "Not yet confirmed by the site investigator"
        user = self.confirmed_by
        name = (user.get_full_name() or user.get_username()) if user is not None else "?"
        return f"Confirmed by {name} on {self.confirmed_at:%Y-%m-%d %H:%M}"


# CRF 1: Screening & eligibility -----------------------------------------------------------------------------------


def screen_failure_reason_fits(record: Any, context: CheckContext) -> Iterable[Finding]:
    eligible = record.compute_eligible()
    reason = (record.screen_failure_reason or "").strip()
    if eligible is False and not reason and context.completing:
        yield Finding(
            "screen_failure_reason",
            "Give the screen-failure reason: the patient does not meet every criterion.",
            "screen_failure_reason_missing",
        )
    if eligible is True and reason:
        yield Finding(
            "screen_failure_reason",
            "Leave the screen-failure reason empty: the patient meets every criterion.",
            "screen_failure_reason_when_eligible",
        )


ELIGIBILITY = rules(one_per_patient(""), screen_failure_reason_fits)


class Eligibility(CaseReportForm, InvestigatorConfirmation):
    """The checklist common to both trials; each trial's model adds its criteria and names them."""

    #: inclusion criteria: each must be answered "yes"
    INCLUSION: ClassVar[tuple[str, ...]] = ()
    #: exclusion criteria: each must be answered "no"
    EXCLUSION: ClassVar[tuple[str, ...]] = ()

    eligible = models.BooleanField(
        "eligible",
        null=True,
        blank=True,
        editable=False,
        help_text="Derived on save: every inclusion criterion met and no exclusion criterion; empty while unanswered.",
    )
    screen_failure_reason = models.TextField(
        blank=True, help_text="Required when the patient is not eligible: which criterion failed and why."
    )

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.eligible = self.compute_eligible()
        super().save(*args, **kwargs)

    @classmethod
    def criteria(cls) -> tuple[str, ...]:
        return (*cls.INCLUSION, *cls.EXCLUSION)

    def compute_eligible(self) -> bool | None:
        inclusion = [getattr(self, name) for name in self.INCLUSION]
        exclusion = [getattr(self, name) for name in self.EXCLUSION]
        if any(value is False for value in inclusion) or any(value is True for value in exclusion):
            return False
        if any(value is None for value in (*inclusion, *exclusion)):
            return None
        return True

    def failed_criteria(self) -> list[str]:
        failed = [name for name in self.INCLUSION if getattr(self, name) is False]
        failed += [name for name in self.EXCLUSION if getattr(self, name) is True]
        return [str(getattr(self._meta.get_field(name), "verbose_name", name)) for name in failed]

    def eligibility_display(self) -> str:
        eligible = self.compute_eligible()
        if eligible is None:
            unanswered = sum(getattr(self, name) is None for name in self.criteria())
            return f"Not known yet ({unanswered} criteria unanswered)"
        if eligible:
            return "Eligible"
        return "Not eligible: " + "; ".join(self.failed_criteria())

    def summary(self) -> str:
        eligible = self.compute_eligible()
        state = "Eligible" if eligible else ("Not eligible" if eligible is False else "Checklist incomplete")
        return f"{state}, {'confirmed' if self.investigator_confirmed else 'not confirmed'}"

    def derived_values(self) -> list[tuple[str, Any]]:
        return [("Eligibility", self.eligibility_display()), ("Investigator", self.confirmation_display())]


_ELIGIBILITY_REQUIRED_COSMO = (
    "metastatic_breast_cancer",
    "palliative_first_or_second_line",
    "disease_control_6_months",
    "oligoprogression",
    "progression_threshold_met",
    "same_imaging_modality",
    "pet_ct_confirmed",
    "amenable_to_local_therapy",
    "visceral_crisis",
    "systemic_therapy_change_needed",
)


class CosmoEligibility(Eligibility):
    """CRF 1 for COSMO (registry entry; clinical-spec.md §1.8e and §7.1)."""

    INCLUSION = _ELIGIBILITY_REQUIRED_COSMO[:8]
    EXCLUSION = _ELIGIBILITY_REQUIRED_COSMO[8:]

    metastatic_breast_cancer = yes_no("metastatic breast cancer")
    palliative_first_or_second_line = yes_no("on first- or second-line palliative systemic therapy")
    disease_control_6_months = yes_no(
        "stable disease, partial or complete response on this therapy for at least 6 months"
    )
    oligoprogression = yes_no(
        "oligoprogression: 1–2 progressive lesions limited to one organ, or the primary tumour / regional nodes"
    )
    progression_threshold_met = yes_no(
        "each progressive lesion grew ≥ 20 % and is > 15 mm, or its FDG SUVmax rose ≥ 20 %",
        "Bone: the lytic component or the FDG uptake rose ≥ 20 %. This is the COSMO definition, not RECIST.",
    )
    same_imaging_modality = yes_no("progression shown with the imaging modality used at the start of this therapy")
    pet_ct_confirmed = yes_no("oligoprogression confirmed on FDG-PET-CT about 6 weeks later")
    amenable_to_local_therapy = yes_no(
        "every progressive lesion amenable to local ablative therapy (SABR, surgery or RFA)"
    )
    visceral_crisis = yes_no("visceral crisis (ABC consensus definition)", "Exclusion criterion: answer no to enrol.")
    systemic_therapy_change_needed = yes_no(
        "a change of systemic therapy is needed or planned",
        "Exclusion criterion: COSMO continues the same systemic therapy after local ablative therapy.",
    )
    history = HistoricalRecords()

    crf = CrfSpec(
        code="eligibility-cosmo",
        name="Screening & eligibility",
        number=1,
        trials=frozenset({"cosmo"}),
        visit_kinds=frozenset({"screening"}),
        required=_ELIGIBILITY_REQUIRED_COSMO,
        rules=ELIGIBILITY,
        form="patients.crfs.enrolment_forms.CosmoEligibilityForm",
    )

    class Meta:
        verbose_name = "screening & eligibility (COSMO)"
        verbose_name_plural = "screening & eligibility (COSMO)"
        constraints = [models.UniqueConstraint(fields=["patient"], name="unique_cosmo_eligibility_per_patient")]

    def __str__(self) -> str:
        return f"{self.crf.name}: {self.summary()}"


_ELIGIBILITY_REQUIRED_AVATAR = (
    "er_positive_her2_negative",
    "first_line_endocrine_cdk46",
    "response_6_months",
    "newly_diagnosed_oligoprogression",
    "amenable_to_sabr",
    "visceral_crisis",
)


class AvatarEligibility(Eligibility):
    """CRF 1 for AVATAR II (NCT06882499; clinical-spec.md §7.1)."""

    INCLUSION = _ELIGIBILITY_REQUIRED_AVATAR[:5]
    EXCLUSION = _ELIGIBILITY_REQUIRED_AVATAR[5:]

    er_positive_her2_negative = yes_no("ER-positive, HER2-negative advanced breast cancer")
    first_line_endocrine_cdk46 = yes_no(
        "on first-line endocrine therapy (aromatase inhibitor or fulvestrant / other SERD) with a CDK4/6 inhibitor"
    )
    response_6_months = yes_no(
        "radiological response (stable disease or partial response) on this therapy for at least 6 months"
    )
    newly_diagnosed_oligoprogression = yes_no(
        "newly diagnosed oligoprogressive disease",
        "No more progressing lesions than the protocol allows (the trial's max_oligo_lesions setting).",
    )
    amenable_to_sabr = yes_no("every oligoprogressive site amenable to SABR")
    visceral_crisis = yes_no("visceral crisis (ABC consensus definition)", "Exclusion criterion: answer no to enrol.")
    history = HistoricalRecords()

    crf = CrfSpec(
        code="eligibility-avatar2",
        name="Screening & eligibility",
        number=1,
        trials=frozenset({"avatar2"}),
        visit_kinds=frozenset({"screening"}),
        required=_ELIGIBILITY_REQUIRED_AVATAR,
        rules=ELIGIBILITY,
        form="patients.crfs.enrolment_forms.AvatarEligibilityForm",
    )

    class Meta:
        verbose_name = "screening & eligibility (AVATAR II)"
        verbose_name_plural = "screening & eligibility (AVATAR II)"
        constraints = [models.UniqueConstraint(fields=["patient"], name="unique_avatar_eligibility_per_patient")]

    def __str__(self) -> str:
        return f"{self.crf.name}: {self.summary()}"


ELIGIBILITY_MODELS: tuple[type[Eligibility], ...] = (CosmoEligibility, AvatarEligibility)


def eligibility_model_for(trial_code: str) -> type[Eligibility] | None:
    return next((m for m in ELIGIBILITY_MODELS if m.crf.used_in(trial_code)), None)


# CRF 2: Registration / randomisation ------------------------------------------------------------------------------


def _origin_field(record: Any) -> str:
    return str(record.crf.date_field)


def enrolled_once(record: Any, context: CheckContext) -> Iterable[Finding]:
    """A patient is registered / randomised once: one record, and no second origin beside an existing one."""
    field = _origin_field(record)
    others = type(record)._default_manager.filter(patient_id=context.patient.pk)
    if record.pk is not None:
        others = others.exclude(pk=record.pk)
    if others.exists():
        yield Finding(
            field,
            f"This patient already has a {record.crf.name.lower()} record: a patient may not be "
            f"{record.ENROLLED_AS.lower()} twice.",
            "enrolled_twice",
        )
        return
    origin = context.patient.enrolment_date
    stored_complete = (
        record.pk is not None and type(record)._default_manager.filter(pk=record.pk, status=CrfStatus.COMPLETE).exists()
    )
    # A complete record is the source of the patient's enrolment date: correcting it moves the date. Any other
    # record may only document the enrolment date the patient already has.
    if origin is not None and not stored_complete and getattr(record, field) != origin:
        yield Finding(
            field,
            f"This patient was already enrolled on {origin}: a patient may not be {record.ENROLLED_AS.lower()} twice.",
            "already_enrolled",
        )


def eligibility_confirmed(record: Any, context: CheckContext) -> Iterable[Finding]:
    """Registration / randomisation only after a complete, eligible, investigator-confirmed checklist (§6.2)."""
    if not context.completing:
        return
    model = eligibility_model_for(context.patient.trial.code)
    checklist = model._default_manager.filter(patient_id=context.patient.pk).first() if model else None
    action = record.ENROLLED_AS.lower()
    if checklist is None or not checklist.is_complete:
        message = f"Complete the screening & eligibility form before the patient can be {action}."
        yield Finding("", message, "eligibility_incomplete")
    elif checklist.eligible is not True:
        yield Finding("", f"The eligibility form says not eligible: the patient cannot be {action}.", "not_eligible")
    elif not checklist.investigator_confirmed:
        message = f"The site investigator must confirm eligibility before the patient can be {action}."
        yield Finding("", message, "eligibility_unconfirmed")


def endocrine_partner_matches_therapy(record: Any, context: CheckContext) -> Iterable[Finding]:
    """The stratum should match the endocrine agent of the therapy line running at randomisation (D17)."""
    from .disease import SystemicTherapyLine  # the disease CRFs import this module

    when = record.randomisation_date
    if not (context.completing and record.endocrine_partner and when):
        return
    running = [
        line
        for line in SystemicTherapyLine.objects.filter(patient_id=context.patient.pk, protocol_therapy=False)
        if line.start_date is not None
        and line.start_date <= when
        and (line.stop_date is None or line.stop_date >= when)
    ]
    partners = {line.endocrine_partner() for line in running} - {None}
    if partners and record.endocrine_partner not in partners:
        current = ", ".join(EndocrinePartner(p).label.lower() for p in sorted(partners))
        yield Finding(
            "endocrine_partner",
            f"The stratification factor does not match the systemic therapy running at randomisation ({current}).",
            "endocrine_partner_mismatch",
            Severity.WARNING,
        )


def enrolment_rules(date_field: str) -> Any:
    return rules(not_in_future(date_field), not_before_consent(date_field), enrolled_once, eligibility_confirmed)


class Enrolment(CaseReportForm):
    """What registration and randomisation share: one per patient, an origin date, and the allocated arm."""

    #: the patient's new state in words, for messages and the audit trail
    ENROLLED_AS: ClassVar[str] = ""

    arm = models.ForeignKey(
        "trials.Arm",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="Set by the allocation when it is committed; never entered on the form.",
    )

    class Meta:
        abstract = True

    @property
    def origin_date(self) -> date | None:
        value: date | None = getattr(self, self.crf.date_field)
        return value

    def summary(self) -> str:
        return f"{self.ENROLLED_AS} {self.origin_date}" if self.origin_date else self.crf.name

    def derived_values(self) -> list[tuple[str, Any]]:
        return [("Arm", str(self.arm) if self.arm_id else "Not allocated yet")]


class Registration(Enrolment):
    """CRF 2 for COSMO: registration, the origin of every COSMO endpoint (decisions D1)."""

    ENROLLED_AS = "Registered"

    registration_date = models.DateField("registration date", null=True, blank=True)
    history = HistoricalRecords()

    crf = CrfSpec(
        code="registration",
        name="Registration",
        number=2,
        trials=frozenset({"cosmo"}),
        visit_kinds=frozenset({"enrolment"}),
        required=("registration_date",),
        rules=enrolment_rules("registration_date"),
        date_field="registration_date",
        form="patients.crfs.enrolment_forms.RegistrationForm",
    )

    class Meta:
        verbose_name = "registration"
        constraints = [models.UniqueConstraint(fields=["patient"], name="unique_registration_per_patient")]


class EndocrinePartner(models.TextChoices):
    """AVATAR II stratification factor (D17); codes are the strata-definition level codes."""

    AROMATASE_INHIBITOR = "ai", "Aromatase inhibitor"
    SERD = "serd", "Fulvestrant / other SERD"


class OligoLesionsStratum(models.TextChoices):
    """AVATAR II stratification factor (D17): number of oligoprogressive lesions."""

    ONE = "1", "1 lesion"
    TWO_TO_FIVE = "2-5", "2–5 lesions"


class Randomisation(Enrolment):
    """CRF 2 for AVATAR II: stratification factors as entered and the randomisation date (D1, D17, §6.2)."""

    ENROLLED_AS = "Randomised"

    randomisation_date = models.DateField("randomisation date", null=True, blank=True)
    endocrine_partner = models.CharField(
        "endocrine partner", max_length=4, choices=EndocrinePartner.choices, blank=True
    )
    oligo_lesions = models.CharField(
        "oligoprogressive lesions", max_length=3, choices=OligoLesionsStratum.choices, blank=True
    )
    history = HistoricalRecords()

    crf = CrfSpec(
        code="randomisation",
        name="Randomisation",
        number=2,
        trials=frozenset({"avatar2"}),
        visit_kinds=frozenset({"enrolment"}),
        required=("randomisation_date", "endocrine_partner", "oligo_lesions"),
        rules=enrolment_rules("randomisation_date") + rules(endocrine_partner_matches_therapy),
        date_field="randomisation_date",
        form="patients.crfs.enrolment_forms.RandomisationForm",
    )

    class Meta:
        verbose_name = "randomisation"
        constraints = [models.UniqueConstraint(fields=["patient"], name="unique_randomisation_per_patient")]

    def stratum_display(self) -> str:
        if not (self.endocrine_partner and self.oligo_lesions):
            return "Incomplete"
        return f"{self.get_endocrine_partner_display()} × {self.get_oligo_lesions_display()}"

    def derived_values(self) -> list[tuple[str, Any]]:
        return [("Stratum", self.stratum_display()), *super().derived_values()]


ENROLMENT_MODELS: tuple[type[Enrolment], ...] = (Registration, Randomisation)


def enrolment_model_for(trial_code: str) -> type[Enrolment] | None:
    return next((m for m in ENROLMENT_MODELS if m.crf.used_in(trial_code)), None)
