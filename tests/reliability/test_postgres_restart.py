"""PostgreSQL restarted under load: the clients get errors, never a half-written form, and save again afterwards.

Where the load runs: the test's own PostgreSQL cluster (``private_postgres``), never the machine's, which other
tests use in parallel. It starts as a copy (``pg_dump``) of pytest's test database holding three patients with a
follow-up tumour assessment each. Then three threads, one per patient, edit their assessment again and again
through ``lesions.services.tumour_assessment_save`` (the form, its lesion rows and their history in one
transaction), each thread's Django connection pointed at the private cluster (``thread_database``: connections
are per thread, so the services run unchanged). Every iteration is bracketed like a web request by
``close_old_connections``, which is how Django drops a broken connection and opens a fresh one. Midway the cluster
is restarted in ``immediate`` mode: every session is cut and the server recovers from its write-ahead log, as after
a crash.

Each save carries a token (its reason for change) and a target diameter unique to it, so the history shows which
save wrote what. Afterwards: every assessment's history has one row per version, 1 to the current one; each
version's form row and lesion row were written together (same token, the diameter that save sent); every save a
client was told succeeded is there; and the audit chain seals and verifies. The recompute on commit is paused in
the threads: it is its own transaction (the worker and Redis tests cover it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from lesions.models import (
    AssessmentRows,
    NonTargetObservation,
    NonTargetRow,
    TargetMeasurement,
    TargetRow,
    TumourAssessment,
)
from lesions.services import tumour_assessment_save
from patients.events import paused
from trials.audit_chain import audit_chain_seal_pending, audit_chain_verify
from trials.models import User

from ..conftest import Cast
from ..scenarios import Scenario
from .conftest import PrivatePostgres, RowLock, other_backends, thread_database, wait_for

pytestmark = pytest.mark.worker
T = TypeVar("T")


class Editor(threading.Thread):
    """One coordinator editing one assessment in a loop until ``stop``; records what the client saw."""

    def __init__(self, database: dict[str, Any], assessment_id: int, user_id: int, label: str, stop: Any) -> None:
        super().__init__(daemon=True, name=label)
        self.database, self.assessment_id, self.user_id, self.label, self.stop = (
            database,
            assessment_id,
            user_id,
            label,
            stop,
        )
        self.sent: dict[str, int] = {}  # token -> diameter (tenths of mm), every attempt
        self.saved: list[tuple[str, int, float]] = []  # token, version, when: what the client was told
        self.errors: list[tuple[float, str]] = []
        self.unexpected: list[str] = []

    def run(self) -> None:
        with thread_database(self.database), paused():
            attempt = 0
            while not self.stop.is_set():
                attempt += 1
                token, diameter = f"load {self.label} {attempt}", 200 + attempt
                self.sent[token] = diameter
                close_old_connections()  # as a request starts: a broken connection is dropped here
                try:
                    version = self._save(token, diameter)
                except (OperationalError, InterfaceError) as error:
                    self.errors.append((time.monotonic(), f"{type(error).__name__}: {error}".strip()))
                    time.sleep(0.02)
                except Exception as error:  # noqa: BLE001 — anything else fails the test, below
                    self.unexpected.append(f"{type(error).__name__}: {error}")
                    return
                else:
                    self.saved.append((token, version, time.monotonic()))
                finally:
                    close_old_connections()  # as a request finishes

    def _save(self, token: str, diameter: int) -> int:
        assessment = TumourAssessment.objects.select_related("patient__trial", "visit__definition").get(
            pk=self.assessment_id
        )
        target = TargetMeasurement.objects.select_related("lesion").get(assessment=assessment)
        non_target = NonTargetObservation.objects.select_related("lesion").get(assessment=assessment)
        saved = tumour_assessment_save(
            user=User.objects.get(pk=self.user_id),
            patient=assessment.patient,
            visit=assessment.visit,
            instance=assessment,
            expected_version=assessment.version,
            values={"modality": "ct", "investigator_response": "SD"},
            rows=AssessmentRows(
                targets=(TargetRow(target.lesion, "MEASURED", diameter, target.scan_date),),
                non_targets=(NonTargetRow(non_target.lesion, "PRESENT", non_target.scan_date),),
            ),
            complete=True,
            reason=token,
        )
        return saved.version


def on_database(database: dict[str, Any], work: Callable[[], T]) -> T:
    """Run ``work`` in a thread whose connection is on ``database``; return its result or raise its error."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        with thread_database(database):
            try:
                outcome["result"] = work()
            except BaseException as error:  # noqa: BLE001 — raised again in the caller
                outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]  # type: ignore[no-any-return]


