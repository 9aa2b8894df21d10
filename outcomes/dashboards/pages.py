"""Reads for the dashboard pages: who may open which dashboard, and the page a snapshot gives under the user's scope
and filters. One snapshot query per page, whatever the trial's size (a filtered efficacy page reads one part of its
snapshot besides: ``efficacy.present``); everything else is Python over its facts.

Capabilities (``trials.permissions``): enrolment and randomisation need VIEW_ENROLMENT_COUNTS; trial health
VIEW_TRIAL_HEALTH; efficacy VIEW_EFFICACY (statistician, sponsor admin: never the trial manager). Arms and strata
appear on the randomisation page only with MANAGE_RANDOMISATION. Site-scoped roles hold none of these and get 404;
if one ever did, the facts would be narrowed to the user's sites (``filters_from``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.urls import reverse

from trials.models import Trial
from trials.permissions import Capability, can, require

from ..models import DashboardKind, DashboardSnapshot
from . import efficacy, enrolment, health, randomisation
from .common import Filters, Page, filters_from, sites_of
from .snapshots import dashboard_snapshot_get, dashboard_snapshot_part

CAPABILITIES = {
    DashboardKind.ENROLMENT: Capability.VIEW_ENROLMENT_COUNTS,
    DashboardKind.HEALTH: Capability.VIEW_TRIAL_HEALTH,
    DashboardKind.RANDOMISATION: Capability.VIEW_ENROLMENT_COUNTS,
    DashboardKind.EFFICACY: Capability.VIEW_EFFICACY,
}
PRESENTERS: dict[str, Callable[..., Page]] = {
    DashboardKind.ENROLMENT: enrolment.present,
    DashboardKind.HEALTH: health.present,
    DashboardKind.RANDOMISATION: randomisation.present,
    DashboardKind.EFFICACY: efficacy.present,
}


@dataclass
class DashboardView:
    kind: str
    page: Page
    filters: Filters
    snapshot: DashboardSnapshot
    sites: list[Any]
    tabs: list[tuple[str, str, str]]


def dashboard_tabs(*, user: Any, trial: Trial) -> list[tuple[str, str, str]]:
    """(kind, label, URL) of every dashboard of the trial the user may open."""
    return [
        (kind.value, kind.label, reverse(f"outcomes:dashboard_{kind.value}", kwargs={"code": trial.code}))
        for kind in DashboardKind
        if can(user, CAPABILITIES[kind])
    ]


def dashboard_view(*, user: Any, trial: Trial, kind: str, params: Mapping[str, str], today: date) -> DashboardView:
    require(user, CAPABILITIES[DashboardKind(kind)])
    snapshot = dashboard_snapshot_get(trial=trial, kind=kind)
    all_sites = sites_of(snapshot.figures)
    filters = filters_from(params, all_sites=all_sites, scope=user.site_ids())
    page = PRESENTERS[DashboardKind(kind)](
        snapshot.figures,
        filters,
        today=today,
        arms_visible=can(user, Capability.MANAGE_RANDOMISATION),
        all_site_ids=frozenset(site.id for site in all_sites),
        load=lambda scope_key: dashboard_snapshot_part(trial=trial, kind=kind, scope_key=scope_key),
    )
    scope = user.site_ids()
    visible_sites = [site for site in all_sites if scope is None or int(site.id) in scope]
    return DashboardView(kind, page, filters, snapshot, visible_sites, dashboard_tabs(user=user, trial=trial))
