"""Randomisation in the API: randomise one patient, read its allocation, and the allocations collection.

What an allocation shows follows ``patients.selectors_randomisation``: the patient's site roles and the all-site roles
that read casebooks (never the trial manager) see the arm, the method and the factors as entered; the concealed part
(the list row, the minimisation state and its random draws, which reveal the sequence, clinical-spec §6.2) only the
roles with ``MANAGE_RANDOMISATION``.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import api_view
from rest_framework.fields import SkipField
from rest_framework.request import Request
from rest_framework.response import Response

from trials import api_common
from trials.permissions import Capability, can, require

from .. import selectors
from .. import selectors_randomisation as reads
from ..locking import LOCKED_STATUS, DataLocked
from ..randomisation import Allocation, AllocationMethod, StratificationCorrection
from ..services import randomisation as service


class RandomiseInput(serializers.Serializer[Any]):
    crf_version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="The randomisation form's version whose factors were confirmed; refused if the form changed since.",
    )


class CorrectionSerializer(serializers.Serializer[StratificationCorrection]):
    field = serializers.CharField()
    as_randomised = serializers.CharField(source="old_value")
    corrected_to = serializers.CharField(source="new_value")
    corrected_at = serializers.DateTimeField()
    reason = serializers.CharField()


class ListRowSerializer(serializers.Serializer[Any]):
    stratum = serializers.CharField()
    sequence = serializers.IntegerField()
    block = serializers.IntegerField()
    block_size = serializers.IntegerField()


class ConcealedSerializer(serializers.Serializer[Allocation]):
    """The part of an allocation that reveals the sequence: statistician and sponsor admin only."""

    list_row = ListRowSerializer(allow_null=True)
    minimisation_state = serializers.JSONField(allow_null=True)
    random_draws = serializers.JSONField(allow_null=True)


@extend_schema_field(serializers.CharField())
class UsernameField(serializers.Field[Any, Any, Any, Any]):
    def to_representation(self, value: Any) -> str:
        return str(value.get_username())


@extend_schema_field(ConcealedSerializer)
class ConcealedField(serializers.Field[Any, Any, Any, Any]):
    """Present only for the roles that may read the allocation list; left out (not emptied) for everyone else."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", required=False, **kwargs)

    def get_attribute(self, instance: Allocation) -> Allocation:
        if not can(self.context.get("user"), Capability.MANAGE_RANDOMISATION):
            raise SkipField
        return instance

    def to_representation(self, value: Allocation) -> dict[str, Any]:
        return dict(ConcealedSerializer(value).data)


class AllocationSerializer(serializers.Serializer[Allocation]):
    """An allocation as JSON (context ``user``: who reads, for the concealed part)."""

    subject_id = serializers.CharField(source="patient.subject_id")
    trial = serializers.CharField(source="trial.code")
    site = serializers.CharField(source="site.code")
    arm = serializers.CharField(source="arm.code")
    arm_name = serializers.CharField(source="arm.name")
    method = serializers.ChoiceField(choices=AllocationMethod.choices)
    stratum = serializers.CharField()
    factors = serializers.JSONField()
    list_version = serializers.IntegerField(allow_null=True)
    algorithm_version = serializers.CharField()
    allocated_at = serializers.DateTimeField()
    allocated_by = UsernameField()
    stratification_corrections = CorrectionSerializer(many=True, source="corrections.all")
    concealed = ConcealedField(
        help_text="Only for the statistician and the sponsor admin (clinical-spec §6.2); absent for everyone else."
    )


def allocation_data(allocation: Allocation, *, user: Any) -> dict[str, Any]:
    """An allocation as JSON; the concealed part only for the roles that may read the list."""
    return dict(AllocationSerializer(allocation, context={"user": user}).data)


