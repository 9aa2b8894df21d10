"""CRFs 14–17: FACT-B scoring on the form, survival status, death (nothing may follow it) and end of study; every
edit check refuses bad input and saves nothing; and the demo seeder for these forms."""

from __future__ import annotations

import random
from datetime import date, timedelta
from itertools import chain
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from patients import services
from patients.crf import CaseReportForm
from patients.crfs.follow_up import _as_date
from patients.demo_safety_follow_up import seed_safety_follow_up
from patients.domain.factb import FACT_B_ITEMS
from patients.models import (
    AdverseEvent,
    CtcaeTerm,
    Death,
    EndOfStudy,
    FactB,
    PatientStatus,
    Query,
    SurvivalStatusContact,
    Visit,
)

from ..conftest import Cast

TOMORROW = "tomorrow"


def _visit(cast: Cast, user: Any, kind: str, occurrence: int, when: date) -> Visit:
    definition = cast.avatar2.visit_definitions.get(kind=kind)
    return services.visit_record(
        user=user, patient=cast.patient_a, definition=definition, occurrence=occurrence, status="done", visit_date=when
    )


def _save(
    cast: Cast, user: Any, model: type[CaseReportForm], *, complete: bool, visit: Any = None, **values: Any
) -> Any:
    for name, value in values.items():
        if value == TOMORROW:
            values[name] = timezone.localdate() + timedelta(days=1)
    return services.crf_save(
        user=user, model=model, patient=cast.patient_a, values=values, complete=complete, visit=visit
    )


def _refused(
    cast: Cast, user: Any, model: type[CaseReportForm], complete: bool, values: dict[str, Any], visit: Any = None
) -> dict:
    before = model.objects.count()
    with pytest.raises(ValidationError) as raised:
        _save(cast, user, model, complete=complete, visit=visit, **values)
    assert model.objects.count() == before
    return raised.value.message_dict


# FACT-B (CRF 14) ----------------------------------------------------------------------------------------------

# clinical-spec §4.4, Example A, subscale by subscale (None = not answered)
EXAMPLE_A_BY_SUBSCALE = {
    "PWB": [1, 0, 2, 1, 0, 1, 0],
    "SWB": [4, 3, 3, 2, 4, 3, None],
    "EWB": [1, 3, 1, 0, 1, 1],
    "FWB": [3, 2, 3, 3, 2, 3, 3],
    "BCS": [1, 2, 0, 2, 1, 0, None, 1, 3, 2],
}
EXAMPLE_A = dict(
    zip([code.lower() for code in FACT_B_ITEMS], chain.from_iterable(EXAMPLE_A_BY_SUBSCALE.values()), strict=True)
)


@pytest.fixture
def screening(cast: Cast, coordinator: Any) -> Visit:
    return _visit(cast, coordinator, "screening", 1, date(2025, 3, 10))


def test_fact_b_scores_show_as_derived_values(cast: Cast, coordinator: Any, screening: Visit) -> None:
    record = _save(
        cast, coordinator, FactB, complete=True, visit=screening, completion_date=date(2025, 3, 10), **EXAMPLE_A
    )
    assert dict(record.derived_values()) == {
        "Items answered": "35 of 37",
        "PWB": "23.00",
        "SWB": "22.17",
        "EWB": "19.00",
        "FWB": "19.00",
        "BCS": "28.89",
        "FACT-G": "83.17",
        "FACT-B total": "112.06",
        "TOI": "70.89",
    }
    assert record.summary() == "FACT-B 2025-03-10: total 112.06"


def test_a_score_that_fails_a_rule_says_why_it_is_not_scored(cast: Cast, coordinator: Any, screening: Visit) -> None:
    sparse = {**EXAMPLE_A, "ge1": None, "ge2": None, "ge3": None}  # EWB 3 of 6
    record = _save(
        cast, coordinator, FactB, complete=True, visit=screening, completion_date=date(2025, 3, 10), **sparse
    )
    derived = dict(record.derived_values())
    assert derived["EWB"] == "not scored: 3 of 6 items answered, not > 50 %"
    assert derived["FACT-G"] == "not scored: subscale(s) EWB not valid"
    assert derived["FACT-B total"] == "not scored: subscale(s) EWB not valid"
    assert derived["TOI"] == "70.89"  # no EWB in the TOI, and no 80 % rule (D14)


