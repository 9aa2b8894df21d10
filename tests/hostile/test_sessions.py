"""CSRF and session fixation (issue 9), beyond what is already checked elsewhere:

* ``tests/trials/test_security_headers.py`` refuses a POST without a CSRF token on every POST row of the permission
  matrix and on the main forms, checks no page but the API is exempt, and that the session key changes at sign-in;
* ``tests/trials/test_two_factor.py`` checks the session key changes again at the second factor.

Here: every other URL of the matrix (its rows list the GET of pages that also take a POST: forms, the API) refuses a
tokenless POST too; the session key planted before sign-in is dead after it (replaying it is not signed in); the
key of the first factor is dead after the second; signing out kills the key; a password change signs out the
user's other sessions.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from trials.models import Role

from ..conftest import Cast
from ..security.test_permission_matrix import MATRIX, records  # noqa: F401 (records: a fixture the rows need)
from ..trials.test_two_factor import PASSWORD, _current_code, _device, _enrol, _sign_in, required_roles
from .hostile import rolled_back

GET_ROWS = [(name, build) for name, build, method, _ in MATRIX if method == "get" and name != "login"]


def test_a_tokenless_post_to_any_other_url_of_the_matrix_is_refused(
    cast: Cast,
    records: None,  # noqa: F811 (the matrix's fixture, imported above)
) -> None:
    """One test over the rows (each row as its own test would build the matrix's records a hundred times)."""
    admin, investigator = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    admin.force_login(cast.user(Role.SPONSOR_ADMIN))
    investigator.force_login(cast.user(Role.INVESTIGATOR))
    accepted = []
    for name, build in GET_ROWS:
        client = investigator if name.startswith("patients:") else admin
        with rolled_back():  # some builders make their own records, as each row of the matrix does in its test
            response = client.post(build(cast, cast.patient_a), {"reason": "x", "text": "x", "name": "x"})
        json = response.get("Content-Type", "").startswith("application/json")
        # The API documentation pages render DRF's CSRF refusal as a bare "403 Forbidden".
        if response.status_code != 403 or ((json or not name.startswith("api:")) and b"CSRF" not in response.content):
            accepted.append(f"{name}: {response.status_code}")
    assert len(GET_ROWS) > 50
    assert not accepted, f"a POST without a CSRF token was not refused: {accepted}"


def _session_cookie(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _replay(key: str) -> Client:
    replayed = Client()
    replayed.cookies[settings.SESSION_COOKIE_NAME] = key
    return replayed


def test_a_session_key_planted_before_sign_in_is_dead_after_it(cast: Cast) -> None:
    victim = Client()
    victim.get(reverse("login"))
    session = victim.session
    session["planted"] = True  # an attacker's anonymous session, its key handed to the victim
    session.save()
    planted = _session_cookie(victim)
    response = victim.post(reverse("login"), {"username": "site_coordinator", "password": PASSWORD})
    assert response.status_code == 302
    assert _session_cookie(victim) != planted
    assert not SessionStore().exists(planted)
    attacker = _replay(planted).get(reverse("patients:list"))
    assert attacker.status_code == 302 and attacker["Location"].startswith(reverse("login"))
    assert victim.get(reverse("patients:list")).status_code == 200


@required_roles
def test_the_first_factor_s_session_key_is_dead_after_the_second(client: Any, cast: Cast) -> None:
    investigator = cast.user(Role.INVESTIGATOR)
    _sign_in(client, investigator)
    _enrol(client)
    client.post(reverse("logout"))
    _sign_in(client, investigator)
    first_factor = _session_cookie(client)
    response = client.post(reverse("security:two_factor_verify"), {"code": _current_code(_device(investigator).key)})
    assert response.status_code == 302
    assert _session_cookie(client) != first_factor
    assert not SessionStore().exists(first_factor)
    replayed = _replay(first_factor).get(reverse("patients:list"))
    assert replayed.status_code == 302 and replayed["Location"].startswith(reverse("login"))
    assert client.get(reverse("patients:list")).status_code == 200


def test_signing_out_kills_the_session_key(client: Any, cast: Cast) -> None:
    client.post(reverse("login"), {"username": "site_coordinator", "password": PASSWORD})
    key = _session_cookie(client)
    assert _replay(key).get(reverse("patients:list")).status_code == 200
    client.post(reverse("logout"))
    assert not SessionStore().exists(key)
    replayed = _replay(key).get(reverse("patients:list"))
    assert replayed.status_code == 302 and replayed["Location"].startswith(reverse("login"))
    api = _replay(key).get(reverse("api:patient-list"))
    assert api.status_code == 401


def test_a_password_change_signs_out_the_user_s_other_sessions(cast: Cast) -> None:
    laptop, phone = Client(), Client()
    for device in (laptop, phone):
        device.post(reverse("login"), {"username": "site_coordinator", "password": PASSWORD})
    new = "Another-Long-Passphrase-77"
    response = laptop.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert laptop.get(reverse("patients:list")).status_code == 200  # the session that changed it stays
    other = phone.get(reverse("patients:list"))
    assert other.status_code == 302 and other["Location"].startswith(reverse("login"))
