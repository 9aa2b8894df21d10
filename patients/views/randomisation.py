"""Randomisation screens: the published commitment, the statistician's list screens and balance report, and the
investigator's confirm-then-allocate screen. Thin: one selector or service each (``services.randomisation``).

Concealment (§6.2): list rows and the full balance report need ``MANAGE_RANDOMISATION``; everyone else gets 404 there.
A generated seed is shown once, on the response to the generating request, which is never cached.
"""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from trials.forms import apply_validation_error
from trials.permissions import Capability, can, require
from trials.selectors import analysis_settings_current, trial_get

from .. import selectors
from .. import selectors_randomisation as reads
from ..randomisation import Allocation
from ..services import randomisation as service


class ListGenerateForm(forms.Form):
    seed = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Leave empty and the EDC draws a 128-bit seed and shows it once. Your own seed: at least 16 "
        "characters of real randomness. The seed is never stored; keep it safe.",
    )
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when replacing a list that no patient has been allocated from.",
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Generate the list"))


class ListVerifyForm(forms.Form):
    seed = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Optional: with the seed the list is regenerated and compared row by row.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Verify"))


class RandomiseForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    confirm = forms.BooleanField(
        required=True, label="I have checked these stratification factors and confirm the allocation."
    )


@login_required
def trial_randomisation(request: HttpRequest, code: str) -> HttpResponse:
    """The published commitments: every role may see them (not the rows)."""
    trial = trial_get(user=request.user, code=code)
    return render(
        request,
        "patients/randomisation/trial.html",
        {
            "trial": trial,
            "method": analysis_settings_current(trial=trial).get_randomisation_method_display(),
            "lists": reads.published_lists(trial=trial),
            "can_manage": can(request.user, Capability.MANAGE_RANDOMISATION),
            "can_see_counts": can(request.user, Capability.VIEW_ENROLMENT_COUNTS),
        },
    )


@never_cache
@login_required
def allocation_list_generate(request: HttpRequest, code: str) -> HttpResponse:
    require(request.user, Capability.MANAGE_RANDOMISATION)
    trial = trial_get(user=request.user, code=code)
    latest = trial.allocation_lists.order_by("-version").values_list("version", flat=True).first() or 0
    form = ListGenerateForm(request.POST or None, initial={"expected_version": latest})
    if request.method == "POST" and form.is_valid():
        try:
            generated = service.allocation_list_generate(
                user=request.user,
                trial=trial,
                seed=form.cleaned_data["seed"] or None,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["expected_version"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            # Rendered, not redirected: the generated seed exists only in this response.
            return render(
                request, "patients/randomisation/list_generated.html", {"trial": trial, "generated": generated}
            )
    return render(
        request,
        "patients/randomisation/list_generate.html",
        {"trial": trial, "form": form, "current": service.active_allocation_list(trial=trial)},
    )


@login_required
def allocation_list_detail(request: HttpRequest, code: str, version: int) -> HttpResponse:
    require(request.user, Capability.MANAGE_RANDOMISATION)
    trial = trial_get(user=request.user, code=code)
    allocation_list = reads.allocation_list_get(user=request.user, trial=trial, version=version)
    return render(
        request,
        "patients/randomisation/list_detail.html",
        {
            "trial": trial,
            "allocation_list": allocation_list,
            "rows": reads.allocation_list_rows(user=request.user, allocation_list=allocation_list),
            "labels": reads.stratum_labels(trial=trial),
        },
    )


@never_cache
@login_required
def allocation_list_verify(request: HttpRequest, code: str, version: int) -> HttpResponse:
    require(request.user, Capability.MANAGE_RANDOMISATION)
    trial = trial_get(user=request.user, code=code)
    allocation_list = reads.allocation_list_get(user=request.user, trial=trial, version=version)
    form = ListVerifyForm(request.POST or None)
    seed = form.cleaned_data["seed"] if request.method == "POST" and form.is_valid() else None
    verification = service.allocation_list_verify(user=request.user, allocation_list=allocation_list, seed=seed)
    return render(
        request,
        "patients/randomisation/list_verify.html",
        {"trial": trial, "allocation_list": allocation_list, "form": form, "verification": verification},
    )


@login_required
def balance_report(request: HttpRequest, code: str) -> HttpResponse:
    """Statisticians: arm counts by stratum, site and month. Trial and data managers: enrolment counts by site."""
    trial = trial_get(user=request.user, code=code)
    if can(request.user, Capability.MANAGE_RANDOMISATION):
        context: dict[str, Any] = {"report": reads.balance_report(user=request.user, trial=trial)}
    else:
        require(request.user, Capability.VIEW_ENROLMENT_COUNTS)
        context = {"counts": reads.enrolment_counts(user=request.user, trial=trial)}
    return render(request, "patients/randomisation/balance.html", {"trial": trial, **context})


@login_required
def randomise(request: HttpRequest, subject_id: str) -> HttpResponse:
    """Show the factors for confirmation; on confirmation allocate and show the arm (site investigators)."""
    require(request.user, Capability.RANDOMISE)
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    if Allocation.objects.filter(patient=patient).exists():
        return redirect("randomisation:allocation", subject_id=subject_id)
    readiness = service.allocation_readiness(patient=patient, user=request.user)
    version = readiness.record.version if readiness.record is not None else None
    form = RandomiseForm(request.POST or None, initial={"expected_version": version})
    if request.method == "POST" and form.is_valid():
        try:
            result = service.randomise(
                user=request.user, patient=patient, expected_version=form.cleaned_data["expected_version"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            done = "registered" if result.allocation.method == "registration" else "randomised"
            messages.success(request, f"{patient.subject_id} {done}: arm {result.allocation.arm}.")
            return redirect("randomisation:allocation", subject_id=subject_id)
    labels = reads.stratum_labels(trial=patient.trial)
    factors = []
    if readiness.record is not None and patient.trial.is_randomised:
        record = readiness.record
        factors = [
            (str(getattr(record._meta.get_field(name), "verbose_name", name)), getattr(record, f"get_{name}_display")())
            for name in readiness.factors
        ]
    return render(
        request,
        "patients/randomisation/randomise.html",
        {
            "patient": patient,
            "readiness": readiness,
            "form": form,
            "factors": factors,
            "stratum_label": labels.get(readiness.stratum, readiness.stratum),
            "action": "Randomise" if patient.trial.is_randomised else "Register",
        },
    )


@login_required
def allocation_detail(request: HttpRequest, subject_id: str) -> HttpResponse:
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    allocation = reads.allocation_get(user=request.user, patient=patient)
    return render(
        request,
        "patients/randomisation/allocation.html",
        {
            "patient": patient,
            "allocation": allocation,
            "corrections": reads.allocation_corrections(allocation=allocation),
            "stratum_label": reads.stratum_labels(trial=patient.trial).get(allocation.stratum, allocation.stratum),
            # List row and minimisation state reveal the sequence: statisticians and sponsor admins only.
            "show_concealed": can(request.user, Capability.MANAGE_RANDOMISATION),
        },
    )
