"""Trial health from hand-made visits and SAEs: compliance outcomes, the schedule's end, the reporting clocks."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from outcomes.dashboards.common import filters_from, sites_of
from outcomes.dashboards.health import present
from outcomes.dashboards.snapshots import dashboard_snapshot_refresh
from patients.models import AdverseEvent, Death, Patient, Visit

from ...conftest import Cast

TODAY = date(2025, 12, 20)  # origin 2025-03-24: follow-up 3's window (to 2025-12-15) has closed, follow-up 4's not


def visit(patient: Patient, code: str, status: str, on: date | None, occurrence: int = 1) -> None:
    Visit.objects.create(
        patient=patient,
        site=patient.site,
        definition=patient.trial.visit_definitions.get(code=code),
        occurrence=occurrence,
        status=status,
        visit_date=on,
    )


def health(cast: Cast, *, today: date = TODAY) -> Any:
    snapshot = dashboard_snapshot_refresh(trial=cast.avatar2, kind="health", today=today)
    filters = filters_from({}, all_sites=sites_of(snapshot.figures), scope=None)
    return present(snapshot.figures, filters, today=today)


def compliance(cast: Cast) -> dict[str, list[Any]]:
    return {row[0]: row[1:] for row in health(cast).chart("health-compliance").table.rows}


def test_each_planned_visit_gets_its_outcome(cast: Cast) -> None:
    patient = cast.patient_a
    visit(patient, "screening", "done", date(2025, 3, 10))  # window 2025-02-10 .. 2025-03-24: on time
    visit(patient, "enrolment", "done", date(2025, 3, 24))  # on time
    visit(patient, "lat", "done", date(2025, 5, 1))  # window ends 2025-04-21: out of window
    visit(patient, "follow-up", "missed", None, occurrence=1)
    # follow-ups 2 and 3: nothing recorded, windows closed: overdue; follow-up 4 and later: not due
    on_time, late, missed, overdue, due, share = compliance(cast)["NL01"]
    assert (on_time, late, missed, overdue, due) == (2, 1, 1, 2, 6)
    assert share == pytest.approx(33.3)


def test_overdue_is_decided_on_the_day_the_page_is_shown(cast: Cast) -> None:
    snapshot = dashboard_snapshot_refresh(trial=cast.avatar2, kind="health", today=TODAY)
    filters = filters_from({}, all_sites=sites_of(snapshot.figures), scope=None)
    later = present(snapshot.figures, filters, today=date(2026, 3, 20))  # follow-up 4 (to 2026-03-09) closed too
    earlier = present(snapshot.figures, filters, today=TODAY)

    def overdue(result: Any) -> int:
        chart = result.chart("health-compliance")
        return int(chart.table.rows[1][4])

    assert overdue(later) == overdue(earlier) + 1


def test_overdue_visits_count_in_the_month_their_window_closed(cast: Cast) -> None:
    """Site B records nothing: screening (window to 2025-03-24), enrolment (03-24), LAT (04-21) and follow-ups 1-3
    (06-30, 09-22, 12-15) are overdue on TODAY; follow-up 4 (2026-03-09) is not due yet whatever the months."""
    snapshot = dashboard_snapshot_refresh(trial=cast.avatar2, kind="health", today=TODAY)
    sites = sites_of(snapshot.figures)

    def overdue(params: dict[str, str]) -> Any:
        filters = filters_from(params | {"site": "BE01"}, all_sites=sites, scope=None)
        chart: Any = present(snapshot.figures, filters, today=TODAY).chart("health-compliance")
        return chart.table.rows[0][4]

    assert overdue({}) == 6
    assert overdue({"from": "2025-04", "to": "2025-09"}) == 3  # LAT, follow-ups 1 and 2
    assert overdue({"from": "2025-12"}) == 1  # follow-up 3; follow-up 4's window is still open
    assert overdue({"to": "2025-03"}) == 2
    assert overdue({"from": "2026-01"}) == 0


def test_scheduled_follow_up_stops_at_death(cast: Cast) -> None:
    before = compliance(cast)["BE01"][3]
    assert before == 6  # screening, enrolment, LAT, follow-ups 1-3: nothing recorded at site B
    Death.objects.create(patient=cast.patient_b, site=cast.site_b, death_date=date(2025, 7, 1), status="complete")
    assert compliance(cast)["BE01"][3] == 4  # follow-ups 2 and 3 start after the death


def sae(cast: Cast, **values: Any) -> AdverseEvent:
    defaults: dict[str, Any] = {
        "patient": cast.patient_a,
        "site": cast.site_a,
        "grade": 3,
        "onset_date": date(2025, 12, 1),
        "serious_hospitalisation": True,
        "attribution_sabr": "probable",
        "expectedness": "unexpected",
    }
    event: AdverseEvent = AdverseEvent.objects.create(**(defaults | values))
    return event


def test_sae_clocks_highlight_what_is_overdue(cast: Cast) -> None:
    sae(cast, site_awareness_date=date(2025, 12, 15))  # due 12-16, not reported
    sae(
        cast,
        site_awareness_date=date(2025, 12, 19),
        reported_to_sponsor_date=date(2025, 12, 20),
        serious_life_threatening=True,
    )
    sae(cast, site_awareness_date=date(2025, 12, 20))
    sae(cast, site_awareness_date=date(2025, 10, 31), reported_to_sponsor_date=date(2025, 11, 1))
    table = health(cast).chart("health-saes").table
    by_awareness = {row[5]: (row, classes) for classes, row in table.classes()}
    row, classes = by_awareness["2025-12-15"]
    assert row[8] == "OVERDUE by 4 days" and "sae-overdue" in classes
    row, classes = by_awareness["2025-12-19"]
    assert row[8] == "Reported on time" and row[9] == "2025-12-27" and row[10].startswith("7-day deadline: due in 7")
    assert classes == ""
    row, classes = by_awareness["2025-12-20"]
    assert row[8] == "Pending: due 2025-12-21" and classes == ""
    row, classes = by_awareness["2025-10-31"]
    assert row[9] == "2025-11-16" and row[10].startswith("15-day deadline passed") and "sae-overdue" in classes


def test_a_non_serious_event_is_not_listed(cast: Cast) -> None:
    sae(cast, serious_hospitalisation=False, site_awareness_date=date(2025, 12, 15))
    assert health(cast).chart("health-saes").table.rows == []
