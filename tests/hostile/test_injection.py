"""SQL, HTML/JS and template injection in free text (issue 9): stored byte for byte, shown escaped everywhere.

Every free-text field of every CRF's entry form, query messages, reasons for change, new-lesion descriptions, user
names, token and data-cut names get the payloads through the real screens; each value reads back from the database
exactly as typed, and every page that shows it (the form, the casebook, the audit trail, the query pages, the lists)
carries it escaped, never as markup. The API gives it back as JSON strings. Search filters with the payloads (NUL
bytes and huge strings included) answer 200, never 500. Spreadsheet formula text in exports: the audit trail's
CSV quotes it; the analysis XLSX writes it as text; the analysis CSV keeps it verbatim (documented in
``outcomes/datasets/writers/text.py``: those files feed SAS, R and Stata).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from django import forms
from django.core.validators import RegexValidator
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from openpyxl import load_workbook

from lesions.models import NewLesion
from outcomes.dashboards.common import Table, csv_text
from outcomes.datasets.base import Dataset, Kind, Variable
from outcomes.datasets.writers import write_xlsx
from outcomes.datasets.writers.text import write_csv
from outcomes.models import DataCut
from patients import services
from patients.crf import CaseReportForm, crf_model, crf_models, data_fields
from patients.crfs.disease import ClinicalProgression
from patients.fields import PartialDateField
from patients.forms import crf_form_class
from patients.models import Query
from trials.models import ApiToken, Role, User
from trials.spreadsheet import formula_safe

from .conftest import Casebook
from .hostile import CONTROL, FORMULAS, HTML_INJECTION, PAYLOADS, SQL_INJECTION, TEMPLATE_INJECTION, UNICODE_TRICKS

#: Markup that must never reach a page unescaped.
RAW_MARKUP = (
    "<script>alert(1)</script>",
    "<img src=x onerror",
    "<svg/onload",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)'",
    "</textarea><script>",
)
#: One value holding every stored payload (a value starting with "=" is tested on its own, in the exports).
EVERYTHING = " ".join(SQL_INJECTION + HTML_INJECTION + TEMPLATE_INJECTION + UNICODE_TRICKS)


def _fitting(max_length: int | None) -> str:
    """As many whole payloads as the field takes, the HTML ones first."""
    if max_length is None:
        return EVERYTHING
    value = ""
    for payload in HTML_INJECTION + SQL_INJECTION + TEMPLATE_INJECTION + UNICODE_TRICKS:
        if len(value) + len(payload) + 1 <= max_length:
            value = f"{value} {payload}" if value else payload
    return value


def _free_text_fields(form: forms.BaseForm, model: type[CaseReportForm]) -> dict[str, str]:
    """The form's free-text fields that are columns of the record: no choices, no partial dates, no bookkeeping."""
    columns = {f.name for f in model._meta.concrete_fields}
    found = {}
    for name, field in form.fields.items():
        if name not in columns or type(field) is not forms.CharField:
            continue
        if any(
            isinstance(v, RegexValidator) or getattr(v, "__name__", "") == "validate_partial_date"
            for v in [*field.validators, *getattr(model._meta.get_field(name), "validators", [])]
        ):
            continue  # a coded value (a lesion label "T1", a partial date), not free text
        found[name] = _fitting(field.max_length)
    return found


def _assert_escaped(html: str, where: str) -> None:
    for markup in RAW_MARKUP:
        assert markup not in html, f"{where} shows {markup!r} unescaped"


def _api_detail(code: str, pk: int) -> str:
    for basename in (f"crf-{code}", code):
        try:
            return reverse(f"api:{basename}-detail", kwargs={"pk": pk})
        except NoReverseMatch:
            continue
    raise AssertionError(f"no API detail URL for {code}")


def _has_free_text(model: type[CaseReportForm]) -> bool:
    return any(
        isinstance(field, models.CharField | models.TextField)
        and not field.choices
        and not isinstance(field, PartialDateField)
        and field.name in data_fields(model)
        for field in model._meta.concrete_fields
    )


TEXT_CRFS = [model.crf.code for model in crf_models() if _has_free_text(model)]


