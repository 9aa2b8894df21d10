"""Trial-health dashboard (issue 7): visit compliance by site; missing and incomplete forms (site × form heat map);
open queries by site and age; data-entry lag (visit date → form complete); SAEs and their reporting clocks.

Rules (each stated where the page shows it):

- Planned visits come from the trial's schedule (``trials.domain.schedule``) from each enrolled patient's origin.
  Scheduled follow-up stops at the end of study, at death, or at the trial's primary event (COSMO: PFS; AVATAR II:
  strategy failure, TSF), after which long-term follow-up (not a 12-weekly visit) takes over (trials.md). In a
  randomised trial the LAT visit is planned for arm A only (arm B gets physician's-choice systemic therapy).
- A done visit expects every form its kind shows in the casebook (``CrfSpec.visit_kinds``, ``used_in``), except
  FACT-B, expected only in AVATAR II at screening and follow-ups 1-4 (weeks 12-48; optional in COSMO).
- Facts are bucketed by the month of the visit's due date (window end) or visit date, so a page filters them
  without a query; "overdue now" is decided when the page is shown, from the stored window ends (ordinal days in
  ascending order per site, so a page counts them by bisection however many there are).
- SAE clocks: ``patients.domain.safety`` (D16): site → sponsor within 24 h of awareness (due the day after);
  SUSAR 7 days (fatal or life-threatening) or 15 days from the sponsor's awareness.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from patients.crf import CrfStatus, crf_models
from patients.crfs.safety import AdverseEvent
from patients.domain import safety
from patients.models import Death, EndOfStudy, Patient, PatientStatus, Query, QueryStatus, Visit
from patients.randomisation import Allocation
from trials.domain.schedule import planned_visits
from trials.models import Trial, VisitKind
from trials.selectors import visit_specs

from ..domain import charts
from ..domain.dashboards import (
    ENTRY_LAG_BINS,
    QUERY_AGE_BINS,
    VISIT_OUTCOME_LABELS,
    VisitOutcome,
    bin_index,
    heat_level,
    month_end,
    month_key,
    month_start,
    recorded_outcome,
    schedule_end,
    unrecorded_outcome,
)
from ..models import EndpointValue
from .common import Chart, Filters, Page, Table, add, nested, percent

SCHEDULED_KINDS = frozenset({VisitKind.SCREENING, VisitKind.ENROLMENT, VisitKind.TREATMENT, VisitKind.FOLLOW_UP})
FACT_B_FOLLOW_UPS = 4  # weeks 12, 24, 36, 48 (trials.md)
RECORDED = (VisitOutcome.ON_TIME, VisitOutcome.LATE, VisitOutcome.MISSED)


def _form_expected(model: Any, trial: Trial, kind: str, occurrence: int) -> bool:
    if model.crf.code == "fact-b":
        return trial.code == "avatar2" and (
            kind == VisitKind.SCREENING or (kind == VisitKind.FOLLOW_UP and occurrence <= FACT_B_FOLLOW_UPS)
        )
    return kind in model.crf.visit_kinds


def build(trial: Trial, *, today: date) -> dict[str, Any]:
    definitions = {d.pk: d for d in trial.visit_definitions.all()}
    by_code = {d.code: d.pk for d in definitions.values()}
    specs = visit_specs(trial=trial)
    patients = list(
        Patient.objects.filter(trial=trial, enrolment_date__isnull=False)
        .exclude(status=PatientStatus.SCREEN_FAILED)
        .values_list("pk", "site_id", "enrolment_date")
    )
    ends: dict[int, list[date | None]] = defaultdict(list)
    for model, field in ((EndOfStudy, "end_date"), (Death, "death_date")):
        for patient_id, day in model._default_manager.filter(patient__trial=trial).values_list("patient_id", field):
            ends[patient_id].append(day)
    primary = "TSF" if trial.is_randomised else "PFS"
    for patient_id, day in EndpointValue.objects.filter(patient__trial=trial, paramcd=primary, event=True).values_list(
        "patient_id", "end_date"
    ):
        ends[patient_id].append(day)
    arm_b = set()
    if trial.is_randomised:
        arm_b = set(Allocation.objects.filter(trial=trial).exclude(arm__code="A").values_list("patient_id", flat=True))
    visits: dict[int, dict[tuple[int, int], tuple[str, date | None]]] = defaultdict(dict)
    #: done scheduled visits: pk → (site, kind, occurrence, visit date); every recorded visit's site and date
    done: dict[int, tuple[str, str, int, date]] = {}
    dated: dict[int, tuple[str, date]] = {}
    for pk, patient_id, site_id, definition_id, occurrence, status, visit_date in Visit.objects.filter(
        patient__trial=trial
    ).values_list("pk", "patient_id", "site_id", "definition_id", "occurrence", "status", "visit_date"):
        visits[patient_id][(definition_id, occurrence)] = (status, visit_date)
        kind = definitions[definition_id].kind
        if visit_date is not None:
            dated[pk] = (str(site_id), visit_date)
            if status == "done" and kind in SCHEDULED_KINDS:
                done[pk] = (str(site_id), kind, occurrence, visit_date)

    # The schedule depends on the origin only: patients enrolled the same day share it (computed once per day).
    schedules: dict[date, list[tuple[date, int, int, bool, str, int]]] = {}

    def schedule(origin: date) -> list[tuple[date, int, int, bool, str, int]]:
        if origin not in schedules:
            schedules[origin] = [
                (
                    planned.window_start,
                    by_code[planned.code],
                    planned.occurrence,
                    definitions[by_code[planned.code]].kind == VisitKind.TREATMENT,
                    month_key(planned.window_end),
                    planned.window_end.toordinal(),
                )
                for planned in planned_visits(specs, origin)
            ]
        return schedules[origin]

    compliance: Counter[tuple[str, str, str]] = Counter()
    unrecorded: dict[str, Counter[int]] = defaultdict(Counter)
    for patient_id, site_id, origin in patients:
        stop = schedule_end(*ends.get(patient_id, []))
        site = str(site_id)
        recorded_visits = visits[patient_id]
        for window_start, definition_id, occurrence, treatment, month, window_end in schedule(origin):
            if stop is not None and window_start > stop:
                continue
            if treatment and patient_id in arm_b:
                continue
            recorded = recorded_visits.get((definition_id, occurrence))
            outcome = None
            if recorded is not None:
                status, visit_date = recorded
                outcome = recorded_outcome(
                    window_start=window_start,
                    window_end=date.fromordinal(window_end),
                    status=status,
                    visit_date=visit_date,
                )
            if outcome is None:
                unrecorded[site][window_end] += 1
            else:
                compliance[(site, month, outcome.value)] += 1

    forms, lags = _forms_and_lags(trial, done, dated)
    return {
        "compliance": nested(compliance),
        # per site, the window ends (ordinal days, ascending) of the planned visits recorded neither done nor missed,
        # with how many end that day: the page counts those whose window has closed by its day, by bisection
        "unrecorded": {
            site: {"days": sorted(days), "n": [days[day] for day in sorted(days)]} for site, days in unrecorded.items()
        },
        "forms": forms,
        "lags": lags,
        "queries": _open_queries(trial),
        "saes": _serious_adverse_events(trial),
    }


def _forms_and_lags(
    trial: Trial, done: dict[int, tuple[str, str, int, date]], dated: dict[int, tuple[str, date]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Missing / incomplete forms at done visits, and the lag of every complete form: one query per visit-bound form
    of the trial (a fixed number)."""
    models = [m for m in crf_models() if m.crf.visit_kinds and m.crf.used_in(trial.code)]
    by_kind: dict[str, list[tuple[int, str, int, date]]] = defaultdict(list)
    for pk, (site, kind, occurrence, visit_date) in done.items():
        by_kind[kind].append((pk, site, occurrence, visit_date))
    forms: Counter[tuple[str, str, str, str]] = Counter()
    #: complete forms by (site, visit date, completion date): the lag is binned once per distinct triple
    completions: Counter[tuple[str, date, date]] = Counter()
    for model in models:
        code = model.crf.code
        found: dict[int, str] = {}
        for visit_id, status, completed_at in model._default_manager.filter(
            patient__trial=trial, visit__isnull=False
        ).values_list("visit_id", "status", "completed_at"):
            if found.get(visit_id) != CrfStatus.COMPLETE:
                found[visit_id] = status
            where = dated.get(visit_id)
            if status == CrfStatus.COMPLETE and completed_at is not None and where is not None:
                site, visit_date = where
                completions[(site, visit_date, completed_at.date())] += 1
        for kind in model.crf.visit_kinds:
            for visit_id, site, occurrence, visit_date in by_kind.get(kind, []):
                if not _form_expected(model, trial, kind, occurrence):
                    continue
                month = month_key(visit_date)
                state = found.get(visit_id)
                forms[(site, code, month, "expected")] += 1
                if state is None:
                    forms[(site, code, month, "missing")] += 1
                elif state != CrfStatus.COMPLETE:
                    forms[(site, code, month, "incomplete")] += 1
    lags: Counter[tuple[str, str, str]] = Counter()
    for (site, visit_date, completed), n in completions.items():
        month = month_key(visit_date)
        lag = (completed - visit_date).days
        lags[(site, month, str(bin_index(lag, ENTRY_LAG_BINS)))] += n
        lags[(site, month, "sum")] += max(lag, 0) * n
    form_facts = nested(forms)
    form_facts["_names"] = {m.crf.code: m.crf.name for m in models}
    return form_facts, nested(lags)


