"""Oversight screens (issue 8): source data verification, signing, locks and the trial's data state.

Thin views: each reads through ``selectors_oversight`` and writes through ``services.oversight`` or
``services.locks``; anything outside the user's role or sites answers 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_otp import devices_for_user

from trials.forms import apply_validation_error
from trials.models import TrialDataState, TrialSite
from trials.permissions import Capability, can, require
from trials.selectors import trial_get

from .. import selectors
from .. import selectors_oversight as reads
from ..crf import CaseReportForm, crf_model
from ..forms_oversight import LockForm, SignForm, TrialStateForm, VerifyForm
from ..locking import refusal
from ..models import Lock, Patient, Query, QueryStatus, Visit
from ..oversight_content import content_sha256, record_items, signed_records
from ..services import locks as lock_services
from ..services import oversight as services
from .crfs import crf_url

# The trial ---------------------------------------------------------------------------------------------------------


def _require_oversight(user: Any) -> None:
    if not any(can(user, c) for c in (Capability.VERIFY_SOURCE_DATA, Capability.LOCK_DATA, Capability.LOCK_TRIAL)):
        raise Http404


@login_required
def oversight_trial(request: HttpRequest, code: str) -> HttpResponse:
    """SDV progress per site and patient, site locks and the trial's data state."""
    _require_oversight(request.user)
    trial = trial_get(user=request.user, code=code)
    return render(
        request,
        "patients/oversight/trial.html",
        {
            "trial": trial,
            "sites": reads.sdv_progress(user=request.user, trial=trial),
            "can_verify": can(request.user, Capability.VERIFY_SOURCE_DATA),
            "can_lock": can(request.user, Capability.LOCK_DATA),
        },
    )


def _state_actions(user: Any, state: str) -> list[str]:
    allowed = {
        TrialDataState.OPEN: [("freeze", Capability.LOCK_DATA), ("lock", Capability.LOCK_TRIAL)],
        TrialDataState.FROZEN: [("lock", Capability.LOCK_TRIAL), ("unlock", Capability.LOCK_TRIAL)],
        TrialDataState.LOCKED: [("unlock", Capability.LOCK_TRIAL)],
    }
    return [name for name, capability in allowed.get(TrialDataState(state), []) if can(user, capability)]


@login_required
def trial_data_state(request: HttpRequest, code: str) -> HttpResponse:
    """Freeze (data manager, sponsor admin), lock and unlock with a reason (sponsor admin only)."""
    require(request.user, Capability.LOCK_DATA)
    trial = trial_get(user=request.user, code=code)
    form = TrialStateForm(request.POST or None, actions=_state_actions(request.user, trial.data_state))
    if request.method == "POST" and form.is_valid():
        action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
        change = {"freeze": lock_services.trial_freeze, "lock": lock_services.trial_lock}
        try:
            if action == "unlock":
                lock_services.trial_unlock(user=request.user, trial=trial, reason=reason)
            else:
                change[action](user=request.user, trial=trial, reason=reason)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{trial} is now {trial.get_data_state_display().lower()}.")
            return redirect("patients:oversight_trial", code=trial.code)
    changes = reads.trial_state_history(trial=trial)
    return render(request, "patients/oversight/data_state.html", {"trial": trial, "form": form, "changes": changes})


@login_required
def signature_manifest(request: HttpRequest, code: str) -> HttpResponse:
    trial = trial_get(user=request.user, code=code)
    rows = reads.signature_manifest(user=request.user, trial=trial)
    return render(request, "patients/oversight/manifest.html", {"trial": trial, "rows": rows})


# Locks ----------------------------------------------------------------------------------------------------------


def _lock_screen(
    request: HttpRequest, *, what: str, lock: Lock | None, history: list[Lock], back: str, make: Any
) -> HttpResponse:
    """One screen for every lock: the current lock and its history; lock (reason optional) or unlock (reason)."""
    form = LockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if lock is not None:
                lock_services.lock_release(user=request.user, lock=lock, reason=reason)
            else:
                make(reason)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{what}: {'unlocked' if lock is not None else 'locked'}.")
            return redirect(back)
    return render(
        request,
        "patients/oversight/lock.html",
        {"what": what, "lock": lock, "history": history, "form": form, "back": back},
    )


@login_required
def site_lock(request: HttpRequest, code: str, site_code: str) -> HttpResponse:
    require(request.user, Capability.LOCK_DATA)
    trial = trial_get(user=request.user, code=code)
    trial_site = get_object_or_404(
        TrialSite.objects.for_user(request.user).select_related("site"), trial=trial, site__code=site_code
    )
    site = trial_site.site
    history = reads.lock_history(user=request.user, trial=trial, site=site)
    return _lock_screen(
        request,
        what=f"{site.code} data in {trial}",
        lock=next((lock for lock in history if lock.is_active), None),
        history=history,
        back=reverse("patients:oversight_trial", kwargs={"code": trial.code}),
        make=lambda reason: lock_services.lock_site(user=request.user, trial=trial, site=site, reason=reason),
    )


@login_required
def patient_lock(request: HttpRequest, subject_id: str) -> HttpResponse:
    require(request.user, Capability.LOCK_DATA)
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    history = reads.lock_history(user=request.user, trial=patient.trial, patient=patient)
    return _lock_screen(
        request,
        what=f"Casebook of {patient.subject_id}",
        lock=next((lock for lock in history if lock.is_active), None),
        history=history,
        back=reverse("patients:detail", kwargs={"subject_id": patient.subject_id}),
        make=lambda reason: lock_services.lock_patient(user=request.user, patient=patient, reason=reason),
    )


