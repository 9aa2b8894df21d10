"""Partial dates for history items (decisions D21): "2019", "2019-04" or "2019-04-17"; never for endpoint dates."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def parse_partial_date(value: str) -> tuple[int, int | None, int | None]:
    match = _PARTIAL.match(value or "")
    if not match:
        raise ValidationError("Use YYYY, YYYY-MM or YYYY-MM-DD (a partial date is allowed here).")
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        date(year, month or 1, day or 1)
    except ValueError as error:
        raise ValidationError("This is not a real date.") from error
    if year < 1900:
        raise ValidationError("The year must be 1900 or later.")
    return year, month, day


def partial_date_earliest(value: str) -> date:
    """The first day the partial date can mean (for ordering checks: a partial date is 'not after' when it may be)."""
    year, month, day = parse_partial_date(value)
    return date(year, month or 1, day or 1)


def partial_date_latest(value: str) -> date:
    year, month, day = parse_partial_date(value)
    if month is None:
        return date(year, 12, 31)
    if day is None:
        next_month = date(year + (month == 12), month % 12 + 1, 1)
        return date.fromordinal(next_month.toordinal() - 1)
    return date(year, month, day)


def validate_partial_date(value: str) -> None:
    parse_partial_date(value)
    if partial_date_earliest(value) > date.today():
        raise ValidationError("A date cannot be in the future.")


class PartialDateField(models.CharField):  # type: ignore[type-arg]
    description = "A partial date: YYYY, YYYY-MM or YYYY-MM-DD"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("help_text", "YYYY, YYYY-MM or YYYY-MM-DD")
        super().__init__(*args, **kwargs)
        self.validators.append(validate_partial_date)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("help_text", None) if kwargs.get("help_text") == "YYYY, YYYY-MM or YYYY-MM-DD" else None
        return name, path, args, kwargs