def test_a_fact_b_draft_may_be_empty_but_a_complete_one_needs_its_date_and_an_answer(
    cast: Cast, coordinator: Any, screening: Visit
) -> None:
    assert _save(cast, coordinator, FactB, complete=False, visit=screening).status == "draft"
    FactB.objects.all().delete()
    errors = _refused(cast, coordinator, FactB, True, {}, visit=screening)
    assert errors["completion_date"] == ["Completion date is required to mark the form complete."]
    assert "No item is answered" in errors["gp1"][0]


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        ({"completion_date": TOMORROW}, "completion_date", "future"),
        ({"completion_date": date(2025, 3, 2)}, "completion_date", "before consent"),
        ({"gp1": 5}, "gp1", "not a valid choice"),
    ],
)
def test_each_fact_b_check_refuses_bad_input(
    cast: Cast, coordinator: Any, screening: Visit, values: dict[str, Any], field: str, fragment: str
) -> None:
    values = {**EXAMPLE_A, "completion_date": date(2025, 3, 10), **values}
    errors = _refused(cast, coordinator, FactB, True, values, visit=screening)
    assert fragment in " ".join(errors[field])


def test_a_second_questionnaire_on_the_same_day_is_refused_and_another_day_is_not(
    cast: Cast, coordinator: Any, screening: Visit
) -> None:
    first = _save(
        cast, coordinator, FactB, complete=True, visit=screening, completion_date=date(2025, 3, 10), **EXAMPLE_A
    )
    visit = _visit(cast, coordinator, "follow_up", 1, date(2025, 3, 10))
    values = {**EXAMPLE_A, "completion_date": date(2025, 3, 10)}
    errors = _refused(cast, coordinator, FactB, True, values, visit=visit)
    assert errors["completion_date"] == [
        f"This patient already has a FACT-B questionnaire completed on 2025-03-10 (record {first.pk}): one "
        "questionnaire a day; correct that record or this date."
    ]
    assert _save(cast, coordinator, FactB, complete=True, visit=visit, completion_date=date(2025, 3, 11), **EXAMPLE_A)
    resaved = services.crf_save(  # the record itself is not "another" questionnaire of its day
        user=coordinator,
        model=FactB,
        patient=cast.patient_a,
        instance=first,
        values={"gp1": 2},
        complete=True,
        reason="Transcription corrected",
    )
    assert resaved.gp1 == 2


def test_a_questionnaire_dated_far_from_its_visit_raises_a_query(cast: Cast, coordinator: Any) -> None:
    visit = _visit(cast, coordinator, "follow_up", 1, date(2025, 6, 16))
    _save(cast, coordinator, FactB, complete=True, visit=visit, completion_date=date(2025, 7, 15), **EXAMPLE_A)
    query = Query.objects.get()
    assert (query.check_code, query.field_name) == ("check:far_from_visit", "completion_date")


def test_the_fact_b_screen_is_a_table_of_items_and_saves_the_answers(
    client: Any, cast: Cast, coordinator: Any, screening: Visit
) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "fact-b"})
    page = client.get(f"{url}?visit={screening.pk}").content.decode()
    assert 'id="fact-b-items"' in page
    assert page.count('type="radio"') == 37 * 6
    assert "GP1" in page and "(physical)" in page and "P2" in page
    assert "I have a lack of energy" not in page  # FACIT's wording is not reproduced
    answers = {code: ("" if value is None else value) for code, value in EXAMPLE_A.items()}
    response = client.post(url, {**answers, "completion_date": "2025-03-10", "visit": screening.pk, "complete": "1"})
    assert response.status_code == 302
    saved = FactB.objects.get()
    assert (saved.visit, saved.gp1, saved.gs7, saved.p2) == (screening, 1, None, 2)
    assert dict(saved.derived_values())["FACT-B total"] == "112.06"


