"""Dataset exports and data cuts in the API (``/api/v1/``, issue 6).

- ``trials/{code}/datasets/``: the datasets the role may export, each with its variables (name, label, kind, length,
  unit, allowed values, source) and a download link per format.
- ``trials/{code}/datasets/{name}.{fmt}``: one dataset in one format (``csv``, ``json``, ``xlsx``, ``xpt``,
  ``dta``), the whole dataset in one call, streamed (``outcomes/downloads.py``). ``trials/{code}/measurements.{fmt}``
  and ``trials/{code}/dictionary.{fmt}`` are the raw lesion measurements and the data dictionary under their own
  names.
- ``trials/{code}/datacuts/``: the trial's data cuts (GET), or freeze a new one (POST ``name``, ``description``).
- ``trials/{code}/datacuts/{id}/``: one cut and its manifest: every file with its rows, size and SHA-256, when and
  by whom it was frozen, the analysis-settings and algorithm versions.
- ``trials/{code}/datacuts/{id}/files/{dataset}.{fmt}``: a frozen file, byte for byte as frozen (its SHA-256 is
  checked first: a changed file answers 409 and is not served); ``manifest.json`` too.

Who: the ADaM datasets and the data cuts need ``EXPORT_ANALYSIS_DATASETS`` (statistician, sponsor admin); the raw
measurements and the dictionary ``EXPORT_CLINICAL_DATA`` (also the data manager); freezing a cut
``FREEZE_DATA_CUT``. Anything else, an unknown dataset or format, and a trial outside the user's scope answer 404.
Downloads answer errors as JSON whatever the ``Accept`` header (the file itself is not negotiated).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBase
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trials import api_common
from trials.models import Trial
from trials.permissions import Capability, can, require
from trials.selectors import trial_get

from . import selectors_datacuts as reads
from .datasets import writers
from .datasets.exports import DICTIONARY_SLUG, MEASUREMENTS_SLUG, Export, export_get, exports, exports_for
from .downloads import datacut_file_response, export_response
from .models import DataCut, DataCutFile
from .services import datacuts as service

TAGS = ["Analysis datasets and data cuts"]
FORMAT_CODES = list(writers.FORMATS)


#: The JSON format of a dataset (``writers/text.py``): its metadata first, then one object per row by variable name.
DATASET_JSON: dict[str, Any] = {
    "type": "object",
    "required": ["name", "label", "structure", "keys", "variables", "rows"],
    "properties": {
        "name": {"type": "string"},
        "label": {"type": "string"},
        "structure": {"type": "string"},
        "keys": {"type": "array", "items": {"type": "string"}},
        "variables": {"type": "array", "items": {"type": "object"}},
        "rows": {"type": "array", "items": {"type": "object"}},
    },
}
JSON_MEDIA_TYPE = "application/json"


def _file_responses(description: str, *, conflict: bool = False) -> dict[Any, Any]:
    """The file in each format: bytes, except JSON, which is the dataset document above (a data-cut file may also be
    its ``manifest.json``: any object)."""
    media_types = dict.fromkeys(spec.content_type.split(";")[0] for spec in writers.FORMATS.values())
    json_body: dict[str, Any] = {"type": "object"} if conflict else DATASET_JSON
    responses: dict[Any, Any] = {
        (200, media_type): OpenApiResponse(
            json_body if media_type == JSON_MEDIA_TYPE else OpenApiTypes.BINARY, description=description
        )
        for media_type in media_types
    }
    responses.update(api_common.error_responses(404))
    if conflict:
        responses[409] = OpenApiResponse(
            api_common.DETAIL_BODY, description="The stored file no longer matches its recorded SHA-256: not served."
        )
    return responses


def _format_parameter() -> OpenApiParameter:
    return OpenApiParameter(
        "fmt", str, OpenApiParameter.PATH, enum=FORMAT_CODES, description="File format (the file extension)."
    )


def _code_parameter() -> OpenApiParameter:
    return OpenApiParameter("code", str, OpenApiParameter.PATH, description="Trial code, e.g. `avatar2` or `cosmo`.")


class _JsonErrorsOnly(APIView):
    """A download: the file is a Django response of its own; only errors go through DRF, always as JSON (a client
    asking for ``text/csv`` gets a JSON 404, never a 406)."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        renderer = JSONRenderer()
        return renderer, renderer.media_type


# Datasets -----------------------------------------------------------------------------------------------------------


class VariableSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.CharField(help_text="text, integer, float, date, datetime or boolean.")
    length = serializers.IntegerField(allow_null=True, help_text="Text: the longest value (the column width).")
    unit = serializers.CharField(allow_blank=True)
    allowed = serializers.ListField(child=serializers.CharField(), help_text="The code list, when controlled.")
    source = serializers.CharField(allow_blank=True)  # type: ignore[assignment]
    description = serializers.CharField(allow_blank=True)


class DatasetSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField(help_text="The dataset's name in URLs, e.g. `adtte`, `measurements`.")
    name = serializers.CharField(help_text="The dataset's name in its files, e.g. `ADTTE`.")
    label = serializers.CharField()  # type: ignore[assignment]
    structure = serializers.CharField()
    keys = serializers.ListField(child=serializers.CharField())
    capability = serializers.CharField(help_text="What the role needs to export it.")
    downloads = serializers.DictField(child=serializers.URLField(), help_text="Download link by format.")
    variables = VariableSerializer(many=True)


def _dataset_data(request: Request, trial: Trial, export: Export) -> dict[str, Any]:
    downloads = {
        code: request.build_absolute_uri(
            reverse("api:dataset_download", kwargs={"code": trial.code, "name": export.slug, "fmt": code})
        )
        for code in FORMAT_CODES
    }
    return {
        "slug": export.slug,
        **writers.dataset_metadata(export.dataset),
        "capability": str(export.capability),
        "downloads": downloads,
    }


class DatasetList(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="dataset_list",
        summary="List the datasets you may export, with their variables",
        parameters=[_code_parameter()],
        responses={200: DatasetSerializer(many=True), **api_common.error_responses(404)},
    )
    def get(self, request: Request, code: str) -> Response:
        available = exports_for(request.user)
        if not available:
            raise Http404
        trial = trial_get(user=request.user, code=code)
        return Response([_dataset_data(request, trial, export) for export in available.values()])


class DatasetDownload(_JsonErrorsOnly):
    """One dataset in one format."""

    slug: str | None = None  # fixed by the measurements and dictionary paths

    @extend_schema(
        tags=TAGS,
        operation_id="dataset_download",
        summary="Download a dataset (the whole of it, streamed)",
        parameters=[
            _code_parameter(),
            OpenApiParameter(
                "name",
                str,
                OpenApiParameter.PATH,
                enum=list(exports()),
                description="The dataset: an ADaM dataset (statistician, sponsor admin), `measurements` or "
                "`dictionary`.",
            ),
            _format_parameter(),
        ],
        responses=_file_responses("The dataset as a file (Content-Disposition names it)."),
    )
    def get(self, request: Request, code: str, fmt: str, name: str | None = None) -> HttpResponseBase:
        export = export_get(user=request.user, slug=self.slug or name or "")
        if export is None or fmt not in writers.FORMATS:
            raise Http404
        trial = trial_get(user=request.user, code=code)
        return export_response(export=export, fmt=fmt, trial=trial, user=request.user)


class MeasurementsDownload(DatasetDownload):
    slug = MEASUREMENTS_SLUG

    @extend_schema(
        tags=TAGS,
        operation_id="measurements_download",
        summary="Download the raw lesion measurements",
        description="One record per target measurement, non-target observation and new lesion per tumour "
        "assessment, as entered (no derived response).",
        parameters=[_code_parameter(), _format_parameter()],
        responses=_file_responses("The raw lesion measurements as a file."),
    )
    def get(self, request: Request, code: str, fmt: str, name: str | None = None) -> HttpResponseBase:
        return super().get(request, code=code, fmt=fmt)


class DictionaryDownload(DatasetDownload):
    slug = DICTIONARY_SLUG

    @extend_schema(
        tags=TAGS,
        operation_id="dictionary_download",
        summary="Download the data dictionary",
        description="Every form field and analysis variable with its label, type, unit, code list and source.",
        parameters=[_code_parameter(), _format_parameter()],
        responses=_file_responses("The data dictionary as a file."),
    )
    def get(self, request: Request, code: str, fmt: str, name: str | None = None) -> HttpResponseBase:
        return super().get(request, code=code, fmt=fmt)


# Data cuts ----------------------------------------------------------------------------------------------------------