def _open_queries(trial: Trial) -> dict[str, Any]:
    queries: dict[str, Any] = {}
    for site_id, day, n in (
        Query.objects.filter(patient__trial=trial)
        .exclude(status=QueryStatus.CLOSED)
        .annotate(day=TruncDate("raised_at"))
        .values_list("site_id", "day")
        .annotate(n=Count("id"))
        .order_by()
    ):
        add(queries, (str(site_id), day.isoformat()), n)
    return queries


SERIOUS = (
    Q(serious_death=True)
    | Q(serious_life_threatening=True)
    | Q(serious_hospitalisation=True)
    | Q(serious_disability=True)
    | Q(serious_congenital_anomaly=True)
    | Q(serious_important_medical_event=True)
)


def _serious_adverse_events(trial: Trial) -> list[dict[str, Any]]:
    rows = []
    for event in (
        AdverseEvent.objects.filter(patient__trial=trial)
        .filter(SERIOUS)
        .select_related("patient", "term")
        .order_by("onset_date", "pk")
    ):
        susar = event.susar_status()
        rows.append(
            {
                "id": event.pk,
                "site": str(event.site_id),
                "subject": event.patient.subject_id,
                "term": event.term_label(),
                "grade": event.grade,
                "onset": event.onset_date.isoformat() if event.onset_date else None,
                "awareness": event.site_awareness_date.isoformat() if event.site_awareness_date else None,
                "reported": event.reported_to_sponsor_date.isoformat() if event.reported_to_sponsor_date else None,
                "susar": susar.value,
                "fatal": bool(event.serious_death or event.serious_life_threatening or event.outcome == "fatal"),
            }
        )
    return rows


