"""Patients, visits and queries in the API: read-only, scoped like the screens.

Every queryset starts from ``Model.objects.for_user(user)`` after ``require(user, VIEW_PATIENTS)``: site roles see
their sites, all-site roles every site, and roles that do not open casebooks (the trial manager) get 404. No direct
identifier leaves: a patient is its subject id, trial, site, status, age at consent, sex and study dates; never a
name, a birth date or the site's screening-log number (which the site's log links to a name).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from trials import api_common
from trials.permissions import Capability, require

from ..models import Patient, PatientStatus, Query, QueryMessage, QueryMessageKind, QueryStatus, Visit, VisitStatus
from .randomisation import UsernameField

_READ_ERRORS = api_common.error_responses(404)
_LIST_ERRORS = api_common.error_responses(400, 404)


def _documented(noun: str, serializer: type[serializers.BaseSerializer[Any]]) -> Any:
    return extend_schema_view(
        list=extend_schema(tags=[noun], summary=f"List {noun}", responses={200: serializer, **_LIST_ERRORS}),
        retrieve=extend_schema(
            tags=[noun], summary=f"Read one of the {noun}", responses={200: serializer, **_READ_ERRORS}
        ),
    )


class ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Any]):
    lookup_value_regex = api_common.LOOKUP_ANY


# Patients ---------------------------------------------------------------------------------------------------------


class PatientSerializer(serializers.ModelSerializer[Patient]):
    trial = serializers.CharField(source="trial.code")
    site = serializers.CharField(source="site.code")
    arm = serializers.SerializerMethodField(help_text="The allocated arm's code; null before allocation.")

    class Meta:
        model = Patient
        fields = [
            "subject_id",
            "trial",
            "site",
            "status",
            "age_at_consent",
            "sex",
            "consent_date",
            "enrolment_date",
            "arm",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_arm(self, patient: Patient) -> str | None:
        allocation = getattr(patient, "allocation", None)
        return None if allocation is None else str(allocation.arm.code)


class PatientFilter(django_filters.FilterSet):  # type: ignore[misc]
    trial = api_common.trial_filter("trial__code")
    site = api_common.site_filter()
    status = django_filters.ChoiceFilter(choices=PatientStatus.choices)
    enrolment_date = api_common.date_range_filter("enrolment_date", "Registration / randomisation date")
    modified_since = api_common.modified_since_filter()

    class Meta:
        model = Patient
        fields: list[str] = []


@_documented("patients", PatientSerializer)
class PatientViewSet(ReadViewSet):
    """Patients of your sites, by subject id. The arm is shown to every role that may read the patient's
    allocation (``patients.selectors_randomisation.allocation_get``): the trial is open-label."""

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    lookup_field = "subject_id"
    lookup_value_regex = api_common.LOOKUP_ANY

    def get_queryset(self) -> QuerySet[Patient]:
        if api_common.describing_schema(self):
            return Patient.objects.none()
        require(self.request.user, Capability.VIEW_PATIENTS)
        return Patient.objects.for_user(self.request.user).select_related("trial", "site", "allocation__arm")


# Visits -----------------------------------------------------------------------------------------------------------


class VisitSerializer(serializers.ModelSerializer[Visit]):
    patient = serializers.CharField(source="patient.subject_id")
    trial = serializers.CharField(source="patient.trial.code")
    site = serializers.CharField(source="site.code")
    visit_code = serializers.CharField(source="definition.code", help_text="The visit definition's code.")
    visit_name = serializers.CharField(source="definition.name")
    kind = serializers.CharField(source="definition.kind")

    class Meta:
        model = Visit
        fields = [
            "id",
            "patient",
            "trial",
            "site",
            "visit_code",
            "visit_name",
            "kind",
            "occurrence",
            "status",
            "visit_date",
            "missed_reason",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class VisitFilter(django_filters.FilterSet):  # type: ignore[misc]
    trial = api_common.trial_filter("patient__trial__code")
    site = api_common.site_filter()
    patient = api_common.patient_filter()
    visit_code = api_common.code_filter("definition__code", "Visit definition code, e.g. `follow-up`.")
    status = django_filters.ChoiceFilter(choices=VisitStatus.choices)
    visit_date = api_common.date_range_filter("visit_date", "Visit date")
    modified_since = api_common.modified_since_filter()

    class Meta:
        model = Visit
        fields: list[str] = []


@_documented("visits", VisitSerializer)
class VisitViewSet(ReadViewSet):
    """Visits of the schedule as they happened (done on a date or missed), and unscheduled visits."""

    serializer_class = VisitSerializer
    filterset_class = VisitFilter

    def get_queryset(self) -> QuerySet[Visit]:
        if api_common.describing_schema(self):
            return Visit.objects.none()
        require(self.request.user, Capability.VIEW_PATIENTS)
        return Visit.objects.for_user(self.request.user).select_related("patient__trial", "site", "definition")


# Queries ----------------------------------------------------------------------------------------------------------


class QueryMessageSerializer(serializers.ModelSerializer[QueryMessage]):
    kind = serializers.ChoiceField(choices=QueryMessageKind.choices)
    author = UsernameField(allow_null=True, help_text="Username; null for the EDC's automatic messages.")

    class Meta:
        model = QueryMessage
        fields = ["kind", "text", "author", "created_at"]
        read_only_fields = fields


class QueryRecordSerializer(serializers.Serializer[Query]):
    """The record a query is about: its model, id and, for a case report form, the CRF code."""

    model = serializers.CharField(source="content_type.model", help_text="e.g. `demographics`, `tumourassessment`.")
    app = serializers.CharField(source="content_type.app_label")
    id = serializers.IntegerField(source="object_id")
    crf = serializers.SerializerMethodField(help_text="The CRF code when the record is a case report form.")

    def get_crf(self, query: Query) -> str | None:
        model = query.content_type.model_class()
        spec = getattr(model, "crf", None)
        return None if spec is None else str(spec.code)


class QuerySerializer(serializers.ModelSerializer[Query]):
    patient = serializers.CharField(source="patient.subject_id")
    trial = serializers.CharField(source="patient.trial.code")
    site = serializers.CharField(source="site.code")
    record = QueryRecordSerializer(source="*")
    automatic = serializers.BooleanField(source="is_automatic", help_text="Raised by an edit check or the EDC.")
    raised_by = UsernameField(allow_null=True, help_text="Username; null for automatic queries.")
    messages = QueryMessageSerializer(many=True)

    class Meta:
        model = Query
        fields = [
            "id",
            "patient",
            "trial",
            "site",
            "record",
            "field_name",
            "status",
            "check_code",
            "automatic",
            "raised_by",
            "raised_at",
            "closed_at",
            "updated_at",
            "messages",
        ]
        read_only_fields = fields


class QueryFilter(django_filters.FilterSet):  # type: ignore[misc]
    trial = api_common.trial_filter("patient__trial__code")
    site = api_common.site_filter()
    patient = api_common.patient_filter()
    status = django_filters.ChoiceFilter(choices=QueryStatus.choices)
    automatic = django_filters.BooleanFilter(method="filter_automatic", help_text="Automatic (true) or manual.")
    raised_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text="Raised between `raised_at_after` and `raised_at_before` (ISO 8601 date-times), inclusive."
    )
    modified_since = api_common.modified_since_filter()

    class Meta:
        model = Query
        fields: list[str] = []

    def filter_automatic(self, queryset: QuerySet[Query], name: str, value: bool) -> QuerySet[Query]:
        return queryset.exclude(check_code="") if value else queryset.filter(check_code="")


@_documented("queries", QuerySerializer)
class QueryViewSet(ReadViewSet):
    """Data clarification queries with their message threads. Raising, answering and closing are done on the
    screens."""

    serializer_class = QuerySerializer
    filterset_class = QueryFilter

    def get_queryset(self) -> QuerySet[Query]:
        if api_common.describing_schema(self):
            return Query.objects.none()
        require(self.request.user, Capability.VIEW_PATIENTS)
        messages = QueryMessage.objects.select_related("author").order_by("created_at", "pk")
        return (
            Query.objects.for_user(self.request.user)
            .select_related("patient__trial", "site", "content_type", "raised_by")
            .prefetch_related(Prefetch("messages", queryset=messages))
        )
