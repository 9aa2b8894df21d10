"""The resources' OpenAPI schema drives schemathesis: whatever it generates, every answer is documented, conforms to
its schema and is never a server error, for a role that may write.

Only the writes run here (that is where garbage lands); a run over every read and write of the resources (88
operations, 25 examples each) passed too, and takes ten minutes: widen ``METHODS`` to repeat it."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.middleware.csrf import _get_new_csrf_string
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import checks

from patients import services
from patients.crf import crf_models
from patients.models import Demographics
from trials.models import Role

from .conftest import Casebooks, bare_record

#: The paths of the resources (the tokens, datasets and randomisation APIs have their own tests).
RESOURCES = (
    r"^/api/v1/(crfs/|patients/(\{subject_id\}/)?$|visits/|queries/|allocations/|lesions/|local-treatments/"
    r"|tumour-assessments/|endpoints/|derivations/)"
)


def _without_authentication(raw: dict[str, Any]) -> dict[str, Any]:
    """The schema without its security schemes: the test signs in with a session, and how a bad token is refused
    belongs to the tokens' tests."""
    raw = json.loads(json.dumps(raw, default=str))
    raw.get("components", {}).pop("securitySchemes", None)
    for operations in raw["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    return raw


METHODS = ["POST", "PATCH"]
schema = schemathesis.openapi.from_dict(
    _without_authentication(SchemaGenerator().get_schema(request=None, public=True))
).include(path_regex=RESOURCES, method=METHODS)
schema.app = get_wsgi_application()


#: Checks that read every 4xx to a schema-valid request as a bug, and every 2xx to a schema-violating one: a subject
#: id that is well formed but not in the user's sites is rightly refused, and an empty filter rightly ignored.
BUSINESS_RULE_CHECKS = [checks.positive_data_acceptance, checks.negative_data_rejection]


@pytest.fixture
def signed_in(client: Any, casebooks: Casebooks, connection_kept: None) -> dict[str, Any]:
    """A site coordinator's session, with the CSRF token a browser session's writes carry."""
    client.force_login(casebooks.cast.user(Role.SITE_COORDINATOR))
    token = _get_new_csrf_string()
    return {
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": token},
        "headers": {"X-CSRFToken": token},
    }


KIND_VISITS = {"screening": "screening", "enrolment": "enrolment", "treatment": "lat", "follow_up": "follow-up"}


@pytest.fixture
def aims(casebooks: Casebooks) -> dict[str, tuple[str | None, Any]]:
    """Per CRF code, where a generated write should land to go deep: the visit code of a new record (None for a
    patient-level form) and a draft record of patient A to change. Without them nearly every generated write
    stops at "no such patient"; with them the values reach the service's field checks and edit checks."""
    patient = casebooks.cast.patient_a
    for code, on in (("enrolment", date(2025, 3, 24)), ("lat", date(2025, 3, 31)), ("follow-up", date(2025, 6, 16))):
        services.visit_record(
            user=casebooks.coordinator,
            patient=patient,
            definition=patient.trial.visit_definitions.get(code=code),
            occurrence=1,
            status="done",
            visit_date=on,
        )
    aimed: dict[str, tuple[str | None, Any]] = {}
    for model in crf_models():
        kinds = [kind for kind in KIND_VISITS if kind in model.crf.visit_kinds]
        record = casebooks.demographics_a if model is Demographics else bare_record(model, patient)
        aimed[model.crf.code] = (KIND_VISITS[kinds[0]] if kinds else None, record)
    return aimed


CODE = re.compile(r"^/api/v1/(?:crfs/)?([a-z0-9-]+?)s?/")


def _aim(case: Any, subject_id: str, aims: dict[str, tuple[str | None, Any]]) -> None:
    """Point a generated write at patient A's forms, keeping the generated values."""
    match = CODE.match(case.path)
    if match is None or match.group(1) not in aims or not isinstance(case.body, dict):
        return
    visit_code, record = aims[match.group(1)]
    if case.method == "POST":
        case.body = {k: v for k, v in case.body.items() if k not in ("visit", "visit_occurrence", "visit_code")}
        case.body["patient"] = subject_id
        if visit_code:
            case.body["visit_code"] = visit_code
    else:
        case.path_parameters = {**(case.path_parameters or {}), "id": record.pk}
        case.body["version"] = type(record).objects.values_list("version", flat=True).get(pk=record.pk)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_any_generated_write_gets_a_documented_answer(
    case: Any, signed_in: dict[str, Any], aims: dict[str, tuple[str | None, Any]], casebooks: Casebooks
) -> None:
    cache.clear()  # no rate limit between examples: this is a flood by design
    _aim(case, casebooks.cast.patient_a.subject_id, aims)
    case.call_and_validate(
        cookies=signed_in["cookies"], headers=signed_in["headers"], excluded_checks=BUSINESS_RULE_CHECKS
    )
