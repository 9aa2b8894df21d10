"""Demo records of the enrolment and disease CRFs (1, 2, 4, 5, 9, 10, 11) for one demo patient.

Everything goes through ``crf_save`` and ``visit_record`` like the screens, so every record passes its edit checks
and has an audit trail. The story follows the patient's state as ``patients.demo`` planned it: a screening patient
has a checklist in progress; a screen failure a complete, not-eligible checklist; an enrolled patient a confirmed
checklist, tumour biology, the therapy history, the registration / randomisation and, for some, a clinical
progression (AVATAR II: with the strategy failure it caused) and the next line of therapy.

Only a site investigator may confirm eligibility: without one at the patient's site the checklist stays
unconfirmed and the registration / randomisation form a draft (the patient's enrolment date is already set by
``patients.demo``). Idempotent: a patient who already has an eligibility form is skipped.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from django.db import transaction

from trials.models import Role, User, VisitKind

from .crf import CaseReportForm
from .crfs.disease import (
    BestResponse,
    ClinicalProgression,
    ProgressionType,
    ReasonStopped,
    StrategyFailure,
    StrategyFailureReason,
    StrategyManagement,
    SubsequentTherapy,
    SystemicTherapyLine,
    TumourBiology,
)
from .crfs.enrolment import EndocrinePartner, OligoLesionsStratum, eligibility_model_for, enrolment_model_for
from .models import Patient, PatientStatus, Visit, VisitStatus
from .services.crfs import crf_save
from .services.enrolment import enrolment_patient_sync, investigator_confirm
from .services.visits import visit_record

DEMO_REASON = "Demo data"
CDK46 = ("agent_palbociclib", "agent_ribociclib", "agent_abemaciclib")


def _visit(patient: Patient, user: Any, kind: str, on: date) -> Visit:
    definition = patient.trial.visit_definitions.get(kind=kind)
    existing: Visit | None = Visit.objects.filter(patient=patient, definition=definition, occurrence=1).first()
    if existing is not None:
        return existing
    return visit_record(
        user=user, patient=patient, definition=definition, occurrence=1, status=VisitStatus.DONE, visit_date=on
    )


def _investigator(patient: Patient, user: Any) -> Any:
    if user.role == Role.INVESTIGATOR:
        return user
    return (
        User.objects.filter(role=Role.INVESTIGATOR, is_active=True, memberships__site_id=patient.site_id)
        .order_by("pk")
        .first()
    )


def _save(user: Any, model: type[CaseReportForm], patient: Patient, values: dict[str, Any], **kwargs: Any) -> Any:
    kwargs.setdefault("complete", True)
    return crf_save(user=user, model=model, patient=patient, values=values, reason=DEMO_REASON, **kwargs)


def _biology(rng: random.Random, trial_code: str) -> dict[str, Any]:
    """Receptor results: AVATAR II patients are ER+/HER2−; COSMO has every subtype."""
    roll = rng.random()
    if trial_code == "avatar2" or roll < 0.7:
        ihc = rng.choice(["0", "1+", "1+", "2+"])
        return {
            "er_percent": rng.choice([60, 80, 90, 95, 100]) if rng.random() > 0.05 else rng.randint(1, 10),
            "pr_percent": rng.choice([0, 5, 20, 50, 80]),
            "her2_ihc": ihc,
            "ish": "not_amplified" if ihc == "2+" else "not_done",
        }
    if roll < 0.85:
        return {
            "er_percent": rng.choice([0, 70, 90]),
            "pr_percent": rng.choice([0, 10]),
            "her2_ihc": "3+",
            "ish": "not_done",
        }
    return {"er_percent": 0, "pr_percent": 0, "her2_ihc": rng.choice(["0", "1+"]), "ish": "not_done"}


def _regimen(rng: random.Random, biology: dict[str, Any], line: int) -> dict[str, Any]:
    her2_positive = biology["her2_ihc"] == "3+"
    hormone_positive = biology["er_percent"] >= 1 or biology["pr_percent"] >= 1
    if her2_positive:
        return {
            "agent_chemotherapy": True,
            "agent_targeted": True,
            "agent_details": "docetaxel, trastuzumab, pertuzumab",
        }
    if not hormone_positive:
        return {"agent_chemotherapy": True, "agent_details": rng.choice(["paclitaxel", "capecitabine"])}
    endocrine = "agent_aromatase_inhibitor" if line == 1 and rng.random() < 0.75 else "agent_fulvestrant"
    return {endocrine: True, rng.choice(CDK46): True}


@transaction.atomic
def seed_enrolment_disease(*, patient: Patient, user: Any, rng: random.Random, today: date) -> bool:
    """Create the demo records of one patient; ``False`` when the patient already has them (nothing is written)."""
    trial_code = patient.trial.code
    eligibility_model = eligibility_model_for(trial_code)
    enrolment_model = enrolment_model_for(trial_code)
    if eligibility_model is None or enrolment_model is None:
        return False
    if eligibility_model.objects.filter(patient=patient).exists():
        return False
    investigator = _investigator(patient, user)
    consent = patient.consent_date
    screening = _visit(patient, user, VisitKind.SCREENING, consent)
    enrolled = patient.enrolment_date is not None

    # Tumour biology and therapy history (dates before consent).
    biology = _biology(rng, trial_code)
    lines = 1 if trial_code == "avatar2" or rng.random() < 0.6 else 2
    current_start = consent - timedelta(days=rng.randint(200, 720))
    first_start = current_start - timedelta(days=rng.randint(240, 600)) if lines == 2 else current_start
    metastatic_date = first_start - timedelta(days=rng.randint(7, 35))
    primary_date = metastatic_date - timedelta(days=rng.randint(400, 3000))
    _save(
        user, TumourBiology, patient, {"specimen": "primary", "specimen_date": primary_date, **biology}, visit=screening
    )
    if rng.random() < 0.6:
        _save(
            user,
            TumourBiology,
            patient,
            {"specimen": "metastatic", "specimen_date": metastatic_date, **biology},
            visit=screening,
        )

    # On-study events, decided now so the running line is saved once with its stop.
    progression_date: date | None = None
    if enrolled and patient.enrolment_date is not None:
        followed = (today - patient.enrolment_date).days
        if followed >= 120 and rng.random() < 0.35:
            progression_date = patient.enrolment_date + timedelta(days=rng.randint(60, min(followed - 30, 540)))

    if lines == 2:
        stop = current_start - timedelta(days=rng.randint(1, 14))
        _save(
            user,
            SystemicTherapyLine,
            patient,
            {
                "line_number": 1,
                **_regimen(rng, biology, 1),
                "start_date": first_start,
                "stop_date": stop,
                "reason_stopped": ReasonStopped.PROGRESSION,
                "best_response": rng.choice([BestResponse.PR, BestResponse.SD]),
            },
        )
    current = _regimen(rng, biology, lines)
    ends: dict[str, Any] = {}
    if progression_date is not None:  # the progression ends the running line (AVATAR II: the strategy fails)
        ends = {"stop_date": progression_date, "reason_stopped": ReasonStopped.PROGRESSION}
    running = _save(
        user,
        SystemicTherapyLine,
        patient,
        {
            "line_number": lines,
            **current,
            "start_date": current_start,
            "best_response": rng.choice([BestResponse.PR, BestResponse.SD, BestResponse.SD]),
            **ends,
        },
    )

    # Eligibility: what the patient's state says.
    values: dict[str, Any] = {name: True for name in eligibility_model.INCLUSION}
    values |= {name: False for name in eligibility_model.EXCLUSION}
    if patient.status == PatientStatus.SCREEN_FAILED:
        failed = rng.choice(eligibility_model.INCLUSION)
        values[failed] = False
        label = getattr(eligibility_model._meta.get_field(failed), "verbose_name", failed)
        values["screen_failure_reason"] = f"Criterion not met: {label}."
    decided = enrolled or patient.status == PatientStatus.SCREEN_FAILED
    if not decided:  # still in screening: the checklist is half done
        for name in rng.sample(list(values), k=len(values) // 2):
            values[name] = None
    checklist = _save(user, eligibility_model, patient, values, visit=screening, complete=decided)
    if decided and investigator is not None:
        investigator_confirm(user=investigator, record=checklist)
    if not enrolled or patient.enrolment_date is None:
        return True

    # Registration / randomisation on the enrolment date the patient already has.
    enrolment_visit = _visit(patient, user, VisitKind.ENROLMENT, patient.enrolment_date)
    enrolment: dict[str, Any] = {str(enrolment_model.crf.date_field): patient.enrolment_date}
    if trial_code == "avatar2":
        partner = running.endocrine_partner() or EndocrinePartner.AROMATASE_INHIBITOR
        stratum = OligoLesionsStratum.ONE if rng.random() < 0.6 else OligoLesionsStratum.TWO_TO_FIVE
        enrolment |= {"endocrine_partner": partner, "oligo_lesions": stratum}
    _save(
        user,
        enrolment_model,
        patient,
        enrolment,
        visit=enrolment_visit,
        complete=investigator is not None,
        save_children=lambda record: enrolment_patient_sync(record=record, user=user),
    )

    if progression_date is None:
        return True
    progression = _save(
        user,
        ClinicalProgression,
        patient,
        {
            "progression_date": progression_date,
            "description": rng.choice(
                [
                    "New bone pain in the lumbar spine with rising alkaline phosphatase.",
                    "Palpable enlarging axillary nodes and new skin nodules.",
                    "Increasing dyspnoea; pleural effusion on examination.",
                ]
            ),
        },
    )
    if investigator is not None:
        investigator_confirm(user=investigator, record=progression)
    lesions = rng.randint(1, 3)
    if trial_code == "avatar2":
        _save(
            user,
            StrategyFailure,
            patient,
            {
                "failure_date": progression_date,
                "failure_reason": StrategyFailureReason.SYSTEMIC_CHANGE,
                "progressing_lesions": lesions,
                "progressing_sites": rng.choice(["Liver", "Bone (spine)", "Lung and pleura"]),
                "amenable_to_sabr": False,
                "management": StrategyManagement.SYSTEMIC_CHANGE,
                "linked_clinical_progression": progression,
            },
        )
    next_start = progression_date + timedelta(days=rng.randint(7, 28))
    if next_start > today:
        return True
    later = (today - next_start).days
    progressed = later >= 90 and rng.random() < 0.4
    _save(
        user,
        SubsequentTherapy,
        patient,
        {
            "start_date": next_start,
            "agent_chemotherapy": True,
            "agent_details": rng.choice(["capecitabine", "paclitaxel", "eribulin"]),
            "progression": progressed,
            **(
                {
                    "progression_date": next_start + timedelta(days=rng.randint(60, later)),
                    "progression_type": rng.choice(list(ProgressionType)),
                }
                if progressed
                else {}
            ),
        },
    )
    return True
