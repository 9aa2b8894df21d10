"""Home, trial configuration, analysis settings and the per-record audit trail."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from . import selectors, services
from .audit import audit_entries
from .forms import AnalysisSettingsForm, UserForm, apply_validation_error
from .models import SiteOwnedModel, User
from .permissions import Capability, can, require


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "trials/home.html",
        {
            "trials": selectors.trial_list(user=request.user),
            "can_view_patients": can(request.user, Capability.VIEW_PATIENTS),
            "can_view_configuration": can(request.user, Capability.VIEW_TRIAL_CONFIGURATION),
        },
    )


@login_required
def trial_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.VIEW_TRIAL_CONFIGURATION)
    return render(request, "trials/trial_list.html", {"trials": selectors.trial_list(user=request.user)})


@login_required
def trial_detail(request: HttpRequest, code: str) -> HttpResponse:
    require(request.user, Capability.VIEW_TRIAL_CONFIGURATION)
    trial = selectors.trial_get(user=request.user, code=code)
    return render(
        request,
        "trials/trial_detail.html",
        {
            "trial": trial,
            "trial_sites": selectors.trial_site_list(user=request.user, trial=trial),
            "arms": trial.arms.all(),
            "visits": trial.visit_definitions.all(),
            "can_view_settings": can(request.user, Capability.VIEW_ANALYSIS_SETTINGS),
        },
    )


def _label(field: Any) -> str:
    return str(getattr(field, "verbose_name", field.name))


@login_required
def analysis_settings(request: HttpRequest, code: str) -> HttpResponse:
    require(request.user, Capability.VIEW_ANALYSIS_SETTINGS)
    trial = selectors.trial_get(user=request.user, code=code)
    versions = list(trial.analysis_settings.select_related("created_by").order_by("-version"))
    fields = (
        [trial.analysis_settings.model._meta.get_field(name) for name in versions[0].setting_fields()]
        if versions
        else []
    )
    rows = []
    for index, version in enumerate(versions):
        previous = versions[index + 1] if index + 1 < len(versions) else None
        changed = [
            (_label(field), getattr(previous, field.name), getattr(version, field.name))
            for field in fields
            if previous is not None and getattr(previous, field.name) != getattr(version, field.name)
        ]
        rows.append((version, changed))
    current = versions[0] if versions else None
    current_values = [(_label(field), field.name, getattr(current, field.name)) for field in fields] if current else []
    return render(
        request,
        "trials/analysis_settings.html",
        {
            "trial": trial,
            "current": current,
            "current_values": current_values,
            "rows": rows,
            "can_change": can(request.user, Capability.CHANGE_ANALYSIS_SETTINGS),
        },
    )


@login_required
def analysis_settings_change(request: HttpRequest, code: str) -> HttpResponse:
    require(request.user, Capability.CHANGE_ANALYSIS_SETTINGS)
    trial = selectors.trial_get(user=request.user, code=code)
    current = selectors.analysis_settings_current(trial=trial)
    form = AnalysisSettingsForm(request.POST or None, initial=current.as_dict())
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in current.setting_fields()}
        try:
            new = services.analysis_settings_change(
                trial=trial, user=request.user, reason=form.cleaned_data["reason"], values=values
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Analysis settings version {new.version} saved; derived values are recomputing.")
            return redirect("trials:analysis_settings", code=code)
    return render(request, "trials/analysis_settings_change.html", {"trial": trial, "form": form, "current": current})


#: The apps whose records have a browsable audit trail.
AUDITED_APPS = ("trials", "patients", "lesions", "outcomes")


def _audited_record(request: HttpRequest, model_label: str, pk: int) -> models.Model:
    """Resolve ``app.model`` and pk to a record the user may see, else 404 (never a hint that it exists)."""
    try:
        app_label, model_name = model_label.split(".", 1)
        model = apps.get_model(app_label, model_name)
    except (ValueError, LookupError) as error:
        raise Http404 from error
    if app_label not in AUDITED_APPS or not hasattr(model, "history") or model_name.startswith("historical"):
        raise Http404
    if model_name == "user":
        require(request.user, Capability.MANAGE_USERS)
    if issubclass(model, SiteOwnedModel):
        queryset = model.objects.for_user(request.user)
    else:
        queryset = model._default_manager.all()
    record: models.Model = get_object_or_404(queryset, pk=pk)
    return record


@login_required
def audit_trail(request: HttpRequest, model_label: str, pk: int) -> HttpResponse:
    require(request.user, Capability.VIEW_AUDIT_TRAIL)
    record = _audited_record(request, model_label, pk)
    return render(
        request,
        "trials/audit_trail.html",
        {"record": record, "model_name": record._meta.verbose_name, "entries": audit_entries(record)},
    )


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.MANAGE_USERS)
    return render(request, "trials/user_list.html", {"users": selectors.user_list()})


def _user_form_values(form: UserForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "username": data["username"],
        "first_name": data["first_name"],
        "last_name": data["last_name"],
        "email": data["email"],
        "role": data["role"],
        "sites": list(data["sites"]),
        "is_active": data["is_active"],
    }


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.MANAGE_USERS)
    form = UserForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        if User.objects.filter(username=form.cleaned_data["username"]).exists():
            form.add_error("username", "This username is taken.")
        else:
            try:
                user = services.user_save(
                    actor=request.user, user=None, password=form.cleaned_data["password"], **_user_form_values(form)
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, f"User {user.username} created.")
                return redirect("users:list")
    return render(request, "trials/user_form.html", {"form": form, "title": "New user"})


@login_required
def user_update(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.MANAGE_USERS)
    user = get_object_or_404(User, pk=pk)
    initial = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "sites": list(user.sites.all()),
        "is_active": user.is_active,
    }
    form = UserForm(request.POST or None, initial=initial, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_save(
                actor=request.user, user=user, reason=form.cleaned_data["reason"], **_user_form_values(form)
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"User {user.username} saved.")
            return redirect("users:list")
    return render(request, "trials/user_form.html", {"form": form, "title": f"Edit {user.username}", "edited": user})
