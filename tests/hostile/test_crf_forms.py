"""Hypothesis on every case report form (issue 9): arbitrary values for each field of each CRF's entry form.

For every CRF of ``crf_models()``, with the form class the entry screen uses (``crf_form_class``), each example
checks two things. The form alone: ``is_valid()`` never raises, and an invalid form names the fields at fault. The
real screen: the same body posted by the site coordinator (draft or complete) never answers 5xx; a refused save
leaves every table as it was (no half record, no orphan history row); an accepted save shows again without error.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from lesions.forms import MAX_ROWS
from patients.crf import CaseReportForm, crf_model, crf_models
from patients.forms import CrfForm, crf_form_class
from patients.models import Patient, Visit

from .conftest import Casebook
from .hostile import (
    assert_errors_keyed_by_field,
    field_strategy,
    fingerprint,
    form_data,
    hostile_settings,
    refused,
    rolled_back,
)

MANAGEMENT = ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
#: Row counts a forged management form may claim. Large ones are tested once, below: each costs a full page of rows.
COUNTS = ("0", "1", "2", "3", "-1", "", "abc", "1e3", "٣", "1.5", "\x00", "' OR 1=1 --")


def _form(
    form_class: type[CrfForm], data: Any, model: type[CaseReportForm], patient: Patient, visit: Visit | None
) -> CrfForm:
    """A fresh form on a fresh instance, as the entry screen binds it (``takes_patient`` forms get the patient)."""
    instance = model(patient=patient, site_id=patient.site_id, visit=visit)
    if getattr(form_class, "takes_patient", False):
        return form_class(data, instance=instance, patient=patient)
    return form_class(data, instance=instance)


def _formset_data(form: CrfForm) -> st.SearchStrategy[dict[str, Any]]:
    """Management forms (counts right, wrong or hostile) and two rows of every dependent-row formset."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for formset in form.child_formsets():
        prefix = formset.prefix
        for key in MANAGEMENT:
            parts[f"{prefix}-{key}"] = st.one_of(st.sampled_from(["0", "1", "2"]), st.sampled_from(COUNTS))
        for index in range(2):
            for name, field in formset.empty_form.fields.items():
                parts[f"{prefix}-{index}-{name}"] = field_strategy(field)
    return st.fixed_dictionaries({}, optional=parts)


@pytest.mark.parametrize("code", [model.crf.code for model in crf_models()])
def test_a_crf_form_refuses_hostile_input_without_error_or_half_record(
    client: Any, casebook: Casebook, code: str
) -> None:
    model = crf_model(code)
    assert model is not None
    patient = casebook.patient_for(model)
    visit = casebook.visit_for(model, patient)
    form_class = crf_form_class(model)
    blank = _form(form_class, None, model, patient, visit)
    url = reverse("patients:crf_new", kwargs={"subject_id": patient.subject_id, "code": code})
    if visit is not None:
        url += f"?visit={visit.pk}"
    client.force_login(casebook.coordinator)
    seen = {"refused": 0, "saved": 0}

    @hostile_settings
    @given(
        fields=form_data(dict(blank.fields)),
        rows=_formset_data(blank),
        complete=st.booleans(),
    )
    def check(fields: dict[str, Any], rows: dict[str, Any], complete: bool) -> None:
        data = {**fields, **rows}
        with rolled_back():
            form = _form(form_class, data, model, patient, visit)
            valid = form.is_valid()
            rows_valid = all(formset.is_valid() for formset in form.child_formsets())
            if not valid:
                assert_errors_keyed_by_field(form)
            del rows_valid  # a formset's errors are per row; is_valid() not raising is what counts here
            before = fingerprint()
            response = client.post(url, {**data, **({"complete": "1"} if complete else {})})
            assert response.status_code < 500
            if refused(response):
                seen["refused"] += 1
                assert fingerprint() == before, "a refused save changed the database"
            else:
                seen["saved"] += 1
                assert client.get(response.url).status_code == 200

    check()
    assert seen["refused"], "no example was refused: the strategies are not hostile"


@pytest.mark.parametrize("claimed", ["2000", "99999999999999999999"])
def test_a_forged_row_count_is_capped_and_refused(client: Any, casebook: Casebook, claimed: str) -> None:
    """A tumour assessment posting more rows than a register can have: refused, and at most ``MAX_ROWS`` rows are
    built and shown again (Django's default would build 2,000)."""
    patient = casebook.patients["avatar2"]
    visit = casebook.visits[("avatar2", "follow_up")]
    url = reverse("patients:crf_new", kwargs={"subject_id": patient.subject_id, "code": "tumour-assessment"})
    client.force_login(casebook.coordinator)
    data = {f"{prefix}-{key}": "0" for prefix in ("targets", "non_targets") for key in MANAGEMENT}
    data |= {"new_lesions-TOTAL_FORMS": claimed, "new_lesions-INITIAL_FORMS": "0", "modality": "ct"}
    before = fingerprint()
    response = client.post(f"{url}?visit={visit.pk}", data)
    assert response.status_code == 200
    assert fingerprint() == before
    assert f"at most {MAX_ROWS} forms" in response.content.decode()
    rows = set(re.findall(r'name="new_lesions-(\d+)-', response.content.decode()))
    assert 0 < len(rows) <= MAX_ROWS