def _record(request: HttpRequest, patient: Patient, code: str, pk: int) -> CaseReportForm:
    model = crf_model(code)
    if model is None or not model.crf.used_in(patient.trial.code):
        raise Http404
    record: CaseReportForm = selectors.crf_record_get(user=request.user, patient=patient, model=model, pk=pk)
    return record


@login_required
def crf_lock(request: HttpRequest, subject_id: str, code: str, pk: int) -> HttpResponse:
    require(request.user, Capability.LOCK_DATA)
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    record = _record(request, patient, code, pk)
    history = reads.lock_history(user=request.user, trial=patient.trial, record=record)
    return _lock_screen(
        request,
        what=f"{record.crf.name} #{record.pk} of {patient.subject_id}",
        lock=next((lock for lock in history if lock.is_active), None),
        history=history,
        back=crf_url(record),
        make=lambda reason: lock_services.lock_form(user=request.user, record=record, reason=reason),
    )


# Source data verification ------------------------------------------------------------------------------------------


@login_required
def sdv(request: HttpRequest, subject_id: str) -> HttpResponse:
    """The monitor's page for one patient: every complete form with its items to tick as verified."""
    require(request.user, Capability.VERIFY_SOURCE_DATA)
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    if request.method == "POST":
        code, _, pk = request.POST.get("record", "").partition(":")
        if not pk.isdecimal():  # isdigit() takes "²", which int() refuses
            raise Http404
        record = _record(request, patient, code, int(pk))
        form = VerifyForm(request.POST, choices=[(i.name, i.label) for i in record_items(type(record))])
        if form.is_valid():
            try:
                if "verify_all" in request.POST:
                    made = services.sdv_verify_form(user=request.user, record=record)
                else:
                    made = services.sdv_verify_fields(
                        user=request.user, record=record, fields=form.cleaned_data["items"]
                    )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, f"{record.crf.name} #{record.pk}: {len(made)} item(s) verified.")
        anchor = f"#record-{record.crf.code}-{record.pk}"
        return redirect(reverse("patients:sdv", kwargs={"subject_id": patient.subject_id}) + anchor)
    return render(
        request,
        "patients/oversight/sdv.html",
        {
            "patient": patient,
            "records": reads.sdv_records(user=request.user, patient=patient),
            "progress": reads.patient_sdv(user=request.user, patient=patient),
            "refusal": refusal(patient=patient, action="verify"),
        },
    )


# Signing --------------------------------------------------------------------------------------------------------


def _sign(
    request: HttpRequest,
    patient: Patient,
    *,
    back: str,
    visit: Visit | None = None,
    record: CaseReportForm | None = None,
) -> HttpResponse:
    user = request.user
    blocked = ""
    try:
        services.signature_check_signable(user=user, patient=patient, visit=visit, record=record)
    except ValidationError as error:
        blocked = " ".join(error.messages)
    needs_token = any(True for _ in devices_for_user(user, confirmed=True))
    form = SignForm(request.POST or None, needs_token=needs_token)
    if request.method == "POST" and not blocked and form.is_valid():
        try:
            signature = services.signature_sign(
                user=user,
                patient=patient,
                visit=visit,
                record=record,
                password=form.cleaned_data["password"],
                otp_token=form.cleaned_data.get("otp_token", ""),
                request=request,
            )
        except services.SigningRefused as error:
            if error.locked_out:
                logout(request)
                return redirect("login")
            apply_validation_error(form, error)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            when = f"{signature.signed_at:%Y-%m-%d %H:%M} UTC"
            messages.success(request, f"{signature.get_scope_display()} signed by {signature.signer_name} at {when}.")
            return redirect(back)
    records = signed_records(patient=patient, visit=visit, record=record)
    open_queries = Query.objects.filter(patient=patient).exclude(status=QueryStatus.CLOSED)
    return render(
        request,
        "patients/oversight/sign.html",
        {
            "patient": patient,
            "scope": "form" if record is not None else ("visit" if visit is not None else "casebook"),
            "visit": visit,
            "record": record,
            "records": records,
            "drafts": sum(1 for r in records if r.label.endswith("(draft)")),
            "open_queries": open_queries.count(),
            "fingerprint": content_sha256(records),
            "meaning": services.signature_meaning(user=user, patient=patient, visit=visit, record=record),
            "form": form,
            "needs_token": needs_token,
            "blocked": blocked,
            "back": back,
        },
    )


@login_required
def sign_casebook(request: HttpRequest, subject_id: str) -> HttpResponse:
    require(request.user, Capability.SIGN_CLINICAL_DATA)
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    return _sign(request, patient, back=reverse("patients:detail", kwargs={"subject_id": patient.subject_id}))


@login_required
def sign_visit(request: HttpRequest, subject_id: str, visit_id: int) -> HttpResponse:
    require(request.user, Capability.SIGN_CLINICAL_DATA)
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    visit = selectors.visit_get(user=request.user, patient=patient, pk=visit_id)
    back = reverse("patients:detail", kwargs={"subject_id": patient.subject_id})
    return _sign(request, patient, visit=visit, back=back)


@login_required
def sign_form(request: HttpRequest, subject_id: str, code: str, pk: int) -> HttpResponse:
    require(request.user, Capability.SIGN_CLINICAL_DATA)
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    record = _record(request, patient, code, pk)
    return _sign(request, patient, record=record, back=crf_url(record))
