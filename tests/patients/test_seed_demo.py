"""``manage.py seed_demo``: the demo data a new user logs into, built through the services and safe to re-run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction
from django.test import RequestFactory, TestCase
from django.utils import timezone

from outcomes.models import PatientDerivation
from patients import demo
from patients.demo import LOGINS, TRIAL_SITES, plan_patients
from patients.models import Patient, PatientStatus, Sex
from trials.models import ALL_SITE_ROLES, Role, Site, SiteMembership, Trial, TrialSite, User

SUBJECT_ID = re.compile(r"^(COSMO|AVT2)-[A-Z]{2}[0-9]{2}-[0-9]{4}$")
SCREENING_NUMBER = re.compile(r"^SCR-[0-9]{3}$")
ENROLLED = (PatientStatus.ON_STUDY, PatientStatus.OFF_STUDY, PatientStatus.DIED)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def seed_small() -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "TRIAL_SITES", SMALL_SITES)
        return seed()


def small_plan() -> list[demo.PlannedPatient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "TRIAL_SITES", SMALL_SITES)
        return plan_patients(today=timezone.localdate())


def counts() -> dict[str, int]:
    return {
        "trials": Trial.objects.count(),
        "sites": Site.objects.count(),
        "trial sites": TrialSite.objects.count(),
        "users": User.objects.count(),
        "memberships": SiteMembership.objects.count(),
        "patients": Patient.objects.count(),
        "patient history": Patient.history.count(),
        "site history": Site.history.count() + TrialSite.history.count(),
    }


#: The demo these tests seed: every site of the real demo with a quarter of its patients (at least 3). The full demo
#: (150 patients, about two minutes through the services) is what ``make run`` seeds; its size comes from the same
#: site table, whose sums ``test_the_plan_is_reproducible_and_matches_the_site_table`` checks.
SMALL_SITES = {
    trial: tuple(replace(site, patients=max(3, site.patients // 4)) for site in sites)
    for trial, sites in TRIAL_SITES.items()
}
SMALL_TOTAL = sum(site.patients for sites in SMALL_SITES.values() for site in sites)


@pytest.fixture(scope="module")
def seeded_once(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """Seed once for the whole module, rolled back at the end.

    Each test's ``db`` fixture opens a savepoint inside this transaction, so what a test changes is undone before
    the next. The on-commit callbacks are run explicitly, as a real commit would: that is the recompute event.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        with TestCase.captureOnCommitCallbacks(execute=True):
            output = seed_small()
        yield output
        transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_once: str, db: None) -> str:
    return seeded_once


def test_running_it_again_changes_nothing_but_resets_the_demo_passwords(seeded: str) -> None:
    assert f"{SMALL_TOTAL} patients registered, 0 already present" in seeded
    for username in ("sponsoradmin", "coordinator_be01"):
        user = User.objects.get(username=username)
        user.set_password("Someone-Changed-It-99")
        user.save()
    before = counts()
    output = seed_small()
    assert counts() == before
    assert f"0 patients registered, {SMALL_TOTAL} already present" in output
    for login in LOGINS:
        assert User.objects.get(username=login.username).check_password(login.password), login.username


def test_it_creates_six_sites_in_three_countries_each_in_both_trials(seeded: str) -> None:
    assert Site.objects.count() == 6
    assert set(Site.objects.values_list("country", flat=True)) == {"NL", "BE", "DE"}
    for trial in Trial.objects.all():
        trial_sites = TrialSite.objects.filter(trial=trial)
        assert trial_sites.count() == 6
        for trial_site in trial_sites:
            assert date(2024, 1, 1) <= trial_site.activation_date <= date(2025, 12, 31)
            assert trial_site.target_enrolment > 0


def test_every_role_has_a_login_with_its_documented_password(seeded: str) -> None:
    assert {login.role for login in LOGINS} == set(Role)
    for login in LOGINS:
        request = RequestFactory().post("/")  # django-axes needs a request
        user = authenticate(request, username=login.username, password=login.password)
        assert user is not None, login.username
        assert user.role == login.role
        assert sorted(user.sites.values_list("code", flat=True)) == sorted(login.sites)
        assert (login.role in ALL_SITE_ROLES) == (not login.sites)


