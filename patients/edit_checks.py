"""Edit checks: small declared rules, one rule set per case report form, run the same way for every write.

A rule is a function ``(record, context) -> iterable of Finding``. ``record`` is the unsaved model instance with the
submitted values; ``context`` gives today's date and, lazily, the patient's other records (for cross-form checks).
Rules never see a request, so they are tested on their own. The CRF service runs them for web forms, API writes,
imports and tasks alike.

Severity: an ERROR blocks the save and names the field; a WARNING lets a completed form save and raises an automatic
query on that field (closed automatically once the data satisfies the rule again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    field: str
    message: str
    code: str
    severity: Severity = Severity.ERROR


@dataclass
class CheckContext:
    """What a rule may consult besides the record itself. ``lookup`` memoises cross-form reads."""

    patient: Any
    today: date
    completing: bool = False
    user: Any = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def lookup(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]


Rule = Callable[[Any, CheckContext], Iterable[Finding]]


@dataclass(frozen=True)
class RuleSet:
    rules: Sequence[Rule] = ()

    def run(self, record: Any, context: CheckContext) -> list[Finding]:
        findings: list[Finding] = []
        for rule in self.rules:
            findings.extend(rule(record, context))
        return findings

    def __add__(self, other: RuleSet) -> RuleSet:
        return RuleSet((*self.rules, *other.rules))


# Building blocks ------------------------------------------------------------------------------------------------


def _label(record: Any, name: str) -> str:
    try:
        return str(record._meta.get_field(name).verbose_name).capitalize()
    except (AttributeError, LookupError):
        return name.replace("_", " ").capitalize()


def in_range(
    name: str, low: Decimal | int | None, high: Decimal | int | None, *, unit: str = "", exclusive: bool = False
) -> Rule:
    """The value, when given, lies within [low, high] (or (low, high) when ``exclusive``)."""

    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        value = getattr(record, name, None)
        if value is None:
            return
        too_low = low is not None and (value <= low if exclusive else value < low)
        too_high = high is not None and (value >= high if exclusive else value > high)
        if too_low or too_high:
            bounds = (
                f"between {low} and {high}"
                if low is not None and high is not None
                else (f"at least {low}" if low is not None else f"at most {high}")
            )
            if exclusive and low is not None and high is not None:
                bounds = f"more than {low} and less than {high}"
            suffix = f" {unit}" if unit else ""
            yield Finding(name, f"{_label(record, name)} must be {bounds}{suffix} (got {value}{suffix}).", "range")

    return rule


def not_in_future(*names: str) -> Rule:
    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        for name in names:
            value = getattr(record, name, None)
            if value is not None and value > context.today:
                yield Finding(name, f"{_label(record, name)} cannot be in the future.", "future_date")

    return rule


def date_order(earlier: str, later: str) -> Rule:
    """Two dates of one record in order (equal allowed)."""

    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        first, second = getattr(record, earlier, None), getattr(record, later, None)
        if first is not None and second is not None and second < first:
            yield Finding(
                later, f"{_label(record, later)} cannot be before {_label(record, earlier).lower()}.", "date_order"
            )

    return rule


def not_before_consent(*names: str) -> Rule:
    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        consent = context.patient.consent_date
        for name in names:
            value = getattr(record, name, None)
            if value is not None and value < consent:
                yield Finding(name, f"{_label(record, name)} cannot be before consent ({consent}).", "before_consent")

    return rule


def not_before_enrolment(*names: str) -> Rule:
    """Dates of study events fall on or after registration / randomisation (consent ≤ registration ≤ LAT ≤ …)."""

    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        origin = context.patient.enrolment_date
        if origin is None:
            return
        for name in names:
            value = getattr(record, name, None)
            if value is not None and value < origin:
                yield Finding(
                    name, f"{_label(record, name)} cannot be before enrolment ({origin}).", "before_enrolment"
                )

    return rule


def required_when(name: str, condition: Callable[[Any], bool], message: str) -> Rule:
    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        value = getattr(record, name, None)
        if condition(record) and (value is None or value == ""):
            yield Finding(name, message, "required_when")

    return rule


def rules(*items: Rule) -> RuleSet:
    return RuleSet(items)
