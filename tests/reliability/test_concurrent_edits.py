"""Two users editing one form: the first save wins, the second user gets one clear conflict, nothing is lost.

Already covered elsewhere, not repeated here: the service refusing a stale ``expected_version``
(tests/patients/test_crf_framework.py), the patient edit screen's conflict (tests/patients/test_views_patient_update.py)
and the API's 409 (tests/api/test_crfs_write.py, tests/api/test_lesions.py). What this adds: the CRF edit screen with
its lesion rows, seen by two people at once, including what the second one gets back; and the race itself on
PostgreSQL, two saves of the same version in flight at the same moment.

The screen test needs nothing but Django and runs in both CI stages; the race needs PostgreSQL's row locks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import lxml.html
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from lesions.models import TargetMeasurement, TumourAssessment
from patients import services
from patients.models import Demographics
from patients.services import EditConflict
from trials.models import Role

from ..conftest import Cast
from ..forms import form_values
from ..real_services import require_postgres
from ..scenarios import Scenario, visit_done
from .conftest import other_backends

CONFLICT = "changed by someone else while you were editing"


def _edit_url(assessment: TumourAssessment) -> str:
    kwargs = {"subject_id": assessment.patient.subject_id, "code": "tumour-assessment", "pk": assessment.pk}
    return reverse("patients:crf_edit", kwargs=kwargs)


def _opened(client: Any, url: str, **changes: str) -> dict[str, Any]:
    """The edit page's form as its user's browser holds it, with their changes typed in."""
    values = form_values(client.get(url).content)
    return {**values, **changes, "complete": "1"}


def test_the_second_of_two_editors_of_a_form_gets_one_conflict_and_keeps_their_input(client: Any, cast: Cast) -> None:
    scenario = Scenario(cast)
    scenario.baseline()
    assessment = scenario.assessment(84, 39, investigator="SD")
    url = _edit_url(assessment)
    coordinator, investigator = scenario.user, cast.user(Role.INVESTIGATOR)  # both of site A
    client.force_login(coordinator)
    other = Client()
    other.force_login(investigator)
    first = _opened(client, url, **{"targets-0-diameter_tenths": "41.0", "reason": "Re-measured on the workstation"})
    second = _opened(
        other,
        url,
        **{"investigator_response": "PD", "targets-0-diameter_tenths": "52.5", "reason": "Second read: progression"},
    )

    assert client.post(url, first).status_code == 302
    refused = other.post(url, second)

    assert refused.status_code == 200
    form = refused.context["form"]
    assert len(form.errors) == 1 and len(form.non_field_errors()) == 1 and CONFLICT in form.non_field_errors()[0]
    assert not any(any(formset.errors) or formset.non_form_errors() for formset in refused.context["formsets"])
    assert refused.content.decode().count(CONFLICT) == 1
    page = lxml.html.fromstring(refused.content)  # announced to screen readers, as every error box of the site is
    assert sum(CONFLICT in box.text_content() for box in page.xpath('//div[@role="alert"]')) == 1
    shown = form_values(refused.content)  # what the investigator typed is on the page, not discarded
    assert (shown["investigator_response"], shown["targets-0-diameter_tenths"], shown["reason"].strip()) == (
        "PD",
        "52.5",
        "Second read: progression",
    )
    stored = TumourAssessment.objects.get(pk=assessment.pk)
    target = TargetMeasurement.objects.get(assessment=assessment)
    assert (stored.investigator_response, target.diameter_tenths, stored.version) == ("SD", 410, assessment.version + 1)
    latest = stored.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (coordinator, "Re-measured on the workstation")
    assert (target.history.latest().diameter_tenths, target.history.latest().history_user) == (410, coordinator)
    reasons = {*stored.history.values_list("history_change_reason", flat=True)}
    assert "Second read: progression" not in reasons | {*target.history.values_list("history_change_reason", flat=True)}

    # Reloaded, the page shows the first change; the second one, made again on top of it, saves.
    again = _opened(other, url, **{"investigator_response": "PD", "reason": "Second read: progression"})
    assert again["targets-0-diameter_tenths"] == "41.0"
    assert other.post(url, again).status_code == 302
    stored.refresh_from_db()
    assert (stored.investigator_response, stored.version) == ("PD", assessment.version + 2)
    assert [h.history_user for h in stored.history.order_by("-history_id")[:2]] == [investigator, coordinator]


def _demographics(cast: Cast, coordinator: Any) -> Demographics:
    visit = visit_done(coordinator, cast.patient_a, "screening", date(2025, 3, 10))
    record: Demographics = services.crf_save(  # type: ignore[assignment]
        user=coordinator,
        model=Demographics,
        patient=cast.patient_a,
        visit=visit,
        values={"ecog": 1, "menopausal_status": "post", "primary_diagnosis_date": "2019-04"},
        complete=False,
    )
    return record


def _holding_until_the_other_waits(record: Any) -> None:
    """The winner's transaction stays open (version claimed, record saved) until the other save is blocked on the
    row: the two are in flight together, whatever the scheduler does. Without a row lock there is no wait, and
    after a few seconds both go on (and the test fails on two successes)."""
    deadline = time.monotonic() + 5
    while not other_backends(waiting_on_a_lock=True) and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.postgres
def test_two_saves_of_the_same_version_at_the_same_moment_give_one_success_and_one_conflict(
    transactional_db: None, cast: Cast, coordinator: Any
) -> None:
    require_postgres()
    record = _demographics(cast, coordinator)
    opened = record.version
    investigator = cast.user(Role.INVESTIGATOR)
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def save(user: Any, ecog: int) -> Callable[[], None]:
        def run() -> None:
            try:
                stale = Demographics.objects.get(pk=record.pk)  # both opened the form at ``opened``
                barrier.wait(timeout=30)
                services.crf_save(
                    user=user,
                    model=Demographics,
                    patient=cast.patient_a,
                    instance=stale,
                    values={"ecog": ecog},
                    complete=False,
                    reason=f"ECOG {ecog} per {user.username}",
                    expected_version=opened,
                    save_children=_holding_until_the_other_waits,
                )
                outcomes[user.username] = "saved"
            except EditConflict as conflict:
                outcomes[user.username] = conflict
            except Exception as error:  # noqa: BLE001 — reported by the assertion below
                outcomes[user.username] = repr(error)
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=save(coordinator, 2)), threading.Thread(target=save(investigator, 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == sorted([coordinator.username, investigator.username])
    winners = [name for name, outcome in outcomes.items() if outcome == "saved"]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, EditConflict)]
    assert (len(winners), len(losers)) == (1, 1), outcomes
    assert CONFLICT in losers[0].messages[0]
    winner = coordinator if winners[0] == coordinator.username else investigator
    stored = Demographics.objects.get(pk=record.pk)
    assert (stored.ecog, stored.version) == ({coordinator: 2, investigator: 3}[winner], opened + 1)
    new_rows = list(stored.history.filter(version__gt=opened))
    assert [(row.history_user, row.history_change_reason) for row in new_rows] == [
        (winner, f"ECOG {stored.ecog} per {winner.username}")
    ]
