"""Demo records for the safety and follow-up CRFs of one patient: adverse events with real CTCAE v5.0 terms, FACT-B
questionnaires, survival status contacts, death and end of study. Called by the demo seeder per patient.

Everything is saved complete through ``crf_save`` (audited, edit-checked, recompute event sent), so a demo record is
exactly what a site would have entered. Re-running is safe: a form the patient already has is not added again.
Adverse events need the CTCAE lookup (``manage.py import_ctcae``, run by ``seed_demo`` on the shared CSV); without
it they are skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from trials.models import VisitKind

from .crf import CaseReportForm
from .crfs.follow_up import (
    ContactMethod,
    Death,
    DeathCause,
    EndOfStudy,
    EndOfStudyReason,
    FactB,
    SurvivalStatusContact,
    VitalStatus,
    WithdrawalDataUse,
    records_after,
)
from .crfs.safety import AdverseEvent, AdverseEventOutcome, CtcaeTerm
from .domain.factb import FACT_B_ITEMS, REVERSE_SCORED_ITEMS
from .models import Patient, PatientStatus, Visit, VisitStatus
from .services import crf_save, visit_record

#: FACT-B in AVATAR II at screening and weeks 12, 24, 36, 48 (follow-up occurrences 1–4).
FACT_B_FOLLOW_UPS = 4


@dataclass(frozen=True)
class DemoAdverseEvent:
    term: str
    grades: tuple[int, ...]
    #: attribution field → level
    attribution: dict[str, str]
    action: str = "none"
    #: seriousness criteria fields ticked
    serious: tuple[str, ...] = ()
    expected: bool = True


ADVERSE_EVENTS: tuple[DemoAdverseEvent, ...] = (
    DemoAdverseEvent(
        "Fatigue", (1, 2), {"attribution_endocrine_therapy": "possible", "attribution_disease": "possible"}
    ),
    DemoAdverseEvent(
        "Neutrophil count decreased",
        (2, 3),
        {"attribution_cdk46_inhibitor": "probable", "attribution_disease": "unlikely"},
        action="interrupted",
    ),
    DemoAdverseEvent("Pneumonitis", (1, 2), {"attribution_sabr": "probable", "attribution_disease": "unlikely"}),
    DemoAdverseEvent(
        "Dermatitis radiation", (1,), {"attribution_sabr": "definite", "attribution_disease": "unrelated"}
    ),
    DemoAdverseEvent(
        "Arthralgia", (1, 2), {"attribution_endocrine_therapy": "probable", "attribution_disease": "unlikely"}
    ),
    DemoAdverseEvent(
        "Hot flashes", (1,), {"attribution_endocrine_therapy": "probable", "attribution_disease": "unrelated"}
    ),
    DemoAdverseEvent("Nausea", (1,), {"attribution_cdk46_inhibitor": "possible", "attribution_disease": "unlikely"}),
    DemoAdverseEvent(
        "Febrile neutropenia",
        (3,),
        {"attribution_cdk46_inhibitor": "probable", "attribution_disease": "unlikely"},
        action="interrupted",
        serious=("serious_hospitalisation",),
    ),
)


def _between(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _save(
    model: type[CaseReportForm], *, patient: Patient, user: Any, values: dict[str, Any], visit: Any = None
) -> Any:
    return crf_save(user=user, model=model, patient=patient, values=values, complete=True, visit=visit)


def _adverse_events(*, patient: Patient, user: Any, rng: random.Random, start: date, end: date) -> int:
    if AdverseEvent.objects.filter(patient=patient).exists() or start >= end:
        return 0
    terms = {t.term: t for t in CtcaeTerm.objects.filter(term__in=[a.term for a in ADVERSE_EVENTS])}
    if not terms:
        return 0
    created = 0
    for plan in rng.sample(ADVERSE_EVENTS, k=rng.randint(1, 3)):
        term = terms.get(plan.term)
        grades = [g for g in plan.grades if term is not None and g in term.available_grades]
        if term is None or not grades:
            continue
        onset = _between(rng, start, end - timedelta(days=1))
        resolved = onset + timedelta(days=rng.randint(5, 45))
        values: dict[str, Any] = {
            "term": term,
            "grade": rng.choice(grades),
            "onset_date": onset,
            "resolution_date": resolved if resolved <= end else None,
            "ongoing": resolved > end,
            "outcome": AdverseEventOutcome.RECOVERED if resolved <= end else AdverseEventOutcome.RECOVERING,
            "action_taken": plan.action,
            "expectedness": "expected" if plan.expected else "unexpected",
            **plan.attribution,
            **dict.fromkeys(plan.serious, True),
        }
        if plan.serious:
            aware = min(onset + timedelta(days=1), end)
            values["site_awareness_date"] = aware
            values["reported_to_sponsor_date"] = min(aware + timedelta(days=rng.choice((0, 1, 1, 2))), end)
        _save(AdverseEvent, patient=patient, user=user, values=values)
        created += 1
    return created


def _answers(rng: random.Random, level: float) -> dict[str, int | None]:
    """Plausible answers around a patient's level (0 = poor, 1 = good); now and then an item is left blank."""
    answers: dict[str, int | None] = {}
    for code in FACT_B_ITEMS:
        if rng.random() < 0.03:
            answers[code.lower()] = None
            continue
        good = min(4, max(0, round(level * 4 + rng.uniform(-1.2, 1.2))))
        # Negatively worded items are answered the other way round (they are reversed when scored).
        answers[code.lower()] = 4 - good if code in REVERSE_SCORED_ITEMS else good
    return answers


