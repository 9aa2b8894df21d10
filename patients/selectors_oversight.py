"""Reads of source data verification, signatures and locks (issue 8). Every read starts from the user's scope.

- ``sdv_progress``: per site and per patient of a trial, how many complete forms and items are verified and how many
  items need re-verification (one query per CRF model and one for the verifications, whatever the trial's size).
- ``record_oversight``: one form's items with their verification state, its lock and the signatures covering it.
- ``patient_oversight`` and ``casebook_marks``: the casebook page's panel and the states of its cells.
- ``signature_manifest``: every signature of a trial as rows (for the manifest page and the exports).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from trials.models import Site, Trial, TrialDataState
from trials.permissions import Capability, can, require

from .crf import CaseReportForm, CrfStatus, crf_models
from .locking import refusal
from .models import FieldVerification, Lock, LockScope, Patient, Signature, SignatureScope
from .oversight_content import Item, content_sha256, record_content, record_items, sha256, signed_records

Key = tuple[int, int]  # (content type id, record id)


# SDV progress -------------------------------------------------------------------------------------------------------


@dataclass
class SdvProgress:
    forms_complete: int = 0
    forms_verified: int = 0
    items_total: int = 0
    items_verified: int = 0
    items_to_reverify: int = 0

    @property
    def percent(self) -> int:
        return self.items_verified * 100 // self.items_total if self.items_total else 0

    def add(self, other: SdvProgress) -> None:
        self.forms_complete += other.forms_complete
        self.forms_verified += other.forms_verified
        self.items_total += other.items_total
        self.items_verified += other.items_verified
        self.items_to_reverify += other.items_to_reverify


@dataclass
class PatientProgress:
    patient: Patient
    sdv: SdvProgress


@dataclass
class SiteProgress:
    site: Site
    sdv: SdvProgress
    patients: list[PatientProgress] = field(default_factory=list)
    lock: Lock | None = None


def _verification_sets(
    verifications: Iterable[tuple[int, int, str, Any]],
) -> tuple[dict[Key, set[str]], set[tuple[int, int, str]]]:
    active: dict[Key, set[str]] = defaultdict(set)
    cleared: set[tuple[int, int, str]] = set()
    for content_type_id, object_id, name, cleared_at in verifications:
        if cleared_at is None:
            active[(content_type_id, object_id)].add(name)
        else:
            cleared.add((content_type_id, object_id, name))
    to_reverify = {item for item in cleared if item[2] not in active.get((item[0], item[1]), set())}
    return active, to_reverify


def _progress(patients: list[Patient], trial: Trial, user: Any) -> dict[int, SdvProgress]:
    by_patient = {patient.pk: SdvProgress() for patient in patients}
    patient_ids = list(by_patient)
    verifications = FieldVerification.objects.for_user(user).filter(patient_id__in=patient_ids)
    active, to_reverify = _verification_sets(
        verifications.values_list("content_type_id", "object_id", "field_name", "cleared_at")
    )
    reverify_count: dict[Key, int] = defaultdict(int)
    for content_type_id, object_id, _name in to_reverify:
        reverify_count[(content_type_id, object_id)] += 1
    for model in crf_models():
        if not model.crf.used_in(trial.code):
            continue
        items = {item.name for item in record_items(model)}
        content_type_id = ContentType.objects.get_for_model(model).pk
        complete = model._default_manager.filter(patient_id__in=patient_ids, status=CrfStatus.COMPLETE)
        for pk, patient_id in complete.values_list("pk", "patient_id"):
            progress = by_patient[patient_id]
            verified = len(active.get((content_type_id, pk), set()) & items)
            progress.forms_complete += 1
            progress.forms_verified += verified == len(items)
            progress.items_total += len(items)
            progress.items_verified += verified
            progress.items_to_reverify += reverify_count.get((content_type_id, pk), 0)
    return by_patient


def sdv_progress(*, user: Any, trial: Trial) -> list[SiteProgress]:
    """SDV progress of the trial by site, each with its patients, within the user's scope."""
    require(user, Capability.VIEW_PATIENTS)
    patients = list(Patient.objects.for_user(user).filter(trial=trial).select_related("site", "trial"))
    progress = _progress(patients, trial, user)
    locks = {
        lock.site_id: lock
        for lock in Lock.objects.for_user(user).filter(trial=trial, scope=LockScope.SITE, unlocked_at__isnull=True)
    }
    sites: dict[int, SiteProgress] = {}
    for trial_site in trial.trial_sites.select_related("site").order_by("site__code"):
        site = trial_site.site
        if user.site_ids() is None or site.pk in user.site_ids():
            sites[site.pk] = SiteProgress(site, SdvProgress(), lock=locks.get(site.pk))
    for patient in sorted(patients, key=lambda p: (p.site.code, p.sequence)):
        row = sites.setdefault(patient.site_id, SiteProgress(patient.site, SdvProgress()))
        row.patients.append(PatientProgress(patient, progress[patient.pk]))
        row.sdv.add(progress[patient.pk])
    return list(sites.values())


