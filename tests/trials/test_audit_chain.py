"""The tamper-evident audit trail: every history row sealed into a hash chain, and the checks that find tampering.

The tampering tests change the database directly with SQL, as someone with database access would; on PostgreSQL
they first switch the append-only triggers off for their session (``session_replication_role = replica``, which
needs the database owner's rights), because the triggers would otherwise refuse the change outright.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from patients import services
from patients.models import Demographics, Patient, Visit
from trials.audit_chain import (
    audit_chain_adopt_unmarked,
    audit_chain_seal_pending,
    audit_chain_verify,
    history_models,
    install_audit_triggers,
    protected_tables,
    sealing,
)
from trials.domain.audit_chain import (
    GENESIS_HASH,
    BreakKind,
    Link,
    canonical_json,
    check_links,
    entry_hash,
    payload_hash,
    seal,
)
from trials.models import AuditChainEntry, AuditChainHead, AuditChainPending, AuditVerification, Site

from ..conftest import Cast
from ..real_services import require_postgres

# --- The pure part: payloads and links (no database) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (7, "7"),
        (Decimal("182.625"), '"182.625"'),
        (date(2025, 3, 10), '"2025-03-10"'),
        (datetime(2025, 3, 10, 9, 30, tzinfo=timezone.get_fixed_timezone(60)), '"2025-03-10T08:30:00.000000+00:00"'),
        ({"b": 1, "a": [1, "x"]}, '{"a":[1,"x"],"b":1}'),
        (b"\x01\xff", '"01ff"'),
    ],
)
def test_field_values_have_one_canonical_form(value: Any, expected: str) -> None:
    assert (
        canonical_json("app.historicalthing", {"f": value})
        == f'{{"fields":{{"f":{expected}}},"model":"app.historicalthing"}}'
    )


def test_the_payload_hash_changes_with_any_field_and_not_with_key_order() -> None:
    row = {"history_id": 1, "age": 58, "history_change_reason": "", "history_date": datetime(2025, 1, 1)}
    assert payload_hash("p.h", row) == payload_hash("p.h", dict(reversed(list(row.items()))))
    assert payload_hash("p.h", row) != payload_hash("p.h", {**row, "age": 57})
    assert payload_hash("p.h", row) != payload_hash("p.other", row)


def _chain(n: int) -> list[Link]:
    return seal(head_sequence=0, head_hash=GENESIS_HASH, payloads=[payload_hash("p.h", {"id": i}) for i in range(n)])


def test_an_intact_chain_has_no_problems() -> None:
    links = _chain(5)
    assert [link.sequence for link in links] == [1, 2, 3, 4, 5]
    assert links[0].previous_hash == GENESIS_HASH
    assert links[3].entry_hash == entry_hash(links[2].entry_hash, links[3].payload_hash, 4)
    assert check_links(links) == []


@pytest.mark.parametrize(
    ("tamper", "kind", "sequence"),
    [
        (lambda links: [*links[:2], *links[3:]], BreakKind.ENTRIES_MISSING, 4),
        (
            lambda links: [*links[:2], Link(3, links[2].previous_hash, "f" * 64, links[2].entry_hash), *links[3:]],
            BreakKind.ENTRY_ALTERED,
            3,
        ),
    ],
    ids=["removed", "altered"],
)
def test_a_tampered_chain_is_reported_once_at_the_tampered_entry(tamper: Any, kind: BreakKind, sequence: int) -> None:
    problems = check_links(tamper(_chain(5)))
    assert [(p.kind, p.sequence) for p in problems] == [(kind, sequence)]


def test_an_entry_relinked_with_a_recomputed_hash_breaks_both_its_links() -> None:
    links = _chain(5)
    forged = Link(4, "e" * 64, links[3].payload_hash, entry_hash("e" * 64, links[3].payload_hash, 4))
    problems = check_links([*links[:3], forged, *links[4:]])
    assert [(p.kind, p.sequence) for p in problems] == [(BreakKind.LINK_BROKEN, 4), (BreakKind.LINK_BROKEN, 5)]


# --- The database part -----------------------------------------------------------------------------------------------


@contextmanager
def _as_database_owner() -> Iterator[Any]:
    """A cursor that can change audit rows: on PostgreSQL the triggers are switched off for this session only."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")


