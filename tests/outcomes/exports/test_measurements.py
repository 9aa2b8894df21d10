"""The raw lesion-measurement export: one row per target measurement, non-target observation and new lesion per
assessment, as entered, read from the user's sites in one query (issue 6)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lesions.models import NewLesion
from outcomes.datasets.measurements import MEASUREMENTS
from trials.models import Role

from ...conftest import Cast
from .conftest import measured_patient

pytestmark = pytest.mark.django_db


def _rows(cast: Cast, role: str, trial: Any = None) -> list[dict[str, Any]]:
    rows = MEASUREMENTS.rows(trial=trial or cast.cosmo, user=cast.user(role))
    return [dict(zip(MEASUREMENTS.names, row, strict=True)) for row in rows]


def test_each_row_of_each_assessment_is_a_record(cast: Cast) -> None:
    measured = measured_patient(cast, site=cast.site_a, screening_number="A-1", nodal=True)

    rows = _rows(cast, Role.DATA_MANAGER)

    subject = measured.patient.subject_id
    assert [(r["USUBJID"], r["VISIT"], r["LESROLE"], r["LESID"]) for r in rows] == [
        (subject, "Screening", "target", "T1"),
        (subject, "Screening", "non_target", "NT1"),
        (subject, "Follow-up", "target", "T1"),
        (subject, "Follow-up", "non_target", "NT1"),
        (subject, "Follow-up", "new", f"NEW-{NewLesion.objects.get().pk}"),
    ]
    baseline_target, follow_up_target, new = rows[0], rows[2], rows[4]
    assert baseline_target["DIAMMM"] == 25.3 and follow_up_target["DIAMMM"] == 30.1  # tenths of a mm → mm
    assert baseline_target["SHORTAX"] == "Y"  # a mediastinal node: short axis
    assert baseline_target["ORGAN"] == "lymph node" and baseline_target["LOCCAT"] == "distant_nodal_soft_tissue"
    assert follow_up_target["ASMID"] == measured.follow_up.pk
    assert follow_up_target["ASMDT"] == date(2025, 4, 28) and follow_up_target["ASMMETH"] == "mri"
    assert follow_up_target["STUDYID"] == "COSMO" and follow_up_target["SITEID"] == "NL01"
    assert rows[1]["DIAMMM"] is None and rows[1]["STATUS"] == "PRESENT"
    assert new["ORGAN"] == "lung" and new["LESSITE"] == "LUNG" and new["DESCR"] == "Right upper lobe nodule"
    assert new["STATUS"] == "YES" and new["SHORTAX"] is None


def test_a_site_user_gets_only_the_rows_of_their_sites(cast: Cast) -> None:
    here = measured_patient(cast, site=cast.site_a, screening_number="A-1")
    there = measured_patient(cast, site=cast.site_b, screening_number="B-1")

    coordinator = {r["USUBJID"] for r in _rows(cast, Role.SITE_COORDINATOR)}
    data_manager = {r["USUBJID"] for r in _rows(cast, Role.DATA_MANAGER)}

    assert coordinator == {here.patient.subject_id}
    assert data_manager == {here.patient.subject_id, there.patient.subject_id}


def test_rows_of_the_other_trial_are_left_out(cast: Cast) -> None:
    measured_patient(cast, site=cast.site_a, screening_number="A-1")  # a COSMO patient
    assert _rows(cast, Role.DATA_MANAGER, trial=cast.avatar2) == []


def test_rows_come_in_subject_order_from_one_query(cast: Cast) -> None:
    for number in ("B-2", "A-1", "C-3"):
        measured_patient(cast, site=cast.site_a, screening_number=number, nodal=number == "A-1")
    with CaptureQueriesContext(connection) as captured:
        rows = _rows(cast, Role.DATA_MANAGER)
    statements = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 1 and "UNION ALL" in statements[0]
    subjects = [r["USUBJID"] for r in rows]
    assert subjects == sorted(subjects) and len(set(subjects)) == 3 and len(rows) == 15


def test_every_variable_fits_sas_transport() -> None:
    for variable in MEASUREMENTS.variables:
        assert len(variable.name) <= 8 and variable.name.isupper() and len(variable.label) <= 40
