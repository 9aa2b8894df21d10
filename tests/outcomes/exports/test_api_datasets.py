"""Dataset exports in the API: who may download what, in which format, and what everyone else gets (404)."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from typing import Any

import openpyxl
import pyreadstat
import pytest
from django.urls import reverse

from trials.models import Role

from ...conftest import Cast
from .conftest import measured_patient

pytestmark = pytest.mark.django_db

STATISTICIAN, DATA_MANAGER = Role.STATISTICIAN, Role.DATA_MANAGER


def _download(client: Any, cast: Cast, role: str, name: str, fmt: str, **headers: Any) -> Any:
    client.force_login(cast.user(role))
    url = reverse("api:dataset_download", kwargs={"code": cast.cosmo.code, "name": name, "fmt": fmt})
    return client.get(url, **headers)


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_list_offers_a_statistician_every_dataset_with_its_variables(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(STATISTICIAN))
    response = client.get(reverse("api:dataset_list", kwargs={"code": cast.cosmo.code}))
    assert response.status_code == 200
    datasets = {entry["slug"]: entry for entry in response.json()}
    assert {"adsl", "adtte", "measurements", "dictionary"} <= set(datasets)
    measurements = datasets["measurements"]
    assert measurements["name"] == "MEASURE"
    assert {"name": "DIAMMM", "label": "Diameter (mm)", "unit": "mm"}.items() <= measurements["variables"][20].items()
    assert measurements["downloads"]["xpt"].endswith("/api/v1/trials/cosmo/datasets/measurements.xpt")


def test_the_list_offers_a_data_manager_only_clinical_data(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(DATA_MANAGER))
    response = client.get(reverse("api:dataset_list", kwargs={"code": cast.cosmo.code}))
    assert [entry["slug"] for entry in response.json()] == ["measurements", "dictionary"]


@pytest.mark.parametrize("role", [Role.SITE_COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.TRIAL_MANAGER])
def test_roles_without_an_export_capability_get_404(client: Any, cast: Cast, role: str) -> None:
    client.force_login(cast.user(role))
    assert client.get(reverse("api:dataset_list", kwargs={"code": cast.cosmo.code})).status_code == 404
    assert _download(client, cast, role, "measurements", "csv").status_code == 404


def test_an_unknown_trial_dataset_or_format_is_404(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(STATISTICIAN))
    assert client.get(reverse("api:dataset_list", kwargs={"code": "nosuchtrial"})).status_code == 404
    assert _download(client, cast, STATISTICIAN, "adxx", "csv").status_code == 404
    assert _download(client, cast, STATISTICIAN, "adtte", "sav").status_code == 404


def test_a_refusal_is_json_whatever_the_client_accepts(client: Any, cast: Cast) -> None:
    response = _download(client, cast, DATA_MANAGER, "adtte", "csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 404  # the ADaM datasets are not the data manager's: 404, not 406
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_a_data_manager_downloads_the_measurements_in_every_format(client: Any, cast: Cast) -> None:
    measured = measured_patient(cast, site=cast.site_a, screening_number="A-1")
    bodies = {}
    for fmt in ("csv", "json", "xlsx", "xpt", "dta"):
        response = _download(client, cast, DATA_MANAGER, "measurements", fmt)
        assert response.status_code == 200, fmt
        assert response.streaming  # never one whole body in memory
        assert re.fullmatch(
            rf'attachment; filename="cosmo_measurements_\d{{8}}T\d{{4}}\.{fmt}"', response["Content-Disposition"]
        )
        bodies[fmt] = _body(response)

    table = list(csv.DictReader(io.StringIO(bodies["csv"].decode())))
    assert [row["USUBJID"] for row in table] == [measured.patient.subject_id] * 5
    assert json.loads(bodies["json"])["rows"][0]["DIAMMM"] == 25.3
    for fmt, read in (("xpt", pyreadstat.read_xport), ("dta", pyreadstat.read_dta)):
        with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as file:
            file.write(bodies[fmt])
            file.flush()
            frame, meta = read(file.name)
        assert list(frame["LESID"]) == [row["LESID"] for row in table]
        assert meta.column_names_to_labels["DIAMMM"] == "Diameter (mm)"
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as file:
        file.write(bodies["xlsx"])
        file.flush()
        sheet = openpyxl.load_workbook(file.name)["MEASURE"]
        assert [row[10] for row in sheet.iter_rows(min_row=2, values_only=True)] == [row["LESID"] for row in table]


def test_the_measurements_and_dictionary_have_their_own_paths(client: Any, cast: Cast) -> None:
    measured_patient(cast, site=cast.site_a, screening_number="A-1")
    client.force_login(cast.user(DATA_MANAGER))
    response = client.get(reverse("api:measurements_download", kwargs={"code": cast.cosmo.code, "fmt": "csv"}))
    assert response.status_code == 200 and _body(response).startswith(b"STUDYID,SITEID,USUBJID,")
    response = client.get(reverse("api:dictionary_download", kwargs={"code": cast.cosmo.code, "fmt": "csv"}))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert client.get(reverse("api:measurements_download", kwargs={"code": "cosmo", "fmt": "pdf"})).status_code == 404


def test_the_analysis_datasets_are_the_statisticians(client: Any, cast: Cast) -> None:
    assert _download(client, cast, DATA_MANAGER, "adtte", "csv").status_code == 404
    response = _download(client, cast, STATISTICIAN, "adtte", "csv")
    assert response.status_code == 200
    assert _body(response).startswith(b"STUDYID,USUBJID,")


def test_an_all_site_role_gets_every_sites_rows(client: Any, cast: Cast) -> None:
    measured_patient(cast, site=cast.site_a, screening_number="A-1")
    measured_patient(cast, site=cast.site_b, screening_number="B-1")
    body = _body(_download(client, cast, STATISTICIAN, "measurements", "csv")).decode()
    assert {row["SITEID"] for row in csv.DictReader(io.StringIO(body))} == {"NL01", "BE01"}


def test_anonymous_requests_are_refused(client: Any, cast: Cast) -> None:
    url = reverse("api:dataset_download", kwargs={"code": cast.cosmo.code, "name": "measurements", "fmt": "csv"})
    assert client.get(url).status_code in (401, 403)


def test_each_download_format_is_documented_as_what_it_answers(client: Any, cast: Cast) -> None:
    """The schema says a JSON download is the dataset document (an object) and every other format bytes; the JSON
    the API answers validates against what the schema documents for it."""
    from drf_spectacular.generators import SchemaGenerator
    from jsonschema import validate

    schema = SchemaGenerator().get_schema(request=None, public=True)
    measured_patient(cast, site=cast.site_a, screening_number="A-1")
    client.force_login(cast.user(STATISTICIAN))
    downloads = {
        "/api/v1/trials/{code}/datasets/{name}.{fmt}": reverse(
            "api:dataset_download", kwargs={"code": cast.cosmo.code, "name": "adtte", "fmt": "json"}
        ),
        "/api/v1/trials/{code}/measurements.{fmt}": reverse(
            "api:measurements_download", kwargs={"code": cast.cosmo.code, "fmt": "json"}
        ),
        "/api/v1/trials/{code}/dictionary.{fmt}": reverse(
            "api:dictionary_download", kwargs={"code": cast.cosmo.code, "fmt": "json"}
        ),
    }
    for path, url in downloads.items():
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["text/csv"]["schema"] == {"type": "string", "format": "binary"}
        documented = content["application/json"]["schema"]
        assert documented["type"] == "object" and "rows" in documented["required"]
        answer = client.get(url)
        assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
        validate(json.loads(_body(answer)), documented)
