"""Patient forms. Validation of meaning lives in the services; forms shape input and show errors by field."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from trials.models import Site, Trial
from trials.selectors import site_list, trial_list

from .models import Patient, Sex


class DateInput(forms.DateInput):
    input_type = "date"


class PatientRegistrationForm(forms.Form):
    trial = forms.ModelChoiceField(queryset=Trial.objects.none())
    site = forms.ModelChoiceField(queryset=Site.objects.none())
    screening_number = forms.CharField(
        max_length=20,
        validators=Patient._meta.get_field("screening_number").validators,
        help_text=Patient._meta.get_field("screening_number").help_text,
    )
    age_at_consent = forms.IntegerField(min_value=18, max_value=110, label="Age at consent (years)")
    sex = forms.ChoiceField(choices=Sex.choices)
    consent_date = forms.DateField(widget=DateInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["trial"].queryset = trial_list(user=user)  # type: ignore[attr-defined]
        self.fields["site"].queryset = site_list(user=user)  # type: ignore[attr-defined]
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Register patient"))


class PatientUpdateForm(forms.ModelForm):  # type: ignore[type-arg]
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason for change",
        help_text="Required: recorded in the audit trail with your name and the time.",
        required=False,  # checked by the service so the message is the same everywhere
    )

    class Meta:
        model = Patient
        fields = ["screening_number", "age_at_consent", "sex", "consent_date", "enrolment_date", "status"]
        widgets = {"consent_date": DateInput, "enrolment_date": DateInput}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["version"] = self.instance.version
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save changes"))

    def validate_unique(self) -> None:
        """Uniqueness is checked by the service, inside its transaction."""
