"""Derived endpoints in the API (read-only): one ADTTE-like row per patient and PARAMCD, and each patient's derivation.

Efficacy by patient is for the roles with ``VIEW_EFFICACY`` (statistician, sponsor admin); everyone else gets 404,
as on the summaries screen. Rows are written only by the recompute service (``outcomes.services.patients``), which
stamps ``computed_at`` on every row it (re)writes: that is the modification time ``modified_since`` filters on. An
endpoint the engine no longer derives for a patient is deleted by the recompute, so an incremental pull does not see
it go; a full pull of the patient (``patient=``) does.

AVAL counts the origin day as day 1; ``cnsr`` is ADaM's censoring flag (1 censored, 0 event).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from trials import api_common
from trials.permissions import Capability, require

from .models import EndpointValue, PatientDerivation


class EndpointValueSerializer(serializers.ModelSerializer[EndpointValue]):
    patient = serializers.CharField(source="patient.subject_id")
    trial = serializers.CharField(source="patient.trial.code")
    site = serializers.CharField(source="site.code")
    cnsr = serializers.IntegerField(allow_null=True, help_text="1 censored, 0 event; null when not derivable.")

    class Meta:
        model = EndpointValue
        fields = [
            "id",
            "patient",
            "trial",
            "site",
            "paramcd",
            "start_date",
            "end_date",
            "aval_days",
            "event",
            "cnsr",
            "reason",
            "explanation",
            "source_records",
            "flags",
            "landmark_status",
            "algorithm_version",
            "settings_version",
            "input_hash",
            "computed_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "aval_days": {"help_text": "Days from the origin, the origin day counting as day 1."},
            "source_records": {"help_text": 'The CRF records that set the date, e.g. ["lesions.tumourassessment:12"].'},
        }


class DerivationSerializer(serializers.ModelSerializer[PatientDerivation]):
    patient = serializers.CharField(source="patient.subject_id")
    trial = serializers.CharField(source="patient.trial.code")
    site = serializers.CharField(source="site.code")

    class Meta:
        model = PatientDerivation
        fields = [
            "patient",
            "trial",
            "site",
            "algorithm_version",
            "settings_version",
            "input_hash",
            "computed_at",
            "values",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "values": {"help_text": "Subgroups, origin date, visceral crisis, LAT complications, engine queries..."},
            "input_hash": {"help_text": "SHA-256 of every input the engines read."},
        }


class EndpointValueFilter(django_filters.FilterSet):  # type: ignore[misc]
    trial = api_common.trial_filter("patient__trial__code")
    site = api_common.site_filter()
    patient = api_common.patient_filter()
    paramcd = api_common.code_filter("paramcd", "Endpoint code, e.g. `PFS`, `OS`, `TSF`.")
    event = django_filters.BooleanFilter(help_text="Events (true) or censored rows (false).")
    end_date = api_common.date_range_filter("end_date", "Event or censoring date")
    modified_since = api_common.modified_since_filter("computed_at")

    class Meta:
        model = EndpointValue
        fields: list[str] = []


class DerivationFilter(django_filters.FilterSet):  # type: ignore[misc]
    trial = api_common.trial_filter("patient__trial__code")
    site = api_common.site_filter()
    patient = api_common.patient_filter()
    modified_since = api_common.modified_since_filter("computed_at")

    class Meta:
        model = PatientDerivation
        fields: list[str] = []


class EfficacyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Any]):
    def scoped(self, model: Any) -> QuerySet[Any]:
        if api_common.describing_schema(self):
            none: QuerySet[Any] = model.objects.none()
            return none
        require(self.request.user, Capability.VIEW_EFFICACY)
        queryset: QuerySet[Any] = model.objects.for_user(self.request.user).select_related("patient__trial", "site")
        return queryset


@extend_schema_view(
    list=extend_schema(
        tags=["endpoints"],
        summary="List derived endpoint values",
        responses={200: EndpointValueSerializer, **api_common.error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        tags=["endpoints"],
        summary="Read one derived endpoint value",
        responses={200: EndpointValueSerializer, **api_common.error_responses(404)},
    ),
)
class EndpointValueViewSet(EfficacyViewSet):
    """Time-to-event endpoints by patient (PARAMCD, start and end dates, AVAL in days, event or censoring, the
    reason, and the provenance: algorithm and settings versions, input hash, source records)."""

    serializer_class = EndpointValueSerializer
    filterset_class = EndpointValueFilter
    lookup_value_regex = api_common.LOOKUP_ANY

    def get_queryset(self) -> QuerySet[EndpointValue]:
        return self.scoped(EndpointValue)


@extend_schema_view(
    list=extend_schema(
        tags=["endpoints"],
        summary="List patient derivations",
        responses={200: DerivationSerializer, **api_common.error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        tags=["endpoints"],
        summary="Read one patient's derivation",
        responses={200: DerivationSerializer, **api_common.error_responses(404)},
    ),
)
class DerivationViewSet(EfficacyViewSet):
    """The latest derivation of each patient (by subject id): the engines' patient-level values and provenance."""

    serializer_class = DerivationSerializer
    filterset_class = DerivationFilter
    lookup_field = "patient__subject_id"
    lookup_url_kwarg = "subject_id"
    lookup_value_regex = api_common.LOOKUP_ANY

    def get_queryset(self) -> QuerySet[PatientDerivation]:
        return self.scoped(PatientDerivation)
