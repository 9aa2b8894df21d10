"""Enrolment dashboard (issue 7): cumulative enrolment against the target, overall and per site, with the projected
completion date; screened vs enrolled vs screen-failed with the failed criteria; the per-site table.

Definitions: *screened* = every patient registered in the EDC (a signed consent), by consent month; *enrolled* = a
registration (COSMO) or randomisation (AVATAR II) date and not screen-failed, by that date's month; *screen failed*
= status "screen failed", by consent month, with the eligibility criteria the checklist shows as failed (one
patient may fail several; "no failed criterion recorded" when the checklist shows none).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncMonth

from patients.crfs.enrolment import eligibility_model_for
from patients.models import Patient, PatientStatus
from trials.models import Trial

from ..domain import charts
from ..domain.dashboards import (
    MONTH_DAYS,
    RECENT_WINDOW_DAYS,
    cumulative,
    month_key,
    month_start,
    months_between,
    project_completion,
    rate_per_month,
    ticks,
)
from .common import Chart, Filters, Page, Table, add, as_date, by_month, sites_of, total

NOT_RECORDED = "No failed criterion recorded"
RECENT_DAYS_KEPT = 400


def build(trial: Trial, *, today: date) -> dict[str, Any]:
    """Four aggregate queries, whatever the number of patients."""
    patients = Patient.objects.filter(trial=trial)
    screened: dict[str, Any] = {}
    failed: dict[str, Any] = {}
    for site_id, month, status, n in (
        patients.annotate(month=TruncMonth("consent_date"))
        .values_list("site_id", "month", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        key = month_key(as_date(month))  # type: ignore[arg-type]
        add(screened, (str(site_id), key), n)
        if status == PatientStatus.SCREEN_FAILED:
            add(failed, (str(site_id), key), n)
    enrolled: dict[str, Any] = {}
    last: dict[str, dict[str, str]] = {}
    enrolled_patients = patients.filter(enrolment_date__isnull=False).exclude(status=PatientStatus.SCREEN_FAILED)
    for site_id, month, n, latest in (
        enrolled_patients.annotate(month=TruncMonth("enrolment_date"))
        .values_list("site_id", "month")
        .annotate(n=Count("id"), latest=Max("enrolment_date"))
        .order_by()
    ):
        key = month_key(as_date(month))  # type: ignore[arg-type]
        add(enrolled, (str(site_id), key), n)
        last.setdefault(str(site_id), {})[key] = as_date(latest).isoformat()  # type: ignore[union-attr]
    recent: dict[str, Any] = {}
    for site_id, day, n in (
        enrolled_patients.filter(enrolment_date__gt=today - timedelta(days=RECENT_DAYS_KEPT))
        .values_list("site_id", "enrolment_date")
        .annotate(n=Count("id"))
        .order_by()
    ):
        add(recent, (str(site_id), day.isoformat()), n)
    return {
        "target": trial.target_enrolment,
        "screened": screened,
        "screen_failed": failed,
        "enrolled": enrolled,
        "last_enrolment": last,
        "recent": recent,
        "reasons": _reasons(trial),
    }


def _reasons(trial: Trial) -> dict[str, Any]:
    """Failed criteria of screen-failed patients, per site and consent month: one conditional-count query."""
    model = eligibility_model_for(trial.code)
    reasons: dict[str, Any] = {}
    if model is None:
        return reasons
    labels = {name: str(getattr(model._meta.get_field(name), "verbose_name", name)) for name in model.criteria()}
    counts = {f"c_{name}": Count("id", filter=Q(**{name: False})) for name in model.INCLUSION}
    counts |= {f"c_{name}": Count("id", filter=Q(**{name: True})) for name in model.EXCLUSION}
    counts["c_any"] = Count("id", filter=Q(eligible=False))
    rows = (
        model._default_manager.filter(patient__trial=trial, patient__status=PatientStatus.SCREEN_FAILED)
        .annotate(month=TruncMonth("patient__consent_date"))
        .values("site_id", "month")
        .annotate(**counts)
        .order_by()
    )
    for row in rows:
        key = month_key(as_date(row["month"]))  # type: ignore[arg-type]
        for name, label in labels.items():
            if row[f"c_{name}"]:
                add(reasons, (str(row["site_id"]), key, label), row[f"c_{name}"])
        add(reasons, (str(row["site_id"]), key, "_with_criterion"), row["c_any"])
    return reasons


# The page --------------------------------------------------------------------------------------------------------


def _axis(months: list[str]) -> tuple[date, float, list[tuple[float, str]]]:
    origin = month_start(months[0])
    span = (month_start(months[-1]) - origin).days + 31
    every = max(1, round(len(months) / 8))
    x_ticks = [(float((month_start(m) - origin).days), m) for i, m in enumerate(months) if i % every == 0]
    return origin, float(span), x_ticks


def _y_ticks(maximum: float) -> list[tuple[float, str]]:
    return [(value, f"{value:g}") for value in ticks(max(1.0, maximum))]


def present(figures: dict[str, Any], filters: Filters, *, today: date, **_: Any) -> Page:
    sites = [site for site in sites_of(figures) if site.id in filters.site_ids]
    enrolled_by_month = by_month(figures["enrolled"], filters)
    screened_by_month = by_month(figures["screened"], filters)
    trial_target = int(figures.get("target") or 0)
    target = trial_target if not filters.site_code else sum(site.target for site in sites)
    present_months = sorted(set(enrolled_by_month) | set(screened_by_month))
    first = filters.start or (present_months[0] if present_months else month_key(today))
    last = filters.end or max([month_key(today), *present_months])
    months = months_between(min(first, last), last)
    running = cumulative(enrolled_by_month, months)
    enrolled_total = total(figures["enrolled"], Filters(filters.sites))  # every month: the projection's base
    recent_from = today - timedelta(days=RECENT_WINDOW_DAYS)
    recent = sum(
        n
        for site_id, days in figures["recent"].items()
        if site_id in filters.site_ids
        for day, n in days.items()
        if recent_from < date.fromisoformat(day) <= today
    )
    projection = project_completion(enrolled=enrolled_total, target=target, recent=recent, today=today)
    charts_ = [
        _cumulative_chart(months, running, enrolled_by_month, target, projection, filters, today),
        _per_site_chart(figures, filters, months, sites),
        _screening_chart(figures, filters, sites),
        _reasons_chart(figures, filters),
        _site_table(figures, filters, sites, today),
    ]
    cards = [
        ("Enrolled", f"{enrolled_total} of {target}" if target else str(enrolled_total)),
        ("Screened", str(total(figures["screened"], filters))),
        ("Screen failed", str(total(figures["screen_failed"], filters))),
        ("Projected completion", projection.completion.isoformat() if projection.completion else "—"),
    ]
    return Page("Enrolment", charts_, cards=cards, notes=[projection.note])


def _cumulative_chart(
    months: list[str],
    running: list[int],
    monthly: dict[str, int],
    target: int,
    projection: Any,
    filters: Filters,
    today: date,
) -> Chart:
    origin, span, x_ticks = _axis(months)
    points = tuple(
        ((min(today, month_start(m) + timedelta(days=30)) - origin).days, float(n))
        for m, n in zip(months, running, strict=True)
        if month_start(m) <= today
    )
    series = [charts.Series("Enrolled (cumulative)", ((0.0, 0.0), *points), style=0)]
    y_max = float(max([target, *running, 1]))
    show_projection = projection.completion is not None and not filters.end and not filters.start
    if show_projection:
        start = ((today - origin).days, float(projection.enrolled))
        end = ((projection.completion - origin).days, float(target))
        span = max(span, end[0] + 15)
        series.append(charts.Series(f"Projection ({projection.completion.isoformat()})", (start, end), 1, True))
    references = [charts.Reference(target, f"Target {target}")] if target else []
    description = (
        f"Cumulative enrolment by month from {months[0]} to {months[-1]}: {running[-1] if running else 0} patients"
        + (f" against a target of {target}" if target else "")
        + (
            f"; at the recent rate the target is reached on {projection.completion.isoformat()}."
            if show_projection
            else "."
        )
    )
    svg = charts.line_chart(
        chart_id="enrolment-cumulative",
        title="Cumulative enrolment against the target",
        description=description,
        series=series,
        x_ticks=x_ticks,
        y_ticks=_y_ticks(y_max),
        x_max=span,
        y_max=max(t for t, _ in _y_ticks(y_max)),
        references=references,
    )
    table = Table(
        "Enrolment by month (cumulative) and the target",
        ["Month", "Enrolled in the month", "Cumulative", "Target"],
        [[m, monthly.get(m, 0), n, target or None] for m, n in zip(months, running, strict=True)],
    )
    return Chart("enrolment-cumulative", "Cumulative enrolment", svg, table, note=projection.note)


def _per_site_chart(figures: dict[str, Any], filters: Filters, months: list[str], sites: list[Any]) -> Chart:
    origin, span, x_ticks = _axis(months)
    series, rows = [], []
    y_max = 1.0
    for index, site in enumerate(sites):
        monthly = {m: n for m, n in figures["enrolled"].get(site.id, {}).items() if filters.month(m)}
        running = cumulative(monthly, months)
        y_max = max(y_max, float(running[-1] if running else 0), float(site.target))
        points = tuple(((month_start(m) - origin).days + 30, float(n)) for m, n in zip(months, running, strict=True))
        series.append(charts.Series(f"{site.code} ({running[-1] if running else 0}/{site.target})", points, index))
        rows.append([site.code, running[-1] if running else 0, site.target])
    svg = charts.line_chart(
        chart_id="enrolment-sites",
        title="Cumulative enrolment per site",
        description="One line per site, cumulative enrolment by month; the legend gives enrolled / site target.",
        series=series,
        x_ticks=x_ticks,
        y_ticks=_y_ticks(y_max),
        x_max=span,
        y_max=max(t for t, _ in _y_ticks(y_max)),
    )
    table = Table("Enrolment per site in the period", ["Site", "Enrolled", "Site target"], rows)
    return Chart("enrolment-sites", "Enrolment per site", svg, table)


def _screening_chart(figures: dict[str, Any], filters: Filters, sites: list[Any]) -> Chart:
    rows = [
        [
            site.code,
            total(figures["screened"], filters, site.id),
            total(figures["enrolled"], filters, site.id),
            total(figures["screen_failed"], filters, site.id),
        ]
        for site in sites
    ]
    svg = charts.bar_chart(
        chart_id="enrolment-screening",
        title="Screened, enrolled and screen-failed patients per site",
        description="; ".join(f"{r[0]}: {r[1]} screened, {r[2]} enrolled, {r[3]} screen failed" for r in rows)
        or "No sites.",
        categories=[row[0] for row in rows],
        series=[
            charts.BarSeries(label, tuple(float(row[i]) for row in rows), style)
            for i, label, style in ((1, "Screened", 5), (2, "Enrolled", 2), (3, "Screen failed", 1))
        ],
    )
    table = Table("Screening per site", ["Site", "Screened", "Enrolled", "Screen failed"], rows)
    return Chart("enrolment-screening", "Screened vs enrolled vs screen failed", svg, table)


def _reasons_chart(figures: dict[str, Any], filters: Filters) -> Chart:
    counts: dict[str, int] = {}
    with_criterion = 0
    for site_id, months in figures["reasons"].items():
        if site_id not in filters.site_ids:
            continue
        for month, reasons in months.items():
            if not filters.month(month):
                continue
            for label, n in reasons.items():
                if label == "_with_criterion":
                    with_criterion += n
                else:
                    counts[label] = counts.get(label, 0) + n
    unrecorded = total(figures["screen_failed"], filters) - with_criterion
    if unrecorded > 0:
        counts[NOT_RECORDED] = unrecorded
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    svg = charts.bar_chart(
        chart_id="enrolment-reasons",
        title="Screen-failure reasons (failed eligibility criteria)",
        description="; ".join(f"{label}: {n}" for label, n in ordered) or "No screen failures in the period.",
        categories=[label for label, _ in ordered],
        series=[charts.BarSeries("Patients", tuple(float(n) for _, n in ordered), 1)],
    )
    table = Table(
        "Screen-failure reasons (a patient may fail several criteria)",
        ["Reason", "Patients"],
        [[label, n] for label, n in ordered],
    )
    return Chart("enrolment-reasons", "Screen-failure reasons", svg, table)


def _site_table(figures: dict[str, Any], filters: Filters, sites: list[Any], today: date) -> Chart:
    rows = []
    for site in sites:
        enrolled = total(figures["enrolled"], filters, site.id)
        latest = max(
            (d for m, d in figures["last_enrolment"].get(site.id, {}).items() if filters.month(m)), default=None
        )
        rate = rate_per_month(enrolled, since=site.activation, today=today)
        rows.append(
            [
                site.code,
                site.name,
                site.activation.isoformat() if site.activation else None,
                enrolled,
                site.target,
                round(rate, 2) if rate is not None else None,
                (today - date.fromisoformat(latest)).days if latest else None,
            ]
        )
    table = Table(
        f"Per site: enrolment rate per month ({MONTH_DAYS} days) since activation",
        ["Site", "Name", "Activated", "Enrolled", "Target", "Rate per month", "Days since last enrolment"],
        rows,
    )
    return Chart("enrolment-site-table", "Sites", "", table)
