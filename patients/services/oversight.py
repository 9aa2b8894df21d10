"""Source data verification and electronic signatures (issue 8), and what a change to the data does to them.

- ``sdv_verify_fields`` / ``sdv_verify_form``: a monitor marks items of a complete form verified against the source.
- ``signature_sign``: an investigator signs a form, a visit or the casebook by re-entering the password, and the
  authenticator code when a device is enrolled (21 CFR 11.200(a)(1): two distinct identification components; the
  user is already signed in, and 11.200(a)(1)(i) allows the password alone for later signings of one session, but
  re-asking every time is simpler to reason about). The meaning is shown before and stored with the signature
  (11.50); what was signed is stored as the records' versions and a SHA-256 of their content (11.70). Refused
  attempts are recorded (11.300(d)) and count towards django-axes' sign-in lockout.
- ``oversight_snapshot`` / ``oversight_record_changed``: called by ``crf_save`` (and any service saving a CRF record
  directly) around a save. A change to an item clears its verification (the history row carries the change's
  reason), and any change to signed data (a form, its visit, the casebook, including a new form or a visit)
  invalidates the signatures covering it: the casebook then shows "needs re-verification" / "needs re-signing".
  ``visit_changed`` and ``patient_changed`` do the same for visit and patient records.

Locks and the trial's data state are in ``patients.services.locks``; the guard in ``patients.locking``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django_otp import devices_for_user

from trials.audit import require_reason, stamp
from trials.permissions import Capability, require

from ..crf import CaseReportForm
from ..locking import ensure_writable
from ..models import (
    FieldVerification,
    Patient,
    Signature,
    SignatureScope,
    SigningFailure,
    SigningFailureReason,
    Visit,
)
from ..oversight_content import (
    PATIENT_FIELDS,
    VISIT_FIELDS,
    Content,
    changed_items,
    content_sha256,
    fields_content,
    record_content,
    record_items,
    sha256,
    signed_records,
)

# Source data verification -----------------------------------------------------------------------------------------


def _in_scope(user: Any, record: models.Model) -> None:
    if not type(record).objects.for_user(user).filter(pk=record.pk).exists():  # type: ignore[attr-defined]
        raise Http404


@transaction.atomic
def sdv_verify_fields(*, user: Any, record: CaseReportForm, fields: Iterable[str]) -> list[FieldVerification]:
    """Mark items of a complete form verified against the source. Items already verified stay as they are."""
    require(user, Capability.VERIFY_SOURCE_DATA)
    _in_scope(user, record)
    wanted = list(dict.fromkeys(fields))
    if not wanted:
        raise ValidationError({"fields": "Choose the fields you checked against the source."})
    items = {item.name for item in record_items(type(record))}
    unknown = sorted(set(wanted) - items)
    if unknown:
        raise ValidationError({"fields": f"Not a field of this form: {', '.join(unknown)}."})
    if not record.is_complete:
        raise ValidationError("Only a complete form can be verified: the site is still entering this one.")
    ensure_writable(record=record, action="verify")
    content_type = ContentType.objects.get_for_model(record)
    active = set(
        FieldVerification.objects.filter(
            content_type=content_type, object_id=record.pk, cleared_at__isnull=True
        ).values_list("field_name", flat=True)
    )
    content = record_content(record)
    made = []
    for name in wanted:
        if name in active:
            continue
        verification = FieldVerification(
            site_id=record.site_id,
            patient_id=record.patient_id,
            content_type=content_type,
            object_id=record.pk,
            field_name=name,
            value_sha256=sha256(content.get(name, "")),
            record_version=record.version,
            verified_by=user,
        )
        stamp(verification, user=user, reason="Source data verified")
        verification.save()
        made.append(verification)
    return made


def sdv_verify_form(*, user: Any, record: CaseReportForm) -> list[FieldVerification]:
    """Verify every item of the form at once (the monitor checked the whole form against the source)."""
    return sdv_verify_fields(user=user, record=record, fields=[item.name for item in record_items(type(record))])


def _verifications_clear(*, record: CaseReportForm, names: list[str], user: Any, reason: str) -> int:
    labels = {item.name: item.label for item in record_items(type(record))}
    cleared = 0
    for verification in FieldVerification.objects.select_for_update(of=("self",)).filter(
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        field_name__in=names,
        cleared_at__isnull=True,
    ):
        label = labels.get(verification.field_name, verification.field_name)
        verification.cleared_at = timezone.now()
        verification.cleared_by = user if getattr(user, "is_authenticated", False) else None
        verification.cleared_reason = f"{label} changed after verification: {reason}"
        stamp(verification, user=user, reason=verification.cleared_reason)
        verification.save()
        cleared += 1
    return cleared


# Electronic signatures --------------------------------------------------------------------------------------------


class SigningRefused(ValidationError):
    """The password or the authenticator code was wrong (or the account is locked out): nothing was signed."""

    def __init__(self, message: str, *, field: str, locked_out: bool = False) -> None:
        super().__init__({field: message})
        self.locked_out = locked_out


def signer_name(user: Any) -> str:
    full = user.get_full_name().strip()
    return f"{full} ({user.get_username()})" if full else user.get_username()


def signature_meaning(
    *, user: Any, patient: Patient, visit: Visit | None = None, record: CaseReportForm | None = None
) -> str:
    """The meaning of the signature (21 CFR 11.50(a)(3)): shown on the signing page and stored as shown."""
    if record is not None:
        what = f"the data in the {record.crf.name} form #{record.pk} of {patient.subject_id}"
    elif visit is not None:
        what = f"the data recorded at visit {visit} of {patient.subject_id}"
    else:
        what = f"the data in the casebook of {patient.subject_id}"
    return (
        f"I, {signer_name(user)}, approve {what} as accurate and complete per the protocol. This electronic signature "
        "is the legally binding equivalent of my handwritten signature (21 CFR 11.50, 11.100)."
    )


def _scope_of(visit: Visit | None, record: CaseReportForm | None) -> str:
    if record is not None:
        return SignatureScope.FORM
    return SignatureScope.VISIT if visit is not None else SignatureScope.CASEBOOK


def signature_check_signable(
    *, user: Any, patient: Patient, visit: Visit | None = None, record: CaseReportForm | None = None
) -> None:
    """Everything but the credentials: role, scope, what is signed, and the lock state (nothing is written)."""
    require(user, Capability.SIGN_CLINICAL_DATA)
    if not Patient.objects.for_user(user).filter(pk=patient.pk).exists():
        raise Http404
    if visit is not None and visit.patient_id != patient.pk:
        raise Http404
    if record is not None:
        if record.patient_id != patient.pk:
            raise Http404
        if not record.is_complete:
            raise ValidationError("Only a complete form can be signed: complete it first.")
    ensure_writable(record=record, patient=patient, action="sign")


def _refuse(
    *, user: Any, patient: Patient, scope: str, reason: str, message: str, field: str, request: Any
) -> SigningRefused:
    """Record the refused attempt (outside any signing transaction, so it stays) and build the error."""
    failure = SigningFailure(site_id=patient.site_id, patient=patient, scope=scope, user=user, reason=reason)
    stamp(failure, user=user, reason=f"Signature refused: {failure.get_reason_display().lower()}")
    failure.save()
    locked_out = reason == SigningFailureReason.LOCKED_OUT or _locked_out(user, request)
    if locked_out and reason != SigningFailureReason.LOCKED_OUT:
        message += " Too many failed attempts: your account is now locked; sign in again later."
    return SigningRefused(message, field=field, locked_out=locked_out)


def _locked_out(user: Any, request: Any) -> bool:
    if request is None:
        return False
    from axes.handlers.proxy import AxesProxyHandler

    return bool(AxesProxyHandler.is_locked(request, {"username": user.get_username()}))


def _check_credentials(*, user: Any, patient: Patient, scope: str, password: str, otp_token: str, request: Any) -> bool:
    """The password, then the authenticator code when the user has a confirmed device; True if a code was checked.

    With a request, the password goes through ``authenticate`` so django-axes counts a failure (and refuses a
    locked-out account); a wrong code is reported to axes the same way."""
    context = {"user": user, "patient": patient, "scope": scope, "request": request}
    if _locked_out(user, request):
        raise _refuse(
            **context,
            reason=SigningFailureReason.LOCKED_OUT,
            message="Too many failed attempts: your account is locked for now. Nothing was signed.",
            field="password",
        )
    if request is not None:
        found = authenticate(request, username=user.get_username(), password=password or "")
        password_ok = found is not None and found.pk == user.pk
    else:
        password_ok = bool(password) and user.check_password(password)
    if not password_ok:
        raise _refuse(
            **context,
            reason=SigningFailureReason.WRONG_PASSWORD,
            message="The password is not correct. Nothing was signed.",
            field="password",
        )
    devices = list(devices_for_user(user, confirmed=True))
    if not devices:
        return False
    token = "".join((otp_token or "").split()).replace("-", "").lower()  # "123 456" as typed from the app
    if token and any(device.verify_token(token) for device in devices):
        return True
    if request is not None:
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
    raise _refuse(
        **context,
        reason=SigningFailureReason.WRONG_TOKEN,
        message="The authenticator code is missing or not correct. Nothing was signed.",
        field="otp_token",
    )


def signature_sign(
    *,
    user: Any,
    patient: Patient,
    password: str,
    otp_token: str = "",
    visit: Visit | None = None,
    record: CaseReportForm | None = None,
    request: Any = None,
) -> Signature:
    """Sign ``record`` (a form), ``visit`` (the visit and its forms) or, with neither, the patient's casebook.

    ``request`` (the signing page's) lets django-axes count a wrong password or code towards the sign-in lockout;
    services called without one (imports, tests) check the password directly."""
    signature_check_signable(user=user, patient=patient, visit=visit, record=record)
    scope = _scope_of(visit, record)
    second_factor = _check_credentials(
        user=user, patient=patient, scope=scope, password=password, otp_token=otp_token, request=request
    )
    with transaction.atomic():
        ensure_writable(record=record, patient=patient, action="sign")  # again, under the lock-change guard
        records = signed_records(patient=patient, visit=visit, record=record)
        signature = Signature(
            site_id=patient.site_id,
            patient=patient,
            scope=scope,
            visit=visit if visit is not None else (record.visit if record is not None else None),
            content_type=ContentType.objects.get_for_model(record) if record is not None else None,
            object_id=record.pk if record is not None else None,
            signer=user,
            signer_name=signer_name(user),
            signer_role=user.role,
            meaning=signature_meaning(user=user, patient=patient, visit=visit, record=record),
            records=[signed.as_json() for signed in records],
            content_sha256=content_sha256(records),
            second_factor=second_factor,
        )
        stamp(signature, user=user, reason=f"{signature.get_scope_display()} signed")
        signature.save()
    return signature


def _covering(
    *, patient_id: int, visit_id: int | None = None, record: models.Model | None = None
) -> QuerySet[Signature]:
    """The valid signatures a change to this patient's data (at ``visit_id``, to ``record``) makes untrue."""
    scopes = Q(scope=SignatureScope.CASEBOOK)
    if visit_id is not None:
        scopes |= Q(scope=SignatureScope.VISIT, visit_id=visit_id)
    if record is not None and record.pk is not None:
        scopes |= Q(
            scope=SignatureScope.FORM, content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        )
    return Signature.objects.filter(scopes, patient_id=patient_id, invalidated_at__isnull=True)


def signature_invalidate(*, signature: Signature, user: Any, reason: str) -> Signature:
    """Invalidate one signature, with the reason (the data it covers changed); it then needs re-signing."""
    reason = require_reason(reason)
    if signature.invalidated_at is not None:
        return signature
    signature.invalidated_at = timezone.now()
    signature.invalidated_by = user if getattr(user, "is_authenticated", False) else None
    signature.invalidated_reason = reason
    stamp(signature, user=user, reason=f"Signature invalidated: {reason}")
    signature.save()
    return signature


def _invalidate_covering(
    *, patient_id: int, visit_id: int | None, record: models.Model | None, user: Any, reason: str
) -> int:
    # one patient's signatures in their default order (newest first) without the joins to the patient, trial and
    # site that ordering by patient adds, so only the signature rows are locked
    covering = _covering(patient_id=patient_id, visit_id=visit_id, record=record).order_by("-signed_at", "-pk")
    signatures = list(covering.select_for_update())
    for signature in signatures:
        signature_invalidate(signature=signature, user=user, reason=reason)
    return len(signatures)


# Changes to verified or signed data -------------------------------------------------------------------------------


def oversight_snapshot(record: CaseReportForm) -> Content | None:
    """The record's content before a change, or None when nothing depends on it (no verification, no signature
    covering it): then the save costs two existence checks and no read of the content."""
    if record.pk is None:
        return None
    watched = (
        FieldVerification.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk, cleared_at__isnull=True
        ).exists()
        or _covering(patient_id=record.patient_id, visit_id=record.visit_id, record=record).exists()
    )
    return record_content(record) if watched else None


