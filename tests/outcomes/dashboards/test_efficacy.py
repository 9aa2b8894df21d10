"""The efficacy dashboard's stored curves (whole trial, one part per site, the per-patient part for other filters):
each view's Kaplan-Meier table is counted again here by lifelines from the endpoint rows, and the page reads only
the part its filters need."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from lifelines import KaplanMeierFitter

from outcomes.dashboards import efficacy
from outcomes.dashboards.common import filters_from, sites_of
from outcomes.dashboards.snapshots import dashboard_snapshot_part, dashboard_snapshot_refresh
from outcomes.models import DashboardSnapshot, EndpointValue
from patients.randomisation import Allocation
from trials.models import Trial

from ...conftest import Cast
from .population import populate

TODAY = timezone.localdate()


@pytest.fixture
def trial(cast: Cast) -> Trial:
    populate(40, seed=11)
    return cast.avatar2


def efficacy_page(trial: Trial, params: dict[str, str], load: Any = None) -> Any:
    snapshot = dashboard_snapshot_refresh(trial=trial, kind="efficacy")
    sites = sites_of(snapshot.figures)
    read: list[str] = []

    def part(scope_key: str) -> Any:
        read.append(scope_key)
        return dashboard_snapshot_part(trial=trial, kind="efficacy", scope_key=scope_key)

    page = efficacy.present(
        snapshot.figures,
        filters_from(params, all_sites=sites, scope=None),
        today=TODAY,
        all_site_ids=frozenset(site.id for site in sites),
        load=load or part,
    )
    return page, read


def expected_tables(trial: Trial, paramcd: str, **narrowing: Any) -> dict[tuple[str, int], tuple[int, float]]:
    """(arm label, months) → (at risk, Ŝ) by lifelines, from the endpoint rows of the patients kept."""
    arms = dict(Allocation.objects.filter(trial=trial).values_list("patient_id", "arm__code"))
    rows = EndpointValue.objects.filter(patient__trial=trial, paramcd=paramcd, **narrowing).values_list(
        "patient_id", "aval_days", "event"
    )
    result = {}
    for arm in sorted({arms.get(patient_id, "") for patient_id, _, _ in rows}):
        values = [(aval, event) for patient_id, aval, event in rows if arms.get(patient_id, "") == arm]
        fitter = KaplanMeierFitter().fit([v[0] for v in values], [v[1] for v in values])
        for months in (0, 3, 6, 9, 12):
            days = months * 30.4375
            result[(f"Arm {arm}", months)] = (
                sum(1 for aval, _ in values if aval >= days),
                round(float(fitter.predict(days)), 3),
            )
    return result


def shown(page: Any, paramcd: str) -> dict[tuple[str, int], tuple[int, float]]:
    return {
        (label, months): (at_risk, survival)
        for label, months, at_risk, survival, *_ in page.chart(f"efficacy-{paramcd.lower()}").table.rows
    }


def agree(page: Any, expected: dict[tuple[str, int], tuple[int, float]], paramcd: str) -> None:
    table = shown(page, paramcd)
    compared = [key for key in expected if key in table]
    assert compared  # the filter kept patients and the table shows them
    for key in compared:
        assert table[key][0] == expected[key][0], key
        assert table[key][1] == pytest.approx(expected[key][1], abs=1e-3), key


def test_the_whole_trial_page_reads_no_part(trial: Trial) -> None:
    def refuse(scope_key: str) -> None:
        raise AssertionError(f"read {scope_key}")

    page, _ = efficacy_page(trial, {}, load=refuse)
    agree(page, expected_tables(trial, "PFS"), "PFS")


def test_a_site_filter_reads_that_sites_stored_curves(trial: Trial, cast: Cast) -> None:
    page, read = efficacy_page(trial, {"site": "NL01"})
    assert read == [f"site:{cast.site_a.pk}"]
    agree(page, expected_tables(trial, "OS", site=cast.site_a, patient__enrolment_date__isnull=False), "OS")


def test_a_month_range_re_estimates_from_the_stored_patients(trial: Trial, cast: Cast) -> None:
    enrolled = sorted(EndpointValue.objects.filter(patient__trial=trial).values_list("start_date", flat=True))
    middle = enrolled[len(enrolled) // 2]
    start = f"{middle:%Y-%m}"
    page, read = efficacy_page(trial, {"site": "BE01", "from": start})
    assert read == ["patients"]
    expected = expected_tables(
        trial,
        "TSF",
        site=cast.site_b,
        patient__enrolment_date__gte=middle.replace(day=1),
    )
    agree(page, expected, "TSF")
    assert "Curves show the filtered patients only" in " ".join(page.notes)


def test_the_stored_site_curves_equal_a_re_estimate(trial: Trial, cast: Cast) -> None:
    stored, _ = efficacy_page(trial, {"site": "NL01"})

    def only_patients(scope_key: str) -> Any:
        return (
            None
            if scope_key.startswith("site:")
            else dashboard_snapshot_part(trial=trial, kind="efficacy", scope_key=scope_key)
        )

    estimated, _ = efficacy_page(trial, {"site": "NL01"}, load=only_patients)
    for paramcd in ("TSF", "PFS", "OS"):
        chart_id = f"efficacy-{paramcd.lower()}"
        assert stored.chart(chart_id).table.rows == estimated.chart(chart_id).table.rows
        assert stored.chart(chart_id).csv_table().rows == estimated.chart(chart_id).csv_table().rows
        assert stored.chart(chart_id).svg == estimated.chart(chart_id).svg


def test_a_filtered_csv_has_every_step_of_the_patients_kept(trial: Trial, cast: Cast) -> None:
    page, _ = efficacy_page(trial, {"site": "BE01", "from": "2000-01"})
    rows = page.chart("efficacy-pfs").csv_table().rows
    patients = EndpointValue.objects.filter(
        patient__trial=trial, paramcd="PFS", site=cast.site_b, patient__enrolment_date__isnull=False
    ).count()
    assert sum(row[3] + row[4] for row in rows) == patients > 0


def test_the_refresh_writes_a_part_per_site_and_drops_stale_parts(trial: Trial, cast: Cast) -> None:
    DashboardSnapshot.objects.create(
        trial=trial, kind="efficacy", scope_key="site:999999", algorithm_version="0", computed_at=timezone.now()
    )
    dashboard_snapshot_refresh(trial=trial, kind="efficacy")
    keys = set(DashboardSnapshot.objects.filter(trial=trial, kind="efficacy").values_list("scope_key", flat=True))
    site_ids = trial.trial_sites.values_list("site_id", flat=True)
    assert keys == {"all", "patients", *(f"site:{site_id}" for site_id in site_ids)}
    patients = dashboard_snapshot_part(trial=trial, kind="efficacy", scope_key="patients")
    assert patients is not None
    columns = patients["endpoints"]["PFS"]
    assert all(isinstance(value, int) for column in columns.values() for value in column)  # compact: integers only
    assert len(columns["aval"]) == EndpointValue.objects.filter(patient__trial=trial, paramcd="PFS").count()


def test_a_snapshot_without_its_parts_is_rebuilt_when_a_filter_needs_them(trial: Trial, cast: Cast) -> None:
    dashboard_snapshot_refresh(trial=trial, kind="efficacy")
    DashboardSnapshot.objects.filter(trial=trial, kind="efficacy").exclude(scope_key="all").delete()
    part = dashboard_snapshot_part(trial=trial, kind="efficacy", scope_key=f"site:{cast.site_a.pk}")
    assert part is not None and set(part["endpoints"]) == {"TSF", "PFS", "OS"}
    assert DashboardSnapshot.objects.filter(trial=trial, kind="efficacy", scope_key="patients").exists()
    assert dashboard_snapshot_part(trial=trial, kind="efficacy", scope_key="site:999999") is None
