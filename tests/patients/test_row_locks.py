"""Row locks take only the rows they mean to (PostgreSQL: SQLite has no row locks).

A ``select_for_update()`` over a query that joins other tables locks the joined rows too, and a model's default
ordering joins silently: ``Patient`` orders by trial and site, ``Visit`` and every CRF by patient (and so by trial
and site), ``Lock`` by trial. Locking "this patient" that way also locked the trial and site rows, so every visit,
enrolment or lock change of a trial queued behind the others, and behind randomisation, which locks the trial row
on purpose. Every lock taken by the write services below must lock its own table only: either no join, or
``FOR UPDATE OF`` that table. The statements come from running the services, not from reading their code, so a new
lock site on these paths is checked too.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients import services
from patients.models import Visit
from patients.services.locks import lock_form, lock_release
from patients.services.oversight import sdv_verify_form
from trials.models import Role

from ..conftest import Cast
from ..real_services import require_postgres
from ..scenarios import allocated_patient, site_user
from .oversight.conftest import change, complete_demographics

pytestmark = pytest.mark.postgres

_TABLE = r'"(?P<table>[a-z0-9_]+)"'
_FROM = re.compile(r"\bFROM " + _TABLE)
_JOINED = re.compile(r"\bJOIN " + _TABLE)
_OF = re.compile(r"\bFOR UPDATE OF (?P<tables>.+?)(?: NOWAIT| SKIP LOCKED)?$")


def locked_tables(sql: str) -> set[str]:
    """The tables whose rows a ``... FOR UPDATE`` statement locks."""
    of = _OF.search(sql)
    if of is not None:
        return set(re.findall(r'"([a-z0-9_]+)"', of.group("tables")))
    found = _FROM.search(sql)
    assert found is not None, sql
    return {found.group("table"), *_JOINED.findall(sql)}


def test_locked_tables_reads_joins_and_of() -> None:
    joined = 'SELECT 1 FROM "patients_patient" INNER JOIN "trials_trial" ON (1=1) WHERE 1=1 LIMIT 1 FOR UPDATE'
    assert locked_tables(joined) == {"patients_patient", "trials_trial"}
    assert locked_tables(joined.replace("FOR UPDATE", 'FOR UPDATE OF "patients_patient"')) == {"patients_patient"}


def test_the_write_services_lock_only_their_own_rows(db: None, cast: Cast) -> None:
    require_postgres()
    coordinator = cast.user(Role.SITE_COORDINATOR)
    with CaptureQueriesContext(connection) as captured:
        allocation = allocated_patient(cast, screening_number="L-0001")  # register, eligibility, enrol, randomise
        patient = allocation.patient
        visit = Visit.objects.get(patient=patient, definition__code="screening")
        services.visit_record(  # a correction of a recorded visit: the visit row is locked
            user=coordinator,
            patient=patient,
            definition=visit.definition,
            occurrence=1,
            status="done",
            visit_date=visit.visit_date,
            reason="Date confirmed against the clinic letter",
        )
        services.unscheduled_visit_add(user=coordinator, patient=patient, visit_date=date(2025, 3, 20))
        demographics = complete_demographics(cast, cast.patient_a)
        sdv_verify_form(user=cast.user(Role.MONITOR), record=demographics)
        change(cast, demographics, reason="ECOG 2 in the clinic letter", ecog=2)  # clears a verification
        manager = site_user(cast, Role.DATA_MANAGER, cast.site_a)
        lock = lock_form(user=manager, record=demographics, reason="Clean")
        lock_release(user=manager, lock=lock, reason="A late correction")

    locking = [q["sql"] for q in captured.captured_queries if " FOR UPDATE" in q["sql"]]
    assert len(locking) >= 6, locking  # the paths above took their locks (numbering, visit, enrolment, SDV, ...)
    too_wide = {sql: sorted(locked_tables(sql)) for sql in locking if len(locked_tables(sql)) > 1}
    assert too_wide == {}
