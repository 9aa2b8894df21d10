"""Synthetic demo data: six sites, one login per role, ~150 patients. Run by ``manage.py seed_demo``.

Everything goes through the same services as the screens (``user_save``, ``patient_register``, ``patient_update``),
so the demo has a real audit trail and its derived values come from the recompute event, not from a side door.

Re-running is safe: sites, trial sites and users are matched by code / username and only changed where they differ
from the values below; patients are matched by (trial, site, screening number) and skipped when they exist. The
demo users' passwords are reset to the documented ones on every run. The patient plan comes from
``random.Random(2026)``, so every run (on the same day) plans the same patients.

No patient carries a name or any direct identifier: screening numbers are ``SCR-001``-style, ages are whole years.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from trials.audit import stamp
from trials.configuration import trial_configure
from trials.models import Role, Site, Trial, TrialSite, TrialStatus, User
from trials.services import user_save

from .models import Patient, PatientStatus, Sex
from .services import patient_register, patient_update

DEMO_REASON = "Demo data"
SEED = 2026


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    country: str
    city: str


SITES: tuple[DemoSite, ...] = (
    DemoSite("NL01", "Amsterdam UMC", "NL", "Amsterdam"),
    DemoSite("NL02", "UMC Utrecht", "NL", "Utrecht"),
    DemoSite("BE01", "UZ Leuven", "BE", "Leuven"),
    DemoSite("BE02", "UZ Gent", "BE", "Gent"),
    DemoSite("DE01", "Universitätsklinikum Heidelberg", "DE", "Heidelberg"),
    DemoSite("DE02", "LMU Klinikum München", "DE", "München"),
)


@dataclass(frozen=True)
class DemoTrialSite:
    site_code: str
    activation_date: date
    target_enrolment: int
    #: Patients the demo screens at this site: uneven on purpose, some sites recruit faster than others.
    patients: int


# Per trial code. The per-site targets add up to the trial's target (COSMO 80, AVATAR II 74).
TRIAL_SITES: dict[str, tuple[DemoTrialSite, ...]] = {
    "cosmo": (
        DemoTrialSite("NL01", date(2024, 3, 4), 20, 22),
        DemoTrialSite("NL02", date(2024, 6, 17), 14, 13),
        DemoTrialSite("BE01", date(2024, 5, 6), 16, 17),
        DemoTrialSite("BE02", date(2025, 1, 13), 10, 7),
        DemoTrialSite("DE01", date(2024, 10, 1), 12, 11),
        DemoTrialSite("DE02", date(2025, 4, 7), 8, 5),
    ),
    "avatar2": (
        DemoTrialSite("NL01", date(2024, 9, 2), 18, 19),
        DemoTrialSite("NL02", date(2024, 11, 18), 12, 10),
        DemoTrialSite("BE01", date(2025, 2, 3), 12, 9),
        DemoTrialSite("BE02", date(2025, 5, 12), 8, 6),
        DemoTrialSite("DE01", date(2024, 10, 21), 16, 21),
        DemoTrialSite("DE02", date(2025, 3, 3), 8, 10),
    ),
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    sites: tuple[str, ...]
    #: Fixed and documented on purpose: this is demo data, never a deployment.
    password: str


LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("sponsoradmin", Role.SPONSOR_ADMIN, (), "Demo-SponsorAdmin-2026!"),
    DemoLogin("coordinator", Role.SITE_COORDINATOR, ("NL01",), "Demo-Coordinator-2026!"),
    DemoLogin("investigator", Role.INVESTIGATOR, ("NL01",), "Demo-Investigator-2026!"),
    DemoLogin("monitor", Role.MONITOR, ("NL01", "NL02"), "Demo-Monitor-2026!"),
    DemoLogin("datamanager", Role.DATA_MANAGER, (), "Demo-DataManager-2026!"),
    DemoLogin("statistician", Role.STATISTICIAN, (), "Demo-Statistician-2026!"),
    DemoLogin("trialmanager", Role.TRIAL_MANAGER, (), "Demo-TrialManager-2026!"),
    # One coordinator at every other site: they register that site's patients, and coordinator_be01 shows scope.
    *(
        DemoLogin(
            f"coordinator_{site.code.lower()}",
            Role.SITE_COORDINATOR,
            (site.code,),
            f"Demo-Coordinator-{site.code}-2026!",
        )
        for site in SITES
        if site.code != "NL01"
    ),
    # And one investigator there: they confirm eligibility and randomise or register.
    *(
        DemoLogin(
            f"investigator_{site.code.lower()}",
            Role.INVESTIGATOR,
            (site.code,),
            f"Demo-Principal-{site.code}-2026!",
        )
        for site in SITES
        if site.code != "NL01"
    ),
)


@dataclass(frozen=True)
class PlannedPatient:
    trial_code: str
    site_code: str
    screening_number: str
    age_at_consent: int
    sex: str
    consent_date: date
    enrolment_date: date | None
    status: str


@dataclass(frozen=True)
class DemoSummary:
    logins: tuple[DemoLogin, ...]
    trials: int
    sites: int
    countries: int
    #: Trial short name → patient status → count.
    patients_by_trial: dict[str, dict[str, int]]
    patients_created: int
    patients_skipped: int


def plan_patients(*, today: date, seed: int = SEED) -> list[PlannedPatient]:
    """The demo patients, without touching the database. Same seed and day, same plan.

    Consent dates fall between the site's activation and ``today``; per site the screening numbers follow the
    consent order, as a screening log would. About 10 % fail screening; the others are enrolled 7 to 35 days after
    consent (those whose decision day is still ahead stay in screening); a few enrolled long enough ago are off study
    or have died. Every patient draws the same number of random values, so one outcome never shifts the next.
    """
    rng = random.Random(seed)
    plan: list[PlannedPatient] = []
    for trial_code, trial_sites in TRIAL_SITES.items():
        for trial_site in trial_sites:
            open_days = max((today - trial_site.activation_date).days, 0)
            consents = sorted(
                trial_site.activation_date + timedelta(days=rng.randint(0, open_days))
                for _ in range(trial_site.patients)
            )
            for number, consent_date in enumerate(consents, start=1):
                # Metastatic breast cancer: mostly women in their fifties to seventies; about 1 % men.
                age = round(rng.triangular(32, 85, 60))
                sex = Sex.MALE if rng.random() < 0.01 else Sex.FEMALE
                decision_date = consent_date + timedelta(days=rng.randint(7, 35))
                screening_roll, course_roll = rng.random(), rng.random()
                enrolment_date: date | None = None
                if decision_date > today:
                    status = PatientStatus.SCREENING
                elif screening_roll < 0.10:
                    status = PatientStatus.SCREEN_FAILED
                else:
                    enrolment_date = decision_date
                    followed_long_enough = (today - enrolment_date).days >= 120
                    if followed_long_enough and course_roll < 0.03:
                        status = PatientStatus.DIED
                    elif followed_long_enough and course_roll < 0.07:
                        status = PatientStatus.OFF_STUDY
                    else:
                        status = PatientStatus.ON_STUDY
                plan.append(
                    PlannedPatient(
                        trial_code=trial_code,
                        site_code=trial_site.site_code,
                        screening_number=f"SCR-{number:03d}",
                        age_at_consent=age,
                        sex=sex,
                        consent_date=consent_date,
                        enrolment_date=enrolment_date,
                        status=status,
                    )
                )
    return plan


def _save_if_changed(instance: Any, values: dict[str, Any], *, creating: bool) -> Any:
    """Save only when something differs, so a re-run adds no empty history rows."""
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if not creating and not changed:
        return instance
    for name, value in values.items():
        setattr(instance, name, value)
    instance.full_clean()
    stamp(instance, user=None, reason=DEMO_REASON)
    instance.save()
    return instance


def _configure_sites(trials: dict[str, Trial]) -> dict[str, Site]:
    sites: dict[str, Site] = {}
    for spec in SITES:
        site = Site.objects.filter(code=spec.code).first()
        values: dict[str, Any] = {"name": spec.name, "country": spec.country, "city": spec.city}
        sites[spec.code] = _save_if_changed(site or Site(code=spec.code), values, creating=site is None)
    for trial_code, trial_sites in TRIAL_SITES.items():
        trial = trials[trial_code]
        for spec_ts in trial_sites:
            site = sites[spec_ts.site_code]
            existing = TrialSite.objects.filter(trial=trial, site=site).first()
            _save_if_changed(
                existing or TrialSite(trial=trial, site=site),
                {"activation_date": spec_ts.activation_date, "target_enrolment": spec_ts.target_enrolment},
                creating=existing is None,
            )
        # Patients are screening at every site: the demo trials are recruiting (unless someone moved them on).
        if trial.status == TrialStatus.IN_SET_UP:
            _save_if_changed(trial, {"status": TrialStatus.RECRUITING}, creating=False)
    return sites


def _sponsor_admin(login: DemoLogin) -> User:
    """The first user is made directly: ``user_save`` needs an actor who may manage users, and none exists yet."""
    user = User.objects.filter(username=login.username).first() or User(username=login.username)
    user.first_name, user.last_name, user.email = "Demo", Role(login.role).label, f"{login.username}@example.org"
    user.role, user.is_active = login.role, True
    validate_password(login.password, user)
    user.set_password(login.password)
    stamp(user, user=None, reason=f"{DEMO_REASON}: password reset")
    user.save()
    return user


def _configure_users(sites: dict[str, Site]) -> dict[str, User]:
    admin_login, *others = LOGINS
    actor = _sponsor_admin(admin_login)
    users = {actor.username: actor}
    for login in others:
        users[login.username] = user_save(
            actor=actor,
            user=User.objects.filter(username=login.username).first(),
            username=login.username,
            first_name="Demo",
            last_name=Role(login.role).label,
            email=f"{login.username}@example.org",
            role=login.role,
            sites=[sites[code] for code in login.sites],
            is_active=True,
            password=login.password,
            reason=f"{DEMO_REASON}: password reset",
        )
    return users


def _site_staff(users: dict[str, User]) -> dict[str, tuple[User, User]]:
    """Per site: who registers a patient and who enrols them (at NL01 the investigator confirms eligibility)."""
    staff: dict[str, tuple[User, User]] = {"NL01": (users["coordinator"], users["investigator"])}
    for site in SITES:
        if site.code != "NL01":
            code = site.code.lower()
            staff[site.code] = (users[f"coordinator_{code}"], users[f"investigator_{code}"])
    return staff


def _seed_patients(
    planned: list[PlannedPatient], *, trial: Trial, site: Site, registrar: User, enroller: User
) -> tuple[int, int]:
    existing = set(Patient.objects.filter(trial=trial, site=site).values_list("screening_number", flat=True))
    enrolled_as = "randomised" if trial.is_randomised else "registered"
    created = 0
    for item in planned:
        if item.screening_number in existing:
            continue
        patient = patient_register(
            user=registrar,
            trial=trial,
            site=site,
            screening_number=item.screening_number,
            age_at_consent=item.age_at_consent,
            sex=item.sex,
            consent_date=item.consent_date,
        )
        created += 1
        if item.status == PatientStatus.SCREEN_FAILED:
            patient_update(
                user=enroller,
                patient=patient,
                expected_version=patient.version,
                reason=f"{DEMO_REASON}: screen failure, eligibility criteria not met",
                status=PatientStatus.SCREEN_FAILED,
            )
        elif item.enrolment_date is not None:
            patient = patient_update(
                user=enroller,
                patient=patient,
                expected_version=patient.version,
                reason=f"{DEMO_REASON}: eligibility confirmed, {enrolled_as}",
                enrolment_date=item.enrolment_date,
                status=PatientStatus.ON_STUDY,
            )
            if item.status in (PatientStatus.OFF_STUDY, PatientStatus.DIED):
                why = "death reported" if item.status == PatientStatus.DIED else "end of study, withdrew consent"
                patient_update(
                    user=enroller,
                    patient=patient,
                    expected_version=patient.version,
                    reason=f"{DEMO_REASON}: {why}",
                    status=item.status,
                )
    return created, len(planned) - created


def seed_demo(*, today: date | None = None) -> DemoSummary:
    """Create (or bring back to) the demo: trials, sites, logins and patients. Safe to re-run."""
    today = today or timezone.localdate()
    trials = {trial.code: trial for trial in trial_configure()}
    with transaction.atomic():
        sites = _configure_sites(trials)
        users = _configure_users(sites)
    staff = _site_staff(users)
    created = skipped = 0
    plan = plan_patients(today=today)
    for trial_code, trial_sites in TRIAL_SITES.items():
        for trial_site in trial_sites:
            registrar, enroller = staff[trial_site.site_code]
            planned = [p for p in plan if p.trial_code == trial_code and p.site_code == trial_site.site_code]
            # One transaction per trial and site: the recompute of its patients runs once, on commit.
            with transaction.atomic():
                new, old = _seed_patients(
                    planned,
                    trial=trials[trial_code],
                    site=sites[trial_site.site_code],
                    registrar=registrar,
                    enroller=enroller,
                )
            created, skipped = created + new, skipped + old
    patients_by_trial = {
        trial.short_name: dict(Counter(trial.patients.values_list("status", flat=True)))
        for trial in Trial.objects.order_by("code")
    }
    return DemoSummary(
        logins=LOGINS,
        trials=Trial.objects.count(),
        sites=Site.objects.count(),
        countries=Site.objects.values("country").distinct().count(),
        patients_by_trial=patients_by_trial,
        patients_created=created,
        patients_skipped=skipped,
    )
