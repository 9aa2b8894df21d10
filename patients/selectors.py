"""Reads of patients. Every query starts from the user's scope; outside it the answer is 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from trials.permissions import Capability, require

from .models import Patient


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
