from typing import Any

from django.urls import reverse

from trials.models import Role, User

from ..conftest import Cast


def test_a_sponsor_admin_creates_a_site_user(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.SPONSOR_ADMIN))
    response = client.post(
        reverse("users:create"),
        {
            "username": "newcra",
            "role": Role.MONITOR,
            "sites": [cast.site_a.pk, cast.site_b.pk],
            "is_active": "on",
            "password": "Monitoring-Visits-2027",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newcra")
    assert user.site_ids() == {cast.site_a.pk, cast.site_b.pk}
    assert user.check_password("Monitoring-Visits-2027")


def test_a_site_role_needs_a_site_and_an_all_site_role_none(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.SPONSOR_ADMIN))
    no_site = client.post(
        reverse("users:create"),
        {"username": "x1", "role": Role.MONITOR, "is_active": "on", "password": "Monitoring-Visits-2027"},
    )
    assert no_site.context["form"].errors["sites"] == ["A site-scoped role needs at least one site."]
    with_site = client.post(
        reverse("users:create"),
        {
            "username": "x2",
            "role": Role.STATISTICIAN,
            "is_active": "on",
            "sites": [cast.site_a.pk],
            "password": "Monitoring-Visits-2027",
        },
    )
    assert with_site.context["form"].errors["sites"] == ["This role sees every site; leave the sites empty."]
    assert not User.objects.filter(username__in=["x1", "x2"]).exists()


def test_a_weak_initial_password_is_refused(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.SPONSOR_ADMIN))
    response = client.post(
        reverse("users:create"),
        {"username": "weak", "role": Role.STATISTICIAN, "is_active": "on", "password": "password"},
    )
    assert response.context["form"].errors["password"]
    assert not User.objects.filter(username="weak").exists()


def test_deactivating_a_user_needs_a_reason_and_is_audited(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(cast.user(Role.SPONSOR_ADMIN))
    url = reverse("users:update", kwargs={"pk": coordinator.pk})
    data = {"username": coordinator.username, "role": Role.SITE_COORDINATOR, "sites": [cast.site_a.pk]}
    refused = client.post(url, {**data, "reason": ""})
    assert refused.context["form"].errors["reason"] == ["A reason for change is required when editing a saved record."]
    assert User.objects.get(pk=coordinator.pk).is_active
    client.post(url, {**data, "reason": "Left the hospital"})
    coordinator.refresh_from_db()
    assert not coordinator.is_active
    assert coordinator.history.latest().history_change_reason == "Left the hospital"
    assert coordinator.site_ids() == set()  # an inactive user sees nothing
