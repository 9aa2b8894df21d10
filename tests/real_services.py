"""Guards for tests that need the real parts: PostgreSQL, Redis and a Celery worker (the CI PostgreSQL stage).

They run when ``RUN_WORKER_TESTS=1`` (set by .ci/run's second stage). Elsewhere they are skipped with the reason;
under CI a stage that asked for them but lacks a part fails instead of skipping.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        _missing("needs PostgreSQL (set DATABASE_URL=postgres://...)")


def require_worker_stack() -> None:
    if os.environ.get("RUN_WORKER_TESTS") != "1":
        pytest.skip("worker tests run in the PostgreSQL + Redis stage (RUN_WORKER_TESTS=1, see .ci/run)")
    require_postgres()
    if not settings.CELERY_BROKER_URL:
        _missing("needs CELERY_BROKER_URL (Redis)")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true" and os.environ.get("RUN_WORKER_TESTS") == "1":
        pytest.fail(f"The PostgreSQL stage {reason}")
    pytest.skip(reason)
