"""Hypothesis on every entry form besides the CRFs (issue 9): registration, patient edit, visits, queries, user
administration, API tokens, analysis settings, data cuts, randomisation, oversight (signing, source data
verification, locks, the trial's data state), two-factor codes, passwords, and the filters of the list pages.

Each case names the form class the view binds and the user who may post it. Each example: the form alone never
raises in ``is_valid()`` and names the fields at fault; the same body through the real view never answers 5xx,
and a refused write leaves every table as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.test import Client, RequestFactory
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from outcomes.views_datacuts import DataCutForm
from patients import services
from patients.crfs.disease import ClinicalProgression
from patients.forms import PatientRegistrationForm, PatientUpdateForm, QueryMessageForm, QueryRaiseForm, VisitRecordForm
from patients.forms_oversight import LockForm, SignForm, TrialStateForm, VerifyForm
from patients.views.randomisation import ListGenerateForm, ListVerifyForm, RandomiseForm
from trials.forms import AnalysisSettingsForm, SignInForm, UserForm
from trials.forms_tokens import ApiTokenForm, ApiTokenRevokeForm
from trials.models import Role, User
from trials.services_tokens import api_token_create
from trials.two_factor.views import CodeForm, ResetForm
from trials.views_audit import DateRangeForm, TrailExportForm

from ..scenarios import patient_ready_for_allocation, scenario_allocation_list
from .conftest import Casebook
from .hostile import assert_errors_keyed_by_field, fingerprint, form_data, hostile_settings, hostile_text, refused
from .hostile import rolled_back as rolled_back_example


@dataclass
class Entry:
    role: str | None  # None: signed out (the sign-in page)
    url: str
    form: Callable[[Any], forms.BaseForm]  # data (None: unbound) -> the form the view binds
    method: str = "post"
    #: fields the view reads beside its form (an action button, the record a monitor verifies)
    more: dict[str, st.SearchStrategy[Any]] = field(default_factory=dict)
    #: a success the view answers with a page rather than a redirect (a new token is shown once)
    success_template: str = ""
    #: tables a refusal writes on purpose: failed sign-ins and signatures are logged (21 CFR 11.300(d))
    logs_refusals: frozenset[str] = frozenset()


FAILED_SIGNATURES = frozenset(
    {"patients_signingfailure", "patients_historicalsigningfailure", "trials_signinevent", "trials_auditchainpending"}
)
FAILED_SIGN_INS = frozenset({"trials_signinevent", "trials_auditchainpending"})


def _without(counts: dict[str, int], tables: frozenset[str]) -> dict[str, int]:
    return {table: count for table, count in counts.items() if table not in tables}


def _progression(cb: Casebook) -> ClinicalProgression:
    return ClinicalProgression.objects.get(patient=cb.patients["avatar2"])


def _query(cb: Casebook) -> Any:
    return services.query_raise(user=cb.cast.user(Role.DATA_MANAGER), record=_progression(cb), text="Please check")


def register(cb: Casebook) -> Entry:
    user = cb.coordinator
    return Entry(Role.SITE_COORDINATOR, reverse("patients:register"), lambda d: PatientRegistrationForm(d, user=user))


def patient_update(cb: Casebook) -> Entry:
    patient = cb.patients["avatar2"]
    return Entry(
        Role.SITE_COORDINATOR,
        reverse("patients:update", kwargs={"subject_id": patient.subject_id}),
        lambda d: PatientUpdateForm(d, instance=type(patient).objects.get(pk=patient.pk)),
    )


def visit_record(cb: Casebook) -> Entry:
    patient = cb.patients["avatar2"]
    definition = patient.trial.visit_definitions.get(code="follow-up")
    url = reverse(
        "patients:visit_record",
        kwargs={"subject_id": patient.subject_id, "definition_id": definition.pk, "occurrence": 2},
    )
    return Entry(Role.SITE_COORDINATOR, url, lambda d: VisitRecordForm(d))


def visit_unscheduled(cb: Casebook) -> Entry:
    url = reverse("patients:visit_unscheduled", kwargs={"subject_id": cb.patients["avatar2"].subject_id})
    return Entry(Role.SITE_COORDINATOR, url, lambda d: VisitRecordForm(d))


def query_raise(cb: Casebook) -> Entry:
    record = _progression(cb)
    url = reverse(
        "patients:crf_query_raise",
        kwargs={"subject_id": record.patient.subject_id, "code": record.crf.code, "pk": record.pk},
    )
    fields = [("progression_date", "Date"), ("description", "Description")]
    return Entry(Role.DATA_MANAGER, url, lambda d: QueryRaiseForm(d, fields=fields))


def query_answer(cb: Casebook) -> Entry:
    url = reverse("patients:query_detail", kwargs={"pk": _query(cb).pk})
    actions = st.one_of(st.sampled_from(["answer", "close", "reopen"]), hostile_text)
    return Entry(Role.SITE_COORDINATOR, url, lambda d: QueryMessageForm(d), more={"action": actions})


def query_close(cb: Casebook) -> Entry:
    entry = query_answer(cb)
    entry.role = Role.DATA_MANAGER
    return entry


def user_create(cb: Casebook) -> Entry:
    return Entry(Role.SPONSOR_ADMIN, reverse("users:create"), lambda d: UserForm(d, creating=True))


def user_update(cb: Casebook) -> Entry:
    url = reverse("users:update", kwargs={"pk": cb.coordinator.pk})
    return Entry(Role.SPONSOR_ADMIN, url, lambda d: UserForm(d, creating=False))


def token_create(cb: Casebook) -> Entry:
    return Entry(
        Role.STATISTICIAN,
        reverse("tokens:create"),
        lambda d: ApiTokenForm(d),
        success_template="trials/tokens_issued.html",
    )


def token_admin_create(cb: Casebook) -> Entry:
    owners = User.objects.filter(is_active=True)
    return Entry(
        Role.SPONSOR_ADMIN,
        reverse("tokens:admin_create"),
        lambda d: ApiTokenForm(d, owners=owners),
        success_template="trials/tokens_issued.html",
    )


def token_revoke(cb: Casebook) -> Entry:
    owner = cb.cast.user(Role.STATISTICIAN)
    issued = api_token_create(actor=owner, owner=owner, name="laptop", expires_in_days=5, read_only=True)
    url = reverse("tokens:revoke", kwargs={"pk": issued.token.pk})
    return Entry(Role.SPONSOR_ADMIN, url, lambda d: ApiTokenRevokeForm(d, reason_required=True))


def analysis_settings(cb: Casebook) -> Entry:
    url = reverse("trials:analysis_settings_change", kwargs={"code": cb.cast.avatar2.code})
    return Entry(Role.STATISTICIAN, url, lambda d: AnalysisSettingsForm(d))


def datacut(cb: Casebook) -> Entry:
    url = reverse("outcomes:datacut_list", kwargs={"code": cb.cast.avatar2.code})
    return Entry(Role.STATISTICIAN, url, lambda d: DataCutForm(d))


def list_generate(cb: Casebook) -> Entry:
    url = reverse("randomisation:list_generate", kwargs={"code": cb.cast.avatar2.code})
    return Entry(Role.STATISTICIAN, url, lambda d: ListGenerateForm(d))


def list_verify(cb: Casebook) -> Entry:
    version = scenario_allocation_list(cb.cast).version
    url = reverse("randomisation:list_verify", kwargs={"code": cb.cast.avatar2.code, "version": version})
    return Entry(Role.STATISTICIAN, url, lambda d: ListVerifyForm(d))


def randomise(cb: Casebook) -> Entry:
    scenario_allocation_list(cb.cast)
    patient = patient_ready_for_allocation(cb.cast, screening_number="H-0001")
    url = reverse("randomisation:randomise", kwargs={"subject_id": patient.subject_id})
    return Entry(Role.INVESTIGATOR, url, lambda d: RandomiseForm(d))


def sign_form(cb: Casebook) -> Entry:
    record = _progression(cb)
    url = reverse(
        "patients:sign_form", kwargs={"subject_id": record.patient.subject_id, "code": record.crf.code, "pk": record.pk}
    )
    return Entry(Role.INVESTIGATOR, url, lambda d: SignForm(d), logs_refusals=FAILED_SIGNATURES)


def sign_casebook(cb: Casebook) -> Entry:
    url = reverse("patients:sign_casebook", kwargs={"subject_id": cb.patients["avatar2"].subject_id})
    return Entry(Role.INVESTIGATOR, url, lambda d: SignForm(d), logs_refusals=FAILED_SIGNATURES)


def sdv(cb: Casebook) -> Entry:
    record = _progression(cb)
    services.crf_save(
        user=cb.coordinator,
        model=ClinicalProgression,
        patient=record.patient,
        instance=record,
        values={"progression_date": date(2025, 6, 1), "description": "New pain"},
        complete=True,
    )
    url = reverse("patients:sdv", kwargs={"subject_id": record.patient.subject_id})
    choices = [("progression_date", "Date"), ("description", "Description")]
    targets = st.one_of(st.just(f"{record.crf.code}:{record.pk}"), hostile_text, st.just("lesion:abc"))
    return Entry(
        Role.MONITOR,
        url,
        lambda d: VerifyForm(d, choices=choices),
        more={"record": targets, "verify_all": st.sampled_from(["", "1"])},
    )


def crf_lock(cb: Casebook) -> Entry:
    record = _progression(cb)
    url = reverse(
        "patients:crf_lock", kwargs={"subject_id": record.patient.subject_id, "code": record.crf.code, "pk": record.pk}
    )
    return Entry(Role.DATA_MANAGER, url, lambda d: LockForm(d))


def patient_lock(cb: Casebook) -> Entry:
    url = reverse("patients:patient_lock", kwargs={"subject_id": cb.patients["avatar2"].subject_id})
    return Entry(Role.DATA_MANAGER, url, lambda d: LockForm(d))


def site_lock(cb: Casebook) -> Entry:
    url = reverse("patients:site_lock", kwargs={"code": cb.cast.avatar2.code, "site_code": cb.cast.site_a.code})
    return Entry(Role.DATA_MANAGER, url, lambda d: LockForm(d))


def trial_data_state(cb: Casebook) -> Entry:
    url = reverse("patients:trial_data_state", kwargs={"code": cb.cast.avatar2.code})
    return Entry(Role.SPONSOR_ADMIN, url, lambda d: TrialStateForm(d, actions=["freeze", "lock"]))


def two_factor_enrol(cb: Casebook) -> Entry:
    return Entry(Role.INVESTIGATOR, reverse("security:two_factor_enrol"), lambda d: CodeForm(d))


def two_factor_reset(cb: Casebook) -> Entry:
    url = reverse("security:two_factor_reset", kwargs={"pk": cb.cast.user(Role.INVESTIGATOR).pk})
    return Entry(Role.SPONSOR_ADMIN, url, lambda d: ResetForm(d))


def password_change(cb: Casebook) -> Entry:
    user = cb.coordinator
    return Entry(Role.SITE_COORDINATOR, reverse("password_change"), lambda d: PasswordChangeForm(user, d))


def login(cb: Casebook) -> Entry:
    request = RequestFactory().post(reverse("login"))  # django-axes reads the sign-in's request
    return Entry(None, reverse("login"), lambda d: SignInForm(request, d), logs_refusals=FAILED_SIGN_INS)


def audit_export(cb: Casebook) -> Entry:
    return Entry(
        Role.DATA_MANAGER,
        reverse("audit:export"),
        lambda d: TrailExportForm(d, models=[("patients.patient", "Patient")]),
        method="get",
        more={"download": st.sampled_from(["", "1"])},
    )


def audit_export_record(cb: Casebook) -> Entry:
    patient = cb.patients["avatar2"]
    url = reverse("audit:export_record", kwargs={"model_label": "patients.patient", "pk": patient.pk})
    return Entry(Role.DATA_MANAGER, url, lambda d: DateRangeForm(d), method="get")


class _Filters(forms.Form):
    """The GET filters of the list pages, which the views read without a form class."""

    q = forms.CharField(required=False)
    trial = forms.CharField(required=False)
    site = forms.CharField(required=False)
    status = forms.CharField(required=False)
    page = forms.IntegerField(required=False)
    username = forms.CharField(required=False)
    outcome = forms.CharField(required=False)
    user = forms.CharField(required=False)


def _filters(role: str, name: str) -> Callable[[Casebook], Entry]:
    def build(cb: Casebook) -> Entry:
        return Entry(role, reverse(name), lambda d: _Filters(d), method="get")

    build.__name__ = name.replace(":", "_")
    return build


CASES: list[Callable[[Casebook], Entry]] = [
    register,
    patient_update,
    visit_record,
    visit_unscheduled,
    query_raise,
    query_answer,
    query_close,
    user_create,
    user_update,
    token_create,
    token_admin_create,
    token_revoke,
    analysis_settings,
    datacut,
    list_generate,
    list_verify,
    randomise,
    sign_form,
    sign_casebook,
    sdv,
    crf_lock,
    patient_lock,
    site_lock,
    trial_data_state,
    two_factor_enrol,
    two_factor_reset,
    password_change,
    login,
    audit_export,
    audit_export_record,
    _filters(Role.SITE_COORDINATOR, "patients:list"),
    _filters(Role.DATA_MANAGER, "patients:query_list"),
    _filters(Role.DATA_MANAGER, "audit:sign_ins"),
    _filters(Role.SPONSOR_ADMIN, "tokens:admin_list"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_an_entry_form_refuses_hostile_input_without_error_or_half_record(
    casebook: Casebook, case: Callable[[Casebook], Entry]
) -> None:
    entry = case(casebook)
    client = Client()
    if entry.role is not None:
        client.force_login(casebook.cast.user(entry.role))
    blank = entry.form(None)
    seen = {"refused": 0, "accepted": 0}

    @hostile_settings
    @given(data=form_data(dict(blank.fields)), more=st.fixed_dictionaries({}, optional=entry.more))
    def check(data: dict[str, Any], more: dict[str, Any]) -> None:
        with rolled_back_example():
            form = entry.form(data)
            if not form.is_valid():
                assert_errors_keyed_by_field(form)
            before = fingerprint()
            response = getattr(client, entry.method)(entry.url, {**data, **more})
            assert response.status_code < 500
            if entry.method == "get":
                return
            shown = {template.name for template in response.templates}
            if refused(response) and entry.success_template not in shown:
                seen["refused"] += 1
                after = _without(fingerprint(), entry.logs_refusals)
                assert after == _without(before, entry.logs_refusals), "a refused write changed the database"
            else:
                seen["accepted"] += 1

    check()
    assert entry.method == "get" or seen["refused"], "no example was refused: the strategies are not hostile"


@pytest.mark.parametrize("number", ["²", "①", "9" * 30, "٣"])
def test_a_record_number_that_is_not_a_plain_number_is_a_404_not_a_500(casebook: Casebook, number: str) -> None:
    """``str.isdigit()`` takes "²" and "①", which ``int()`` refuses: the ids the views read from a query string or a
    form are checked with ``isdecimal()``."""
    patient = casebook.patients["avatar2"]
    client = Client()
    client.force_login(casebook.coordinator)
    new_form = reverse("patients:crf_new", kwargs={"subject_id": patient.subject_id, "code": "demographics"})
    assert client.get(new_form, {"visit": number}).status_code == 404
    preview = reverse("patients:crf_preview", kwargs={"subject_id": patient.subject_id, "code": "tumour-assessment"})
    assert client.post(preview, {"visit": number, "modality": "ct"}).status_code == 200
    client.force_login(casebook.cast.user(Role.MONITOR))
    sdv_url = reverse("patients:sdv", kwargs={"subject_id": patient.subject_id})
    assert client.post(sdv_url, {"record": f"clinical-progression:{number}"}).status_code == 404
    client.force_login(casebook.cast.user(Role.SPONSOR_ADMIN))
    assert client.get(reverse("tokens:admin_list"), {"user": number}).status_code == 200


def test_a_username_too_long_to_log_is_refused_by_the_sign_in_form(client: Any, casebook: Casebook) -> None:
    """Django's sign-in form never checks the username's length; django-axes then logged the failure in a column of
    255 characters, which PostgreSQL refused (500)."""
    before = fingerprint()
    response = client.post(reverse("login"), {"username": "a" * 5000, "password": "x"})
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert fingerprint() == before
