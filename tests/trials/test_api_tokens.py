"""Personal API tokens, from creation to revocation: shown once, stored hashed, acting exactly as their user."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from trials.domain.api_tokens import token_generate, token_matches, token_prefix
from trials.models import ApiToken, Role, User
from trials.services_tokens import IssuedToken, api_token_create

from ..conftest import Cast
from ..scenarios import allocated_patient

# The format (pure) -------------------------------------------------------------------------------------------------


def test_a_generated_token_has_the_documented_shape_and_its_hash() -> None:
    generated = token_generate()
    assert token_prefix(generated.token) == generated.prefix
    assert generated.hash == hashlib.sha256(generated.token.encode()).hexdigest()
    assert token_matches(generated.token, generated.hash)
    assert generated.token != token_generate().token


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "edc_",
        "edc_0123abcd_",
        "edc_0123abcd_" + "a" * 39,  # one short
        "edc_0123abcd_" + "a" * 41,  # one long
        "edc_0123ABCD_" + "a" * 40,  # prefix is lower-case hex
        "xyz_0123abcd_" + "a" * 40,  # another issuer
        "edc_0123abcd_" + "a" * 39 + "-",
        "edc_0123abcd_" + "a" * 40 + "\n",
    ],
)
def test_a_malformed_token_has_no_prefix(presented: str) -> None:
    assert token_prefix(presented) is None


# Helpers -----------------------------------------------------------------------------------------------------------


def issue(user: User, *, read_only: bool = False, days: int = 90) -> IssuedToken:
    return api_token_create(actor=user, owner=user, name="analysis", expires_in_days=days, read_only=read_only)


def auth(plaintext: str, scheme: str = "Token") -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"{scheme} {plaintext}"}


TOKENS_API = "/api/v1/tokens/"


# Creation: shown once, stored hashed -------------------------------------------------------------------------------


def test_a_user_creates_a_token_on_the_page_and_sees_it_once(client: Any, cast: Cast) -> None:
    statistician = cast.user(Role.STATISTICIAN)
    client.force_login(statistician)
    response = client.post(reverse("tokens:create"), {"name": "R laptop", "expires_in_days": 90, "read_only": "on"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    plaintext = response.context["issued"].plaintext
    assert plaintext in response.content.decode()
    token = ApiToken.objects.get(user=statistician)
    assert (token.name, token.read_only, token.prefix) == ("R laptop", True, token_prefix(plaintext))
    assert token.secret_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    # Never again: not on the list, not in any stored column, not in the audit trail.
    assert plaintext not in client.get(reverse("tokens:list")).content.decode()
    secret = plaintext.rsplit("_", 1)[1]
    stored = [str(v) for v in ApiToken.objects.filter(pk=token.pk).values().get().values()]
    history = [str(v) for row in token.history.values() for v in row.values()]
    assert not any(secret in value for value in stored + history)
    assert not any(token.secret_hash in value for value in history)


@pytest.mark.parametrize(("days", "ok"), [(0, False), (1, True), (365, True), (366, False)])
def test_a_token_expires_within_a_year(client: Any, cast: Cast, days: int, ok: bool) -> None:
    client.force_login(cast.user(Role.MONITOR))
    client.post(reverse("tokens:create"), {"name": "sdv", "expires_in_days": days})
    assert ApiToken.objects.filter(user=cast.user(Role.MONITOR)).exists() == ok


def test_the_form_offers_ninety_days_by_default(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.MONITOR))
    form = client.get(reverse("tokens:create")).context["form"]
    assert form.fields["expires_in_days"].initial == 90 and form.fields["expires_in_days"].required


def test_a_session_creates_a_token_over_the_api_but_a_token_cannot(client: Any, cast: Cast) -> None:
    statistician = cast.user(Role.STATISTICIAN)
    client.force_login(statistician)
    created = client.post(TOKENS_API, {"name": "script"}, content_type="application/json")
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    body = created.json()
    assert body["status"] == "active" and body["read_only"] is False
    assert token_matches(body["token"], ApiToken.objects.get(pk=body["id"]).secret_hash)
    client.logout()
    refused = client.post(TOKENS_API, {"name": "more"}, content_type="application/json", **auth(body["token"]))
    assert refused.status_code == 403 and "browser session" in refused.json()["detail"]
    assert ApiToken.objects.filter(user=statistician).count() == 1


def test_a_sponsor_admin_creates_a_token_for_a_user_and_only_the_admin_sees_it(client: Any, cast: Cast) -> None:
    admin, statistician = cast.user(Role.SPONSOR_ADMIN), cast.user(Role.STATISTICIAN)
    client.force_login(admin)
    response = client.post(
        reverse("tokens:admin_create"), {"user": statistician.pk, "name": "SAS server", "expires_in_days": 30}
    )
    plaintext = response.context["issued"].plaintext
    token = ApiToken.objects.get(user=statistician)
    assert token.created_by == admin and plaintext in response.content.decode()
    client.logout()
    assert client.get(TOKENS_API, **auth(plaintext)).json()["results"][0]["name"] == "SAS server"


def test_only_a_sponsor_admin_creates_tokens_for_others(cast: Cast) -> None:
    from django.http import Http404

    with pytest.raises(Http404):
        api_token_create(
            actor=cast.user(Role.STATISTICIAN),
            owner=cast.user(Role.SITE_COORDINATOR),
            name="x",
            expires_in_days=5,
            read_only=False,
        )


# Use --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "BEARER"])
def test_a_token_authenticates_as_its_user(client: Any, cast: Cast, scheme: str) -> None:
    issued = issue(cast.user(Role.STATISTICIAN))
    response = client.get(TOKENS_API, **auth(issued.plaintext, scheme))
    assert response.status_code == 200
    assert [t["prefix"] for t in response.json()["results"]] == [issued.token.prefix]


def test_last_used_is_stamped_at_most_once_a_minute(client: Any, cast: Cast) -> None:
    issued = issue(cast.user(Role.STATISTICIAN))
    assert issued.token.last_used_at is None
    client.get(TOKENS_API, **auth(issued.plaintext))
    first = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=10)
    client.get(TOKENS_API, **auth(issued.plaintext))
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == first  # within the minute: no write
    ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get(TOKENS_API, **auth(issued.plaintext))
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at > first
    assert issued.token.history.count() == 1  # bookkeeping leaves no history rows


def test_an_expired_token_answers_401_saying_so(client: Any, cast: Cast) -> None:
    issued = issue(cast.user(Role.STATISTICIAN))
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(TOKENS_API, **auth(issued.plaintext))
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_deactivated_users_token_answers_401(client: Any, cast: Cast) -> None:
    statistician = cast.user(Role.STATISTICIAN)
    issued = issue(statistician)
    User.objects.filter(pk=statistician.pk).update(is_active=False)
    response = client.get(TOKENS_API, **auth(issued.plaintext))
    assert response.status_code == 401 and "deactivated" in response.json()["detail"]


def test_a_user_whose_role_was_removed_cannot_use_a_token(client: Any, cast: Cast) -> None:
    statistician = cast.user(Role.STATISTICIAN)
    issued = issue(statistician)
    User.objects.filter(pk=statistician.pk).update(role="")
    assert client.get(TOKENS_API, **auth(issued.plaintext)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Bearer",
        "Token edc_0123abcd_" + "a" * 40,  # well-formed, unknown
        "Token not-a-token",
        "Token a b",
        "Token édc",
    ],
)
def test_a_wrong_or_malformed_header_answers_401(client: Any, cast: Cast, header: str) -> None:
    issue(cast.user(Role.STATISTICIAN))
    response = client.get(TOKENS_API, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response.json()["detail"]


def test_a_token_with_a_known_prefix_but_wrong_secret_answers_401(client: Any, cast: Cast) -> None:
    issued = issue(cast.user(Role.STATISTICIAN))
    forged = f"edc_{issued.token.prefix}_" + "A" * 40
    assert client.get(TOKENS_API, **auth(forged)).status_code == 401


def test_no_credentials_answer_401_with_the_token_challenge(client: Any, cast: Cast) -> None:
    response = client.get(TOKENS_API, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Token realm="api"'


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_read_only_token_refuses_every_write(client: Any, cast: Cast, method: str) -> None:
    investigator = cast.user(Role.INVESTIGATOR)
    read_only = issue(investigator, read_only=True)
    read_write = issue(investigator)
    url = reverse("api:token_revoke", kwargs={"pk": read_write.token.pk})
    response = getattr(client, method)(url, {}, content_type="application/json", **auth(read_only.plaintext))
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    assert ApiToken.objects.get(pk=read_write.token.pk).revoked_at is None
    assert client.get(TOKENS_API, **auth(read_only.plaintext)).status_code == 200


# Scope: a token is its user, in the browser's scope ----------------------------------------------------------------


def test_a_site_a_coordinators_token_cannot_read_a_site_b_patient(client: Any, cast: Cast) -> None:
    own = allocated_patient(cast, site=cast.site_a, screening_number="T-NL01").patient
    other = allocated_patient(cast, site=cast.site_b, screening_number="T-BE01").patient
    issued = issue(cast.user(Role.SITE_COORDINATOR))
    for patient, expected in ((own, 200), (other, 404)):
        url = reverse("api:patient_allocation", kwargs={"subject_id": patient.subject_id})
        assert client.get(url, **auth(issued.plaintext)).status_code == expected


def _get_paths(path_parameters: list[str]) -> list[str]:
    """Every GET path of the API schema whose path parameters are exactly ``path_parameters``."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        path
        for path, operations in schema["paths"].items()
        if "get" in operations
        and [p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "path"] == path_parameters
    ]


