from typing import Any

import pytest
from django.urls import reverse

from ..conftest import Cast

pytestmark = pytest.mark.browser


def test_a_coordinator_signs_in_and_opens_the_patient_list(
    transactional_db: None, cast: Cast, live_server: Any, page: Any, screenshot: Any
) -> None:
    page.goto(live_server.url + reverse("login"))
    screenshot("login")
    page.get_by_label("Username").fill(cast.user("site_coordinator").username)
    page.get_by_label("Password").fill("Correct-Horse-Battery-42")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Patients", exact=True).click()
    page.wait_for_url("**/patients/")
    rows = page.locator("#patient-table tbody tr")
    assert rows.count() == 1
    assert cast.patient_a.subject_id in rows.first.inner_text()
    assert cast.patient_b.subject_id not in page.content()
    screenshot("patient-list")
    page.get_by_role("link", name=cast.patient_a.subject_id).click()
    page.wait_for_url(f"**/patients/{cast.patient_a.subject_id}/")
    assert page.locator("#casebook tbody tr").count() > 5
    screenshot("casebook-empty")


def test_a_wrong_password_stays_on_the_login_page(
    transactional_db: None, cast: Cast, live_server: Any, page: Any
) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill("site_coordinator")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct username and password")
