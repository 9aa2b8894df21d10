"""The serializers and filters of the case report forms in the API, built from each CRF model (``crf_serializers``,
``crf_filterset``); the views that use them are in ``crfs.py``.

A CRF's representation: its id, where it belongs (patient, trial, site, visit), its state (status, version, created /
updated / completed times), the form's fields and its derived read-only fields. What a write may send is the same
minus the read-only fields, plus the write controls of ``trials.api_common`` (``complete``, ``version``, ``reason``).
Foreign keys are ids, except those to configuration (``NATURAL_KEYS``: the CTCAE term by its term, users by
username, arms by code); a site-owned record is looked up within the user's sites and must be the same patient's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import django_filters
from django.db import models
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trials import api_common
from trials.models import SiteOwnedModel

from ..crf import BOOKKEEPING_FIELDS, CaseReportForm, CrfStatus, data_fields
from ..crfs.enrolment import InvestigatorConfirmation
from ..edit_checks import Finding
from ..models import Patient, Visit
from ..services.enrolment import CONFIRMATION_FIELD

#: How a foreign key to a model that is not site data is written and shown: by its natural key, not its id.
NATURAL_KEYS: dict[str, str] = {"patients.ctcaeterm": "term", "trials.user": "username", "trials.arm": "code"}
#: Fields naming where a record belongs: given when it is created, never changed.
PLACEMENT_FIELDS = ("patient", "visit", "visit_code", "visit_occurrence")


# Fields -----------------------------------------------------------------------------------------------------------


def _user(field: serializers.Field[Any, Any, Any, Any]) -> Any:
    request = field.context.get("request")
    return getattr(request, "user", None)


class PatientField(serializers.SlugRelatedField[Patient]):
    """A patient by subject id, among the user's sites only (another site's subject id reads as unknown)."""

    default_error_messages = {
        "does_not_exist": "No patient with subject id {value} in your sites.",
        "invalid": "Give the subject id as a string, e.g. AVT2-NL01-0007.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "The patient's subject id, e.g. `AVT2-NL01-0007`; given on creation only.")
        super().__init__(slug_field="subject_id", **kwargs)

    def get_queryset(self) -> QuerySet[Patient]:
        return Patient.objects.for_user(_user(self)).select_related("trial", "site")

    def to_internal_value(self, data: Any) -> Patient:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.INT)
class ScopedRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """A site-owned record by id, among the user's sites only; that it is the same patient's is checked by the
    serializer (``CrfSerializer.validate``)."""

    def __init__(self, *, model: type[models.Model], **kwargs: Any) -> None:
        self.related_model = model
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        manager: Any = self.related_model._default_manager
        scoped: QuerySet[Any] = manager.for_user(_user(self))
        return scoped

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        preloaded = getattr(self.root, PRELOADED, {}).get((self.related_model, data))
        if preloaded is not None:
            return preloaded
        return super().to_internal_value(data)


#: Where ``preload_scoped`` keeps what it read, on the root serializer: ``{(model, id): record}``.
PRELOADED = "_scoped_preloaded"


def preload_scoped(serializer: serializers.BaseSerializer[Any], field: ScopedRelatedField, ids: Any) -> None:
    """Read the records that ``field`` (a ``ScopedRelatedField`` of ``serializer`` or of a nested one) will be
    given in one query, from the field's own queryset, so each row of a list does not read its record alone. The
    field answers a preloaded id with its record, as its ``get(pk=...)`` would; an id not found here (another
    site's, unknown, not an id) still goes through the field's own read and its error."""
    wanted = {value for value in ids if type(value) is int and 0 < value <= api_common.MAX_KEY}
    if not wanted:
        return
    found = serializer.__dict__.setdefault(PRELOADED, {})
    for record in field.get_queryset().filter(pk__in=wanted):
        found[(field.related_model, record.pk)] = record


class VisitField(ScopedRelatedField):
    default_error_messages = {"does_not_exist": "No visit {pk_value} in your sites."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "The visit's id (forms collected at a visit); or give `visit_code` and `visit_occurrence` instead. "
            "Given on creation only.",
        )
        super().__init__(model=Visit, allow_null=True, required=False, **kwargs)

    def get_queryset(self) -> QuerySet[Visit]:
        return Visit.objects.for_user(_user(self)).select_related("definition")


class VisitCodeField(serializers.CharField):
    """The code of the record's visit definition, e.g. ``follow-up``; read from the visit, written to choose it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False,
            allow_null=True,
            max_length=30,
            help_text="The visit definition's code, e.g. `screening`, `follow-up` (with `visit_occurrence`).",
            **kwargs,
        )

    def get_attribute(self, instance: Any) -> str | None:
        visit = instance.visit
        return None if visit is None else str(visit.definition.code)