def _visit(*, patient: Patient, user: Any, kind: str, occurrence: int, when: date) -> Visit:
    definition = patient.trial.visit_definitions.get(kind=kind)
    existing: Visit | None = Visit.objects.filter(patient=patient, definition=definition, occurrence=occurrence).first()
    if existing is not None:
        return existing
    recorded: Visit = visit_record(
        user=user, patient=patient, definition=definition, occurrence=occurrence, status="done", visit_date=when
    )
    return recorded


def _fact_b(*, patient: Patient, user: Any, rng: random.Random, end: date) -> int:
    origin = patient.enrolment_date
    if origin is None or (patient.trial.code == "cosmo" and patient.sequence % 2):
        return 0  # optional in COSMO: done for half the patients (by number, so a re-run decides the same)
    level = rng.uniform(0.45, 0.85)
    planned = [(VisitKind.SCREENING, 1, max(patient.consent_date, origin - timedelta(days=rng.randint(1, 14))))]
    planned += [(VisitKind.FOLLOW_UP, k, origin + timedelta(days=84 * k + rng.randint(-7, 7))) for k in range(1, 5)]
    created = 0
    for kind, occurrence, when in planned:
        if when > end:
            break
        visit = _visit(patient=patient, user=user, kind=kind, occurrence=occurrence, when=when)
        if visit.status != VisitStatus.DONE or FactB.objects.filter(patient=patient, visit=visit).exists():
            continue
        level = min(1.0, max(0.0, level + rng.uniform(-0.1, 0.05)))
        values = {"completion_date": visit.visit_date, **_answers(rng, level)}
        _save(FactB, patient=patient, user=user, values=values, visit=visit)
        created += 1
    return created


def _death(*, patient: Patient, user: Any, rng: random.Random, start: date, today: date) -> tuple[Death | None, int]:
    existing = Death.objects.filter(patient=patient).first()
    if existing is not None or patient.status != PatientStatus.DIED:
        return existing, 0
    death_date = _between(rng, min(start + timedelta(days=60), today), today)
    # Records other demo seeders made must not follow the death: move it after the latest of them.
    while (later := records_after(patient=patient, when=death_date)) and death_date < today:
        death_date = min(today, death_date + timedelta(days=7))
    if later:
        return None, 0
    values = {"death_date": death_date, "primary_cause": DeathCause.DISEASE}
    return _save(Death, patient=patient, user=user, values=values), 1


def _end_of_study(*, patient: Patient, user: Any, rng: random.Random, death: Death | None, end: date) -> int:
    if EndOfStudy.objects.filter(patient=patient).exists():
        return 0
    if death is not None:
        values: dict[str, Any] = {"end_date": death.death_date, "end_reason": EndOfStudyReason.DEATH}
    elif patient.status == PatientStatus.OFF_STUDY:
        values = {"end_date": end}
        if rng.random() < 0.6:
            values |= {
                "end_reason": EndOfStudyReason.WITHDREW_CONSENT,
                "withdrawal_data_use": WithdrawalDataUse.RECORDS,
            }
        else:
            values |= {"end_reason": EndOfStudyReason.INVESTIGATOR_DECISION, "details": "Declining performance status."}
    else:
        return 0
    _save(EndOfStudy, patient=patient, user=user, values=values)
    return 1


def _survival_status(
    *, patient: Patient, user: Any, rng: random.Random, death: Death | None, end: date, today: date
) -> int:
    if SurvivalStatusContact.objects.filter(patient=patient).exists():
        return 0
    if death is not None:
        values: dict[str, Any] = {
            "contact_date": min(today, (death.death_date or today) + timedelta(days=rng.randint(1, 14))),
            "vital_status": VitalStatus.DEAD,
            "method": ContactMethod.RECORDS,
        }
    else:
        values = {
            "contact_date": _between(rng, max(patient.consent_date, end - timedelta(days=30)), end),
            "vital_status": VitalStatus.ALIVE,
            "method": rng.choice((ContactMethod.PHONE, ContactMethod.VISIT)),
        }
    _save(SurvivalStatusContact, patient=patient, user=user, values=values)
    return 1


def seed_safety_follow_up(*, patient: Patient, user: Any, rng: random.Random, today: date) -> dict[str, int]:
    """Complete safety and follow-up records for one enrolled demo patient; returns how many of each were added.

    ``user`` must be allowed to edit the patient's site. Patients not enrolled (or enrolled after ``today``) get
    nothing. Those who died get a death, a survival contact learning of it and an end of study; those off study an
    end of study (withdrawal or investigator decision); everyone else a recent "alive" contact.
    """
    added = dict.fromkeys(("adverse_events", "fact_b", "survival_status", "death", "end_of_study"), 0)
    origin = patient.enrolment_date
    if origin is None or patient.status in (PatientStatus.SCREENING, PatientStatus.SCREEN_FAILED) or origin > today:
        return added
    death, added["death"] = _death(patient=patient, user=user, rng=rng, start=origin, today=today)
    end = death.death_date if death is not None and death.death_date else today
    if death is None and patient.status == PatientStatus.OFF_STUDY:
        finished = EndOfStudy.objects.filter(patient=patient).values_list("end_date", flat=True).first()
        end = finished or _between(rng, min(origin + timedelta(days=60), today), today)
    added["adverse_events"] = _adverse_events(
        patient=patient, user=user, rng=rng, start=origin + timedelta(days=7), end=end
    )
    added["fact_b"] = _fact_b(patient=patient, user=user, rng=rng, end=end)
    added["survival_status"] = _survival_status(patient=patient, user=user, rng=rng, death=death, end=end, today=today)
    added["end_of_study"] = _end_of_study(patient=patient, user=user, rng=rng, death=death, end=end)
    return added
