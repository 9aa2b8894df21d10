"""Case report form entry: one generic screen for every CRF, saving through ``services.crf_save``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from trials.forms import apply_validation_error
from trials.permissions import Capability, can, require

from .. import selectors, services
from ..crf import CaseReportForm, crf_model, data_fields
from ..forms import CrfForm, QueryRaiseForm, crf_form_class
from ..models import Patient, Visit
from ..selectors_oversight import record_oversight


def _model(patient: Patient, code: str) -> type[CaseReportForm]:
    model = crf_model(code)
    if model is None or not model.crf.used_in(patient.trial.code):
        raise Http404
    return model


def crf_url(record: CaseReportForm) -> str:
    return reverse(
        "patients:crf_edit",
        kwargs={"subject_id": record.patient.subject_id, "code": record.crf.code, "pk": record.pk},
    )


def _existing_single(model: type[CaseReportForm], patient: Patient, visit: Visit | None) -> CaseReportForm | None:
    """A non-repeating form has one record per visit (or per patient for a patient-level form)."""
    if model.crf.repeating:
        return None
    return model._default_manager.filter(patient=patient, visit=visit).first()


def _derived(record: CaseReportForm) -> list[tuple[str, Any]]:
    derive = getattr(record, "derived_values", None)
    if derive is None:
        return []
    try:
        return list(derive())
    except (TypeError, ValueError, ArithmeticError, AttributeError, ObjectDoesNotExist):
        return []  # an incomplete draft: the panel shows what it can once the inputs are there


def _values(form: CrfForm, model: type[CaseReportForm]) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in data_fields(model) if name in form.cleaned_data}


@login_required
def crf_entry(request: HttpRequest, subject_id: str, code: str, pk: int | None = None) -> HttpResponse:
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    model = _model(patient, code)
    record = selectors.crf_record_get(user=request.user, patient=patient, model=model, pk=pk) if pk else None
    can_edit = can(request.user, Capability.EDIT_CLINICAL_DATA)
    visit = record.visit if record else None
    if record is None:
        if not can_edit:
            raise Http404
        visit_id = request.GET.get("visit") or request.POST.get("visit")
        if model.crf.visit_kinds:
            if not (visit_id and visit_id.isdecimal()):  # isdigit() takes "²", which int() refuses
                raise Http404
            visit = selectors.visit_get(user=request.user, patient=patient, pk=int(visit_id))
            if visit.definition.kind not in model.crf.visit_kinds:
                raise Http404
        existing = _existing_single(model, patient, visit)
        if existing is not None:
            return redirect(crf_url(existing))
    if request.method == "POST" and not can_edit:
        raise Http404

    form_class = crf_form_class(model)
    instance = record or model(patient=patient, site_id=patient.site_id, visit=visit)
    form = _bound_form(form_class, request.POST or None, instance, patient)
    formsets = form.child_formsets()
    if request.method == "POST":
        complete = "complete" in request.POST
        if form.is_valid() and all(fs.is_valid() for fs in formsets):
            try:
                saved = services.crf_save(
                    user=request.user,
                    model=model,
                    patient=patient,
                    instance=record,
                    visit=visit,
                    values=_values(form, model),
                    complete=complete,
                    reason=form.cleaned_data.get("reason", ""),
                    expected_version=form.cleaned_data.get("version"),
                    save_children=form.save_children,
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, f"{model.crf.name} saved as {saved.get_status_display().lower()}.")
                return redirect(crf_url(saved))
    queries = list(selectors.queries_for_record(record=record)) if record else []
    return render(
        request,
        "patients/crf_form.html",
        {
            "patient": patient,
            "model": model,
            "crf": model.crf,
            "record": record,
            "visit": visit,
            "form": form,
            "formsets": formsets,
            "queries": queries,
            "queried_fields": {q.field_name for q in queries if q.is_open and q.field_name},
            "derived": _derived(record) if record else [],
            "can_edit": can_edit,
            "can_raise": can(request.user, Capability.RAISE_QUERIES) and record is not None,
            "query_form": QueryRaiseForm(fields=[(f.name, str(f.label)) for f in form] if record else []),
            "oversight": record_oversight(user=request.user, record=record) if record else None,
        },
    )


def _bound_form(form_class: type[CrfForm], data: Any, instance: CaseReportForm, patient: Patient) -> CrfForm:
    """A CRF form for ``instance``; forms that list the patient's own records (``takes_patient``) get the patient."""
    if getattr(form_class, "takes_patient", False):
        return form_class(data, instance=instance, patient=patient)
    return form_class(data, instance=instance)


@login_required
@require_POST
def crf_preview(request: HttpRequest, subject_id: str, code: str) -> HttpResponse:
    """Derived values as you type (htmx): the unsaved form's values through the model's own calculators."""
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    require(request.user, Capability.EDIT_CLINICAL_DATA)
    model = _model(patient, code)
    instance = model(patient=patient, site_id=patient.site_id)
    form_class = crf_form_class(model)
    form = _bound_form(form_class, request.POST, instance, patient)
    form.is_valid()  # assigns whatever parsed to the instance; errors are shown on save, not here
    return render(request, "patients/_derived.html", {"derived": _derived(instance)})


@login_required
@require_POST
def crf_query_raise(request: HttpRequest, subject_id: str, code: str, pk: int) -> HttpResponse:
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    require(request.user, Capability.RAISE_QUERIES)
    model = _model(patient, code)
    record = selectors.crf_record_get(user=request.user, patient=patient, model=model, pk=pk)
    form_fields = [(f.name, f.name) for f in record._meta.concrete_fields if f.name in data_fields(model)]
    form = QueryRaiseForm(request.POST, fields=form_fields)
    if form.is_valid():
        try:
            services.query_raise(
                user=request.user,
                record=record,
                text=form.cleaned_data["text"],
                field_name=form.cleaned_data["field_name"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Query raised: the site sees it on the casebook and on this form.")
    else:
        messages.error(request, "Write the question to the site.")
    return redirect(crf_url(record))
