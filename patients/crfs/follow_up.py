"""Follow-up CRFs: FACT-B v4 (14), survival status contact (15), death (16) and end of study (17).

FACT-B is scored by the pure engine ``patients.domain.factb`` (clinical-spec §4, D14); nothing is re-implemented here.
The death form checks that nothing of the patient is dated after the death, generically over every CRF model.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from ..crf import CaseReportForm, CrfSpec, crf_models
from ..domain.factb import FACT_B_ITEMS, SUBSCALE_ITEMS, FactBScores, FactBSubscale, score_fact_b
from ..edit_checks import CheckContext, Finding, Severity, not_before_consent, not_in_future, rules
from ..fields import partial_date_earliest

__all__ = ["Death", "EndOfStudy", "FactB", "SurvivalStatusContact"]


def _one_per_patient(record: Any, context: CheckContext) -> Iterable[Finding]:
    """A patient has one death record and one end-of-study record; the screen opens the existing one, this stops a
    second from any other write path."""
    others = type(record)._default_manager.filter(patient=context.patient).exclude(pk=record.pk)
    if others.exists():
        field = record.crf.date_field
        yield Finding(field, f"This patient already has a {record.crf.name} form: correct that one.", "duplicate")


def _death_date(context: CheckContext) -> date | None:
    death = apps.get_model("patients", "Death")

    def load() -> date | None:
        return (
            death._default_manager.filter(patient=context.patient, death_date__isnull=False)
            .values_list("death_date", flat=True)
            .first()
        )

    return context.lookup("death_date", load)  # type: ignore[no-any-return]


# FACT-B (CRF 14) -------------------------------------------------------------------------------------------------

SUBSCALE_LABELS: dict[FactBSubscale, str] = {
    FactBSubscale.PHYSICAL: "physical",
    FactBSubscale.SOCIAL: "social/family",
    FactBSubscale.EMOTIONAL: "emotional",
    FactBSubscale.FUNCTIONAL: "functional",
    FactBSubscale.BREAST_CANCER: "breast cancer",
}
ITEM_SUBSCALE: dict[str, FactBSubscale] = {
    item: subscale for subscale, items in SUBSCALE_ITEMS.items() for item in items
}
RESPONSE_CHOICES = [(value, str(value)) for value in range(5)]
#: a questionnaire dated this many days from its visit raises a query
FACT_B_VISIT_TOLERANCE_DAYS = 14


def item_label(code: str) -> str:
    """A neutral label: the item code and its subscale. The English item wording is FACIT's copyright and is not
    reproduced; sites use the licensed paper or ePRO questionnaire."""
    return f"{code} ({SUBSCALE_LABELS[ITEM_SUBSCALE[code]]})"


def _item(code: str) -> models.PositiveSmallIntegerField:  # type: ignore[type-arg]
    return models.PositiveSmallIntegerField(item_label(code), null=True, blank=True, choices=RESPONSE_CHOICES)


def _an_item_answered(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and all(getattr(record, code.lower()) is None for code in FACT_B_ITEMS):
        yield Finding(
            "gp1", "No item is answered: a questionnaire not done is recorded on the visit, not here.", "no_answer"
        )


def _near_the_visit(record: Any, context: CheckContext) -> Iterable[Finding]:
    visit = record.visit
    completed = record.completion_date
    if not context.completing or visit is None or visit.visit_date is None or completed is None:
        return
    if abs((completed - visit.visit_date).days) > FACT_B_VISIT_TOLERANCE_DAYS:
        yield Finding(
            "completion_date",
            f"Completed {completed}, more than {FACT_B_VISIT_TOLERANCE_DAYS} days from the visit "
            f"({visit.visit_date}): please confirm the date.",
            "far_from_visit",
            Severity.WARNING,
        )


def _one_per_day(record: Any, context: CheckContext) -> Iterable[Finding]:
    """One questionnaire a day: the AUC and ADQS's baseline need to know which of two same-day answers counts
    (D14), so a second is refused here rather than guessed later."""
    if record.completion_date is None:
        return
    other = (
        FactB.objects.filter(patient_id=record.patient_id, completion_date=record.completion_date)
        .exclude(pk=record.pk)
        .order_by()
        .values_list("pk", flat=True)
        .first()
    )
    if other is not None:
        yield Finding(
            "completion_date",
            f"This patient already has a FACT-B questionnaire completed on {record.completion_date} (record "
            f"{other}): one questionnaire a day; correct that record or this date.",
            "same_day",
        )


FACT_B_RULES = rules(
    not_in_future("completion_date"),
    not_before_consent("completion_date"),
    _an_item_answered,
    _near_the_visit,
    _one_per_day,
)


def _score_text(score: Fraction | None, reason: str) -> str:
    if score is None:
        return f"not scored: {reason}"
    return str((Decimal(score.numerator) / Decimal(score.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP))


class FactB(CaseReportForm):
    """CRF 14, FACT-B version 4: 37 items answered 0–4, None = not answered (clinical-spec §4)."""

    completion_date = models.DateField("completion date", null=True, blank=True)
    gp1 = _item("GP1")
    gp2 = _item("GP2")
    gp3 = _item("GP3")
    gp4 = _item("GP4")
    gp5 = _item("GP5")
    gp6 = _item("GP6")
    gp7 = _item("GP7")
    gs1 = _item("GS1")
    gs2 = _item("GS2")
    gs3 = _item("GS3")
    gs4 = _item("GS4")
    gs5 = _item("GS5")
    gs6 = _item("GS6")
    gs7 = _item("GS7")
    ge1 = _item("GE1")
    ge2 = _item("GE2")
    ge3 = _item("GE3")
    ge4 = _item("GE4")
    ge5 = _item("GE5")
    ge6 = _item("GE6")
    gf1 = _item("GF1")
    gf2 = _item("GF2")
    gf3 = _item("GF3")
    gf4 = _item("GF4")
    gf5 = _item("GF5")
    gf6 = _item("GF6")
    gf7 = _item("GF7")
    b1 = _item("B1")
    b2 = _item("B2")
    b3 = _item("B3")
    b4 = _item("B4")
    b5 = _item("B5")
    b6 = _item("B6")
    b7 = _item("B7")
    b8 = _item("B8")
    b9 = _item("B9")
    p2 = _item("P2")
    history = HistoricalRecords()

    crf = CrfSpec(
        code="fact-b",
        name="FACT-B v4 questionnaire",
        number=14,
        # AVATAR II: required at screening and weeks 12, 24, 36, 48; COSMO: optional.
        trials=frozenset({"avatar2", "cosmo"}),
        visit_kinds=frozenset({"screening", "follow_up"}),
        required=("completion_date",),
        rules=FACT_B_RULES,
        date_field="completion_date",
        form="patients.crfs.follow_up_forms.FactBForm",
    )

    class Meta:
        verbose_name = "FACT-B questionnaire"

    def responses(self) -> dict[str, int | None]:
        return {code: getattr(self, code.lower()) for code in FACT_B_ITEMS}

    def scores(self) -> FactBScores:
        return score_fact_b(self.responses())

    def summary(self) -> str:
        total = self.scores().total
        scored = _score_text(total.score, "") if total.valid else "not scored"
        when = f" {self.completion_date}" if self.completion_date else ""
        return f"FACT-B{when}: total {scored}"

    def derived_values(self) -> list[tuple[str, Any]]:
        scores = self.scores()
        values: list[tuple[str, Any]] = [("Items answered", f"{scores.items_answered} of {len(FACT_B_ITEMS)}")]
        for subscale in FactBSubscale:
            part = scores.subscale(subscale)
            reason = f"{part.items_answered} of {part.items_total} items answered, not > 50 %"
            values.append((subscale.value, _score_text(part.score, reason)))
        for label, composite in (
            ("FACT-G", scores.fact_g),
            ("FACT-B total", scores.total),
            ("TOI", scores.trial_outcome_index),
        ):
            reason = (composite.invalid_reason or "").removeprefix(f"{label}: ")
            values.append((label, _score_text(composite.score, reason)))
        return values


# Survival status contact (CRF 15) --------------------------------------------------------------------------------


class VitalStatus(models.TextChoices):
    ALIVE = "alive", "Alive"
    DEAD = "dead", "Dead"
    UNKNOWN = "unknown", "Unknown"


class ContactMethod(models.TextChoices):
    VISIT = "visit", "Clinic visit"
    PHONE = "phone", "Telephone"
    RECORDS = "records", "Medical records / registry"


def _alive_not_after_death(record: Any, context: CheckContext) -> Iterable[Finding]:
    death_date = _death_date(context)
    if (
        record.vital_status == VitalStatus.ALIVE
        and record.contact_date
        and death_date
        and record.contact_date > death_date
    ):
        yield Finding(
            "contact_date",
            f"The patient is recorded as alive after the recorded death ({death_date}).",
            "alive_after_death",
        )


def _dead_needs_death_record(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and record.vital_status == VitalStatus.DEAD and _death_date(context) is None:
        yield Finding(
            "vital_status", "The patient has died: a Death form is expected.", "death_record_expected", Severity.WARNING
        )


SURVIVAL_STATUS_RULES = rules(
    not_in_future("contact_date"),
    not_before_consent("contact_date"),
    _alive_not_after_death,
    _dead_needs_death_record,
)


class SurvivalStatusContact(CaseReportForm):
    """CRF 15, Survival status contact: a dated contact and the vital status then. "Alive" contacts give the date
    last known alive (D31)."""

    contact_date = models.DateField("contact date", null=True, blank=True)
    vital_status = models.CharField("vital status", max_length=8, choices=VitalStatus.choices, blank=True)
    method = models.CharField("contact method", max_length=8, choices=ContactMethod.choices, blank=True)
    history = HistoricalRecords()

    crf = CrfSpec(
        code="survival-status",
        name="Survival status contact",
        number=15,
        trials=frozenset({"avatar2", "cosmo"}),
        repeating=True,
        required=("contact_date", "vital_status", "method"),
        rules=SURVIVAL_STATUS_RULES,
        date_field="contact_date",
    )

    class Meta:
        verbose_name = "survival status contact"

    def may_postdate_death(self) -> bool:
        """A contact that learns of the death (or fails to reach anyone) may come after it; "alive" may not."""
        return self.vital_status != VitalStatus.ALIVE

    def summary(self) -> str:
        status = self.get_vital_status_display() if self.vital_status else "status not given"
        return f"{self.contact_date or 'Undated'}: {status.lower()}"


# Death (CRF 16) --------------------------------------------------------------------------------------------------


class DeathCause(models.TextChoices):
    DISEASE = "disease", "Breast cancer (disease progression)"
    TREATMENT = "treatment", "Treatment-related"
    OTHER = "other", "Other"


def _as_date(value: Any) -> date | None:
    """A record's date for ordering: dates as they are, partial dates by their earliest possible day (a partial
    date is only 'after' the death when every day it may mean is after it)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return partial_date_earliest(value)
        except ValidationError:
            return None
    return None


