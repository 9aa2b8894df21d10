"""One scenario builder for longitudinal patients (STYLE.md rule 8): every step goes through the services.

A COSMO patient registered on a date, with a target lesion and a non-target, a baseline scan and follow-up
assessments given as target diameters; AVATAR II patients are randomised to an arm chosen by the test.

How an AVATAR II scenario gets the arm the test asks for without bypassing randomisation: the allocation list decides,
as in the trial, and the site investigator randomises through ``services.randomisation.randomise``. What the
scenario steers is the list and the stratum. When the trial has no list yet, the scenario generates it (as the
statistician, through ``allocation_list_generate``) from the first seed of a fixed series whose first row in stratum
``ai|1`` is the requested arm; the patient then goes to the first stratum (``ai|1`` first) whose next row is that
arm, so later scenarios in the same test may have other stratification factors. ``Scenario(..., arm=None)`` stops
after the randomisation form: the patient is enrolled but not allocated.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction

from lesions.models import AssessmentRows, Lesion, LesionRole, NewLesionRow, NonTargetRow, TargetRow
from lesions.services import lesion_save, tumour_assessment_save
from patients import services
from patients.crfs.enrolment import AvatarEligibility, CosmoEligibility
from patients.domain.randomisation import AVATAR2_STRATA, generate_block_list
from patients.models import Allocation, AllocationList, Patient, StratumCounter, Visit, VisitStatus
from patients.services.enrolment import enrolment_complete, investigator_confirm
from patients.services.randomisation import active_allocation_list, allocation_list_generate, randomise
from trials.models import Role, Site, User

from .conftest import Cast
from .factories import UserFactory

CONSENT = date(2025, 1, 6)
DEFAULT_FACTORS = {"endocrine_partner": "ai", "oligo_lesions": "1"}
SCENARIO_SEED_SERIES = "scenario-allocation-list-seed-"


def site_user(cast: Cast, role: str, site: Site) -> User:
    """The cast's user of ``role`` for site A; for another site, one made for it (``<role>_<site code>``)."""
    if site == cast.site_a:
        return cast.user(role)
    user: User = UserFactory(username=f"{role}_{site.code.lower()}", role=role, sites=[site])
    return user


def visit_done(user: Any, patient: Patient, code: str, on: date, occurrence: int = 1) -> Visit:
    existing = Visit.objects.filter(patient=patient, definition__code=code, occurrence=occurrence).first()
    return existing or services.visit_record(
        user=user,
        patient=patient,
        definition=patient.trial.visit_definitions.get(code=code),
        occurrence=occurrence,
        status=VisitStatus.DONE,
        visit_date=on,
    )


def patient_ready_for_allocation(
    cast: Cast,
    *,
    trial: str = "avatar2",
    site: Site | None = None,
    screening_number: str = "R-0001",
    origin: date = date(2025, 2, 3),
    factors: dict[str, str] | None = None,
) -> Patient:
    """A patient registered, eligible (confirmed by the site investigator) and with a complete randomisation
    (``factors``, default ``ai|1``) or registration form: everything ``randomise`` asks for."""
    site = site or cast.site_a
    coordinator = site_user(cast, Role.SITE_COORDINATOR, site)
    trial_record = cast.cosmo if trial == "cosmo" else cast.avatar2
    patient = services.patient_register(
        user=coordinator,
        trial=trial_record,
        site=site,
        screening_number=screening_number,
        age_at_consent=57,
        sex="F",
        consent_date=CONSENT,
    )
    model = CosmoEligibility if trial == "cosmo" else AvatarEligibility
    values = {name: True for name in model.INCLUSION} | {name: False for name in model.EXCLUSION}
    checklist = services.crf_save(
        user=coordinator,
        model=model,
        patient=patient,
        visit=visit_done(coordinator, patient, "screening", CONSENT),
        values=values,
        complete=True,
    )
    investigator_confirm(user=site_user(cast, Role.INVESTIGATOR, site), record=checklist)
    enrolment: dict[str, Any] = (
        {"registration_date": origin}
        if trial == "cosmo"
        else {"randomisation_date": origin, **(factors or DEFAULT_FACTORS)}
    )
    with transaction.atomic():  # enrolment_complete locks the patient row but opens no transaction itself
        enrolment_complete(user=coordinator, patient=patient, values=enrolment)
    patient.refresh_from_db()
    return patient


def factors_of(stratum: str) -> dict[str, str]:
    endocrine_partner, oligo_lesions = stratum.split("|")
    return {"endocrine_partner": endocrine_partner, "oligo_lesions": oligo_lesions}


def scenario_allocation_list(cast: Cast, *, first_arm: str = "A") -> AllocationList:
    """The AVATAR II list: the trial's active one, else one generated by the statistician from the first seed of
    ``SCENARIO_SEED_SERIES`` whose first row in stratum ``ai|1`` is ``first_arm``."""
    existing = active_allocation_list(trial=cast.avatar2)
    if existing is not None:
        return existing
    for n in range(1000):
        seed = f"{SCENARIO_SEED_SERIES}{n:04d}"
        rows = generate_block_list(seed=seed, strata=[AVATAR2_STRATA[0]], rows_per_stratum=1).rows
        if rows[0].arm == first_arm:
            break
    generated = allocation_list_generate(user=cast.user(Role.STATISTICIAN), trial=cast.avatar2, seed=seed)
    return generated.allocation_list