@pytest.mark.parametrize("code", TEXT_CRFS)
def test_free_text_of_a_crf_is_stored_exactly_and_shown_escaped(client: Any, casebook: Casebook, code: str) -> None:
    model = crf_model(code)
    assert model is not None
    patient = casebook.patient_for(model)
    visit = casebook.visit_for(model, patient)
    form_class = crf_form_class(model)
    instance = model(patient=patient, site_id=patient.site_id, visit=visit)
    blank = (
        form_class(instance=instance, patient=patient)
        if getattr(form_class, "takes_patient", False)
        else form_class(instance=instance)
    )
    values = _free_text_fields(blank, model)
    client.force_login(casebook.coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": patient.subject_id, "code": code})
    response = client.post(f"{url}?visit={visit.pk}" if visit else url, values)
    assert response.status_code == 302, response.context["form"].errors

    record = model._default_manager.filter(patient=patient).latest("pk")
    for name, value in values.items():
        assert getattr(record, name) == value, f"{name} was not stored as typed"

    pages = {
        "the form": client.get(response.url),
        "the casebook": client.get(reverse("patients:detail", kwargs={"subject_id": patient.subject_id})),
        "the audit trail": client.get(
            reverse("audit_trail", kwargs={"model_label": model._meta.label_lower, "pk": record.pk})
        ),
    }
    for where, page in pages.items():
        assert page.status_code == 200, where
        _assert_escaped(page.content.decode(), where)
    form_page = pages["the form"].content.decode()
    for value in values.values():
        assert escape(value) in form_page, "the form does not show the stored text"

    body = client.get(_api_detail(code, record.pk)).json()
    for name, value in values.items():
        assert body[name] == value, f"the API changed {name}"


def test_a_reason_for_change_is_stored_exactly_and_shown_escaped(client: Any, casebook: Casebook) -> None:
    patient = casebook.patients["avatar2"]
    record: Any = ClinicalProgression.objects.get(patient=patient)
    record = services.crf_save(
        user=casebook.coordinator,
        model=ClinicalProgression,
        patient=patient,
        instance=record,
        values={"progression_date": date(2025, 6, 1), "description": "New pain"},
        complete=True,
    )
    client.force_login(casebook.coordinator)
    url = reverse(
        "patients:crf_edit", kwargs={"subject_id": patient.subject_id, "code": record.crf.code, "pk": record.pk}
    )
    response = client.post(
        url,
        {
            "progression_date": "2025-06-01",
            "description": "Bone pain",
            "reason": EVERYTHING,
            "version": record.version,
            "complete": "1",
        },
    )
    assert response.status_code == 302
    assert record.history.latest().history_change_reason == EVERYTHING
    audit = client.get(reverse("audit_trail", kwargs={"model_label": "patients.clinicalprogression", "pk": record.pk}))
    assert audit.status_code == 200
    html = audit.content.decode()
    _assert_escaped(html, "the audit trail")
    assert escape(EVERYTHING) in html


def test_query_messages_are_stored_exactly_and_shown_escaped(client: Any, casebook: Casebook) -> None:
    patient = casebook.patients["avatar2"]
    record = ClinicalProgression.objects.get(patient=patient)
    client.force_login(casebook.cast.user(Role.DATA_MANAGER))
    raise_url = reverse(
        "patients:crf_query_raise", kwargs={"subject_id": patient.subject_id, "code": record.crf.code, "pk": record.pk}
    )
    assert client.post(raise_url, {"text": EVERYTHING, "field_name": "description"}).status_code == 302
    query = Query.objects.get(patient=patient)
    assert query.messages.get().text == EVERYTHING

    client.force_login(casebook.coordinator)
    answer = "'; DELETE FROM patients_query; -- <b onmouseover=alert(1)>bold</b> \u202eevil"
    detail = reverse("patients:query_detail", kwargs={"pk": query.pk})
    assert client.post(detail, {"action": "answer", "text": answer}).status_code == 302
    assert query.messages.latest("pk").text == answer
    assert Query.objects.filter(pk=query.pk).exists()

    for where, url in {
        "the query": detail,
        "the query list": reverse("patients:query_list") + "?status=",
        "the casebook": reverse("patients:detail", kwargs={"subject_id": patient.subject_id}),
        "the form": reverse(
            "patients:crf_edit", kwargs={"subject_id": patient.subject_id, "code": record.crf.code, "pk": record.pk}
        ),
    }.items():
        page = client.get(url)
        assert page.status_code == 200, where
        _assert_escaped(page.content.decode(), where)
        assert "<b onmouseover" not in page.content.decode(), where
    thread = client.get(detail).content.decode()
    assert escape(EVERYTHING) in thread and escape(answer) in thread

    api = client.get(reverse("api:query-detail", kwargs={"pk": query.pk})).json()
    assert EVERYTHING in [message["text"] for message in api["messages"]]


def test_a_new_lesion_description_is_stored_exactly_and_shown_escaped(client: Any, casebook: Casebook) -> None:
    patient = casebook.patients["avatar2"]
    visit = casebook.visits[("avatar2", "follow_up")]
    description = _fitting(200)
    client.force_login(casebook.coordinator)
    url = reverse("patients:crf_new", kwargs={"subject_id": patient.subject_id, "code": "tumour-assessment"})
    page = client.get(f"{url}?visit={visit.pk}")
    from ..forms import form_values

    values = form_values(page.content)
    values.update({"modality": "ct", "new_lesions-0-status": "EQUIVOCAL", "new_lesions-0-scan_date": "2025-06-16"})
    values.update({"new_lesions-0-site_code": "LUNG", "new_lesions-0-description": description})
    response = client.post(f"{url}?visit={visit.pk}", values)
    assert response.status_code == 302, (response.context["form"].errors, response.context["formsets"])
    assert NewLesion.objects.get(assessment__patient=patient).description == description
    shown = client.get(response.url).content.decode()
    _assert_escaped(shown, "the tumour assessment")
    assert escape(description) in shown


def test_names_typed_by_staff_are_stored_exactly_and_shown_escaped(client: Any, casebook: Casebook) -> None:
    name = _fitting(150)
    client.force_login(casebook.cast.user(Role.SPONSOR_ADMIN))
    response = client.post(
        reverse("users:create"),
        {
            "username": "mallory",
            "first_name": name,
            "last_name": "<i>x</i>",
            "role": "statistician",
            "password": "Long-Enough-Passw0rd!",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert User.objects.get(username="mallory").first_name == name
    listing = client.get(reverse("users:list")).content.decode()
    _assert_escaped(listing, "the user list")
    assert "<i>x</i>" not in listing

    client.force_login(casebook.cast.user(Role.STATISTICIAN))
    token_name = _fitting(ApiToken._meta.get_field("name").max_length)
    assert client.post(reverse("tokens:create"), {"name": token_name, "expires_in_days": 5}).status_code == 200
    assert ApiToken.objects.get(user__username="statistician").name == token_name
    _assert_escaped(client.get(reverse("tokens:list")).content.decode(), "the token list")

    cut_name = _fitting(DataCut._meta.get_field("name").max_length)
    url = reverse("outcomes:datacut_list", kwargs={"code": casebook.cast.avatar2.code})
    response = client.post(url, {"name": cut_name, "description": EVERYTHING})
    assert response.status_code in (200, 302)
    cut = DataCut.objects.get()
    assert (cut.name, cut.description) == (cut_name, EVERYTHING)
    _assert_escaped(client.get(url).content.decode(), "the data cut list")
    detail = client.get(reverse("outcomes:datacut_detail", kwargs={"code": casebook.cast.avatar2.code, "pk": cut.pk}))
    _assert_escaped(detail.content.decode(), "the data cut")


#: List pages and their filters, each tried with every payload, NUL bytes and a huge string.
FILTERED = [
    ("patients:list", Role.SITE_COORDINATOR, ("q", "trial", "site", "status", "page")),
    ("patients:query_list", Role.DATA_MANAGER, ("status", "site", "trial", "page")),
    ("audit:sign_ins", Role.DATA_MANAGER, ("username", "outcome", "page")),
    ("audit:export", Role.DATA_MANAGER, ("model", "start", "end", "download")),
    ("tokens:admin_list", Role.SPONSOR_ADMIN, ("user",)),
    ("api:patient-list", Role.DATA_MANAGER, ("trial", "site", "status", "modified_since", "cursor")),
    ("api:crf-demographics-list", Role.DATA_MANAGER, ("trial", "site", "patient", "status", "modified_since")),
    ("api:query-list", Role.DATA_MANAGER, ("trial", "site", "patient", "status", "raised_at_after")),
]
FILTER_VALUES = (*PAYLOADS, *CONTROL, "A" * 60_000, "é" * 30_000, "9" * 400, "²", "-1", "0")


@pytest.mark.parametrize(("name", "role", "params"), FILTERED, ids=[name for name, *_ in FILTERED])
def test_a_search_filter_with_a_payload_answers_without_error(
    client: Any, casebook: Casebook, name: str, role: str, params: tuple[str, ...]
) -> None:
    client.force_login(casebook.cast.user(role))
    patients = casebook.cast.patient_a.__class__.objects.count()
    for value in FILTER_VALUES:
        response = client.get(reverse(name), dict.fromkeys(params, value))
        assert response.status_code in (200, 400), f"{name} with {value[:40]!r}: {response.status_code}"
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            _assert_escaped(response.content.decode(), name)
    assert casebook.cast.patient_a.__class__.objects.count() == patients


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("outcomes:dashboard_enrolment", "avatar2"),
        ("outcomes:dashboard_health", "avatar2"),
        ("outcomes:dashboard_randomisation", "avatar2"),
        ("outcomes:dashboard_efficacy", "avatar2"),
        ("outcomes:data_dictionary", "avatar2"),
    ],
)
def test_a_dashboard_filter_with_a_payload_answers_without_error(
    client: Any, casebook: Casebook, name: str, code: str
) -> None:
    client.force_login(casebook.cast.user(Role.SPONSOR_ADMIN))
    for value in (*HTML_INJECTION, "\x00", "A" * 60_000, "2025-13", "²"):
        for format_ in ("", "csv"):
            response = client.get(
                reverse(name, kwargs={"code": code}),
                {"site": value, "from": value, "to": value, "chart": value, "format": format_},
            )
            assert response.status_code in (200, 400, 404), f"{name} with {value[:40]!r}: {response.status_code}"
            if response["Content-Type"].startswith("text/html"):
                _assert_escaped(response.content.decode(), name)


# --- Spreadsheet formulas in exports ----------------------------------------------------------------------------------

TEXT_DATASET = Dataset(
    name="ADTEST",
    label="Free text",
    structure="One record per value",
    keys=("SEQ",),
    variables=(Variable("SEQ", "Sequence", Kind.INTEGER), Variable("AETERM", "Term", Kind.TEXT, 200)),
    rows=lambda **_: iter(()),
)


def test_the_xlsx_export_writes_formula_text_as_text_not_as_a_formula() -> None:
    rows = [(index, value) for index, value in enumerate(FORMULAS, start=1)]
    buffer = io.BytesIO()
    write_xlsx(TEXT_DATASET, rows, buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue()))["ADTEST"]
    cells = [sheet.cell(row=index + 1, column=2) for index in range(1, len(FORMULAS) + 1)]
    assert [cell.value for cell in cells] == list(FORMULAS)
    assert all(cell.data_type == "s" for cell in cells), "a text starting with = became a live formula"