def _why(record: Any, reason: str, what: str) -> str:
    reason = (reason or getattr(record, "_change_reason", "") or "").strip()
    return f"{what}: {reason}" if reason else what


def oversight_record_changed(
    *, record: CaseReportForm, before: Content | None, created: bool, user: Any = None, reason: str = ""
) -> list[str]:
    """After a save of ``record``: clear the verification of each changed item, invalidate the signatures covering
    a change (a new record changes its visit and the casebook). Returns the names of the changed items."""
    user = user if user is not None else getattr(record, "_history_user", None)
    if created:
        _invalidate_covering(
            patient_id=record.patient_id,
            visit_id=record.visit_id,
            record=None,
            user=user,
            reason=_why(record, reason, f"{record.crf.name} #{record.pk} added"),
        )
        return []
    if before is None:
        return []
    changed = changed_items(before, record_content(record))
    if not changed:
        return []
    why = _why(record, reason, f"{record.crf.name} #{record.pk} changed ({', '.join(changed)})")
    _verifications_clear(record=record, names=changed, user=user, reason=_why(record, reason, "changed"))
    _invalidate_covering(patient_id=record.patient_id, visit_id=record.visit_id, record=record, user=user, reason=why)
    return changed


def visit_content(visit: Visit | None) -> Content | None:
    return fields_content(visit, VISIT_FIELDS) if visit is not None and visit.pk is not None else None


def visit_changed(*, visit: Visit, before: Content | None, user: Any, reason: str) -> None:
    """A recorded visit (new or changed): its visit signature and the casebook signatures no longer hold."""
    if before is not None and before == fields_content(visit, VISIT_FIELDS):
        return
    what = f"Visit {visit} {'recorded' if before is None else 'changed'}"
    _invalidate_covering(
        patient_id=visit.patient_id, visit_id=visit.pk, record=None, user=user, reason=_why(visit, reason, what)
    )


def patient_content(patient: Patient) -> Content:
    """The patient's signed fields as stored (not as an edit form may have changed the object in memory)."""
    stored = Patient.objects.get(pk=patient.pk)
    return fields_content(stored, PATIENT_FIELDS)


def patient_changed(*, patient: Patient, before: Content, user: Any, reason: str) -> None:
    if before == fields_content(patient, PATIENT_FIELDS):
        return
    _invalidate_covering(
        patient_id=patient.pk,
        visit_id=None,
        record=None,
        user=user,
        reason=_why(patient, reason, f"Patient {patient.subject_id} changed"),
    )
