"""Patient forms. Validation of meaning lives in the services; forms shape input and show errors by field."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from trials.models import Site, Trial
from trials.selectors import site_list, trial_list

from .models import Patient, Sex, VisitStatus


class DateInput(forms.DateInput):
    """An HTML date input: the browser shows the local format but sends and expects ISO dates."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None, format: str | None = None) -> None:
        super().__init__(attrs=attrs, format=format or "%Y-%m-%d")


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


class CrfForm(forms.ModelForm):  # type: ignore[type-arg]
    """Base of every case report form: the data fields, plus the version (optimistic lock) and the reason for change.

    Meaning is checked by the CRF service (required-for-completion, edit checks), so a draft may be half-filled.
    Forms with dependent rows (e.g. per-lesion measurements) override ``child_formsets`` and ``save_children``.
    """

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Reason for change",
        help_text="Required when changing a completed form: recorded in the audit trail.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["version"] = self.instance.version
        for name, field in self.fields.items():
            if isinstance(field, forms.DateField):
                field.widget = DateInput(attrs={"max": "9999-12-31"})
            if name in getattr(self.instance.crf, "required", ()):
                field.label = f"{field.label} *"
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def validate_unique(self) -> None:
        """Checked by the service inside its transaction."""

    def child_formsets(self) -> list[Any]:
        return []

    def save_children(self, record: Any) -> None:
        """Write dependent rows after ``record`` is saved (inside the service's transaction)."""


def crf_form_class(model: type[Any]) -> type[CrfForm]:
    """The form named by the spec, else ``<app>.forms.<Model>Form``, else a plain form of the model's data fields."""
    from django.forms import modelform_factory
    from django.utils.module_loading import import_string

    from .crf import data_fields

    if model.crf.form:
        declared: type[CrfForm] = import_string(model.crf.form)
        return declared
    try:
        form_class: type[CrfForm] = import_string(f"{model._meta.app_label}.forms.{model.__name__}Form")
    except ImportError:
        form_class = modelform_factory(model, form=CrfForm, fields=data_fields(model))  # type: ignore[assignment]
    return form_class


class VisitRecordForm(forms.Form):
    status = forms.ChoiceField(choices=VisitStatus.choices, widget=forms.RadioSelect)
    visit_date = forms.DateField(widget=DateInput, required=False)
    missed_reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Reason for change",
        help_text="Needed when changing a visit already recorded.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save visit"))


class QueryRaiseForm(forms.Form):
    field_name = forms.ChoiceField(required=False, label="Field (optional)")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Question to the site")

    def __init__(self, *args: Any, fields: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field_name"].choices = [("", "The whole form"), *fields]  # type: ignore[attr-defined]


class QueryMessageForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Message")
