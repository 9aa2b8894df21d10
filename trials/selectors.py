"""Reads of configuration and people. Site lists are always scoped to the user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .domain.schedule import VisitSpec
from .models import AnalysisSettings, Site, Trial, TrialSite, User


def site_list(*, user: Any) -> QuerySet[Site]:
    site_ids = user.site_ids() if user.is_authenticated else set()
    sites = Site.objects.all()
    return sites if site_ids is None else sites.filter(pk__in=site_ids)


def trial_list(*, user: Any) -> QuerySet[Trial]:
    """Trials the user takes part in: all of them for all-site roles, else those with one of the user's sites."""
    if not user.is_authenticated:
        return Trial.objects.none()
    site_ids = user.site_ids()
    trials = Trial.objects.all()
    return trials if site_ids is None else trials.filter(trial_sites__site_id__in=site_ids).distinct()


def trial_get(*, user: Any, code: str) -> Trial:
    return get_object_or_404(trial_list(user=user), code=code)


def trial_site_list(*, user: Any, trial: Trial) -> QuerySet[TrialSite]:
    return TrialSite.objects.for_user(user).filter(trial=trial).select_related("site")


def analysis_settings_current(*, trial: Trial) -> AnalysisSettings:
    settings = trial.analysis_settings.order_by("-version").first()
    if settings is None:
        raise AnalysisSettings.DoesNotExist(f"{trial} has no analysis settings")
    return settings


def visit_specs(*, trial: Trial) -> list[VisitSpec]:
    return [
        VisitSpec(
            code=v.code,
            name=v.name,
            day=v.day,
            window_before=v.window_before,
            window_after=v.window_after,
            repeat_interval_days=v.repeat_interval_days,
            repeat_count=v.repeat_count,
        )
        for v in trial.visit_definitions.exclude(kind__in=["unscheduled", "long_term"]).order_by("order")
    ]


def user_list() -> QuerySet[User]:
    return User.objects.prefetch_related("memberships__site").order_by("username")