def _patient_paths() -> list[str]:
    return _get_paths(["subject_id"])


def test_no_list_of_the_api_shows_a_site_b_record_to_a_site_a_token(client: Any, cast: Cast) -> None:
    other = allocated_patient(cast, site=cast.site_b, screening_number="T-BE01").patient
    coordinator = issue(cast.user(Role.SITE_COORDINATOR))
    statistician = issue(cast.user(Role.STATISTICIAN))
    lists = _get_paths([])
    assert "/api/v1/tokens/" in lists
    seen_by_statistician = 0
    for path in lists:
        response = client.get(path, **auth(coordinator.plaintext))
        assert response.status_code in (200, 404), path
        assert other.subject_id not in response.content.decode(), path
        seen_by_statistician += other.subject_id in client.get(path, **auth(statistician.plaintext)).content.decode()
    assert seen_by_statistician > 0  # the records are there: the coordinator's lists leave them out


def test_no_patient_endpoint_shows_a_site_b_patient_to_a_site_a_token(client: Any, cast: Cast) -> None:
    allocated_patient(cast, site=cast.site_b, screening_number="T-BE01")
    issued = issue(cast.user(Role.SITE_COORDINATOR))
    paths = _patient_paths()
    assert "/api/v1/patients/{subject_id}/allocation/" in paths
    for path in paths:
        for patient in cast.patient_b.trial.patients.filter(site=cast.site_b):
            url = path.replace("{subject_id}", patient.subject_id)
            assert client.get(url, **auth(issued.plaintext)).status_code == 404, url


