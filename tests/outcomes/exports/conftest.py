"""Patients with tumour assessments at either site, entered through the services (the scenario builder's way)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from lesions.models import AssessmentRows, LesionRole, NewLesionRow, NonTargetRow, TargetRow
from lesions.services import lesion_save, tumour_assessment_save
from patients.models import Patient
from trials.models import Role, Site

from ...conftest import Cast
from ...scenarios import CONSENT, patient_ready_for_allocation, site_user, visit_done


@dataclass
class Measured:
    patient: Patient
    baseline: Any
    follow_up: Any


def measured_patient(
    cast: Cast, *, site: Site, screening_number: str, origin: date = date(2025, 2, 3), nodal: bool = False
) -> Measured:
    """A COSMO patient at ``site`` with a target (a node when ``nodal``) and a non-target, a baseline scan and one
    follow-up with a new lesion."""
    user = site_user(cast, Role.SITE_COORDINATOR, site)
    patient = patient_ready_for_allocation(
        cast, trial="cosmo", site=site, screening_number=screening_number, origin=origin
    )
    target = lesion_save(
        user=user,
        patient=patient,
        complete=True,
        values={
            "label": "T1",
            "site_code": "NODE_MEDIASTINAL" if nodal else "LIVER",
            "measurable": True,
            "role": LesionRole.TARGET,
            "baseline_tenths": 253,
            "oligoprogressive": False,
            "first_seen_date": CONSENT - timedelta(days=40),
        },
    )
    non_target = lesion_save(
        user=user,
        patient=patient,
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
    scan = origin - timedelta(days=7)
    baseline = tumour_assessment_save(
        user=user,
        patient=patient,
        visit=visit_done(user, patient, "screening", CONSENT),
        values={"modality": "ct"},
        rows=AssessmentRows(
            targets=(TargetRow(target, "MEASURED", 253, scan),),
            non_targets=(NonTargetRow(non_target, "PRESENT", scan),),
        ),
        complete=True,
    )
    on = origin + timedelta(days=84)
    follow_up = tumour_assessment_save(
        user=user,
        patient=patient,
        visit=visit_done(user, patient, "follow-up", on),
        values={"modality": "mri", "investigator_response": "PD"},
        rows=AssessmentRows(
            targets=(TargetRow(target, "MEASURED", 301, on),),
            non_targets=(NonTargetRow(non_target, "PRESENT", on),),
            new_lesions=(NewLesionRow("YES", on, "LUNG", description="Right upper lobe nodule"),),
        ),
        complete=True,
    )
    return Measured(patient, baseline, follow_up)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """Data-cut files in a directory of this test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)
