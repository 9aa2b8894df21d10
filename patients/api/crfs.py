"""Every case report form in the API, built from the CRF models themselves: a new CRF gets its API with no new code.

For each model of ``patients.crf.crf_models()`` ``crf_viewset(model)`` builds a viewset from the model's serializers
and filter set (``crf_serializers.py``: the form's data fields, its derived read-only fields and the bookkeeping;
filters on trial, site, patient, visit, status, ``modified_since`` and a range on the form's date,
``CrfSpec.date_field``), mounted by ``cosmo_avatar/api_urls.py`` at ``crfs/<code>/``.

Writes go through ``patients.services.crf_save``, the one write path of the entry screens, so permission, scope,
completeness, edit checks, optimistic locking, the reason for change, automatic queries and the patient-data-changed
event are the same. What an entry form does besides (its ``save_children`` hook) the API does too: enrolment forms move
the patient (``enrolment_patient_sync``), checklists take the investigator's confirmation. A form whose hook the API
does not know is served read-only until an API of its own replaces it (the lesion forms: ``lesions/api.py``), so no
write ever skips what the screen would do.

Input convention: ``trials.api_common.WRITE_CONVENTION``. A new record names its patient (``patient``: subject id) and,
for a form collected at a visit, the visit: ``visit`` (its id) or ``visit_code`` + ``visit_occurrence`` (the visit
definition's code, e.g. ``follow-up``, and which occurrence, default 1). The visit must be recorded as done first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from trials import api_common, idempotency
from trials.permissions import Capability, can, require

from ..crf import CaseReportForm, data_fields
from ..crfs.enrolment import Enrolment, InvestigatorConfirmation
from ..crfs.enrolment_forms import EnrolmentForm, InvestigatorConfirmationForm
from ..edit_checks import Finding, Severity
from ..forms import CrfForm, crf_form_class
from ..locking import LOCKED_STATUS, DataLocked
from ..models import Patient, Visit
from ..services import EditConflict, crf_save
from ..services.crfs import crf_check
from ..services.enrolment import CONFIRMATION_FIELD, enrolment_patient_sync, investigator_confirm
from .crf_serializers import (
    CrfFilter,
    CrfSerializer,
    CrfUpdateSerializer,
    ScopedRelatedField,
    WarningSerializer,
    crf_filterset,
    crf_serializers,
    model_fields,
    saved_serializer,
)

#: The entry forms' ``save_children`` hooks this module does for API writes too (``_hooks``).
KNOWN_FORM_HOOKS = (
    CrfForm.save_children,
    EnrolmentForm.save_children,
    InvestigatorConfirmationForm.save_children,
)


# Views ------------------------------------------------------------------------------------------------------------


def crf_queryset(model: type[CaseReportForm], *, user: Any) -> QuerySet[Any]:
    """The model's records in the user's sites, with everything the serializer reads (no query per row)."""
    require(user, Capability.VIEW_PATIENTS)
    related = [f.name for f in model_fields(model) if isinstance(f, models.ForeignKey)]
    return model.objects.for_user(user).select_related("patient__trial", "site", "visit__definition", *related)


class CrfReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Any]):
    """Records of one CRF in your sites (site roles: their sites; all-site roles: every site; 404 for roles that
    do not open casebooks)."""

    model: ClassVar[type[CaseReportForm]]
    update_serializer_class: ClassVar[type[CrfSerializer]]
    #: the CRF's tag in the schema (``crf_tag``), given by ``document``
    schema_tags: ClassVar[list[str]] = []
    lookup_value_regex = api_common.LOOKUP_ANY
    parser_classes = [api_common.JSONParser]  # JSON only; a too deeply nested body is a 400

    def get_queryset(self) -> QuerySet[Any]:
        if api_common.describing_schema(self):
            return self.model.objects.none()
        return crf_queryset(self.model, user=self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "partial_update":
            return self.update_serializer_class
        return super().get_serializer_class()


class CrfViewSet(CrfReadViewSet):
    """Records of one CRF: list, read, create (``POST``) and update (``PATCH``) through the CRF service."""

    def create(self, request: Request) -> Response:
        user = request.user
        require(user, Capability.VIEW_PATIENTS)
        if not can(user, Capability.EDIT_CLINICAL_DATA):
            raise PermissionDenied("Your role may read these records but not write them.")
        body = api_common.json_body(request)
        try:
            key = idempotency.idempotency_key(request.headers)
        except DjangoValidationError as error:
            return api_common.bad_request(api_common.validation_errors(error))
        fingerprint = ""
        if key is not None:
            fingerprint = idempotency.request_fingerprint(method=request.method or "", path=request.path, body=body)
            earlier = idempotency.idempotency_key_find(user=user, key=key)
            if earlier is not None:
                return self._replay(earlier, fingerprint)
        given = self.get_serializer(data=body)
        if not given.is_valid():
            return api_common.bad_request(api_common.serializer_errors(given.errors))
        data = dict(given.validated_data)
        patient = data.get("patient")
        if patient is None:
            return api_common.bad_request({"patient": ["Give the patient's subject id."]})
        try:
            visit = self._visit(patient, data)
        except DjangoValidationError as error:
            return api_common.bad_request(api_common.validation_errors(error))
        existing = self._existing(patient, visit)
        if existing is not None:
            where = "visit" if visit is not None else api_common.NON_FIELD
            return api_common.bad_request(
                {
                    where: [
                        f"This {'visit' if visit else 'patient'} already has its {self.model.crf.name} form "
                        f"(id {existing.pk}): update that record."
                    ]
                }
            )
        return self._save(request, data, patient=patient, visit=visit, instance=None, key=key, fingerprint=fingerprint)

    def _replay(self, earlier: Any, fingerprint: str) -> Response:
        """The answer to a create sent again under its ``Idempotency-Key``: the record it made, as it is now."""
        if earlier.fingerprint != fingerprint:  # the path is in the fingerprint: same key, same form's endpoint
            return Response({idempotency.HEADER: [idempotency.REUSED]}, status=422)
        saved = self.get_queryset().filter(pk=earlier.object_id).first()
        if saved is None:  # no longer in the user's sites
            raise Http404
        response = self._answer(saved, code=status.HTTP_201_CREATED)
        response[idempotency.REPLAYED_HEADER] = "true"
        return response

    def partial_update(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        if not can(request.user, Capability.EDIT_CLINICAL_DATA):
            raise Http404
        given = self.get_serializer(record, data=api_common.json_body(request))
        if not given.is_valid():
            return api_common.bad_request(api_common.serializer_errors(given.errors))
        data = dict(given.validated_data)
        if data["version"] != record.version:
            return api_common.conflict(given=data["version"], current=record.version)
        return self._save(request, data, patient=record.patient, visit=record.visit, instance=record)

    # The write, shared by create and update ------------------------------------------------------------------

    def _save(
        self,
        request: Request,
        data: dict[str, Any],
        *,
        patient: Patient,
        visit: Visit | None,
        instance: Any,
        key: str | None = None,
        fingerprint: str = "",
    ) -> Response:
        values = {name: data[name] for name in data_fields(self.model) if name in data}
        complete = data.get("complete", instance.is_complete if instance is not None else False)
        try:
            with transaction.atomic():
                record = self.save_record(
                    user=request.user,
                    patient=patient,
                    visit=visit,
                    values=values,
                    complete=complete,
                    instance=instance,
                    reason=data.get("reason", ""),
                    expected_version=data.get("version") if instance is not None else None,
                    data=data,
                )
                if key is not None:  # the key commits with the record, or neither does
                    idempotency.idempotency_key_record(
                        user=request.user, key=key, fingerprint=fingerprint, record=record
                    )
        except EditConflict:
            current = type(instance)._default_manager.filter(pk=instance.pk).values_list("version", flat=True).first()
            return api_common.conflict(given=data["version"], current=current or 0)
        except DataLocked as error:  # frozen or locked data (patients.locking): 423 Locked with the message
            return Response(api_common.validation_errors(error), status=LOCKED_STATUS)
        except DjangoValidationError as error:
            return api_common.bad_request(api_common.validation_errors(error))
        except IntegrityError:
            return Response(
                {
                    api_common.NON_FIELD: [
                        "Another record was saved at the same time and conflicts with this one; "
                        "nothing was saved: read again and retry."
                    ]
                },
                status=status.HTTP_409_CONFLICT,
            )
        saved = self.get_queryset().get(pk=record.pk)
        return self._answer(saved, code=status.HTTP_200_OK if instance is not None else status.HTTP_201_CREATED)

    def _answer(self, saved: Any, *, code: int) -> Response:
        """The saved record as the API reads it, with its edit-check warnings."""
        read = self.serializer_class
        assert read is not None
        body = dict(read(saved, context=self.get_serializer_context()).data)
        body["warnings"] = [dict(WarningSerializer(finding).data) for finding in self.warnings(saved)]
        return Response(body, status=code)

    def save_record(
        self,
        *,
        user: Any,
        patient: Patient,
        visit: Visit | None,
        values: dict[str, Any],
        complete: bool,
        instance: Any,
        reason: str,
        expected_version: int | None,
        data: dict[str, Any],
    ) -> CaseReportForm:
        """Save through the CRF service with the entry form's own hooks; dedicated APIs override this to call
        their app's service."""
        return crf_save(
            user=user,
            model=self.model,
            patient=patient,
            values=values,
            complete=complete,
            instance=instance,
            visit=visit,
            reason=reason,
            expected_version=expected_version,
            save_children=_hooks(self.model, user=user, confirm=bool(data.get(CONFIRMATION_FIELD))),
        )

    def warnings(self, record: Any) -> list[Finding]:
        """The edit-check warnings of the saved record (queries on a complete form, hints on a draft)."""
        findings = crf_check(record, patient=record.patient, completing=record.is_complete, user=self.request.user)
        return [f for f in findings if f.severity == Severity.WARNING]

    def _visit(self, patient: Patient, data: dict[str, Any]) -> Visit | None:
        visit: Visit | None = data.get("visit")
        code, occurrence = data.get("visit_code"), data.get("visit_occurrence")
        if code is None:
            if occurrence is not None:
                raise DjangoValidationError({"visit_code": "Give the visit code with its occurrence."})
            return visit
        found: Visit | None = (
            Visit.objects.for_user(self.request.user)
            .select_related("definition")
            .filter(patient=patient, definition__code=code, occurrence=occurrence or 1)
            .first()
        )
        if found is None:
            raise DjangoValidationError(
                {"visit_code": f"No visit {code} (occurrence {occurrence or 1}) is recorded for this patient yet."}
            )
        if visit is not None and visit.pk != found.pk:
            raise DjangoValidationError({"visit": "The visit id and the visit code name different visits."})
        return found

    def _existing(self, patient: Patient, visit: Visit | None) -> Any:
        """A form that is not a log has one record per visit (or per patient), as on the entry screens."""
        if self.model.crf.repeating:
            return None
        found = self.model._default_manager.filter(patient=patient, visit=visit)
        return found.order_by(*_within_patient(self.model)).first()


