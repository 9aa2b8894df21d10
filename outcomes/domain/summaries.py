"""Trial-level summaries of one time-to-event endpoint: pure, JSON-ready, from per-patient (AVAL, event) rows.

Kaplan-Meier per group (log-log CI, D9) with the curve, numbers at risk and the median (Brookmeyer-Crowley); the
landmark survival and crude landmark counts with Clopper-Pearson CIs (PFS-6, D9); event and censoring counts by
reason; and for two groups the log-rank test (unstratified and stratified by the randomisation strata) and the Cox
hazard ratio with Efron ties (clinical-spec §2.4). Everything a dashboard or export reads is computed here once.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .survival import (
    ConfidenceTransform,
    KaplanMeierEstimate,
    cox_proportional_hazards,
    kaplan_meier,
    landmark_proportion,
    log_rank_test,
)

MONTH_DAYS = 30.4375  # D3
RISK_TABLE_MONTHS = (0, 3, 6, 9, 12, 18, 24, 36)


@dataclass(frozen=True)
class SurvivalRow:
    """One patient's row of one endpoint. ``aval`` is in days with the +1 (D2)."""

    subject_id: str
    aval: int
    event: bool
    reason: str
    group: str = "All"
    stratum: str = ""


def _number(value: float | None, digits: int = 6) -> float | None:
    """A JSON-safe number: infinite or undefined limits (a monotone Cox likelihood, D39) become null."""
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), digits)


def _curve(estimate: KaplanMeierEstimate) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = [
        {"time": 0.0, "survival": 1.0, "lower": 1.0, "upper": 1.0, "at_risk": estimate.subjects, "censored": 0}
    ]
    for step in estimate.steps:
        points.append(
            {
                "time": step.time,
                "survival": _number(step.survival),
                "lower": _number(step.lower),
                "upper": _number(step.upper),
                "at_risk": step.at_risk,
                "events": step.events,
                "censored": step.censored,
            }
        )
    return points


def group_summary(rows: Sequence[SurvivalRow], *, landmark_days: float | None) -> dict[str, Any]:
    times = [row.aval for row in rows]
    events = [row.event for row in rows]
    summary: dict[str, Any] = {
        "n": len(rows),
        "events": sum(events),
        "censored": len(rows) - sum(events),
        "by_reason": dict(sorted(Counter(row.reason for row in rows).items())),
    }
    if not rows:
        return summary
    estimate = kaplan_meier(
        times, events, labels=[row.subject_id for row in rows], transform=ConfidenceTransform.LOG_LOG
    )
    median = estimate.median()
    risk_times = [months * MONTH_DAYS for months in RISK_TABLE_MONTHS]
    summary.update(
        {
            "transform": "log-log",
            "median_days": _number(median.median),
            "median_lower": _number(median.lower),
            "median_upper": _number(median.upper),
            "median_note": median.note,
            "at_risk": [
                {"months": months, "at_risk": at_risk}
                for months, at_risk in zip(RISK_TABLE_MONTHS, estimate.numbers_at_risk(risk_times), strict=True)
            ],
            "curve": _curve(estimate),
        }
    )
    if landmark_days is not None:
        point = estimate.survival_at(landmark_days)
        crude = landmark_proportion(times, events, landmark_days=landmark_days)
        summary["landmark"] = {
            "days": landmark_days,
            "survival": _number(point.survival),
            "lower": _number(point.lower),
            "upper": _number(point.upper),
            "note": point.note,
            "crude": {
                "successes": crude.successes,
                "failures": crude.failures,
                "unknown": crude.unknown,
                "evaluable": _proportion(crude.evaluable),
                "itt": _proportion(crude.intention_to_treat),
            },
        }
    return summary


def _proportion(value: Any) -> dict[str, Any]:
    return {
        "successes": value.successes,
        "total": value.total,
        "proportion": _number(value.proportion),
        "lower": _number(value.lower),
        "upper": _number(value.upper),
    }


