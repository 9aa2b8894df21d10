"""The audit screens of issue 8: the integrity report (hash chain), audit-trail exports, the sign-in log.

Read-only by construction: nothing here edits or deletes an audit entry; the one POST runs a verification.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from kombu.exceptions import OperationalError

from .audit_chain.tasks import audit_chain_verify_task
from .audit_export import DateRange, csv_stream, export_lines, exportable_models, record_sources, trail_sources
from .forms import filter_value
from .models_compliance import AuditChainHead, AuditChainPending, AuditVerification, SignInEvent, SignInOutcome
from .permissions import Capability, can, require
from .views import _audited_record


class DateRangeForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            raise forms.ValidationError("The end date is before the start date.")
        return data

    def range(self) -> DateRange:
        return DateRange(self.cleaned_data.get("start"), self.cleaned_data.get("end"))


class TrailExportForm(DateRangeForm):
    model = forms.ChoiceField(label="Records", required=False, widget=forms.Select(attrs={"class": "form-select"}))

    def __init__(self, *args: object, models: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["model"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "All audited records"), *models]


def _csv_response(lines: object, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_stream(lines), content_type="text/csv; charset=utf-8")  # type: ignore[arg-type]
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def audit_integrity(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.VIEW_AUDIT_INTEGRITY)
    latest = AuditVerification.objects.select_related("requested_by").first()
    return render(
        request,
        "trials/audit_integrity.html",
        {
            "latest": latest,
            "history": AuditVerification.objects.select_related("requested_by")[:10],
            "head": AuditChainHead.objects.filter(pk=1).first(),
            "pending": AuditChainPending.objects.count(),
        },
    )


@login_required
@require_POST
def audit_integrity_verify(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.VIEW_AUDIT_INTEGRITY)
    # Without a broker (the embedded set-up) the task runs here and now; with a worker it runs shortly.
    try:
        audit_chain_verify_task.delay(request.user.pk)
    except OperationalError:
        messages.error(request, "The task queue is not reachable: run `manage.py audit_verify` on the server.")
    else:
        messages.info(request, "Verification started; the report below shows its result when it has finished.")
    return redirect("audit:integrity")


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponseBase:
    """The whole audit trail (or one kind of record) between two dates, for data managers and the sponsor."""
    require(request.user, Capability.VIEW_AUDIT_INTEGRITY)
    include_users = can(request.user, Capability.MANAGE_USERS)
    form = TrailExportForm(request.GET or None, models=exportable_models(include_users=include_users))
    if "download" in request.GET and form.is_valid():
        sources = trail_sources(include_users=include_users, label=form.cleaned_data["model"])
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        return _csv_response(export_lines(sources, form.range(), chronological=False), f"audit-trail-{stamp}.csv")
    return render(request, "trials/audit_export.html", {"form": form})


@login_required
@require_GET
def audit_export_record(request: HttpRequest, model_label: str, pk: int) -> HttpResponseBase:
    """One record's audit trail and everything hanging off it (a patient: the whole casebook), as CSV."""
    require(request.user, Capability.VIEW_AUDIT_TRAIL)
    record = _audited_record(request, model_label, pk)
    form = DateRangeForm(request.GET)
    dates = form.range() if form.is_valid() else DateRange()
    filename = f"audit-{record._meta.model_name}-{record.pk}-{timezone.now():%Y%m%d}.csv"
    return _csv_response(export_lines(record_sources(record), dates, chronological=True), filename)


@login_required
@require_GET
def sign_in_events(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.VIEW_AUDIT_INTEGRITY)
    events = SignInEvent.objects.select_related("user", "actor")
    username = filter_value(request.GET, "username", max_length=150)
    outcome = request.GET.get("outcome", "")
    if username:
        events = events.filter(username__iexact=username)
    if outcome in SignInOutcome.values:
        events = events.filter(outcome=outcome)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "trials/sign_in_events.html",
        {"page": page, "username": username, "outcome": outcome, "outcomes": SignInOutcome.choices},
    )
