"""REST API of the patients app (``/api/v1/``): thin DRF views over the same services and selectors as the screens.

Session authentication and ``IsAuthenticated`` come from ``REST_FRAMEWORK`` in the settings; what a role may do is
decided by the services (``trials.permissions``), and anything outside a user's scope or role answers 404 with no
hint that the record exists. Validation errors come back as ``{"field": ["message", ...]}`` with status 400,
form-wide ones under ``non_field_errors``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from trials.permissions import Capability, can, require

from . import selectors
from . import selectors_randomisation as reads
from .randomisation import Allocation
from .services import randomisation as service


def validation_errors(error: ValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as DRF's error body: per field, form-wide under ``non_field_errors``."""
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(error.messages)}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): list(messages)
        for name, messages in error.message_dict.items()
    }


class RandomiseInput(serializers.Serializer[Any]):
    crf_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The randomisation form's version whose factors were confirmed; refused if the form changed since.",
    )


def allocation_data(allocation: Allocation, *, user: Any) -> dict[str, Any]:
    """An allocation as JSON. The list row and minimisation state (which reveal the sequence) only for the roles
    that may read the list."""
    data: dict[str, Any] = {
        "subject_id": allocation.patient.subject_id,
        "trial": allocation.trial.code,
        "arm": allocation.arm.code,
        "arm_name": allocation.arm.name,
        "method": allocation.method,
        "stratum": allocation.stratum,
        "factors": allocation.factors,
        "list_version": allocation.list_version,
        "algorithm_version": allocation.algorithm_version,
        "allocated_at": allocation.allocated_at.isoformat(),
        "allocated_by": allocation.allocated_by.get_username(),
        "stratification_corrections": [
            {
                "field": correction.field,
                "as_randomised": correction.old_value,
                "corrected_to": correction.new_value,
                "corrected_at": correction.corrected_at.isoformat(),
                "reason": correction.reason,
            }
            for correction in reads.allocation_corrections(allocation=allocation)
        ],
    }
    if can(user, Capability.MANAGE_RANDOMISATION):
        row = allocation.list_row
        data["concealed"] = {
            "list_row": None
            if row is None
            else {"stratum": row.stratum, "sequence": row.sequence, "block": row.block, "block_size": row.block_size},
            "minimisation_state": allocation.minimisation_state,
            "random_draws": allocation.random_draws,
        }
    return data


@api_view(["POST"])
def patient_randomise(request: Request, subject_id: str) -> Response:
    """Randomise (AVATAR II) or register (COSMO) a patient: 201 with the allocation, 200 if it was already made."""
    require(request.user, Capability.RANDOMISE)
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    given = RandomiseInput(data=request.data)
    given.is_valid(raise_exception=True)
    try:
        result = service.randomise(
            user=request.user, patient=patient, expected_version=given.validated_data.get("crf_version")
        )
    except ValidationError as error:
        return Response(validation_errors(error), status=status.HTTP_400_BAD_REQUEST)
    return Response(
        allocation_data(result.allocation, user=request.user),
        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )


@api_view(["GET"])
def patient_allocation(request: Request, subject_id: str) -> Response:
    """The patient's allocation: the patient's site roles and the all-site roles that read casebooks (not the trial
    manager); 404 before allocation."""
    patient = selectors.patient_get(user=request.user, subject_id=subject_id)
    allocation = reads.allocation_get(user=request.user, patient=patient)
    return Response(allocation_data(allocation, user=request.user))
