"""The two-factor screens: overview, enrolment (QR code), verification, recovery codes, administrator's reset."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from ..forms import apply_validation_error
from ..models import User
from ..permissions import Capability, require
from . import services


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )


class ResetForm(forms.Form):
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


@login_required
def two_factor_overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "registration/two_factor.html",
        {
            "enrolled": services.has_authenticator(user),
            "required": services.two_factor_required(user),
            "codes_left": services.recovery_codes_left(user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    if not services.may_enrol(request.user):
        return redirect(f"{reverse('security:two_factor_verify')}?next={reverse('security:two_factor_enrol')}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.two_factor_enrol(request=request, code=form.cleaned_data["code"])
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            request.session[services.NEW_CODES_SESSION] = codes
            request.session["two_factor_next"] = _next_url(request)
            return redirect("security:two_factor_recovery_codes")
    key = services.enrolment_key(request)
    return render(
        request,
        "registration/two_factor_enrol.html",
        {
            "form": form,
            "qr_svg": services.qr_code_svg(services.provisioning_uri(request.user, key)),
            "secret": services.secret_for_display(key),
            "next": _next_url(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not services.has_authenticator(user):
        # Nothing to verify against (a reset, or never enrolled): enrol if the role needs it, else go on.
        if services.two_factor_required(user):
            return redirect(f"{reverse('security:two_factor_enrol')}?next={_next_url(request)}")
        return HttpResponseRedirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.two_factor_verify(request=request, code=form.cleaned_data["code"])
        except services.CodeRefused as refusal:
            form.add_error("code", refusal.message)
            if getattr(request, "axes_locked_out", False):
                from django.contrib.auth import logout

                logout(request)  # the lockout page follows (axes middleware); the password is needed again
        else:
            left = services.recovery_codes_left(user)
            if left <= 3:
                messages.warning(request, f"{left} recovery code(s) left: make new ones under Two-factor sign-in.")
            return HttpResponseRedirect(_next_url(request))
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)})


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Shows new recovery codes once (after enrolment or renewal); POST makes a new set, the old one stops working."""
    if request.method == "POST":
        try:
            request.session[services.NEW_CODES_SESSION] = services.recovery_codes_renew(request=request)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("security:two_factor")
        request.session["two_factor_next"] = reverse("security:two_factor")
        return redirect("security:two_factor_recovery_codes")
    codes = request.session.pop(services.NEW_CODES_SESSION, None)
    if not codes:
        return redirect("security:two_factor")
    return render(
        request,
        "registration/two_factor_recovery_codes.html",
        {"codes": [f"{c[:4]}-{c[4:]}" for c in codes], "next": request.session.pop("two_factor_next", reverse("home"))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_reset(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.MANAGE_USERS)
    target = get_object_or_404(User, pk=pk)
    form = ResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.two_factor_reset(actor=request.user, user=target, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Two-factor sign-in of {target.username} reset: they enrol again at sign-in.")
            return redirect("users:update", pk=target.pk)
    return render(
        request,
        "registration/two_factor_reset.html",
        {"form": form, "target": target, "enrolled": services.has_authenticator(target)},
    )