# Revocation ---------------------------------------------------------------------------------------------------------


def test_a_user_revokes_their_token_on_the_page_and_it_stops_working(client: Any, cast: Cast) -> None:
    monitor = cast.user(Role.MONITOR)
    issued = issue(monitor)
    client.force_login(monitor)
    url = reverse("tokens:revoke", kwargs={"pk": issued.token.pk})
    assert client.get(url).status_code == 200  # the confirmation
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None
    assert client.post(url, {}).status_code == 302
    token = ApiToken.objects.get(pk=issued.token.pk)
    assert token.revoked_by == monitor and token.status == "revoked"
    client.logout()
    response = client.get(TOKENS_API, **auth(issued.plaintext))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_a_user_revokes_their_token_over_the_api(client: Any, cast: Cast) -> None:
    statistician = cast.user(Role.STATISTICIAN)
    keeper, leaked = issue(statistician), issue(statistician)
    url = reverse("api:token_revoke", kwargs={"pk": leaked.token.pk})
    response = client.post(url, {}, content_type="application/json", **auth(keeper.plaintext))
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert client.get(TOKENS_API, **auth(leaked.plaintext)).status_code == 401
    again = client.post(url, {}, content_type="application/json", **auth(keeper.plaintext))
    assert again.status_code == 400 and "already revoked" in again.json()["non_field_errors"][0]


def test_a_sponsor_admin_revokes_a_users_token_with_a_reason_that_is_audited(client: Any, cast: Cast) -> None:
    admin = cast.user(Role.SPONSOR_ADMIN)
    issued = issue(cast.user(Role.STATISTICIAN))
    client.force_login(admin)
    assert issued.token.prefix in client.get(reverse("tokens:admin_list")).content.decode()
    url = reverse("tokens:revoke", kwargs={"pk": issued.token.pk})
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200 and refused.context["form"].errors["reason"]
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None
    assert client.post(url, {"reason": "Laptop stolen"}).status_code == 302
    latest = ApiToken.objects.get(pk=issued.token.pk).history.latest()
    assert (latest.history_type, latest.history_change_reason, latest.history_user) == ("~", "Laptop stolen", admin)
    assert latest.revocation_reason == "Laptop stolen" and latest.revoked_at is not None


@pytest.mark.parametrize("role", [Role.SITE_COORDINATOR, Role.STATISTICIAN, Role.DATA_MANAGER])
def test_another_users_token_cannot_be_revoked_by_a_non_admin(client: Any, cast: Cast, role: str) -> None:
    victim = issue(cast.user(Role.INVESTIGATOR))
    attacker = issue(cast.user(role))
    url = reverse("api:token_revoke", kwargs={"pk": victim.token.pk})
    assert client.post(url, {}, content_type="application/json", **auth(attacker.plaintext)).status_code == 404
    client.force_login(cast.user(role))
    page = reverse("tokens:revoke", kwargs={"pk": victim.token.pk})
    assert client.get(page).status_code == 404
    assert client.post(page, {"reason": "no"}).status_code == 404
    assert ApiToken.objects.get(pk=victim.token.pk).revoked_at is None


def test_the_api_lists_only_ones_own_tokens_even_for_an_admin(client: Any, cast: Cast) -> None:
    others = issue(cast.user(Role.STATISTICIAN))
    admin = issue(cast.user(Role.SPONSOR_ADMIN))
    listed = client.get(TOKENS_API, **auth(admin.plaintext)).json()["results"]
    assert [t["id"] for t in listed] == [admin.token.pk]
    url = reverse("api:token_revoke", kwargs={"pk": others.token.pk})
    assert client.post(url, {}, content_type="application/json", **auth(admin.plaintext)).status_code == 404
