"""Writes of patients: permission, validation, audit reason, optimistic lock, and the changed-data event."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from trials.audit import require_reason, stamp
from trials.models import Site, Trial, TrialSite
from trials.permissions import Capability, require

from ..events import notify_patient_data_changed
from ..locking import ensure_writable
from ..models import Patient, PatientStatus
from .oversight import patient_changed, patient_content


class EditConflict(ValidationError):
    """Someone else saved the record after this form was opened; their data is kept."""

    def __init__(self, record: str) -> None:
        super().__init__(
            f"{record} was changed by someone else while you were editing. Your changes were not saved; "
            "reload the page to see the current data, then make your change again."
        )


def subject_id_for(trial: Trial, site: Site, sequence: int) -> str:
    return f"{trial.subject_prefix}-{site.code}-{sequence:04d}"


def _check_dates(*, consent_date: date, enrolment_date: date | None, status: str) -> None:
    today = timezone.localdate()
    errors: dict[str, str] = {}
    if consent_date > today:
        errors["consent_date"] = "The consent date cannot be in the future."
    if enrolment_date is not None:
        if enrolment_date > today:
            errors["enrolment_date"] = "The enrolment date cannot be in the future."
        elif enrolment_date < consent_date:
            errors["enrolment_date"] = "Enrolment cannot be before consent."
    if status in (PatientStatus.ON_STUDY, PatientStatus.OFF_STUDY, PatientStatus.DIED) and enrolment_date is None:
        errors.setdefault("enrolment_date", "A patient on or off study must have an enrolment date.")
    if status == PatientStatus.SCREEN_FAILED and enrolment_date is not None:
        errors["status"] = "A screen failure cannot have an enrolment date."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def patient_register(
    *,
    user: Any,
    trial: Trial,
    site: Site,
    screening_number: str,
    age_at_consent: int,
    sex: str,
    consent_date: date,
) -> Patient:
    """Register a screened patient at a site and give them the next subject id of that trial and site."""
    require(user, Capability.REGISTER_PATIENT)
    ensure_writable(trial=trial, site=site)
    # The trial-site row lock serialises numbering per trial and site; the unique constraint is the backstop.
    trial_site = (
        TrialSite.objects.for_user(user)
        .select_for_update(of=("self",))
        .filter(trial=trial, site=site)
        .select_related("site")
        .first()
    )
    if trial_site is None:
        raise ValidationError({"site": f"{site.code} does not take part in {trial} or is not one of your sites."})
    if trial_site.activation_date is None or consent_date < trial_site.activation_date:
        raise ValidationError(
            {"consent_date": f"{site.code} was not activated for {trial} on this date; no patient can consent before."}
        )
    _check_dates(consent_date=consent_date, enrolment_date=None, status=PatientStatus.SCREENING)
    if Patient.objects.filter(trial=trial, site=site, screening_number=screening_number).exists():
        raise ValidationError({"screening_number": "This screening number is already registered at this site."})
    last = Patient.objects.filter(trial=trial, site=site).aggregate(last=Max("sequence"))["last"] or 0
    patient = Patient(
        trial=trial,
        site=site,
        sequence=last + 1,
        subject_id=subject_id_for(trial, site, last + 1),
        screening_number=screening_number,
        age_at_consent=age_at_consent,
        sex=sex,
        consent_date=consent_date,
    )
    patient.full_clean()
    stamp(patient, user=user, reason="Patient registered")
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as error:
        raise ValidationError(
            "Another registration took this number at the same moment; please submit again."
        ) from error
    notify_patient_data_changed(patient.pk)
    return patient


EDITABLE_FIELDS = ("screening_number", "age_at_consent", "sex", "consent_date", "enrolment_date", "status")


@transaction.atomic
def patient_update(*, user: Any, patient: Patient, expected_version: int, reason: str, **values: Any) -> Patient:
    """Change a registered patient's record. Needs a reason; refused if someone else saved in between."""
    require(user, Capability.EDIT_CLINICAL_DATA)
    reason = require_reason(reason)
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in sorted(unknown)})
    scoped = Patient.objects.for_user(user).filter(pk=patient.pk)
    if not scoped.exists():
        raise ValidationError("This patient is not in your sites.")
    ensure_writable(patient=patient)
    before = patient_content(patient)
    for name, value in values.items():
        setattr(patient, name, value)
    _check_dates(consent_date=patient.consent_date, enrolment_date=patient.enrolment_date, status=patient.status)
    patient.full_clean(validate_unique=True)
    # Claim the next version atomically: 0 rows means another save won the race.
    if not scoped.filter(version=expected_version).update(version=F("version") + 1):
        raise EditConflict(patient.subject_id)
    patient.version = expected_version + 1
    stamp(patient, user=user, reason=reason)
    patient.save()
    patient_changed(patient=patient, before=before, user=user, reason=reason)
    notify_patient_data_changed(patient.pk)
    return patient