def _edit_patient(cast: Cast, user: Any, age: int, reason: str) -> Patient:
    patient = Patient.objects.get(pk=cast.patient_a.pk)
    return services.patient_update(
        user=user, patient=patient, expected_version=patient.version, reason=reason, age_at_consent=age
    )


def _sealed(cast: Cast, coordinator: Any) -> Any:
    """Some clinical history (a patient edited twice), everything sealed; returns the newest patient history row."""
    _edit_patient(cast, coordinator, 57, "Age checked against the consent form")
    _edit_patient(cast, coordinator, 56, "Second check")
    audit_chain_seal_pending()
    return Patient.history.filter(id=cast.patient_a.pk).latest()


def _kinds(report: Any) -> set[tuple[str, str, int | None]]:
    return {(p.kind, p.history_model, p.history_id) for p in report.problems}


def test_the_chain_covers_the_history_tables_of_every_app() -> None:
    labels = {model._meta.label_lower for model in history_models()}
    assert {"trials.historicalsite", "patients.historicalpatient", "lesions.historicaltumourassessment"} <= labels
    assert all(label.split(".")[1].startswith("historical") for label in labels)


@pytest.mark.django_db(transaction=True)
def test_every_history_row_is_sealed_once_its_transaction_commits(cast: Cast, coordinator: Any) -> None:
    assert not AuditChainPending.objects.exists()  # the cast's own history was sealed as it committed
    with transaction.atomic():
        _edit_patient(cast, coordinator, 57, "Age checked against the consent form")
        _edit_patient(cast, coordinator, 56, "Second check")
        rows = list(Patient.history.filter(id=cast.patient_a.pk).order_by("-history_id")[:2])
        pending = AuditChainPending.objects.filter(history_model="patients.historicalpatient")
        assert {p.history_id for p in pending} == {row.history_id for row in rows}
        assert not AuditChainEntry.objects.filter(
            history_id__in=[row.history_id for row in rows], history_model="patients.historicalpatient"
        )
        # One seal after the commit, however many history rows the transaction wrote.
        assert [f for _, f, _ in connection.run_on_commit if f is sealing._seal_after_commit] == [
            sealing._seal_after_commit
        ]
    assert not AuditChainPending.objects.exists()
    entries = AuditChainEntry.objects.filter(
        history_model="patients.historicalpatient", history_id__in=[row.history_id for row in rows]
    )
    assert entries.count() == 2
    assert audit_chain_verify().ok


def test_the_chain_numbers_entries_without_gaps_and_links_each_to_the_one_before(cast: Cast, coordinator: Any) -> None:
    _sealed(cast, coordinator)
    audit_chain_seal_pending()  # nothing left: no new entries
    entries = list(AuditChainEntry.objects.order_by("sequence"))
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].previous_hash == GENESIS_HASH
    assert all(b.previous_hash == a.entry_hash for a, b in pairwise(entries))
    head = AuditChainHead.objects.get()
    assert (head.sequence, head.entry_hash) == (entries[-1].sequence, entries[-1].entry_hash)
    report = audit_chain_verify()
    assert report.ok and report.problems == () and report.entries_checked == len(entries)
    assert report.rows_checked >= len(entries)


def test_verification_finds_a_history_row_altered_directly_in_the_database(cast: Cast, coordinator: Any) -> None:
    row = _sealed(cast, coordinator)
    table = Patient.history.model._meta.db_table
    with _as_database_owner() as cursor:
        cursor.execute(
            f"UPDATE {table} SET history_change_reason = %s, age_at_consent = 60 WHERE history_id = %s",
            ["Forged reason", row.history_id],
        )
    report = audit_chain_verify()
    assert not report.ok
    assert _kinds(report) == {(BreakKind.ROW_ALTERED, "patients.historicalpatient", row.history_id)}


