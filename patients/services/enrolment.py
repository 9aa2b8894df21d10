"""Writes around enrolment: the investigator's confirmation, and registration / randomisation moving the patient.

Both go through ``crf_save`` (the one write path) and run inside its transaction:

- ``investigator_confirm`` records who confirmed a complete form and when (eligibility, clinical progression);
  only a site investigator may (trials.md, "People and what they may do").
- ``enrolment_patient_sync`` runs after a registration / randomisation record is saved: a complete record sets the
  patient's enrolment date (the origin of every endpoint, decisions D1) and puts a screening patient on study.
  ``enrolment_complete`` is the service for API writes, imports and tasks; the entry screen reaches the same
  function through the form's ``save_children`` hook (``patients.crfs.enrolment_forms``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from trials.audit import stamp
from trials.models import Role, VisitKind
from trials.permissions import Capability, require

from ..crf import CaseReportForm
from ..crfs.enrolment import Enrolment, enrolment_model_for
from ..events import notify_patient_data_changed
from ..locking import ensure_writable
from ..models import Patient, PatientStatus, Visit, VisitStatus
from .crfs import crf_save
from .visits import visit_record

#: The form field (not a model field) by which the entry screen asks for the confirmation.
CONFIRMATION_FIELD = "investigator_confirmation"


def saving_user(record: CaseReportForm) -> Any:
    """The user of the ``crf_save`` call now running, for hooks that receive only the record.

    ``crf_save`` stamps the record with its user before it saves and calls ``save_children``; the form hook has no
    other way to know who is saving (``save_children`` gets only the record)."""
    user = getattr(record, "_history_user", None)
    if user is None:
        raise ValidationError("The user saving this form is not known.")
    return user


@transaction.atomic
def investigator_confirm(*, user: Any, record: CaseReportForm, reason: str = "") -> CaseReportForm:
    """The site investigator confirms a complete form; the confirmation is saved (and audited) through crf_save."""
    require(user, Capability.EDIT_CLINICAL_DATA)
    if getattr(user, "role", "") != Role.INVESTIGATOR:
        raise ValidationError({CONFIRMATION_FIELD: "Only a site investigator may confirm this form."})
    if not record.is_complete:
        raise ValidationError({CONFIRMATION_FIELD: "Mark the form complete before confirming it."})
    if record.confirmed_by_id is not None:  # type: ignore[attr-defined]
        return record
    record.confirmed_by = user  # type: ignore[attr-defined]
    record.confirmed_at = timezone.now()  # type: ignore[attr-defined]
    try:
        return crf_save(
            user=user,
            model=type(record),
            patient=record.patient,
            instance=record,
            values={},
            complete=True,
            reason=reason.strip() or "Confirmed by the site investigator",
            expected_version=record.version,
        )
    except ValidationError:
        record.confirmed_by = None  # type: ignore[attr-defined]
        record.confirmed_at = None  # type: ignore[attr-defined]
        raise


def enrolment_patient_sync(*, record: CaseReportForm, user: Any) -> None:
    """Make the patient follow a saved registration / randomisation record (inside the saving transaction).

    A complete record sets the patient's enrolment date (a correction of the record moves it) and moves a screening
    patient on study; the patient's version is bumped so a patient form opened before is refused. A draft changes
    nothing."""
    patient: Patient = Patient.objects.select_for_update().get(pk=record.patient_id)
    if not isinstance(record, Enrolment) or not record.is_complete:
        return
    first = patient.enrolment_date is None
    changed = False
    if patient.enrolment_date != record.origin_date:
        patient.enrolment_date = record.origin_date
        changed = True
    if patient.status in (PatientStatus.SCREENING, PatientStatus.SCREEN_FAILED):
        patient.status = PatientStatus.ON_STUDY
        changed = True
    if not changed:
        return
    patient.version += 1
    patient.full_clean()
    what = record.ENROLLED_AS
    stamp(patient, user=user, reason=what if first else f"{what}: date corrected on the {record.crf.name} form")
    patient.save()
    notify_patient_data_changed(patient.pk)


@transaction.atomic
def _enrolment_visit(*, user: Any, patient: Patient, model: type[CaseReportForm], values: dict[str, Any]) -> Visit:
    """The enrolment visit, recorded as done on the registration / randomisation date when it is not yet."""
    definition = patient.trial.visit_definitions.get(kind=VisitKind.ENROLMENT)
    existing: Visit | None = Visit.objects.filter(patient=patient, definition=definition, occurrence=1).first()
    if existing is not None:
        return existing
    date_field = "randomisation_date" if patient.trial.is_randomised else "registration_date"
    try:
        with transaction.atomic():
            return visit_record(
                user=user,
                patient=patient,
                definition=definition,
                occurrence=1,
                status=VisitStatus.DONE,
                visit_date=values.get(date_field),
            )
    except ValidationError as error:
        raise ValidationError({date_field: error.messages}) from error


@transaction.atomic
def enrolment_complete(
    *,
    user: Any,
    patient: Patient,
    values: dict[str, Any],
    instance: CaseReportForm | None = None,
    visit: Visit | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> CaseReportForm:
    """Register (COSMO) or randomise (AVATAR II) a patient: save the form complete and move the patient."""
    model = enrolment_model_for(patient.trial.code)
    if model is None:
        raise ValidationError(f"{patient.trial} has no registration or randomisation form.")
    # Serialise enrolments of one patient: a second request waits here, then its checks see the first's record.
    Patient.objects.select_for_update(of=("self",)).filter(pk=patient.pk).first()
    ensure_writable(patient=patient)  # before the visit is recorded, so the refusal keeps its own message
    if visit is None and instance is None:
        visit = _enrolment_visit(user=user, patient=patient, model=model, values=values)

    return crf_save(
        user=user,
        model=model,
        patient=patient,
        values=values,
        complete=True,
        instance=instance,
        visit=visit,
        reason=reason,
        expected_version=expected_version,
        save_children=lambda record: enrolment_patient_sync(record=record, user=user),
    )
