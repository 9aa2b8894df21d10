from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from ..conftest import Cast

PASSWORD = "Correct-Horse-Battery-42"  # the factories' password


def test_the_login_page_renders(client: Any, db: None) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_a_user_signs_in_and_out(client: Any, cast: Cast, coordinator: Any) -> None:
    response = client.post(reverse("login"), {"username": coordinator.username, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("patients:list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("patients:list")).status_code == 302


def test_a_wrong_password_says_so_without_naming_which_part(client: Any, cast: Cast, coordinator: Any) -> None:
    response = client.post(reverse("login"), {"username": coordinator.username, "password": "wrong-password-x"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_repeated_failures_lock_the_account_with_a_clear_message(client: Any, cast: Cast, coordinator: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": coordinator.username, "password": "wrong-password-x"})
    response = client.post(reverse("login"), {"username": coordinator.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "Sign-in is locked for 30 minutes" in response.content.decode()
    assert client.get(reverse("patients:list")).status_code == 302  # the right password did not get in


@pytest.mark.parametrize("password", ["short1!", "password1234", "123456789012", "coordinator2026"])
def test_weak_passwords_are_refused(cast: Cast, coordinator: Any, password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password, coordinator)


def test_a_user_changes_their_password(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Another-Long-Passphrase-7",
            "new_password2": "Another-Long-Passphrase-7",
        },
    )
    assert response.status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.check_password("Another-Long-Passphrase-7")


def test_sessions_expire_when_idle_and_with_the_browser() -> None:
    assert settings.SESSION_COOKIE_AGE <= 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_an_inactive_user_cannot_sign_in(client: Any, cast: Cast, coordinator: Any) -> None:
    coordinator.is_active = False
    coordinator.save()
    response = client.post(reverse("login"), {"username": coordinator.username, "password": PASSWORD})
    assert response.status_code == 200
    assert client.get(reverse("patients:list")).status_code == 302
