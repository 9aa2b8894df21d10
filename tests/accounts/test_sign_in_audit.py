"""The sign-in log (who signed in, who failed, from where; never a password) and the rule that users who entered
data are deactivated, never deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from patients import services
from patients.models import Patient
from trials.models import SignInEvent, SignInOutcome, User
from trials.security import sign_in_event_record, user_has_entered_data

from ..conftest import Cast
from ..factories import UserFactory

PASSWORD = "Correct-Horse-Battery-42"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chromium/130"


def _post_login(client: Any, username: str, password: str) -> Any:
    return client.post(
        reverse("login"), {"username": username, "password": password}, HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="10.1.2.3"
    )


def test_a_sign_in_is_logged_with_the_address_and_the_browser(client: Any, cast: Cast, coordinator: Any) -> None:
    _post_login(client, coordinator.username, PASSWORD)
    event = SignInEvent.objects.get(outcome=SignInOutcome.SIGNED_IN)
    assert (event.user, event.username, event.ip_address, event.user_agent) == (
        coordinator,
        coordinator.username,
        "10.1.2.3",
        BROWSER,
    )


def test_an_address_that_is_not_one_is_logged_as_unknown(rf: Any, cast: Cast, coordinator: Any) -> None:
    """A proxy's odd forwarded-for value must never break signing in (the column holds addresses only)."""
    event = sign_in_event_record(
        outcome=SignInOutcome.SIGNED_IN, request=rf.get("/", REMOTE_ADDR="unknown"), user=coordinator
    )
    assert event.ip_address is None and event.username == coordinator.username


def test_a_failed_sign_in_is_logged_with_the_username_typed_and_never_the_password(
    client: Any, cast: Cast, coordinator: Any
) -> None:
    _post_login(client, coordinator.username, "Wrong-Password-123")
    event = SignInEvent.objects.get(outcome=SignInOutcome.FAILED)
    assert (event.user, event.username, event.ip_address) == (coordinator, coordinator.username, "10.1.2.3")
    stored = " ".join(str(v) for v in SignInEvent.objects.values_list().get(pk=event.pk))
    assert "Wrong-Password-123" not in stored


def test_a_failed_sign_in_as_nobody_is_logged_too(client: Any, cast: Cast) -> None:
    _post_login(client, "no-such-person", "Whatever-123456")
    event = SignInEvent.objects.get(outcome=SignInOutcome.FAILED)
    assert (event.user, event.username) == (None, "no-such-person")


def test_a_sign_out_is_logged(client: Any, cast: Cast, coordinator: Any) -> None:
    _post_login(client, coordinator.username, PASSWORD)
    client.post(reverse("logout"))
    assert SignInEvent.objects.filter(user=coordinator, outcome=SignInOutcome.SIGNED_OUT).count() == 1


def test_a_lockout_is_logged(client: Any, cast: Cast, coordinator: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _post_login(client, coordinator.username, "Wrong-Password-123")
    assert _post_login(client, coordinator.username, PASSWORD).status_code == 429
    assert SignInEvent.objects.filter(username=coordinator.username, outcome=SignInOutcome.LOCKED_OUT).exists()
    assert not SignInEvent.objects.filter(outcome=SignInOutcome.SIGNED_IN).exists()


@pytest.mark.parametrize(("role", "status"), [("data_manager", 200), ("sponsor_admin", 200), ("monitor", 404)])
def test_the_sign_in_log_is_for_data_managers_and_sponsor_admins(
    client: Any, cast: Cast, coordinator: Any, role: str, status: int
) -> None:
    _post_login(client, "no-such-person", "Whatever-123456")
    client.force_login(cast.user(role))
    response = client.get(reverse("audit:sign_ins"))
    assert response.status_code == status
    if status == 200:
        assert "no-such-person" in response.content.decode()


def test_the_sign_in_log_filters_by_username_and_event(client: Any, cast: Cast, coordinator: Any) -> None:
    _post_login(client, "no-such-person", "Whatever-123456")
    _post_login(client, coordinator.username, PASSWORD)
    client.force_login(cast.user("data_manager"))
    page = client.get(reverse("audit:sign_ins"), {"username": "NO-SUCH-PERSON"}).context["page"]
    assert {e.username for e in page} == {"no-such-person"}
    page = client.get(reverse("audit:sign_ins"), {"outcome": SignInOutcome.SIGNED_IN}).context["page"]
    assert {e.outcome for e in page} == {SignInOutcome.SIGNED_IN}


# --- Deactivation, never deletion ----------------------------------------------------------------------------------


def test_a_user_who_entered_data_cannot_be_deleted(cast: Cast, coordinator: Any) -> None:
    patient = Patient.objects.get(pk=cast.patient_a.pk)
    services.patient_update(
        user=coordinator, patient=patient, expected_version=patient.version, reason="Checked", age_at_consent=57
    )
    assert user_has_entered_data(coordinator)
    with pytest.raises(ProtectedError, match="deactivate the account"), transaction.atomic():
        coordinator.delete()
    assert User.objects.filter(pk=coordinator.pk).exists()


def test_a_user_who_never_entered_data_can_be_deleted(cast: Cast) -> None:
    mistake = UserFactory(username="created-by-mistake", role="monitor", sites=[cast.site_a])
    assert not user_has_entered_data(mistake)
    mistake.delete()
    assert not User.objects.filter(username="created-by-mistake").exists()


def test_the_admin_offers_no_way_to_delete_a_user(client: Any, cast: Cast, coordinator: Any) -> None:
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    changelist = client.get(reverse("admin:trials_user_changelist"))
    assert changelist.status_code == 200
    assert "delete_selected" not in changelist.content.decode()
    assert client.get(reverse("admin:trials_user_delete", args=[coordinator.pk])).status_code == 403