def allocations_for(*, user: Any) -> QuerySet[Allocation]:
    """The allocations of the user's sites, for the roles that read casebooks (``allocation_get``'s rule); with
    everything the serializer reads, so a page costs the same few queries whatever its length."""
    require(user, Capability.VIEW_PATIENTS)
    corrections = StratificationCorrection.objects.select_related("corrected_by").order_by("corrected_at", "pk")
    return (
        Allocation.objects.for_user(user)
        .select_related("patient", "trial", "site", "arm", "allocated_by", "list_row")
        .prefetch_related(Prefetch("corrections", queryset=corrections))
    )


@extend_schema(
    tags=["randomisation"],
    request=RandomiseInput,
    responses={201: AllocationSerializer, 200: AllocationSerializer, **api_common.error_responses(400, 404, 423)},
)
@api_view(["POST"])
def patient_randomise(request: Request, subject_id: str) -> Response:
    """Randomise (AVATAR II) or register (COSMO) a patient: 201 with the allocation, 200 if it was already made."""
    require(request.user, Capability.RANDOMISE)
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    given = RandomiseInput(data=api_common.json_body(request))
    if not given.is_valid():
        return api_common.bad_request(api_common.serializer_errors(given.errors))
    try:
        result = service.randomise(
            user=request.user, patient=patient, expected_version=given.validated_data.get("crf_version")
        )
    except DataLocked as error:  # a frozen or locked trial, site or casebook (patients.locking): 423 Locked
        return Response(api_common.validation_errors(error), status=LOCKED_STATUS)
    except ValidationError as error:
        return api_common.bad_request(api_common.validation_errors(error))
    allocation = allocations_for(user=request.user).get(pk=result.allocation.pk)
    return Response(
        allocation_data(allocation, user=request.user),
        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )


@extend_schema(tags=["randomisation"], responses={200: AllocationSerializer, **api_common.error_responses(404)})
@api_view(["GET"])
def patient_allocation(request: Request, subject_id: str) -> Response:
    """The patient's allocation: the patient's site roles and the all-site roles that read casebooks (not the trial
    manager); 404 before allocation."""
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    allocation = reads.allocation_get(user=request.user, patient=patient)
    return Response(allocation_data(allocation, user=request.user))


class AllocationFilter(django_filters.FilterSet):  # type: ignore[misc]
    trial = api_common.trial_filter("trial__code")
    site = api_common.site_filter()
    patient = api_common.patient_filter()
    arm = api_common.code_filter("arm__code", "Arm code, e.g. `A`.")
    allocated_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text="Allocation time: `allocated_at_after` and `allocated_at_before` (ISO 8601 date-times), inclusive."
    )
    modified_since = api_common.modified_since_filter(method="filter_modified_since")

    class Meta:
        model = Allocation
        fields: list[str] = []

    def filter_modified_since(self, queryset: QuerySet[Allocation], name: str, value: Any) -> QuerySet[Allocation]:
        """Allocated since, or a stratification factor corrected since (an allocation itself never changes)."""
        corrected = StratificationCorrection.objects.filter(allocation=OuterRef("pk"), corrected_at__gte=value)
        return queryset.filter(allocated_at__gte=value) | queryset.filter(Exists(corrected))


@extend_schema_view(
    list=extend_schema(
        tags=["randomisation"],
        summary="List allocations",
        responses={200: AllocationSerializer, **api_common.error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        tags=["randomisation"],
        summary="Read one patient's allocation",
        responses={200: AllocationSerializer, **api_common.error_responses(404)},
    ),
)
class AllocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Allocation]):
    """Allocations (AVATAR II randomisations, COSMO registrations) of your sites. Read-only: a patient is allocated
    with `POST /patients/{subject_id}/randomise/`, and an allocation is never changed."""

    serializer_class = AllocationSerializer
    filterset_class = AllocationFilter
    lookup_field = "patient__subject_id"
    lookup_url_kwarg = "subject_id"
    lookup_value_regex = api_common.LOOKUP_ANY

    def get_queryset(self) -> QuerySet[Allocation]:
        if api_common.describing_schema(self):
            return Allocation.objects.none()
        return allocations_for(user=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "user": self.request.user}