# Survival status contact (CRF 15) -----------------------------------------------------------------------------

ALIVE = {"contact_date": date(2025, 9, 1), "vital_status": "alive", "method": "phone"}


def test_a_survival_contact_saves(cast: Cast, coordinator: Any) -> None:
    record = _save(cast, coordinator, SurvivalStatusContact, complete=True, **ALIVE)
    assert record.summary() == "2025-09-01: alive"


@pytest.mark.parametrize(
    ("values", "complete", "field", "fragment"),
    [
        ({"contact_date": TOMORROW}, False, "contact_date", "future"),
        ({"contact_date": date(2025, 3, 1)}, False, "contact_date", "before consent"),
        ({"method": ""}, True, "method", "required"),
    ],
)
def test_each_survival_contact_check_refuses_bad_input(
    cast: Cast, coordinator: Any, values: dict[str, Any], complete: bool, field: str, fragment: str
) -> None:
    errors = _refused(cast, coordinator, SurvivalStatusContact, complete, {**ALIVE, **values})
    assert fragment in " ".join(errors[field])


def test_alive_after_the_recorded_death_is_refused_but_learning_of_it_later_is_not(
    cast: Cast, coordinator: Any
) -> None:
    _save(cast, coordinator, Death, complete=True, death_date=date(2025, 8, 20), primary_cause="disease")
    errors = _refused(cast, coordinator, SurvivalStatusContact, True, ALIVE)
    assert errors == {"contact_date": ["The patient is recorded as alive after the recorded death (2025-08-20)."]}
    learnt = _save(cast, coordinator, SurvivalStatusContact, complete=True, **{**ALIVE, "vital_status": "dead"})
    assert learnt.is_complete and not Query.objects.exists()


def test_dead_without_a_death_form_raises_a_query(cast: Cast, coordinator: Any) -> None:
    _save(
        cast,
        coordinator,
        SurvivalStatusContact,
        complete=True,
        **{**ALIVE, "vital_status": "dead", "method": "records"},
    )
    assert Query.objects.get().check_code == "check:death_record_expected"


# Death (CRF 16) -----------------------------------------------------------------------------------------------

DEATH = {"death_date": date(2025, 8, 20), "primary_cause": "disease"}


def test_a_death_saves_once_per_patient(cast: Cast, coordinator: Any) -> None:
    record = _save(cast, coordinator, Death, complete=True, **DEATH)
    assert record.summary() == "Died 2025-08-20 (breast cancer (disease progression))"
    errors = _refused(cast, coordinator, Death, False, DEATH)
    assert errors == {"death_date": ["This patient already has a Death form: correct that one."]}


@pytest.mark.parametrize(
    ("values", "complete", "field", "fragment"),
    [
        ({"death_date": TOMORROW}, False, "death_date", "future"),
        ({"death_date": date(2025, 3, 2)}, False, "death_date", "before consent"),
        ({"primary_cause": "other"}, True, "cause_specify", "Specify the other cause"),
        ({"primary_cause": ""}, True, "primary_cause", "required"),
    ],
)
def test_each_death_check_refuses_bad_input(
    cast: Cast, coordinator: Any, values: dict[str, Any], complete: bool, field: str, fragment: str
) -> None:
    errors = _refused(cast, coordinator, Death, complete, {**DEATH, **values})
    assert fragment in " ".join(errors[field])


def test_a_death_before_a_done_visit_or_any_dated_record_is_refused(cast: Cast, coordinator: Any) -> None:
    term = CtcaeTerm.objects.create(soc="General disorders", term="Fatigue", grade_1="Relieved by rest")
    _visit(cast, coordinator, "follow_up", 1, date(2025, 6, 16))
    ae = _save(cast, coordinator, AdverseEvent, complete=False, term=term, grade=1, onset_date=date(2025, 8, 1))
    _save(cast, coordinator, SurvivalStatusContact, complete=True, **ALIVE)

    errors = _refused(cast, coordinator, Death, False, {**DEATH, "death_date": date(2025, 6, 1)})
    message = errors["death_date"][0]
    assert "visit Follow-up 1 (2025-06-16)" in message
    assert f"Adverse event #{ae.pk} (2025-08-01)" in message
    assert "Survival status contact" in message and "(2025-09-01)" in message

    errors = _refused(cast, coordinator, Death, False, {**DEATH, "death_date": date(2025, 8, 31)})
    assert errors["death_date"][0].startswith("Records of this patient are dated after the death date: Survival")
    assert _save(cast, coordinator, Death, complete=True, **{**DEATH, "death_date": date(2025, 9, 1)})


