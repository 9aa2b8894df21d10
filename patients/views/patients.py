"""Patient screens: thin views that call one selector or service and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from trials.forms import apply_validation_error, filter_value
from trials.permissions import Capability, can, require
from trials.selectors import site_list, trial_list

from .. import selectors, services
from ..casebook import CELL_LOOK, build_casebook
from ..forms import PatientRegistrationForm, PatientUpdateForm
from ..models import PatientStatus
from ..selectors_oversight import patient_oversight


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    filters = {key: filter_value(request.GET, key) for key in ("trial", "site", "status", "q")}
    patients = selectors.patient_list(
        user=request.user,
        trial_code=filters["trial"],
        site_code=filters["site"],
        status=filters["status"],
        search=filters["q"],
    )
    page = Paginator(patients, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "patients/patient_list.html",
        {
            "page": page,
            "filters": filters,
            "trials": trial_list(user=request.user),
            "sites": site_list(user=request.user),
            "statuses": PatientStatus.choices,
            "can_register": can(request.user, Capability.REGISTER_PATIENT),
        },
    )


@login_required
def patient_register(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.REGISTER_PATIENT)
    form = PatientRegistrationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_register(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Patient {patient.subject_id} registered.")
            return redirect("patients:detail", subject_id=patient.subject_id)
    return render(request, "patients/patient_register.html", {"form": form})


@login_required
def patient_detail(request: HttpRequest, subject_id: str) -> HttpResponse:
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "casebook": build_casebook(patient=patient, today=timezone.localdate()),
            "cell_look": CELL_LOOK,
            "can_randomise": can(request.user, Capability.RANDOMISE),
            "today": timezone.localdate(),
            "can_edit": can(request.user, Capability.EDIT_CLINICAL_DATA),
            "derivation": getattr(patient, "derivation", None),
            "oversight": patient_oversight(user=request.user, patient=patient),
        },
    )


@login_required
def patient_update(request: HttpRequest, subject_id: str) -> HttpResponse:
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    require(request.user, Capability.EDIT_CLINICAL_DATA)
    form = PatientUpdateForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in PatientUpdateForm.Meta.fields}
        try:
            services.patient_update(
                user=request.user,
                patient=selectors.patient_get(user=request.user, subject_id=subject_id),
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                **values,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Changes to {patient.subject_id} saved.")
            return redirect("patients:detail", subject_id=subject_id)
    return render(request, "patients/patient_update.html", {"form": form, "patient": patient})