def patient_sdv(*, user: Any, patient: Patient) -> SdvProgress:
    require(user, Capability.VIEW_PATIENTS)
    return _progress([patient], patient.trial, user)[patient.pk]


# One form --------------------------------------------------------------------------------------------------------


@dataclass
class ItemState:
    item: Item
    value: str
    verification: FieldVerification | None
    cleared: FieldVerification | None
    #: the stored value differs from the one verified (a write that bypassed the services): verify again
    stale: bool = False

    @property
    def state(self) -> str:
        if self.verification is not None and not self.stale:
            return "verified"
        if self.cleared is not None or self.stale:
            return "reverify"
        return "unverified"


@dataclass
class RecordOversight:
    record: CaseReportForm
    items: list[ItemState]
    refusal: str
    form_lock: Lock | None
    signatures: list[Signature]
    can_verify: bool = False
    can_sign: bool = False
    can_lock: bool = False

    @property
    def fully_verified(self) -> bool:
        return bool(self.items) and all(item.state == "verified" for item in self.items)

    @property
    def to_reverify(self) -> list[ItemState]:
        return [item for item in self.items if item.state == "reverify"]

    @property
    def verified_count(self) -> int:
        return sum(item.state == "verified" for item in self.items)


def display(item: Item, record: Any) -> str:
    """An item's value as a person reads it: choice labels, related records, yes/no, "—" for empty."""
    if item.is_rows:
        return "; ".join(str(row) for row in getattr(record, item.name).all()) or "—"
    field_object = record._meta.get_field(item.name)
    value = getattr(record, item.name)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    choices = getattr(field_object, "flatchoices", None)
    if choices:
        return str(dict(choices).get(value, value))
    return str(value)


def _items(record: CaseReportForm, verifications: list[FieldVerification]) -> list[ItemState]:
    model = type(record)
    content = record_content(record)
    active = {v.field_name: v for v in verifications if v.cleared_at is None}
    cleared: dict[str, FieldVerification] = {}
    for verification in verifications:
        if verification.cleared_at is not None:
            cleared[verification.field_name] = verification  # ordered oldest first: the latest wins
    states = []
    for item in record_items(model):
        current = active.get(item.name)
        stale = current is not None and current.value_sha256 != sha256(content.get(item.name, ""))
        states.append(ItemState(item, display(item, record), current, cleared.get(item.name), stale))
    return states