def _within_patient(model: type[CaseReportForm]) -> list[Any]:
    """The model's default ordering among one patient's records: a leading ``patient`` (which orders by the
    patient's trial, site and number, joining those tables) is the same for all of them and is left out."""
    ordering = list(model._meta.ordering or ["pk"])
    if ordering[0] in ("patient", "patient_id"):
        ordering = ordering[1:] or ["pk"]
    return ordering


def _hooks(model: type[CaseReportForm], *, user: Any, confirm: bool) -> Callable[[CaseReportForm], None] | None:
    """What the entry form's ``save_children`` does, for the API (``KNOWN_FORM_HOOKS``)."""
    steps: list[Callable[[CaseReportForm], Any]] = []
    if issubclass(model, Enrolment):
        steps.append(lambda record: enrolment_patient_sync(record=record, user=user))
    if confirm and issubclass(model, InvestigatorConfirmation):

        def confirm_record(record: CaseReportForm) -> None:
            if not record.investigator_confirmed:  # type: ignore[attr-defined]
                investigator_confirm(user=user, record=record)

        steps.append(confirm_record)
    if not steps:
        return None

    def run(record: CaseReportForm) -> None:
        for step in steps:
            step(record)

    return run


def writable_generically(model: type[CaseReportForm]) -> bool:
    """Whether the generic write does everything the entry form does (else the generic API is read-only)."""
    return getattr(crf_form_class(model), "save_children", None) in KNOWN_FORM_HOOKS


