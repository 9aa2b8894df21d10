"""Shared building blocks of the REST API (``/api/v1/``): paging, filters, the write convention and error bodies.

Ground floor: no import of the apps above (the resources live in ``patients/api/``, ``lesions/api.py`` and
``outcomes/api.py``); this module holds what every resource does the same way.

**Paging.** Every list is cursor-paginated in primary-key order (``StableCursorPagination``). The key of a row never
changes and new rows take higher keys, so following ``next`` links never skips nor repeats a row, even while other
users insert or edit rows between two pages (an edited row keeps its place: its new values are picked up by the next
incremental pull). Offset paging would shift under inserts; ordering by modification time would move an edited row
behind the cursor and repeat it.

**Incremental pulls.** Every list takes ``modified_since`` (ISO 8601 date-time, inclusive) on the record's
modification time. A client notes the time it starts a pull, follows ``next`` to the end, and starts the next pull
from that time minus a safety margin of a few minutes (a transaction that started before the pull may commit after
it); rows seen twice are recognised by their ``id`` and ``version``. Deleted rows are never reported: regulated data
is not deleted (derived endpoint rows an engine stops producing are the one exception, see ``outcomes/api.py``).

**Writes** (``WRITE_CONVENTION``, shown in the schema of every write): the body holds the record's fields plus
``complete``, ``version`` and ``reason``; errors are ``{"field": ["message", ...]}`` with form-wide messages under
``non_field_errors``; a stale ``version`` answers 409 and saves nothing.

**Refusals.** A record outside the user's sites, or a resource the role may not read, answers 404, exactly like the
screens (``trials.permissions.require``). A user who may read a collection but not write to it gets 403 on ``POST``
to the collection (the collection's existence is no secret to them); a write to one record without the capability
answers 404 like every other refusal about a record.
"""

from __future__ import annotations

from base64 import b64decode
from binascii import Error as Base64Error
from typing import Any
from urllib import parse

import django_filters
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY

#: The largest primary key a cursor may carry (a PostgreSQL bigint).
MAX_KEY = 2**63 - 1
#: Route every id or subject id to the view, malformed or not: the view answers a JSON 404, where the URL resolver
#: would answer Django's HTML one (clients and schemathesis expect JSON from every API URL).
LOOKUP_ANY = "[^/]+"

WRITE_CONVENTION = """
**Input convention for writes.** The body is JSON: the record's fields, plus

* `complete` (boolean, default: the record's current status, a draft for a new record): mark the form complete.
  Completing checks that every required field is filled; a complete form stays complete.
* `version` (integer, **required on update**): the `version` you read. If someone saved the record since, the
  answer is **409** with `{"version": ["..."]}` and nothing is saved: read the record again and resend your change.
* `reason` (string): the reason for change, **required when updating a complete record** (missing: 400
  `{"reason": ["..."]}`); recorded in the audit trail with your name and the time.

Updates are partial (`PATCH`): only the fields sent change. Fields the record does not have, and read-only fields,
are refused by name. Values are checked exactly as on the entry screen: field formats first, then the form's edit
checks. Errors answer **400** with `{"field": ["message", ...]}`, form-wide ones under `non_field_errors`, and
nothing is saved. Edit-check warnings do not block: they come back in `warnings`, and on a complete record each one
is an open automatic query on its field. Records are never deleted.

Creates (`POST`) may carry an `Idempotency-Key` header (1-255 visible ASCII characters, e.g. a UUID): sent again
with the same key and body (a retry after a lost answer), the create answers **201** with the record it made and
`Idempotent-Replayed: true`, and creates nothing; the same key with another body answers **422**.

Writes need the role's right to edit clinical data (site coordinator, site investigator) at the patient's site:
without it, `POST` to the collection answers 403 and a write to a record 404. Frozen or locked data answer 423.
""".strip()


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Optional: a key unique to this create (e.g. a UUID). Sending the same request again with it "
    "returns the record it created instead of creating another (`trials.idempotency`).",
)