class DataCutFileSerializer(serializers.Serializer[DataCutFile]):
    dataset = serializers.CharField(help_text="The dataset's slug, or `manifest`.")
    format = serializers.CharField()
    rows = serializers.IntegerField()
    size = serializers.IntegerField(help_text="Bytes.")
    sha256 = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, file: DataCutFile) -> str:
        path = reverse(
            "api:datacut_file",
            kwargs={"code": file.cut.trial.code, "pk": file.cut_id, "dataset": file.dataset, "fmt": file.format},
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class DataCutSerializer(serializers.Serializer[DataCut]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField(help_text="pending (being frozen), ready or failed.")
    error = serializers.CharField(help_text="Why freezing failed (failed cuts only).")
    requested_at = serializers.DateTimeField()
    frozen_at = serializers.DateTimeField(allow_null=True, help_text="The moment of the snapshot every file shows.")
    frozen_by = serializers.CharField(source="frozen_by.username")
    settings_version = serializers.IntegerField(allow_null=True, help_text="Analysis-settings version.")
    algorithm_version = serializers.CharField()
    manifest_sha256 = serializers.CharField(help_text="SHA-256 of the cut's manifest.json.")
    url = serializers.SerializerMethodField()

    def get_url(self, cut: DataCut) -> str:
        path = reverse("api:datacut_detail", kwargs={"code": cut.trial.code, "pk": cut.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class DataCutDetailSerializer(DataCutSerializer):
    files = DataCutFileSerializer(many=True, source="file_list")


class DataCutInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=service.NAME_MAX_LENGTH, help_text="Unique in the trial, for good.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


def _detail(cut: DataCut, request: Request) -> dict[str, Any]:
    cut.file_list = reads.datacut_files(cut=cut)  # type: ignore[attr-defined]
    return dict(DataCutDetailSerializer(cut, context={"request": request}).data)


class DataCutListCreate(generics.ListCreateAPIView[DataCut]):
    serializer_class = DataCutSerializer
    filter_backends: list[Any] = []

    def _trial(self) -> Trial:
        trial: Trial = trial_get(user=self.request.user, code=self.kwargs["code"])
        return trial

    def get_queryset(self) -> Any:
        return reads.datacut_list(user=self.request.user, trial=self._trial()).select_related("trial")

    @extend_schema(
        tags=TAGS,
        operation_id="datacut_list",
        summary="List the trial's data cuts",
        responses={200: DataCutSerializer(many=True), **api_common.error_responses(400, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        operation_id="datacut_create",
        summary="Freeze a data cut",
        description="Writes every dataset in every format from one snapshot of the database, with SHA-256 "
        "checksums and a manifest. Freezing runs in the background: the answer says `pending` until it is `ready` "
        "(or `failed`).",
        request=DataCutInputSerializer,
        responses={201: DataCutDetailSerializer, **api_common.error_responses(400, 403, 404)},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        trial = self._trial()
        require(request.user, Capability.EXPORT_ANALYSIS_DATASETS)  # 404 unless the role may see data cuts
        if not can(request.user, Capability.FREEZE_DATA_CUT):
            raise exceptions.PermissionDenied("Your role may read data cuts but not freeze them.")
        given = DataCutInputSerializer(data=request.data)
        if not given.is_valid():
            return api_common.bad_request(api_common.serializer_errors(given.errors))
        try:
            cut = service.datacut_request(user=request.user, trial=trial, **given.validated_data)
        except ValidationError as error:
            return api_common.bad_request(api_common.validation_errors(error))
        cut.refresh_from_db()  # frozen already when the task ran eagerly on commit
        return Response(_detail(cut, request), status=status.HTTP_201_CREATED)


class DataCutDetail(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="datacut_retrieve",
        summary="Read a data cut and its manifest",
        parameters=[_code_parameter()],
        responses={200: DataCutDetailSerializer, **api_common.error_responses(404)},
    )
    def get(self, request: Request, code: str, pk: int) -> Response:
        trial = trial_get(user=request.user, code=code)
        return Response(_detail(reads.datacut_get(user=request.user, trial=trial, pk=pk), request))


class DataCutFileDownload(_JsonErrorsOnly):
    @extend_schema(
        tags=TAGS,
        operation_id="datacut_file_download",
        summary="Download a file of a data cut, as frozen",
        parameters=[
            _code_parameter(),
            OpenApiParameter(
                "dataset", str, OpenApiParameter.PATH, description="The dataset's slug (e.g. `adtte`) or `manifest`."
            ),
            OpenApiParameter(
                "fmt",
                str,
                OpenApiParameter.PATH,
                enum=[*FORMAT_CODES],
                description="File format (`json` for the manifest).",
            ),
        ],
        responses=_file_responses("The file as frozen; `X-Checksum-SHA256` repeats its checksum.", conflict=True),
    )
    def get(self, request: Request, code: str, pk: int, dataset: str, fmt: str) -> HttpResponseBase:
        trial = trial_get(user=request.user, code=code)
        file = reads.datacut_file_get(user=request.user, trial=trial, pk=pk, dataset=dataset, fmt=fmt)
        try:
            return datacut_file_response(file=file)
        except reads.DataCutFileChanged as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
