"""Configuration forms, and the one helper that puts a service's ValidationError onto a form's fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator

from .models import AnalysisSettings, Role, Site


def apply_validation_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's errors beside the fields they name; anything else at the top of the form."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for field, messages in error.message_dict.items():
        for message in messages:
            if field in form.fields:
                form.add_error(field, message)
            elif field == NON_FIELD_ERRORS:
                form.add_error(None, message)
            else:
                form.add_error(None, f"{field.replace('_', ' ').capitalize()}: {message}")


def filter_value(params: Mapping[str, Any], key: str, *, max_length: int = 100) -> str:
    """A list page's filter as typed in the address bar, made safe to query with: stripped, NUL bytes dropped, at most
    ``max_length`` characters. PostgreSQL refuses any query holding a NUL and SQLite a LIKE pattern over 50,000 bytes
    (both were a 500); no code, status, username or search term is that long."""
    return str(params.get(key, "")).replace("\x00", "").strip()[:max_length]


class SignInForm(AuthenticationForm):
    """Django's sign-in form, with its username length checked: Django sets ``max_length`` after building the field,
    so no validator enforces it, and a longer name reached django-axes, whose failure log (255 characters) then
    failed on PostgreSQL with a 500."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        assert isinstance(username, forms.CharField) and username.max_length
        username.validators.append(MaxLengthValidator(username.max_length))


class AnalysisSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason for the new version",
        help_text="Recorded with the new version; every derived value will be recomputed with it.",
        required=False,
    )

    class Meta:
        model = AnalysisSettings
        fields = AnalysisSettings.setting_fields()
        widgets = {"data_cutoff_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save as new version"))


class UserForm(forms.Form):
    """A sponsor admin's form for one user. A new user gets an initial password; an edit needs a reason."""

    username = forms.RegexField(regex=r"^[\w.@+-]+$", max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=[("", "No role (no access)"), *Role.choices], required=False)
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only for site coordinators, investigators and monitors; the other roles see every site.",
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="Active", help_text="Deactivate instead of deleting."
    )
    password = forms.CharField(
        widget=forms.PasswordInput, required=False, label="Initial password", help_text="Tell the user to change it."
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Reason for change")

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if creating:
            del self.fields["reason"]
            self.fields["password"].required = True
        else:
            del self.fields["password"]
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Create user" if creating else "Save changes"))
