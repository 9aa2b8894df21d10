"""Redis stopped: CRF saves through the web form still succeed, and the nightly sweep repairs the recomputes the
outage lost.

The test's own redis-server (a free port, never the machine's Redis) is both the Celery broker and the cache that
deduplicates recomputes, as in production (docker-compose.yml: one Redis, databases 0 and 1). It has no
persistence, so stopping it also loses the recompute published just before: both kinds of miss are the sweep's.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from lesions.models import TumourAssessment
from outcomes import tasks
from outcomes.models import EndpointValue, PatientDerivation
from outcomes.services import derivation_is_current
from patients.models import Patient

from ..conftest import Cast
from ..forms import submit
from ..scenarios import Scenario
from .conftest import PrivateRedis, assert_endpoints_are_a_fresh_recompute, point_celery_at, use_redis_cache

pytestmark = pytest.mark.worker


def _follow_up(client: Any, scenario: Scenario, *, day: int, occurrence: int, response: str, mm: str) -> Any:
    on = scenario.origin + timedelta(days=day)
    visit = scenario._visit("follow-up", occurrence, on)
    url = reverse("patients:crf_new", kwargs={"subject_id": scenario.patient.subject_id, "code": "tumour-assessment"})
    return submit(
        client,
        f"{url}?visit={visit.pk}",
        {
            "modality": "ct",
            "investigator_response": response,
            "default_scan_date": on.isoformat(),
            "*diameter_tenths": mm,
            "*-status": "",
            "targets-0-status": "MEASURED",
            "non_targets-0-status": "PRESENT",
        },
    )


def _is_current(patient_id: int) -> bool:
    patient = Patient.objects.get(pk=patient_id)
    return derivation_is_current(patient=patient, derivation=PatientDerivation.objects.filter(patient=patient).first())


def test_saves_succeed_while_redis_is_down_and_the_nightly_sweep_repairs_what_was_missed(
    private_redis: PrivateRedis,  # first: it skips outside the Redis stage before anything is built
    transactional_db: None,
    cast: Cast,
    client: Any,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scenario = Scenario(cast)  # computed in-process (eager) before Redis is in the picture
    scenario.baseline()
    scenario.assessment(84, 39, investigator="SD")
    patient_id = scenario.patient.pk
    assert _is_current(patient_id)
    client.force_login(scenario.user)

    use_redis_cache(settings, private_redis.url(1))
    point_celery_at(private_redis.url(0), eager=False)
    try:
        stable = _follow_up(client, scenario, day=168, occurrence=2, response="SD", mm="38")
        assert stable.status_code == 302
        assert private_redis.queue_length(0) == 1  # the recompute was published: Redis was really the broker

        private_redis.stop()
        with caplog.at_level(logging.WARNING, logger="outcomes.tasks"):
            progression = _follow_up(client, scenario, day=252, occurrence=3, response="PD", mm="60")
            assert progression.status_code == 302, progression.content.decode()[:2000]
            edit_url = stable.url
            corrected = submit(client, edit_url, {"reason": "Re-measured on the workstation", "*diameter_tenths": "37"})
            assert corrected.status_code == 302, corrected.content.decode()[:2000]
    finally:
        point_celery_at(None, eager=True)

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == "outcomes.tasks"]
    assert warnings and all("the nightly sweep will repair it" in message for message in warnings)
    saved = TumourAssessment.objects.filter(patient_id=patient_id).order_by("assessment_date")
    assert [(a.investigator_response, a.version) for a in saved] == [("", 1), ("SD", 1), ("SD", 2), ("PD", 1)]
    assert not _is_current(patient_id)  # the three saves since the eager recompute reached no worker
    assert not EndpointValue.objects.get(patient_id=patient_id, paramcd="PFS").event

    result = tasks.nightly_consistency_sweep()

    assert result["repaired"] >= 1
    assert _is_current(patient_id)
    assert_endpoints_are_a_fresh_recompute(Patient.objects.values_list("pk", flat=True))
    pfs = EndpointValue.objects.get(patient_id=patient_id, paramcd="PFS")
    assert (pfs.event, pfs.end_date) == (True, scenario.origin + timedelta(days=252))
