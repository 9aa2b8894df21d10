"""The data dictionary: every field of every form and record, every analysis variable; the page and its CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from lesions.domain.localisation import site_choices
from lesions.models import NewLesion, NonTargetObservation, TargetMeasurement
from outcomes.datasets import DATASETS
from outcomes.datasets.dictionary import DICTIONARY, dictionary_entries
from patients.crf import crf_models
from patients.models import Patient, Visit
from trials.models import Role

from ...conftest import Cast
from .helpers import records


def _entries(cast: Cast, trial: str) -> set[tuple[str, str]]:
    return {(entry.table, entry.field) for entry in dictionary_entries(trial=getattr(cast, trial))}


def test_every_concrete_field_of_every_crf_model_is_in_the_dictionary_of_the_trials_using_it(cast: Cast) -> None:
    for trial in ("cosmo", "avatar2"):
        found = _entries(cast, trial)
        for model in crf_models():
            wanted = {(model._meta.db_table, field.name) for field in model._meta.concrete_fields}
            if model.crf.used_in(getattr(cast, trial).code):
                assert wanted <= found, (trial, model.__name__, wanted - found)
            else:
                assert not wanted & found, (trial, model.__name__)


def test_the_records_behind_the_forms_are_in_it_too(cast: Cast) -> None:
    found = _entries(cast, "avatar2")
    for model in (Patient, Visit, TargetMeasurement, NonTargetObservation, NewLesion):
        assert {(model._meta.db_table, field.name) for field in model._meta.concrete_fields} <= found


def test_every_analysis_variable_is_in_it_with_its_metadata(cast: Cast) -> None:
    entries = {(e.form, e.field): e for e in dictionary_entries(trial=cast.cosmo) if e.section == "ADaM"}
    for dataset in DATASETS.values():
        for variable in dataset.variables:
            entry = entries[dataset.name, variable.name]
            assert (entry.label, entry.unit, entry.allowed, entry.source) == (
                variable.label,
                variable.unit,
                variable.allowed,
                variable.source,
            )
            assert entry.key == (variable.name in dataset.keys)


@pytest.mark.parametrize(
    ("table", "field", "unit", "allowed", "required"),
    [
        ("patients_patient", "age_at_consent", "years", ("18 to 110",), False),
        ("lesions_lesion", "baseline_tenths", "0.1 mm", (), False),
        ("lesions_localablativetreatment", "total_dose_gy", "Gy", (), False),
        ("patients_tumourbiology", "er_percent", "%", (), True),
        ("patients_visceralcrisis", "bilirubin", "µmol/L", (), False),
        ("patients_demographics", "ecog", "", ("0 = 0", "1 = 1", "2 = 2", "3 = 3", "4 = 4"), True),
        ("patients_adverseevent", "grade", "", tuple(f"{g} = Grade {g}" for g in range(1, 6)), True),
        ("patients_death", "death_date", "", (), True),
    ],
)
def test_units_code_lists_and_required_fields_are_read_from_the_models(
    cast: Cast, table: str, field: str, unit: str, allowed: tuple[str, ...], required: bool
) -> None:
    entry = next(e for e in dictionary_entries(trial=cast.avatar2) if (e.table, e.field) == (table, field))
    assert (entry.unit, entry.allowed, entry.required) == (unit, allowed, required)


@pytest.mark.parametrize("trial", ["cosmo", "avatar2"])
def test_the_dictionary_dataset_keeps_every_text_within_its_declared_width(cast: Cast, trial: str) -> None:
    rows = records(DICTIONARY, trial=getattr(cast, trial), user=cast.user(Role.DATA_MANAGER))
    assert [row["SEQ"] for row in rows] == list(range(1, len(rows) + 1))
    for row in rows:
        for variable in DICTIONARY.variables:
            value = row[variable.name]
            if isinstance(value, str) and variable.length:
                assert len(value) <= variable.length, (variable.name, value)
    site_code = next(r for r in rows if (r["TABLE"], r["FIELD"]) == ("lesions_lesion", "site_code"))
    assert "all in the HTML data dictionary" in site_code["ALLOWED"]  # the anatomical sites: a long list


@pytest.mark.parametrize("role", [Role.DATA_MANAGER, Role.STATISTICIAN, Role.SPONSOR_ADMIN])
def test_the_page_shows_forms_and_variables_to_those_who_export_clinical_data(
    client: Client, cast: Cast, role: str
) -> None:
    client.force_login(cast.user(role))
    response = client.get(reverse("outcomes:data_dictionary", kwargs={"code": cast.avatar2.code}))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Randomisation" in page and "endocrine_partner" in page
    assert all(f"<div>{code} = " in page for code, _ in site_choices())  # every anatomical site, not cut
    assert "ADTTE" in page and "CNSDTDSC" in page
    assert "Registration" not in page.split("Records behind the forms")[0]  # COSMO's form is not AVATAR II's


@pytest.mark.parametrize("role", [Role.SITE_COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.TRIAL_MANAGER])
def test_the_page_is_not_found_for_everyone_else(client: Client, cast: Cast, role: str) -> None:
    client.force_login(cast.user(role))
    response = client.get(reverse("outcomes:data_dictionary", kwargs={"code": cast.avatar2.code}))
    assert response.status_code == 404


def test_an_unknown_trial_is_not_found(client: Client, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    assert client.get(reverse("outcomes:data_dictionary", kwargs={"code": "nope"})).status_code == 404


def test_the_csv_download_is_the_dictionary_dataset(client: Client, cast: Cast) -> None:
    client.force_login(cast.user(Role.DATA_MANAGER))
    url = reverse("outcomes:data_dictionary", kwargs={"code": cast.cosmo.code})
    response = client.get(url, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="cosmo-data-dictionary.csv"'
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(body)))
    assert len(table) == len(list(dictionary_entries(trial=cast.cosmo)))
    assert {"registration_date", "AVAL", "USUBJID"} <= {row["FIELD"] for row in table}