class VisitOccurrenceField(serializers.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False,
            allow_null=True,
            min_value=1,
            max_value=999,
            help_text="Which occurrence of a repeating visit (default 1).",
            **kwargs,
        )

    def get_attribute(self, instance: Any) -> int | None:
        visit = instance.visit
        return None if visit is None else int(visit.occurrence)


class WarningSerializer(serializers.Serializer[Finding]):
    field = serializers.CharField(help_text="The field it is about; empty for the whole form.")
    message = serializers.CharField()
    code = serializers.CharField(help_text="The edit check's code.")


# Serializers ------------------------------------------------------------------------------------------------------


class CrfSerializer(api_common.StrictInputMixin, serializers.ModelSerializer[CaseReportForm]):
    """Base of every CRF serializer; ``crf_serializers(model)`` builds one per form."""

    patient = PatientField()
    trial = serializers.CharField(source="patient.trial.code", read_only=True)
    site = serializers.CharField(source="site.code", read_only=True)
    visit = VisitField()
    visit_code = VisitCodeField()
    visit_occurrence = VisitOccurrenceField()
    visit_date = serializers.DateField(source="visit.visit_date", read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=CrfStatus.choices, read_only=True)
    version = api_common.version_field()
    complete = api_common.complete_field()
    reason = api_common.reason_field()

    #: field names that may not be written on this serializer, with why (the update serializer's placement fields)
    fixed_fields: ClassVar[dict[str, str]] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            fixed = {name: [why] for name, why in self.fixed_fields.items() if name in data}
            if fixed:
                raise serializers.ValidationError(fixed)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Records this one points to (a lesion, a clinical progression, a visit) are the same patient's."""
        patient = attrs.get("patient") or getattr(self.instance, "patient", None)
        errors: dict[str, list[str]] = {}
        for name, value in attrs.items():
            owner = getattr(value, "patient_id", None) if isinstance(value, models.Model) else None
            if patient is not None and owner is not None and owner != patient.pk:
                errors[name] = ["This record belongs to another patient."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CrfUpdateSerializer(CrfSerializer):
    """What an update may send: the values, ``version`` (required), ``complete`` and ``reason``."""

    fixed_fields = {name: "Fixed when the record was created: it cannot be changed." for name in PLACEMENT_FIELDS}
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        help_text="Required: the version you read (a stale version answers 409).",
    )


def _related_field(field: models.ForeignKey[Any, Any]) -> serializers.Field[Any, Any, Any, Any]:
    related = field.related_model
    assert isinstance(related, type)
    natural = NATURAL_KEYS.get(related._meta.label_lower)
    label = str(field.verbose_name)
    if not field.editable:
        if natural:
            return serializers.SlugRelatedField(
                slug_field=natural, read_only=True, allow_null=field.null, help_text=label
            )
        return serializers.PrimaryKeyRelatedField(read_only=True, allow_null=field.null, help_text=label)
    options: dict[str, Any] = {"required": False, "allow_null": field.null, "help_text": label}
    if natural:
        return serializers.SlugRelatedField(slug_field=natural, queryset=related._default_manager.all(), **options)
    if issubclass(related, SiteOwnedModel):
        return ScopedRelatedField(model=related, **options)
    raise TypeError(f"{field.model.__name__}.{field.name}: a foreign key the API does not know how to write")


def model_fields(model: type[CaseReportForm]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if f.name not in BOOKKEEPING_FIELDS]


def serializer_fields(model: type[CaseReportForm]) -> list[str]:
    """Field order of the representation: id, where the record belongs, its state, then the form's fields."""
    own = [f.name for f in model_fields(model)]
    extra = [CONFIRMATION_FIELD] if issubclass(model, InvestigatorConfirmation) else []
    return [
        "id",
        "patient",
        "trial",
        "site",
        "visit",
        "visit_code",
        "visit_occurrence",
        "visit_date",
        "status",
        "version",
        "created_at",
        "updated_at",
        "completed_at",
        *own,
        *extra,
        "complete",
        "reason",
    ]


