"""The dashboards in Chromium (issue 7): each opened as the role it is for, the charts drawn (SVG with marks), the
table view's numbers equal to counts taken from the ORM here, a screenshot of each; the wrong role gets 404.

The population is written in bulk (``tests/outcomes/dashboards/population.py``); the snapshot of each page is built
on its first view.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Count
from django.urls import reverse
from playwright.sync_api import Page, expect

from patients.models import Patient, PatientStatus, Query, QueryStatus
from patients.randomisation import Allocation
from trials.models import Role

from ..conftest import Cast
from ..outcomes.dashboards.population import populate

pytestmark = pytest.mark.browser


@pytest.fixture
def population(transactional_db: None, cast: Cast) -> None:
    populate(40, seed=11)


def open_dashboard(page: Page, live_server: Any, kind: str, trial: str = "avatar2") -> None:
    page.goto(live_server.url + reverse(f"outcomes:dashboard_{kind}", kwargs={"code": trial}))
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def table_rows(page: Page, chart_id: str) -> dict[str, list[str]]:
    """The table view of one chart, opened as a user would, as {first cell: other cells}."""
    panel = page.locator(f"#panel-{chart_id}")
    summary = panel.locator("details > summary")
    if summary.count():
        summary.click()
    rows = panel.locator(f"table[data-chart-table='{chart_id}'] tbody tr")
    expect(rows.first).to_be_visible()
    result = {}
    for index in range(rows.count()):
        cells = [text.strip() for text in rows.nth(index).locator("th, td").all_inner_texts()]
        result[cells[0]] = cells[1:]
    return result


def assert_drawn(page: Page, chart_id: str, selector: str = "path, rect") -> None:
    svg = page.locator(f"svg#{chart_id}")
    expect(svg).to_have_attribute("role", "img")
    assert svg.locator(selector).count() > 0, f"{chart_id} drew nothing"
    box = svg.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 50


def test_the_trial_manager_sees_enrolment_health_and_counts_by_site(
    population: None, cast: Cast, live_server: Any, page: Page, sign_in: Any, screenshot: Any
) -> None:
    page.set_default_timeout(15_000)
    sign_in(page, cast.user(Role.TRIAL_MANAGER).username)

    open_dashboard(page, live_server, "enrolment")
    for chart_id in ("enrolment-cumulative", "enrolment-sites", "enrolment-screening", "enrolment-reasons"):
        assert_drawn(page, chart_id)
    screening = table_rows(page, "enrolment-screening")
    patients = Patient.objects.filter(trial__code="avatar2")
    for code, screened in patients.values_list("site__code").annotate(n=Count("id")):
        failed = patients.filter(site__code=code, status=PatientStatus.SCREEN_FAILED).count()
        enrolled = patients.filter(site__code=code, enrolment_date__isnull=False).exclude(
            status=PatientStatus.SCREEN_FAILED
        )
        assert screening[code] == [str(screened), str(enrolled.count()), str(failed)]
    screenshot("dashboard-enrolment-trial-manager")

    page.get_by_role("link", name="Trial health").click()
    for chart_id in ("health-compliance", "health-forms", "health-queries", "health-lag"):
        assert_drawn(page, chart_id)
    queries = table_rows(page, "health-queries")
    open_queries = Query.objects.filter(patient__trial__code="avatar2").exclude(status=QueryStatus.CLOSED)
    for code, n in open_queries.values_list("site__code").annotate(n=Count("id")):
        assert queries[code][-1] == str(n)
    screenshot("dashboard-health-trial-manager")

    page.get_by_role("link", name="Randomisation").click()
    assert_drawn(page, "randomisation-sites", "rect")
    by_site = table_rows(page, "randomisation-sites")
    allocations = Allocation.objects.filter(trial__code="avatar2")
    for code, n in allocations.values_list("site__code").annotate(n=Count("id")):
        assert by_site[code] == [str(n)]
    assert page.locator("#panel-randomisation-strata").count() == 0
    assert "Arm A" not in page.content()
    expect(page.get_by_role("link", name="Efficacy")).to_have_count(0)
    screenshot("dashboard-randomisation-trial-manager")

    response = page.goto(live_server.url + reverse("outcomes:dashboard_efficacy", kwargs={"code": "avatar2"}))
    assert response is not None and response.status == 404


def test_the_statistician_sees_arms_and_kaplan_meier_curves(
    population: None, cast: Cast, live_server: Any, page: Page, sign_in: Any, screenshot: Any
) -> None:
    page.set_default_timeout(15_000)
    sign_in(page, cast.user(Role.STATISTICIAN).username)

    open_dashboard(page, live_server, "randomisation")
    assert_drawn(page, "randomisation-strata", "rect")
    strata = table_rows(page, "randomisation-strata")
    allocations = Allocation.objects.filter(trial__code="avatar2")
    arm_a = allocations.filter(arm__code="A").count()
    arm_b = allocations.filter(arm__code="B").count()
    assert strata["All strata"][:3] == [str(arm_a), str(arm_b), str(arm_a + arm_b)]
    screenshot("dashboard-randomisation-statistician")

    open_dashboard(page, live_server, "efficacy")
    for chart_id in ("efficacy-tsf", "efficacy-pfs", "efficacy-os"):
        assert_drawn(page, chart_id, "path.curve")
        assert page.locator(f"svg#{chart_id} path.band").count() == 2
    pfs = page.locator("#panel-efficacy-pfs")
    pfs.locator("details > summary").click()
    first_rows = pfs.locator("tbody tr").filter(has_text="Arm A").first.locator("th, td").all_inner_texts()
    assert first_rows[:3] == ["Arm A", "0", str(arm_a)]  # everyone at risk at month 0
    screenshot("dashboard-efficacy-avatar2-statistician")

    open_dashboard(page, live_server, "efficacy", trial="cosmo")
    assert_drawn(page, "efficacy-pfs", "path.curve")
    expect(page.locator("svg#efficacy-pfs line.landmark")).to_have_count(1)
    expect(page.locator("svg#efficacy-pfs")).to_contain_text("PFS-6")
    screenshot("dashboard-efficacy-cosmo-statistician")


def test_a_site_role_gets_404_on_every_dashboard(
    population: None, cast: Cast, live_server: Any, page: Page, sign_in: Any
) -> None:
    sign_in(page, cast.user(Role.SITE_COORDINATOR).username)
    for kind in ("enrolment", "health", "randomisation", "efficacy"):
        response = page.goto(live_server.url + reverse(f"outcomes:dashboard_{kind}", kwargs={"code": "avatar2"}))
        assert response is not None and response.status == 404, kind