# The page --------------------------------------------------------------------------------------------------------


def present(figures: dict[str, Any], filters: Filters, *, today: date, **_: Any) -> Page:
    sites = list(filters.sites)
    charts_ = [
        _compliance(figures, filters, sites, today),
        _forms(figures, filters, sites),
        _queries(figures, filters, sites, today),
        _lags(figures, filters, sites),
        _saes(figures, filters, today),
    ]
    return Page("Trial health", charts_)


def _compliance(figures: dict[str, Any], filters: Filters, sites: list[Any], today: date) -> Chart:
    outcomes = [*RECORDED, VisitOutcome.OVERDUE]
    # Unrecorded visits count as overdue when their window ended in the months chosen and has closed by today
    # (``unrecorded_outcome``; an earlier window end is overdue whenever a later one is, so the days bisect).
    first = month_start(filters.start).toordinal() if filters.start else 0
    last = month_end(filters.end).toordinal() if filters.end else date.max.toordinal()

    def open_(day: int) -> int:
        return int(unrecorded_outcome(window_end=date.fromordinal(day), today=today) != VisitOutcome.OVERDUE)

    rows = []
    for site in sites:
        unrecorded = figures["unrecorded"].get(site.id, {"days": [], "n": []})
        closed = min(bisect_left(unrecorded["days"], 1, key=open_), bisect_right(unrecorded["days"], last))
        counts = dict.fromkeys(outcomes, 0)
        for month, states in figures["compliance"].get(site.id, {}).items():
            if filters.month(month):
                for state, n in states.items():
                    counts[VisitOutcome(state)] += n
        counts[VisitOutcome.OVERDUE] += sum(unrecorded["n"][bisect_left(unrecorded["days"], first) : closed])
        due = sum(counts.values())
        rows.append([site.code, *(counts[o] for o in outcomes), due, percent(counts[VisitOutcome.ON_TIME], due)])
    svg = charts.bar_chart(
        chart_id="health-compliance",
        title="Visit compliance by site",
        description="; ".join(
            f"{r[0]}: " + ", ".join(f"{VISIT_OUTCOME_LABELS[o].lower()} {r[i + 1]}" for i, o in enumerate(outcomes))
            for r in rows
        )
        or "No sites.",
        categories=[r[0] for r in rows],
        series=[
            charts.BarSeries(VISIT_OUTCOME_LABELS[o], tuple(float(r[i + 1]) for r in rows), style)
            for i, (o, style) in enumerate(zip(outcomes, (2, 4, 3, 1), strict=True))
        ],
        stacked=True,
    )
    headers = ["Site", *(VISIT_OUTCOME_LABELS[o] for o in outcomes), "Visits due", "% on time"]
    table = Table("Planned visits whose window has closed, by outcome (month of the window's end)", headers, rows)
    note = (
        "On time: done inside the visit window; out of window: done before or after it; overdue now: the window has "
        "closed and the visit is recorded neither as done nor as missed. Scheduled follow-up stops at the end of "
        "study, death or the primary event."
    )
    return Chart("health-compliance", "Visit compliance", svg, table, note=note)


