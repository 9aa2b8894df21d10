"""CRF 1 (screening & eligibility) and CRF 2 (registration / randomisation): checks, confirmation, enrolment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients import services
from patients.crfs.disease import SystemicTherapyLine
from patients.models import (
    AvatarEligibility,
    CosmoEligibility,
    Patient,
    Query,
    Randomisation,
    Registration,
    Visit,
)
from patients.services.enrolment import enrolment_complete, investigator_confirm
from trials.models import Role
from trials.selectors import analysis_settings_current

from ..conftest import Cast
from ..factories import PatientFactory

CONSENT = date(2025, 3, 3)
AVATAR_OK = {name: True for name in AvatarEligibility.INCLUSION} | {n: False for n in AvatarEligibility.EXCLUSION}
COSMO_OK = {name: True for name in CosmoEligibility.INCLUSION} | {n: False for n in CosmoEligibility.EXCLUSION}
STRATA = {"endocrine_partner": "ai", "oligo_lesions": "1"}


@pytest.fixture
def investigator(cast: Cast) -> Any:
    return cast.user(Role.INVESTIGATOR)


@pytest.fixture
def screening(cast: Cast) -> Patient:
    """An AVATAR II patient at site A who has consented and is not randomised yet."""
    return PatientFactory(trial=cast.avatar2, site=cast.site_a, sequence=2, enrolment_date=None, status="screening")


@pytest.fixture
def cosmo(cast: Cast) -> Patient:
    return PatientFactory(trial=cast.cosmo, site=cast.site_a, sequence=1, enrolment_date=None, status="screening")


def visit(patient: Patient, user: Any, code: str, on: date = CONSENT) -> Visit:
    definition = patient.trial.visit_definitions.get(code=code)
    existing = Visit.objects.filter(patient=patient, definition=definition).first()
    return existing or services.visit_record(
        user=user, patient=patient, definition=definition, occurrence=1, status="done", visit_date=on
    )


def checklist(patient: Patient, user: Any, values: dict[str, Any] | None = None, complete: bool = True) -> Any:
    model = AvatarEligibility if patient.trial.code == "avatar2" else CosmoEligibility
    ok = AVATAR_OK if model is AvatarEligibility else COSMO_OK
    return services.crf_save(
        user=user,
        model=model,
        patient=patient,
        visit=visit(patient, user, "screening"),
        values=ok if values is None else values,
        complete=complete,
    )


def confirmed_checklist(patient: Patient, user: Any, investigator: Any) -> Any:
    return investigator_confirm(user=investigator, record=checklist(patient, user))


def randomise(patient: Patient, user: Any, complete: bool = True, **values: Any) -> Any:
    return services.crf_save(
        user=user,
        model=Randomisation,
        patient=patient,
        visit=visit(patient, user, "enrolment", date(2025, 3, 24)),
        values={"randomisation_date": date(2025, 3, 24), **STRATA, **values},
        complete=complete,
    )


# CRF 1: eligibility -------------------------------------------------------------------------------------------


def test_a_draft_checklist_saves_half_answered_and_eligibility_is_unknown(
    cast: Cast, coordinator: Any, screening: Patient
) -> None:
    record = checklist(screening, coordinator, {"er_positive_her2_negative": True}, complete=False)
    assert (record.status, record.eligible) == ("draft", None)
    assert dict(record.derived_values())["Eligibility"] == "Not known yet (5 criteria unanswered)"


def test_completing_the_checklist_needs_every_criterion_answered(
    cast: Cast, coordinator: Any, screening: Patient
) -> None:
    with pytest.raises(ValidationError) as raised:
        checklist(screening, coordinator, {"er_positive_her2_negative": True})
    assert set(raised.value.message_dict) == set(AvatarEligibility.criteria()) - {"er_positive_her2_negative"}
    assert not AvatarEligibility.objects.exists()


def test_eligible_is_derived_and_stored(cast: Cast, coordinator: Any, screening: Patient) -> None:
    record = checklist(screening, coordinator)
    stored = AvatarEligibility.objects.get()
    assert (stored.status, stored.eligible) == ("complete", True)
    assert AvatarEligibility.objects.filter(eligible=True).count() == 1  # queryable
    assert dict(record.derived_values()) == {
        "Eligibility": "Eligible",
        "Investigator": "Not yet confirmed by the site investigator",
    }
    assert record.summary() == "Eligible, not confirmed"


@pytest.mark.parametrize(
    ("model", "name", "failing"),
    [(AvatarEligibility, n, False) for n in AvatarEligibility.INCLUSION]
    + [(AvatarEligibility, n, True) for n in AvatarEligibility.EXCLUSION]
    + [(CosmoEligibility, n, False) for n in CosmoEligibility.INCLUSION]
    + [(CosmoEligibility, n, True) for n in CosmoEligibility.EXCLUSION],
)
def test_one_unmet_criterion_makes_the_patient_not_eligible(
    cast: Cast, coordinator: Any, screening: Patient, cosmo: Patient, model: Any, name: str, failing: bool
) -> None:
    patient = screening if model is AvatarEligibility else cosmo
    values = {**(AVATAR_OK if model is AvatarEligibility else COSMO_OK), name: failing}
    record = checklist(patient, coordinator, {**values, "screen_failure_reason": "Criterion not met"})
    assert model.objects.get().eligible is False
    label = str(model._meta.get_field(name).verbose_name)
    assert dict(record.derived_values())["Eligibility"] == f"Not eligible: {label}"


def test_a_screen_failure_needs_its_reason(cast: Cast, coordinator: Any, screening: Patient) -> None:
    with pytest.raises(ValidationError) as raised:
        checklist(screening, coordinator, {**AVATAR_OK, "amenable_to_sabr": False})
    assert raised.value.message_dict == {
        "screen_failure_reason": ["Give the screen-failure reason: the patient does not meet every criterion."]
    }
    assert not AvatarEligibility.objects.exists()
    # A draft may leave it for later.
    assert checklist(screening, coordinator, {**AVATAR_OK, "amenable_to_sabr": False}, complete=False).pk


def test_an_eligible_patient_has_no_screen_failure_reason(cast: Cast, coordinator: Any, screening: Patient) -> None:
    with pytest.raises(ValidationError) as raised:
        checklist(screening, coordinator, {**AVATAR_OK, "screen_failure_reason": "none"}, complete=False)
    assert list(raised.value.message_dict) == ["screen_failure_reason"]
    assert not AvatarEligibility.objects.exists()


def test_a_patient_has_one_checklist(cast: Cast, coordinator: Any, screening: Patient) -> None:
    checklist(screening, coordinator)
    with pytest.raises(ValidationError) as raised:
        services.crf_save(
            user=coordinator,
            model=AvatarEligibility,
            patient=screening,
            visit=visit(screening, coordinator, "screening"),
            values=AVATAR_OK,
            complete=False,
        )
    assert "already has a Screening & eligibility form" in raised.value.message_dict["__all__"][0]
    assert AvatarEligibility.objects.count() == 1


@pytest.mark.parametrize("model", [CosmoEligibility, Registration])
def test_a_cosmo_form_is_refused_for_an_avatar_patient(
    cast: Cast, coordinator: Any, screening: Patient, model: Any
) -> None:
    with pytest.raises(ValidationError, match="not a form of AVATAR II"):
        services.crf_save(user=coordinator, model=model, patient=screening, values={}, complete=False)
    assert not model.objects.exists()


@pytest.mark.parametrize("model", [AvatarEligibility, Randomisation])
def test_an_avatar_form_is_refused_for_a_cosmo_patient(
    cast: Cast, coordinator: Any, cosmo: Patient, model: Any
) -> None:
    with pytest.raises(ValidationError, match="not a form of COSMO"):
        services.crf_save(user=coordinator, model=model, patient=cosmo, values={}, complete=False)
    assert not model.objects.exists()


def test_only_a_site_investigator_confirms_eligibility(
    cast: Cast, coordinator: Any, investigator: Any, screening: Patient
) -> None:
    record = checklist(screening, coordinator)
    with pytest.raises(ValidationError) as raised:
        investigator_confirm(user=coordinator, record=record)
    assert raised.value.message_dict == {
        "investigator_confirmation": ["Only a site investigator may confirm this form."]
    }
    assert AvatarEligibility.objects.get().confirmed_by is None

    investigator_confirm(user=investigator, record=record)
    stored = AvatarEligibility.objects.get()
    assert stored.confirmed_by == investigator and stored.confirmed_at is not None
    latest = stored.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (investigator, "Confirmed by the site investigator")
    assert dict(stored.derived_values())["Investigator"].startswith("Confirmed by Test Investigator on ")


def test_a_draft_checklist_cannot_be_confirmed(
    cast: Cast, coordinator: Any, investigator: Any, screening: Patient
) -> None:
    record = checklist(screening, coordinator, complete=False)
    with pytest.raises(ValidationError, match="Mark the form complete"):
        investigator_confirm(user=investigator, record=record)
    assert AvatarEligibility.objects.get().confirmed_by is None


def test_the_investigator_confirms_on_the_screen_and_a_coordinator_cannot(
    client: Any, cast: Cast, coordinator: Any, investigator: Any, screening: Patient
) -> None:
    record = checklist(screening, coordinator)
    url = reverse(
        "patients:crf_edit",
        kwargs={"subject_id": screening.subject_id, "code": "eligibility-avatar2", "pk": record.pk},
    )
    form = {**{k: str(v) for k, v in AVATAR_OK.items()}, "complete": "1", "version": record.version}
    client.force_login(coordinator)
    refused = client.post(url, {**form, "investigator_confirmation": "on", "reason": "Confirming"})
    assert refused.context["form"].errors["investigator_confirmation"] == [
        "Only a site investigator may confirm this form."
    ]
    assert AvatarEligibility.objects.get().confirmed_by is None

    client.force_login(investigator)
    response = client.post(url, {**form, "investigator_confirmation": "on", "reason": "Checked against source"})
    assert response.status_code == 302
    assert AvatarEligibility.objects.get().confirmed_by == investigator
    page = client.get(url)
    assert page.context["form"].fields["investigator_confirmation"].disabled


# CRF 2: registration / randomisation ----------------------------------------------------------------------------


def test_the_strata_codes_are_those_of_the_trial_settings(cast: Cast) -> None:
    factors = analysis_settings_current(trial=cast.avatar2).strata_definition["factors"]
    levels = {factor["code"]: {level["code"] for level in factor["levels"]} for factor in factors}
    field = Randomisation._meta.get_field
    assert levels == {
        "endocrine_partner": {code for code, _ in field("endocrine_partner").choices},
        "oligo_lesions": {code for code, _ in field("oligo_lesions").choices},
    }


def test_randomising_sets_the_patients_enrolment_date_and_puts_them_on_study(
    cast: Cast, coordinator: Any, investigator: Any, screening: Patient
) -> None:
    confirmed_checklist(screening, coordinator, investigator)
    version = screening.version
    record = enrolment_complete(
        user=investigator,
        patient=screening,
        visit=visit(screening, coordinator, "enrolment", date(2025, 3, 24)),
        values={"randomisation_date": date(2025, 3, 24), **STRATA},
    )
    assert (record.status, record.arm) == ("complete", None)
    screening.refresh_from_db()
    assert (screening.enrolment_date, screening.status, screening.version) == (
        date(2025, 3, 24),
        "on_study",
        version + 1,
    )
    latest = screening.history.latest()
    assert (latest.history_change_reason, latest.history_user) == ("Randomised", investigator)
    assert dict(record.derived_values()) == {
        "Stratum": "Aromatase inhibitor × 1 lesion",
        "Arm": "Not allocated yet",
    }
    assert record.summary() == "Randomised 2025-03-24"


def test_registering_a_cosmo_patient_sets_the_enrolment_date(
    cast: Cast, coordinator: Any, investigator: Any, cosmo: Patient
) -> None:
    confirmed_checklist(cosmo, coordinator, investigator)
    record = enrolment_complete(user=coordinator, patient=cosmo, values={"registration_date": date(2025, 3, 20)})
    assert isinstance(record, Registration)
    cosmo.refresh_from_db()
    assert (cosmo.enrolment_date, cosmo.status) == (date(2025, 3, 20), "on_study")
    assert cosmo.history.latest().history_change_reason == "Registered"


def test_a_draft_randomisation_may_come_before_eligibility_and_moves_nobody(
    cast: Cast, coordinator: Any, screening: Patient
) -> None:
    record = randomise(screening, coordinator, complete=False, oligo_lesions="")
    assert record.status == "draft"
    screening.refresh_from_db()
    assert (screening.enrolment_date, screening.status) == (None, "screening")


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("none", "Complete the screening & eligibility form before the patient can be randomised."),
        ("draft", "Complete the screening & eligibility form before the patient can be randomised."),
        ("not eligible", "The eligibility form says not eligible: the patient cannot be randomised."),
        ("unconfirmed", "The site investigator must confirm eligibility before the patient can be randomised."),
    ],
)
def test_randomisation_needs_a_complete_eligible_confirmed_checklist(
    cast: Cast, coordinator: Any, investigator: Any, screening: Patient, state: str, message: str
) -> None:
    if state == "draft":
        checklist(screening, coordinator, complete=False)
    elif state == "not eligible":
        values = {**AVATAR_OK, "visceral_crisis": True, "screen_failure_reason": "Visceral crisis"}
        investigator_confirm(user=investigator, record=checklist(screening, coordinator, values))
    elif state == "unconfirmed":
        checklist(screening, coordinator)
    with pytest.raises(ValidationError) as raised:
        randomise(screening, coordinator)
    assert raised.value.message_dict == {"__all__": [message]}
    assert not Randomisation.objects.exists()
    screening.refresh_from_db()
    assert screening.enrolment_date is None


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (date.today() + timedelta(days=1), "Randomisation date cannot be in the future."),
        (CONSENT - timedelta(days=1), f"Randomisation date cannot be before consent ({CONSENT})."),
    ],
)
def test_the_randomisation_date_is_between_consent_and_today(
    cast: Cast, coordinator: Any, investigator: Any, screening: Patient, when: date, message: str
) -> None:
    confirmed_checklist(screening, coordinator, investigator)
    with pytest.raises(ValidationError) as raised:
        randomise(screening, coordinator, randomisation_date=when)
    assert raised.value.message_dict == {"randomisation_date": [message]}
    assert not Randomisation.objects.exists()


def test_a_registration_date_before_consent_is_refused(
    cast: Cast, coordinator: Any, investigator: Any, cosmo: Patient
) -> None:
    confirmed_checklist(cosmo, coordinator, investigator)
    with pytest.raises(ValidationError) as raised:
        enrolment_complete(user=coordinator, patient=cosmo, values={"registration_date": date(2025, 1, 2)})
    assert list(raised.value.message_dict) == ["registration_date"]
    assert not Registration.objects.exists()


def test_a_patient_is_not_randomised_twice(cast: Cast, coordinator: Any, investigator: Any, screening: Patient) -> None:
    confirmed_checklist(screening, coordinator, investigator)
    randomise(screening, coordinator)
    with pytest.raises(ValidationError) as raised:
        services.crf_save(
            user=coordinator,
            model=Randomisation,
            patient=screening,
            visit=visit(screening, coordinator, "enrolment", date(2025, 3, 24)),
            values={"randomisation_date": date(2025, 3, 24), **STRATA},
            complete=False,
        )
    assert raised.value.message_dict == {
        "randomisation_date": [
            "This patient already has a randomisation record: a patient may not be randomised twice."
        ]
    }
    assert Randomisation.objects.count() == 1


def test_a_patient_enrolled_elsewhere_is_not_randomised_on_another_date(cast: Cast, coordinator: Any) -> None:
    # patient_a was randomised on 2025-03-24 before this form existed (the patient record holds the date).
    with pytest.raises(ValidationError) as raised:
        randomise(cast.patient_a, coordinator, complete=False, randomisation_date=date(2025, 4, 1))
    assert raised.value.message_dict == {
        "randomisation_date": [
            "This patient was already enrolled on 2025-03-24: a patient may not be randomised twice."
        ]
    }
    assert not Randomisation.objects.exists()
    # The form may document the enrolment the patient already has.
    assert randomise(cast.patient_a, coordinator, complete=False).pk


def test_correcting_the_randomisation_date_moves_the_patients_date(
    cast: Cast, coordinator: Any, investigator: Any, screening: Patient
) -> None:
    confirmed_checklist(screening, coordinator, investigator)
    record = enrolment_complete(
        user=coordinator, patient=screening, values={"randomisation_date": date(2025, 3, 24), **STRATA}
    )
    enrolment_complete(
        user=coordinator,
        patient=screening,
        instance=record,
        values={"randomisation_date": date(2025, 3, 25)},
        reason="Date transcribed wrongly",
    )
    screening.refresh_from_db()
    assert screening.enrolment_date == date(2025, 3, 25)
    assert screening.history.latest().history_change_reason == "Randomised: date corrected on the Randomisation form"


def test_a_stratum_that_contradicts_the_running_therapy_raises_a_query(
    cast: Cast, coordinator: Any, investigator: Any, screening: Patient
) -> None:
    confirmed_checklist(screening, coordinator, investigator)
    services.crf_save(
        user=coordinator,
        model=SystemicTherapyLine,
        patient=screening,
        complete=True,
        values={
            "line_number": 1,
            "agent_fulvestrant": True,
            "agent_palbociclib": True,
            "start_date": date(2024, 1, 8),
            "best_response": "PR",
        },
    )
    record = randomise(screening, coordinator)  # saved: a warning does not block
    query = Query.objects.get(object_id=record.pk, check_code="check:endocrine_partner_mismatch")
    assert query.field_name == "endocrine_partner"
    assert "fulvestrant / other serd" in query.messages.get().text
    randomise_fixed = services.crf_save(
        user=coordinator,
        model=Randomisation,
        patient=screening,
        instance=record,
        values={"endocrine_partner": "serd"},
        complete=True,
        reason="Stratum corrected to SERD",
    )
    assert Query.objects.get(pk=query.pk).status == "closed"
    assert randomise_fixed.endocrine_partner == "serd"


def test_the_arm_is_not_a_form_field(cast: Cast, coordinator: Any, screening: Patient) -> None:
    arm = cast.avatar2.arms.get(code="A")
    with pytest.raises(ValidationError) as raised:
        randomise(screening, coordinator, complete=False, arm=arm)
    assert raised.value.message_dict == {"arm": ["Not a field of this form."]}


def test_randomising_on_the_screen_moves_the_patient(
    client: Any, cast: Cast, coordinator: Any, investigator: Any, screening: Patient
) -> None:
    confirmed_checklist(screening, coordinator, investigator)
    enrolment_visit = visit(screening, coordinator, "enrolment", date(2025, 3, 24))
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": screening.subject_id, "code": "randomisation"})
    data = {"randomisation_date": "2025-03-24", **STRATA, "visit": enrolment_visit.pk}
    assert client.post(f"{url}?visit={enrolment_visit.pk}", data).status_code == 302  # a draft first
    screening.refresh_from_db()
    assert screening.enrolment_date is None
    record = Randomisation.objects.get()
    edit = reverse(
        "patients:crf_edit", kwargs={"subject_id": screening.subject_id, "code": "randomisation", "pk": record.pk}
    )
    response = client.post(edit, {**data, "complete": "1", "version": record.version, "reason": "Randomised today"})
    assert response.status_code == 302
    screening.refresh_from_db()
    assert (screening.enrolment_date, screening.status) == (date(2025, 3, 24), "on_study")


def test_the_entry_screens_show_the_forms(
    client: Any, cast: Cast, coordinator: Any, screening: Patient, cosmo: Patient
) -> None:
    client.force_login(coordinator)
    for patient, code, kind in [
        (screening, "eligibility-avatar2", "screening"),
        (screening, "randomisation", "enrolment"),
        (cosmo, "eligibility-cosmo", "screening"),
        (cosmo, "registration", "enrolment"),
    ]:
        v = visit(patient, coordinator, kind)
        url = reverse("patients:crf_new", kwargs={"subject_id": patient.subject_id, "code": code})
        response = client.get(f"{url}?visit={v.pk}")
        assert response.status_code == 200, code
        assert "arm" not in response.context["form"].fields
    other = reverse("patients:crf_new", kwargs={"subject_id": screening.subject_id, "code": "registration"})
    assert client.get(other).status_code == 404
