"""``manage.py scale_data``: a synthetic trial written in bulk, complete, the same for the same seed, and never beside
real patients unless forced. (Its speed at 10,000 patients is measured by ``benchmarks/scale_data.py``.)"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lesions.models import Lesion, NonTargetObservation, TargetMeasurement, TumourAssessment
from outcomes import synthetic
from outcomes.models import PatientDerivation
from outcomes.synthetic import SYNTHETIC_PREFIX, writes
from patients.domain.factb import FACT_B_ITEMS
from patients.models import AdverseEvent, FactB, Patient, Visit

from ..conftest import Cast
from ..real_services import require_postgres

ITEMS = [code.lower() for code in FACT_B_ITEMS]


def scale_data(*args: str) -> str:
    out = StringIO()
    call_command("scale_data", "--patients", "20", "--time-points", "3", *args, stdout=out)
    return out.getvalue()


def content(patients: list[Patient]) -> list[Any]:
    """What the generator decided for each patient, without keys, numbering or times of writing."""
    return [
        (
            patient.trial_id,
            patient.site_id,
            patient.age_at_consent,
            patient.consent_date,
            patient.status,
            sorted(Visit.objects.filter(patient=patient).values_list("definition__code", "occurrence", "visit_date")),
            sorted(Lesion.objects.filter(patient=patient).values_list("label", "site_code", "baseline_tenths")),
            sorted(
                TargetMeasurement.objects.filter(assessment__patient=patient).values_list(
                    "lesion__label", "scan_date", "diameter_tenths"
                )
            ),
            sorted(
                TumourAssessment.objects.filter(patient=patient).values_list("assessment_date", "investigator_response")
            ),
            sorted(AdverseEvent.objects.filter(patient=patient).values_list("term__term", "grade", "onset_date")),
            sorted(FactB.objects.filter(patient=patient).values_list("completion_date", *ITEMS)),
        )
        for patient in patients
    ]


def test_it_writes_complete_synthetic_patients(db: None) -> None:
    output = scale_data("--seed", "3")
    patients = list(Patient.objects.all())
    assert len(patients) == 20 and all(p.screening_number.startswith(SYNTHETIC_PREFIX) for p in patients)
    for patient in patients:
        assessments = TumourAssessment.objects.filter(patient=patient)
        assert Visit.objects.filter(patient=patient).count() >= 4  # screening, enrolment, treatment, follow-ups
        assert Lesion.objects.filter(patient=patient, role="target").exists()
        assert assessments.count() >= 2  # the baseline and at least one follow-up
        assert TargetMeasurement.objects.filter(assessment__in=assessments).count() >= assessments.count()
        assert NonTargetObservation.objects.filter(assessment__in=assessments).exists()
        questionnaires = list(FactB.objects.filter(patient=patient).values_list(*ITEMS))
        assert questionnaires and all(sum(item is not None for item in answers) > 30 for answers in questionnaires)
    assert AdverseEvent.objects.filter(patient__in=patients).exists()
    assert not PatientDerivation.objects.exists()  # nothing recomputed unless asked
    assert "TargetMeasurement" in output and "Added 20 synthetic patients" in output


def test_the_same_seed_gives_the_same_patients_and_another_seed_others(db: None) -> None:
    scale_data("--seed", "5")
    first = list(Patient.objects.order_by("pk"))
    scale_data("--seed", "5")  # synthetic patients already there are no reason to refuse: 20 more
    second = list(Patient.objects.order_by("pk"))[20:]
    scale_data("--seed", "6")
    third = list(Patient.objects.order_by("pk"))[40:]
    assert len(second) == len(third) == 20
    assert content(first) == content(second)
    assert content(first) != content(third)


def test_it_refuses_a_database_with_real_patients_unless_forced(cast: Cast) -> None:
    with pytest.raises(CommandError, match="2 real \\(non-synthetic\\) patient"):
        scale_data()
    assert not Patient.objects.filter(screening_number__startswith=SYNTHETIC_PREFIX).exists()
    scale_data("--force")
    assert Patient.objects.filter(screening_number__startswith=SYNTHETIC_PREFIX).count() == 20


def test_it_can_recompute_what_it_wrote(db: None) -> None:
    output = scale_data("--recompute")
    assert PatientDerivation.objects.count() == 20
    assert "Recomputed 20 of 20 patients" in output


@pytest.mark.postgres
def test_on_postgresql_the_copied_rows_are_those_bulk_create_writes(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    monkeypatch.setattr(writes, "COPY_FROM", 1)  # every table by COPY
    copied = content([Patient.objects.get(pk=pk) for pk in synthetic.generate(6, seed=9, time_points=3)])
    monkeypatch.setattr(writes, "COPY_FROM", 10**9)  # every table by bulk_create
    inserted = content([Patient.objects.get(pk=pk) for pk in synthetic.generate(6, seed=9, time_points=3)])
    assert copied == inserted
    assert not Visit.objects.filter(created_at__isnull=True).exists()
    assert not TumourAssessment.objects.filter(visit__isnull=True).exists()