def records_after(*, patient: Any, when: date) -> list[str]:
    """Everything of ``patient`` dated after ``when``: visits done, and every CRF record by its spec's
    ``date_field`` (records that may legitimately follow a death say so with ``may_postdate_death()``)."""
    from ..models import Visit, VisitStatus

    found = [
        f"visit {visit} ({visit.visit_date})"
        for visit in Visit.objects.filter(patient=patient, status=VisitStatus.DONE, visit_date__gt=when)
        .select_related("definition")
        .order_by("visit_date")
    ]
    for model in crf_models():
        name = model.crf.date_field
        if not name or model is Death:
            continue
        for record in model._default_manager.filter(patient=patient).exclude(**{f"{name}__isnull": True}):
            day = _as_date(getattr(record, name))
            if day is None or day <= when:
                continue
            may_follow = getattr(record, "may_postdate_death", None)
            if callable(may_follow) and may_follow():
                continue
            found.append(f"{model.crf.name} #{record.pk} ({day})")
    return found


def _nothing_after_death(record: Any, context: CheckContext) -> Iterable[Finding]:
    if record.death_date is None:
        return
    later = records_after(patient=context.patient, when=record.death_date)
    if later:
        shown = "; ".join(later[:5]) + (f"; and {len(later) - 5} more" if len(later) > 5 else "")
        yield Finding(
            "death_date",
            f"Records of this patient are dated after the death date: {shown}. Correct them or the death date.",
            "records_after_death",
        )


