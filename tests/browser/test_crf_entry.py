"""A COSMO coordinator enters a casebook in Chromium, from registering the patient to two tumour assessments (issue 3).

Every step goes through the screens a coordinator uses; only the investigator's confirmation of eligibility is done
by a second person, in a browser session of their own. Dates count back from today (nothing may be in the future):
registration 190 days ago, follow-ups 1 and 2 on their target days 84 and 168, so no visit is overdue.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from lesions.models import Lesion, LocalAblativeTreatment, TumourAssessment
from patients.crfs.enrolment import CosmoEligibility, Registration
from patients.models import Patient, PatientStatus

from ..conftest import Cast

pytestmark = pytest.mark.browser

REASON_REQUIRED = "A reason for change is required when editing a saved record."
RESPONSE = "computed-overall-response-recist-11"


def iso(day: date) -> str:
    return day.isoformat()


def casebook_row(page: Page, visit: str) -> Locator:
    """A row of the casebook matrix by its visit, e.g. ``screening-1``, ``follow-up-2``."""
    return page.locator(f'#casebook tr[data-visit="{visit}"]')


def open_cell(page: Page, visit: str, form: str) -> None:
    """Click the status icon of ``form`` (its column's name) in the row of ``visit``."""
    casebook_row(page, visit).locator(f'a[title^="{form}:"]').first.click()
    expect(page.get_by_role("heading", level=1, name=form)).to_be_visible()


def back_to_casebook(page: Page, subject_id: str) -> None:
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name=subject_id).click()
    expect(page.locator("#casebook")).to_be_visible()


def record_visit(page: Page, visit: str, on: date) -> None:
    casebook_row(page, visit).get_by_role("link", name="record").click()
    page.get_by_label("Done").check()
    page.get_by_label("Visit date").fill(iso(on))
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_role("alert").filter(has_text="Visit saved.")).to_be_visible()
    expect(casebook_row(page, visit)).to_contain_text(f"done {iso(on)}")


def mark_complete(page: Page, form: str) -> None:
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_role("alert").filter(has_text=f"{form} saved as complete.")).to_be_visible()
    expect(page.locator("#crf-status")).to_have_text("Complete")


def derived(page: Page, label: str) -> Locator:
    """One value of the derived-values side panel, by the slug of its label (``_derived.html``)."""
    return page.locator(f'#derived [data-derived="{label}"]')


def reachable(field: Locator) -> Locator:
    """A field a person can reach: Playwright's trial click fails when the field is clipped out of sight (which
    ``fill`` and ``select_option`` alone accept)."""
    field.click(trial=True)
    return field


def enter_assessment(page: Page, *, scan: date, t1_mm: str, investigator: str = "") -> None:
    """The tumour assessment form: CT, one scan date for every row, T1's diameter, NT1 present."""
    page.get_by_label("Imaging modality").select_option(label="CT")
    page.get_by_label("Scan date", exact=True).fill(iso(scan))
    targets, non_targets = page.locator("#rows-targets tbody tr"), page.locator("#rows-non_targets tbody tr")
    expect(targets).to_have_count(1)
    expect(non_targets).to_have_count(1)
    reachable(targets.filter(has_text="T1 · Liver").get_by_role("spinbutton")).fill(t1_mm)
    reachable(non_targets.filter(has_text="NT1 · Spine").get_by_role("combobox")).select_option(label="Present")
    if investigator:
        page.get_by_label("Investigator's overall response").select_option(label=investigator)