def _forms(figures: dict[str, Any], filters: Filters, sites: list[Any]) -> Chart:
    names: dict[str, str] = figures["forms"].get("_names", {})
    codes = list(names)
    values, levels_input, rows = [], [], []
    for site in sites:
        row_values = []
        for code in codes:
            counts = {"expected": 0, "missing": 0, "incomplete": 0}
            for month, states in figures["forms"].get(site.id, {}).get(code, {}).items():
                if filters.month(month):
                    for state, n in states.items():
                        counts[state] += n
            row_values.append(counts)
            rows.append([site.code, names[code], counts["expected"], counts["missing"], counts["incomplete"]])
        values.append([c["missing"] + c["incomplete"] for c in row_values])
        levels_input.append(row_values)
    maximum = max((v for row in values for v in row), default=0)
    levels = [[heat_level(v, maximum) for v in row] for row in values]
    svg = charts.heat_map(
        chart_id="health-forms",
        title="Missing and incomplete forms, site by form",
        description="Forms expected at visits done but missing or still draft; "
        + "; ".join(
            f"{site.code} {names[code]}: {values[i][j]}"
            for i, site in enumerate(sites)
            for j, code in enumerate(codes)
            if values[i][j]
        ),
        rows=[site.code for site in sites],
        columns=[names[code] for code in codes],
        values=values,
        levels=levels,
    )
    table = Table(
        "Forms expected at visits done, missing or incomplete (draft)",
        ["Site", "Form", "Expected", "Missing", "Incomplete"],
        rows,
    )
    note = "Each cell counts missing plus incomplete forms; darker = more. FACT-B is expected in AVATAR II only."
    return Chart("health-forms", "Missing and incomplete forms", svg, table, note=note)


def _queries(figures: dict[str, Any], filters: Filters, sites: list[Any], today: date) -> Chart:
    rows = []
    for site in sites:
        counts = [0] * len(QUERY_AGE_BINS)
        for day, n in figures["queries"].get(site.id, {}).items():
            raised = date.fromisoformat(day)
            if filters.day(raised):
                counts[bin_index((today - raised).days, QUERY_AGE_BINS)] += n
        rows.append([site.code, *counts, sum(counts)])
    svg = charts.bar_chart(
        chart_id="health-queries",
        title="Open queries by site and age",
        description="; ".join(f"{r[0]}: {r[-1]} open" for r in rows) or "No sites.",
        categories=[r[0] for r in rows],
        series=[
            charts.BarSeries(day_bin.label, tuple(float(r[i + 1]) for r in rows), i)
            for i, day_bin in enumerate(QUERY_AGE_BINS)
        ],
        stacked=True,
    )
    headers = ["Site", *(b.label for b in QUERY_AGE_BINS), "Open"]
    table = Table("Open queries (not closed) by days since raised", headers, rows)
    return Chart("health-queries", "Open queries", svg, table)


