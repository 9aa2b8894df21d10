"""What every analysis-dataset builder shares: the scoped, streamed walk over a trial's patients, the subject
identifier variables and the small conversions of CDISC ADaM (study day, Y flags).

Scope and streaming (issue 6): ``patient_batches`` starts from ``Patient.objects.for_user(user)`` restricted to the
trial and pages through it by ``USUBJID`` (keyset pagination: each page is a fresh query for the next
``chunk_size`` subject ids after the last one seen). A builder loads the records of one page with one query per
table, each again from ``Model.objects.for_user(user)``, yields the page's rows and forgets it, so memory holds one
page whatever the size of the trial, and the number of queries grows with the pages, not with the rows. Keyset
pages hold no database cursor open between two ``yield``s, which matters for a response that streams for minutes.

The order is the bytes' order of ``subject_id`` (collation "C" / "BINARY"), the same as Python's ``str`` order, so
the rows come out sorted by their keys (``STUDYID``, ``USUBJID``, ...) whatever the database's locale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import QuerySet
from django.db.models.functions import Collate

from patients.models import Allocation, Patient
from trials.models import Arm, Trial

from ..models import PatientDerivation
from .base import Kind, Variable

#: patients per page: their records are read in one query per table (a few thousand rows at most)
CHUNK_SIZE = 500

#: the byte-order collation of each database vendor (Python's ``str`` order for ASCII subject ids)
_BYTE_ORDER = {"postgresql": "C", "sqlite": "BINARY"}

YES = "Y"

STUDYID = Variable(
    "STUDYID",
    "Study Identifier",
    Kind.TEXT,
    20,
    source="trials.Trial.code, upper case",
    description="COSMO or AVATAR2.",
)
USUBJID = Variable(
    "USUBJID",
    "Unique Subject Identifier",
    Kind.TEXT,
    30,
    source="patients.Patient.subject_id",
    description="Trial prefix, site code and sequence, e.g. AVT2-NL01-0007: unique across both trials.",
)
SUBJID = Variable(
    "SUBJID",
    "Subject Identifier for the Study",
    Kind.TEXT,
    20,
    source="patients.Patient.subject_id without the trial prefix",
    description="Site code and sequence, e.g. NL01-0007.",
)
SITEID = Variable("SITEID", "Study Site Identifier", Kind.TEXT, 8, source="trials.Site.code")
TRT01P = Variable(
    "TRT01P",
    "Planned Treatment for Period 01",
    Kind.TEXT,
    100,
    source="patients.Allocation.arm (trials.Arm.name)",
    description="The arm as allocated (AVATAR II randomisation; COSMO's single arm at registration); empty when "
    "the patient is not allocated.",
)


def study_id(trial: Trial) -> str:
    return trial.code.upper()


def subject_id_in_study(patient: Patient, trial: Trial) -> str:
    return patient.subject_id.removeprefix(f"{trial.subject_prefix}-")


def flag(value: bool) -> str:
    """An ADaM flag: "Y" or empty (ADaMIG: populations and record flags take Y / null)."""
    return YES if value else ""


def yes_no(value: bool) -> str:
    """An SDTM-style yes / no variable (AESER, AESDTH, ...): "Y" or "N"."""
    return "Y" if value else "N"


def study_day(day: date | None, origin: date | None) -> int | None:
    """ADaM relative day: ``day - origin + 1`` on or after the origin, ``day - origin`` before it (no day 0)."""
    if day is None or origin is None:
        return None
    difference = (day - origin).days
    return difference + 1 if difference >= 0 else difference


def clip(text: str, length: int) -> str:
    """``text`` within ``length`` characters (the variable's declared width): cut with "..." when longer."""
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 3].rstrip() + "..."


