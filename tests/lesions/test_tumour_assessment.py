"""CRF 8, tumour assessment: the rows, their edit checks, and the computed RECIST response beside the investigator's.

Register of patient A (AVATAR II, randomised 2025-03-24): T1 liver 30.0 mm and T2 mediastinal node 20.0 mm
(baseline sum 50.0 mm), NT1 spine, NT2 adrenal (oligoprogressive, SABR on 2025-04-01, so locally treated).
Baseline scan 2025-03-14; the first follow-up scans on 2025-06-12.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from lesions import services
from lesions.models import (
    AssessmentRows,
    Lesion,
    NewLesion,
    NewLesionRow,
    NonTargetRow,
    TargetMeasurement,
    TargetRow,
    TumourAssessment,
)
from patients.models import Patient

from ..conftest import Cast
from .test_crfs_lesions import (
    BASELINE_SCAN,
    BONE,
    ENROLMENT,
    NODE,
    OLIGO,
    SABR,
    TARGET,
    TREATED_ON,
    add_baseline,
    add_lesion,
    add_treatment,
    open_queries,
    refused,
    visit,
)

SCAN = date(2025, 6, 12)


@pytest.fixture
def register(cast: Cast, coordinator: Any) -> dict[str, Lesion]:
    lesions = {v["label"]: add_lesion(coordinator, cast.patient_a, **v) for v in (TARGET, NODE, BONE, OLIGO)}
    add_treatment(coordinator, cast.patient_a, lesions["NT2"], **SABR)
    lesions["NT2"].refresh_from_db()
    return lesions


@pytest.fixture
def baseline(cast: Cast, coordinator: Any, register: dict[str, Lesion]) -> TumourAssessment:
    return add_baseline(coordinator, cast.patient_a)


def rows(
    lesions: dict[str, Lesion],
    t1: int | str = 300,
    t2: int | str = 200,
    scan: date = SCAN,
    nt1: str = "PRESENT",
    nt2: str = "PRESENT",
    new: tuple[NewLesionRow, ...] = (),
) -> AssessmentRows:
    def target(label: str, value: int | str) -> TargetRow:
        if isinstance(value, int):
            return TargetRow(lesions[label], "MEASURED", value, scan)
        return TargetRow(lesions[label], value, None, None if value == "NOT_EVALUATED" else scan)

    return AssessmentRows(
        targets=(target("T1", t1), target("T2", t2)),
        non_targets=(NonTargetRow(lesions["NT1"], nt1, scan), NonTargetRow(lesions["NT2"], nt2, scan)),
        new_lesions=new,
    )


def follow_up(
    user: Any,
    patient: Patient,
    given: AssessmentRows,
    response: str = "SD",
    occurrence: int = 1,
    complete: bool = True,
    **values: Any,
) -> TumourAssessment:
    on = ENROLMENT + timedelta(days=84 * occurrence)
    return services.tumour_assessment_save(
        user=user,
        patient=patient,
        visit=visit(user, patient, "follow-up", on, occurrence),
        values={"modality": "ct", "investigator_response": response, **values},
        rows=given,
        complete=complete,
    )


def counts() -> tuple[int, int]:
    return TumourAssessment.objects.count(), TargetMeasurement.objects.count()


# The good path ---------------------------------------------------------------------------------------------------


def test_a_baseline_assessment_stores_its_rows_date_and_sum(cast: Cast, baseline: TumourAssessment) -> None:
    assert (baseline.status, baseline.assessment_date, baseline.baseline_sum_tenths) == ("complete", BASELINE_SCAN, 500)
    measurements = baseline.target_measurements.order_by("lesion__label")
    assert [(m.lesion.label, m.diameter_tenths, m.site_id) for m in measurements] == [
        ("T1", 300, cast.site_a.pk),
        ("T2", 200, cast.site_a.pk),
    ]
    assert baseline.non_target_observations.count() == 2
    assert open_queries(baseline) == []


def test_a_follow_up_stores_the_computed_response_beside_the_investigators(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    # 21.0 + 14.0 = 35.0 mm: exactly −30 % from 50.0 mm, so PR (clinical-spec C03).
    assessment = follow_up(coordinator, cast.patient_a, rows(register, 210, 140), response="PR")
    assert (assessment.investigator_response, assessment.computed_response, assessment.response_differs) == (
        "PR",
        "PR",
        False,
    )
    assert (assessment.target_sum_tenths, assessment.baseline_sum_tenths, assessment.nadir_tenths) == (350, 500, 500)
    assert assessment.change_from_baseline_percent == Decimal("-30.0")
    assert assessment.assessment_date == SCAN
    assert assessment.computed_algorithm_version.startswith("recist-1.1")
    assert open_queries(assessment) == []


def test_a_computed_response_that_differs_is_stored_beside_the_investigators_with_a_query(
    client: Any, cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    # 40.0 + 25.0 = 65.0 mm: +30 % and +15 mm over the nadir 50.0 mm, so PD; the investigator says SD.
    assessment = follow_up(coordinator, cast.patient_a, rows(register, 400, 250), response="SD")
    assert (assessment.investigator_response, assessment.computed_response, assessment.response_differs) == (
        "SD",
        "PD",
        True,
    )
    assert [(q.field_name, q.check_code) for q in open_queries(assessment)] == [
        ("investigator_response", "recist:discrepancy")
    ]
    client.force_login(coordinator)
    page = client.get(
        reverse(
            "patients:crf_edit",
            kwargs={"subject_id": cast.patient_a.subject_id, "code": "tumour-assessment", "pk": assessment.pk},
        )
    )
    shown = dict(page.context["derived"])
    assert (shown["Computed overall response (RECIST 1.1)"], shown["Investigator's overall response"]) == ("PD", "SD")
    assert shown["Differs from the investigator's"] == "Yes"
    assert (shown["Target sum"], shown["Change from baseline"], shown["Change from nadir"]) == (
        "65.0 mm",
        "+30.0 %",
        "+30.0 %",
    )
    # A correction of the measurements, with a reason, recomputes and closes the query; the investigator's stays.
    services.tumour_assessment_save(
        user=coordinator,
        patient=cast.patient_a,
        visit=assessment.visit,
        instance=TumourAssessment.objects.get(pk=assessment.pk),
        values={},
        rows=rows(register, 300, 210),
        complete=True,
        reason="Transcription error on T1, corrected from the CT report",
    )
    assessment.refresh_from_db()
    assert (assessment.investigator_response, assessment.computed_response, assessment.response_differs) == (
        "SD",
        "SD",
        False,
    )
    assert open_queries(assessment) == []
    row = TargetMeasurement.objects.get(assessment=assessment, lesion=register["T1"])
    assert row.history.latest().history_change_reason == "Transcription error on T1, corrected from the CT report"


def test_a_draft_is_not_computed_until_complete(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    draft = follow_up(coordinator, cast.patient_a, rows(register, 400, 250), response="", complete=False)
    assert (draft.status, draft.computed_response, draft.response_differs) == ("draft", "", None)
    preview = dict(draft.derived_values())
    assert preview["Computed overall response (RECIST 1.1)"] == "PD"
    assert preview["Status"].startswith("Preview")
    with pytest.raises(Exception, match="investigator"):
        follow_up(coordinator, cast.patient_a, rows(register, 400, 250), response="")


def test_without_a_baseline_nothing_is_computed_and_the_form_says_why(
    cast: Cast, coordinator: Any, register: dict[str, Lesion]
) -> None:
    assessment = follow_up(coordinator, cast.patient_a, rows(register, 400, 250))
    assert assessment.computed_response == ""
    assert "no complete baseline" in assessment.computed_explanation


def test_local_failure_of_a_treated_lesion_is_progression(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    assert register["NT2"].locally_treated
    assessment = follow_up(coordinator, cast.patient_a, rows(register, nt2="UNEQUIVOCAL_PROGRESSION"), response="PD")
    assert (assessment.computed_non_target_response, assessment.computed_response) == ("PD", "PD")


def test_a_confirmed_equivocal_lesion_dates_progression_back(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    equivocal = NewLesionRow("EQUIVOCAL", SCAN, "LIVER")
    first = follow_up(coordinator, cast.patient_a, rows(register, new=(equivocal,)), response="SD")
    assert first.computed_response == "SD"
    earlier = NewLesion.objects.get()
    later_scan = SCAN + timedelta(days=84)
    confirming = NewLesionRow("YES", later_scan, "LIVER", confirms=earlier)
    follow_up(
        coordinator, cast.patient_a, rows(register, scan=later_scan, new=(confirming,)), response="PD", occurrence=2
    )
    first.refresh_from_db()
    assert (first.computed_response, first.response_differs) == ("PD", True)  # D27: PD dated to the equivocal scan
    assert [q.check_code for q in open_queries(first)] == ["recist:discrepancy"]


# Edit checks on the rows: bad input saves nothing and names the field ----------------------------------------------

FUTURE = timezone.localdate() + timedelta(days=1)


@pytest.mark.parametrize(
    ("change", "code_in_message"),
    [
        ({"t1": 0}, "greater than 0 mm"),
        ({"t1": 5000}, "less than 500 mm"),
        ({"scan": FUTURE}, "future"),
        ({"scan": ENROLMENT - timedelta(days=1)}, "before enrolment"),
        ({"scan": TREATED_ON - timedelta(days=1)}, "before the local ablative treatment"),
    ],
)
def test_bad_target_rows_are_refused_and_save_nothing(
    cast: Cast,
    coordinator: Any,
    register: dict[str, Lesion],
    baseline: TumourAssessment,
    change: dict[str, Any],
    code_in_message: str,
) -> None:
    before = counts()
    errors = refused(lambda: follow_up(coordinator, cast.patient_a, rows(register, **change)))
    assert "targets" in errors
    assert any(message.startswith("T1: ") and code_in_message in message for message in errors["targets"])
    assert counts() == before


def test_a_follow_up_scan_is_after_the_baseline_scan(cast: Cast, coordinator: Any, register: dict[str, Lesion]) -> None:
    # A patient treated on the day of randomisation and scanned at baseline after it (a window breach upstream).
    add_baseline(coordinator, cast.patient_a, scan=TREATED_ON + timedelta(days=10))
    errors = refused(
        lambda: follow_up(coordinator, cast.patient_a, rows(register, scan=TREATED_ON + timedelta(days=5)))
    )
    assert any("after the baseline scan" in message for message in errors["targets"])


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (TargetRow, "a measured lesion needs its diameter"),
        (lambda lesion, *a: TargetRow(lesion, "ABSENT", 120, SCAN), "only when the lesion is measured"),
        (lambda lesion, *a: TargetRow(lesion, "ABSENT", None, None), "give the scan date"),
    ],
)
def test_a_target_row_is_consistent(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment, target: Any, message: str
) -> None:
    given = rows(register)
    bad = target(register["T1"], "MEASURED", None, SCAN)
    before = counts()
    errors = refused(
        lambda: follow_up(coordinator, cast.patient_a, AssessmentRows((bad, given.targets[1]), given.non_targets))
    )
    assert any(message in text for text in errors["targets"])
    assert counts() == before


def test_completing_needs_a_row_for_every_target_and_non_target(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    given = rows(register)
    partial = AssessmentRows(given.targets[:1], given.non_targets[:1])
    errors = refused(lambda: follow_up(coordinator, cast.patient_a, partial))
    assert errors["targets"] == ["T2: record a diameter, too small to measure, absent or not evaluated."]
    assert errors["non_targets"] == ["NT2: record present, absent, unequivocal progression or not evaluated."]
    assert follow_up(coordinator, cast.patient_a, partial, complete=False).status == "draft"


def test_a_non_target_row_needs_its_scan_date(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    given = rows(register)
    bad = AssessmentRows(given.targets, (NonTargetRow(register["NT1"], "PRESENT", None), given.non_targets[1]))
    assert refused(lambda: follow_up(coordinator, cast.patient_a, bad)) == {"non_targets": ["NT1: give the scan date."]}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (NewLesionRow("YES", None, "LIVER"), "New lesion 1: give the scan date."),
        (NewLesionRow("", SCAN, "LIVER"), "New lesion 1: say whether it is equivocal or unequivocal."),
        (NewLesionRow("YES", SCAN, ""), "New lesion 1: give the anatomical site."),
        (NewLesionRow("YES", FUTURE, "LIVER"), "New lesion 1: the scan date cannot be in the future."),
    ],
)
def test_a_new_lesion_row_is_complete(
    cast: Cast,
    coordinator: Any,
    register: dict[str, Lesion],
    baseline: TumourAssessment,
    row: NewLesionRow,
    message: str,
) -> None:
    before = counts()
    errors = refused(lambda: follow_up(coordinator, cast.patient_a, rows(register, new=(row,)), response="PD"))
    assert message in errors["new_lesions"]
    assert counts() == before and not NewLesion.objects.exists()


def test_a_confirmation_links_to_an_earlier_equivocal_finding_only_once(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    follow_up(coordinator, cast.patient_a, rows(register, new=(NewLesionRow("YES", SCAN, "LIVER"),)), response="PD")
    unequivocal = NewLesion.objects.get()
    later = SCAN + timedelta(days=84)
    bad = rows(register, scan=later, new=(NewLesionRow("YES", later, "LIVER", confirms=unequivocal),))
    errors = refused(lambda: follow_up(coordinator, cast.patient_a, bad, response="PD", occurrence=2))
    assert errors["new_lesions"] == [
        "New lesion 1: it can only confirm an equivocal new lesion of an earlier assessment."
    ]


def test_a_finding_confirmed_later_cannot_be_removed(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    first = follow_up(coordinator, cast.patient_a, rows(register, new=(NewLesionRow("EQUIVOCAL", SCAN, "LIVER"),)))
    earlier = NewLesion.objects.get()
    later = SCAN + timedelta(days=84)
    follow_up(
        coordinator,
        cast.patient_a,
        rows(register, scan=later, new=(NewLesionRow("YES", later, "LIVER", confirms=earlier),)),
        response="PD",
        occurrence=2,
    )
    errors = refused(
        lambda: services.tumour_assessment_save(
            user=coordinator,
            patient=cast.patient_a,
            visit=first.visit,
            instance=TumourAssessment.objects.get(pk=first.pk),
            values={},
            rows=rows(register),
            complete=True,
            reason="Removing the finding",
        )
    )
    assert "is confirmed by a later assessment: it stays." in errors["new_lesions"][0]
    assert NewLesion.objects.count() == 2


def test_a_baseline_measures_every_target_and_has_no_new_lesions(
    cast: Cast, coordinator: Any, register: dict[str, Lesion]
) -> None:
    given = rows(
        register, t1="TOO_SMALL_TO_MEASURE", scan=BASELINE_SCAN, new=(NewLesionRow("YES", BASELINE_SCAN, "LUNG"),)
    )
    errors = refused(
        lambda: services.tumour_assessment_save(
            user=coordinator,
            patient=cast.patient_a,
            visit=visit(coordinator, cast.patient_a, "screening", date(2025, 3, 3)),
            values={"modality": "ct"},
            rows=given,
            complete=True,
        )
    )
    assert errors["targets"] == ["T1: at baseline every target lesion is measured."]
    assert errors["new_lesions"] == ["A baseline assessment has no new lesions: register them as baseline lesions."]
    assert counts() == (0, 0)


def test_an_edit_with_a_bad_row_is_refused_before_anything_is_written(
    cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    assessment = follow_up(coordinator, cast.patient_a, rows(register))
    instance = TumourAssessment.objects.get(pk=assessment.pk)
    errors = refused(
        lambda: services.tumour_assessment_save(
            user=coordinator,
            patient=cast.patient_a,
            visit=assessment.visit,
            instance=instance,
            values={"investigator_response": ""},
            rows=rows(register, t1=6000),
            complete=True,
            reason="Re-measured",
        )
    )
    # The rows are checked with the record (not after it is saved), so every error comes back at once.
    assert set(errors) == {"investigator_response", "targets"}
    stored = TumourAssessment.objects.get(pk=assessment.pk)
    assert (stored.investigator_response, stored.version) == ("SD", assessment.version)
    assert TargetMeasurement.objects.get(assessment=assessment, lesion=register["T1"]).diameter_tenths == 300


# Warnings: saved, with an automatic query ---------------------------------------------------------------------------


def test_a_baseline_scan_too_long_before_the_origin_raises_a_query(
    cast: Cast, coordinator: Any, register: dict[str, Lesion]
) -> None:
    assessment = add_baseline(coordinator, cast.patient_a, scan=ENROLMENT - timedelta(days=29))
    assert assessment.status == "complete"
    assert [(q.field_name, q.check_code) for q in open_queries(assessment)] == [
        ("assessment_date", "check-rows:baseline_window")
    ]


def test_a_baseline_scan_28_days_before_the_origin_is_within_the_window(
    cast: Cast, coordinator: Any, register: dict[str, Lesion]
) -> None:
    assert open_queries(add_baseline(coordinator, cast.patient_a, scan=ENROLMENT - timedelta(days=28))) == []


def test_a_baseline_measurement_that_differs_from_the_register_raises_a_query_and_is_used(
    cast: Cast, coordinator: Any, register: dict[str, Lesion]
) -> None:
    given = rows(register, t1=320, scan=BASELINE_SCAN)
    assessment = services.tumour_assessment_save(
        user=coordinator,
        patient=cast.patient_a,
        visit=visit(coordinator, cast.patient_a, "screening", date(2025, 3, 3)),
        values={"modality": "ct"},
        rows=given,
        complete=True,
    )
    assert [q.check_code for q in open_queries(assessment)] == ["check-rows:baseline_differs"]
    assert assessment.baseline_sum_tenths == 520


# Through the screen ---------------------------------------------------------------------------------------------


def _management(prefix: str, total: int, initial: int) -> dict[str, Any]:
    return {f"{prefix}-TOTAL_FORMS": total, f"{prefix}-INITIAL_FORMS": initial}


def test_the_assessment_screen_prefills_the_targets_and_saves_rows_in_millimetres(
    client: Any, cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    on = visit(coordinator, cast.patient_a, "follow-up", ENROLMENT + timedelta(days=84))
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "tumour-assessment"})
    page = client.get(f"{url}?visit={on.pk}")
    targets, non_targets, _ = page.context["formsets"]
    assert [form.lesion_display for form in targets] == [str(register["T1"]), str(register["T2"])]
    assert "locally treated" in non_targets.forms[1].lesion_display
    post = {
        "visit": on.pk,
        "modality": "ct",
        "investigator_response": "SD",
        "default_scan_date": SCAN,
        **_management("targets", 2, 2),
        "targets-0-lesion": register["T1"].pk,
        "targets-0-diameter_tenths": "40.0",
        "targets-1-lesion": register["T2"].pk,
        "targets-1-status": "MEASURED",
        "targets-1-diameter_tenths": "25.0",
        **_management("non_targets", 2, 2),
        "non_targets-0-lesion": register["NT1"].pk,
        "non_targets-0-status": "PRESENT",
        "non_targets-1-lesion": register["NT2"].pk,
        "non_targets-1-status": "PRESENT",
        **_management("new_lesions", 2, 0),
        "complete": "1",
    }
    preview = client.post(
        reverse("patients:crf_preview", kwargs={"subject_id": cast.patient_a.subject_id, "code": "tumour-assessment"}),
        post,
    )
    assert "65.0 mm" in preview.content.decode()
    response = client.post(f"{url}?visit={on.pk}", post)
    assert response.status_code == 302
    assessment = TumourAssessment.objects.get(visit=on)
    assert (assessment.computed_response, assessment.investigator_response, assessment.assessment_date) == (
        "PD",
        "SD",
        SCAN,
    )
    assert TargetMeasurement.objects.get(assessment=assessment, lesion=register["T1"]).diameter_tenths == 400
    page = client.get(response.url)
    assert 'name="targets-0-scan_date" value="2025-06-12"' in page.content.decode()  # ISO, as type="date" needs
    shown = dict(page.context["derived"])
    assert (shown["Computed overall response (RECIST 1.1)"], shown["Investigator's overall response"]) == ("PD", "SD")
    assert (shown["Target response"], shown["Non-target response"]) == ("PD", "Non-CR/Non-PD")

    bad = {**post, "version": assessment.version, "reason": "Re-read", "targets-0-diameter_tenths": "0.0"}
    edit = client.post(response.url, bad)
    assert edit.status_code == 200
    assert any("T1: The diameter must be greater than 0 mm." in e for e in edit.context["form"].non_field_errors())
    assert TargetMeasurement.objects.get(assessment=assessment, lesion=register["T1"]).diameter_tenths == 400


def test_a_new_assessment_with_a_bad_row_saves_nothing_through_the_screen(
    client: Any, cast: Cast, coordinator: Any, register: dict[str, Lesion], baseline: TumourAssessment
) -> None:
    on = visit(coordinator, cast.patient_a, "follow-up", ENROLMENT + timedelta(days=84))
    client.force_login(coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": cast.patient_a.subject_id, "code": "tumour-assessment"})
    post = {
        "visit": on.pk,
        "modality": "ct",
        "investigator_response": "SD",
        **_management("targets", 2, 2),
        "targets-0-lesion": register["T1"].pk,
        "targets-0-diameter_tenths": "612.0",
        "targets-0-scan_date": SCAN,
        "targets-1-lesion": register["T2"].pk,
        "targets-1-status": "NOT_EVALUATED",
        **_management("non_targets", 0, 0),
        **_management("new_lesions", 0, 0),
        "draft": "1",
    }
    response = client.post(f"{url}?visit={on.pk}", post)
    assert response.status_code == 200
    assert any("less than 500 mm" in e for e in response.context["form"].non_field_errors())
    assert TumourAssessment.objects.filter(visit=on).count() == 0


# Demo data ------------------------------------------------------------------------------------------------------


def test_the_demo_seeds_a_treated_assessed_patient_once(cast: Cast, coordinator: Any) -> None:
    import random

    from lesions.demo import seed_lesions
    from lesions.models import LocalAblativeTreatment
    from tests.factories import PatientFactory

    today = date(2026, 3, 1)
    patients = [
        PatientFactory(trial=cast.cosmo, site=cast.site_a, sequence=number, enrolment_date=date(2025, 3, 24))
        for number in range(1, 9)
    ]
    for number, patient in enumerate(patients):
        assert seed_lesions(patient=patient, user=coordinator, rng=random.Random(number), today=today)
    for patient in patients:
        lesions = Lesion.objects.filter(patient=patient)
        assert 2 <= lesions.count() <= 4
        assert lesions.filter(role="target").exists()
        treated = lesions.filter(oligoprogressive=True)
        assert treated.exists() and all(lesion.locally_treated for lesion in treated)
        assert LocalAblativeTreatment.objects.filter(patient=patient, modality="sabr", status="complete").exists()
        assessments = TumourAssessment.objects.filter(patient=patient, status="complete")
        assert assessments.filter(visit__definition__kind="screening").count() == 1
        follow_ups = assessments.filter(visit__definition__kind="follow_up")
        assert follow_ups.exists() and all(a.computed_response for a in follow_ups)
    responses = set(TumourAssessment.objects.exclude(computed_response="").values_list("computed_response", flat=True))
    assert "PD" in responses and responses & {"SD", "PR"}

    before = (Lesion.objects.count(), TumourAssessment.objects.count(), TargetMeasurement.objects.count())
    assert not seed_lesions(patient=patients[0], user=coordinator, rng=random.Random(0), today=today)
    assert (Lesion.objects.count(), TumourAssessment.objects.count(), TargetMeasurement.objects.count()) == before