def crf_tag(model: type[CaseReportForm]) -> str:
    spec = model.crf
    only = f" ({', '.join(sorted(spec.trials))})" if len(spec.trials) == 1 else ""
    return f"CRF {spec.number}: {spec.name}{only}"


def document(viewset: type[CrfReadViewSet], *, description: str = "") -> type[CrfReadViewSet]:
    """Name the CRF in the schema: its tag, and what each operation takes and answers."""
    model, read = viewset.model, viewset.serializer_class
    assert read is not None
    tags = viewset.schema_tags or [crf_tag(model)]
    about = description or (model.__doc__ or model.crf.name).strip().split("\n\n")[0]
    methods: dict[str, Any] = {
        "list": extend_schema(
            tags=tags,
            summary=f"List {model.crf.name} records",
            description=f"{about}\n\nCode `{model.crf.code}`. Cursor-paginated in id order; filter by trial, site, "
            "patient, visit, status, the form's date and `modified_since`.",
            responses={200: read, **api_common.error_responses(400, 404)},
        ),
        "retrieve": extend_schema(
            tags=tags,
            summary=f"Read one {model.crf.name} record",
            responses={200: read, **api_common.error_responses(404)},
        ),
    }
    if issubclass(viewset, CrfViewSet):
        saved = saved_serializer(cast(type[CrfSerializer], read))
        methods["create"] = extend_schema(
            tags=tags,
            summary=f"Create a {model.crf.name} record",
            description=api_common.WRITE_CONVENTION,
            request=read,
            parameters=[api_common.IDEMPOTENCY_KEY_PARAMETER],
            responses={201: saved, **api_common.error_responses(400, 403, 404, 409, 422, 423)},
        )
        methods["partial_update"] = extend_schema(
            tags=tags,
            summary=f"Change a {model.crf.name} record",
            description=api_common.WRITE_CONVENTION,
            request=viewset.update_serializer_class,
            responses={200: saved, **api_common.error_responses(400, 404, 409, 423)},
        )
    return extend_schema_view(**methods)(viewset)


def crf_viewset(model: type[CaseReportForm]) -> type[CrfReadViewSet]:
    """The generic viewset of one CRF (read-only when its entry form does more than the API knows)."""
    read, update = crf_serializers(model)
    base = CrfViewSet if writable_generically(model) else CrfReadViewSet
    viewset = type(
        f"{model.__name__}ViewSet",
        (base,),
        {
            "model": model,
            "serializer_class": read,
            "update_serializer_class": update,
            "filterset_class": crf_filterset(model),
            "schema_tags": [crf_tag(model)],
            "__doc__": base.__doc__,
        },
    )
    return document(viewset)


__all__ = [
    "CrfFilter",
    "CrfReadViewSet",
    "CrfSerializer",
    "CrfUpdateSerializer",
    "CrfViewSet",
    "ScopedRelatedField",
    "crf_filterset",
    "crf_queryset",
    "crf_serializers",
    "crf_tag",
    "crf_viewset",
    "document",
]
