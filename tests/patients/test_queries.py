"""Queries: a monitor raises, the site answers (correcting data with a reason), the monitor closes or re-opens."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse

from patients import services
from patients.edit_checks import Finding, Severity
from patients.models import Demographics, Query
from trials.models import Role

from ..conftest import Cast


@pytest.fixture
def record(cast: Cast, coordinator: Any) -> Demographics:
    definition = cast.avatar2.visit_definitions.get(code="screening")
    visit = services.visit_record(
        user=coordinator,
        patient=cast.patient_a,
        definition=definition,
        occurrence=1,
        status="done",
        visit_date=date(2025, 3, 10),
    )
    return services.crf_save(  # type: ignore[return-value]
        user=coordinator,
        model=Demographics,
        patient=cast.patient_a,
        visit=visit,
        complete=True,
        values={
            "ecog": 1,
            "menopausal_status": "post",
            "primary_diagnosis_date": "2019",
            "metastatic_diagnosis_date": "2023",
        },
    )


def test_the_query_lifecycle(cast: Cast, coordinator: Any, record: Demographics) -> None:
    monitor = cast.user(Role.MONITOR)
    query = services.query_raise(user=monitor, record=record, field_name="ecog", text="Source says ECOG 2?")
    assert query.status == "open"
    services.query_answer(user=coordinator, query=query, text="Corrected to 2")
    assert Query.objects.get().status == "answered"
    services.query_reopen(user=monitor, query=query, text="Please also check the date")
    services.query_answer(user=coordinator, query=query, text="Checked")
    services.query_close(user=monitor, query=query)
    query.refresh_from_db()
    assert query.status == "closed" and query.closed_at is not None
    assert [m.kind for m in query.messages.all()] == ["raised", "answered", "reopened", "answered", "closed"]
    with pytest.raises(ValidationError, match="closed"):
        services.query_answer(user=coordinator, query=query, text="late")


def test_only_monitors_and_data_managers_raise_and_only_the_site_answers(
    cast: Cast, coordinator: Any, record: Demographics
) -> None:
    with pytest.raises(Http404):
        services.query_raise(user=coordinator, record=record, text="?")
    query = services.query_raise(user=cast.user(Role.DATA_MANAGER), record=record, text="?")
    with pytest.raises(Http404):
        services.query_answer(user=cast.user(Role.MONITOR), query=query, text="!")


def test_a_query_needs_text_and_a_real_field(cast: Cast, record: Demographics) -> None:
    monitor = cast.user(Role.MONITOR)
    with pytest.raises(ValidationError, match="Write the question"):
        services.query_raise(user=monitor, record=record, text="  ")
    with pytest.raises(ValidationError, match="Not a field"):
        services.query_raise(user=monitor, record=record, text="?", field_name="password")


def test_automatic_queries_open_on_a_failing_warning_and_close_when_it_passes(cast: Cast, record: Demographics) -> None:
    warning = Finding("ecog", "ECOG 3–4 is unusual at screening: please confirm.", "ecog_high", Severity.WARNING)
    services.queries_sync_automatic(record=record, findings=[warning])
    services.queries_sync_automatic(record=record, findings=[warning])  # idempotent
    query = Query.objects.get()
    assert (query.check_code, query.field_name, query.status, query.raised_by) == (
        "check:ecog_high",
        "ecog",
        "open",
        None,
    )
    services.queries_sync_automatic(record=record, findings=[])
    assert Query.objects.get().status == "closed"


def test_the_site_sees_the_query_on_the_casebook_and_the_form(
    client: Any, cast: Cast, coordinator: Any, record: Demographics
) -> None:
    query = services.query_raise(user=cast.user(Role.MONITOR), record=record, field_name="ecog", text="Check ECOG")
    client.force_login(coordinator)
    casebook = client.get(reverse("patients:detail", kwargs={"subject_id": cast.patient_a.subject_id})).context[
        "casebook"
    ]
    assert casebook.open_queries == [query]
    row = next(r for r in casebook.rows if r.definition.code == "screening")
    assert row.cells[casebook.columns.index(Demographics)].status == "queried"
    form = client.get(
        reverse(
            "patients:crf_edit",
            kwargs={"subject_id": cast.patient_a.subject_id, "code": "demographics", "pk": record.pk},
        )
    )
    assert "Check ECOG" in form.content.decode()
    assert form.context["queried_fields"] == {"ecog"}


def test_the_query_list_is_scoped_and_shows_open_ones(client: Any, cast: Cast, record: Demographics) -> None:
    services.query_raise(user=cast.user(Role.MONITOR), record=record, text="?")
    client.force_login(cast.user(Role.SITE_COORDINATOR))
    assert [q.patient for q in client.get(reverse("patients:query_list")).context["page"]] == [cast.patient_a]


def test_answering_through_the_screen(client: Any, cast: Cast, coordinator: Any, record: Demographics) -> None:
    query = services.query_raise(user=cast.user(Role.MONITOR), record=record, text="?")
    client.force_login(coordinator)
    url = reverse("patients:query_detail", kwargs={"pk": query.pk})
    assert client.post(url, {"action": "close", "text": "x"}).status_code == 404  # the site cannot close
    assert client.post(url, {"action": "answer", "text": "Source verified"}).status_code == 302
    assert Query.objects.get().status == "answered"
