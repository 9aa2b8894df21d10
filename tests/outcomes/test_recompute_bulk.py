"""The bulk recompute (``recompute_many``, the sweep) is the per-patient live path, only faster.

For patients entered through the services (``tests/scenarios.py``) and synthetic ones written straight into the
tables (``benchmarks/data.py``: responders, progressors, deaths, strategy failures, discrepancies), reading many
patients at once gives the same ``PatientData`` and input hash as one at a time, and ``recompute_many`` writes the same
rows (derivations, endpoint values, computed RECIST columns, automatic queries) as ``endpoints_recompute_for_patient``
called per patient. Both read in a constant number of queries: the same for 5 patients as for 50, and for one patient
with 2 time points as with 8.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model, Q
from django.test.utils import CaptureQueriesContext

from benchmarks import data as synthetic
from lesions.models import Lesion, NewLesion, NonTargetObservation, TargetMeasurement, TumourAssessment
from lesions.selectors import fetch_rows, recist_evaluation, recist_evaluations
from lesions.services import _NOT_COMPUTED
from outcomes import services
from outcomes.inputs import patient_data, patient_data_bulk
from outcomes.models import EndpointValue, PatientDerivation
from outcomes.services import patients as recompute
from patients.crf import crf_models
from patients.models import (
    AdverseEvent,
    ClinicalProgression,
    Death,
    Patient,
    Query,
    QueryMessage,
    Randomisation,
    StrategyFailure,
    SystemicTherapyLine,
    Visit,
)
from trials.models import AnalysisSettings

from ..conftest import Cast
from ..scenarios import Scenario

AUTOMATIC = Q(check_code__startswith="recist:") | Q(check_code__startswith="endpoint:")


def _scenarios(cast: Cast) -> list[Patient]:
    """A handful of patients through the services: progression, a new line, clinical progression, death, TSF."""
    progressing = Scenario(cast, origin=date(2025, 2, 3))
    progressing.baseline()
    progressing.assessment(84, 30, investigator="PR")
    progressing.assessment(168, 37, investigator="PD")

    new_line = Scenario(cast, origin=date(2025, 2, 10))
    new_line.baseline()
    new_line.assessment(84, 20, investigator="SD")  # computed PR: a discrepancy query
    new_line.crf(
        SystemicTherapyLine,
        line_number=2,
        agent_chemotherapy=True,
        start_date=new_line.origin + timedelta(days=100),
        best_response="not_assessed",
    )

    died = Scenario(cast, origin=date(2025, 2, 17))
    died.baseline()
    died.assessment(84, 39, investigator="SD")
    died.crf(ClinicalProgression, progression_date=died.origin + timedelta(days=120), description="Bone pain")
    died.crf(Death, death_date=died.origin + timedelta(days=130), primary_cause="disease")

    failed = Scenario(cast, trial="avatar2", arm="A", origin=date(2025, 2, 24))
    failed.baseline()
    failed.assessment(84, 39, investigator="SD")
    progression = failed.crf(
        ClinicalProgression, progression_date=failed.origin + timedelta(days=150), description="Liver pain"
    )
    failed.crf(
        StrategyFailure,
        failure_date=failed.origin + timedelta(days=150),
        failure_reason="systemic_change",
        progressing_lesions=3,
        amenable_to_sabr=False,
        management="systemic_change",
        linked_clinical_progression=progression,
    )
    not_allocated = Scenario(cast, trial="avatar2", origin=date(2025, 3, 3))
    return [s.fresh for s in (progressing, new_line, died, failed, not_allocated)]


@pytest.fixture
def patients(cast: Cast) -> list[Patient]:
    """The scenarios, 30 synthetic patients (COSMO and AVATAR II) and the cast's two never-enrolled patients."""
    _scenarios(cast)
    synthetic.generate(30, seed=4)
    return list(Patient.objects.select_related("trial").order_by("pk"))


def _state(ids: list[int]) -> dict[str, Any]:
    """Every derived row of ``ids``, without keys and computation times."""

    def rows(queryset: Any) -> list[dict[str, Any]]:
        return [
            {
                f.attname: getattr(r, f.attname)
                for f in r._meta.concrete_fields
                if f.attname not in {"id", "computed_at"}
            }
            for r in queryset
        ]

    return {
        "derivations": rows(PatientDerivation.objects.filter(patient_id__in=ids).order_by("patient_id")),
        "endpoints": rows(EndpointValue.objects.filter(patient_id__in=ids).order_by("patient_id", "paramcd")),
        "assessments": rows(TumourAssessment.objects.filter(patient_id__in=ids).order_by("pk")),
        "open queries": sorted(
            Query.objects.filter(AUTOMATIC, patient_id__in=ids, status="open").values_list(
                "content_type_id", "object_id", "check_code", "field_name", "status"
            )
        ),
    }