def test_the_command_exits_with_an_error_and_names_the_altered_row(cast: Cast, coordinator: Any) -> None:
    row = _sealed(cast, coordinator)
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "OK: the audit trail is intact" in out.getvalue()
    with _as_database_owner() as cursor:
        cursor.execute(
            f"UPDATE {Patient.history.model._meta.db_table} SET history_user_id = NULL WHERE history_id = %s",
            [row.history_id],
        )
    out = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("audit_verify", stdout=out)
    assert error.value.returncode == 1
    assert f"ROW_ALTERED: patients.historicalpatient history_id={row.history_id}" in out.getvalue()
    assert AuditVerification.objects.first().break_count == 1  # the report is kept for the integrity screen


def test_verification_finds_a_deleted_history_row(cast: Cast, coordinator: Any) -> None:
    row = _sealed(cast, coordinator)
    with _as_database_owner() as cursor:
        cursor.execute(
            f"DELETE FROM {Patient.history.model._meta.db_table} WHERE history_id = %s",
            [row.history_id],
        )
    assert _kinds(audit_chain_verify()) == {(BreakKind.ROW_DELETED, "patients.historicalpatient", row.history_id)}


def test_verification_finds_a_history_row_written_around_the_application(cast: Cast, coordinator: Any) -> None:
    row = _sealed(cast, coordinator)
    history = Patient.history.model
    forged = history.objects.get(history_id=row.history_id)
    forged.history_id, forged.history_change_reason = None, "Inserted later"
    history.objects.bulk_create([forged])  # no simple-history signal: no pending marker, no seal
    forged_id = history.objects.get(history_change_reason="Inserted later").history_id
    assert _kinds(audit_chain_verify()) == {(BreakKind.NOT_IN_CHAIN, "patients.historicalpatient", forged_id)}


def test_verification_finds_an_altered_chain_entry_and_a_cut_off_tail(cast: Cast, coordinator: Any) -> None:
    _sealed(cast, coordinator)
    first, last = AuditChainEntry.objects.order_by("sequence")[0], AuditChainEntry.objects.order_by("-sequence")[0]
    table = AuditChainEntry._meta.db_table
    with _as_database_owner() as cursor:
        cursor.execute(f"UPDATE {table} SET history_date = %s WHERE id = %s", [timezone.now(), first.pk])
        assert audit_chain_verify().ok  # the date is in the payload, not the link: the row still matches
        cursor.execute(f"UPDATE {table} SET payload_hash = %s WHERE id = %s", ["0" * 64, first.pk])
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [last.pk])
    kinds = {(p.kind, p.sequence) for p in audit_chain_verify().problems}
    assert (BreakKind.ENTRY_ALTERED, first.sequence) in kinds
    assert (BreakKind.ROW_ALTERED, first.sequence) in kinds
    assert (BreakKind.HEAD_MISMATCH, last.sequence) in kinds


def test_rows_waiting_to_be_sealed_are_a_warning_only_once_overdue(cast: Cast, coordinator: Any) -> None:
    audit_chain_seal_pending()
    _edit_patient(cast, coordinator, 57, "Checked")  # pending: the test's transaction never commits
    report = audit_chain_verify()
    assert report.ok and report.pending == 1 and report.problems == ()
    report = audit_chain_verify(overdue_after=timedelta(0))
    assert report.ok and report.warning_count == 1
    assert report.problems[0].kind == BreakKind.UNSEALED_OVERDUE


def test_history_that_predates_the_chain_is_adopted_only_on_request(cast: Cast, coordinator: Any) -> None:
    audit_chain_seal_pending()
    with _as_database_owner() as cursor:  # as if the chain had never existed
        cursor.execute(f"DELETE FROM {AuditChainEntry._meta.db_table}")
    AuditChainHead.objects.all().delete()
    assert audit_chain_verify().break_count == sum(m._base_manager.count() for m in history_models())
    adopted = audit_chain_adopt_unmarked()
    assert adopted["patients.historicalpatient"] == Patient.history.count()
    assert audit_chain_verify().ok


