"""API URLs of the trials app (mounted under ``api/v1/`` in the ``api`` namespace): personal API tokens."""

from django.urls import path

from . import api_tokens

urlpatterns = [
    path("tokens/", api_tokens.ApiTokenListCreate.as_view(), name="token_list"),
    path("tokens/<int:pk>/revoke/", api_tokens.ApiTokenRevoke.as_view(), name="token_revoke"),
]