def compare_two_groups(rows: Sequence[SurvivalRow], *, reference: str, experimental: str) -> dict[str, Any]:
    """Log-rank (plain and stratified) and the Cox HR of ``experimental`` vs ``reference`` (Efron ties)."""
    selected = [row for row in rows if row.group in (reference, experimental)]
    groups = {row.group for row in selected}
    if groups != {reference, experimental} or not any(row.event for row in selected):
        return {"note": "Not estimable: both groups and at least one event are needed."}
    times = [row.aval for row in selected]
    events = [row.event for row in selected]
    labels = [row.group for row in selected]
    result: dict[str, Any] = {"reference": reference, "experimental": experimental}
    plain = log_rank_test(times, events, labels, group_order=[reference, experimental])
    result["log_rank"] = {
        "chi_square": _number(plain.chi_square),
        "df": plain.degrees_of_freedom,
        "p": _number(plain.p_value),
    }
    strata = [row.stratum for row in selected]
    if all(strata):
        stratified = log_rank_test(times, events, labels, strata=strata, group_order=[reference, experimental])
        result["log_rank_stratified"] = {
            "chi_square": _number(stratified.chi_square),
            "df": stratified.degrees_of_freedom,
            "p": _number(stratified.p_value),
            "strata": stratified.strata,
        }
    try:
        cox = cox_proportional_hazards(times, events, {"arm": [1.0 if g == experimental else 0.0 for g in labels]})
    except ValueError as error:
        result["cox"] = {"note": str(error)}
    else:
        coefficient = cox.coefficient("arm")
        result["cox"] = {
            "hazard_ratio": _number(coefficient.hazard_ratio),
            "lower": _number(coefficient.lower),
            "upper": _number(coefficient.upper),
            "p": _number(coefficient.p_value),
            "converged": cox.converged,
            "ties": "efron",
            "note": cox.note,
        }
    return result


def endpoint_summary(
    rows: Sequence[SurvivalRow],
    *,
    landmark_days: float | None = None,
    comparison: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Overall and per-group summaries; with ``comparison`` = (reference, experimental), the test and the HR."""
    rows = sorted(rows, key=lambda row: (row.group, row.subject_id))
    groups = sorted({row.group for row in rows})
    summary: dict[str, Any] = {
        "overall": group_summary(rows, landmark_days=landmark_days),
        "groups": {
            group: group_summary([r for r in rows if r.group == group], landmark_days=landmark_days) for group in groups
        },
    }
    if comparison is not None:
        summary["comparison"] = compare_two_groups(rows, reference=comparison[0], experimental=comparison[1])
    return summary


@dataclass(frozen=True)
class DescriptiveRow:
    """One patient's descriptive outcomes (from the stored derivation): group, visceral crisis, LAT complications
    (modality, worst grade), treatment-related AEs, and the FACT-B AUC (normalised, D14)."""

    group: str
    visceral_crisis: bool
    lat_complications: tuple[tuple[str, int, str], ...]  # (modality, worst grade, timing)
    treatment_related_adverse_events: int
    qol_auc_normalised: float | None


def _count(rows: Sequence[DescriptiveRow], test: Any) -> dict[str, Any]:
    n = len(rows)
    hits = sum(1 for row in rows if test(row))
    return {"patients": hits, "of": n, "percent": _number(100 * hits / n, 1) if n else None}


def descriptive_summary(rows: Sequence[DescriptiveRow]) -> dict[str, Any]:
    """Patients with ≥ 1 visceral crisis (D20), with LAT complications per modality (any, grade ≥ 2, ≥ 3; acute
    and late, D15), with treatment-related AEs (D15), and the FACT-B AUC (median of the normalised AUC, D14)."""

    def one(group_rows: Sequence[DescriptiveRow]) -> dict[str, Any]:
        modalities = sorted({m for row in group_rows for m, _, _ in row.lat_complications})
        lat: dict[str, Any] = {}
        for modality in modalities:

            def grades(row: DescriptiveRow, modality: str = modality) -> list[int]:
                return [g for m, g, _ in row.lat_complications if m == modality]

            lat[modality] = {
                "any": _count(group_rows, lambda r: bool(grades(r))),
                "grade_2_or_more": _count(group_rows, lambda r: any(g >= 2 for g in grades(r))),
                "grade_3_or_more": _count(group_rows, lambda r: any(g >= 3 for g in grades(r))),
                "acute": _count(
                    group_rows, lambda r, m=modality: any(x == m and t == "ACUTE" for x, _, t in r.lat_complications)
                ),
                "late": _count(
                    group_rows, lambda r, m=modality: any(x == m and t == "LATE" for x, _, t in r.lat_complications)
                ),
            }
        aucs = sorted(row.qol_auc_normalised for row in group_rows if row.qol_auc_normalised is not None)
        median = None
        if aucs:
            middle = len(aucs) // 2
            median = aucs[middle] if len(aucs) % 2 else (aucs[middle - 1] + aucs[middle]) / 2
        return {
            "visceral_crisis": _count(group_rows, lambda r: r.visceral_crisis),
            "lat_complications": lat,
            "treatment_related_adverse_events": _count(group_rows, lambda r: r.treatment_related_adverse_events > 0),
            "qol_auc": {"evaluable": len(aucs), "median_normalised": _number(median, 3)},
        }

    groups = sorted({row.group for row in rows})
    return {"overall": one(rows), "groups": {g: one([r for r in rows if r.group == g]) for g in groups}}
