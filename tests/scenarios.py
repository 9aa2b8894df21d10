"""One scenario builder for longitudinal patients (STYLE.md rule 8): every step goes through the services.

A COSMO patient registered on a date, with a target lesion and a non-target, a baseline scan and follow-up
assessments given as target diameters; AVATAR II patients are randomised to an arm chosen by the test.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from lesions.models import AssessmentRows, Lesion, LesionRole, NewLesionRow, NonTargetRow, TargetRow
from lesions.services import lesion_save, tumour_assessment_save
from patients import services
from patients.crfs.enrolment import AvatarEligibility, CosmoEligibility, Randomisation
from patients.models import Patient, Visit, VisitStatus
from patients.services.enrolment import enrolment_complete, investigator_confirm
from trials.models import Arm, Role

from .conftest import Cast

CONSENT = date(2025, 1, 6)


class Scenario:
    def __init__(self, cast: Cast, *, trial: str = "cosmo", origin: date = date(2025, 2, 3), arm: str | None = None):
        self.cast = cast
        self.user = cast.user(Role.SITE_COORDINATOR)
        self.investigator = cast.user(Role.INVESTIGATOR)
        self.origin = origin
        self.trial = cast.cosmo if trial == "cosmo" else cast.avatar2
        self.patient = services.patient_register(
            user=self.user,
            trial=self.trial,
            site=cast.site_a,
            screening_number=f"S-{origin:%y%m%d}-{trial}",
            age_at_consent=57,
            sex="F",
            consent_date=CONSENT,
        )
        self._visit("screening", 1, CONSENT)
        model = CosmoEligibility if trial == "cosmo" else AvatarEligibility
        values = {name: True for name in model.INCLUSION} | {name: False for name in model.EXCLUSION}
        checklist = services.crf_save(
            user=self.user,
            model=model,
            patient=self.patient,
            visit=self._visit("screening", 1, CONSENT),
            values=values,
            complete=True,
        )
        investigator_confirm(user=self.investigator, record=checklist)
        if trial == "cosmo":
            enrolment_complete(user=self.user, patient=self.patient, values={"registration_date": origin})
        else:
            record = enrolment_complete(
                user=self.user,
                patient=self.patient,
                values={"randomisation_date": origin, "endocrine_partner": "ai", "oligo_lesions": "1"},
            )
            if arm is not None:  # the allocation itself is the randomisation service's job; tests pin the arm
                Randomisation.objects.filter(pk=record.pk).update(arm=Arm.objects.get(trial=self.trial, code=arm))
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
        existing = Visit.objects.filter(patient=self.patient, definition__code=code, occurrence=occurrence).first()
        return existing or services.visit_record(
            user=self.user,
            patient=self.patient,
            definition=self.trial.visit_definitions.get(code=code),
            occurrence=occurrence,
            status=VisitStatus.DONE,
            visit_date=on,
        )

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


__all__ = ["CONSENT", "Lesion", "Scenario"]