def crf_serializers(
    model: type[CaseReportForm],
    *,
    base: type[CrfSerializer] = CrfSerializer,
    update_base: type[CrfSerializer] = CrfUpdateSerializer,
    extra: dict[str, Any] | None = None,
    extra_names: Sequence[str] = (),
) -> tuple[type[CrfSerializer], type[CrfSerializer]]:
    """The (read and create, update) serializers of a CRF. ``extra``: more declared fields (the nested rows of a
    tumour assessment), listed after the form's own by ``extra_names``."""
    declared: dict[str, Any] = dict(extra or {})
    for field in model_fields(model):
        if isinstance(field, models.ForeignKey):
            declared[field.name] = _related_field(field)
        elif field.choices and not field.editable:  # derived, e.g. the computed response: empty until computed
            declared[field.name] = serializers.ChoiceField(
                choices=field.choices,
                read_only=True,
                allow_blank=field.blank,
                allow_null=field.null,
                help_text=str(field.verbose_name),
            )
    if issubclass(model, InvestigatorConfirmation):
        declared[CONFIRMATION_FIELD] = serializers.BooleanField(
            required=False,
            write_only=True,
            help_text="Site investigators only: confirm the complete form (who and when are recorded).",
        )
    names = serializer_fields(model)
    names[-2:-2] = list(extra_names)
    meta_attrs = {
        "model": model,
        "fields": names,
        "extra_kwargs": {name: {"required": False} for name in data_fields(model) if name not in declared},
        "validators": [],  # uniqueness is the service's (inside its transaction), never a read ahead of it
    }
    read: type[CrfSerializer] = type(
        f"{model.__name__}Serializer",
        (base,),
        {**declared, "Meta": type("Meta", (), meta_attrs), "__doc__": f"{model.crf.name} (CRF {model.crf.number})."},
    )
    update: type[CrfSerializer] = type(
        f"{model.__name__}UpdateSerializer",
        (update_base, read),
        {
            "patient": PatientField(read_only=True),
            "visit": serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True),
            "visit_code": serializers.CharField(read_only=True, allow_null=True),
            "visit_occurrence": serializers.IntegerField(read_only=True, allow_null=True),
            "Meta": type("Meta", (), meta_attrs),
            "__doc__": f"A change to a {model.crf.name} record.",
        },
    )
    return read, update


def saved_serializer(read: type[CrfSerializer]) -> type[serializers.Serializer[Any]]:
    """What a write answers: the record as read, and the edit-check warnings (``WRITE_CONVENTION``)."""
    name = read.__name__.removesuffix("Serializer")
    return type(
        f"{name}SavedSerializer",
        (read,),
        {
            "warnings": WarningSerializer(
                many=True, read_only=True, help_text="Edit-check warnings; on a complete form each is an open query."
            ),
            "Meta": type("Meta", (read.Meta,), {"fields": [*read.Meta.fields, "warnings"]}),
        },
    )


# Filters ----------------------------------------------------------------------------------------------------------


class CrfFilter(django_filters.FilterSet):  # type: ignore[misc]
    trial = api_common.trial_filter("patient__trial__code")
    site = api_common.site_filter()
    patient = api_common.patient_filter()
    visit_code = api_common.code_filter("visit__definition__code", "Visit definition code, e.g. `follow-up`.")
    status = django_filters.ChoiceFilter(choices=CrfStatus.choices, help_text="Draft or complete.")
    modified_since = api_common.modified_since_filter()


def crf_filterset(model: type[CaseReportForm], *, base: type[CrfFilter] = CrfFilter) -> type[CrfFilter]:
    attrs: dict[str, Any] = {"Meta": type("Meta", (), {"model": model, "fields": []})}
    date_field = model.crf.date_field
    if date_field:
        label = str(getattr(model._meta.get_field(date_field), "verbose_name", date_field)).capitalize()
        attrs[date_field] = api_common.date_range_filter(date_field, label)
    return type(f"{model.__name__}Filter", (base,), attrs)
