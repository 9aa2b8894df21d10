"""Dashboard pages (issue 7): thin views over ``outcomes.dashboards.pages``. Each page reads one precomputed
snapshot; ``?format=csv&chart=<id>`` answers the CSV of one chart's data under the same scope and filters.
Refusals (capability, trial out of scope, unknown chart) answer 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from trials.permissions import require
from trials.selectors import trial_get

from .dashboards.common import csv_text
from .dashboards.pages import CAPABILITIES, dashboard_view
from .models import DashboardKind


def _dashboard(request: HttpRequest, code: str, kind: DashboardKind) -> HttpResponse:
    require(request.user, CAPABILITIES[kind])  # before touching the trial: refusals look like absence
    trial = trial_get(user=request.user, code=code)
    view = dashboard_view(user=request.user, trial=trial, kind=kind, params=request.GET, today=timezone.localdate())
    if request.GET.get("format") == "csv":
        chart = view.page.chart(request.GET.get("chart", ""))
        if chart is None:
            raise Http404
        response = HttpResponse(csv_text(chart.csv_table()), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{trial.code}-{chart.id}.csv"'
        return response
    return render(
        request,
        f"outcomes/dashboards/{kind.value}.html",
        {"trial": trial, "view": view, "page": view.page, "filters": view.filters, "kind": kind.value},
    )


@login_required
def dashboard_enrolment(request: HttpRequest, code: str) -> HttpResponse:
    return _dashboard(request, code, DashboardKind.ENROLMENT)


@login_required
def dashboard_health(request: HttpRequest, code: str) -> HttpResponse:
    return _dashboard(request, code, DashboardKind.HEALTH)


@login_required
def dashboard_randomisation(request: HttpRequest, code: str) -> HttpResponse:
    return _dashboard(request, code, DashboardKind.RANDOMISATION)


@login_required
def dashboard_efficacy(request: HttpRequest, code: str) -> HttpResponse:
    return _dashboard(request, code, DashboardKind.EFFICACY)