def _history(editor: Editor) -> dict[str, Any]:
    """What the database holds for the editor's assessment: its version, its history and its lesion row's."""
    assessment = TumourAssessment.objects.get(pk=editor.assessment_id)
    target = TargetMeasurement.objects.get(assessment=assessment)
    return {
        "version": assessment.version,
        "diameter": target.diameter_tenths,
        "form": list(assessment.history.order_by("history_id").values_list("version", "history_change_reason")),
        "rows": list(target.history.order_by("history_id").values_list("diameter_tenths", "history_change_reason")),
    }


def _sealed_and_verified() -> Any:
    audit_chain_seal_pending()  # what the beat sweep does for rows whose seal after commit was cut off
    return audit_chain_verify()


def test_a_database_restart_under_load_gives_errors_not_half_written_forms(
    private_postgres: PrivatePostgres, cast: Cast
) -> None:
    assessments = []
    for n in range(3):
        scenario = Scenario(cast, origin=date(2025, 2, 3) + timedelta(days=n))
        scenario.baseline()
        assessments.append(scenario.assessment(84, 39, investigator="SD").pk)
    database = private_postgres.copy_of(connection.settings_dict, "reliability_load")
    stop = threading.Event()
    editors = [Editor(database, pk, scenario.user.pk, f"editor-{n}", stop) for n, pk in enumerate(assessments)]
    for editor in editors:
        editor.start()
    try:
        wait_for(lambda: all(len(e.saved) >= 2 or e.unexpected for e in editors), what="saves before the restart")
        # The first editor's next save stops on its lesion row, its form row and history already written: the
        # crash lands in the middle of that transaction.
        target = on_database(database, lambda: TargetMeasurement.objects.get(assessment_id=assessments[0]).pk)
        lock = RowLock(TargetMeasurement, target, database)
        lock.take()
        on_database(database, lambda: wait_for(lambda: other_backends(waiting_on_a_lock=True), what="a save to wait"))
        interrupted = list(editors[0].sent)[-1]
        private_postgres.restart("immediate")
        restarted = time.monotonic()
        lock.release()
        wait_for(
            lambda: all(sum(when > restarted for *_, when in e.saved) >= 3 or e.unexpected for e in editors),
            what="saves after the restart",
        )
    finally:
        stop.set()
        for editor in editors:
            editor.join(timeout=60)

    assert [e.unexpected for e in editors] == [[], [], []], "an error other than a lost connection"
    assert all(e.errors for e in editors), "every client lost its connection and was told so"
    assert interrupted not in {token for token, *_ in editors[0].saved}
    for editor in editors:
        stored = on_database(database, lambda editor=editor: _history(editor))  # type: ignore[misc]
        versions = [version for version, _ in stored["form"]]
        assert versions == list(range(1, stored["version"] + 1)), "one history row per version, none missing"
        form_tokens = [reason for _, reason in stored["form"] if reason.startswith("load ")]
        row_tokens = [reason for _, reason in stored["rows"] if reason.startswith("load ")]
        assert form_tokens == row_tokens, "a form version without its lesion row, or the reverse"
        assert all(diameter == editor.sent[reason] for diameter, reason in stored["rows"] if reason in editor.sent)
        assert stored["diameter"] == editor.sent[form_tokens[-1]], "the lesion row is not the last version's"
        committed = dict(zip(form_tokens, versions[-len(form_tokens) :], strict=True))
        assert all(committed.get(token) == version for token, version, _ in editor.saved), "a confirmed save lost"
        if editor is editors[0]:
            assert interrupted not in committed, "the save cut off by the crash left a version behind"
    report = on_database(database, _sealed_and_verified)
    assert (report.ok, report.pending) == (True, 0), report.problems[:5]