def test_scope_can_be_shown_with_two_coordinators_at_different_sites(seeded: str) -> None:
    nl01 = User.objects.get(username="coordinator")
    be01 = User.objects.get(username="coordinator_be01")
    assert set(Patient.objects.for_user(nl01).values_list("site__code", flat=True)) == {"NL01"}
    assert set(Patient.objects.for_user(be01).values_list("site__code", flat=True)) == {"BE01"}
    monitor = User.objects.get(username="monitor")
    assert set(Patient.objects.for_user(monitor).values_list("site__code", flat=True)) == {"NL01", "NL02"}


def test_each_trial_has_its_sites_patients_mostly_enrolled(seeded: str) -> None:
    for trial in Trial.objects.all():
        patients = Patient.objects.filter(trial=trial)
        total = patients.count()
        assert total == sum(site.patients for site in SMALL_SITES[trial.code])
        assert patients.filter(status__in=ENROLLED).count() >= 0.7 * total
        assert 1 <= patients.filter(status=PatientStatus.SCREEN_FAILED).count() <= 0.2 * total
        assert len(set(patients.values_list("site_id", flat=True))) == 6
    seeded_as = set(Patient.objects.values_list("trial__code", "site__code", "screening_number", "status"))
    assert seeded_as == {(p.trial_code, p.site_code, p.screening_number, p.status) for p in small_plan()}


def test_patients_are_plausible_and_dated_within_the_rules(seeded: str) -> None:
    today = timezone.localdate()
    activation = {(ts.trial_id, ts.site_id): ts.activation_date for ts in TrialSite.objects.all()}
    for patient in Patient.objects.all():
        assert 32 <= patient.age_at_consent <= 85
        assert activation[(patient.trial_id, patient.site_id)] <= patient.consent_date <= today
        if patient.status in ENROLLED:
            assert 7 <= (patient.enrolment_date - patient.consent_date).days <= 35
        else:
            assert patient.enrolment_date is None
    assert Patient.objects.filter(sex=Sex.FEMALE).count() >= 0.97 * Patient.objects.count()


def test_no_patient_field_holds_a_name_or_free_text(seeded: str) -> None:
    """Every text field is an id of a fixed shape or a coded choice: nothing a name could hide in."""
    for patient in Patient.objects.select_related("site", "trial"):
        assert SUBJECT_ID.match(patient.subject_id), patient.subject_id
        assert patient.subject_id.startswith(f"{patient.trial.subject_prefix}-{patient.site.code}-")
        assert SCREENING_NUMBER.match(patient.screening_number), patient.screening_number
        assert patient.sex in Sex.values
        assert patient.status in PatientStatus.values


def test_every_patient_has_an_audit_trail_with_reasons(seeded: str) -> None:
    for patient in Patient.objects.all():
        history = list(patient.history.all())
        assert any(row.history_type == "+" and row.history_user_id for row in history), patient.subject_id
        assert all(row.history_change_reason for row in history)
        assert len(history) >= (2 if patient.status != PatientStatus.SCREENING else 1)


def test_the_recompute_event_reaches_every_patient(seeded: str) -> None:
    assert PatientDerivation.objects.count() == Patient.objects.count() == SMALL_TOTAL


def test_the_plan_is_reproducible_and_matches_the_site_table() -> None:
    today = date(2026, 11, 21)
    plan = plan_patients(today=today)
    assert plan == plan_patients(today=today)
    assert len(plan) == sum(ts.patients for sites in TRIAL_SITES.values() for ts in sites) == 150
    for trial, sites in TRIAL_SITES.items():  # about 75 a trial, mostly enrolled, about 10 % screen failures
        planned = [p for p in plan if p.trial_code == trial]
        assert 70 <= len(planned) <= 80
        assert sum(p.enrolment_date is not None for p in planned) >= 0.75 * len(planned)
        assert len({p.site_code for p in planned}) == len(sites) == 6
        assert any(p.status in (PatientStatus.OFF_STUDY, PatientStatus.DIED) for p in planned)
    assert all(p.consent_date <= today for p in plan)
    assert all(p.enrolment_date is None or p.enrolment_date <= today for p in plan)
    assert max(p.consent_date for p in plan) > today - timedelta(days=60)