def test_the_integrity_screen_runs_a_verification_and_lists_the_break(
    client: Any, cast: Cast, coordinator: Any
) -> None:
    row = _sealed(cast, coordinator)
    with _as_database_owner() as cursor:
        cursor.execute(
            f"UPDATE {Patient.history.model._meta.db_table} SET age_at_consent = 99 WHERE history_id = %s",
            [row.history_id],
        )
    client.force_login(cast.user("data_manager"))
    response = client.post(reverse("audit:integrity_verify"))
    assert response.status_code == 302
    page = client.get(reverse("audit:integrity"))
    html = page.content.decode()
    assert "1 break" in html and "row_altered" in html and "patients.historicalpatient" in html
    assert page.context["latest"].problems[0]["history_id"] == row.history_id
    assert page.context["latest"].requested_by == cast.user("data_manager")


def test_no_screen_changes_audit_entries(client: Any, cast: Cast) -> None:
    """The audit pages only read (GET); the one POST verifies. The admin offers no change of any audit row."""
    from django.contrib import admin

    client.force_login(cast.user("sponsor_admin"))
    for name in ("audit:integrity", "audit:export", "audit:sign_ins"):
        assert client.post(reverse(name)).status_code == 405
    audit_models = {*history_models(), AuditChainEntry}
    assert not audit_models & set(admin.site._registry)


# --- Exports ---------------------------------------------------------------------------------------------------------


def _csv(response: Any) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _demographics(cast: Cast, coordinator: Any, patient: Patient) -> Demographics:
    visit = services.visit_record(
        user=coordinator,
        patient=patient,
        definition=patient.trial.visit_definitions.get(code="screening"),
        occurrence=1,
        status="done",
        visit_date=date(2025, 3, 10),
    )
    return services.crf_save(
        user=coordinator, model=Demographics, patient=patient, visit=visit, values={"ecog": 1}, complete=False
    )


def test_a_patient_export_holds_the_patient_and_every_record_hanging_off_it(
    client: Any, cast: Cast, coordinator: Any
) -> None:
    record = _demographics(cast, coordinator, cast.patient_a)
    _edit_patient(cast, coordinator, 57, "Age checked against the consent form")
    audit_chain_seal_pending()
    client.force_login(coordinator)
    rows = _csv(client.get(reverse("audit:export_record", args=["patients.patient", cast.patient_a.pk])))
    change = [r for r in rows if r["field"] == "age_at_consent" and r["action"] == "changed"]
    assert [(r["old_value"], r["new_value"], r["reason"], r["user"]) for r in change] == [
        ("58", "57", "Age checked against the consent form", coordinator.username)
    ]
    assert change[0]["chain_sequence"] == str(
        AuditChainEntry.objects.get(
            history_model="patients.historicalpatient", history_id=change[0]["history_id"]
        ).sequence
    )
    models = {r["model"] for r in rows}
    assert {"patients.patient", "patients.visit", "patients.demographics"} <= models
    assert {r["record_id"] for r in rows if r["model"] == "patients.demographics"} == {str(record.pk)}
    assert any(r["field"] == "ecog" and r["new_value"] == "1" for r in rows)
    assert rows == sorted(rows, key=lambda r: r["history_date_utc"])


def test_a_patient_export_holds_nothing_of_another_patient(client: Any, cast: Cast, coordinator: Any) -> None:
    from ..factories import UserFactory

    _demographics(cast, coordinator, cast.patient_a)
    _demographics(
        cast, UserFactory(username="coordinator_b", role="site_coordinator", sites=[cast.site_b]), cast.patient_b
    )
    client.force_login(cast.user("sponsor_admin"))
    rows = _csv(client.get(reverse("audit:export_record", args=["patients.patient", cast.patient_a.pk])))
    visits_a = {str(pk) for pk in Visit.objects.filter(patient=cast.patient_a).values_list("pk", flat=True)}
    forms_a = {str(pk) for pk in Demographics.objects.filter(patient=cast.patient_a).values_list("pk", flat=True)}
    assert {r["record_id"] for r in rows if r["model"] == "patients.visit"} == visits_a
    assert {r["record_id"] for r in rows if r["model"] == "patients.demographics"} == forms_a
    assert {r["record_id"] for r in rows if r["model"] == "patients.patient"} == {str(cast.patient_a.pk)}


