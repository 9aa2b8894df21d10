"""What the hostile-input tests share: the payloads, Hypothesis strategies built from a form's own fields, a
fingerprint of the clinical tables (to prove a refused write changed nothing) and one Hypothesis profile.

Strategies mix plausible values (so some examples get past the form and reach the services) with hostile ones:
unicode of every category but surrogates (an HTTP client cannot encode them), control characters and NUL bytes,
huge strings, numbers out of range, NaN/inf spellings, malformed dates, wrong choice values, missing fields and
fields the form does not have.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django import forms
from django.apps import apps
from django.contrib.messages import ERROR
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Every form gets this many examples: enough to find the classic crashes, small enough for CI (issue 9). Raise it
#: locally to fuzz harder (``HOSTILE_EXAMPLES=200``); derandomized, so a failure reproduces.
FORM_EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "12"))

hostile_settings = settings(
    max_examples=FORM_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # each example runs in a savepoint rolled back at its end
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

SQL_INJECTION = (
    "'; DROP TABLE patients_patient; --",
    "1' OR '1'='1",
    "1; SELECT pg_sleep(5); --",
    '" OR ""="',
    "') UNION SELECT username, password FROM trials_user --",
)
HTML_INJECTION = (
    "<script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "</textarea><script>alert(1)</script>",
    "<svg/onload=alert(1)>",
)
TEMPLATE_INJECTION = ("{{7*7}}", "{% debug %}", "${7*7}", "#{7*7}", "{{ request.user.password }}")
UNICODE_TRICKS = (
    "\u202eevil\u202c",  # right-to-left override
    "\u200b\u200d\ufeff",  # zero-width characters and a byte-order mark
    "Zoë Ångström – ĳ ß ﬁ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "e\u0301\u0301\u0301",  # combining marks
)
CONTROL = ("\x00", "a\x00b", "\x07\x08\x0b\x0c\x1b[31m", "\r\n\r\n", "\t", "\x7f")
FORMULAS = ("=1+1", '=HYPERLINK("http://example.invalid","x")', "+1+1", "-1+1", "@SUM(A1)", "=cmd|' /C calc'!A0")

#: Every free-text payload the injection tests store and render.
PAYLOADS: tuple[str, ...] = SQL_INJECTION + HTML_INJECTION + TEMPLATE_INJECTION + UNICODE_TRICKS + FORMULAS

NUMBER_SPELLINGS = (
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e309",
    "-1e309",
    "1e-400",
    "-0",
    "0x1F",
    "1_000",
    "½",
    "٣",  # an Arabic-Indic digit: Python's int() reads it
    "1,5",
    "1.5",
    " 7 ",
    "9" * 40,
    "-" + "9" * 40,
    "99999999999999999999",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
)
DATE_SPELLINGS = (
    "2025-02-30",
    "2025-13-01",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "-2025-01-01",
    "31/12/2025",
    "12/31/2025",
    "2025",
    "2025-06",
    "2025-6-1",
    "2025-01-01T00:00:00",
    "1899-12-31",
    "1900-01-01",
    "2100-01-01",
    "today",
)

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
huge = st.builds(lambda char, size: char * size, st.sampled_from("A\x00é𝕏<'"), st.integers(5_000, 60_000))
hostile_text = st.one_of(
    text, st.sampled_from(PAYLOADS + CONTROL), huge, st.sampled_from(NUMBER_SPELLINGS + DATE_SPELLINGS)
)
numbers = st.one_of(
    st.integers().map(str),
    st.integers(-5, 300).map(str),
    st.sampled_from(NUMBER_SPELLINGS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    hostile_text,
)
dates = st.one_of(
    st.dates().map(str),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)).map(str),
    st.sampled_from(DATE_SPELLINGS),
    hostile_text,
)
booleans = st.one_of(st.sampled_from(["on", "true", "false", "True", "0", "1", "", "yes", "off"]), text)
#: Names a form does not declare: a mass-assignment attempt must be ignored, never saved.
EXTRA_FIELDS = (
    "id",
    "pk",
    "site",
    "site_id",
    "patient",
    "patient_id",
    "status",
    "version",
    "created_at",
    "completed_at",
    "investigator_confirmed_by",
    "is_superuser",
    "is_staff",
    "role",
    "subject_id",
    "computed_response",
    "csrfmiddlewaretoken",
)


def _choice_values(field: forms.ChoiceField) -> list[str]:
    values: list[str] = []
    for value, label in field.choices:  # type: ignore[union-attr, misc]
        if isinstance(label, list | tuple):  # an optgroup
            values += [str(v) for v, _ in label]
        else:
            values.append(str(getattr(value, "value", value)))
    return values


def _pks(field: forms.ModelChoiceField) -> list[str]:  # type: ignore[type-arg]
    assert field.queryset is not None
    return [str(pk) for pk in field.queryset.values_list("pk", flat=True)[:20]]


def field_strategy(field: forms.Field) -> st.SearchStrategy[Any]:
    """Values for one form field: its own valid values half the time, anything hostile otherwise."""
    if isinstance(field, forms.ModelMultipleChoiceField | forms.MultipleChoiceField):
        valid = _choice_values(field) if not isinstance(field, forms.ModelChoiceField) else []
        if isinstance(field, forms.ModelMultipleChoiceField):
            valid = _pks(field)
        item = st.one_of(st.sampled_from(valid), hostile_text) if valid else hostile_text
        return st.lists(item, max_size=4)
    if isinstance(field, forms.ModelChoiceField):
        valid = _pks(field)
        wrong = st.sampled_from(["0", "-1", "99999999999999999999999", "1.5", "abc", "1 OR 1=1"])
        return st.one_of(st.sampled_from(valid), wrong, hostile_text) if valid else st.one_of(wrong, hostile_text)
    if isinstance(field, forms.ChoiceField):
        valid = _choice_values(field)
        return st.one_of(st.sampled_from(valid), hostile_text) if valid else hostile_text
    if isinstance(field, forms.BooleanField | forms.NullBooleanField):
        return booleans
    if isinstance(field, forms.DateField | forms.DateTimeField):
        return dates
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        return numbers
    if any(getattr(validator, "__name__", "") == "validate_partial_date" for validator in field.validators):
        return dates  # a partial date ("2019-04") is a CharField
    return hostile_text


def form_data(fields: dict[str, forms.Field], *, prefix: str = "", fixed: dict[str, Any] | None = None) -> Any:
    """A POST body for ``fields``: each field present or missing, plus a few fields the form does not have."""
    optional = {f"{prefix}{name}": field_strategy(field) for name, field in fields.items()}
    extras = st.dictionaries(st.one_of(st.sampled_from(EXTRA_FIELDS), text), hostile_text, max_size=3)
    return st.tuples(st.fixed_dictionaries({}, optional=optional), extras).map(
        lambda parts: {**parts[1], **parts[0], **(fixed or {})}
    )


#: The apps whose tables hold the trial's data (and its audit trail): a refused write must leave every one as it was.
DATA_APPS = ("trials", "patients", "lesions", "outcomes")


def fingerprint() -> dict[str, int]:
    """Row counts of every table of the data apps, history tables included (a half-saved record shows here).

    One query for all of them: the check runs twice per example."""
    tables = sorted({model._meta.db_table for app in DATA_APPS for model in apps.get_app_config(app).get_models()})
    quote = connection.ops.quote_name
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(table)})" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        row = cursor.fetchone()
    return dict(zip(tables, row, strict=True))


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run one Hypothesis example inside a savepoint that is rolled back after it: examples stay independent."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def refused(response: Any) -> bool:
    """Whether the view refused the write: anything but a redirect, or a redirect carrying an error message."""
    if response.status_code != 302:
        return True
    # Only the messages this request added: the cookie may still carry an earlier example's, never displayed.
    added = getattr(response.wsgi_request, "_messages", None)
    return any(message.level >= ERROR for message in getattr(added, "_queued_messages", []))


def assert_errors_keyed_by_field(form: forms.BaseForm) -> None:
    """An invalid form names the fields at fault (or the form as a whole), never an unknown key."""
    assert not form.is_valid()
    unknown = set(form.errors) - set(form.fields) - {NON_FIELD_ERRORS}
    assert not unknown, f"errors keyed by names the form does not have: {unknown}"
    assert all(form.errors[name] for name in form.errors)
