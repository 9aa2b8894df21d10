"""Shared by the dataset tests: rows as dicts by variable name, and the recompute the datasets read from."""

from __future__ import annotations

from typing import Any

from outcomes import services
from outcomes.datasets.base import Dataset
from trials.models import Trial


def records(dataset: Dataset, *, trial: Trial, user: Any, **options: Any) -> list[dict[str, Any]]:
    """Every row of ``dataset`` as {variable name: value}; each row has one value per variable."""
    found = []
    for row in dataset.rows(trial=trial, user=user, **options):
        assert len(row) == len(dataset.variables), f"{dataset.name}: {len(row)} values for {len(dataset.variables)}"
        found.append(dict(zip(dataset.names, row, strict=True)))
    return found


def recompute(*patients: Any) -> None:
    """What the worker does after each save (the tests' transactions never commit, so it is called here)."""
    for patient in patients:
        services.endpoints_recompute_for_patient(patient_id=patient.pk)


def treat_with_sabr(scenario: Any, *, day: int) -> Any:
    """An oligoprogressive adrenal lesion of the scenario's patient treated by SABR on study day ``day``."""
    from datetime import timedelta
    from decimal import Decimal

    from lesions.services import lesion_save, local_treatment_save

    from ...scenarios import CONSENT, visit_done

    lesion = lesion_save(
        user=scenario.user,
        patient=scenario.patient,
        complete=True,
        values={
            "label": "NT9",
            "site_code": "ADRENAL",
            "measurable": True,
            "role": "non_target",
            "oligoprogressive": True,
            "first_seen_date": CONSENT - timedelta(days=40),
        },
    )
    on = scenario.origin + timedelta(days=day)
    return local_treatment_save(
        user=scenario.user,
        patient=scenario.patient,
        visit=visit_done(scenario.user, scenario.patient, "lat", on),
        values={
            "lesion": lesion,
            "modality": "sabr",
            "start_date": on,
            "end_date": on + timedelta(days=4),
            "total_dose_gy": Decimal(45),
            "fractions": 3,
            "technique": "vmat",
        },
        complete=True,
    )


def patients_with_records(cast: Any, *, count: int, site: Any, first: int = 1) -> list[Any]:
    """``count`` AVATAR II patients at ``site``, each with one record of every kind the datasets read (a follow-up
    tumour assessment with its computed response, an adverse event, a FACT-B form, an endpoint row and a stored
    derivation), written directly: the query-count and scope tests need many patients, not the services' checks."""
    from datetime import date, timedelta

    from django.utils import timezone

    from lesions.models import TumourAssessment
    from outcomes.models import EndpointValue, PatientDerivation
    from patients.models import AdverseEvent, CtcaeTerm, FactB, Visit

    from ...factories import PatientFactory

    term, _ = CtcaeTerm.objects.get_or_create(soc="General disorders", term="Fatigue", defaults={"grade_1": "Mild"})
    follow_up = cast.avatar2.visit_definitions.get(code="follow-up")
    made = []
    for sequence in range(first, first + count):
        patient = PatientFactory(trial=cast.avatar2, site=site, sequence=sequence)
        origin = patient.enrolment_date
        on = origin + timedelta(days=84)
        owned = {"site": site, "patient": patient}
        visit = Visit.objects.create(**owned, definition=follow_up, status="done", visit_date=on)
        TumourAssessment.objects.create(
            **owned,
            visit=visit,
            status="complete",
            modality="ct",
            investigator_response="SD",
            assessment_date=on,
            computed_response="PR",
            response_differs=True,
            target_sum_tenths=250,
        )
        AdverseEvent.objects.create(
            **owned, status="complete", term=term, grade=1, onset_date=on, ongoing=True, attribution_disease="possible"
        )
        FactB.objects.create(**owned, visit=visit, status="complete", completion_date=on, gp1=2, gs1=3)
        EndpointValue.objects.create(
            **owned,
            paramcd="OS",
            start_date=origin,
            end_date=on,
            aval_days=85,
            event=False,
            reason="LAST_KNOWN_ALIVE",
            algorithm_version="test",
            input_hash="-",
            computed_at=timezone.now(),
        )
        PatientDerivation.objects.create(
            **owned,
            algorithm_version="test",
            input_hash="-",
            computed_at=timezone.now(),
            values={"origin_date": origin.isoformat(), "subgroups": {"subtype": "", "localisation": ""}},
        )
        made.append(patient)
    assert all(p.enrolment_date == date(2025, 3, 24) for p in made)
    return made
