"""Forms of the API token pages: create (own, or for a user by a sponsor admin) and revoke."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.db.models import QuerySet

from .models import User
from .services_tokens import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS, NAME_MAX_LENGTH


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH, help_text="What the token is for, e.g. 'R analysis on my laptop'."
    )
    expires_in_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        initial=DEFAULT_EXPIRY_DAYS,
        label="Valid for (days)",
        help_text=f"Every token expires: {DEFAULT_EXPIRY_DAYS} days unless you choose otherwise, at most "
        f"{MAX_EXPIRY_DAYS}.",
    )
    read_only = forms.BooleanField(
        required=False,
        label="Read-only",
        help_text="The token may only read; anything that would change data is refused.",
    )

    def __init__(self, *args: Any, owners: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if owners is not None:
            self.fields["user"] = forms.ModelChoiceField(
                queryset=owners, help_text="The token acts as this user, with this user's sites and rights."
            )
            self.order_fields(["user", "name", "expires_in_days", "read_only"])
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Create token"))


class ApiTokenRevokeForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Reason for revoking",
        help_text="Kept in the token's audit trail.",
    )

    def __init__(self, *args: Any, reason_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Revoke token", css_class="btn-danger"))
