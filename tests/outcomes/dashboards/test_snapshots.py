"""Snapshot contents against the database: every number a dashboard shows is counted again here, independently,
from the ORM (or, for Kaplan-Meier, by lifelines); the view only narrows the stored facts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db.models import Count, Max
from django.utils import timezone
from lifelines import KaplanMeierFitter

from outcomes.dashboards.common import Filters, filters_from, sites_of
from outcomes.dashboards.pages import PRESENTERS
from outcomes.dashboards.snapshots import dashboard_snapshot_refresh
from outcomes.models import DashboardKind, EndpointValue
from patients.crfs.enrolment import AvatarEligibility
from patients.models import FactB, Patient, PatientStatus, Query, QueryStatus, TumourBiology, Visit
from patients.randomisation import Allocation
from patients.selectors_randomisation import stratum_labels
from trials.models import Trial

from ...conftest import Cast
from .population import populate

TODAY = timezone.localdate()


@pytest.fixture
def trial(cast: Cast) -> Trial:
    populate(30, seed=3)
    return cast.avatar2


def page(trial: Trial, kind: str, params: dict[str, str] | None = None, **options: Any) -> Any:
    snapshot = dashboard_snapshot_refresh(trial=trial, kind=kind)
    sites = sites_of(snapshot.figures)
    filters = filters_from(params or {}, all_sites=sites, scope=options.pop("scope", None))
    options.setdefault("all_site_ids", frozenset(site.id for site in sites))
    return PRESENTERS[DashboardKind(kind)](snapshot.figures, filters, today=options.pop("today", TODAY), **options)


def rows(chart: Any) -> dict[Any, list[Any]]:
    return {row[0]: row[1:] for row in chart.table.rows}


def test_enrolment_counts_per_site_equal_the_database(trial: Trial) -> None:
    screening = rows(page(trial, "enrolment").chart("enrolment-screening"))
    patients = Patient.objects.filter(trial=trial)
    expected = {
        code: [
            n,
            patients.filter(site__code=code, enrolment_date__isnull=False)
            .exclude(status=PatientStatus.SCREEN_FAILED)
            .count(),
            patients.filter(site__code=code, status=PatientStatus.SCREEN_FAILED).count(),
        ]
        for code, n in patients.values_list("site__code").annotate(n=Count("id"))
    }
    assert {code: values for code, values in screening.items() if code in expected} == expected
    assert sum(values[2] for values in screening.values()) > 0  # the population has screen failures


def test_the_site_table_gives_days_since_the_last_enrolment(trial: Trial) -> None:
    table = rows(page(trial, "enrolment").chart("enrolment-site-table"))
    latest = (
        Patient.objects.filter(trial=trial, enrolment_date__isnull=False)
        .values_list("site__code")
        .annotate(last=Max("enrolment_date"))
    )
    for code, last in latest:
        assert table[code][5] == (TODAY - last).days


def test_screen_failure_reasons_count_the_failed_criteria(trial: Trial) -> None:
    reasons = rows(page(trial, "enrolment").chart("enrolment-reasons"))
    failed = Patient.objects.filter(trial=trial, status=PatientStatus.SCREEN_FAILED)
    forms = AvatarEligibility.objects.filter(patient__in=failed)
    for name in AvatarEligibility.INCLUSION:
        n = forms.filter(**{name: False}).count()
        label = str(getattr(AvatarEligibility._meta.get_field(name), "verbose_name", name))
        assert reasons.get(label, [0]) == ([n] if n else [0])
    without = failed.count() - forms.filter(eligible=False).count()
    assert reasons["No failed criterion recorded"] == [without]


def test_the_projection_follows_the_last_ninety_days(trial: Trial) -> None:
    result = page(trial, "enrolment")
    enrolled = Patient.objects.filter(trial=trial, enrolment_date__isnull=False).exclude(
        status=PatientStatus.SCREEN_FAILED
    )
    recent = enrolled.filter(enrolment_date__gt=date.fromordinal(TODAY.toordinal() - 90)).count()
    assert result.cards[0] == ("Enrolled", f"{enrolled.count()} of {trial.target_enrolment}")
    completion = result.cards[3][1]
    if recent:
        days = -(-(trial.target_enrolment - enrolled.count()) * 90 // recent)
        assert completion == date.fromordinal(TODAY.toordinal() + days).isoformat()
    else:
        assert completion == "—"


def test_open_queries_by_site_and_age_equal_the_database(trial: Trial) -> None:
    table = rows(page(trial, "health").chart("health-queries"))
    open_queries = Query.objects.filter(patient__trial=trial).exclude(status=QueryStatus.CLOSED)
    assert sum(values[-1] for values in table.values()) == open_queries.count() > 0
    for code, values in table.items():
        ages = [(TODAY - q.raised_at.date()).days for q in open_queries.filter(site__code=code)]
        assert values[0] == sum(1 for age in ages if age <= 7)
        assert values[4] == sum(1 for age in ages if age > 60)


def test_missing_and_incomplete_forms_equal_the_database(trial: Trial) -> None:
    table = page(trial, "health").chart("health-forms").table.rows
    drafts = TumourBiology.objects.filter(patient__trial=trial, status="draft").count()
    incomplete = sum(row[4] for row in table if row[1] == "Tumour biology")
    assert incomplete == drafts > 0
    # FACT-B is expected at every done follow-up 1-4: those without one are missing
    done = Visit.objects.filter(
        patient__trial=trial, status="done", definition__code="follow-up", occurrence__lte=4
    ).exclude(patient__status=PatientStatus.SCREEN_FAILED)
    with_form = FactB.objects.filter(visit__in=done).values("visit").distinct().count()
    missing = sum(row[3] for row in table if row[1] == "FACT-B v4 questionnaire")
    assert missing >= done.count() - with_form > 0


def test_randomisation_by_arm_and_stratum_equals_the_database(trial: Trial) -> None:
    result = page(trial, "randomisation", arms_visible=True)
    strata = rows(result.chart("randomisation-strata"))
    allocations = Allocation.objects.filter(trial=trial)
    labels = stratum_labels(trial=trial)
    used = sorted(set(allocations.values_list("stratum", flat=True)))
    assert len(used) > 1
    for stratum in used:
        counts = [allocations.filter(stratum=stratum, arm__code=arm).count() for arm in ("A", "B")]
        assert strata[labels[stratum]][:3] == [*counts, sum(counts)]
    total = [allocations.filter(arm__code=arm).count() for arm in ("A", "B")]
    assert strata["All strata"][:3] == [*total, sum(total)]


def test_the_trial_manager_page_carries_no_arm(trial: Trial) -> None:
    result = page(trial, "randomisation", arms_visible=False)
    assert [chart.id for chart in result.charts] == ["randomisation-sites"]
    text = repr(result)
    assert "Arm A" not in text and "stratum" not in text.lower().replace("strata", "")


def test_kaplan_meier_tables_agree_with_lifelines(trial: Trial) -> None:
    result = page(trial, "efficacy")
    table = result.chart("efficacy-pfs").table.rows
    arms = dict(Allocation.objects.filter(trial=trial).values_list("patient_id", "arm__code"))
    for arm in ("A", "B"):
        values = [
            (aval, event)
            for patient_id, aval, event in EndpointValue.objects.filter(
                patient__trial=trial, paramcd="PFS"
            ).values_list("patient_id", "aval_days", "event")
            if arms.get(patient_id) == arm
        ]
        fitter = KaplanMeierFitter().fit([v[0] for v in values], [v[1] for v in values])
        for label, months, at_risk, survival, *_ in table:
            if label != f"Arm {arm}":
                continue
            days = months * 30.4375
            assert survival == pytest.approx(float(fitter.predict(days)), abs=1e-3)
            assert at_risk == sum(1 for aval, _ in values if aval >= days)


def test_a_site_filter_and_a_site_scope_narrow_every_figure(trial: Trial, cast: Cast) -> None:
    whole = rows(page(trial, "enrolment").chart("enrolment-screening"))
    by_site = rows(page(trial, "enrolment", {"site": "NL01"}).chart("enrolment-screening"))
    assert list(by_site) == ["NL01"] and by_site["NL01"] == whole["NL01"]
    scoped = rows(page(trial, "health", scope={cast.site_b.pk}).chart("health-queries"))
    assert list(scoped) == ["BE01"]
    outside = rows(page(trial, "health", {"site": "NL01"}, scope={cast.site_b.pk}).chart("health-queries"))
    assert outside == {}


def test_a_month_range_keeps_only_its_months(trial: Trial) -> None:
    first = Patient.objects.filter(trial=trial).order_by("consent_date").first()
    assert first is not None
    month = f"{first.consent_date:%Y-%m}"
    result = rows(page(trial, "enrolment", {"from": month, "to": month}).chart("enrolment-screening"))
    expected = Patient.objects.filter(
        trial=trial, consent_date__year=first.consent_date.year, consent_date__month=first.consent_date.month
    ).count()
    assert sum(values[0] for values in result.values()) == expected


def test_filters_ignore_malformed_months() -> None:
    filters = filters_from({"from": "2025-13", "to": "yesterday"}, all_sites=[], scope=None)
    assert filters == Filters((), "", None, None)
