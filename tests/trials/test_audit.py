from typing import Any

import pytest
from django.urls import reverse

from patients import services
from trials.audit import MissingReasonForChange, stamp
from trials.models import Site

from ..conftest import Cast


def test_an_update_without_a_reason_is_refused_at_the_audit_layer(cast: Cast) -> None:
    """Even a write that skips the services cannot change a record without a reason."""
    site = cast.site_a
    site.name = "Renamed"
    with pytest.raises(MissingReasonForChange):
        site.save()


def test_an_update_with_a_reason_keeps_who_and_why(cast: Cast, coordinator: Any) -> None:
    site = cast.site_a
    site.name = "Amsterdam UMC, location VUmc"
    stamp(site, user=coordinator, reason="Site renamed after merger")
    site.save()
    latest = Site.history.filter(id=site.pk).latest()
    assert (latest.history_user, latest.history_change_reason) == (coordinator, "Site renamed after merger")


def test_the_history_view_shows_field_by_field_changes_and_the_reason(
    client: Any, cast: Cast, coordinator: Any
) -> None:
    services.patient_update(
        user=coordinator,
        patient=cast.patient_a,
        expected_version=cast.patient_a.version,
        reason="Age checked against the consent form",
        age_at_consent=57,
    )
    client.force_login(coordinator)
    response = client.get(reverse("audit_trail", kwargs={"model_label": "patients.patient", "pk": cast.patient_a.pk}))
    newest = response.context["entries"][0]
    assert newest.who == coordinator.username
    assert newest.reason == "Age checked against the consent form"
    assert [(c.label, c.old, c.new) for c in newest.changes] == [("Age at consent", "58", "57")]
    assert "Age checked against the consent form" in response.content.decode()


@pytest.mark.parametrize(
    "label", ["auth.group", "patients.historicalpatient", "axes.accessattempt", "nonsense", "a.b.c"]
)
def test_the_history_view_only_serves_audited_models(client: Any, cast: Cast, coordinator: Any, label: str) -> None:
    client.force_login(coordinator)
    assert client.get(reverse("audit_trail", kwargs={"model_label": label, "pk": 1})).status_code == 404


def test_user_histories_are_for_the_sponsor_admin_only(client: Any, cast: Cast, coordinator: Any) -> None:
    client.force_login(coordinator)
    url = reverse("audit_trail", kwargs={"model_label": "trials.user", "pk": coordinator.pk})
    assert client.get(url).status_code == 404
    client.force_login(cast.user("sponsor_admin"))
    assert client.get(url).status_code == 200