def record_oversight(*, user: Any, record: CaseReportForm) -> RecordOversight:
    """One form's verification state item by item, its lock, and the signatures (valid or not) covering it."""
    require(user, Capability.VIEW_PATIENTS)
    content_type = ContentType.objects.get_for_model(record)
    verifications = list(
        FieldVerification.objects.for_user(user)
        .filter(content_type=content_type, object_id=record.pk)
        .select_related("verified_by", "cleared_by")
        .order_by("verified_at", "pk")
    )
    form_lock = (
        Lock.objects.filter(
            scope=LockScope.FORM, content_type=content_type, object_id=record.pk, unlocked_at__isnull=True
        )
        .select_related("locked_by")
        .first()
    )
    covering = Q(scope=SignatureScope.CASEBOOK) | Q(
        scope=SignatureScope.FORM, content_type=content_type, object_id=record.pk
    )
    if record.visit_id is not None:
        covering |= Q(scope=SignatureScope.VISIT, visit_id=record.visit_id)
    signatures = list(
        Signature.objects.for_user(user).filter(covering, patient_id=record.patient_id).order_by("-signed_at", "-pk")
    )
    return RecordOversight(
        record=record,
        items=_items(record, verifications),
        refusal=refusal(record=record),
        form_lock=form_lock,
        signatures=signatures,
        can_verify=can(user, Capability.VERIFY_SOURCE_DATA),
        can_sign=can(user, Capability.SIGN_CLINICAL_DATA),
        can_lock=can(user, Capability.LOCK_DATA),
    )


def sdv_records(*, user: Any, patient: Patient) -> list[RecordOversight]:
    """Every complete form of the patient with its items' verification state, in casebook order."""
    require(user, Capability.VIEW_PATIENTS)
    records: list[CaseReportForm] = []
    for model in crf_models():
        if model.crf.used_in(patient.trial.code):
            found = model.objects.for_user(user).filter(patient=patient, status=CrfStatus.COMPLETE)
            records += list(found.select_related("visit__definition"))
    records.sort(key=lambda r: (r.visit.visit_date if r.visit and r.visit.visit_date else date.max, r.crf.number, r.pk))
    return [record_oversight(user=user, record=record) for record in records]


# Locks ------------------------------------------------------------------------------------------------------------


def lock_history(
    *,
    user: Any,
    trial: Trial,
    site: Site | None = None,
    patient: Patient | None = None,
    record: CaseReportForm | None = None,
) -> list[Lock]:
    """Every lock (active first, then released, newest first) of one site's data, casebook or form in the trial."""
    require(user, Capability.VIEW_PATIENTS)
    locks = Lock.objects.for_user(user).filter(trial=trial).select_related("locked_by", "unlocked_by")
    if record is not None:
        locks = locks.filter(
            scope=LockScope.FORM, content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        )
    elif patient is not None:
        locks = locks.filter(scope=LockScope.PATIENT, patient=patient)
    elif site is not None:
        locks = locks.filter(scope=LockScope.SITE, site=site)
    found = list(locks.order_by("-locked_at", "-pk"))
    return sorted(found, key=lambda lock: not lock.is_active)


@dataclass(frozen=True)
class StateChange:
    when: datetime
    who: str
    state: str
    reason: str


def trial_state_history(*, trial: Trial) -> list[StateChange]:
    """The trial's data-state changes (frozen, locked, unlocked), newest first, from its audit trail."""
    history = list(trial.history.order_by("history_date", "history_id").select_related("history_user"))
    changes: list[StateChange] = []
    previous = TrialDataState.OPEN.value
    for row in history:
        if row.data_state != previous:
            who = row.history_user.get_username() if row.history_user else "system"
            label = TrialDataState(row.data_state).label
            changes.append(StateChange(row.history_date, who, label, row.history_change_reason or ""))
        previous = row.data_state
    return changes[::-1]


# The casebook ------------------------------------------------------------------------------------------------------


