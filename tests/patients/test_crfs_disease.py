"""Disease CRFs: tumour biology (4), therapy lines (5), clinical progression (9), strategy failure (10), subsequent
therapy (11). Every edit check with input it must refuse, the good path, drafts, derived values, trial restriction."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients import services
from patients.crfs.disease import Her2IhcScore, IshResult, SpecimenType
from patients.demo_enrolment_disease import seed_enrolment_disease
from patients.domain.subtype import Her2Ihc, Ish, Specimen
from patients.models import (
    AvatarEligibility,
    ClinicalProgression,
    CosmoEligibility,
    Patient,
    Query,
    Randomisation,
    Registration,
    StrategyFailure,
    SubsequentTherapy,
    SystemicTherapyLine,
    TumourBiology,
    Visit,
)
from patients.services.enrolment import investigator_confirm
from trials.models import AnalysisSettings, Role

from ..conftest import Cast
from ..factories import PatientFactory

TOMORROW = date.today() + timedelta(days=1)
ENROLLED = date(2025, 3, 24)  # patient_a's randomisation date (tests/conftest.py)

GOOD: dict[Any, dict[str, Any]] = {
    TumourBiology: {
        "specimen": "metastatic",
        "specimen_date": date(2025, 2, 10),
        "er_percent": 90,
        "pr_percent": 40,
        "her2_ihc": "1+",
        "ish": "not_done",
    },
    SystemicTherapyLine: {
        "line_number": 1,
        "agent_aromatase_inhibitor": True,
        "agent_palbociclib": True,
        "start_date": date(2024, 6, 3),
        "best_response": "PR",
    },
    ClinicalProgression: {"progression_date": date(2025, 9, 1), "description": "New bone pain, rising ALP."},
    StrategyFailure: {
        "failure_date": date(2025, 9, 1),
        "failure_reason": "systemic_change",
        "progressing_lesions": 2,
        "progressing_sites": "Liver",
        "amenable_to_sabr": False,
        "management": "systemic_change",
        "linked_assessment_id": 17,
    },
    SubsequentTherapy: {
        "start_date": date(2025, 9, 20),
        "agent_chemotherapy": True,
        "agent_details": "capecitabine",
        "progression": False,
    },
}


@pytest.fixture
def screening(cast: Cast) -> Patient:
    return PatientFactory(trial=cast.avatar2, site=cast.site_a, sequence=2, enrolment_date=None, status="screening")


@pytest.fixture
def cosmo(cast: Cast) -> Patient:
    return PatientFactory(trial=cast.cosmo, site=cast.site_a, sequence=1, enrolment_date=date(2025, 3, 20))


def screening_visit(patient: Patient, user: Any) -> Visit:
    definition = patient.trial.visit_definitions.get(code="screening")
    existing = Visit.objects.filter(patient=patient, definition=definition).first()
    return existing or services.visit_record(
        user=user, patient=patient, definition=definition, occurrence=1, status="done", visit_date=date(2025, 3, 3)
    )


def save(
    user: Any,
    model: Any,
    patient: Patient,
    complete: bool = True,
    instance: Any = None,
    reason: str = "",
    **values: Any,
) -> Any:
    visit = screening_visit(patient, user) if model.crf.visit_kinds and instance is None else None
    return services.crf_save(
        user=user,
        model=model,
        patient=patient,
        visit=visit,
        instance=instance,
        values={**(GOOD[model] if instance is None else {}), **values},
        complete=complete,
        reason=reason,
    )


def refused(user: Any, model: Any, patient: Patient, complete: bool = True, **values: Any) -> dict[str, list[str]]:
    before = model.objects.count()
    with pytest.raises(ValidationError) as raised:
        save(user, model, patient, complete=complete, **values)
    assert model.objects.count() == before
    return raised.value.message_dict


# Every single-record edit check: bad input saves nothing and names the field ---------------------------------------

CHECKS = [
    ("ER above 100 %", TumourBiology, {"er_percent": 101}, "er_percent"),
    ("PR above 100 %", TumourBiology, {"pr_percent": 150}, "pr_percent"),
    ("specimen date in the future", TumourBiology, {"specimen_date": TOMORROW}, "specimen_date"),
    ("line number 0", SystemicTherapyLine, {"line_number": 0}, "line_number"),
    (
        "a line without an agent",
        SystemicTherapyLine,
        {"agent_aromatase_inhibitor": False, "agent_palbociclib": False},
        "agent_aromatase_inhibitor",
    ),
    ("an unnamed other agent", SystemicTherapyLine, {"agent_other": True}, "agent_details"),
    ("a line starting in the future", SystemicTherapyLine, {"start_date": TOMORROW}, "start_date"),
    (
        "a line stopping in the future",
        SystemicTherapyLine,
        {"stop_date": TOMORROW, "reason_stopped": "toxicity"},
        "stop_date",
    ),
    (
        "a line stopping before it started",
        SystemicTherapyLine,
        {"stop_date": date(2024, 6, 2), "reason_stopped": "toxicity"},
        "stop_date",
    ),
    ("a stopped line without a reason", SystemicTherapyLine, {"stop_date": date(2025, 1, 6)}, "reason_stopped"),
    ("a reason stopped without a stop date", SystemicTherapyLine, {"reason_stopped": "toxicity"}, "stop_date"),
    (
        "an unspecified other reason stopped",
        SystemicTherapyLine,
        {"stop_date": date(2025, 1, 6), "reason_stopped": "other"},
        "reason_stopped_specify",
    ),
    (
        "protocol therapy before randomisation",
        SystemicTherapyLine,
        {"protocol_therapy": True, "start_date": ENROLLED - timedelta(days=1)},
        "start_date",
    ),
    ("clinical progression in the future", ClinicalProgression, {"progression_date": TOMORROW}, "progression_date"),
    (
        "clinical progression before enrolment",
        ClinicalProgression,
        {"progression_date": ENROLLED - timedelta(days=1)},
        "progression_date",
    ),
    ("strategy failure in the future", StrategyFailure, {"failure_date": TOMORROW}, "failure_date"),
    (
        "strategy failure before randomisation",
        StrategyFailure,
        {"failure_date": ENROLLED - timedelta(days=1)},
        "failure_date",
    ),
    ("no progressing lesion", StrategyFailure, {"progressing_lesions": 0}, "progressing_lesions"),
    (
        "'more than N lesions' with N lesions",
        StrategyFailure,
        {"failure_reason": "too_many_lesions", "progressing_lesions": 5},
        "progressing_lesions",
    ),
    ("an unspecified other reason of failure", StrategyFailure, {"failure_reason": "other"}, "failure_reason_specify"),
    (
        "not amenable to SABR, marked amenable",
        StrategyFailure,
        {"failure_reason": "not_amenable", "amenable_to_sabr": True},
        "amenable_to_sabr",
    ),
    ("next line starting in the future", SubsequentTherapy, {"start_date": TOMORROW}, "start_date"),
    ("next line before enrolment", SubsequentTherapy, {"start_date": ENROLLED - timedelta(days=1)}, "start_date"),
    (
        "next line without an agent",
        SubsequentTherapy,
        {"agent_chemotherapy": False, "agent_details": ""},
        "agent_aromatase_inhibitor",
    ),
    (
        "next line with an unnamed other agent",
        SubsequentTherapy,
        {"agent_chemotherapy": False, "agent_other": True, "agent_details": ""},
        "agent_details",
    ),
    (
        "progression without its date",
        SubsequentTherapy,
        {"progression": True, "progression_type": "clinical"},
        "progression_date",
    ),
    (
        "progression without its type",
        SubsequentTherapy,
        {"progression": True, "progression_date": date(2025, 11, 3)},
        "progression_type",
    ),
    (
        "a progression date without progression",
        SubsequentTherapy,
        {"progression_date": date(2025, 11, 3)},
        "progression_date",
    ),
    ("a progression type without progression", SubsequentTherapy, {"progression_type": "clinical"}, "progression_type"),
    (
        "progression before the line started",
        SubsequentTherapy,
        {"progression": True, "progression_date": date(2025, 9, 19), "progression_type": "clinical"},
        "progression_date",
    ),
    (
        "progression in the future",
        SubsequentTherapy,
        {"progression": True, "progression_date": TOMORROW, "progression_type": "radiological"},
        "progression_date",
    ),
]


@pytest.mark.parametrize(("model", "values", "field"), [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS])
def test_an_edit_check_refuses_the_record_and_names_the_field(
    cast: Cast, coordinator: Any, model: Any, values: dict[str, Any], field: str
) -> None:
    errors = refused(coordinator, model, cast.patient_a, **values)
    assert set(errors) == {field}, errors


@pytest.mark.parametrize(
    "model", [TumourBiology, SystemicTherapyLine, ClinicalProgression, StrategyFailure, SubsequentTherapy]
)
def test_the_good_record_saves_complete(cast: Cast, coordinator: Any, model: Any) -> None:
    record = save(coordinator, model, cast.patient_a)
    assert model.objects.get().status == "complete"
    assert record.summary() and record.derived_values()
    assert not Query.objects.exists()


@pytest.mark.parametrize(
    ("model", "date_field"),
    [(ClinicalProgression, "progression_date"), (StrategyFailure, "failure_date"), (SubsequentTherapy, "start_date")],
)
def test_an_on_study_event_needs_an_enrolled_patient(
    cast: Cast, coordinator: Any, screening: Patient, model: Any, date_field: str
) -> None:
    errors = refused(coordinator, model, screening, complete=False)
    assert errors == {date_field: [f"{model.crf.name} is an on-study event: register or randomise the patient first."]}


@pytest.mark.parametrize(
    ("model", "missing"),
    [
        (TumourBiology, {"specimen", "specimen_date", "er_percent", "pr_percent", "her2_ihc", "ish"}),
        (SystemicTherapyLine, {"line_number", "start_date", "best_response"}),
        (ClinicalProgression, {"progression_date", "description"}),
        (StrategyFailure, {"failure_date", "failure_reason", "progressing_lesions", "amenable_to_sabr", "management"}),
        (SubsequentTherapy, {"start_date", "progression"}),
    ],
)
def test_a_draft_saves_half_filled_and_completing_names_what_is_missing(
    cast: Cast, coordinator: Any, model: Any, missing: set[str]
) -> None:
    blank = {name: None if model._meta.get_field(name).null else "" for name in missing}
    draft = save(coordinator, model, cast.patient_a, complete=False, **blank)
    assert draft.status == "draft"
    with pytest.raises(ValidationError) as raised:
        save(coordinator, model, cast.patient_a, instance=draft, reason="Completing", complete=True)
    assert missing <= set(raised.value.message_dict)
    assert model.objects.get().status == "draft"


# CRF 4: tumour biology ------------------------------------------------------------------------------------------


def test_the_choice_codes_are_the_subtype_engines() -> None:
    assert set(SpecimenType.values) == {s.value for s in Specimen}
    assert set(Her2IhcScore.values) == {s.value for s in Her2Ihc}
    assert set(IshResult.values) == {s.value for s in Ish}


def test_the_subtype_is_derived_for_the_specimen_and_the_patient(cast: Cast, coordinator: Any) -> None:
    save(coordinator, TumourBiology, cast.patient_a, specimen="primary", specimen_date=date(2019, 5, 2), her2_ihc="3+")
    record = save(coordinator, TumourBiology, cast.patient_a, er_percent=8, pr_percent=0)
    assert dict(record.derived_values()) == {
        "Subtype of this specimen": "HR+/HER2−",
        "HER2": "negative",
        "ER-low (1–10 %)": "Yes",
        "Patient's subtype (D19)": "HR+/HER2− · ER-low",  # the metastatic biopsy wins over the HER2+ primary
    }
    assert record.summary() == "Metastatic biopsy 2025-02-10: HR+/HER2−"
    assert TumourBiology.patient_subtype(cast.patient_a.pk).subtype == "hr_positive_her2_negative"


def test_the_subtype_is_shown_live_while_typing(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_preview", kwargs={"subject_id": cast.patient_a.subject_id, "code": "tumour-biology"})
    data = {**GOOD[TumourBiology], "specimen_date": "2025-02-10", "er_percent": 0, "pr_percent": 0, "her2_ihc": "0"}
    derived = dict(client.post(url, data).context["derived"])
    assert derived["Subtype of this specimen"] == "Triple negative"


def test_ihc_2_plus_without_ish_completes_with_a_query_on_ish(cast: Cast, coordinator: Any) -> None:
    draft = save(coordinator, TumourBiology, cast.patient_a, complete=False, her2_ihc="2+", ish="not_done")
    assert not Query.objects.exists()  # warnings raise queries on completion only
    record = save(coordinator, TumourBiology, cast.patient_a, instance=draft, reason="Complete", complete=True)
    query = Query.objects.get(object_id=record.pk)
    assert (query.field_name, query.check_code, query.status) == ("ish", "check:her2_equivocal_without_ish", "open")
    assert dict(record.derived_values())["Why undetermined"].startswith("HER2 IHC 2+ (equivocal) without an ISH")
    save(coordinator, TumourBiology, cast.patient_a, instance=record, reason="ISH result received", ish="not_amplified")
    assert Query.objects.get().status == "closed"


def test_two_same_day_biopsies_in_different_groups_raise_a_query(cast: Cast, coordinator: Any) -> None:
    save(coordinator, TumourBiology, cast.patient_a, her2_ihc="3+")
    second = save(coordinator, TumourBiology, cast.patient_a)
    query = Query.objects.get(object_id=second.pk)
    assert (query.field_name, query.check_code) == ("specimen_date", "check:subtype_conflict_same_day")
    assert TumourBiology.patient_subtype(cast.patient_a.pk).subtype == "undetermined"


# CRF 5: systemic therapy lines ----------------------------------------------------------------------------------


def test_agents_are_queryable_and_give_the_endocrine_partner(cast: Cast, coordinator: Any) -> None:
    record = save(
        coordinator, SystemicTherapyLine, cast.patient_a, stop_date=date(2025, 3, 20), reason_stopped="progression"
    )
    assert SystemicTherapyLine.objects.filter(agent_palbociclib=True).get() == record
    assert record.summary() == "Line 1: aromatase inhibitor + palbociclib, 2024-06-03 to 2025-03-20"
    assert dict(record.derived_values()) == {
        "Regimen": "aromatase inhibitor + palbociclib",
        "CDK4/6 inhibitor": "Yes",
        "Endocrine partner (AVATAR II stratum)": "Aromatase inhibitor",
        "Duration (days)": 291,
    }


def test_line_numbers_are_unique_per_patient(cast: Cast, coordinator: Any) -> None:
    save(coordinator, SystemicTherapyLine, cast.patient_a)
    errors = refused(coordinator, SystemicTherapyLine, cast.patient_a, start_date=date(2025, 1, 6))
    assert errors == {"line_number": ["This patient already has a line 1."]}
    other = PatientFactory(trial=cast.avatar2, site=cast.site_a, sequence=3)
    assert save(coordinator, SystemicTherapyLine, other).line_number == 1


def test_protocol_therapy_is_for_randomised_avatar_patients_only(
    cast: Cast, coordinator: Any, screening: Patient, cosmo: Patient
) -> None:
    assert refused(coordinator, SystemicTherapyLine, cosmo, protocol_therapy=True) == {
        "protocol_therapy": ["Only AVATAR II has protocol systemic therapy (arm B, physician's choice)."]
    }
    assert refused(coordinator, SystemicTherapyLine, screening, protocol_therapy=True) == {
        "protocol_therapy": ["Protocol therapy starts at randomisation: randomise first."]
    }
    line = save(coordinator, SystemicTherapyLine, cast.patient_a, protocol_therapy=True, start_date=ENROLLED)
    assert line.protocol_therapy


def test_the_therapy_form_groups_the_agents_and_saves_them(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "systemic-therapy"})
    assert b"Agents (tick every agent of the line)" in client.get(url).content
    data = {"line_number": 1, "agent_fulvestrant": "on", "agent_ribociclib": "on", "start_date": "2024-06-03"}
    response = client.post(url, {**data, "best_response": "SD", "complete": "1"})
    assert response.status_code == 302
    line = SystemicTherapyLine.objects.get()
    assert (line.agent_fulvestrant, line.agent_ribociclib, line.agent_aromatase_inhibitor) == (True, True, False)
    assert line.endocrine_partner() == "serd"


# CRF 9: clinical progression ------------------------------------------------------------------------------------


def test_clinical_progression_is_confirmed_by_the_investigator(cast: Cast, coordinator: Any) -> None:
    record = save(coordinator, ClinicalProgression, cast.patient_a)
    assert dict(record.derived_values()) == {
        "Investigator": "Not yet confirmed by the site investigator",
        "Days from enrolment (AVAL, D2)": 162,
    }
    with pytest.raises(ValidationError, match="Only a site investigator"):
        investigator_confirm(user=coordinator, record=record)
    investigator_confirm(user=cast.user(Role.INVESTIGATOR), record=record)
    assert ClinicalProgression.objects.get().confirmed_by == cast.user(Role.INVESTIGATOR)
    assert record.summary() == "2025-09-01: New bone pain, rising ALP. (confirmed)"


# CRF 10: strategy failure ---------------------------------------------------------------------------------------


def test_strategy_failure_is_an_avatar_form(cast: Cast, coordinator: Any, cosmo: Patient) -> None:
    with pytest.raises(ValidationError, match="not a form of COSMO"):
        save(coordinator, StrategyFailure, cosmo)
    assert not StrategyFailure.objects.exists()


def test_the_failure_date_is_the_linked_progressions_date(cast: Cast, coordinator: Any) -> None:
    progression = save(coordinator, ClinicalProgression, cast.patient_a)
    errors = refused(
        coordinator,
        StrategyFailure,
        cast.patient_a,
        failure_date=date(2025, 9, 8),
        linked_clinical_progression=progression,
    )
    assert errors == {
        "failure_date": ["The strategy-failure date must be the date of the linked clinical progression (2025-09-01)."]
    }
    record = save(
        coordinator, StrategyFailure, cast.patient_a, linked_clinical_progression=progression, linked_assessment_id=None
    )
    assert dict(record.derived_values()) == {
        "TSF (days, AVAL = date − randomisation + 1)": 162,
        "Progression": "oligoprogression (2 lesions; maximum 5)",
    }
    assert not Query.objects.exists()


def test_only_the_patients_own_clinical_progression_can_be_linked(cast: Cast, coordinator: Any) -> None:
    other = PatientFactory(trial=cast.avatar2, site=cast.site_a, sequence=3)
    theirs = save(coordinator, ClinicalProgression, other)
    errors = refused(coordinator, StrategyFailure, cast.patient_a, linked_clinical_progression=theirs)
    assert errors == {"linked_clinical_progression": ["Link a clinical progression of this patient."]}


def test_the_form_offers_only_the_patients_own_progressions(client: Any, cast: Cast, coordinator: Any) -> None:
    mine = save(coordinator, ClinicalProgression, cast.patient_a)
    save(coordinator, ClinicalProgression, PatientFactory(trial=cast.avatar2, site=cast.site_a, sequence=3))
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "strategy-failure"})
    offered = client.get(url).context["form"].fields["linked_clinical_progression"].queryset
    assert list(offered) == [mine]


def test_more_than_n_lesions_follows_the_trials_analysis_setting(cast: Cast, coordinator: Any) -> None:
    assert save(
        coordinator, StrategyFailure, cast.patient_a, failure_reason="too_many_lesions", progressing_lesions=6
    ).pk
    StrategyFailure.objects.all().delete()
    current = cast.avatar2.analysis_settings.get()
    values = {f: getattr(current, f) for f in AnalysisSettings.setting_fields()} | {"max_oligo_lesions": 3}
    AnalysisSettings.objects.create(trial=cast.avatar2, version=2, reason="Protocol amendment", **values)
    assert save(
        coordinator, StrategyFailure, cast.patient_a, failure_reason="too_many_lesions", progressing_lesions=4
    ).pk
    StrategyFailure.objects.all().delete()
    errors = refused(
        coordinator, StrategyFailure, cast.patient_a, failure_reason="too_many_lesions", progressing_lesions=3
    )
    assert errors == {
        "progressing_lesions": [
            "This reason needs more than 3 progressing lesions (the trial's maximum for oligoprogression)."
        ]
    }


def test_the_strategy_fails_once(cast: Cast, coordinator: Any) -> None:
    save(coordinator, StrategyFailure, cast.patient_a)
    errors = refused(coordinator, StrategyFailure, cast.patient_a, failure_date=date(2025, 10, 6))
    assert list(errors) == ["failure_date"]
    assert "already has a Strategy failure form" in errors["failure_date"][0]


def test_an_unlinked_strategy_failure_raises_a_query(cast: Cast, coordinator: Any) -> None:
    record = save(coordinator, StrategyFailure, cast.patient_a, linked_assessment_id=None)
    query = Query.objects.get(object_id=record.pk)
    assert (query.field_name, query.check_code) == ("linked_clinical_progression", "check:tsf_unlinked")


# CRF 11: subsequent therapy -------------------------------------------------------------------------------------


def test_progression_on_the_next_line_is_recorded_with_its_date_and_kind(cast: Cast, coordinator: Any) -> None:
    record = save(
        coordinator,
        SubsequentTherapy,
        cast.patient_a,
        progression=True,
        progression_date=date(2025, 12, 1),
        progression_type="radiological",
    )
    assert record.summary() == "2025-09-20: chemotherapy (capecitabine); progression 2025-12-01"
    assert dict(record.derived_values()) == {
        "Regimen": "chemotherapy (capecitabine)",
        "Days on this line to progression": 73,
    }


# Entry screens and demo -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["tumour-biology", "systemic-therapy", "clinical-progression", "strategy-failure", "subsequent-therapy"]
)
def test_the_entry_screens_show_the_forms(client: Any, cast: Cast, coordinator: Any, code: str) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": code})
    if code == "tumour-biology":
        url += f"?visit={screening_visit(cast.patient_a, coordinator).pk}"
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("trial_code", ["avatar2", "cosmo"])
def test_the_demo_records_pass_their_checks_and_are_seeded_once(cast: Cast, coordinator: Any, trial_code: str) -> None:
    today = date.today()
    trial = cast.avatar2 if trial_code == "avatar2" else cast.cosmo
    consents = [date(2024, 1, 8) + timedelta(days=40 * n) for n in range(8)]
    patients = [
        PatientFactory(trial=trial, site=cast.site_a, sequence=10 + n, consent_date=c, enrolment_date=c + timedelta(21))
        for n, c in enumerate(consents)
    ]
    for sequence, status in [(30, "screening"), (31, "screen_failed")]:
        patients.append(
            PatientFactory(trial=trial, site=cast.site_a, sequence=sequence, enrolment_date=None, status=status)
        )
    for patient in patients:
        assert seed_enrolment_disease(patient=patient, user=coordinator, rng=random.Random(patient.pk), today=today)
    eligibility = AvatarEligibility if trial_code == "avatar2" else CosmoEligibility
    enrolment = Randomisation if trial_code == "avatar2" else Registration
    assert eligibility.objects.filter(eligible=True, confirmed_by__isnull=False).count() == 8
    assert eligibility.objects.filter(eligible=False, status="complete").count() == 1
    assert enrolment.objects.filter(status="complete").count() == 8
    assert TumourBiology.objects.filter(patient__in=patients).exists()
    assert not Query.objects.exists()
    counts = {m: m.objects.count() for m in (eligibility, TumourBiology, SystemicTherapyLine, ClinicalProgression)}
    assert not seed_enrolment_disease(patient=patients[0], user=coordinator, rng=random.Random(1), today=today)
    assert counts == {m: m.objects.count() for m in counts}