def _forget(ids: list[int]) -> None:
    """Back to the forms as entered: no derivation, endpoint row, computed response or automatic query."""
    QueryMessage.objects.filter(query__in=Query.objects.filter(AUTOMATIC, patient_id__in=ids)).delete()
    Query.objects.filter(AUTOMATIC, patient_id__in=ids).delete()
    EndpointValue.objects.filter(patient_id__in=ids).delete()
    PatientDerivation.objects.filter(patient_id__in=ids).delete()
    TumourAssessment.objects.filter(patient_id__in=ids).update(
        **_NOT_COMPUTED, computed_explanation="", computed_algorithm_version="", computed_at=None
    )


def test_reading_many_patients_at_once_gives_the_same_data_and_hash(patients: list[Patient]) -> None:
    evaluations = recist_evaluations(patients)
    for patient in patients:
        assert evaluations[patient.pk] == recist_evaluation(patient=patient), patient.subject_id
    assert sum(e.response is not None for e in evaluations.values()) >= 30
    bulk = patient_data_bulk(patients)
    assert set(bulk) == {p.pk for p in patients}
    for patient in patients:
        one = patient_data(patient=patient)
        assert bulk[patient.pk] == one, patient.subject_id
        assert recompute.input_hash(bulk[patient.pk]) == recompute.input_hash(one)
    computable = [p for p in patients if bulk[p.pk].patient_input is not None]
    assert len(computable) >= 30 and any(bulk[p.pk].not_computable for p in patients)