@dataclass
class CasebookMarks:
    """What the casebook's cells show beyond draft / complete / queried."""

    #: every record is read-only: the trial is locked, or the site's or the patient's data are
    all_locked: bool = False
    locked: set[Key] = field(default_factory=set)
    verified: set[Key] = field(default_factory=set)
    reverify: set[Key] = field(default_factory=set)
    signed: set[Key] = field(default_factory=set)
    resign: set[Key] = field(default_factory=set)

    def key(self, record: models.Model) -> Key:
        return (ContentType.objects.get_for_model(record).pk, record.pk)

    def is_locked(self, record: models.Model) -> bool:
        return self.all_locked or self.key(record) in self.locked

    def flags(self, record: models.Model | None) -> tuple[str, ...]:
        if record is None:
            return ()
        key = self.key(record)
        names = (("reverify", self.reverify), ("signed", self.signed), ("resign", self.resign))
        return tuple(name for name, keys in names if key in keys)


def _needs_resigning(signatures: Iterable[Signature]) -> list[Signature]:
    """Invalidated signatures not followed by a valid one of the same scope and target: they need re-signing."""
    latest: dict[tuple[int, str, int | None, int | None, int | None], Signature] = {}
    for signature in sorted(signatures, key=lambda s: (s.signed_at, s.pk)):
        visit_id = signature.visit_id if signature.scope == SignatureScope.VISIT else None
        key = (signature.patient_id, signature.scope, visit_id, signature.content_type_id, signature.object_id)
        latest[key] = signature
    return [signature for signature in latest.values() if not signature.is_valid]


def _form_key(signature: Signature) -> Key:
    return (signature.content_type_id or 0, signature.object_id or 0)


def casebook_marks(*, patient: Patient) -> CasebookMarks:
    """The casebook's oversight marks: a few queries for the whole patient (the casebook is already scoped)."""
    marks = CasebookMarks()
    state = Trial.objects.filter(pk=patient.trial_id).values_list("data_state", flat=True).first()
    locks = Lock.objects.filter(trial_id=patient.trial_id, unlocked_at__isnull=True).filter(
        Q(scope=LockScope.SITE, site_id=patient.site_id) | Q(patient_id=patient.pk)
    )
    for lock in locks:
        if lock.scope == LockScope.FORM and lock.content_type_id and lock.object_id:
            marks.locked.add((lock.content_type_id, lock.object_id))
        else:
            marks.all_locked = True
    marks.all_locked = marks.all_locked or state == TrialDataState.LOCKED
    verifications = FieldVerification.objects.filter(patient=patient).values_list(
        "content_type_id", "object_id", "field_name", "cleared_at"
    )
    active, to_reverify = _verification_sets(verifications)
    marks.reverify = {(ct, pk) for ct, pk, _name in to_reverify}
    for (content_type_id, object_id), names in active.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is not None and issubclass(model, CaseReportForm) and {i.name for i in record_items(model)} <= names:
            marks.verified.add((content_type_id, object_id))
    signatures = list(Signature.objects.filter(patient=patient, scope=SignatureScope.FORM))
    marks.signed = {_form_key(s) for s in signatures if s.is_valid}
    marks.resign = {_form_key(s) for s in _needs_resigning(signatures)}
    return marks


@dataclass
class PatientOversight:
    data_state: str
    refusal: str
    patient_lock: Lock | None
    site_lock: Lock | None
    sdv: SdvProgress
    signatures: list[Signature]
    needs_resigning: list[Signature]
    can_verify: bool
    can_sign: bool
    can_lock: bool
    #: valid signatures whose data no longer hash to what was signed (``signature_content_matches``)
    content_changed: set[int] = field(default_factory=set)

    @property
    def casebook_signature(self) -> Signature | None:
        """The latest casebook signature (valid or not)."""
        return next((s for s in self.signatures if s.scope == SignatureScope.CASEBOOK), None)


