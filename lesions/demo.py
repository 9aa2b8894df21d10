"""Synthetic lesion data for one enrolled demo patient: register, local ablative treatment, tumour assessments.

Called per patient by the demo seeding (``seed_lesions``); everything goes through the same services as the screens,
so the demo has a real audit trail, real edit checks and RECIST responses computed by the engine. Re-running is
safe: a patient who already has lesions is left alone. No patient carries any identifier.

The story follows the trials (trials.md): a baseline scan shortly before the origin with one or two targets, maybe
a non-target, and one or two oligoprogressive lesions (non-targets, in one organ) treated by SABR at the treatment
visit (COSMO: every patient; AVATAR II: arm A); then a tumour assessment at each follow-up visit whose time has
come. About a third of the patients progress (by the target sum, or by a new lesion) and stop being assessed.
The investigator's response is the computed one, except now and then a PR called SD, which shows a discrepancy query.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from patients.models import Patient, Visit, VisitStatus
from patients.services import visit_record

from .models import AssessmentRows, Lesion, LesionRole, NewLesionRow, NonTargetRow, TargetRow, TumourAssessment
from .selectors import recist_evaluation
from .services import lesion_save, local_treatment_save, tumour_assessment_save

DEMO_REASON = "Demo data"


@dataclass(frozen=True)
class _Candidate:
    site_code: str
    low_tenths: int
    high_tenths: int


# Targets: measurable sites, each a different organ; sizes meet RECIST (nodes >= 15 mm short axis).
TARGET_SITES = (
    _Candidate("LIVER", 150, 450),
    _Candidate("LUNG", 120, 300),
    _Candidate("NODE_MEDIASTINAL", 150, 250),
    _Candidate("ADRENAL", 120, 300),
    _Candidate("PERITONEUM", 120, 250),
)
NON_TARGET_SITES = ("BONE_SPINE", "BONE_RIB", "PLEURA", "NODE_ABDOMINAL")
# Oligoprogressive lesions: the site and a second site of the same category (COSMO: one organ, or locoregional).
OLIGO_SITES = (
    ("BONE_PELVIS", "BONE_SPINE"),
    ("LUNG", "LUNG"),
    ("LIVER", "LIVER"),
    ("BREAST_PRIMARY", "AXILLA_IPSI"),
    ("ADRENAL", "ADRENAL"),
    ("NODE_MEDIASTINAL", "NODE_MEDIASTINAL"),
)
SABR_COURSES = ((3, Decimal(45)), (5, Decimal(35)), (1, Decimal(20)), (5, Decimal(40)), (3, Decimal(54)))


def _visit(*, user: Any, patient: Patient, code: str, occurrence: int, on: date) -> Visit | None:
    """The visit, recorded as done on ``on`` unless it is already recorded (then as it is, if done)."""
    existing = Visit.objects.filter(patient=patient, definition__code=code, occurrence=occurrence).first()
    if existing is not None:
        return existing if existing.status == VisitStatus.DONE else None
    definition = patient.trial.visit_definitions.filter(code=code).first()
    if definition is None:
        return None
    return visit_record(
        user=user, patient=patient, definition=definition, occurrence=occurrence, status=VisitStatus.DONE, visit_date=on
    )


def _gets_local_treatment(patient: Patient) -> bool:
    """COSMO: everyone. AVATAR II: arm A only (arm B gets physician's choice of systemic therapy)."""
    if not patient.trial.is_randomised:
        return True
    from patients.models import Randomisation

    allocation = Randomisation.objects.filter(patient=patient).select_related("arm").first()
    return allocation is not None and allocation.arm is not None and allocation.arm.code == "A"


def _register(*, user: Any, patient: Patient, rng: random.Random, first_seen: date) -> list[Lesion]:
    lesions: list[Lesion] = []

    def add(**values: Any) -> None:
        lesions.append(
            lesion_save(user=user, patient=patient, values={"first_seen_date": first_seen, **values}, complete=True)
        )

    oligo_site, second_site = rng.choice(OLIGO_SITES)
    oligo_count = 2 if rng.random() < 0.3 else 1
    target_pool = [c for c in TARGET_SITES if c.site_code not in (oligo_site, second_site)]
    targets = rng.sample(target_pool, 2 if rng.random() < 0.6 else 1)
    for number, candidate in enumerate(targets, start=1):
        add(
            label=f"T{number}",
            site_code=candidate.site_code,
            measurable=True,
            role=LesionRole.TARGET,
            baseline_tenths=rng.randint(candidate.low_tenths, candidate.high_tenths),
            oligoprogressive=False,
        )
    number = 0
    if len(targets) + oligo_count < 4 and rng.random() < 0.5:
        number += 1
        add(
            label=f"NT{number}",
            site_code=rng.choice(NON_TARGET_SITES),
            measurable=False,
            nodal=False,
            role=LesionRole.NON_TARGET,
            oligoprogressive=False,
        )
    for site_code in (oligo_site, second_site)[:oligo_count]:
        number += 1
        add(
            label=f"NT{number}",
            site_code=site_code,
            measurable=True,
            nodal=site_code.startswith("NODE") or site_code.endswith("IPSI"),
            role=LesionRole.NON_TARGET,
            baseline_tenths=rng.randint(120, 280),
            oligoprogressive=True,
        )
    return lesions


def _computed(patient: Patient, visit: Visit, rows: AssessmentRows) -> str:
    """The engine's response for these rows, as the form's preview shows it."""
    draft = TumourAssessment(patient=patient, site_id=patient.site_id, visit=visit)
    evaluation = recist_evaluation(patient=patient, overlay=draft, overlay_rows=rows)
    result = evaluation.result_for(draft)
    return result.overall_response.value if result is not None else "NE"


@transaction.atomic
def seed_lesions(*, patient: Patient, user: Any, rng: random.Random, today: date) -> bool:
    """Lesions, treatment and assessments for one enrolled patient. False when there was nothing to do (the
    patient is not enrolled, already has lesions, or was enrolled too recently for a baseline to be recorded)."""
    origin = patient.enrolment_date
    if origin is None or origin > today or Lesion.objects.filter(patient=patient).exists():
        return False
    baseline_scan = max(origin - timedelta(days=rng.randint(2, 21)), patient.consent_date - timedelta(days=20))
    first_seen = baseline_scan - timedelta(days=rng.randint(35, 56))  # the confirming PET-CT about 6 weeks earlier
    screening = _visit(user=user, patient=patient, code="screening", occurrence=1, on=patient.consent_date)
    if screening is None:
        return False
    lesions = _register(user=user, patient=patient, rng=rng, first_seen=first_seen)
    targets = [lesion for lesion in lesions if lesion.role == LesionRole.TARGET]
    non_targets = [lesion for lesion in lesions if lesion.role == LesionRole.NON_TARGET]
    tumour_assessment_save(
        user=user,
        patient=patient,
        visit=screening,
        values={"modality": "pet_ct"},
        rows=AssessmentRows(
            targets=tuple(TargetRow(t, "MEASURED", t.baseline_tenths, baseline_scan) for t in targets),
            non_targets=tuple(NonTargetRow(n, "PRESENT", baseline_scan) for n in non_targets),
        ),
        complete=True,
    )

    treated_on = origin + timedelta(days=rng.randint(3, 21))
    if treated_on + timedelta(days=14) > today:
        return True
    if _gets_local_treatment(patient):
        lat = _visit(user=user, patient=patient, code="lat", occurrence=1, on=treated_on)
        for lesion in (n for n in non_targets if n.oligoprogressive) if lat is not None else ():
            fractions, dose = rng.choice(SABR_COURSES)
            local_treatment_save(
                user=user,
                patient=patient,
                visit=lat,
                values={
                    "lesion": lesion,
                    "modality": "sabr",
                    "start_date": treated_on,
                    "end_date": treated_on + timedelta(days=2 * (fractions - 1)),
                    "total_dose_gy": dose,
                    "fractions": fractions,
                    "technique": rng.choice(["vmat", "robotic", "imrt"]),
                },
                complete=True,
            )

    sizes = {t.pk: t.baseline_tenths or 0 for t in targets}
    progresses_at = rng.randint(1, 4) if rng.random() < 0.35 else None
    by_new_lesion = rng.random() < 0.3
    shrink = rng.choice([Decimal("0.6"), Decimal("0.8"), Decimal("0.95"), Decimal("1.05")])
    for occurrence in range(1, 14):
        scan = origin + timedelta(days=84 * occurrence + rng.randint(-10, 7))
        if scan + timedelta(days=3) > today:
            break
        visit = _visit(user=user, patient=patient, code="follow-up", occurrence=occurrence, on=scan + timedelta(days=3))
        if visit is None:
            continue
        progressing = occurrence == progresses_at
        for pk, size in sizes.items():
            factor = shrink if occurrence == 1 else Decimal(rng.choice(["0.97", "1.0", "1.03"]))
            if progressing and not by_new_lesion:
                factor = Decimal("1.5")
            sizes[pk] = max(int(size * factor), 50)
        new = (
            (NewLesionRow("YES", scan, rng.choice(["LIVER", "LUNG", "BONE_RIB"])),)
            if progressing and by_new_lesion
            else ()
        )
        rows = AssessmentRows(
            targets=tuple(TargetRow(t, "MEASURED", sizes[t.pk], scan) for t in targets),
            non_targets=tuple(NonTargetRow(n, "PRESENT", scan) for n in non_targets),
            new_lesions=new,
        )
        computed = _computed(patient, visit, rows)
        investigator = "SD" if computed == "PR" and rng.random() < 0.15 else computed
        tumour_assessment_save(
            user=user,
            patient=patient,
            visit=visit,
            values={"modality": "ct", "investigator_response": investigator},
            rows=rows,
            complete=True,
        )
        if computed == "PD":
            break
    return True
