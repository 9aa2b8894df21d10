"""Forms of the oversight screens: signing, source data verification, locks and the trial's data state."""

from __future__ import annotations

from typing import Any

from django import forms

from trials.models import TrialDataState


class SignForm(forms.Form):
    """Re-entering the password (and the authenticator code when a device is enrolled) is the signature."""

    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Your sign-in password: entering it signs the data listed above with the meaning shown.",
    )
    otp_token = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="The 6-digit code your authenticator app shows now.",
    )

    def __init__(self, *args: Any, needs_token: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if needs_token:
            self.fields["otp_token"].required = True
        else:
            del self.fields["otp_token"]


class VerifyForm(forms.Form):
    """The items of one form a monitor checked against the source."""

    items = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = self.fields["items"]
        assert isinstance(items, forms.MultipleChoiceField)
        items.choices = choices


class LockForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Why; needed to unlock (it is kept in the audit trail).",
    )


class TrialStateForm(forms.Form):
    ACTIONS = {
        "freeze": ("Freeze (no data entry; queries, verification and signing go on)", TrialDataState.FROZEN),
        "lock": ("Lock (read-only, queries included)", TrialDataState.LOCKED),
        "unlock": ("Unlock (reopen for data entry)", TrialDataState.OPEN),
    }

    action = forms.ChoiceField(widget=forms.RadioSelect)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Kept in the trial's audit trail; needed to unlock.",
    )

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = [(name, self.ACTIONS[name][0]) for name in actions]
