"""Shared data of the oversight tests: a complete demographics form at the screening visit of each site's patient,
entered through the services by that site's coordinator."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from patients import services
from patients.models import Demographics, Patient, Visit
from trials.models import Role, User

from ...conftest import Cast
from ...scenarios import site_user

VALUES = {
    "ecog": 1,
    "menopausal_status": "post",
    "primary_diagnosis_date": "2019-04",
    "metastatic_diagnosis_date": "2024-11",
}


def screening(user: User, patient: Patient) -> Visit:
    return services.visit_record(
        user=user,
        patient=patient,
        definition=patient.trial.visit_definitions.get(code="screening"),
        occurrence=1,
        status="done",
        visit_date=date(2025, 3, 10),
    )


def complete_demographics(cast: Cast, patient: Patient) -> Demographics:
    coordinator = site_user(cast, Role.SITE_COORDINATOR, patient.site)
    record: Demographics = services.crf_save(  # type: ignore[assignment]
        user=coordinator,
        model=Demographics,
        patient=patient,
        visit=screening(coordinator, patient),
        values=VALUES,
        complete=True,
    )
    return record


def change(cast: Cast, record: Any, *, reason: str, **values: Any) -> Any:
    """A correction of a complete form by the site's coordinator, with its reason."""
    record = type(record).objects.get(pk=record.pk)
    return services.crf_save(
        user=site_user(cast, Role.SITE_COORDINATOR, record.patient.site),
        model=type(record),
        patient=record.patient,
        instance=record,
        values=values,
        complete=True,
        reason=reason,
    )


@pytest.fixture
def demographics(cast: Cast) -> Demographics:
    return complete_demographics(cast, cast.patient_a)


@pytest.fixture
def demographics_b(cast: Cast) -> Demographics:
    return complete_demographics(cast, cast.patient_b)
