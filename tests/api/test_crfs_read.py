"""Every CRF is reachable in the API from its model alone: list, read, filters and scope, and named in the schema."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.crf import crf_models
from patients.models import AdverseEvent, CtcaeTerm, Demographics, FactB
from trials.models import Role

from .conftest import Api, Casebooks, bare_record

#: The lesion forms have resources of their own (tests/api/test_lesions.py).
DEDICATED = {"lesion": "lesion", "tumour-assessment": "tumour-assessment", "local-treatment": "local-treatment"}
CODES = [model.crf.code for model in crf_models()]


def _names(code: str) -> tuple[str, str]:
    base = DEDICATED.get(code, f"crf-{code}")
    return f"api:{base}-list", f"api:{base}-detail"


def _model(code: str) -> type[Any]:
    return next(model for model in crf_models() if model.crf.code == code)


@pytest.mark.parametrize("code", CODES)
def test_every_crf_lists_and_reads_its_records_within_the_sites(api: Api, casebooks: Casebooks, code: str) -> None:
    cast = casebooks.cast
    model = _model(code)
    own = casebooks.demographics_a if model is Demographics else bare_record(model, cast.patient_a)
    other = casebooks.demographics_b if model is Demographics else bare_record(model, cast.patient_b)
    list_name, detail_name = _names(code)
    api.as_(cast.user(Role.SITE_COORDINATOR))
    assert [row["id"] for row in api.all_rows(reverse(list_name))] == [own.pk]
    body = api.get(reverse(detail_name, kwargs={"pk": own.pk})).json()
    assert (body["id"], body["patient"], body["trial"], body["site"]) == (
        own.pk,
        cast.patient_a.subject_id,
        "avatar2",
        "NL01",
    )
    assert (body["status"], body["version"]) == ("draft", own.version)
    assert {"created_at", "updated_at", "completed_at"} <= set(body)
    assert api.get(reverse(detail_name, kwargs={"pk": other.pk})).status_code == 404
    api.as_(cast.user(Role.DATA_MANAGER))
    assert {row["id"] for row in api.all_rows(reverse(list_name))} == {own.pk, other.pk}


def test_crf_lists_filter_by_trial_site_patient_visit_status_and_date(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    url = reverse("api:crf-adverse-event-list")
    early = bare_record(AdverseEvent, cast.patient_a, onset_date=date(2025, 4, 1), status="complete")
    late = bare_record(AdverseEvent, cast.patient_b, onset_date=date(2025, 7, 1))
    api.as_(cast.user(Role.STATISTICIAN))

    def ids(**params: str) -> list[int]:
        return [row["id"] for row in api.all_rows(url, **params)]

    assert ids(site="BE01") == [late.pk]
    assert ids(patient=cast.patient_a.subject_id) == [early.pk]
    assert ids(trial="cosmo") == []
    assert ids(status="complete") == [early.pk]
    assert ids(onset_date_after="2025-05-01") == [late.pk]
    assert ids(onset_date_before="2025-05-01") == [early.pk]
    demographics = reverse("api:crf-demographics-list")
    assert [row["id"] for row in api.all_rows(demographics, visit_code="screening", site="NL01")] == [
        casebooks.demographics_a.pk
    ]
    assert api.all_rows(demographics, visit_code="follow-up") == []
    assert api.get(url, onset_date_after="1 April").status_code == 400


def test_an_adverse_event_shows_its_ctcae_term_by_name(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    term = CtcaeTerm.objects.create(soc="Blood", term="Anemia", grade_1="mild", grade_2="moderate")
    event = bare_record(AdverseEvent, cast.patient_a, term=term, grade=2)
    body = api.as_(cast.user(Role.MONITOR)).get(reverse("api:crf-adverse-event-detail", kwargs={"pk": event.pk}))
    assert (body.json()["term"], body.json()["grade"]) == ("Anemia", 2)


def test_modified_since_pulls_only_records_changed_since(api: Api, casebooks: Casebooks) -> None:
    cast = casebooks.cast
    since = timezone.now()
    Demographics.objects.update(updated_at=since - timedelta(hours=1))
    record = Demographics.objects.get(pk=casebooks.demographics_b.pk)
    record.ecog = 2
    record._change_reason = "Corrected"  # type: ignore[attr-defined]
    record.save()
    url = reverse("api:crf-demographics-list")
    rows = api.as_(cast.user(Role.DATA_MANAGER)).all_rows(url, modified_since=since.isoformat())
    assert [(row["id"], row["ecog"]) for row in rows] == [(record.pk, 2)]
    assert len(api.all_rows(url, modified_since=(since - timedelta(days=1)).isoformat())) == 2
    assert api.get(url, modified_since="yesterday").status_code == 400


def test_quality_of_life_and_adverse_events_are_named_in_the_schema(api: Api, casebooks: Casebooks) -> None:
    schema = api.as_(casebooks.cast.user(Role.DATA_MANAGER)).get(reverse("api:schema"), format="json").json()
    tags = {tag for path in schema["paths"].values() for operation in path.values() for tag in operation["tags"]}
    assert f"CRF 12: {AdverseEvent.crf.name}" in tags
    assert f"CRF 14: {FactB.crf.name}" in tags
    for code in CODES:  # every form has its paths
        list_name, detail_name = _names(code)
        assert reverse(list_name) in schema["paths"]
        assert reverse(detail_name, kwargs={"pk": 1}).replace("/1/", "/{id}/") in schema["paths"]
