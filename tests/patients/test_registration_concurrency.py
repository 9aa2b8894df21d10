"""Subject numbering under concurrent registrations at one site: row locks on PostgreSQL, no gaps, no clashes."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from django.db import connection

from patients import services
from patients.models import Patient

from ..conftest import Cast
from ..real_services import require_postgres

pytestmark = pytest.mark.postgres


def test_twelve_simultaneous_registrations_get_twelve_consecutive_numbers(
    transactional_db: None, cast: Cast, coordinator: Any
) -> None:
    require_postgres()
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def register(n: int) -> None:
        try:
            barrier.wait()
            services.patient_register(
                user=coordinator,
                trial=cast.cosmo,
                site=cast.site_a,
                screening_number=f"C-{n}",
                age_at_consent=50,
                sex="F",
                consent_date=date(2025, 1, 6),
            )
        except BaseException as error:  # noqa: BLE001 — collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Patient.objects.filter(trial=cast.cosmo, site=cast.site_a).values_list("sequence", flat=True))
    assert numbers == list(range(1, 13))