class StableCursorPagination(CursorPagination):
    """Cursor paging in primary-key order: stable under concurrent inserts and edits (module docstring).

    A malformed cursor answers 400 ``{"cursor": [...]}`` rather than reaching the database."""

    ordering = "pk"
    page_size_query_param = "page_size"
    max_page_size = 1000
    cursor_query_description = (
        "The cursor of a page's `next` or `previous` link. Pages run in id order: following the links never skips "
        "nor repeats a row, even while others write."
    )
    page_size_query_description = "Rows per page (default 100, at most 1000)."
    invalid_cursor_message = "Invalid cursor: use the next or previous link of a page as it was given."

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            tokens = parse.parse_qs(b64decode(encoded.encode("ascii"), validate=True).decode("ascii"))
            offset = int(tokens.get("o", ["0"])[0])
            reverse = bool(int(tokens.get("r", ["0"])[0]))
            position = tokens.get("p", [None])[0]
            if not 0 <= offset <= self.offset_cutoff or (position is not None and not 0 <= int(position) <= MAX_KEY):
                raise ValueError(position)
        except (TypeError, ValueError, UnicodeError, Base64Error) as error:
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from error
        return Cursor(offset=offset, reverse=reverse, position=position)  # type: ignore[arg-type]  # DRF keeps it a string


def describing_schema(view: Any) -> bool:
    """Whether drf-spectacular is calling the view to describe it (no user: answer the model, not a refusal)."""
    return bool(getattr(view, "swagger_fake_view", False))


# Errors -----------------------------------------------------------------------------------------------------------


def validation_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as the API's error body: per field, form-wide under ``non_field_errors``."""
    if not hasattr(error, "error_dict"):
        return {NON_FIELD: list(error.messages)}
    return {
        (NON_FIELD if name == NON_FIELD_ERRORS else name): list(messages)
        for name, messages in error.message_dict.items()
    }


def flat_errors(detail: Any, prefix: str = "") -> list[str]:
    """The messages of a nested DRF error detail as plain strings, each naming where it belongs."""
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in flat_errors(value, _join(prefix, str(key)))]
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [f"{prefix}: {item}" if prefix else str(item) for item in detail]
        return [m for n, item in enumerate(detail, start=1) for m in flat_errors(item, _join(prefix, f"row {n}"))]
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _join(prefix: str, key: str) -> str:
    if key == NON_FIELD:
        return prefix
    return f"{prefix}, {key}" if prefix else key


def serializer_errors(errors: Any) -> dict[str, list[str]]:
    """A serializer's errors as ``{"field": ["message"]}``: nested rows (e.g. a tumour assessment's measurements)
    become messages of their top-level field naming the row, so every body has the same shape."""
    if not isinstance(errors, dict):
        return {NON_FIELD: flat_errors(errors)}
    return {str(name): flat_errors(value) for name, value in errors.items()}


def json_body(request: Request) -> Any:
    """The parsed JSON body; malformed JSON is a form-wide error like any other (400 ``non_field_errors``)."""
    try:
        return request.data
    except ParseError as error:
        raise ValidationError({NON_FIELD: [f"The body is not valid JSON ({error.detail})."]}) from error


def bad_request(errors: dict[str, list[str]]) -> Response:
    return Response(errors, status=status.HTTP_400_BAD_REQUEST)


