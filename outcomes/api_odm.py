"""The CDISC ODM 1.3.2 export in the API: ``GET /api/v1/trials/{code}/odm.xml`` (issue 6).

Thin: validate the query, ask the selector (``outcomes.odm.odm_export_get``: capability ``EXPORT_CLINICAL_DATA``,
the user's scope, 404 otherwise) and stream what it writes. The document is not negotiated (always
``application/xml``); errors are JSON whatever the ``Accept`` header, as for the other downloads.
"""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from trials import api_common

from .odm import odm_export_get

ODM_MEDIA_TYPE = "application/xml"


class OdmQuery(serializers.Serializer[Any]):
    audit = serializers.BooleanField(
        required=False,
        default=False,
        help_text="`true` (or `1`): the complete audit trail as an ODM Transactional, Archival file (every change "
        "with who, where, when and why). Default: the current values (an ODM Snapshot).",
    )
    site = serializers.RegexField(
        r"^[A-Z]{2}[0-9]{2}$",
        required=False,
        help_text="Only this site's subjects, e.g. `NL01` (a site of the trial within your sites, else 404).",
    )
    patient = serializers.RegexField(
        r"^[A-Za-z0-9-]{1,30}$",
        required=False,
        help_text="Only this subject, e.g. `AVT2-NL01-0007` (a subject of the trial within your sites, else 404).",
    )


class TrialOdmExport(APIView):
    """A file download: only errors go through DRF's rendering, always as JSON (never a 406)."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        operation_id="trial_odm_export",
        tags=["Clinical data exports"],
        summary="Export the trial's clinical data and metadata as CDISC ODM 1.3.2 XML",
        description="One ODM 1.3.2 document, streamed: the metadata (study events from the visit schedule, every "
        "form with its item groups, items, code lists and units), the AdminData (sites; users as OIDs, login names "
        "and roles, no personal data) and one SubjectData per subject in your sites. A form's draft / complete "
        "status is an ODM Flag (code list `CL.FORM_STATUS`). With `audit=true`, every audited change as ODM "
        "transactions with their AuditRecords. Data managers, statisticians and sponsor admins.",
        parameters=[
            OpenApiParameter("code", str, OpenApiParameter.PATH, description="Trial code, e.g. `avatar2` or `cosmo`."),
            OdmQuery,
        ],
        responses={
            (200, ODM_MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="The ODM 1.3.2 document (Content-Disposition names it)."
            ),
            **api_common.error_responses(400, 404),
        },
    )
    def get(self, request: Request, code: str) -> StreamingHttpResponse | Any:
        query = OdmQuery(data=request.query_params)
        if not query.is_valid():
            return api_common.bad_request(api_common.serializer_errors(query.errors))
        export = odm_export_get(
            user=request.user,
            trial_code=code,
            site_code=query.validated_data.get("site", ""),
            subject_id=query.validated_data.get("patient", ""),
            audit=query.validated_data["audit"],
        )
        response = StreamingHttpResponse(export.stream(), content_type=f"{ODM_MEDIA_TYPE}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response