def test_a_form_export_and_the_date_range(client: Any, cast: Cast, coordinator: Any) -> None:
    record = _demographics(cast, coordinator, cast.patient_a)
    client.force_login(coordinator)
    url = reverse("audit:export_record", args=["patients.demographics", record.pk])
    rows = _csv(client.get(url))
    assert {r["model"] for r in rows} == {"patients.demographics"} and rows
    today = timezone.now().date()
    assert _csv(client.get(url, {"start": today.isoformat(), "end": today.isoformat()})) == rows
    assert _csv(client.get(url, {"end": (today - timedelta(days=1)).isoformat()})) == []
    assert _csv(client.get(url, {"start": (today + timedelta(days=1)).isoformat()})) == []


def test_exports_of_another_site_or_without_the_audit_capability_answer_404(
    client: Any, cast: Cast, coordinator: Any
) -> None:
    client.force_login(coordinator)
    assert client.get(reverse("audit:export_record", args=["patients.patient", cast.patient_b.pk])).status_code == 404
    client.force_login(cast.user("trial_manager"))
    assert client.get(reverse("audit:export_record", args=["patients.patient", cast.patient_a.pk])).status_code == 404


def test_the_trail_export_filters_by_records_and_shows_people_only_to_user_administrators(
    client: Any, cast: Cast, coordinator: Any
) -> None:
    _edit_patient(cast, coordinator, 57, "Checked")
    client.force_login(cast.user("data_manager"))
    everything = _csv(client.get(reverse("audit:export"), {"download": "1"}))
    assert "patients.patient" in {r["model"] for r in everything}
    assert "trials.user" not in {r["model"] for r in everything}
    only = _csv(client.get(reverse("audit:export"), {"download": "1", "model": "patients.patient"}))
    assert {r["model"] for r in only} == {"patients.patient"}
    refused = client.get(reverse("audit:export"), {"download": "1", "model": "trials.user"})
    assert refused.status_code == 200 and "Content-Disposition" not in refused  # the form again, no file
    assert "trials.user" not in {r["model"] for r in _csv(client.get(reverse("audit:export"), {"download": "1"}))}
    client.force_login(cast.user("sponsor_admin"))
    assert "trials.user" in {r["model"] for r in _csv(client.get(reverse("audit:export"), {"download": "1"}))}


# --- PostgreSQL: append-only tables --------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_on_history_and_chain_tables(cast: Cast, coordinator: Any) -> None:
    require_postgres()
    row = _sealed(cast, coordinator)
    history_table = Patient.history.model._meta.db_table
    for sql in (
        f"UPDATE {history_table} SET history_change_reason = 'x' WHERE history_id = %s",
        f"DELETE FROM {history_table} WHERE history_id = %s",
        f"UPDATE {AuditChainEntry._meta.db_table} SET payload_hash = 'x' WHERE history_id = %s",
        f"DELETE FROM {AuditChainEntry._meta.db_table} WHERE history_id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [row.history_id])
    assert Patient.history.filter(history_id=row.history_id).exists()
    # Inserting stays possible: the application goes on writing.
    _edit_patient(cast, coordinator, 55, "Third check")


@pytest.mark.postgres
def test_the_trigger_installer_covers_every_audit_table_and_is_idempotent(db: None) -> None:
    require_postgres()
    assert install_audit_triggers(connection) == []  # post_migrate already installed them
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = %s",
            ["edc_audit_append_only"],
        )
        guarded = {name for (name,) in cursor.fetchall()}
    assert set(protected_tables()) <= guarded
    assert "trials_signinevent" in guarded and Patient.history.model._meta.db_table in guarded


def test_the_trigger_installer_does_nothing_on_sqlite(db: None) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("checks the SQLite no-op")
    assert install_audit_triggers(connection) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(cast: Cast, coordinator: Any) -> None:
    """Eight threads write history and seal after their commits, at once: one chain, no gap, no duplicate."""
    require_postgres()
    errors: list[BaseException] = []

    def write_sites(n: int) -> None:
        try:
            for i in range(5):
                Site.objects.create(code=f"{chr(65 + n)}{chr(65 + i)}{n}{i}", name=f"Site {n}-{i}", country="NL")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write_sites, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    audit_chain_seal_pending()
    sequences = list(AuditChainEntry.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert AuditChainEntry.objects.filter(history_model="trials.historicalsite").count() >= 40
    assert audit_chain_verify().ok