@pytest.mark.parametrize("copy_from", [0, 10**6], ids=["copied", "inserted"])
def test_recompute_many_writes_what_the_per_patient_path_writes(
    patients: list[Patient], copy_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Endpoint rows copied (PostgreSQL, from ``COPY_FROM`` rows on) or inserted: the same rows either way."""
    monkeypatch.setattr(recompute, "COPY_FROM", copy_from)
    ids = [p.pk for p in patients]
    _forget(ids)
    for patient_id in ids:
        services.endpoints_recompute_for_patient(patient_id=patient_id)
    one_by_one = _state(ids)
    assert one_by_one["endpoints"] and one_by_one["open queries"]  # something to compare: values and discrepancies

    _forget(ids)
    result = recompute.recompute_many(ids, chunk_size=7)  # several chunks, one of them short
    assert result == {"checked": len(ids), "repaired": len(ids)}
    assert _state(ids) == one_by_one

    assert recompute.recompute_many(ids) == {"checked": len(ids), "repaired": 0}  # unchanged: nothing written
    assert _state(ids) == one_by_one
    before = dict(PatientDerivation.objects.filter(patient_id__in=ids).values_list("patient_id", "computed_at"))
    assert recompute.recompute_many(ids, force=True)["repaired"] == len(ids)
    after = dict(PatientDerivation.objects.filter(patient_id__in=ids).values_list("patient_id", "computed_at"))
    assert all(after[pk] > before[pk] for pk in ids) and _state(ids) == one_by_one


def test_the_bulk_path_repairs_what_changed_behind_its_back(patients: list[Patient]) -> None:
    """Data changed without an event (the broker was down): the sweep closes and opens queries, removes endpoint
    rows of a patient no longer computable, and recomputes the rest as the live path would."""
    ids = [p.pk for p in patients]
    recompute.recompute_many(ids)
    discrepant = TumourAssessment.objects.filter(response_differs=True).select_related("patient").first()
    assert discrepant is not None
    TumourAssessment.objects.filter(pk=discrepant.pk).update(investigator_response=discrepant.computed_response)
    allocated = Randomisation.objects.filter(status="complete", arm__isnull=False).first()
    assert allocated is not None and EndpointValue.objects.filter(patient_id=allocated.patient_id).exists()
    Randomisation.objects.filter(pk=allocated.pk).update(arm=None)

    result = services.consistency_sweep()
    assert result["repaired"] == 1  # the investigator's response is no endpoint input: one derivation changed
    assert not Query.objects.filter(object_id=discrepant.pk, check_code__startswith="recist:", status="open").exists()
    assert not EndpointValue.objects.filter(patient_id=allocated.patient_id).exists()
    derivation = PatientDerivation.objects.get(patient_id=allocated.patient_id)
    assert "arm not yet allocated" in derivation.values["not_computable"]
    state = _state(ids)
    _forget(ids)
    for patient_id in ids:
        services.endpoints_recompute_for_patient(patient_id=patient_id)
    assert _state(ids) == state


@pytest.fixture
def steady(patients: list[Patient], monkeypatch: pytest.MonkeyPatch) -> list[Patient]:
    """Every patient computed once (nothing left to open or close), and one way of writing endpoint rows whatever
    their number (PostgreSQL copies many rows and inserts few: both a fixed number of statements)."""
    recompute.recompute_many([p.pk for p in patients])
    monkeypatch.setattr(recompute, "COPY_FROM", 0)
    return patients


def _five(ids: list[int]) -> list[int]:
    """Five patients of both trials, with adverse events: every table the recompute reads has rows for them, as it
    has for the fifty (a table without a row to read costs no second query)."""
    with_events = set(AdverseEvent.objects.values_list("patient_id", flat=True))
    patients = Patient.objects.filter(pk__in=ids).select_related("trial").order_by("pk")
    five = [p.pk for p in patients if p.trial.code == "avatar2" and p.pk in with_events][:3]
    five += [p.pk for p in patients if p.trial.code == "cosmo" and p.pk in with_events][:2]
    assert len(five) == 5
    return five


def _queries(run: Any) -> int:
    """Statements run, but multi-row inserts: those the database splits by its limit on parameters (SQLite: 999, so
    62 endpoint rows a statement; PostgreSQL copies them, see ``steady``) and counts one per batch."""
    with CaptureQueriesContext(connection) as captured:
        run()
    return sum(not query["sql"].startswith("INSERT") for query in captured.captured_queries)


def test_the_bulk_read_takes_as_many_queries_for_50_patients_as_for_5(cast: Cast) -> None:
    synthetic.generate(50, seed=5)
    patients = list(Patient.objects.filter(screening_number__startswith="BENCH-").select_related("trial"))
    five = set(_five([p.pk for p in patients]))
    few = _queries(lambda: patient_data_bulk([p for p in patients if p.pk in five]))
    many = _queries(lambda: patient_data_bulk(patients))
    assert len(patients) == 50 and few == many <= 30


def test_recompute_many_takes_as_many_queries_for_50_patients_as_for_5(steady: list[Patient]) -> None:
    generated = [p.pk for p in steady if p.screening_number.startswith("BENCH-")]
    synthetic.generate(20, seed=6)
    ids = list(Patient.objects.filter(screening_number__startswith="BENCH-").values_list("pk", flat=True))
    recompute.recompute_many(ids)
    assert len(ids) == 50 and set(generated) < set(ids)
    five = _five(ids)
    few = _queries(lambda: recompute.recompute_many(five, force=True))
    many = _queries(lambda: recompute.recompute_many(ids, force=True))
    assert few == many <= 40


def test_the_live_path_takes_as_many_queries_for_6_time_points_as_for_2(cast: Cast) -> None:
    short, long = Scenario(cast, origin=date(2025, 2, 3)), Scenario(cast, origin=date(2025, 2, 10))
    for scenario, time_points in ((short, 2), (long, 6)):
        scenario.baseline()
        for k in range(1, time_points + 1):
            scenario.assessment(84 * k, 38, investigator="SD")
    for scenario in (short, long):  # the computed responses stored: the runs below open or close nothing
        services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
    counts = []
    for scenario in (short, long):
        PatientDerivation.objects.filter(patient=scenario.patient).update(input_hash="")
        with CaptureQueriesContext(connection) as captured:
            _, changed = services.endpoints_recompute_for_patient(patient_id=scenario.patient.pk)
        assert changed
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] <= 35


def _values(instance: Model) -> dict[str, Any]:
    return {
        f.attname: (type(value), value)
        for f in instance._meta.concrete_fields
        for value in [getattr(instance, f.attname)]
    }


def test_fetch_rows_gives_the_instances_a_queryset_gives(cast: Cast) -> None:
    """Same values of the same types (dates, decimals, booleans, JSON, partial dates) as the ORM, row for row."""
    synthetic.generate(8, seed=8)
    ids = list(Patient.objects.values_list("pk", flat=True))
    trial_ids = set(Patient.objects.values_list("trial_id", flat=True))
    models: list[type[Model]] = [*crf_models(), Visit]
    reads: list[tuple[type[Model], str, Any]] = [(model, "patient_id", ids) for model in models]
    reads += [(Patient, "id", ids), (AnalysisSettings, "trial_id", trial_ids)]
    for model, column, values in reads:
        fetched = fetch_rows(model, column, values)
        expected = list(model._default_manager.filter(**{f"{column}__in": values}).order_by("pk"))
        assert [_values(r) for r in fetched] == [_values(r) for r in expected], model.__name__
        assert all(not r._state.adding and r._state.db == "default" for r in fetched)
    for model in (TargetMeasurement, NonTargetObservation, NewLesion):
        fetched = fetch_rows(model, "patient_id", ids, through=(TumourAssessment, "assessment_id"))
        expected = list(model._default_manager.filter(assessment__patient_id__in=ids).order_by("pk"))
        assert [_values(r) for r in fetched] == [_values(r) for r in expected], model.__name__
        assert fetched or model is NewLesion
    assert fetch_rows(Lesion, "patient_id", []) == []
    drafted = TumourAssessment.objects.order_by("pk").first()
    assert drafted is not None
    TumourAssessment.objects.filter(pk=drafted.pk).update(status="draft")
    completed = fetch_rows(TumourAssessment, "patient_id", ids, complete=True)
    expected = list(TumourAssessment.objects.filter(patient_id__in=ids, status="complete").order_by("pk"))
    assert [r.pk for r in completed] == [r.pk for r in expected] and drafted.pk not in {r.pk for r in completed}


def test_the_recompute_command_uses_the_bulk_path(patients: list[Patient], monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management import call_command

    chunks: list[int] = []
    chunk = recompute._recompute_chunk

    def counted(ids: list[int], **kwargs: Any) -> Any:
        chunks.append(len(ids))
        return chunk(ids, **kwargs)

    monkeypatch.setattr(recompute, "_recompute_chunk", counted)
    monkeypatch.setattr(services, "trial_summaries_recompute", lambda **kwargs: 0)  # the summaries are not this test's
    call_command("recompute", stdout=io.StringIO())
    assert PatientDerivation.objects.count() == len(patients) == sum(chunks) and len(chunks) == 2  # one per trial
    assert services.consistency_sweep() == {"checked": len(patients), "repaired": 0}


class _Deadlock(Exception):
    pgcode = "40P01"


def test_a_chunk_that_loses_a_deadlock_is_run_again(patients: list[Patient], monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    chunk = recompute._recompute_chunk
    failures = iter([True, False, False])

    def deadlocked_once(ids: list[int], **kwargs: Any) -> Any:
        if next(failures, False):
            raise OperationalError("deadlock detected") from _Deadlock()
        return chunk(ids, **kwargs)

    monkeypatch.setattr(recompute, "_recompute_chunk", deadlocked_once)
    ids = [p.pk for p in patients]
    assert recompute.recompute_many(ids) == {"checked": len(ids), "repaired": len(ids)}

    def broken(ids: list[int], **kwargs: Any) -> Any:
        raise OperationalError("disk full")

    monkeypatch.setattr(recompute, "_recompute_chunk", broken)
    with pytest.raises(OperationalError):
        recompute.recompute_many(ids)


@pytest.mark.parametrize("step", ["patient_data_from", "recist_evaluation", "derive_endpoints"])
def test_one_patient_whose_recompute_raises_does_not_stop_the_others(
    patients: list[Patient], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, step: str
) -> None:
    """Data the engine cannot read (or a bug) in one patient: that patient's endpoints are withheld with the reason
    on the patient page and an error in the log; the chunk's other patients are recomputed; the next recompute of
    the patient tries again."""
    ids = [p.pk for p in patients]
    recompute.recompute_many(ids, force=True)
    with_endpoints = [p for p in patients if EndpointValue.objects.filter(patient=p).exists()]
    broken, *others = with_endpoints
    assert others, "the scenarios give several patients with endpoints"
    real = getattr(recompute, step)

    def raising(*args: Any, **kwargs: Any) -> Any:
        subject = kwargs.get("patient") or (args[0] if args else None)
        patient_id = getattr(subject, "pk", None) or getattr(getattr(subject, "patient", None), "pk", None)
        if step == "derive_endpoints":  # the engine's input names the patient by subject id
            patient_id = broken.pk if args[0].patient_id == broken.subject_id else None
        if patient_id == broken.pk:
            raise ValueError("therapy line 7: stop 2025-01-01 is before start 2025-02-01")
        return real(*args, **kwargs)

    monkeypatch.setattr(recompute, step, raising)
    assert recompute.recompute_many(ids, force=True) == {"checked": len(ids), "repaired": len(ids)}

    failed = PatientDerivation.objects.get(patient=broken)
    assert failed.values["recompute_failed"] is True
    assert "therapy line 7: stop 2025-01-01 is before start 2025-02-01" in failed.values["not_computable"]
    assert failed.input_hash == ""
    assert not EndpointValue.objects.filter(patient=broken).exists()  # no stale value that would look current
    assert all(EndpointValue.objects.filter(patient=p).exists() for p in others)
    assert [r.levelname for r in caplog.records if str(broken.pk) in r.getMessage()] == ["ERROR"]

    monkeypatch.setattr(recompute, step, real)  # the data or the software corrected
    assert recompute.recompute_many(ids)["repaired"] == 1  # only the failed one: its empty hash never matches
    assert EndpointValue.objects.filter(patient=broken).exists()
    assert "recompute_failed" not in PatientDerivation.objects.get(patient=broken).values