def test_a_coordinator_enters_a_cosmo_casebook(
    transactional_db: None,
    cast: Cast,
    live_server: Any,
    page: Page,
    browser: Any,
    sign_in: Any,
    screenshot: Any,
) -> None:
    today = timezone.localdate()
    origin = today - timedelta(days=190)  # registration: the origin of COSMO's endpoints
    consent, screening = origin - timedelta(days=21), origin - timedelta(days=14)
    baseline_scan, first_seen = origin - timedelta(days=12), consent - timedelta(days=30)
    lat = origin + timedelta(days=7)
    follow_up_1, follow_up_2 = origin + timedelta(days=84), origin + timedelta(days=168)
    coordinator = cast.user("site_coordinator")
    page.set_default_timeout(10_000)

    # Register a screened patient.
    sign_in(page, coordinator.username)
    page.goto(live_server.url + reverse("patients:list"))
    page.get_by_role("main").get_by_role("link", name="Register patient").click()
    page.get_by_label("Trial").select_option(label="COSMO")
    page.get_by_label("Site").select_option(label=str(cast.site_a))
    page.get_by_label("Screening number").fill("SCR-0042")
    page.get_by_label("Age at consent (years)").fill("54")
    page.get_by_label("Sex").select_option(label="Female")
    page.get_by_label("Consent date").fill(iso(consent))
    page.get_by_role("button", name="Register patient").click()
    patient = Patient.objects.get(trial=cast.cosmo, screening_number="SCR-0042")
    subject = patient.subject_id
    expect(page.get_by_role("alert")).to_contain_text(f"Patient {subject} registered.")
    expect(page.get_by_role("heading", level=1, name=subject)).to_be_visible()

    # Screening visit, then the COSMO eligibility checklist: every inclusion criterion met, no exclusion.
    record_visit(page, "screening-1", screening)
    open_cell(page, "screening-1", "Screening & eligibility")
    for name in CosmoEligibility.INCLUSION:
        page.locator(f"#div_id_{name}").get_by_label("Yes", exact=True).check()
    for name in CosmoEligibility.EXCLUSION:
        page.locator(f"#div_id_{name}").get_by_label("No", exact=True).check()
    mark_complete(page, "Screening & eligibility")
    expect(derived(page, "eligibility")).to_have_text("Eligible")
    expect(derived(page, "investigator")).to_have_text("Not yet confirmed by the site investigator")
    checklist_url = page.url

    # Demographics & baseline: a draft may leave required fields empty; marking complete enforces them.
    back_to_casebook(page, subject)
    open_cell(page, "screening-1", "Demographics & baseline")
    page.get_by_label("ECOG performance status").select_option("0")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("alert")).to_contain_text("Demographics & baseline saved as draft.")
    expect(page.locator("#crf-status")).to_have_text("Draft")
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_text("Menopausal status is required to mark the form complete.")).to_be_visible()
    expect(page.locator("#crf-status")).to_have_text("Draft")
    page.get_by_label("Menopausal status").select_option(label="Postmenopausal")
    page.get_by_label("Date of primary diagnosis").fill("2019-03")
    page.get_by_label("Date of metastatic diagnosis").fill("2023-11")
    mark_complete(page, "Demographics & baseline")
    page.goto(checklist_url)

    # The site investigator confirms in the browser, signed in in a session of their own (not through the service).
    # The checklist is complete, so this save, like any save of a complete form, needs a reason for change.
    investigator_session = browser.new_context()
    investigator = investigator_session.new_page()
    investigator.set_default_timeout(10_000)
    sign_in(investigator, cast.user("investigator").username)
    investigator.goto(checklist_url)
    investigator.get_by_label("I confirm this form as the site investigator").check()
    investigator.get_by_label("Reason for change").fill("Eligibility checked against the source documents")
    investigator.get_by_role("button", name="Save correction").click()
    expect(investigator.get_by_role("alert")).to_contain_text("Screening & eligibility saved as complete.")
    investigator_session.close()
    assert CosmoEligibility.objects.get(patient=patient).confirmed_by == cast.user("investigator")
    page.reload()
    expect(derived(page, "investigator")).to_contain_text("Confirmed by")

    # Enrolment visit and the Registration form: the patient is on study and the visit schedule appears.
    back_to_casebook(page, subject)
    record_visit(page, "enrolment-1", origin)
    open_cell(page, "enrolment-1", "Registration")
    page.get_by_label("Registration date").fill(iso(origin))
    mark_complete(page, "Registration")
    back_to_casebook(page, subject)
    expect(page.locator(".badge", has_text="On study")).to_be_visible()
    expect(casebook_row(page, "follow-up-2")).to_be_visible()
    assert Registration.objects.get(patient=patient).registration_date == origin

    # Lesion register: a liver target of 40 mm and an oligoprogressive spine non-target, to be treated.
    register = page.locator(".card", has=page.get_by_role("heading", name="Lesion register"))
    for label, site_code, role, measurable, baseline_mm, oligoprogressive in (
        ("T1", "LIVER", "Target", "Yes", "40", "No"),
        ("NT1", "BONE_SPINE", "Non-target", "No", "", "Yes"),
    ):
        register.get_by_role("link", name="Add").click()
        page.get_by_label("Lesion label").fill(label)
        page.get_by_label("Anatomical site").select_option(site_code)
        page.get_by_label("Measurable").select_option(label=measurable)
        page.get_by_label("Role").select_option(label=role)
        if baseline_mm:
            page.get_by_label("Baseline measurement (mm)").fill(baseline_mm)
        page.get_by_label("Oligoprogressive").select_option(label=oligoprogressive)
        page.get_by_label("First seen").fill(iso(first_seen))
        mark_complete(page, "Lesion register")
        back_to_casebook(page, subject)
    expect(register.get_by_role("listitem")).to_have_count(2)

    # Local ablative treatment of NT1: SABR 3 × 15 Gy. BED₁₀ = 45 × (1 + 15 / 10) = 112.5 Gy, shown as typed.
    record_visit(page, "lat-1", lat)
    open_cell(page, "lat-1", "Local ablative treatment")
    page.locator("#id_lesion").select_option(label="NT1 · Spine")
    page.get_by_label("Modality").select_option(label="SABR")
    page.get_by_label("Treatment date").fill(iso(lat))
    page.get_by_label("Total dose (Gy)").fill("45")
    page.get_by_label("Number of fractions").fill("3")
    page.get_by_label("Last fraction").fill(iso(lat + timedelta(days=4)))
    page.get_by_label("Technique").select_option(label="VMAT")
    expect(derived(page, "bed10-gy")).to_have_text("112.50")  # the live preview, before saving
    mark_complete(page, "Local ablative treatment")
    expect(derived(page, "bed10-gy")).to_have_text("112.50")
    expect(derived(page, "eqd210-gy")).to_have_text("93.75")
    assert Lesion.objects.get(patient=patient, label="NT1").locally_treated
    assert LocalAblativeTreatment.objects.get(patient=patient).total_dose_gy == 45

    # Baseline tumour assessment at screening: T1 40 mm.
    back_to_casebook(page, subject)
    open_cell(page, "screening-1", "Tumour assessment")
    enter_assessment(page, scan=baseline_scan, t1_mm="40")
    expect(derived(page, "baseline-sum")).to_have_text("40.0 mm")
    mark_complete(page, "Tumour assessment")
    expect(derived(page, "baseline-sum")).to_have_text("40.0 mm")

    # Follow-up 1: T1 40 → 30 mm is −25.0 %, short of a partial response (−30 %): stable disease.
    back_to_casebook(page, subject)
    record_visit(page, "follow-up-1", follow_up_1)
    open_cell(page, "follow-up-1", "Tumour assessment")
    enter_assessment(page, scan=follow_up_1, t1_mm="30", investigator="SD")
    expect(derived(page, "target-sum")).to_have_text("30.0 mm")
    expect(derived(page, "change-from-baseline")).to_have_text("-25.0 %")
    expect(derived(page, RESPONSE)).to_have_text("SD")
    mark_complete(page, "Tumour assessment")
    expect(derived(page, "target-sum")).to_have_text("30.0 mm")
    expect(derived(page, RESPONSE)).to_have_text("SD")
    follow_up_1_url = page.url

    # Follow-up 2: T1 30 → 37 mm is +23.3 % (+7.0 mm) over the nadir: progression, though −7.5 % from baseline.
    back_to_casebook(page, subject)
    record_visit(page, "follow-up-2", follow_up_2)
    open_cell(page, "follow-up-2", "Tumour assessment")
    enter_assessment(page, scan=follow_up_2, t1_mm="37", investigator="PD")
    expect(derived(page, "target-sum")).to_have_text("37.0 mm")
    expect(derived(page, "nadir")).to_have_text("30.0 mm")
    expect(derived(page, "change-from-nadir")).to_have_text("+23.3 %")
    expect(derived(page, RESPONSE)).to_have_text("PD")
    mark_complete(page, "Tumour assessment")
    expect(derived(page, "change-from-baseline")).to_have_text("-7.5 %")
    expect(derived(page, "change-from-nadir")).to_have_text("+23.3 %")
    expect(derived(page, "change-from-nadir-mm")).to_have_text("+7.0 mm")
    expect(derived(page, RESPONSE)).to_have_text("PD")
    expect(derived(page, "differs-from-the-investigators")).to_have_text("No")
    screenshot("tumour-assessment")
    stored = TumourAssessment.objects.filter(patient=patient, status="complete").order_by("assessment_date")
    assert [(a.target_sum_tenths, a.computed_response) for a in stored] == [(400, ""), (300, "SD"), (370, "PD")]
    assert stored[1].change_from_baseline_percent == Decimal("-25.0")
    assert stored[2].change_from_nadir_percent == Decimal("23.3")

    back_to_casebook(page, subject)
    for visit, forms in (
        ("screening-1", 3),  # eligibility, demographics, tumour assessment
        ("enrolment-1", 1),
        ("lat-1", 1),
        ("follow-up-1", 1),
        ("follow-up-2", 1),
    ):
        expect(casebook_row(page, visit).locator('a[data-status="complete"]')).to_have_count(forms)
    screenshot("casebook")

    # Correcting a complete form: refused without a reason (nothing saved), then saved and audited with one.
    page.goto(follow_up_1_url)
    page.get_by_label("Imaging modality").select_option(label="MRI")
    page.get_by_role("button", name="Save correction").click()
    expect(page.get_by_text(REASON_REQUIRED)).to_be_visible()
    page.goto(follow_up_1_url)
    expect(page.get_by_label("Imaging modality")).to_have_value("ct")
    assert TumourAssessment.objects.get(visit__definition__code="follow-up", visit__occurrence=1).modality == "ct"
    page.get_by_label("Imaging modality").select_option(label="MRI")
    page.get_by_label("Reason for change").fill("Radiology report: the scan was an MRI")
    page.get_by_role("button", name="Save correction").click()
    expect(page.get_by_role("alert")).to_contain_text("Tumour assessment saved as complete.")
    expect(page.get_by_label("Imaging modality")).to_have_value("mri")
    page.get_by_role("link", name="Audit trail").click()
    correction = page.locator("tbody tr", has_text="Radiology report: the scan was an MRI")
    expect(correction).to_have_count(1)
    expect(correction).to_contain_text("Imaging modality: CT → MRI")
    expect(correction).to_contain_text(coordinator.username)

    patient.refresh_from_db()
    assert (patient.status, patient.enrolment_date) == (PatientStatus.ON_STUDY, origin)
