"""Rate limiting: per user (token and session together), headers on every answer, 429 saying when to retry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from trials.api_auth import UserRateThrottle
from trials.models import Role, User
from trials.services_tokens import api_token_create

from ..conftest import Cast

TOKENS_API = "/api/v1/tokens/"


class Clock:
    """The throttle's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(UserRateThrottle, "timer", fake)
    cache.clear()
    with override_settings(API_RATE_LIMIT="3/minute"):
        yield fake
    cache.clear()


def token_header(user: User) -> dict[str, str]:
    issued = api_token_create(actor=user, owner=user, name="rate", expires_in_days=5, read_only=False)
    return {"HTTP_AUTHORIZATION": f"Token {issued.plaintext}"}


def test_every_answer_carries_the_limit_what_is_left_and_when_it_resets(client: Any, cast: Cast, clock: Clock) -> None:
    header = token_header(cast.user(Role.STATISTICIAN))
    remaining = []
    for step in range(3):
        response = client.get(TOKENS_API, **header)
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == response["RateLimit-Limit"] == "3"
        assert response["RateLimit-Policy"] == "3;w=60"
        remaining.append(response["X-RateLimit-Remaining"])
        # A slot frees when the first request leaves the 60-second window.
        assert int(response["RateLimit-Reset"]) == 60 - 10 * step
        assert int(response["X-RateLimit-Reset"]) == int(clock.now) + 60 - 10 * step
        clock.now += 10
    assert remaining == ["2", "1", "0"]


def test_over_the_limit_answers_429_with_retry_after_and_a_json_body(client: Any, cast: Cast, clock: Clock) -> None:
    header = token_header(cast.user(Role.STATISTICIAN))
    for _ in range(3):
        client.get(TOKENS_API, **header)
        clock.now += 5
    response = client.get(TOKENS_API, **header)
    assert response.status_code == 429
    assert response["Retry-After"] == "45"  # made at 0, 5, 10; now 15: the first leaves the window at 60
    body = response.json()
    assert body["retry_after_seconds"] == 45 and "retry after 45 seconds" in body["detail"] and body["retry_at"]
    assert response["X-RateLimit-Remaining"] == "0" and response["RateLimit-Reset"] == "45"
    clock.now += 44
    assert client.get(TOKENS_API, **header).status_code == 429
    clock.now += 1
    assert client.get(TOKENS_API, **header).status_code == 200


def test_token_and_session_of_one_user_share_the_limit_and_other_users_are_unaffected(
    client: Any, cast: Cast, clock: Clock
) -> None:
    statistician = cast.user(Role.STATISTICIAN)
    header = token_header(statistician)
    for _ in range(2):
        assert client.get(TOKENS_API, **header).status_code == 200
    client.force_login(statistician)
    assert client.get(TOKENS_API).status_code == 200
    assert client.get(TOKENS_API).status_code == 429
    assert client.get(TOKENS_API, **header).status_code == 429
    client.logout()
    other = token_header(cast.user(Role.DATA_MANAGER))
    response = client.get(TOKENS_API, **other)
    assert response.status_code == 200 and response["X-RateLimit-Remaining"] == "2"


def test_refusals_count_and_carry_the_headers_too(client: Any, cast: Cast, clock: Clock) -> None:
    header = token_header(cast.user(Role.SITE_COORDINATOR))
    missing = reverse("api:patient_allocation", kwargs={"subject_id": "AVT2-BE01-9999"})
    response = client.get(missing, **header)
    assert response.status_code == 404 and response["X-RateLimit-Remaining"] == "2"


def test_the_rate_comes_from_the_setting(client: Any, cast: Cast, clock: Clock) -> None:
    header = token_header(cast.user(Role.STATISTICIAN))
    with override_settings(API_RATE_LIMIT="1000/hour"):
        response = client.get(TOKENS_API, **header)
    assert response["X-RateLimit-Limit"] == "1000" and response["RateLimit-Policy"] == "1000;w=3600"