def conflict(*, given: int, current: int) -> Response:
    """409: the record moved on since the client read it; nothing was saved."""
    message = (
        f"The record is at version {current}, not {given}: someone saved it after you read it. Nothing was saved; "
        "read the record again and resend your change."
    )
    return Response({"version": [message]}, status=status.HTTP_409_CONFLICT)


ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "description": 'Messages by field, e.g. `{"visit_date": ["..."]}`; form-wide ones under `non_field_errors`.',
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
DETAIL_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation (for ``extend_schema(responses=...)``)."""
    described = {
        400: OpenApiResponse(ERROR_BODY, description="Invalid input: messages by field; nothing was saved."),
        403: OpenApiResponse(DETAIL_BODY, description="Signed in, but the role may not write here."),
        404: OpenApiResponse(DETAIL_BODY, description="No such record in your sites, or not for your role."),
        409: OpenApiResponse(
            ERROR_BODY, description="Stale `version` or a concurrent duplicate: nothing was saved; read again."
        ),
        422: OpenApiResponse(
            ERROR_BODY, description="The `Idempotency-Key` was used before for a different request: nothing was saved."
        ),
        423: OpenApiResponse(
            ERROR_BODY, description="The trial, site, patient or form is frozen or locked: nothing was saved."
        ),
    }
    return {code: described[code] for code in codes}


# Input ------------------------------------------------------------------------------------------------------------


class StrictInputMixin:
    """Refuse what a serializer would silently drop: fields it does not have, and read-only fields (an import that
    sends ``status`` expecting to complete a form must be told, not ignored)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            fields: dict[str, serializers.Field[Any, Any, Any, Any]] = self.fields  # type: ignore[attr-defined]
            errors: dict[str, list[str]] = {}
            for name in data:
                field = fields.get(name)
                if field is None:
                    errors[str(name)] = ["Not a field of this form."]
                elif field.read_only:
                    errors[str(name)] = ["Read-only: set by the EDC, it cannot be written."]
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


def complete_field() -> serializers.BooleanField:
    return serializers.BooleanField(
        required=False,
        write_only=True,
        help_text="Mark the form complete (default: its current status; a new record is a draft). "
        "A complete form stays complete.",
    )


def version_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="Read: the record's version. Write: required on update, the version you read (optimistic lock; "
        "a stale version answers 409).",
    )


def reason_field() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        write_only=True,
        allow_blank=True,
        max_length=2000,
        help_text="Reason for change: required when updating a complete record; kept in the audit trail.",
    )


# Parsing -----------------------------------------------------------------------------------------------------------


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested deeper than Python's recursion limit (``[[[[...`` fits in a few hundred
    kilobytes) refused as malformed, 400, instead of ending the request in a RecursionError (500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply.") from error


# Filters ----------------------------------------------------------------------------------------------------------


def code_filter(field_name: str, help_text: str) -> django_filters.CharFilter:
    return django_filters.CharFilter(field_name=field_name, help_text=help_text, max_length=40)


def trial_filter(field_name: str) -> django_filters.CharFilter:
    return code_filter(field_name, "Trial code, e.g. `avatar2` or `cosmo`.")


def site_filter(field_name: str = "site__code") -> django_filters.CharFilter:
    return code_filter(field_name, "Site code, e.g. `NL01`.")


def patient_filter(field_name: str = "patient__subject_id") -> django_filters.CharFilter:
    return code_filter(field_name, "Subject id, e.g. `AVT2-NL01-0007`.")


def modified_since_filter(field_name: str = "updated_at", *, method: str | None = None) -> Any:
    """``modified_since``: rows changed at or after an ISO 8601 date-time (module docstring, incremental pulls)."""
    help_text = (
        "Only rows created or changed at or after this ISO 8601 date-time (e.g. `2025-06-01T00:00:00Z`); "
        "for incremental pulls."
    )
    if method:
        return django_filters.IsoDateTimeFilter(method=method, help_text=help_text)
    return django_filters.IsoDateTimeFilter(field_name=field_name, lookup_expr="gte", help_text=help_text)


def date_range_filter(field_name: str, label: str) -> django_filters.DateFromToRangeFilter:
    """``<field>_after`` / ``<field>_before`` (inclusive ISO dates) on the record's main date."""
    return django_filters.DateFromToRangeFilter(
        field_name=field_name, help_text=f"{label}: `{field_name}_after` and `{field_name}_before`, inclusive."
    )