def stratum_whose_next_arm_is(allocation_list: AllocationList, arm: str) -> str:
    for stratum in AVATAR2_STRATA:
        counter = StratumCounter.objects.get(allocation_list=allocation_list, stratum=stratum)
        if allocation_list.rows.filter(stratum=stratum, sequence=counter.next_sequence, arm=arm).exists():
            return stratum
    raise AssertionError(f"No stratum of the scenario list has arm {arm} next: allocate fewer patients per test.")


def allocated_patient(
    cast: Cast, *, trial: str = "avatar2", site: Site | None = None, screening_number: str = "R-0001", arm: str = "A"
) -> Allocation:
    """A patient randomised (AVATAR II, to ``arm`` as the module docstring explains) or registered (COSMO)."""
    factors = None
    if trial != "cosmo":
        factors = factors_of(stratum_whose_next_arm_is(scenario_allocation_list(cast, first_arm=arm), arm))
    site = site or cast.site_a
    patient = patient_ready_for_allocation(
        cast, trial=trial, site=site, screening_number=screening_number, factors=factors
    )
    return randomise(user=site_user(cast, Role.INVESTIGATOR, site), patient=patient).allocation


class Scenario:
    def __init__(self, cast: Cast, *, trial: str = "cosmo", origin: date = date(2025, 2, 3), arm: str | None = None):
        self.cast = cast
        self.user = cast.user(Role.SITE_COORDINATOR)
        self.investigator = cast.user(Role.INVESTIGATOR)
        self.origin = origin
        self.trial = cast.cosmo if trial == "cosmo" else cast.avatar2
        factors = None
        if trial != "cosmo" and arm is not None:
            factors = factors_of(stratum_whose_next_arm_is(scenario_allocation_list(cast, first_arm=arm), arm))
        self.patient = patient_ready_for_allocation(
            cast, trial=trial, screening_number=f"S-{origin:%y%m%d}-{trial}", origin=origin, factors=factors
        )
        if trial != "cosmo" and arm is not None:
            allocation = randomise(user=self.investigator, patient=self.patient).allocation
            assert allocation.arm.code == arm, "the scenario list did not give the arm asked for"
        self.patient.refresh_from_db()
        self.target = lesion_save(
            user=self.user,
            patient=self.patient,
            complete=True,
            values={
                "label": "T1",
                "site_code": "LIVER",
                "measurable": True,
                "role": LesionRole.TARGET,
                "baseline_tenths": 400,
                "oligoprogressive": False,
                "first_seen_date": CONSENT - timedelta(days=40),
            },
        )
        self.non_target = lesion_save(
            user=self.user,
            patient=self.patient,
            complete=True,
            values={
                "label": "NT1",
                "site_code": "BONE_SPINE",
                "measurable": False,
                "nodal": False,
                "role": LesionRole.NON_TARGET,
                "oligoprogressive": False,
                "first_seen_date": CONSENT - timedelta(days=40),
            },
        )
        self._follow_ups = 0

    def _visit(self, code: str, occurrence: int, on: date) -> Visit:
        return visit_done(self.user, self.patient, code, on, occurrence)

    def baseline(self, on: date | None = None) -> Any:
        scan = on or self.origin - timedelta(days=7)
        return tumour_assessment_save(
            user=self.user,
            patient=self.patient,
            visit=self._visit("screening", 1, CONSENT),
            values={"modality": "ct"},
            rows=AssessmentRows(
                targets=(TargetRow(self.target, "MEASURED", 400, scan),),
                non_targets=(NonTargetRow(self.non_target, "PRESENT", scan),),
            ),
            complete=True,
        )

    def assessment(self, day: int, target_mm: float, *, investigator: str, new_lesion: str = "") -> Any:
        """A follow-up assessment on study day ``day`` (origin = day 0) with the target at ``target_mm``."""
        self._follow_ups += 1
        on = self.origin + timedelta(days=day)
        new = (NewLesionRow(new_lesion, on, "LUNG"),) if new_lesion else ()
        return tumour_assessment_save(
            user=self.user,
            patient=self.patient,
            visit=self._visit("follow-up", self._follow_ups, on),
            values={"modality": "ct", "investigator_response": investigator},
            rows=AssessmentRows(
                targets=(TargetRow(self.target, "MEASURED", round(target_mm * 10), on),),
                non_targets=(NonTargetRow(self.non_target, "PRESENT", on),),
                new_lesions=new,
            ),
            complete=True,
        )

    def crf(self, model: type[Any], **values: Any) -> Any:
        return services.crf_save(user=self.user, model=model, patient=self.patient, values=values, complete=True)

    @property
    def fresh(self) -> Patient:
        return Patient.objects.get(pk=self.patient.pk)


__all__ = [
    "CONSENT",
    "Lesion",
    "Scenario",
    "allocated_patient",
    "patient_ready_for_allocation",
    "scenario_allocation_list",
    "site_user",
]