def _cause_specified(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and record.primary_cause == DeathCause.OTHER and not record.cause_specify.strip():
        yield Finding("cause_specify", "Specify the other cause of death.", "cause_specify")


def _treatment_death_has_fatal_ae(record: Any, context: CheckContext) -> Iterable[Finding]:
    if not context.completing or record.primary_cause != DeathCause.TREATMENT:
        return
    adverse_event = apps.get_model("patients", "AdverseEvent")
    fatal = adverse_event._default_manager.filter(patient=context.patient).filter(
        models.Q(grade=5) | models.Q(outcome="fatal")
    )
    if not fatal.exists():
        yield Finding(
            "primary_cause",
            "A treatment-related death: an adverse event with a fatal outcome (grade 5) is expected.",
            "fatal_adverse_event_expected",
            Severity.WARNING,
        )


DEATH_RULES = rules(
    _one_per_patient,
    not_in_future("death_date"),
    not_before_consent("death_date"),
    _nothing_after_death,
    _cause_specified,
    _treatment_death_has_fatal_ae,
)


class Death(CaseReportForm):
    """CRF 16, Death: one per patient. The date must be complete (D21) and follow everything recorded."""

    death_date = models.DateField("date of death", null=True, blank=True)
    primary_cause = models.CharField("primary cause of death", max_length=10, choices=DeathCause.choices, blank=True)
    cause_specify = models.CharField("other cause, specify", max_length=200, blank=True)
    history = HistoricalRecords()

    crf = CrfSpec(
        code="death",
        name="Death",
        number=16,
        trials=frozenset({"avatar2", "cosmo"}),
        required=("death_date", "primary_cause"),
        rules=DEATH_RULES,
        date_field="death_date",
    )

    class Meta:
        verbose_name = "death"
        # The edit check gives the readable message; the constraint holds under concurrent saves.
        constraints = [models.UniqueConstraint(fields=["patient"], name="one_death_per_patient")]

    def may_postdate_death(self) -> bool:
        return True

    def summary(self) -> str:
        cause = f" ({self.get_primary_cause_display().lower()})" if self.primary_cause else ""
        return f"Died {self.death_date or '(date not given)'}{cause}"


# End of study (CRF 17) -------------------------------------------------------------------------------------------


class EndOfStudyReason(models.TextChoices):
    COMPLETED = "completed", "Completed the study"
    WITHDREW_CONSENT = "withdrew", "Withdrew consent"
    LOST_TO_FOLLOW_UP = "lost", "Lost to follow-up"
    INVESTIGATOR_DECISION = "investigator", "Investigator decision"
    DEATH = "death", "Death"


class WithdrawalDataUse(models.TextChoices):
    NONE = "none", "No further use of data (none)"
    COLLECTED = "collected", "Data collected so far may be used"
    RECORDS = "records", "Data collected so far, and follow-up through medical records"


def _withdrawal_scope(record: Any, context: CheckContext) -> Iterable[Finding]:
    withdrew = record.end_reason == EndOfStudyReason.WITHDREW_CONSENT
    if withdrew and not record.withdrawal_data_use and context.completing:
        yield Finding(
            "withdrawal_data_use", "Say what the patient allows to be used after withdrawing.", "withdrawal_scope"
        )
    if record.withdrawal_data_use and record.end_reason and not withdrew:
        yield Finding(
            "withdrawal_data_use", "Only for a patient who withdrew consent: clear it.", "withdrawal_scope_not_withdrew"
        )


def _death_reason_needs_death(record: Any, context: CheckContext) -> Iterable[Finding]:
    if record.end_reason != EndOfStudyReason.DEATH:
        return
    death_date = _death_date(context)
    if death_date is None:
        if context.completing:
            yield Finding("end_reason", "The reason is death: enter the Death form first.", "death_record_missing")
    elif record.end_date is not None and record.end_date < death_date:
        yield Finding("end_date", f"The study cannot end before the death ({death_date}).", "end_before_death")


def _decision_explained(record: Any, context: CheckContext) -> Iterable[Finding]:
    if (
        context.completing
        and record.end_reason == EndOfStudyReason.INVESTIGATOR_DECISION
        and not record.details.strip()
    ):
        yield Finding("details", "Explain the investigator's decision.", "details_missing")


END_OF_STUDY_RULES = rules(
    _one_per_patient,
    not_in_future("end_date"),
    not_before_consent("end_date"),
    _withdrawal_scope,
    _death_reason_needs_death,
    _decision_explained,
)


class EndOfStudy(CaseReportForm):
    """CRF 17, End of study: one per patient, with the reason and, after withdrawal of consent, what may be used."""

    end_date = models.DateField("end of study date", null=True, blank=True)
    # Not "reason": the CRF form's "reason" is the reason for change of the audit trail.
    end_reason = models.CharField(
        "reason for ending the study", max_length=12, choices=EndOfStudyReason.choices, blank=True
    )
    withdrawal_data_use = models.CharField(
        "after withdrawal, may be used", max_length=10, choices=WithdrawalDataUse.choices, blank=True
    )
    details = models.TextField("details", blank=True)
    history = HistoricalRecords()

    crf = CrfSpec(
        code="end-of-study",
        name="End of study",
        number=17,
        trials=frozenset({"avatar2", "cosmo"}),
        required=("end_date", "end_reason"),
        rules=END_OF_STUDY_RULES,
        date_field="end_date",
    )

    class Meta:
        verbose_name = "end of study"
        verbose_name_plural = "end of study"
        constraints = [models.UniqueConstraint(fields=["patient"], name="one_end_of_study_per_patient")]

    def may_postdate_death(self) -> bool:
        return True

    def summary(self) -> str:
        reason = self.get_end_reason_display().lower() if self.end_reason else "reason not given"
        return f"Ended {self.end_date or '(date not given)'}: {reason}"
