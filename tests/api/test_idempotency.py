"""``Idempotency-Key`` on API creates (``trials.idempotency``): a create sent again after a lost answer makes its
record once; the key is per user and bound to its request."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from patients.models import AdverseEvent, CtcaeTerm
from trials.idempotency import request_fingerprint
from trials.models import ApiIdempotencyKey, Role

from ..real_services import require_postgres
from .conftest import Api, Casebooks

KEY = "3f0c9a52-6a1e-4d55-9a4e-2f1d0b7c9e11"


@pytest.fixture
def adverse_events(casebooks: Casebooks) -> str:
    CtcaeTerm.objects.create(soc="Blood", term="Eosinophilia", grade_1="ULN", grade_3="Steroids")
    return str(reverse("api:crf-adverse-event-list"))


def _event(casebooks: Casebooks, **changes: Any) -> dict[str, Any]:
    return {
        "patient": casebooks.cast.patient_a.subject_id,
        "term": "Eosinophilia",
        "onset_date": "2025-05-01",
        "grade": 3,
        **changes,
    }


def _post(api: Api, url: str, body: Any, key: str | None = KEY) -> Any:
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_a_create_sent_again_with_its_key_makes_one_record_and_replays_it(
    api: Api, casebooks: Casebooks, adverse_events: str
) -> None:
    api.as_(casebooks.coordinator)
    first = _post(api, adverse_events, _event(casebooks))
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    again = _post(api, adverse_events, _event(casebooks))  # the client never heard the first answer
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert AdverseEvent.objects.count() == 1
    stored = ApiIdempotencyKey.objects.get()
    assert (stored.user, stored.key, stored.object_id) == (casebooks.coordinator, KEY, first.json()["id"])
    reordered = json.loads(json.dumps(_event(casebooks)), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert _post(api, adverse_events, reordered).json()["id"] == first.json()["id"]  # same body, other key order


def test_without_a_key_each_create_makes_a_record(api: Api, casebooks: Casebooks, adverse_events: str) -> None:
    api.as_(casebooks.coordinator)
    assert [_post(api, adverse_events, _event(casebooks), key=None).status_code for _ in range(2)] == [201, 201]
    assert AdverseEvent.objects.count() == 2
    assert not ApiIdempotencyKey.objects.exists()


def test_the_same_key_with_another_request_is_refused_and_creates_nothing(
    api: Api, casebooks: Casebooks, adverse_events: str
) -> None:
    api.as_(casebooks.coordinator)
    assert _post(api, adverse_events, _event(casebooks)).status_code == 201
    other = _post(api, adverse_events, _event(casebooks, grade=1))
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["Idempotency-Key"][0]
    elsewhere = _post(api, reverse("api:crf-demographics-list"), {"patient": casebooks.cast.patient_a.subject_id})
    assert elsewhere.status_code == 422
    assert AdverseEvent.objects.count() == 1


def test_a_refused_create_stores_no_key_so_the_corrected_request_may_use_it(
    api: Api, casebooks: Casebooks, adverse_events: str
) -> None:
    api.as_(casebooks.coordinator)
    refused = _post(api, adverse_events, _event(casebooks, grade=2))  # Eosinophilia has no grade 2
    assert refused.status_code == 400 and list(refused.json()) == ["grade"]
    assert not ApiIdempotencyKey.objects.exists()
    assert _post(api, adverse_events, _event(casebooks, grade=2)).status_code == 400  # not replayed: re-checked
    assert _post(api, adverse_events, _event(casebooks)).status_code == 201
    assert AdverseEvent.objects.count() == 1


def test_keys_are_per_user(api: Api, casebooks: Casebooks, adverse_events: str) -> None:
    api.as_(casebooks.coordinator)
    assert _post(api, adverse_events, _event(casebooks)).status_code == 201
    api.as_(casebooks.cast.user(Role.INVESTIGATOR))  # same site, same key text: another user's key
    second = _post(api, adverse_events, _event(casebooks))
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert AdverseEvent.objects.count() == 2


def test_a_replay_never_shows_a_record_outside_the_users_sites(
    api: Api, casebooks: Casebooks, adverse_events: str
) -> None:
    coordinator = casebooks.coordinator
    api.as_(coordinator)
    assert _post(api, adverse_events, _event(casebooks)).status_code == 201
    coordinator.memberships.all().delete()  # moved off the site since
    assert _post(api, adverse_events, _event(casebooks)).status_code == 404
    assert AdverseEvent.objects.count() == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "naïve-key", "two words"])
def test_a_malformed_key_answers_400_by_header_and_creates_nothing(
    api: Api, casebooks: Casebooks, adverse_events: str, key: str
) -> None:
    api.as_(casebooks.coordinator)
    response = _post(api, adverse_events, _event(casebooks), key=key)
    assert response.status_code == 400
    assert list(response.json()) == ["Idempotency-Key"]
    assert not AdverseEvent.objects.exists()


def test_the_fingerprint_is_the_method_path_and_body_whatever_the_key_order() -> None:
    base = request_fingerprint(method="POST", path="/api/v1/x/", body={"a": 1, "b": [1, 2]})
    assert base == request_fingerprint(method="post", path="/api/v1/x/", body={"b": [1, 2], "a": 1})
    assert base != request_fingerprint(method="POST", path="/api/v1/y/", body={"a": 1, "b": [1, 2]})
    assert base != request_fingerprint(method="POST", path="/api/v1/x/", body={"a": 1, "b": [2, 1]})


@pytest.mark.postgres
def test_two_sends_of_one_keyed_create_at_the_same_moment_make_one_record(
    transactional_db: None, casebooks: Casebooks, adverse_events: str
) -> None:
    """The second send either replays (the first had committed) or answers 409 (it had not: the unique key waits
    for it, then refuses); never a second record (PostgreSQL: real concurrent transactions)."""
    require_postgres()
    barrier = threading.Barrier(4)
    statuses: list[tuple[int, str]] = []

    def send() -> None:
        try:
            client = Client()
            client.force_login(casebooks.coordinator)
            barrier.wait(timeout=30)
            answer = _post(Api(client), adverse_events, _event(casebooks))
            statuses.append((answer.status_code, answer.get("Idempotent-Replayed", "")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AdverseEvent.objects.count() == 1
    assert sorted(statuses).count((201, "")) == 1, statuses  # one create; the others replayed it or got 409
    assert {status for status, _ in statuses} <= {201, 409}, statuses
