"""Electronic signatures (issue 8; 21 CFR 11.50, 11.70, 11.200): the investigator signs with the password (and the
authenticator code when enrolled); a change to signed data invalidates the signature and flags it for re-signing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients import services
from patients.models import AdverseEvent, Demographics, Signature, SignatureScope, SigningFailure
from patients.oversight_content import content_sha256, signed_records
from patients.selectors_oversight import (
    patient_oversight,
    record_oversight,
    signature_content_matches,
    signature_manifest,
)
from patients.services.oversight import SigningRefused, sdv_verify_form, signature_sign
from trials.models import Role, User

from ...browser.conftest import PASSWORD
from ...conftest import Cast
from .conftest import change


def sign(cast: Cast, patient: Any, **kwargs: Any) -> Signature:
    kwargs.setdefault("password", PASSWORD)
    return signature_sign(user=cast.user(Role.INVESTIGATOR), patient=patient, **kwargs)


def test_an_investigator_signs_the_casebook_with_the_password(cast: Cast, demographics: Demographics) -> None:
    signature = sign(cast, cast.patient_a)
    investigator = cast.user(Role.INVESTIGATOR)
    assert signature.scope == SignatureScope.CASEBOOK
    assert signature.signer == investigator
    assert signature.signer_name == f"{investigator.get_full_name()} ({investigator.username})"
    assert signature.signer_role == Role.INVESTIGATOR
    assert signature.meaning.startswith(f"I, {signature.signer_name}, approve the data in the casebook of ")
    assert "21 CFR 11.50" in signature.meaning
    signed = {(r["model"], r["pk"]) for r in signature.records}
    assert ("patients.demographics", demographics.pk) in signed
    assert ("patients.patient", cast.patient_a.pk) in signed
    assert ("patients.visit", demographics.visit_id) in signed
    assert signature.content_sha256 == content_sha256(signed_records(patient=cast.patient_a))
    assert not signature.second_factor
    assert signature.history.latest().history_change_reason == "Casebook signed"


def test_a_wrong_password_signs_nothing_and_is_recorded(cast: Cast, demographics: Demographics) -> None:
    with pytest.raises(SigningRefused, match="password is not correct"):
        sign(cast, cast.patient_a, password="not-my-password")
    assert not Signature.objects.exists()
    failure = SigningFailure.objects.get()
    assert (failure.user, failure.reason, failure.scope) == (cast.user(Role.INVESTIGATOR), "wrong_password", "casebook")


def test_a_change_to_signed_data_invalidates_the_signature(cast: Cast, demographics: Demographics) -> None:
    signature = sign(cast, cast.patient_a)
    change(cast, demographics, reason="ECOG 2 in the clinic letter", ecog=2)

    signature.refresh_from_db()
    assert not signature.is_valid
    assert signature.invalidated_by == cast.user(Role.SITE_COORDINATOR)
    assert "Demographics & baseline" in signature.invalidated_reason
    assert "ECOG 2 in the clinic letter" in signature.invalidated_reason
    assert "ECOG 2 in the clinic letter" in signature.history.latest().history_change_reason
    panel = patient_oversight(user=cast.user(Role.INVESTIGATOR), patient=cast.patient_a)
    assert panel.needs_resigning == [signature]
    [row] = signature_manifest(user=cast.user(Role.DATA_MANAGER), trial=cast.avatar2)
    assert (row.status, row.needs_resigning) == ("invalidated", True)

    again = sign(cast, cast.patient_a)  # re-signed: the new signature covers the corrected data
    rows = signature_manifest(user=cast.user(Role.DATA_MANAGER), trial=cast.avatar2)
    assert [(r.status, r.needs_resigning) for r in rows] == [("invalidated", False), ("valid", False)]
    assert patient_oversight(user=cast.user(Role.INVESTIGATOR), patient=cast.patient_a).casebook_signature == again


def test_a_change_to_a_verified_and_signed_field_clears_both(cast: Cast, demographics: Demographics) -> None:
    sdv_verify_form(user=cast.user(Role.MONITOR), record=demographics)
    form_signature = sign(cast, cast.patient_a, record=demographics)
    casebook_signature = sign(cast, cast.patient_a)
    change(cast, demographics, reason="Menopausal status per gynaecology note", menopausal_status="peri")

    state = record_oversight(user=cast.user(Role.MONITOR), record=demographics)
    assert {i.item.name: i.state for i in state.items}["menopausal_status"] == "reverify"
    assert {i.item.name: i.state for i in state.items}["ecog"] == "verified"
    assert not any(s.is_valid for s in state.signatures)
    assert {s.pk for s in state.signatures} == {form_signature.pk, casebook_signature.pk}


def test_signing_an_unchanged_form_again_leaves_other_signatures_valid(cast: Cast, demographics: Demographics) -> None:
    visit_signature = sign(cast, cast.patient_a, visit=demographics.visit)
    form_signature = sign(cast, cast.patient_a, record=demographics)
    casebook_signature = sign(cast, cast.patient_a)
    # A new patient-level record changes the casebook, not the screening visit or the demographics form.
    services.crf_save(
        user=cast.user(Role.SITE_COORDINATOR), model=AdverseEvent, patient=cast.patient_a, values={}, complete=False
    )
    valid = {s.pk: s.is_valid for s in Signature.objects.all()}
    assert valid == {visit_signature.pk: True, form_signature.pk: True, casebook_signature.pk: False}


def test_a_visit_change_invalidates_its_visit_and_casebook_signatures(cast: Cast, demographics: Demographics) -> None:
    visit_signature = sign(cast, cast.patient_a, visit=demographics.visit)
    form_signature = sign(cast, cast.patient_a, record=demographics)
    services.visit_record(
        user=cast.user(Role.SITE_COORDINATOR),
        patient=cast.patient_a,
        definition=demographics.visit.definition,
        occurrence=1,
        status="done",
        visit_date=date(2025, 3, 11),
        reason="Visit date was the day after",
    )
    visit_signature.refresh_from_db()
    form_signature.refresh_from_db()
    assert not visit_signature.is_valid and "Visit date was the day after" in visit_signature.invalidated_reason
    assert form_signature.is_valid  # the form's own data did not change


def test_a_patient_change_invalidates_the_casebook_signature(cast: Cast, demographics: Demographics) -> None:
    signature = sign(cast, cast.patient_a)
    patient = cast.patient_a
    patient.refresh_from_db()
    services.patient_update(
        user=cast.user(Role.SITE_COORDINATOR),
        patient=patient,
        expected_version=patient.version,
        reason="Age corrected from the consent form",
        age_at_consent=59,
    )
    signature.refresh_from_db()
    assert not signature.is_valid
    assert "Age corrected from the consent form" in signature.invalidated_reason


def test_only_a_complete_form_is_signed(cast: Cast, demographics: Demographics) -> None:
    Demographics.objects.filter(pk=demographics.pk).update(status="draft")
    demographics.refresh_from_db()
    with pytest.raises(ValidationError, match="Only a complete form can be signed"):
        sign(cast, cast.patient_a, record=demographics)
    assert not Signature.objects.exists()


def test_only_the_investigator_of_the_site_signs(cast: Cast, demographics: Demographics, demographics_b: Any) -> None:
    with pytest.raises(Http404):
        sign(cast, cast.patient_b)  # site B: not the investigator's site
    for role in (Role.SITE_COORDINATOR, Role.MONITOR, Role.DATA_MANAGER, Role.SPONSOR_ADMIN):
        with pytest.raises(Http404):
            signature_sign(user=cast.user(role), patient=cast.patient_a, password=PASSWORD)
    assert not Signature.objects.exists()


def _device(user: User) -> TOTPDevice:
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return device


def _token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def test_an_enrolled_authenticator_is_required_too(cast: Cast, demographics: Demographics) -> None:
    device = _device(cast.user(Role.INVESTIGATOR))
    with pytest.raises(SigningRefused, match="authenticator code"):
        sign(cast, cast.patient_a)
    wrong = f"{(int(_token(device)) + 1) % 1_000_000:06d}"
    with pytest.raises(SigningRefused, match="authenticator code"):
        sign(cast, cast.patient_a, otp_token=wrong)
    with pytest.raises(SigningRefused, match="password"):  # the code does not replace the password
        sign(cast, cast.patient_a, password="wrong", otp_token=_token(device))
    assert not Signature.objects.exists()
    assert [f.reason for f in SigningFailure.objects.order_by("pk")] == ["wrong_token", "wrong_token", "wrong_password"]

    device.refresh_from_db()
    device.throttling_failure_count = 0  # django-otp throttles after failures; a real user would wait
    device.throttling_failure_timestamp = None
    device.save()
    signature = sign(cast, cast.patient_a, otp_token=_token(device))
    assert signature.second_factor


def test_the_signing_page_shows_what_is_signed_and_signs(client: Any, cast: Cast, demographics: Demographics) -> None:
    client.force_login(cast.user(Role.INVESTIGATOR))
    url = reverse("patients:sign_casebook", kwargs={"subject_id": cast.patient_a.subject_id})
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert page.context["meaning"] in body
    assert f"Demographics &amp; baseline at Screening #{demographics.pk}" in body
    assert "Authenticator code" not in body
    refused = client.post(url, {"password": "wrong"})
    assert refused.status_code == 200
    assert "password is not correct" in refused.content.decode()
    assert not Signature.objects.exists()
    response = client.post(url, {"password": PASSWORD})
    assert response.status_code == 302
    assert Signature.objects.get().scope == SignatureScope.CASEBOOK
    casebook = client.get(reverse("patients:detail", kwargs={"subject_id": cast.patient_a.subject_id}))
    assert 'id="signature-manifest"' in casebook.content.decode()
    assert "Casebook signed by" in casebook.content.decode()


def test_repeated_wrong_passwords_lock_the_account(client: Any, cast: Cast, settings: Any, demographics: Any) -> None:
    client.force_login(cast.user(Role.INVESTIGATOR))
    url = reverse("patients:sign_casebook", kwargs={"subject_id": cast.patient_a.subject_id})
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(url, {"password": "guess"}).status_code == 200
    last = client.post(url, {"password": "guess"})
    assert last.status_code == 429  # django-axes' lockout page
    assert "Sign-in locked" in last.content.decode()
    assert client.get(url).status_code == 302  # signed out: no session any more
    signing_in = client.post(
        reverse("login"), {"username": cast.user(Role.INVESTIGATOR).username, "password": PASSWORD}
    )
    assert signing_in.status_code == 429  # locked out, even with the right password
    assert SigningFailure.objects.count() == settings.AXES_FAILURE_LIMIT
    assert not Signature.objects.exists()


def test_the_signing_pages_of_another_site_are_404(client: Any, cast: Cast, demographics_b: Demographics) -> None:
    client.force_login(cast.user(Role.INVESTIGATOR))
    patient = cast.patient_b
    urls = [
        reverse("patients:sign_casebook", kwargs={"subject_id": patient.subject_id}),
        reverse("patients:sign_visit", kwargs={"subject_id": patient.subject_id, "visit_id": demographics_b.visit_id}),
        reverse(
            "patients:sign_form",
            kwargs={"subject_id": patient.subject_id, "code": "demographics", "pk": demographics_b.pk},
        ),
    ]
    for url in urls:
        assert client.get(url).status_code == 404
        assert client.post(url, {"password": PASSWORD}).status_code == 404
    assert not Signature.objects.exists()


def test_the_signed_content_hash_shows_a_change_that_bypassed_the_services(
    cast: Cast, demographics: Demographics
) -> None:
    form_signature = sign(cast, cast.patient_a, record=demographics)
    casebook_signature = sign(cast, cast.patient_a)
    assert signature_content_matches(signature=form_signature)
    assert signature_content_matches(signature=casebook_signature)
    Demographics.objects.filter(pk=demographics.pk).update(ecog=4)  # e.g. a raw SQL fix: no service, no audit
    assert not signature_content_matches(signature=form_signature)
    assert not signature_content_matches(signature=casebook_signature)
