"""Recording visits as done or missed, and adding unscheduled visits."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from trials.forms import apply_validation_error
from trials.models import VisitKind
from trials.permissions import Capability, require

from .. import selectors, services
from ..forms import VisitRecordForm
from ..models import Visit


@login_required
def visit_record(request: HttpRequest, subject_id: str, definition_id: int, occurrence: int) -> HttpResponse:
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    require(request.user, Capability.EDIT_CLINICAL_DATA)
    definition = get_object_or_404(patient.trial.visit_definitions, pk=definition_id)
    if definition.kind == VisitKind.UNSCHEDULED or occurrence < 1:
        raise Http404
    if definition.repeat_count and occurrence > definition.repeat_count and definition.kind != VisitKind.LONG_TERM:
        raise Http404
    existing = Visit.objects.filter(patient=patient, definition=definition, occurrence=occurrence).first()
    initial = (
        {"status": existing.status, "visit_date": existing.visit_date, "missed_reason": existing.missed_reason}
        if existing
        else {"status": "done"}
    )
    form = VisitRecordForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_record(
                user=request.user, patient=patient, definition=definition, occurrence=occurrence, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Visit saved.")
            return redirect("patients:detail", subject_id=subject_id)
    label = definition.name if not definition.repeat_interval_days else f"{definition.name} {occurrence}"
    return render(
        request, "patients/visit_form.html", {"patient": patient, "form": form, "label": label, "existing": existing}
    )


@login_required
@require_POST
def unscheduled_visit_add(request: HttpRequest, subject_id: str) -> HttpResponse:
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    require(request.user, Capability.EDIT_CLINICAL_DATA)
    form = VisitRecordForm({"status": "done", "visit_date": request.POST.get("visit_date", "")})
    if not form.is_valid() or form.cleaned_data["visit_date"] is None:
        messages.error(request, "Give the date of the unscheduled visit.")
        return redirect("patients:detail", subject_id=subject_id)
    try:
        services.unscheduled_visit_add(user=request.user, patient=patient, visit_date=form.cleaned_data["visit_date"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Unscheduled visit added.")
    return redirect("patients:detail", subject_id=subject_id)