def test_the_analysis_csv_keeps_formula_text_verbatim_as_documented() -> None:
    rows = [(index, value) for index, value in enumerate(FORMULAS, start=1)]
    text = b"".join(write_csv(TEXT_DATASET, rows)).decode()
    assert [row[1] for row in csv.reader(io.StringIO(text))][1:] == list(FORMULAS)


def test_the_audit_trail_csv_quotes_formula_text(client: Any, casebook: Casebook) -> None:
    patient = casebook.patients["avatar2"]
    record = ClinicalProgression.objects.get(patient=patient)
    services.crf_save(
        user=casebook.coordinator,
        model=ClinicalProgression,
        patient=patient,
        instance=record,
        values={"description": FORMULAS[1]},
        complete=False,
    )
    client.force_login(casebook.cast.user(Role.DATA_MANAGER))
    response = client.get(reverse("audit:export"), {"model": "patients.clinicalprogression", "download": "1"})
    assert response.status_code == 200
    cells = [cell for row in csv.reader(io.StringIO(b"".join(response.streaming_content).decode())) for cell in row]
    assert "'" + FORMULAS[1] in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")]


def test_the_dashboard_csv_quotes_formula_text_and_keeps_numbers() -> None:
    table = Table(caption="Sites", headers=["Site", "Enrolled", "Change"], rows=[[text, 3, -2.5] for text in FORMULAS])
    rows = list(csv.reader(io.StringIO(csv_text(table))))[1:]
    assert [row[0] for row in rows] == ["'" + text for text in FORMULAS]
    assert {(row[1], row[2]) for row in rows} == {("3", "-2.5")}
    assert formula_safe("-2.5") == "-2.5" and formula_safe("Site NL01") == "Site NL01"