def test_records_that_may_follow_a_death_do_not_block_it(cast: Cast, coordinator: Any) -> None:
    _save(
        cast,
        coordinator,
        SurvivalStatusContact,
        complete=True,
        **{**ALIVE, "vital_status": "dead", "method": "records"},
    )
    assert _save(cast, coordinator, Death, complete=True, **DEATH).is_complete


def test_a_partial_date_is_after_a_death_only_when_all_of_it_is() -> None:
    assert _as_date("2025-08") == date(2025, 8, 1)
    assert _as_date("2025") == date(2025, 1, 1)
    assert _as_date("garbage") is None and _as_date("") is None


def test_a_treatment_related_death_without_a_fatal_adverse_event_raises_a_query(cast: Cast, coordinator: Any) -> None:
    _save(cast, coordinator, Death, complete=True, **{**DEATH, "primary_cause": "treatment"})
    query = Query.objects.get()
    assert (query.check_code, query.field_name) == ("check:fatal_adverse_event_expected", "primary_cause")


# End of study (CRF 17) ----------------------------------------------------------------------------------------

COMPLETED = {"end_date": date(2025, 10, 1), "end_reason": "completed"}


def test_an_end_of_study_saves_once_per_patient(cast: Cast, coordinator: Any) -> None:
    assert _save(cast, coordinator, EndOfStudy, complete=True, **COMPLETED).summary() == (
        "Ended 2025-10-01: completed the study"
    )
    assert "already has" in _refused(cast, coordinator, EndOfStudy, True, COMPLETED)["end_date"][0]


@pytest.mark.parametrize(
    ("values", "complete", "field", "fragment"),
    [
        ({"end_date": TOMORROW}, False, "end_date", "future"),
        ({"end_date": date(2025, 3, 1)}, False, "end_date", "before consent"),
        ({"end_reason": "withdrew"}, True, "withdrawal_data_use", "allows to be used"),
        ({"withdrawal_data_use": "none"}, False, "withdrawal_data_use", "Only for a patient who withdrew"),
        ({"end_reason": "death"}, True, "end_reason", "enter the Death form first"),
        ({"end_reason": "investigator"}, True, "details", "Explain"),
        ({"end_reason": ""}, True, "end_reason", "required"),
    ],
)
def test_each_end_of_study_check_refuses_bad_input(
    cast: Cast, coordinator: Any, values: dict[str, Any], complete: bool, field: str, fragment: str
) -> None:
    errors = _refused(cast, coordinator, EndOfStudy, complete, {**COMPLETED, **values})
    assert fragment in " ".join(errors[field])


def test_withdrawal_records_what_may_still_be_used(cast: Cast, coordinator: Any) -> None:
    values = {**COMPLETED, "end_reason": "withdrew", "withdrawal_data_use": "records"}
    record = _save(cast, coordinator, EndOfStudy, complete=True, **values)
    assert record.get_withdrawal_data_use_display().startswith("Data collected so far, and follow-up")


def test_an_end_of_study_for_death_follows_the_death_form(cast: Cast, coordinator: Any) -> None:
    assert (
        _save(cast, coordinator, EndOfStudy, complete=False, **{**COMPLETED, "end_reason": "death"}).status == "draft"
    )
    EndOfStudy.objects.all().delete()
    _save(cast, coordinator, Death, complete=True, **DEATH)
    errors = _refused(cast, coordinator, EndOfStudy, True, {"end_date": date(2025, 8, 19), "end_reason": "death"})
    assert errors == {"end_date": ["The study cannot end before the death (2025-08-20)."]}
    assert _save(cast, coordinator, EndOfStudy, complete=True, end_date=date(2025, 8, 20), end_reason="death")


