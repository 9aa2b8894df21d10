"""Randomisation dashboard (issue 7): allocations by site for everyone with the enrolment-counts capability; by arm and
stratum (and arm by site) only with ``MANAGE_RANDOMISATION`` (statistician, sponsor admin). The trial manager's page
is built from the same facts with every arm summed away: no arm, no stratum ever reaches it (nor its CSV).

Counts come from the allocation records (``patients.randomisation.Allocation``: randomised in AVATAR II, registered
in COSMO), by the month allocated.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncMonth

from patients.randomisation import Allocation
from patients.selectors_randomisation import stratum_labels
from trials.models import Trial

from ..domain import charts
from ..domain.dashboards import month_key
from .common import Chart, Filters, Page, Table, as_date


def build(trial: Trial, *, today: date) -> dict[str, Any]:
    rows = [
        [str(site_id), month_key(as_date(month)), arm, stratum, n]  # type: ignore[arg-type]
        for site_id, month, arm, stratum, n in Allocation.objects.filter(trial=trial)
        .annotate(month=TruncMonth("allocated_at"))
        .values_list("site_id", "month", "arm__code", "stratum")
        .annotate(n=Count("id"))
        .order_by()
    ]
    try:
        labels = stratum_labels(trial=trial)
    except Exception:  # noqa: BLE001 - a trial without analysis settings still shows its counts
        labels = {}
    return {
        "allocations": rows,
        "arms": {arm.code: arm.name for arm in trial.arms.order_by("code")},
        "strata": labels,
    }


def _selected(figures: dict[str, Any], filters: Filters) -> list[list[Any]]:
    return [row for row in figures["allocations"] if row[0] in filters.site_ids and filters.month(row[1])]


def present(figures: dict[str, Any], filters: Filters, *, today: date, arms_visible: bool = False, **_: Any) -> Page:
    rows = _selected(figures, filters)
    sites = list(filters.sites)
    by_site = {site.id: sum(row[4] for row in rows if row[0] == site.id) for site in sites}
    site_rows: list[list[Any]] = [[site.code, by_site[site.id]] for site in sites]
    site_rows.append(["All sites", sum(by_site.values())])
    svg = charts.bar_chart(
        chart_id="randomisation-sites",
        title="Patients allocated per site",
        description="; ".join(f"{code}: {n}" for code, n in site_rows),
        categories=[site.code for site in sites],
        series=[charts.BarSeries("Allocated", tuple(float(by_site[site.id]) for site in sites), 0)],
    )
    charts_ = [
        Chart(
            "randomisation-sites",
            "Allocations by site",
            svg,
            Table("Patients randomised or registered per site", ["Site", "Allocated"], site_rows),
        )
    ]
    cards = [("Allocated", str(sum(by_site.values())))]
    if arms_visible:
        charts_ += _by_arm(figures, rows, sites)
    return Page("Randomisation", charts_, cards=cards)


def _by_arm(figures: dict[str, Any], rows: list[list[Any]], sites: list[Any]) -> list[Chart]:
    arms = list(figures["arms"])
    labels: dict[str, str] = figures.get("strata") or {}
    strata = sorted({row[3] for row in rows})
    counts = {(stratum, arm): 0 for stratum in strata for arm in arms}
    site_counts = {(site.id, arm): 0 for site in sites for arm in arms}
    for site_id, _, arm, stratum, n in rows:
        counts[(stratum, arm)] = counts.get((stratum, arm), 0) + n
        site_counts[(site_id, arm)] = site_counts.get((site_id, arm), 0) + n
    names = [labels.get(stratum, stratum or "—") for stratum in strata]
    table_rows: list[list[Any]] = []
    for stratum, name in zip(strata, names, strict=True):
        values = [counts[(stratum, arm)] for arm in arms]
        table_rows.append([name, *values, sum(values), max(values) - min(values) if values else 0])
    totals = [sum(counts[(s, arm)] for s in strata) for arm in arms]
    table_rows.append(["All strata", *totals, sum(totals), max(totals) - min(totals) if totals else 0])
    svg = charts.bar_chart(
        chart_id="randomisation-strata",
        title="Allocations by arm and stratum",
        description="; ".join(
            f"{name}: " + ", ".join(f"arm {arm} {counts[(stratum, arm)]}" for arm in arms)
            for stratum, name in zip(strata, names, strict=True)
        )
        or "No allocations.",
        categories=names,
        series=[
            charts.BarSeries(f"Arm {arm}", tuple(float(counts[(s, arm)]) for s in strata), index)
            for index, arm in enumerate(arms)
        ],
    )
    arm_headers = [f"Arm {arm}" for arm in arms]
    by_stratum = Chart(
        "randomisation-strata",
        "By arm and stratum",
        svg,
        Table(
            "Allocations by stratum and arm (difference = largest − smallest arm)",
            ["Stratum", *arm_headers, "Total", "Difference"],
            table_rows,
        ),
    )
    site_rows = [[site.code, *(site_counts[(site.id, arm)] for arm in arms)] for site in sites]
    by_site = Chart(
        "randomisation-arm-sites",
        "By arm and site",
        "",
        Table("Allocations by site and arm", ["Site", *arm_headers], site_rows),
    )
    return [by_stratum, by_site]
