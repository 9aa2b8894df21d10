"""CRF 12 adverse event and CRF 13 visceral crisis: every edit check refuses bad input and saves nothing, the good
path saves, drafts stay lenient, derived values and reporting clocks are right, and a grade a CTCAE term does not
have is refused by the service, the form and the screen."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from patients import services
from patients.crfs.safety_forms import AdverseEventForm
from patients.models import AdverseEvent, CtcaeTerm, Death, Query, VisceralCrisis

from ..conftest import Cast

BLOOD = "Blood and lymphatic system disorders"
TOMORROW = "tomorrow"


@pytest.fixture
def terms(db: None) -> dict[str, CtcaeTerm]:
    """A few real CTCAE v5.0 terms (texts shortened), with the grade patterns that matter."""
    rows = {
        "Anemia": ("Hgb <LLN - 10.0 g/dL", "Hgb <10.0 - 8.0 g/dL", "Hgb <8.0 g/dL", "Life-threatening", "Death"),
        "Eosinophilia": (">ULN and >Baseline", "", "Steroids initiated", "", ""),
        "Febrile neutropenia": ("", "", "ANC <1000/mm3 with fever", "Life-threatening", "Death"),
        f"{BLOOD} - Other, specify": ("Mild", "Moderate", "Severe", "Life-threatening", "Death"),
    }
    return {
        name: CtcaeTerm.objects.create(
            soc=BLOOD, term=name, **{f"grade_{g}": text for g, text in enumerate(grades, start=1)}
        )
        for name, grades in rows.items()
    }


def _values(terms: dict[str, CtcaeTerm], values: dict[str, Any]) -> dict[str, Any]:
    resolved = dict(values)
    if isinstance(resolved.get("term"), str):
        resolved["term"] = terms[resolved["term"]]
    for name, value in resolved.items():
        if value == TOMORROW:
            resolved[name] = timezone.localdate() + timedelta(days=1)
    return resolved


def _save_ae(cast: Cast, user: Any, terms: dict[str, CtcaeTerm], *, complete: bool, **values: Any) -> AdverseEvent:
    return services.crf_save(  # type: ignore[return-value]
        user=user, model=AdverseEvent, patient=cast.patient_a, values=_values(terms, values), complete=complete
    )


# patient_a: consent 2025-03-03, randomised 2025-03-24
GOOD_AE: dict[str, Any] = {
    "term": "Anemia",
    "grade": 2,
    "onset_date": date(2025, 5, 1),
    "resolution_date": date(2025, 5, 20),
    "attribution_cdk46_inhibitor": "probable",
    "attribution_endocrine_therapy": "unlikely",
    "attribution_disease": "unlikely",
    "outcome": "recovered",
    "action_taken": "interrupted",
}
SERIOUS: dict[str, Any] = {
    "term": "Febrile neutropenia",
    "grade": 3,
    "serious_hospitalisation": True,
    "expectedness": "expected",
    "site_awareness_date": date(2025, 5, 2),
    "reported_to_sponsor_date": date(2025, 5, 3),
}


def test_a_complete_adverse_event_saves_with_its_derived_values(
    cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]
) -> None:
    record = _save_ae(cast, coordinator, terms, complete=True, **GOOD_AE)
    assert record.status == "complete"
    derived = dict(record.derived_values())
    assert (derived["Serious (ICH E2A)"], derived["Treatment-related"], derived["LAT-related"]) == ("No", "Yes", "No")
    assert "SUSAR" not in derived and "Site → sponsor report due (24 h)" not in derived
    assert record.summary() == "Anemia grade 2, onset 2025-05-01"
    assert not Query.objects.exists()


def test_a_draft_saves_half_filled_but_completing_names_every_missing_field(
    cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]
) -> None:
    draft = _save_ae(cast, coordinator, terms, complete=False, term="Anemia")
    assert draft.status == "draft"
    with pytest.raises(ValidationError) as raised:
        _save_ae(cast, coordinator, terms, complete=True, term="Anemia")
    assert {"grade", "onset_date", "attribution_disease", "outcome", "action_taken"} <= set(raised.value.message_dict)
    assert raised.value.message_dict["grade"] == ["Worst grade is required to mark the form complete."]
    assert AdverseEvent.objects.count() == 1


@pytest.mark.parametrize("complete", [False, True])
def test_a_grade_the_term_does_not_have_is_refused_even_in_a_draft(
    cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm], complete: bool
) -> None:
    with pytest.raises(ValidationError) as raised:
        _save_ae(cast, coordinator, terms, complete=complete, **{**GOOD_AE, "term": "Eosinophilia", "grade": 2})
    assert raised.value.message_dict == {
        "grade": ["Grade 2 does not exist in CTCAE v5.0 for Eosinophilia (grades 1, 3)."]
    }
    assert not AdverseEvent.objects.exists()
    assert _save_ae(cast, coordinator, terms, complete=complete, **{**GOOD_AE, "term": "Eosinophilia", "grade": 3})


# (values over GOOD_AE, complete, field named, fragment of the message)
AE_ERRORS = [
    pytest.param({"term": "Febrile neutropenia", "grade": 1}, False, "grade", "Grade 1 does not exist", id="grade"),
    pytest.param({"term": f"{BLOOD} - Other, specify"}, True, "other_specify", "Name the event", id="other-missing"),
    pytest.param({"other_specify": "Pancytopenia"}, False, "other_specify", "only for an", id="other-not-other"),
    pytest.param(
        {"grade": 5, "outcome": "recovering", "resolution_date": None, "ongoing": True},
        False,
        "outcome",
        "outcome must be fatal",
        id="grade-5-outcome",
    ),
    pytest.param(
        {"outcome": "fatal", "grade": 5, "resolution_date": None},
        False,
        "serious_death",
        "tick 'results in death'",
        id="fatal-not-serious",
    ),
    pytest.param(
        {"serious_death": True, **{k: v for k, v in SERIOUS.items() if k != "term" and k != "grade"}},
        False,
        "outcome",
        "resulted in death",
        id="death-criterion-outcome",
    ),
    pytest.param({"ongoing": True}, False, "ongoing", "not ongoing", id="resolution-and-ongoing"),
    pytest.param({"outcome": "recovering"}, False, "resolution_date", "unresolved event", id="resolution-unresolved"),
    pytest.param({"resolution_date": None}, True, "resolution_date", "or tick 'ongoing'", id="resolution-or-ongoing"),
    pytest.param(
        {"resolution_date": None, "ongoing": True},
        True,
        "resolution_date",
        "give the resolution date",
        id="resolved-outcome-without-date",
    ),
    pytest.param(
        {"resolution_date": date(2025, 4, 30)},
        False,
        "resolution_date",
        "cannot be before onset",
        id="resolution-before-onset",
    ),
    pytest.param(
        {"onset_date": TOMORROW, "resolution_date": None, "ongoing": True},
        False,
        "onset_date",
        "future",
        id="onset-future",
    ),
    pytest.param({"resolution_date": TOMORROW}, False, "resolution_date", "future", id="resolution-future"),
    pytest.param(
        {**SERIOUS, "site_awareness_date": TOMORROW, "reported_to_sponsor_date": None},
        False,
        "site_awareness_date",
        "future",
        id="awareness-future",
    ),
    pytest.param(
        {**SERIOUS, "reported_to_sponsor_date": TOMORROW},
        False,
        "reported_to_sponsor_date",
        "future",
        id="reported-future",
    ),
    pytest.param({"onset_date": date(2025, 3, 2)}, False, "onset_date", "before consent", id="onset-before-consent"),
    pytest.param(
        {"attribution_cdk46_inhibitor": "", "attribution_endocrine_therapy": ""},
        True,
        "attribution_sabr",
        "at least one",
        id="no-treatment-attribution",
    ),
    pytest.param(
        {**SERIOUS, "site_awareness_date": None, "reported_to_sponsor_date": None},
        True,
        "site_awareness_date",
        "became aware",
        id="serious-without-awareness",
    ),
    pytest.param({**SERIOUS, "expectedness": ""}, True, "expectedness", "SUSAR", id="serious-related-expectedness"),
    pytest.param(
        {**SERIOUS, "site_awareness_date": date(2025, 4, 30)},
        False,
        "site_awareness_date",
        "cannot be before onset",
        id="awareness-before-onset",
    ),
    pytest.param(
        {**SERIOUS, "reported_to_sponsor_date": date(2025, 5, 1)},
        False,
        "reported_to_sponsor_date",
        "cannot be before date the site became aware",
        id="reported-before-awareness",
    ),
]


@pytest.mark.parametrize(("values", "complete", "field", "fragment"), AE_ERRORS)
def test_each_adverse_event_check_refuses_bad_input_and_saves_nothing(
    cast: Cast,
    coordinator: Any,
    terms: dict[str, CtcaeTerm],
    values: dict[str, Any],
    complete: bool,
    field: str,
    fragment: str,
) -> None:
    with pytest.raises(ValidationError) as raised:
        _save_ae(cast, coordinator, terms, complete=complete, **{**GOOD_AE, **values})
    errors = raised.value.message_dict
    assert field in errors, errors
    assert fragment in " ".join(errors[field])
    assert AdverseEvent.objects.count() == 0


def test_completion_only_checks_wait_until_the_form_is_completed(
    cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]
) -> None:
    draft = {**GOOD_AE, **SERIOUS, "site_awareness_date": None, "expectedness": "", "resolution_date": None}
    record = _save_ae(cast, coordinator, terms, complete=False, **draft)
    assert record.status == "draft"


def test_a_serious_adverse_event_shows_its_24_hour_clock(
    cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]
) -> None:
    late = {**SERIOUS, "reported_to_sponsor_date": date(2025, 5, 6)}
    record = _save_ae(cast, coordinator, terms, complete=True, **{**GOOD_AE, **late})
    derived = dict(record.derived_values())
    assert derived["Serious (ICH E2A)"] == "Yes"
    assert derived["SUSAR"] == "No"  # expected
    assert derived["Site → sponsor report due (24 h)"] == date(2025, 5, 3)
    assert derived["Site → sponsor report"] == "late by 3 day(s) (2025-05-06)"
    assert record.summary() == "Febrile neutropenia grade 3 (SAE), onset 2025-05-01"


def test_an_unreported_serious_event_is_overdue(cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]) -> None:
    record = _save_ae(
        cast, coordinator, terms, complete=True, **{**GOOD_AE, **SERIOUS, "reported_to_sponsor_date": None}
    )
    assert dict(record.derived_values())["Site → sponsor report"].startswith("OVERDUE by ")


@pytest.mark.parametrize(
    ("criteria", "days", "due"),
    [
        ({"serious_hospitalisation": True}, 15, date(2025, 5, 18)),
        ({"serious_life_threatening": True}, 7, date(2025, 5, 10)),
    ],
)
def test_a_susar_gets_its_7_or_15_day_clock_from_sponsor_awareness(
    cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm], criteria: dict[str, bool], days: int, due: date
) -> None:
    susar = {**GOOD_AE, **SERIOUS, "serious_hospitalisation": False, **criteria, "expectedness": "unexpected"}
    record = _save_ae(cast, coordinator, terms, complete=True, **susar)
    derived = dict(record.derived_values())
    assert derived["SUSAR"] == "Yes"
    assert derived["Site → sponsor report"] == "on time (2025-05-03)"
    assert derived[f"SUSAR report to authorities due ({days} days)"] == due


def test_a_serious_event_of_the_disease_only_is_no_susar_and_not_treatment_related(
    cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]
) -> None:
    values = {**GOOD_AE, **SERIOUS, "attribution_cdk46_inhibitor": "unlikely", "attribution_disease": "probable"}
    record = _save_ae(cast, coordinator, terms, complete=True, **{**values, "expectedness": "unexpected"})
    derived = dict(record.derived_values())
    assert (derived["Treatment-related"], derived["SUSAR"]) == ("No", "No")


def test_a_sabr_related_event_is_lat_related(cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]) -> None:
    record = _save_ae(cast, coordinator, terms, complete=True, **{**GOOD_AE, "attribution_sabr": "definite"})
    assert dict(record.derived_values())["LAT-related"] == "Yes"


def test_a_fatal_event_without_a_death_form_raises_a_query_closed_once_death_is_recorded(
    cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]
) -> None:
    fatal = {**GOOD_AE, **SERIOUS, "grade": 5, "outcome": "fatal", "serious_death": True, "resolution_date": None}
    record = _save_ae(cast, coordinator, terms, complete=True, **fatal)
    query = Query.objects.get()
    assert (query.check_code, query.field_name, query.status) == ("check:death_record_expected", "grade", "open")
    services.crf_save(
        user=coordinator,
        model=Death,
        patient=cast.patient_a,
        values={"death_date": date(2025, 5, 25), "primary_cause": "treatment"},
        complete=True,
    )
    services.crf_save(
        user=coordinator,
        model=AdverseEvent,
        patient=cast.patient_a,
        instance=record,
        values={"resolution_date": date(2025, 5, 25)},
        complete=True,
        reason="Date of death added",
    )
    assert Query.objects.get(pk=query.pk).status == "closed"


def test_a_fatal_outcome_below_grade_5_saves_with_a_query(
    cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]
) -> None:
    fatal = {**GOOD_AE, **SERIOUS, "grade": 4, "outcome": "fatal", "serious_death": True, "resolution_date": None}
    record = _save_ae(cast, coordinator, terms, complete=True, **fatal)
    codes = set(Query.objects.filter(object_id=record.pk).values_list("check_code", flat=True))
    assert codes == {"check:fatal_not_grade_5", "check:death_record_expected"}


# The form and the screen --------------------------------------------------------------------------------------


def _form_data(terms: dict[str, CtcaeTerm], **values: Any) -> dict[str, Any]:
    data = {**GOOD_AE, **values}
    data["term"] = terms[data["term"]].pk
    return {k: ("" if v is None else v) for k, v in data.items()}


def test_the_form_refuses_a_grade_the_term_does_not_have(cast: Cast, terms: dict[str, CtcaeTerm]) -> None:
    form = AdverseEventForm(
        _form_data(terms, term="Eosinophilia", grade=4), instance=AdverseEvent(patient=cast.patient_a)
    )
    assert not form.is_valid()
    assert form.errors["grade"] == ["Grade 4 does not exist in CTCAE v5.0 for Eosinophilia (grades 1, 3)."]
    assert AdverseEventForm(_form_data(terms), instance=AdverseEvent(patient=cast.patient_a)).is_valid()


def test_the_form_embeds_each_term_s_grades_so_the_choices_follow_the_term(
    cast: Cast, terms: dict[str, CtcaeTerm]
) -> None:
    html = str(AdverseEventForm(instance=AdverseEvent(patient=cast.patient_a))["grade"])
    catalogue = json.loads(
        re.search(r'<script id="id_grade_catalogue" type="application/json">(.*?)</script>', html)[1]
    )
    assert catalogue[str(terms["Eosinophilia"].pk)] == {
        "grades": {"1": ">ULN and >Baseline", "3": "Steroids initiated"},
        "other": False,
    }
    assert catalogue[str(terms[f"{BLOOD} - Other, specify"].pk)]["other"] is True
    # The script is a file (the Content-Security-Policy allows no inline script); the markup names the term field.
    assert 'data-ctcae-term="id_term"' in html and "js/ctcae-grade-select.js" in html


def test_the_screen_refuses_a_grade_the_term_does_not_have(
    client: Any, cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]
) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "adverse-event"})
    page = client.get(url)
    assert page.status_code == 200
    assert b"id_grade_catalogue" in page.content and b"Blood and lymphatic system disorders" in page.content
    refused = client.post(url, {**_form_data(terms, term="Febrile neutropenia", grade=2), "complete": "1"})
    assert refused.status_code == 200
    assert "Grade 2 does not exist" in refused.context["form"].errors["grade"][0]
    assert not AdverseEvent.objects.exists()
    saved = client.post(url, {**_form_data(terms), "complete": "1"})
    assert saved.status_code == 302
    assert AdverseEvent.objects.get().status == "complete"


def test_the_live_preview_shows_seriousness_as_you_type(
    client: Any, cast: Cast, coordinator: Any, terms: dict[str, CtcaeTerm]
) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_preview", kwargs={"subject_id": cast.patient_a.subject_id, "code": "adverse-event"})
    data = {k: ("on" if v is True else v) for k, v in _form_data(terms, **SERIOUS).items()}
    response = client.post(url, data)
    assert dict(response.context["derived"])["Serious (ICH E2A)"] == "Yes"


# Visceral crisis (CRF 13) -------------------------------------------------------------------------------------

GOOD_CRISIS: dict[str, Any] = {
    "onset_date": date(2025, 6, 2),
    "organ_liver": True,
    "bilirubin": Decimal("61.0"),
    "bilirubin_uln": Decimal("21.0"),
    "alt": Decimal("240"),
    "alt_uln": Decimal("40"),
    "rapid_progression": True,
    "abc_definition_met": True,
    "treatment_decision": "chemotherapy",
}


def _save_crisis(cast: Cast, user: Any, *, complete: bool, **values: Any) -> VisceralCrisis:
    return services.crf_save(  # type: ignore[return-value]
        user=user, model=VisceralCrisis, patient=cast.patient_a, values=_values({}, values), complete=complete
    )


def test_a_visceral_crisis_saves_with_the_lab_values_against_their_limits(cast: Cast, coordinator: Any) -> None:
    record = _save_crisis(cast, coordinator, complete=True, **GOOD_CRISIS)
    derived = dict(record.derived_values())
    assert (derived["Organs"], derived["Bilirubin × ULN"], derived["ALT × ULN"]) == ("liver", "2.9", "6.0")
    assert derived["ABC definition attested"] == "Yes"
    assert record.summary() == "Visceral crisis (liver), onset 2025-06-02"


def test_a_visceral_crisis_draft_needs_no_attestation(cast: Cast, coordinator: Any) -> None:
    record = _save_crisis(cast, coordinator, complete=False, **{**GOOD_CRISIS, "abc_definition_met": False})
    assert record.status == "draft"


CRISIS_ERRORS = [
    pytest.param({"abc_definition_met": False}, True, "abc_definition_met", "must attest", id="not-attested"),
    pytest.param({"organ_liver": False}, True, "organ_liver", "at least one organ", id="no-organ"),
    pytest.param({"organ_other": True}, True, "organ_other_specify", "Name the other organ", id="other-organ"),
    pytest.param({"treatment_decision": "other"}, True, "treatment_decision_specify", "Describe", id="decision"),
    pytest.param({"treatment_decision": ""}, True, "treatment_decision", "required", id="decision-missing"),
    pytest.param({"bilirubin_uln": None}, False, "bilirubin_uln", "upper limit of normal", id="bilirubin-uln"),
    pytest.param({"ast": Decimal("90")}, False, "ast_uln", "upper limit of normal", id="ast-uln"),
    pytest.param({"alt_uln": None}, False, "alt_uln", "upper limit of normal", id="alt-uln"),
    pytest.param({"alt_uln": Decimal("0")}, False, "alt_uln", "more than 0", id="alt-uln-zero"),
    pytest.param({"bilirubin_uln": Decimal("0")}, False, "bilirubin_uln", "more than 0", id="bilirubin-uln-zero"),
    pytest.param({"ast": Decimal("90"), "ast_uln": Decimal("0")}, False, "ast_uln", "more than 0", id="ast-uln-zero"),
    pytest.param({"haemoglobin": Decimal("85")}, False, "haemoglobin", "between 2 and 25", id="haemoglobin-g-per-l"),
    pytest.param({"neutrophils": Decimal("150")}, False, "neutrophils", "between 0 and 100", id="neutrophils"),
    pytest.param({"spo2": 101}, False, "spo2", "between 50 and 100", id="spo2"),
    pytest.param({"platelets": 5000}, False, "platelets", "between 0 and 2000", id="platelets"),
    pytest.param({"onset_date": TOMORROW}, False, "onset_date", "future", id="future"),
    pytest.param({"onset_date": date(2025, 1, 1)}, False, "onset_date", "before consent", id="before-consent"),
]


@pytest.mark.parametrize(("values", "complete", "field", "fragment"), CRISIS_ERRORS)
def test_each_visceral_crisis_check_refuses_bad_input_and_saves_nothing(
    cast: Cast, coordinator: Any, values: dict[str, Any], complete: bool, field: str, fragment: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        _save_crisis(cast, coordinator, complete=complete, **{**GOOD_CRISIS, **values})
    errors = raised.value.message_dict
    assert field in errors, errors
    assert fragment in " ".join(errors[field])
    assert VisceralCrisis.objects.count() == 0


def test_the_visceral_crisis_screen_saves_a_complete_record(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "visceral-crisis"})
    page = client.get(url).content.decode()
    assert "ABC definition of visceral crisis is met" in page and "Not assessed" in page
    data = {k: ("on" if v is True else v) for k, v in GOOD_CRISIS.items()}
    response = client.post(url, {**data, "complete": "1"})
    assert response.status_code == 302
    assert VisceralCrisis.objects.get().is_complete