def patient_oversight(*, user: Any, patient: Patient) -> PatientOversight:
    """The casebook page's oversight panel: data state, locks, SDV progress and the signature manifest."""
    require(user, Capability.VIEW_PATIENTS)
    locks = {
        lock.scope: lock
        for lock in Lock.objects.filter(trial_id=patient.trial_id, unlocked_at__isnull=True)
        .filter(Q(scope=LockScope.SITE, site_id=patient.site_id) | Q(scope=LockScope.PATIENT, patient_id=patient.pk))
        .select_related("locked_by")
    }
    signatures = list(
        Signature.objects.for_user(user).filter(patient=patient).select_related("visit").order_by("-signed_at", "-pk")
    )
    state = Trial.objects.filter(pk=patient.trial_id).values_list("data_state", flat=True).first() or "open"
    return PatientOversight(
        data_state=state,
        refusal=refusal(patient=patient),
        patient_lock=locks.get(LockScope.PATIENT),
        site_lock=locks.get(LockScope.SITE),
        sdv=patient_sdv(user=user, patient=patient),
        signatures=signatures,
        needs_resigning=_needs_resigning(signatures),
        can_verify=can(user, Capability.VERIFY_SOURCE_DATA),
        can_sign=can(user, Capability.SIGN_CLINICAL_DATA),
        can_lock=can(user, Capability.LOCK_DATA),
        content_changed={s.pk for s in signatures if s.is_valid and not signature_content_matches(signature=s)},
    )


def signature_content_matches(*, signature: Signature) -> bool:
    """Whether the data a valid signature covers still hash to what was signed (21 CFR 11.70): False means they
    changed without passing through the services, which would have invalidated it; the signature cannot be
    trusted and needs re-signing."""
    patient = signature.patient
    if signature.scope == SignatureScope.FORM:
        model = signature.content_type.model_class() if signature.content_type else None
        record = model._default_manager.filter(pk=signature.object_id).first() if model is not None else None
        if not isinstance(record, CaseReportForm):
            return False
        current = signed_records(patient=patient, record=record)
    elif signature.scope == SignatureScope.VISIT:
        current = signed_records(patient=patient, visit=signature.visit)
    else:
        current = signed_records(patient=patient)
    return content_sha256(current) == signature.content_sha256


# The signature manifest -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestRow:
    """One signature as the manifest and the exports show it (21 CFR 11.50: name, date and time, meaning)."""

    subject_id: str
    site_code: str
    scope: str
    record: str
    signer_username: str
    signer_name: str
    signer_role: str
    meaning: str
    signed_at: datetime
    valid: bool
    invalidated_at: datetime | None
    invalidated_reason: str
    needs_resigning: bool
    content_sha256: str

    @property
    def status(self) -> str:
        return "valid" if self.valid else "invalidated"


def _signed_what(signature: Signature) -> str:
    if signature.scope == SignatureScope.CASEBOOK:
        return "Casebook"
    if signature.scope == SignatureScope.VISIT:
        return f"Visit {signature.visit}" if signature.visit is not None else "Visit"
    first = signature.records[0] if signature.records else {}
    return str(first.get("label", f"Form #{signature.object_id}"))


def signature_manifest(*, user: Any, trial: Trial) -> list[ManifestRow]:
    """Every signature of the trial's patients in the user's scope, by subject then time."""
    require(user, Capability.VIEW_PATIENTS)
    signatures = list(
        Signature.objects.for_user(user)
        .filter(patient__trial=trial)
        .select_related("patient", "site", "signer", "visit__definition")
        .order_by("patient__subject_id", "signed_at", "pk")
    )
    stale = {signature.pk for signature in _needs_resigning(signatures)}
    return [
        ManifestRow(
            subject_id=signature.patient.subject_id,
            site_code=signature.site.code,
            scope=signature.scope,
            record=_signed_what(signature),
            signer_username=signature.signer.get_username(),
            signer_name=signature.signer_name,
            signer_role=signature.signer_role,
            meaning=signature.meaning,
            signed_at=signature.signed_at,
            valid=signature.is_valid,
            invalidated_at=signature.invalidated_at,
            invalidated_reason=signature.invalidated_reason,
            needs_resigning=signature.pk in stale,
            content_sha256=signature.content_sha256,
        )
        for signature in signatures
    ]