def _lags(figures: dict[str, Any], filters: Filters, sites: list[Any]) -> Chart:
    overall = [0] * len(ENTRY_LAG_BINS)
    rows = []
    for site in sites:
        counts = [0] * len(ENTRY_LAG_BINS)
        lag_sum = 0
        for month, bins in figures["lags"].get(site.id, {}).items():
            if not filters.month(month):
                continue
            for key, n in bins.items():
                if key == "sum":
                    lag_sum += n
                else:
                    counts[int(key)] += n
        forms = sum(counts)
        within_week = sum(counts[:3])
        over_month = sum(counts[5:])
        rows.append(
            [
                site.code,
                forms,
                round(lag_sum / forms, 1) if forms else None,
                percent(within_week, forms),
                percent(over_month, forms),
            ]
        )
        overall = [a + b for a, b in zip(overall, counts, strict=True)]
    svg = charts.bar_chart(
        chart_id="health-lag",
        title="Data-entry lag: days from the visit to the complete form",
        description="; ".join(f"{b.label}: {n}" for b, n in zip(ENTRY_LAG_BINS, overall, strict=True)),
        categories=[b.label for b in ENTRY_LAG_BINS],
        series=[charts.BarSeries("Forms", tuple(float(n) for n in overall), 0)],
    )
    table = Table(
        "Data-entry lag per site (complete visit forms, by month of the visit)",
        ["Site", "Forms complete", "Mean lag (days)", "% within 7 days", "% after 30 days"],
        rows,
    )
    return Chart("health-lag", "Data-entry lag", svg, table)


def _saes(figures: dict[str, Any], filters: Filters, today: date) -> Chart:
    codes = {site.id: site.code for site in filters.sites}
    rows, classes = [], []
    for event in figures["saes"]:
        onset = date.fromisoformat(event["onset"]) if event["onset"] else None
        if event["site"] not in codes or (onset is not None and not filters.day(onset)):
            continue
        awareness = date.fromisoformat(event["awareness"]) if event["awareness"] else None
        reported = date.fromisoformat(event["reported"]) if event["reported"] else None
        overdue = False
        if awareness is None:
            initial, initial_due = "Awareness date missing", None
        else:
            clock = safety.site_to_sponsor_clock(awareness=awareness, reported=reported)
            initial, initial_due = _clock_text(clock, today), clock.due.isoformat()
            overdue = clock.status(today) in (safety.ClockStatus.OVERDUE, safety.ClockStatus.LATE)
        susar_text, susar_due = "Not a SUSAR", None
        if event["susar"] == safety.SusarStatus.UNDETERMINED:
            susar_text = "Expectedness not assessed"
        elif event["susar"] == safety.SusarStatus.SUSAR:
            if reported is None:
                susar_text = "Clock starts when the sponsor is aware"
            else:
                clock = safety.susar_clock(sponsor_awareness=reported, fatal_or_life_threatening=event["fatal"])
                days = (clock.due - clock.start).days
                susar_due = clock.due.isoformat()
                left = (clock.due - today).days
                susar_text = (
                    f"{days}-day deadline: due in {left} days"
                    if left >= 0
                    else f"{days}-day deadline passed {-left} days ago (submission not recorded here)"
                )
                overdue = overdue or left < 0
        rows.append(
            [
                event["subject"],
                codes[event["site"]],
                event["term"],
                event["grade"],
                event["onset"],
                event["awareness"],
                initial_due,
                event["reported"],
                initial,
                susar_due,
                susar_text,
            ]
        )
        classes.append("table-danger sae-overdue" if overdue else "")
    table = Table(
        "Serious adverse events and their reporting clocks (24 h to the sponsor; SUSAR 7 / 15 days)",
        [
            "Subject",
            "Site",
            "Event",
            "Grade",
            "Onset",
            "Site aware",
            "Due to sponsor",
            "Reported to sponsor",
            "24-hour report",
            "SUSAR due",
            "SUSAR clock",
        ],
        rows,
        classes,
    )
    note = "Overdue rows are marked OVERDUE or LATE in the text and highlighted."
    return Chart("health-saes", "Serious adverse events", "", table, note=note)


def _clock_text(clock: safety.ReportingClock, today: date) -> str:
    status = clock.status(today)
    if status == safety.ClockStatus.ON_TIME:
        return "Reported on time"
    if status == safety.ClockStatus.LATE:
        return f"LATE: reported {clock.days_late(today)} days after the deadline"
    if status == safety.ClockStatus.OVERDUE:
        return f"OVERDUE by {clock.days_late(today)} days"
    return f"Pending: due {clock.due.isoformat()}"