def patient_batches(
    *, trial: Trial, user: Any, chunk_size: int = CHUNK_SIZE, enrolled_only: bool = False
) -> Iterator[list[Patient]]:
    """The trial's patients in the user's scope, ``chunk_size`` at a time, in ``USUBJID`` order (module docstring).

    ``enrolled_only``: only registered / randomised patients (the ones with an origin, D1)."""
    patients = Patient.objects.for_user(user).filter(trial=trial).select_related("site", "trial")
    if enrolled_only:
        patients = patients.filter(enrolment_date__isnull=False)
    collation = byte_order(patients.db)
    key = Collate("subject_id", collation) if collation else "subject_id"
    patients = patients.alias(usubjid_order=key).order_by("usubjid_order")
    last: str | None = None
    while True:
        page = patients if last is None else patients.filter(usubjid_order__gt=last)
        batch = list(page[:chunk_size])
        if batch:
            yield batch
        if len(batch) < chunk_size:
            return
        last = batch[-1].subject_id


def byte_order(database: str) -> str | None:
    """The byte-order collation of the database's vendor (see the module docstring), None where unknown."""
    return _BYTE_ORDER.get(connections[database].vendor)


def stream_values(queryset: QuerySet[Any], *, chunk_size: int) -> Iterator[tuple[Any, ...]]:
    """A ``values_list`` queryset's tuples, lazily, ``chunk_size`` rows in memory at a time.

    On PostgreSQL the queryset's SQL is read straight through a server-side cursor: psycopg2 already gives every
    column its Python type, so Django's per-row converters (a third of the Python time at a million rows,
    ``benchmarks/exports.py``) are skipped; and the cursor lives in a transaction (unless the caller's is open
    already, as a data cut's is), so the server streams the sorted rows instead of first copying the whole result
    aside, which a cursor outside a transaction (``WITH HOLD``) must do. Elsewhere (SQLite keeps dates as text)
    Django's iterator converts."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        yield from queryset.iterator(chunk_size=chunk_size)
        return
    try:
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:  # e.g. ``for_user`` of a user without a role: ``none()``
        return
    with transaction.atomic(using=queryset.db), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_size):
            yield from rows


def by_patient(records: Iterable[Any]) -> dict[int, list[Any]]:
    """Records grouped by ``patient_id``, each group in the order read."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    for record in records:
        grouped[record.patient_id].append(record)
    return grouped


def of_patients(model: type[Any], *, user: Any, patients: list[Patient]) -> QuerySet[Any]:
    """``model``'s rows of ``patients``, read from the user's scope (``for_user``) as every site-owned read is."""
    queryset: QuerySet[Any] = model.objects.for_user(user).filter(patient_id__in=[p.pk for p in patients])
    return queryset


def derivations(*, user: Any, patients: list[Patient]) -> dict[int, PatientDerivation]:
    """The stored derivation of each patient (outcomes' recompute, clinical-spec C6), by patient id."""
    return {d.patient_id: d for d in of_patients(PatientDerivation, user=user, patients=patients)}


def allocated_arms(*, user: Any, patients: list[Patient]) -> dict[int, Arm]:
    """The allocated arm of each allocated patient (``Allocation`` is irrevocable: the arm as randomised)."""
    allocations = of_patients(Allocation, user=user, patients=patients).select_related("arm")
    return {allocation.patient_id: allocation.arm for allocation in allocations}


def planned_treatment(patient: Patient, arms: dict[int, Arm], single_arm: Arm | None) -> str | None:
    """TRT01P: the allocated arm; in a single-arm trial, the one arm once the patient is registered."""
    arm = arms.get(patient.pk)
    if arm is None and single_arm is not None and patient.enrolment_date is not None:
        arm = single_arm
    return arm.name if arm is not None else None


def single_arm_of(trial: Trial) -> Arm | None:
    """COSMO's one arm (registration is not an allocation between arms); None for a randomised trial."""
    if trial.is_randomised:
        return None
    return trial.arms.order_by("code").first()


def origin_of(patient: Patient, derivation: PatientDerivation | None) -> date | None:
    """The analysis origin (D1) as the derivation stored it; else the enrolment date (registration /
    randomisation), the default origin of both trials."""
    stored = derivation.values.get("origin_date") if derivation is not None else None
    if stored:
        return date.fromisoformat(stored)
    return patient.enrolment_date
