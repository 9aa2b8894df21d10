"""Locked data refuse API writes with 423 Locked and the message (``patients.locking``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.cache import cache
from django.urls import reverse

from patients.models import Allocation, Demographics
from patients.services.locks import lock_form, trial_freeze, trial_lock
from trials.models import Role

from ...conftest import Cast
from ...scenarios import patient_ready_for_allocation, scenario_allocation_list


def patch(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.patch(url, json.dumps(body), content_type="application/json")


def test_a_locked_form_refuses_an_api_write(client: Any, cast: Cast, demographics: Demographics) -> None:
    cache.clear()  # the API's rate limiter counts in the cache
    url = reverse("api:crf-demographics-detail", kwargs={"pk": demographics.pk})
    lock_form(user=cast.user(Role.DATA_MANAGER), record=demographics, reason="Clean")
    client.force_login(cast.user(Role.SITE_COORDINATOR))
    response = patch(client, url, {"version": demographics.version, "ecog": 3, "reason": "Late correction"})
    assert response.status_code == 423
    [message] = response.json()["non_field_errors"]
    assert "form is locked" in message and "read-only" in message
    assert Demographics.objects.get(pk=demographics.pk).ecog == 1


def test_a_frozen_trial_refuses_an_api_write(client: Any, cast: Cast, demographics: Demographics) -> None:
    cache.clear()
    trial_freeze(user=cast.user(Role.DATA_MANAGER), trial=cast.avatar2)
    client.force_login(cast.user(Role.SITE_COORDINATOR))
    url = reverse("api:crf-demographics-detail", kwargs={"pk": demographics.pk})
    response = patch(client, url, {"version": demographics.version, "ecog": 3, "reason": "x"})
    assert response.status_code == 423
    assert "frozen" in response.json()["non_field_errors"][0]


def test_a_locked_trial_refuses_randomisation_in_the_api(client: Any, cast: Cast) -> None:
    cache.clear()
    scenario_allocation_list(cast)
    patient = patient_ready_for_allocation(cast)
    trial_lock(user=cast.user(Role.SPONSOR_ADMIN), trial=cast.avatar2, reason="Database lock")
    client.force_login(cast.user(Role.INVESTIGATOR))
    response = client.post(reverse("api:patient_randomise", kwargs={"subject_id": patient.subject_id}))
    assert response.status_code == 423
    assert "AVATAR II is locked" in response.json()["non_field_errors"][0]
    assert not Allocation.objects.filter(patient=patient).exists()
