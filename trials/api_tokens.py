"""Personal API tokens over the API: list your own, create one (from a signed-in session only), revoke your own.

Creation needs a browser session (the Swagger page works, it sends the session cookie and CSRF token): a token,
even a read-write one, cannot mint further tokens, so a leaked token can be revoked once and is gone for good.
A sponsor admin manages other users' tokens on the screens (``/accounts/tokens/all/``), not here.
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors_tokens as selectors
from . import services_tokens as services
from .models import ApiToken, User

SESSION_ONLY_MESSAGE = (
    "API tokens are created from a signed-in browser session (the 'API tokens' page or the API docs page), "
    "not with another token."
)


@extend_schema_field({"type": "string", "enum": ["active", "expired", "revoked"]}, component_name="ApiTokenStatus")
class TokenStatusField(serializers.CharField):
    """The token's state, as its own schema component (a plain ``status`` enum would collide with the others)."""


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    status = TokenStatusField(read_only=True, help_text="What a request with it gets: only `active` works.")

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "read_only",
            "status",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revocation_reason",
        ]
        read_only_fields = fields


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text="The token itself, shown this once: only its hash is kept, it cannot be shown again."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=services.NAME_MAX_LENGTH, help_text="What the token is for.")
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=services.MAX_EXPIRY_DAYS, default=services.DEFAULT_EXPIRY_DAYS
    )
    # A declared field shadows Field.read_only only at class level; DRF's metaclass moves it into the fields.
    read_only = serializers.BooleanField(  # type: ignore[assignment]
        default=False, help_text="Refuse every request that could change data."
    )


class ApiTokenRevocationSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class ApiTokenListCreate(generics.ListAPIView[ApiToken]):
    serializer_class = ApiTokenSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.api_token_list(user=self.request.user)

    @extend_schema(summary="Your API tokens (active, expired and revoked), newest first.")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create an API token (signed-in browser session only); the token is in this response only.",
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenIssuedSerializer},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            raise exceptions.PermissionDenied(SESSION_ONLY_MESSAGE)
        given = ApiTokenCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        owner = cast(User, request.user)  # authenticated: IsAuthenticated ran
        issued = services.api_token_create(actor=owner, owner=owner, **given.validated_data)
        data = {**ApiTokenSerializer(issued.token).data, "token": issued.plaintext}
        return Response(data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class ApiTokenRevoke(APIView):
    @extend_schema(
        operation_id="tokens_revoke",
        summary="Revoke one of your API tokens at once (it answers 401 from then on).",
        request=ApiTokenRevocationSerializer,
        responses={200: ApiTokenSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        token = selectors.api_token_get_own(user=request.user, pk=pk)
        given = ApiTokenRevocationSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        token = services.api_token_revoke(
            actor=request.user, token=token, reason=given.validated_data.get("reason", "")
        )
        return Response(ApiTokenSerializer(token).data)
