"""A monitor raises a query on a field in Chromium, the site coordinator answers it, the monitor closes it (issue 3).

The data (a COSMO patient with a complete baseline tumour assessment) comes from the scenario builder, through the
services: this test is about the query, not the data entry.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from patients.models import Query, QueryStatus

from ..conftest import Cast
from ..scenarios import Scenario

pytestmark = pytest.mark.browser

QUESTION = "The radiology report says PET-CT: please check the imaging modality."
ANSWER = "Checked against the source: the baseline scan was a CT; the report's heading is wrong."


def baseline_cell(page: Page) -> Locator:
    """The tumour-assessment cell of the screening row of the casebook matrix."""
    return page.locator('#casebook tr[data-visit="screening-1"] a[title^="Tumour assessment:"]')


def query_actions(page: Page) -> Locator:
    """The message box and its buttons on a query's page (not the close buttons of the alerts)."""
    return page.locator("form", has=page.get_by_label("Message"))


def test_a_monitor_raises_a_query_and_the_coordinator_answers(
    transactional_db: None,
    cast: Cast,
    live_server: Any,
    page: Page,
    sign_in: Any,
    sign_out: Any,
    screenshot: Any,
) -> None:
    scenario = Scenario(cast)
    assessment = scenario.baseline()
    subject = scenario.patient.subject_id
    casebook_url = live_server.url + reverse("patients:detail", kwargs={"subject_id": subject})
    page.set_default_timeout(10_000)

    # The monitor opens the complete form from the casebook (read only) and raises a query on the modality.
    sign_in(page, cast.user("monitor").username)
    page.goto(casebook_url)
    expect(baseline_cell(page)).to_have_attribute("data-status", "complete")
    baseline_cell(page).click()
    expect(page.get_by_role("heading", level=1, name="Tumour assessment")).to_be_visible()
    expect(page.get_by_label("Imaging modality")).to_be_disabled()
    expect(page.get_by_role("button", name="Save correction")).to_have_count(0)
    raise_query = page.locator("#raise-query")
    raise_query.get_by_label("Field (optional)").select_option("modality")
    raise_query.get_by_label("Question to the site").fill(QUESTION)
    raise_query.get_by_role("button", name="Raise query").click()
    expect(page.get_by_role("alert")).to_contain_text("Query raised")
    expect(page.get_by_text("Open queries on: modality")).to_be_visible()
    query = Query.objects.get()
    assert (query.object_id, query.field_name, query.status) == (assessment.pk, "modality", QueryStatus.OPEN)
    assert query.raised_by == cast.user("monitor")
    sign_out(page)

    # The coordinator sees the queried cell and the open query on the casebook, and on the form.
    sign_in(page, cast.user("site_coordinator").username)
    page.goto(casebook_url)
    expect(baseline_cell(page)).to_have_attribute("data-status", "queried")
    expect(baseline_cell(page).locator("i")).to_have_class("bi bi-question-circle-fill text-danger")
    open_queries = page.locator("#casebook-queries")
    expect(open_queries.get_by_role("listitem")).to_have_count(1)
    expect(open_queries).to_contain_text("Tumour assessment · modality")
    expect(open_queries).to_contain_text("open")
    baseline_cell(page).click()
    expect(page.get_by_text("Open queries on: modality")).to_be_visible()
    expect(page.get_by_text(QUESTION)).to_be_visible()

    # ... and answers it from the query's page.
    page.get_by_role("link", name=f"Query {query.pk}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open")
    page.get_by_label("Message").fill(ANSWER)
    query_actions(page).get_by_role("button", name="Answer").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Query {query.pk}: answer saved.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Answered")
    expect(query_actions(page).get_by_role("button")).to_have_text(["Answer"])  # closing is the raiser's
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    page.goto(casebook_url)
    expect(baseline_cell(page)).to_have_attribute("data-status", "queried")  # until the monitor closes it
    expect(page.locator("#casebook-queries")).to_contain_text("answered")
    sign_out(page)

    # The monitor reads the answer and closes the query: the cell is complete again, no query is open.
    sign_in(page, cast.user("monitor").username)
    page.goto(live_server.url + reverse("patients:query_detail", kwargs={"pk": query.pk}))
    expect(page.get_by_text(QUESTION)).to_be_visible()
    expect(page.get_by_text(ANSWER)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Answered")
    screenshot("query")
    page.get_by_label("Message").fill("Thank you, resolved.")
    query_actions(page).get_by_role("button", name="Close").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Query {query.pk}: close saved.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Closed")
    expect(query_actions(page).get_by_role("button")).to_have_text(["Re-open"])
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and query.closed_at is not None
    page.goto(casebook_url)
    expect(baseline_cell(page)).to_have_attribute("data-status", "complete")
    expect(page.locator("#casebook-queries")).to_have_text("None.")
