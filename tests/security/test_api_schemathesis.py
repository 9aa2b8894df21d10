"""The whole API under schemathesis: every operation of the OpenAPI schema, valid and invalid input, no 5xx.

The schema is read from the running app (``/api/v1/schema/`` through WSGI), so every endpoint added later is
exercised without touching this file. Each operation runs as a statistician (every site, read-only role) and as a
site coordinator of site A (writes at its site), each with a fresh personal API token, over a cast with real
records: the two cast patients and a randomised scenario patient with lesions and assessments. Path parameters are
often replaced by real subject ids and trial codes so reads and writes reach records, not only 404s.

One fuzzing pass, two verdicts: no 5xx (``not_a_server_error``; and a valid token is never refused with 401), and
every documented answer matches its schema (``response_schema_conformance``). Writes are allowed: they go through
the services, which must refuse bad input with a 4xx.

Size: ``API_FUZZ_EXAMPLES`` examples per operation and run (``RUNS``), default 2; deterministic
(``derandomize``) so a failure reproduces. Raise it locally to fuzz harder.

Also here: the Swagger UI and ReDoc pages load nothing from another host (hospital networks block CDNs), the
whole schema builds valid without a warning, and it documents the token scheme.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from trials.models import Role
from trials.services_tokens import api_token_create

from ..conftest import Cast
from ..scenarios import Scenario

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "2"))
#: Who sends what: the statistician reads everything (and is refused writes); the site coordinator writes at site A,
#: so invalid input (negative mode) is sent by the coordinator, where it reaches the services' validation.
RUNS = (
    (Role.STATISTICIAN, GenerationMode.POSITIVE),
    (Role.SITE_COORDINATOR, GenerationMode.POSITIVE),
    (Role.SITE_COORDINATOR, GenerationMode.NEGATIVE),
)


def _token(cast: Cast, role: str) -> str:
    user = cast.user(role)
    issued = api_token_create(actor=user, owner=user, name="fuzz", expires_in_days=1, read_only=False)
    return issued.plaintext


def _known_values(cast: Cast, scenario: Scenario) -> dict[str, list[str]]:
    """Real values for path parameters of these names (others stay generated)."""
    return {
        "subject_id": [scenario.patient.subject_id, cast.patient_a.subject_id, cast.patient_b.subject_id],
        "code": [cast.avatar2.code, cast.cosmo.code],
    }


@dataclass
class FuzzReport:
    """What the fuzzing pass found, by check; the first failure of each operation and run is kept."""

    operations: int = 0
    cases: int = 0
    seconds: float = 0.0
    server_errors: dict[str, str] = field(default_factory=dict)
    refused_tokens: dict[str, str] = field(default_factory=dict)
    schema_violations: dict[str, str] = field(default_factory=dict)


def _check(report: dict[str, str], key: str, case: Any, response: Any, check: Any, headers: dict[str, str]) -> None:
    try:
        case.validate_response(response, checks=[check], headers=headers)
    except (AssertionError, BaseExceptionGroup) as failure:
        report.setdefault(key, str(failure)[:3000])


def _run_operation(
    operation: Any, *, token: str, mode: GenerationMode, known: dict[str, list[str]], key: str, report: FuzzReport
) -> None:
    headers = {"Authorization": f"Token {token}"}
    revokes_tokens = operation.path.endswith("/revoke/") and "/tokens/" in operation.path

    @given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(min_value=0, max_value=4))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, pick: int) -> None:
        for name in list(case.path_parameters or {}):
            choices = known.get(name, [])
            if pick < len(choices):
                case.path_parameters[name] = choices[pick]
        response = case.call(headers=headers)
        report.cases += 1
        _check(report.server_errors, key, case, response, not_a_server_error, headers)
        _check(report.schema_violations, key, case, response, response_schema_conformance, headers)
        if response.status_code == 401 and not revokes_tokens:  # the revoke operation may revoke this very token
            report.refused_tokens.setdefault(key, response.text[:500])

    run()


def _fuzz(cast: Cast) -> FuzzReport:
    scenario = Scenario(cast, trial="avatar2", arm="A")
    scenario.baseline()
    scenario.assessment(84, 30.0, investigator="PR")
    known = _known_values(cast, scenario)
    app = get_wsgi_application()
    report = FuzzReport()
    started, cpu_started = time.monotonic(), time.process_time()
    cache.clear()
    with override_settings(API_RATE_LIMIT="1000000/minute"):
        schema = schemathesis.openapi.from_wsgi(
            reverse("api:schema"), app, headers={"Authorization": f"Token {_token(cast, Role.STATISTICIAN)}"}
        )
        operations = [result.ok() for result in schema.get_all_operations()]
        assert any(op.path == reverse("api:token_list") for op in operations), "the schema misses the token API"
        for operation in operations:
            for role, mode in RUNS:
                token = _token(cast, role)  # fresh: the revoke operation may revoke the one it is given
                key = f"{operation.label} as {role} ({mode})"
                _run_operation(operation, token=token, mode=mode, known=known, key=key, report=report)
    cache.clear()  # the throttle's request history of these users must not reach later tests
    report.operations = len(operations)
    report.seconds = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    print(
        f"schemathesis: {report.operations} operations, {report.cases} requests, {report.seconds:.1f} s ({cpu:.1f} CPU)"
    )
    return report


#: One fuzzing pass serves both tests below (each still runs it alone when selected alone).
_REPORTS: list[FuzzReport] = []


def fuzz_report(cast: Cast) -> FuzzReport:
    if not _REPORTS:
        _REPORTS.append(_fuzz(cast))
    return _REPORTS[0]


def _listing(found: dict[str, str]) -> str:
    return "\n\n".join(f"{key}:\n{message}" for key, message in sorted(found.items()))


def test_no_operation_of_the_api_answers_a_server_error(cast: Cast, connection_kept: None) -> None:
    report = fuzz_report(cast)
    assert report.cases >= report.operations * len(RUNS)
    assert not report.server_errors, _listing(report.server_errors)
    assert not report.refused_tokens, "a valid token was refused:\n" + _listing(report.refused_tokens)


def test_every_documented_answer_matches_its_schema(cast: Cast, connection_kept: None) -> None:
    report = fuzz_report(cast)
    assert not report.schema_violations, _listing(report.schema_violations)


# The documentation pages work offline -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["api:docs", "api:redoc"])
def test_the_documentation_pages_load_nothing_from_another_host(client: Any, cast: Cast, name: str) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "an external host in the page"
    assets = re.findall(r"""(?:src|href)\s*=\s*["'](/static/[^"']+)["']""", html)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file of the app"
    if name == "api:docs":  # Swagger UI would fetch a badge from validator.swagger.io unless told not to
        assert '"validatorUrl": null' in html


def test_the_whole_schema_builds_valid_without_warnings(tmp_path: Path) -> None:
    """``manage.py spectacular --validate --fail-on-warn``: every endpoint is described, and the result is valid
    OpenAPI 3 (a view drf-spectacular cannot read, or an ambiguous enum name, fails here)."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/tokens/" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_documents_the_token_scheme(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer") and "Authorization: Token" in scheme["description"]
    assert {"tokenAuth": []} in schema["paths"]["/api/v1/tokens/"]["get"]["security"]
