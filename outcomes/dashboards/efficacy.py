"""Efficacy dashboard (issue 7; statisticians and sponsor admins only): Kaplan-Meier curves with 95 % log-log CI
bands, censoring ticks and numbers at risk, from the stored endpoint rows (``EndpointValue``: AVAL with the +1, D2;
primary FDA-style censoring, D6), estimated by ``outcomes.domain.survival.kaplan_meier`` (log-log CI, the estimator
of the endpoint summaries); and those summaries' tables.

COSMO: PFS with the PFS-6 landmark (``AnalysisSettings.landmark_days``, 182.625 days by default, D3/D9) and OS.
AVATAR II: TSF, PFS and OS by arm (the arm of the stored derivation's subgroups, as the summaries use).

What the refresh stores, so that a page decodes only what it shows (a page's time is mostly JSON decoding and SVG):

- the main snapshot (scope ``all``): the curves of the whole trial, estimated once (every step with its CI and
  counts, as parallel arrays; the readings at the risk-table months; median, landmark, counts), and the endpoint
  summaries' tables without their curves. The unfiltered page reads this row only.
- one part per site (scope ``site:<id>``): the same curves for that site's patients, read by a page filtered to one
  site and no months.
- one part with the patients (scope ``patients``): per endpoint, parallel integer arrays (site, month of enrolment,
  AVAL, event, group; sites, months and groups as indices into short lists), read only when a filter needs the
  curves re-estimated (a month range, or several but not all sites).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np
from django.db.models import F

from trials.models import Trial
from trials.selectors import analysis_settings_current

from ..domain import charts
from ..domain.dashboards import MONTH_DAYS, CurvePoint, month_key
from ..domain.summaries import RISK_TABLE_MONTHS
from ..domain.survival import ConfidenceTransform, kaplan_meier
from ..models import EndpointValue, PatientDerivation, TrialSummary
from .common import Chart, Filters, Page, Table

NAMES = {
    "PFS": "Progression-free survival",
    "TSF": "Time to strategy failure",
    "OS": "Overall survival",
}
PLAN = {True: (("TSF", "arm"), ("PFS", "arm"), ("OS", "arm")), False: (("PFS", "overall"), ("OS", "overall"))}
LANDMARK_ENDPOINTS = {("PFS", False)}  # PFS-6 is COSMO's primary endpoint
PATIENTS_PART = "patients"
STEP_COLUMNS = ("time", "survival", "lower", "upper", "at_risk", "events", "censored")

Curves = dict[str, dict[str, Any]]


def site_part(site_id: str | int) -> str:
    return f"site:{site_id}"


# The refresh -----------------------------------------------------------------------------------------------------


def build(trial: Trial, *, today: date) -> dict[str, Any]:
    plan = PLAN[trial.is_randomised]
    try:
        landmark = float(analysis_settings_current(trial=trial).landmark_days)
    except Exception:  # noqa: BLE001 - a trial without settings gets the D3 default
        landmark = 182.625
    groups: dict[int, str] = {}
    if trial.is_randomised:
        groups = {
            patient_id: str(arm or "Unassigned")
            for patient_id, arm in PatientDerivation.objects.filter(patient__trial=trial).values_list(
                "patient_id", "values__subgroups__arm"
            )
        }
    site_ids = [str(site_id) for site_id in trial.trial_sites.order_by("site__code").values_list("site_id", flat=True)]
    site_index = {site_id: index for index, site_id in enumerate(site_ids)}
    month_list: list[str] = []
    month_index: dict[str, int] = {}
    group_list: list[str] = []
    group_index: dict[str, int] = {}
    columns: dict[str, dict[str, list[int]]] = {
        paramcd: {"site": [], "month": [], "aval": [], "event": [], "group": []} for paramcd, _ in plan
    }
    values = (
        EndpointValue.objects.filter(patient__trial=trial, paramcd__in=list(columns), event__isnull=False)
        .annotate(enrolled=F("patient__enrolment_date"))
        .values_list("paramcd", "patient_id", "site_id", "enrolled", "aval_days", "event")
        .order_by("paramcd", "patient_id")
    )
    # One plain fetch (a few small columns per patient), not a server-side cursor (``iterator()``): a cursor's plan
    # is chosen for its first rows and, on a table bulk-loaded and not yet analysed, took 15 s instead of 0.2 s at
    # 10,000 patients.
    for paramcd, patient_id, site_id, enrolled, aval, event in values:
        column = columns[paramcd]
        site = str(site_id)
        if site not in site_index:  # a site no longer linked to the trial keeps its patients' rows
            site_index[site] = len(site_ids)
            site_ids.append(site)
        month = month_key(enrolled) if enrolled else ""
        if month and month not in month_index:
            month_index[month] = len(month_list)
            month_list.append(month)
        group = groups.get(patient_id, "Unassigned") if trial.is_randomised else "All"
        if group not in group_index:
            group_index[group] = len(group_list)
            group_list.append(group)
        column["site"].append(site_index[site])
        column["month"].append(month_index[month] if month else -1)
        column["aval"].append(int(aval or 1))
        column["event"].append(1 if event else 0)
        column["group"].append(group_index[group])
    endpoints: dict[str, dict[str, Any]] = {}
    per_site: dict[str, dict[str, Any]] = {site_part(site_id): {"endpoints": {}} for site_id in site_ids}
    for paramcd, grouping in plan:
        with_landmark = landmark if (paramcd, trial.is_randomised) in LANDMARK_ENDPOINTS else None
        arrays = _arrays(columns[paramcd])
        endpoints[paramcd] = {
            "grouping": grouping,
            "landmark": with_landmark,
            "curves": _curves(arrays, None, group_list, with_landmark),
        }
        dated = arrays["month"] >= 0  # a filtered view counts the patients with an enrolment date only
        for index, site_id in enumerate(site_ids):
            keep = dated & (arrays["site"] == index)
            per_site[site_part(site_id)]["endpoints"][paramcd] = {
                "curves": _curves(arrays, keep, group_list, with_landmark)
            }
    keys = [f"{paramcd}:{grouping}" for paramcd, grouping in plan]
    summaries = {
        summary.key: {
            "data": _without_curves(summary.data),
            "patients": summary.patients,
            "computed_at": summary.computed_at.isoformat(),
            "settings_version": summary.settings_version,
        }
        for summary in TrialSummary.objects.filter(trial=trial, key__in=keys)
    }
    patients = {
        "sites": site_ids,
        "months": month_list,
        "groups": group_list,
        "endpoints": columns,
    }
    return {
        "endpoints": endpoints,
        "arms": {arm.code: arm.name for arm in trial.arms.order_by("code")},
        "landmark_days": landmark,
        "summaries": summaries,
        "plan": [list(item) for item in plan],
        "_parts": {PATIENTS_PART: patients, **per_site},
    }


def _without_curves(data: Any) -> Any:
    """A summary's tables as the page shows them: every step of its curves is the curves' business, not the table's
    (and decoding them on every view would cost more than the page)."""
    if not isinstance(data, dict):
        return data
    result = dict(data)
    for key in ("overall",):
        if isinstance(result.get(key), dict):
            result[key] = {k: v for k, v in result[key].items() if k != "curve"}
    if isinstance(result.get("groups"), dict):
        result["groups"] = {
            name: {k: v for k, v in group.items() if k != "curve"} if isinstance(group, dict) else group
            for name, group in result["groups"].items()
        }
    return result


def _arrays(columns: dict[str, list[int]]) -> dict[str, np.ndarray[Any, np.dtype[np.int64]]]:
    return {name: np.asarray(values, dtype=np.int64) for name, values in columns.items()}


def _curves(
    arrays: dict[str, np.ndarray[Any, np.dtype[np.int64]]],
    keep: np.ndarray[Any, np.dtype[np.bool_]] | None,
    groups: Sequence[str],
    landmark: float | None,
) -> Curves:
    """One curve per group present among the rows kept, by group name."""
    group = arrays["group"] if keep is None else arrays["group"][keep]
    aval = arrays["aval"] if keep is None else arrays["aval"][keep]
    event = arrays["event"] if keep is None else arrays["event"][keep]
    result = {}
    for index in np.unique(group).tolist():
        members = group == index
        result[groups[index]] = estimate(aval[members].tolist(), event[members].tolist(), landmark)
    return dict(sorted(result.items()))


def estimate(avals: Sequence[int], events: Sequence[int], landmark: float | None) -> dict[str, Any]:
    """One group's Kaplan-Meier curve, compact and JSON-ready: every step (from the time-0 point at Ŝ = 1) as parallel
    arrays, the readings at the risk-table months (right-continuous, as ``value_at`` reads a curve), the median and
    Ŝ at the landmark. No patient labels: ``kaplan_meier`` groups them per step, which the dashboard never shows."""
    n = len(avals)
    deaths = int(sum(events))
    summary: dict[str, Any] = {"n": n, "events": deaths, "censored": n - deaths}
    if not n:
        return summary
    km = kaplan_meier(avals, events, transform=ConfidenceTransform.LOG_LOG)
    steps: dict[str, list[Any]] = {
        "time": [0.0],
        "survival": [1.0],
        "lower": [1.0],
        "upper": [1.0],
        "at_risk": [n],
        "events": [0],
        "censored": [0],
    }
    for step in km.steps:
        steps["time"].append(step.time)
        steps["survival"].append(_number(step.survival))
        steps["lower"].append(_number(step.lower))
        steps["upper"].append(_number(step.upper))
        steps["at_risk"].append(step.at_risk)
        steps["events"].append(step.events)
        steps["censored"].append(step.censored)
    times = steps["time"]
    risk = []
    for months, at_risk in zip(
        RISK_TABLE_MONTHS, km.numbers_at_risk([m * MONTH_DAYS for m in RISK_TABLE_MONTHS]), strict=True
    ):
        index = bisect_right(times, months * MONTH_DAYS) - 1
        risk.append([months, at_risk, steps["survival"][index], steps["lower"][index], steps["upper"][index]])
    summary.update(
        {"median_days": _number(km.median().median), "risk": risk, "steps": steps, "landmark": None},
    )
    if landmark is not None:
        summary["landmark"] = _number(km.survival_at(landmark).survival)
    return summary


def _number(value: float | None) -> float | None:
    """Six decimals, as the endpoint summaries store their curves."""
    return None if value is None else round(float(value), 6)


# The page --------------------------------------------------------------------------------------------------------


def present(
    figures: dict[str, Any],
    filters: Filters,
    *,
    today: date,
    all_site_ids: frozenset[str],
    load: Callable[[str], dict[str, Any] | None] | None = None,
    **_: Any,
) -> Page:
    """The page under the filters: the whole trial's stored curves; one site's stored curves; or, for a month range
    or several sites, curves re-estimated from the stored patients (``load`` reads a part of the snapshot)."""
    whole_trial = filters.site_ids == all_site_ids and not filters.start and not filters.end
    arms: dict[str, str] = figures.get("arms", {})
    curves_by = _filtered_curves(figures, filters, whole_trial, load)
    charts_ = [
        _chart(paramcd, grouping, curves_by[paramcd], figures["endpoints"][paramcd]["landmark"], arms)
        for paramcd, grouping in figures["plan"]
    ]
    sections = [
        {
            "key": key,
            "name": NAMES.get(key.split(":")[0], key),
            "grouping": key.split(":", 1)[1],
            "summary": figures["summaries"][key],
        }
        for key in (f"{p}:{g}" for p, g in figures["plan"])
        if key in figures["summaries"]
    ]
    notes = [
        "Kaplan-Meier estimates with 95 % log-log (Greenwood) confidence bands; times in days with the +1 convention "
        "(D2), axis in months of 30.4375 days (D3); primary (FDA-style) censoring (D6)."
    ]
    if not whole_trial:
        notes.append("Curves show the filtered patients only; the summary tables below are for the whole trial.")
    return Page("Efficacy", charts_, notes=notes, extra={"summaries": sections})


def _filtered_curves(
    figures: dict[str, Any], filters: Filters, whole_trial: bool, load: Callable[[str], dict[str, Any] | None] | None
) -> dict[str, Curves]:
    plan = [paramcd for paramcd, _ in figures["plan"]]
    if whole_trial:
        return {paramcd: figures["endpoints"][paramcd]["curves"] for paramcd in plan}
    if not filters.sites:
        return {paramcd: {} for paramcd in plan}
    if load is None:
        raise ValueError("a filtered efficacy page reads a part of the snapshot: pass load")
    if len(filters.sites) == 1 and not filters.start and not filters.end:
        part = load(site_part(filters.sites[0].id))
        if part is not None:
            return {paramcd: part["endpoints"][paramcd]["curves"] for paramcd in plan}
    patients = load(PATIENTS_PART)
    if patients is None:
        raise LookupError("the efficacy snapshot has no patients part")
    wanted = np.asarray([site in filters.site_ids for site in patients["sites"]], dtype=np.bool_)
    # index -1 (no enrolment date) reads the last entry: never kept when filtering
    months = np.asarray([filters.month(month) for month in patients["months"]] + [False], dtype=np.bool_)
    result = {}
    for paramcd in plan:
        arrays = _arrays(patients["endpoints"][paramcd])
        keep = wanted[arrays["site"]] & months[arrays["month"]] if len(arrays["site"]) else None
        landmark = figures["endpoints"][paramcd]["landmark"]
        result[paramcd] = _curves(arrays, keep, patients["groups"], landmark) if keep is not None else {}
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _label(group: str, arms: dict[str, str]) -> str:
    if group in arms:
        return f"Arm {group}"
    return "All patients" if group == "All" else group


def _points(steps: dict[str, list[Any]]) -> tuple[CurvePoint, ...]:
    return tuple(
        CurvePoint(time, survival, lower, upper, censored)
        for time, survival, lower, upper, censored in zip(
            steps["time"], steps["survival"], steps["lower"], steps["upper"], steps["censored"], strict=True
        )
    )


def _chart(paramcd: str, grouping: str, curves: Curves, landmark: float | None, arms: dict[str, str]) -> Chart:
    chart_id = f"efficacy-{paramcd.lower()}"
    name = NAMES.get(paramcd, paramcd)
    drawable = {group: summary for group, summary in curves.items() if summary.get("steps")}
    x_max = max([1.0, *(float(summary["steps"]["time"][-1]) for summary in drawable.values())])
    months = [m for m in RISK_TABLE_MONTHS if m * MONTH_DAYS <= x_max]
    risk_times = [m * MONTH_DAYS for m in months]
    drawn = []
    rows: list[list[Any]] = []
    landmark_values: dict[str, float | None] = {}
    for style, (group, summary) in enumerate(curves.items()):
        label = _label(group, arms)
        readings = {reading[0]: reading for reading in summary.get("risk", [])}
        points = _points(summary["steps"]) if "steps" in summary else ()
        drawn.append(
            charts.SurvivalCurve(label, points, style, tuple(readings[m][1] if m in readings else 0 for m in months))
        )
        for month in months:
            _, at_risk, survival, lower, upper = readings.get(month, (month, 0, 1.0, 1.0, 1.0))
            rows.append([label, month, at_risk, *(_round(v) for v in (survival, lower, upper))])
        if landmark is not None and "steps" in summary:
            landmark_values[label] = summary.get("landmark")
    marker = None
    if landmark is not None:
        marker = charts.Landmark(landmark, f"PFS-6 ({landmark:g} days)", landmark_values)
    description = f"{name} by {grouping}: " + "; ".join(
        f"{_label(group, arms)} {s['n']} patients, {s['events']} events, median "
        + (f"{s['median_days']:g} days" if s.get("median_days") is not None else "not reached")
        for group, s in curves.items()
    )
    if marker is not None:
        description += "; PFS-6: " + ", ".join(
            f"{label} {value:.1%}" for label, value in landmark_values.items() if value is not None
        )
    svg = charts.survival_chart(
        chart_id=chart_id,
        title=f"{name}, Kaplan-Meier by {grouping}",
        description=description,
        curves=drawn,
        x_max=x_max,
        x_ticks=[(m * MONTH_DAYS, f"{m} mo") for m in months],
        risk_times=risk_times,
        landmark=marker,
    )
    table = Table(
        f"{name}: Kaplan-Meier estimate at months after the origin (95 % log-log CI)",
        ["Group", "Months", "At risk", "Survival", "Lower 95 %", "Upper 95 %"],
        rows,
    )

    def every_step() -> Table:
        csv_rows: list[list[Any]] = []
        for group, summary in curves.items():
            label = _label(group, arms)
            steps = summary.get("steps", {})
            for time, at_risk, events, censored, survival, lower, upper in zip(
                *(steps.get(column, []) for column in ("time", "at_risk", "events", "censored")),
                *(steps.get(column, []) for column in ("survival", "lower", "upper")),
                strict=True,
            ):
                csv_rows.append([label, time, at_risk, events, censored, survival, lower, upper])
        return Table(
            f"{name}: every step of the Kaplan-Meier estimate",
            ["Group", "Days", "At risk", "Events", "Censored", "Survival", "Lower 95 %", "Upper 95 %"],
            csv_rows,
        )

    summary_line = "; ".join(
        f"{_label(group, arms)}: n = {s['n']}, events = {s['events']}, censored = {s['censored']}"
        for group, s in curves.items()
    )
    return Chart(chart_id, f"{name} by {grouping}", svg, table, note=summary_line, csv=every_step)
