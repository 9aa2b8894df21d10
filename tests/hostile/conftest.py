"""A casebook the hostile-input tests write into: for each trial a patient of site A with a visit of every kind a
CRF hangs on, two lesions (a target and a non-target), a clinical progression, and two CTCAE terms to choose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.core.cache import cache

from lesions.models import LesionRole
from lesions.services import lesion_save
from patients import services
from patients.crf import CaseReportForm
from patients.crfs.disease import ClinicalProgression
from patients.crfs.safety import CtcaeTerm
from patients.models import Patient, Visit
from trials.models import Role, User

from ..conftest import Cast
from ..factories import PatientFactory
from ..scenarios import visit_done

#: the visit each visit kind's CRFs are entered at
VISIT_OF_KIND = {
    "screening": ("screening", date(2025, 3, 3)),
    "enrolment": ("enrolment", date(2025, 3, 24)),
    "treatment": ("lat", date(2025, 4, 7)),
    "follow_up": ("follow-up", date(2025, 6, 16)),
    "unscheduled": ("follow-up", date(2025, 6, 16)),  # the tumour assessment takes any of its kinds
}


@dataclass
class Casebook:
    cast: Cast
    coordinator: User
    patients: dict[str, Patient]  # by trial code
    visits: dict[tuple[str, str], Visit]  # (trial code, visit kind) -> visit

    def patient_for(self, model: type[CaseReportForm]) -> Patient:
        return self.patients["avatar2"] if model.crf.used_in("avatar2") else self.patients["cosmo"]

    def visit_for(self, model: type[CaseReportForm], patient: Patient) -> Visit | None:
        kinds = sorted(model.crf.visit_kinds)
        return self.visits[(patient.trial.code, kinds[0])] if kinds else None


def _lesions(user: User, patient: Patient) -> None:
    for label, site, role, measurable, baseline in (
        ("T1", "LIVER", LesionRole.TARGET, True, 400),
        ("NT1", "BONE_SPINE", LesionRole.NON_TARGET, False, None),
    ):
        values: dict[str, Any] = {
            "label": label,
            "site_code": site,
            "measurable": measurable,
            "nodal": False,
            "role": role,
            "oligoprogressive": False,
            "first_seen_date": date(2025, 2, 1),
        }
        if baseline:
            values["baseline_tenths"] = baseline
        lesion_save(user=user, patient=patient, values=values, complete=True)


@pytest.fixture
def casebook(cast: Cast) -> Casebook:
    cache.clear()
    coordinator = cast.user(Role.SITE_COORDINATOR)
    cosmo_patient: Patient = PatientFactory(trial=cast.cosmo, site=cast.site_a, sequence=7)  # type: ignore[no-untyped-call, assignment]
    patients = {"avatar2": cast.patient_a, "cosmo": cosmo_patient}
    visits: dict[tuple[str, str], Visit] = {}
    for trial_code, patient in patients.items():
        for kind, (code, on) in VISIT_OF_KIND.items():
            visits[(trial_code, kind)] = visit_done(coordinator, patient, code, on)
        _lesions(coordinator, patient)
        services.crf_save(
            user=coordinator,
            model=ClinicalProgression,
            patient=patient,
            values={"progression_date": date(2025, 6, 1), "description": "New pain"},
            complete=False,
        )
    for term, grades in (
        ("Anemia", ("mild", "moderate", "severe", "life-threatening", "death")),
        ("Fatigue", ("a", "b", "c", "", "")),
    ):
        CtcaeTerm.objects.create(
            soc="Blood", term=term, **{f"grade_{g}": text for g, text in enumerate(grades, start=1)}
        )
    return Casebook(cast, coordinator, patients, visits)
