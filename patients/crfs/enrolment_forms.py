"""Entry forms of CRF 1 (eligibility) and CRF 2 (registration / randomisation), and helpers the disease forms share.

Forms shape input only; meaning is checked by ``crf_save`` and the rule sets beside the models.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..crf import data_fields
from ..forms import CrfForm
from ..services.enrolment import CONFIRMATION_FIELD, enrolment_patient_sync, investigator_confirm, saving_user
from .enrolment import YES_NO, AvatarEligibility, CosmoEligibility, Randomisation, Registration


def radio(form: forms.BaseForm, *names: str) -> None:
    """Show choice fields as radio buttons, without the empty "---------" option (unanswered stays unticked)."""
    for name in names:
        field = form.fields.get(name)
        if field is None:
            continue
        choices = [(value, label) for value, label in field.choices if value not in ("", None)]  # type: ignore[attr-defined]
        field.choices = choices  # type: ignore[attr-defined]
        field.widget = forms.RadioSelect(choices=choices)


def yes_no_radio(form: forms.BaseForm, *names: str) -> None:
    for name in names:
        field = form.fields.get(name)
        if field is not None:
            field.choices = YES_NO  # type: ignore[attr-defined]
            field.widget = forms.RadioSelect(choices=YES_NO)


class InvestigatorConfirmationForm(CrfForm):
    """A form whose complete record the site investigator confirms by ticking a box (saved in the same request)."""

    investigator_confirmation = forms.BooleanField(
        required=False,
        label="I confirm this form as the site investigator",
        help_text="Site investigators only; the form must be marked complete. Your name and the time are recorded.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.investigator_confirmed:
            field = self.fields[CONFIRMATION_FIELD]
            field.disabled = True
            field.initial = True
            field.help_text = self.instance.confirmation_display()

    def save_children(self, record: Any) -> None:
        if self.cleaned_data.get(CONFIRMATION_FIELD) and not record.investigator_confirmed:
            investigator_confirm(user=saving_user(record), record=record)


class CosmoEligibilityForm(InvestigatorConfirmationForm):
    class Meta:
        model = CosmoEligibility
        fields = data_fields(CosmoEligibility)

    field_order = [*CosmoEligibility.criteria(), "screen_failure_reason", CONFIRMATION_FIELD]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        yes_no_radio(self, *CosmoEligibility.criteria())
        self.fields["screen_failure_reason"].widget.attrs["rows"] = 2


class AvatarEligibilityForm(InvestigatorConfirmationForm):
    class Meta:
        model = AvatarEligibility
        fields = data_fields(AvatarEligibility)

    field_order = [*AvatarEligibility.criteria(), "screen_failure_reason", CONFIRMATION_FIELD]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        yes_no_radio(self, *AvatarEligibility.criteria())
        self.fields["screen_failure_reason"].widget.attrs["rows"] = 2


class EnrolmentForm(CrfForm):
    """Completing the form moves the patient (enrolment date, on study) in the same transaction."""

    def save_children(self, record: Any) -> None:
        enrolment_patient_sync(record=record, user=saving_user(record))


class RegistrationForm(EnrolmentForm):
    class Meta:
        model = Registration
        fields = data_fields(Registration)
        help_texts = {"registration_date": "The origin of every COSMO endpoint; not before consent."}


class RandomisationForm(EnrolmentForm):
    class Meta:
        model = Randomisation
        fields = data_fields(Randomisation)
        help_texts = {
            "randomisation_date": "The origin of every AVATAR II endpoint; not before consent.",
            "endocrine_partner": "Stratification factor: the endocrine therapy given with the CDK4/6 inhibitor.",
            "oligo_lesions": "Stratification factor: oligoprogressive lesions at randomisation.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        radio(self, "endocrine_partner", "oligo_lesions")