# Demo data ----------------------------------------------------------------------------------------------------


@pytest.fixture
def demo_terms(db: None) -> None:
    for term, grades in {
        "Fatigue": ("Relieved by rest", "Not relieved by rest", "Limiting self care ADL", "", ""),
        "Neutrophil count decreased": ("<LLN - 1500/mm3", "<1500 - 1000/mm3", "<1000 - 500/mm3", "<500/mm3", ""),
        "Pneumonitis": ("Asymptomatic", "Symptomatic", "Severe symptoms", "Life-threatening", "Death"),
        "Dermatitis radiation": ("Faint erythema", "Moderate erythema", "Moist desquamation", "Necrosis", "Death"),
        "Arthralgia": ("Mild pain", "Moderate pain", "Severe pain", "", ""),
        "Hot flashes": ("Mild symptoms", "Moderate symptoms", "Severe symptoms", "", ""),
        "Nausea": ("Loss of appetite", "Oral intake decreased", "Inadequate oral intake", "", ""),
        "Febrile neutropenia": ("", "", "ANC <1000/mm3 with fever", "Life-threatening", "Death"),
    }.items():
        CtcaeTerm.objects.create(soc="Demo", term=term, **{f"grade_{g}": t for g, t in enumerate(grades, start=1)})


def _counts(cast: Cast) -> tuple[int, ...]:
    models = (AdverseEvent, FactB, SurvivalStatusContact, Death, EndOfStudy, Visit)
    return tuple(model.objects.filter(patient=cast.patient_a).count() for model in models)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_demo_adds_complete_records_once(cast: Cast, coordinator: Any, demo_terms: None, seed: int) -> None:
    today = timezone.localdate()
    added = seed_safety_follow_up(patient=cast.patient_a, user=coordinator, rng=random.Random(seed), today=today)
    assert added["adverse_events"] >= 1 and added["fact_b"] == 5 and added["survival_status"] == 1
    assert (added["death"], added["end_of_study"]) == (0, 0)
    assert {record.status for record in AdverseEvent.objects.all()} == {"complete"}
    assert FactB.objects.filter(visit__definition__kind="follow_up").count() == 4
    before = _counts(cast)
    again = seed_safety_follow_up(patient=cast.patient_a, user=coordinator, rng=random.Random(seed + 10), today=today)
    assert set(again.values()) == {0}
    assert _counts(cast) == before


def test_the_demo_records_a_death_and_its_end_of_study(cast: Cast, coordinator: Any, demo_terms: None) -> None:
    cast.patient_a.status = PatientStatus.DIED
    added = seed_safety_follow_up(
        patient=cast.patient_a, user=coordinator, rng=random.Random(7), today=timezone.localdate()
    )
    death = Death.objects.get()
    assert (added["death"], added["end_of_study"]) == (1, 1)
    assert EndOfStudy.objects.get().end_reason == "death"
    assert SurvivalStatusContact.objects.get().vital_status == "dead"
    assert all(ae.onset_date < death.death_date for ae in AdverseEvent.objects.all())


def test_the_demo_skips_adverse_events_without_the_ctcae_list(cast: Cast, coordinator: Any) -> None:
    added = seed_safety_follow_up(
        patient=cast.patient_a, user=coordinator, rng=random.Random(1), today=timezone.localdate()
    )
    assert added["adverse_events"] == 0 and added["fact_b"] == 5


def test_the_end_of_study_screen_keeps_the_reason_apart_from_the_reason_for_change(
    client: Any, cast: Cast, coordinator: Any
) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "end-of-study"})
    data = {"end_date": "2025-10-01", "end_reason": "withdrew", "withdrawal_data_use": "collected", "complete": "1"}
    assert client.post(url, data).status_code == 302
    record = EndOfStudy.objects.get()
    assert (record.end_reason, record.withdrawal_data_use) == ("withdrew", "collected")
    again = client.get(url)  # one per patient: the screen opens the existing record
    assert again.status_code == 302 and again.url.endswith(f"/{record.pk}/")
