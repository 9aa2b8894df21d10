"""Endpoints derived from forms entered through the services: the right dates, reasons and provenance."""

from datetime import timedelta

from outcomes import services
from outcomes.models import EndpointValue, PatientDerivation
from patients.models import ClinicalProgression, Death, SystemicTherapyLine
from patients.models import Query as DataQuery

from ..conftest import Cast
from ..scenarios import Scenario


def _endpoint(scenario: Scenario, paramcd: str) -> EndpointValue:
    services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    return EndpointValue.objects.get(patient=scenario.patient, paramcd=paramcd)


def test_progression_by_the_target_sum_is_a_pfs_event_on_its_scan_date(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    scenario.assessment(84, 30, investigator="PR")  # 40 → 30 mm: −25 %, SD strictly... nadir 30
    progression = scenario.assessment(168, 37, investigator="PD")  # +23 % and +7 mm over the nadir: PD
    pfs = _endpoint(scenario, "PFS")
    assert (pfs.event, pfs.end_date) == (True, scenario.origin + timedelta(days=168))
    assert pfs.aval_days == 169  # D2: end − origin + 1
    assert pfs.cnsr == 0
    assert any(
        source["pk"] == progression.pk and source["code"] == "tumour-assessment" for source in pfs.source_records
    )
    assert pfs.algorithm_version == services.ALGORITHM_VERSION and pfs.settings_version == 1 and pfs.input_hash


def test_no_progression_is_censored_at_the_last_adequate_assessment(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    scenario.assessment(84, 39, investigator="SD")
    scenario.assessment(170, 38, investigator="SD")
    pfs = _endpoint(scenario, "PFS")
    assert (pfs.event, pfs.end_date, pfs.aval_days) == (False, scenario.origin + timedelta(days=170), 171)
    assert pfs.landmark_status == "UNKNOWN"  # 171 < 182.625: censored before six months is unknown, never a failure


def test_a_new_line_before_progression_censors_at_the_last_assessment_on_or_before_it(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    scenario.assessment(84, 39, investigator="SD")
    scenario.crf(
        SystemicTherapyLine,
        line_number=2,
        agent_chemotherapy=True,
        start_date=scenario.origin + timedelta(days=100),
        best_response="not_assessed",
    )
    scenario.assessment(168, 60, investigator="PD")
    pfs = _endpoint(scenario, "PFS")
    assert (pfs.event, pfs.end_date) == (False, scenario.origin + timedelta(days=84))
    assert "new systemic therapy" in pfs.explanation.lower() or "line" in pfs.explanation.lower()
    ema = _endpoint(scenario, "PFS_EMA")
    assert (ema.event, ema.end_date) == (True, scenario.origin + timedelta(days=168))


def test_clinical_progression_counts_when_it_comes_first(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    scenario.assessment(84, 39, investigator="SD")
    scenario.crf(
        ClinicalProgression,
        progression_date=scenario.origin + timedelta(days=120),
        description="New bone pain, rising ALP",
    )
    pfs = _endpoint(scenario, "PFS")
    assert (pfs.event, pfs.end_date) == (True, scenario.origin + timedelta(days=120))


def test_death_without_progression_is_an_event_and_ends_overall_survival(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    scenario.assessment(84, 39, investigator="SD")
    died = scenario.origin + timedelta(days=130)
    scenario.crf(Death, death_date=died, primary_cause="disease")
    assert (_endpoint(scenario, "PFS").event, _endpoint(scenario, "PFS").end_date) == (True, died)
    overall = _endpoint(scenario, "OS")
    assert (overall.event, overall.end_date, overall.aval_days) == (True, died, 131)


def test_subgroups_and_provenance_are_stored_with_the_derivation(cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    derivation = PatientDerivation.objects.get(patient=scenario.patient)
    assert derivation.values["origin_date"] == scenario.origin.isoformat()
    assert set(derivation.values["subgroups"]) >= {"subtype", "localisation"}


def test_an_avatar_patient_without_an_arm_is_not_computable_yet(cast: Cast) -> None:
    scenario = Scenario(cast, trial="avatar2")
    services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    derivation = PatientDerivation.objects.get(patient=scenario.patient)
    assert "arm not yet allocated" in derivation.values["not_computable"]
    assert not EndpointValue.objects.filter(patient=scenario.patient).exists()


def test_tsf_for_an_arm_a_patient_uses_the_strategy_failure_record(cast: Cast) -> None:
    from patients.models import StrategyFailure

    scenario = Scenario(cast, trial="avatar2", arm="A")
    scenario.baseline()
    scenario.assessment(84, 39, investigator="SD")
    progression = scenario.crf(
        ClinicalProgression, progression_date=scenario.origin + timedelta(days=150), description="Liver pain"
    )
    scenario.crf(
        StrategyFailure,
        failure_date=scenario.origin + timedelta(days=150),
        failure_reason="systemic_change",
        progressing_lesions=3,
        amenable_to_sabr=False,
        management="systemic_change",
        linked_clinical_progression=progression,
    )
    tsf = _endpoint(scenario, "TSF")
    assert (tsf.event, tsf.end_date) == (True, scenario.origin + timedelta(days=150))
    assert _endpoint(scenario, "TTNT").flags == ["NOT_APPLICABLE"]


def test_a_computed_response_differing_from_the_investigators_raises_a_query_and_closes_when_they_agree(
    cast: Cast,
) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    assessment = scenario.assessment(84, 20, investigator="SD")  # −50 %: the EDC computes PR
    services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    assessment.refresh_from_db()
    assert (assessment.computed_response, assessment.investigator_response) == ("PR", "SD")
    query = DataQuery.objects.get(object_id=assessment.pk, check_code__startswith="recist:")
    assert query.status == "open"
    from lesions.models import AssessmentRows, NonTargetRow, TargetRow
    from lesions.services import tumour_assessment_save

    on = scenario.origin + timedelta(days=84)
    tumour_assessment_save(
        user=scenario.user,
        patient=scenario.patient,
        visit=assessment.visit,
        instance=assessment,
        values={"modality": "ct", "investigator_response": "PR"},
        complete=True,
        reason="Response re-read",
        rows=AssessmentRows(
            targets=(TargetRow(scenario.target, "MEASURED", 200, on),),
            non_targets=(NonTargetRow(scenario.non_target, "PRESENT", on),),
        ),
    )
    query.refresh_from_db()
    assert query.status == "closed"


def test_fact_b_scores_and_their_auc_are_derived(cast: Cast) -> None:
    from decimal import Decimal

    from patients import services as patient_services
    from patients.domain.factb import FACT_B_ITEMS
    from patients.models import FactB

    scenario = Scenario(cast, trial="avatar2", arm="A")
    answers = {code.lower(): 2 for code in FACT_B_ITEMS}
    for code, occurrence, day in (("screening", 1, -3), ("follow-up", 1, 84), ("follow-up", 2, 168)):
        on = scenario.origin + timedelta(days=day)
        visit = scenario._visit(code, occurrence, on if code != "screening" else scenario.patient.consent_date)
        patient_services.crf_save(
            user=scenario.user,
            model=FactB,
            patient=scenario.patient,
            visit=visit,
            values={"completion_date": on, **answers},
            complete=True,
        )
    services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    qol = PatientDerivation.objects.get(patient=scenario.patient).values["quality_of_life"]
    total = Decimal(qol["questionnaires"][0]["total"])
    assert [q["day"] for q in qol["questionnaires"]] == [-3, 84, 168]
    assert Decimal(qol["auc"]) == total * 171  # constant total from day −3 to day 168
    assert Decimal(qol["auc_normalised"]) == total
    assert qol["ends_before_horizon"] is True and qol["horizon_days"] == 336


def test_two_questionnaires_on_one_day_leave_the_auc_missing_with_the_reason_not_the_recompute_failing(
    cast: Cast,
) -> None:
    """Entry refuses a second questionnaire on a day (``patients.crfs.follow_up``); data from before that check, or
    loaded around it, must not stop the patient's recompute (nor, in a bulk recompute, the other patients')."""
    from patients import services as patient_services
    from patients.domain.factb import FACT_B_ITEMS
    from patients.models import FactB

    scenario = Scenario(cast, trial="avatar2", arm="A")
    answers = {code.lower(): 2 for code in FACT_B_ITEMS}
    on = scenario.origin + timedelta(days=84)
    for occurrence, day in ((1, 84), (2, 168)):
        visit = scenario._visit("follow-up", occurrence, scenario.origin + timedelta(days=day))
        patient_services.crf_save(
            user=scenario.user,
            model=FactB,
            patient=scenario.patient,
            visit=visit,
            values={"completion_date": scenario.origin + timedelta(days=day), **answers},
            complete=True,
        )
    FactB.objects.filter(patient=scenario.patient, completion_date__gt=on).update(completion_date=on)  # around entry

    services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    qol = PatientDerivation.objects.get(patient=scenario.patient).values["quality_of_life"]
    assert [q["day"] for q in qol["questionnaires"]] == [84, 84]
    assert (qol["auc"], qol["auc_normalised"], qol["auc_change_from_baseline"]) == (None, None, None)
    assert qol["missing_reason"] == f"two questionnaires on the same day ({on.isoformat()}): correct the records"
