"""Personal API token pages (mounted at ``accounts/tokens/``): your tokens, and every user's for a sponsor admin.

A new token's plaintext is rendered in the response to the POST that created it and nowhere else: no redirect
that would need it kept in the session, and ``never_cache`` so no cache keeps the page.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import selectors_tokens as selectors
from . import services_tokens as services
from .forms import apply_validation_error
from .forms_tokens import ApiTokenForm, ApiTokenRevokeForm
from .models import User
from .permissions import Capability, can, require


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.USE_API_TOKENS)
    return render(
        request,
        "trials/tokens.html",
        {
            "tokens": selectors.api_token_list(user=request.user),
            "can_manage_all": can(request.user, Capability.MANAGE_USERS),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.USE_API_TOKENS)
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_token_create(
                actor=request.user,
                owner=cast(User, request.user),  # login_required
                name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"],
                read_only=form.cleaned_data["read_only"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return render(request, "trials/tokens_issued.html", {"issued": issued, "back": "tokens:list"})
    return render(request, "trials/tokens_form.html", {"form": form, "title": "New API token"})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = selectors.api_token_get(user=request.user, pk=pk)
    own = token.user_id == request.user.pk
    form = ApiTokenRevokeForm(request.POST if request.method == "POST" else None, reason_required=not own)
    if request.method == "POST" and form.is_valid():
        try:
            services.api_token_revoke(actor=request.user, token=token, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Token {token.name} ({token.prefix}) revoked; it no longer works.")
            return redirect("tokens:list" if own else "tokens:admin_list")
    return render(request, "trials/tokens_revoke.html", {"token": token, "form": form, "own": own})


def _owner_filter(request: HttpRequest) -> User | None:
    raw = request.GET.get("user", "")
    return User.objects.filter(pk=int(raw)).first() if raw.isdecimal() and len(raw) < 12 else None


@login_required
def token_admin_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.MANAGE_USERS)
    owner = _owner_filter(request)
    return render(
        request,
        "trials/tokens_admin.html",
        {
            "tokens": selectors.api_token_list_all(user=request.user, owner=owner),
            "owner": owner,
            "users": selectors.api_token_owner_choices(user=request.user),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_admin_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.MANAGE_USERS)
    owners = selectors.api_token_owner_choices(user=request.user)
    owner = _owner_filter(request)
    form = ApiTokenForm(request.POST or None, owners=owners, initial={"user": owner} if owner else None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_token_create(
                actor=request.user,
                owner=form.cleaned_data["user"],
                name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"],
                read_only=form.cleaned_data["read_only"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return render(request, "trials/tokens_issued.html", {"issued": issued, "back": "tokens:admin_list"})
    return render(request, "trials/tokens_form.html", {"form": form, "title": "New API token for a user"})
