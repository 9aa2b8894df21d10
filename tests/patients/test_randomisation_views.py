"""Randomisation screens, API and management command: what each role sees, and what stays concealed (§6.2)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from patients.models import Allocation, AllocationList
from patients.services.randomisation import allocation_list_generate
from trials.models import Role

from ..conftest import Cast
from ..scenarios import allocated_patient, patient_ready_for_allocation, site_user

SEED = "views-test-seed-0123456789"


def _list(cast: Cast) -> AllocationList:
    generated = allocation_list_generate(user=cast.user(Role.STATISTICIAN), trial=cast.avatar2, seed=SEED)
    return generated.allocation_list


def _trial_url(name: str, cast: Cast, **kwargs: Any) -> str:
    return reverse(f"randomisation:{name}", kwargs={"code": cast.avatar2.code, **kwargs})


def _patient_url(name: str, patient: Any) -> str:
    return reverse(name, kwargs={"subject_id": patient.subject_id})


# The published commitment and the concealed list -----------------------------------------------------------------


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_sees_the_commitment_but_not_the_rows(client: Any, cast: Cast, role: str) -> None:
    stored = _list(cast)
    client.force_login(cast.user(role))
    page = client.get(_trial_url("trial", cast)).content.decode()
    assert stored.commitment in page and stored.generator_version in page
    first_arms = "".join(stored.rows.filter(stratum="ai|1").order_by("sequence").values_list("arm", flat=True)[:12])
    assert first_arms not in page
    assert "seed_reference" not in page and stored.seed_reference not in page
    assert ("Rows" in page) == (role in (Role.STATISTICIAN, Role.SPONSOR_ADMIN))


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_no_role_but_the_statistician_and_sponsor_admin_reads_a_list(client: Any, cast: Cast, role: str) -> None:
    stored = _list(cast)
    client.force_login(cast.user(role))
    response = client.get(_trial_url("list_detail", cast, version=stored.version))
    allowed = role in (Role.STATISTICIAN, Role.SPONSOR_ADMIN)
    assert response.status_code == (200 if allowed else 404)
    if allowed:
        assert len(response.context["rows"]) == stored.rows.count()


def test_a_generated_seed_is_shown_once_and_never_cached(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    response = client.post(_trial_url("list_generate", cast), {"seed": "", "reason": "", "expected_version": 0})
    seed = response.context["generated"].seed
    assert response.status_code == 200 and seed in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    stored = AllocationList.objects.get(trial=cast.avatar2)
    for name, kwargs in (("trial", {}), ("list_detail", {"version": 1}), ("list_verify", {"version": 1})):
        assert seed not in client.get(_trial_url(name, cast, **kwargs)).content.decode()
    assert stored.commitment in response.content.decode()


def test_a_seed_given_by_the_statistician_is_not_echoed(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    response = client.post(_trial_url("list_generate", cast), {"seed": SEED, "expected_version": 0})
    assert response.status_code == 200 and SEED not in response.content.decode()
    assert AllocationList.objects.get(trial=cast.avatar2).commitment == _list_commitment_for(SEED, cast)


def _list_commitment_for(seed: str, cast: Cast) -> str:
    from patients.domain.randomisation import AVATAR2_STRATA, generate_block_list, list_commitment

    return list_commitment(generate_block_list(seed=seed, strata=AVATAR2_STRATA, rows_per_stratum=89))


def test_a_repeated_generation_post_does_not_replace_the_list(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    data = {"seed": "", "reason": "x", "expected_version": 0}
    client.post(_trial_url("list_generate", cast), data)
    again = client.post(_trial_url("list_generate", cast), data)
    assert again.status_code == 200 and "generated after you opened" in again.content.decode()
    assert AllocationList.objects.filter(trial=cast.avatar2).count() == 1


def test_the_verification_screen_checks_the_commitment_and_the_seed(client: Any, cast: Cast) -> None:
    stored = _list(cast)
    client.force_login(cast.user(Role.STATISTICIAN))
    response = client.get(_trial_url("list_verify", cast, version=stored.version))
    assert response.context["verification"].ok
    response = client.post(_trial_url("list_verify", cast, version=stored.version), {"seed": SEED})
    assert response.context["verification"].regenerated_matches is True
    response = client.post(_trial_url("list_verify", cast, version=stored.version), {"seed": "x" * 20})
    assert not response.context["verification"].ok and "Not verified" in response.content.decode()


# Randomising -------------------------------------------------------------------------------------------------------


def test_the_investigator_confirms_the_factors_then_sees_the_arm(client: Any, cast: Cast) -> None:
    _list(cast)
    patient = patient_ready_for_allocation(cast, factors={"endocrine_partner": "serd", "oligo_lesions": "2-5"})
    client.force_login(cast.user(Role.INVESTIGATOR))
    url = _patient_url("randomisation:randomise", patient)
    page = client.get(url)
    assert [value for _, value in page.context["factors"]] == ["Fulvestrant / other SERD", "2–5 lesions"]
    version = page.context["form"].initial["expected_version"]

    unconfirmed = client.post(url, {"expected_version": version})
    assert unconfirmed.status_code == 200 and not Allocation.objects.exists()

    response = client.post(url, {"expected_version": version, "confirm": "on"})
    allocation = Allocation.objects.get(patient=patient)
    assert response.status_code == 302 and response.url == _patient_url("randomisation:allocation", patient)
    shown = client.get(response.url)
    assert f"Arm <strong>{allocation.arm.code}</strong>" in shown.content.decode()
    assert not shown.context["show_concealed"] and "(block" not in shown.content.decode()
    assert client.get(url).status_code == 302  # already randomised: sent to the allocation


def test_a_patient_not_ready_gets_the_reasons_and_no_button(client: Any, cast: Cast) -> None:
    _list(cast)
    client.force_login(cast.user(Role.INVESTIGATOR))
    page = client.get(_patient_url("randomisation:randomise", cast.patient_a))
    assert "cannot be randomised yet" in page.content.decode()
    assert client.post(
        _patient_url("randomisation:randomise", cast.patient_a), {"expected_version": 1, "confirm": "on"}
    )
    assert not Allocation.objects.exists()


def test_the_statistician_sees_the_list_row_behind_an_allocation(client: Any, cast: Cast) -> None:
    allocation = allocated_patient(cast)
    client.force_login(cast.user(Role.STATISTICIAN))
    page = client.get(_patient_url("randomisation:allocation", allocation.patient)).content.decode()
    assert f"row {allocation.list_row.sequence} (block {allocation.list_row.block}" in page


# Balance report ---------------------------------------------------------------------------------------------------


def _three_allocations(cast: Cast) -> None:
    allocated_patient(cast, screening_number="B-1")
    allocated_patient(cast, screening_number="B-2", arm="B")
    allocated_patient(cast, site=cast.site_b, screening_number="B-3")


def test_the_statistician_sees_arms_by_stratum_site_and_month(client: Any, cast: Cast) -> None:
    _three_allocations(cast)
    client.force_login(cast.user(Role.STATISTICIAN))
    report = client.get(_trial_url("balance", cast)).context["report"]
    assert report.overall.counts == {"A": 2, "B": 1}
    assert sum(row.total for row in report.by_stratum) == 3
    assert {row.label: row.counts for row in report.by_site} == {"BE01": {"A": 1, "B": 0}, "NL01": {"A": 1, "B": 1}}
    assert report.by_month[-1][1].counts == {"A": 2, "B": 1}


@pytest.mark.parametrize("role", [Role.TRIAL_MANAGER, Role.DATA_MANAGER])
def test_trial_and_data_managers_see_enrolment_counts_only(client: Any, cast: Cast, role: str) -> None:
    _three_allocations(cast)
    client.force_login(cast.user(role))
    response = client.get(_trial_url("balance", cast))
    assert "report" not in response.context
    assert [(c.site_code, c.enrolled) for c in response.context["counts"]] == [("BE01", 1), ("NL01", 2)]
    page = response.content.decode()
    assert "Aromatase inhibitor" not in page and "<th>A</th>" not in page


# API --------------------------------------------------------------------------------------------------------------


def _api(subject_id: str, what: str) -> str:
    return reverse(f"api:patient_{what}", kwargs={"subject_id": subject_id})


def test_the_api_randomises_once_and_returns_the_same_allocation_again(client: Any, cast: Cast) -> None:
    _list(cast)
    patient = patient_ready_for_allocation(cast)
    client.force_login(cast.user(Role.INVESTIGATOR))
    first = client.post(_api(patient.subject_id, "randomise"), {}, content_type="application/json")
    again = client.post(_api(patient.subject_id, "randomise"), {}, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["arm"] == Allocation.objects.get(patient=patient).arm.code
    assert "concealed" not in first.json()


def test_the_api_answers_errors_per_field(client: Any, cast: Cast) -> None:
    _list(cast)
    patient = patient_ready_for_allocation(cast)
    client.force_login(cast.user(Role.INVESTIGATOR))
    not_ready = client.post(_api(cast.patient_a.subject_id, "randomise"), {}, content_type="application/json")
    assert not_ready.status_code == 400 and set(not_ready.json()) == {"eligibility", "non_field_errors"}
    stale = client.post(_api(patient.subject_id, "randomise"), {"crf_version": 99}, content_type="application/json")
    assert stale.status_code == 400 and "crf_version" in stale.json()
    bad = client.post(_api(patient.subject_id, "randomise"), {"crf_version": "x"}, content_type="application/json")
    assert bad.status_code == 400 and "crf_version" in bad.json()
    assert not Allocation.objects.exists()


def test_the_api_answers_404_outside_role_or_scope(client: Any, cast: Cast) -> None:
    _list(cast)
    patient = patient_ready_for_allocation(cast)
    for user in (cast.user(Role.SITE_COORDINATOR), site_user(cast, Role.INVESTIGATOR, cast.site_b)):
        client.force_login(user)
        response = client.post(_api(patient.subject_id, "randomise"), {}, content_type="application/json")
        assert response.status_code == 404
    client.logout()
    assert client.post(_api(patient.subject_id, "randomise")).status_code == 401  # no credentials: the token challenge
    assert not Allocation.objects.exists()


def test_the_allocation_is_read_by_casebook_roles_and_not_by_the_trial_manager(client: Any, cast: Cast) -> None:
    allocation = allocated_patient(cast)
    url = _api(allocation.patient.subject_id, "allocation")
    client.force_login(cast.user(Role.MONITOR))
    body = client.get(url).json()
    assert (body["arm"], body["stratum"], body["list_version"]) == (allocation.arm.code, "ai|1", 1)
    assert "concealed" not in body
    client.force_login(cast.user(Role.STATISTICIAN))
    assert client.get(url).json()["concealed"]["list_row"]["sequence"] == 1
    client.force_login(cast.user(Role.TRIAL_MANAGER))
    assert client.get(url).status_code == 404
    client.force_login(cast.user(Role.MONITOR))
    assert client.get(_api(cast.patient_a.subject_id, "allocation")).status_code == 404  # not allocated


# Management command -----------------------------------------------------------------------------------------------


def test_the_command_generates_from_a_seed_on_stdin_and_verifies(cast: Cast, monkeypatch: Any) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SEED + "\n"))
    out = io.StringIO()
    call_command(
        "randomisation_list", "generate", "--trial", "avatar2", "--user", "statistician", "--seed-stdin", stdout=out
    )
    stored = AllocationList.objects.get(trial=cast.avatar2)
    assert stored.commitment in out.getvalue() and SEED not in out.getvalue()
    monkeypatch.setattr("sys.stdin", io.StringIO(SEED + "\n"))
    out = io.StringIO()
    call_command(
        "randomisation_list", "verify", "--trial", "avatar2", "--user", "statistician", "--seed-stdin", stdout=out
    )
    assert "Verified." in out.getvalue() and "identical" in out.getvalue()


def test_the_command_prints_a_drawn_seed_once_and_refuses_other_roles(cast: Cast) -> None:
    with pytest.raises(CommandError, match="may not manage"):
        call_command("randomisation_list", "generate", "--trial", "avatar2", "--user", "data_manager")
    out = io.StringIO()
    call_command("randomisation_list", "generate", "--trial", "avatar2", "--user", "sponsor_admin", stdout=out)
    seed_lines = [line for line in out.getvalue().splitlines() if line.startswith("seed")]
    assert len(seed_lines) == 1 and len(seed_lines[0].split()[-1]) == 32
    assert json.dumps(AllocationList.objects.get().seed_reference).find(seed_lines[0].split()[-1]) == -1
