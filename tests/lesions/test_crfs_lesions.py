"""CRF 6 (lesion register) and CRF 7 (local ablative treatment): edit checks, derived values, the write path.

Patient A is in AVATAR II at site A: consent 2025-03-03, randomised 2025-03-24.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from lesions import services
from lesions.models import AssessmentRows, Lesion, LocalAblativeTreatment, NonTargetRow, TargetRow, TumourAssessment
from patients import services as patient_services
from patients.models import Demographics, Patient, Query, Visit

from ..conftest import Cast

CONSENT, ENROLMENT = date(2025, 3, 3), date(2025, 3, 24)
BASELINE_SCAN = date(2025, 3, 14)
TREATED_ON = date(2025, 4, 1)

TARGET = {
    "label": "T1",
    "site_code": "LIVER",
    "measurable": True,
    "role": "target",
    "baseline_tenths": 300,
    "oligoprogressive": False,
    "first_seen_date": date(2025, 3, 1),
}
NODE = {**TARGET, "label": "T2", "site_code": "NODE_MEDIASTINAL", "baseline_tenths": 200}
BONE = {**TARGET, "label": "NT1", "site_code": "BONE_SPINE", "measurable": False, "role": "non_target"}
BONE.pop("baseline_tenths")
OLIGO = {**BONE, "label": "NT2", "site_code": "ADRENAL", "measurable": True, "oligoprogressive": True}
SABR = {
    "modality": "sabr",
    "start_date": TREATED_ON,
    "end_date": TREATED_ON + timedelta(days=4),
    "total_dose_gy": Decimal(45),
    "fractions": 3,
    "technique": "vmat",
}


# Helpers shared with test_tumour_assessment -----------------------------------------------------------------------


def visit(user: Any, patient: Patient, code: str, on: date, occurrence: int = 1) -> Visit:
    found = Visit.objects.filter(patient=patient, definition__code=code, occurrence=occurrence).first()
    if found is not None:
        return found
    return patient_services.visit_record(
        user=user,
        patient=patient,
        definition=patient.trial.visit_definitions.get(code=code),
        occurrence=occurrence,
        status="done",
        visit_date=on,
    )


def add_lesion(user: Any, patient: Patient, complete: bool = True, **values: Any) -> Lesion:
    return services.lesion_save(user=user, patient=patient, values=values, complete=complete)


def add_treatment(user: Any, patient: Patient, lesion: Lesion | None, complete: bool = True, **values: Any) -> Any:
    return services.local_treatment_save(
        user=user,
        patient=patient,
        visit=visit(user, patient, "lat", TREATED_ON),
        values={"lesion": lesion, **values},
        complete=complete,
    )


def add_baseline(user: Any, patient: Patient, scan: date = BASELINE_SCAN, complete: bool = True) -> TumourAssessment:
    """A baseline assessment measuring every target at its register value, every non-target present."""
    lesions = list(Lesion.objects.filter(patient=patient))
    rows = AssessmentRows(
        targets=tuple(TargetRow(x, "MEASURED", x.baseline_tenths, scan) for x in lesions if x.role == "target"),
        non_targets=tuple(NonTargetRow(x, "PRESENT", scan) for x in lesions if x.role == "non_target"),
    )
    return services.tumour_assessment_save(
        user=user,
        patient=patient,
        visit=visit(user, patient, "screening", CONSENT),
        values={"modality": "ct"},
        rows=rows,
        complete=complete,
    )


def refused(call: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        call()
    return raised.value.message_dict


def open_queries(record: Any) -> list[Query]:
    return [q for q in Query.objects.filter(object_id=record.pk, check_code__isnull=False) if q.is_open]


def derived(record: Any) -> dict[str, Any]:
    return dict(record.derived_values())


# CRF 6: lesion register ------------------------------------------------------------------------------------------


def test_a_complete_lesion_is_saved_with_organ_and_node_filled_from_its_site(cast: Cast, coordinator: Any) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **NODE)
    assert (lesion.status, lesion.organ, lesion.nodal, lesion.site_id) == (
        "complete",
        "lymph node",
        True,
        cast.site_a.pk,
    )
    assert derived(lesion)["Localisation category"] == "Distant nodal / soft tissue"
    assert derived(lesion)["Organ (for two targets per organ)"] == "lymph node"
    assert derived(lesion)["Baseline measurement"] == "20.0 mm"


def test_a_draft_lesion_saves_half_filled_but_completing_names_what_is_missing(cast: Cast, coordinator: Any) -> None:
    draft = add_lesion(coordinator, cast.patient_a, complete=False, label="T1")
    assert draft.status == "draft"
    errors = refused(lambda: add_lesion(coordinator, cast.patient_a, label="T2", site_code="LIVER", role="target"))
    assert {"measurable", "oligoprogressive", "first_seen_date", "baseline_tenths"} <= set(errors)
    assert Lesion.objects.count() == 1


def test_a_label_is_unique_for_the_patient_and_well_formed(cast: Cast, coordinator: Any) -> None:
    add_lesion(coordinator, cast.patient_a, **TARGET)
    errors = refused(lambda: add_lesion(coordinator, cast.patient_a, **{**BONE, "label": "T1"}))
    assert errors == {"label": ["Label T1 is already used by another lesion of this patient."]}
    lower = refused(lambda: add_lesion(coordinator, cast.patient_a, **{**BONE, "label": "t1"}))
    assert lower == {"label": ['Letters then a number, e.g. "T1", "NT2", "NEW1".']}
    assert Lesion.objects.count() == 1
    add_lesion(coordinator, cast.patient_a, **{**BONE, "label": "NT9"})


def test_the_same_label_is_fine_for_another_patient(cast: Cast) -> None:
    from trials.models import Role

    add_lesion(cast.user(Role.SITE_COORDINATOR), cast.patient_a, **TARGET)
    admin_of_b = cast.user(Role.INVESTIGATOR)
    admin_of_b.memberships.create(site=cast.site_b)
    add_lesion(admin_of_b, cast.patient_b, **TARGET)
    assert Lesion.objects.filter(label="T1").count() == 2


SIX_ORGANS = ["LIVER", "LUNG", "BRAIN", "ADRENAL", "PERITONEUM", "OVARY"]


def test_at_most_five_targets(cast: Cast, coordinator: Any) -> None:
    for number, code in enumerate(SIX_ORGANS[:5], start=1):
        add_lesion(coordinator, cast.patient_a, **{**TARGET, "label": f"T{number}", "site_code": code})
    errors = refused(lambda: add_lesion(coordinator, cast.patient_a, **{**TARGET, "label": "T6", "site_code": "OVARY"}))
    assert errors == {"role": ["At most 5 target lesions; 6 are selected."]}
    assert Lesion.objects.count() == 5
    add_lesion(coordinator, cast.patient_a, **{**TARGET, "label": "NT6", "site_code": "OVARY", "role": "non_target"})


@pytest.mark.parametrize(
    ("codes", "organ"),
    [
        (["LIVER", "LIVER", "LIVER"], "liver"),
        (["BONE_SPINE", "BONE_PELVIS", "SKULL"], "bone"),  # D37: all bone is one organ
        (["NODE_MEDIASTINAL", "SUPRACLAV_IPSI", "NODE_ABDOMINAL"], "lymph node"),  # all nodes one organ
    ],
)
def test_at_most_two_targets_per_organ(cast: Cast, coordinator: Any, codes: list[str], organ: str) -> None:
    for number, code in enumerate(codes[:2], start=1):
        add_lesion(
            coordinator, cast.patient_a, **{**TARGET, "label": f"T{number}", "site_code": code, "baseline_tenths": 200}
        )
    third = {**TARGET, "label": "T3", "site_code": codes[2], "baseline_tenths": 200}
    errors = refused(lambda: add_lesion(coordinator, cast.patient_a, **third))
    assert errors == {"role": [f"At most 2 target lesions per organ; {organ} has 3."]}
    assert Lesion.objects.count() == 2


@pytest.mark.parametrize(
    ("code", "tenths", "ok"),
    [
        ("NODE_MEDIASTINAL", 149, False),  # a node needs 15 mm short axis
        ("NODE_MEDIASTINAL", 150, True),
        ("LIVER", 99, False),  # non-nodal: 10 mm longest diameter
        ("LIVER", 100, True),
    ],
)
def test_a_target_is_big_enough_to_measure(cast: Cast, coordinator: Any, code: str, tenths: int, ok: bool) -> None:
    values = {**TARGET, "site_code": code, "baseline_tenths": tenths}
    if ok:
        assert add_lesion(coordinator, cast.patient_a, **values).baseline_tenths == tenths
        return
    errors = refused(lambda: add_lesion(coordinator, cast.patient_a, **values))
    assert list(errors) == ["baseline_tenths"]
    assert "at least 1" in errors["baseline_tenths"][0]
    assert not Lesion.objects.exists()


@pytest.mark.parametrize(("role", "tenths"), [("target", 0), ("target", 5000), ("non_target", 0), ("non_target", 5000)])
def test_a_baseline_diameter_is_above_0_and_below_500_mm(cast: Cast, coordinator: Any, role: str, tenths: int) -> None:
    errors = refused(
        lambda: add_lesion(coordinator, cast.patient_a, **{**TARGET, "role": role, "baseline_tenths": tenths})
    )
    assert list(errors) == ["baseline_tenths"]
    assert not Lesion.objects.exists()
    add_lesion(coordinator, cast.patient_a, **{**TARGET, "role": role, "baseline_tenths": 4999})


def test_a_locally_treated_lesion_is_never_a_target(cast: Cast, coordinator: Any) -> None:
    values = {**TARGET, "locally_treated": True, "locally_treated_date": date(2025, 3, 2)}
    errors = refused(lambda: add_lesion(coordinator, cast.patient_a, **values))
    assert errors == {"role": ["A locally treated lesion cannot be a target; record it as a non-target."]}
    assert not Lesion.objects.exists()


def test_a_target_is_measurable_and_never_leptomeningeal(cast: Cast, coordinator: Any) -> None:
    errors = refused(lambda: add_lesion(coordinator, cast.patient_a, **{**TARGET, "measurable": False}))
    assert list(errors) == ["measurable"]
    errors = refused(lambda: add_lesion(coordinator, cast.patient_a, **{**TARGET, "site_code": "LEPTOMENINGES"}))
    assert list(errors) == ["site_code"]
    assert not Lesion.objects.exists()


def test_an_axillary_lesion_must_say_whether_it_is_a_node(cast: Cast, coordinator: Any) -> None:
    values = {**BONE, "site_code": "AXILLA_IPSI"}
    assert list(refused(lambda: add_lesion(coordinator, cast.patient_a, **values))) == ["nodal"]
    assert add_lesion(coordinator, cast.patient_a, **values, nodal=False).organ_group == "axilla"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"first_seen_date": timezone.localdate() + timedelta(days=1)}, "first_seen_date"),
        (
            {"locally_treated": True, "locally_treated_date": timezone.localdate() + timedelta(days=1)},
            "locally_treated_date",
        ),
        (
            {"locally_treated": True, "locally_treated_date": date(2025, 2, 1)},
            "locally_treated_date",
        ),  # before first seen
        ({"locally_treated": True}, "locally_treated_date"),  # needs its date to complete
    ],
)
def test_lesion_dates_are_checked(cast: Cast, coordinator: Any, values: dict[str, Any], field: str) -> None:
    errors = refused(lambda: add_lesion(coordinator, cast.patient_a, **{**BONE, **values}))
    assert list(errors) == [field]
    assert not Lesion.objects.exists()


def test_history_before_consent_is_allowed(cast: Cast, coordinator: Any) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **{**BONE, "first_seen_date": date(2024, 6, 1)})
    assert lesion.first_seen_date < CONSENT


def test_a_baseline_lesion_is_seen_by_the_baseline_scan_and_a_new_one_after_it(cast: Cast, coordinator: Any) -> None:
    add_lesion(coordinator, cast.patient_a, **TARGET)
    add_baseline(coordinator, cast.patient_a)
    late = {**BONE, "first_seen_date": BASELINE_SCAN + timedelta(days=1)}
    assert list(refused(lambda: add_lesion(coordinator, cast.patient_a, **late))) == ["first_seen_date"]
    early_new = {**BONE, "label": "NEW1", "role": "new", "first_seen_date": BASELINE_SCAN}
    assert list(refused(lambda: add_lesion(coordinator, cast.patient_a, **early_new))) == ["first_seen_date"]
    assert Lesion.objects.count() == 1
    add_lesion(coordinator, cast.patient_a, **{**early_new, "first_seen_date": date(2025, 6, 12)})


def test_a_lesion_seen_before_the_primary_diagnosis_raises_a_query(cast: Cast, coordinator: Any) -> None:
    patient_services.crf_save(
        user=coordinator,
        model=Demographics,
        patient=cast.patient_a,
        visit=visit(coordinator, cast.patient_a, "screening", CONSENT),
        values={"primary_diagnosis_date": "2019-04"},
        complete=False,
    )
    lesion = add_lesion(coordinator, cast.patient_a, **{**BONE, "first_seen_date": date(2019, 3, 20)})
    assert [(q.field_name, q.check_code) for q in open_queries(lesion)] == [
        ("first_seen_date", "check:before_primary_diagnosis")
    ]


def test_oligoprogression_in_two_categories_is_saved_as_mixed_with_a_query(cast: Cast, coordinator: Any) -> None:
    add_lesion(coordinator, cast.patient_a, **OLIGO)  # adrenal: visceral
    bone = add_lesion(coordinator, cast.patient_a, **{**BONE, "oligoprogressive": True})
    assert [q.check_code for q in open_queries(bone)] == ["check:localisation_mixed"]
    assert derived(bone)["Patient's localisation category"] == "Mixed (query): visceral, bone"
    services.lesion_save(
        user=coordinator,
        patient=cast.patient_a,
        instance=bone,
        values={"oligoprogressive": False},
        complete=True,
        reason="Not progressing on review of the PET-CT",
    )
    assert open_queries(bone) == []
    assert derived(Lesion.objects.get(label="NT2"))["Patient's localisation category"] == "Visceral"


def test_a_draft_raises_no_query(cast: Cast, coordinator: Any) -> None:
    add_lesion(coordinator, cast.patient_a, **OLIGO)
    draft = add_lesion(coordinator, cast.patient_a, complete=False, **{**BONE, "oligoprogressive": True})
    assert open_queries(draft) == []


def test_the_lesion_form_takes_millimetres_and_stores_tenths(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "lesion"})
    values = {**TARGET, "label": "t1", "baseline_tenths": "30.5", "measurable": "true", "oligoprogressive": "false"}
    response = client.post(url, {**values, "complete": "1"})
    lesion = Lesion.objects.get()
    assert response.status_code == 302
    assert (lesion.label, lesion.baseline_tenths) == ("T1", 305)
    page = client.get(response.url)
    assert 'value="30.5"' in page.content.decode()
    assert 'name="first_seen_date" value="2025-03-01"' in page.content.decode()
    assert dict(page.context["derived"])["Localisation category"] == "Visceral"


def test_the_lesion_form_shows_an_edit_check_beside_its_field(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "lesion"})
    values = {**TARGET, "baseline_tenths": "9.9", "measurable": "true", "oligoprogressive": "false"}
    response = client.post(url, {**values, "complete": "1"})
    assert response.status_code == 200
    assert response.context["form"].errors["baseline_tenths"] == [
        "A non-nodal target needs a longest diameter of at least 10.0 mm."
    ]
    assert not Lesion.objects.exists()


# CRF 7: local ablative treatment ---------------------------------------------------------------------------------


def test_sabr_marks_the_lesion_locally_treated_with_a_reason_and_shows_bed_and_eqd2(
    cast: Cast, coordinator: Any
) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **OLIGO)
    treatment = add_treatment(coordinator, cast.patient_a, lesion, **SABR)
    lesion.refresh_from_db()
    assert (lesion.locally_treated, lesion.locally_treated_date, lesion.version) == (True, TREATED_ON, 2)
    assert lesion.history.latest().history_change_reason == f"Locally treated: SABR (treatment record {treatment.pk})"
    assert lesion.history.latest().history_user == coordinator
    values = derived(treatment)
    assert (values["Dose per fraction (Gy)"], values["BED₁₀ (Gy)"], values["EQD2₁₀ (Gy)"]) == (
        Decimal("15.00"),
        Decimal("112.50"),
        Decimal("93.75"),
    )


@pytest.mark.parametrize(
    ("values", "bed", "eqd2"),
    [
        ({"total_dose_gy": Decimal(35), "fractions": 5}, "59.50", "49.58"),
        ({"total_dose_gy": Decimal(20), "fractions": 1}, "60.00", "50.00"),
    ],
)
def test_bed_and_eqd2_follow_the_course(
    cast: Cast, coordinator: Any, values: dict[str, Any], bed: str, eqd2: str
) -> None:
    treatment = LocalAblativeTreatment(patient=cast.patient_a, modality="sabr", **values)
    assert (derived(treatment)["BED₁₀ (Gy)"], derived(treatment)["EQD2₁₀ (Gy)"]) == (Decimal(bed), Decimal(eqd2))


@pytest.mark.parametrize(
    "values",
    [
        {"modality": "surgery", "start_date": TREATED_ON, "procedure": "Adrenalectomy", "margin": "R0"},
        {"modality": "rfa", "start_date": TREATED_ON, "approach": "percutaneous"},
    ],
)
def test_surgery_and_rfa_complete_with_their_own_fields(cast: Cast, coordinator: Any, values: dict[str, Any]) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **OLIGO)
    treatment = add_treatment(coordinator, cast.patient_a, lesion, **values)
    assert treatment.status == "complete"
    assert Lesion.objects.get().locally_treated


def test_a_target_cannot_be_locally_treated(cast: Cast, coordinator: Any) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **TARGET)
    errors = refused(lambda: add_treatment(coordinator, cast.patient_a, lesion, **SABR))
    assert list(errors) == ["lesion"]
    assert "T1 is a target lesion" in errors["lesion"][0]
    assert not LocalAblativeTreatment.objects.exists()
    assert not Lesion.objects.get().locally_treated


def test_a_lesion_of_another_patient_cannot_be_treated(cast: Cast, coordinator: Any) -> None:
    from trials.models import Role

    investigator = cast.user(Role.INVESTIGATOR)
    investigator.memberships.create(site=cast.site_b)
    other = add_lesion(investigator, cast.patient_b, **OLIGO)
    errors = refused(lambda: add_treatment(coordinator, cast.patient_a, other, **SABR))
    assert errors == {"lesion": ["This lesion belongs to another patient."]}
    assert not LocalAblativeTreatment.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"total_dose_gy": Decimal(0)}, "total_dose_gy"),
        ({"total_dose_gy": Decimal("100.01"), "fractions": 5}, "total_dose_gy"),
        ({"fractions": 0}, "fractions"),
        ({"fractions": 16, "total_dose_gy": Decimal(48)}, "fractions"),
        ({"total_dose_gy": Decimal(36), "fractions": 1}, "total_dose_gy"),  # 36 Gy per fraction
        ({"end_date": TREATED_ON - timedelta(days=1)}, "end_date"),
        ({"start_date": ENROLMENT - timedelta(days=1), "end_date": ENROLMENT}, "start_date"),
        ({"start_date": timezone.localdate() + timedelta(days=1), "end_date": None}, "start_date"),
        ({"start_date": date(2025, 2, 28), "end_date": None}, "start_date"),  # before the lesion was first seen
        ({"margin": "R1"}, "margin"),  # a surgical field on a SABR record
        ({"technique": ""}, "technique"),  # needed to complete SABR
    ],
)
def test_implausible_or_misplaced_treatment_values_are_refused(
    cast: Cast, coordinator: Any, values: dict[str, Any], field: str
) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **OLIGO)
    errors = refused(lambda: add_treatment(coordinator, cast.patient_a, lesion, **{**SABR, **values}))
    assert field in errors
    assert not LocalAblativeTreatment.objects.exists()
    assert not Lesion.objects.get().locally_treated


def test_sabr_at_35_gy_per_fraction_and_100_gy_is_plausible(cast: Cast, coordinator: Any) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **OLIGO)
    add_treatment(coordinator, cast.patient_a, lesion, **{**SABR, "total_dose_gy": Decimal(35), "fractions": 1})
    add_treatment(coordinator, cast.patient_a, lesion, **{**SABR, "total_dose_gy": Decimal(100), "fractions": 15})
    assert LocalAblativeTreatment.objects.count() == 2


def test_a_treatment_before_consent_names_consent(cast: Cast, coordinator: Any) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **{**OLIGO, "first_seen_date": date(2025, 1, 2)})
    errors = refused(
        lambda: add_treatment(coordinator, cast.patient_a, lesion, **{**SABR, "start_date": date(2025, 3, 1)})
    )
    assert any("consent" in message for message in errors["start_date"])


@pytest.mark.parametrize(
    ("modality", "missing"),
    [
        ("sabr", {"total_dose_gy", "fractions", "end_date", "technique"}),
        ("surgery", {"procedure", "margin"}),
        ("rfa", {"approach"}),
    ],
)
def test_a_draft_treatment_may_lack_its_modality_fields_but_completing_needs_them(
    cast: Cast, coordinator: Any, modality: str, missing: set[str]
) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **OLIGO)
    values = {"modality": modality, "start_date": TREATED_ON}
    assert set(refused(lambda: add_treatment(coordinator, cast.patient_a, lesion, **values))) == missing
    draft = add_treatment(coordinator, cast.patient_a, lesion, complete=False, **values)
    assert draft.status == "draft"


def test_a_treated_lesion_cannot_be_unmarked_on_the_register(cast: Cast, coordinator: Any) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **OLIGO)
    add_treatment(coordinator, cast.patient_a, lesion, **SABR)
    errors = refused(
        lambda: services.lesion_save(
            user=coordinator,
            patient=cast.patient_a,
            instance=Lesion.objects.get(pk=lesion.pk),
            values={"locally_treated": False, "locally_treated_date": None},
            complete=True,
            reason="Not treated",
        )
    )
    assert list(errors) == ["locally_treated"]
    assert Lesion.objects.get(pk=lesion.pk).locally_treated


def test_a_register_form_opened_before_the_treatment_is_refused_as_stale(cast: Cast, coordinator: Any) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **OLIGO)
    opened = lesion.version
    add_treatment(coordinator, cast.patient_a, lesion, **SABR)
    with pytest.raises(ValidationError, match="changed by someone else"):
        services.lesion_save(
            user=coordinator,
            patient=cast.patient_a,
            instance=Lesion.objects.get(pk=lesion.pk),
            values={"organ": "left adrenal"},
            complete=True,
            reason="Side",
            expected_version=opened,
        )


def test_moving_a_treatment_to_another_lesion_unmarks_the_first(cast: Cast, coordinator: Any) -> None:
    first = add_lesion(coordinator, cast.patient_a, **OLIGO)
    second = add_lesion(coordinator, cast.patient_a, **{**OLIGO, "label": "NT3", "site_code": "LIVER"})
    treatment = add_treatment(coordinator, cast.patient_a, first, **SABR)
    services.local_treatment_save(
        user=coordinator,
        patient=cast.patient_a,
        instance=LocalAblativeTreatment.objects.get(pk=treatment.pk),
        values={"lesion": second},
        complete=True,
        reason="SABR was given to the liver lesion",
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.locally_treated, second.locally_treated, second.locally_treated_date) == (False, True, TREATED_ON)


def test_the_treatment_form_offers_only_this_patients_lesions_and_shows_bed(
    client: Any, cast: Cast, coordinator: Any
) -> None:
    lesion = add_lesion(coordinator, cast.patient_a, **OLIGO)
    lat = visit(coordinator, cast.patient_a, "lat", TREATED_ON)
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "local-treatment"})
    page = client.get(f"{url}?visit={lat.pk}")
    assert list(page.context["form"].fields["lesion"].queryset) == [lesion]
    response = client.post(
        f"{url}?visit={lat.pk}",
        {**SABR, "lesion": lesion.pk, "visit": lat.pk, "complete": "1"},
    )
    assert response.status_code == 302
    shown = dict(client.get(response.url).context["derived"])
    assert (shown["BED₁₀ (Gy)"], shown["EQD2₁₀ (Gy)"]) == (Decimal("112.50"), Decimal("93.75"))
    preview = client.post(
        reverse("patients:crf_preview", kwargs={"subject_id": cast.patient_a.subject_id, "code": "local-treatment"}),
        {"modality": "sabr", "total_dose_gy": "35", "fractions": "5"},
    )
    assert "59.50" in preview.content.decode() and "49.58" in preview.content.decode()
