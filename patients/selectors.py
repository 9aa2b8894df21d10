"""Reads of patients. Every query starts from the user's scope; outside it the answer is 404."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from trials.permissions import Capability, require

from .models import Patient, Query, QueryStatus, Visit


def patient_list(
    *,
    user: Any,
    trial_code: str = "",
    site_code: str = "",
    status: str = "",
    search: str = "",
) -> QuerySet[Patient]:
    require(user, Capability.VIEW_PATIENTS)
    patients = Patient.objects.for_user(user).select_related("trial", "site")
    if trial_code:
        patients = patients.filter(trial__code=trial_code)
    if site_code:
        patients = patients.filter(site__code=site_code)
    if status:
        patients = patients.filter(status=status)
    if search:
        term = search.strip()
        patients = patients.filter(Q(subject_id__icontains=term) | Q(screening_number__icontains=term))
    return patients.order_by("trial__code", "site__code", "sequence")


def patient_get(*, user: Any, subject_id: str) -> Patient:
    require(user, Capability.VIEW_PATIENTS)
    patient: Patient = get_object_or_404(
        Patient.objects.for_user(user).select_related("trial", "site"), subject_id=subject_id
    )
    return patient


def crf_record_get(*, user: Any, patient: Patient, model: type[Any], pk: int) -> Any:
    """One CRF record of a patient the user may see, else 404."""
    require(user, Capability.VIEW_PATIENTS)
    return get_object_or_404(model.objects.for_user(user).filter(patient=patient), pk=pk)


def visit_get(*, user: Any, patient: Patient, pk: int) -> Visit:
    require(user, Capability.VIEW_PATIENTS)
    visit: Visit = get_object_or_404(Visit.objects.for_user(user).select_related("definition"), patient=patient, pk=pk)
    return visit


def query_list(*, user: Any, status: str = "", site_code: str = "", trial_code: str = "") -> QuerySet[Query]:
    require(user, Capability.VIEW_PATIENTS)
    queries = Query.objects.for_user(user).select_related(
        "patient", "patient__trial", "site", "content_type", "raised_by"
    )
    if status == "open":
        queries = queries.exclude(status=QueryStatus.CLOSED)
    elif status:
        queries = queries.filter(status=status)
    if site_code:
        queries = queries.filter(site__code=site_code)
    if trial_code:
        queries = queries.filter(patient__trial__code=trial_code)
    return queries.order_by("raised_at")


def query_get(*, user: Any, pk: int) -> Query:
    require(user, Capability.VIEW_PATIENTS)
    query: Query = get_object_or_404(
        Query.objects.for_user(user).select_related("patient", "content_type", "raised_by"), pk=pk
    )
    return query


def queries_for_record(*, record: Any) -> QuerySet[Query]:
    return (
        Query.objects.filter(content_type=ContentType.objects.get_for_model(record), object_id=record.pk)
        .prefetch_related("messages__author")
        .order_by("-raised_at")
    )
