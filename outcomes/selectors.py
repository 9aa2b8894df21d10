"""Reads of derived values."""

from __future__ import annotations

from typing import Any

from .models import TrialSummary


def trial_summaries(*, trial: Any) -> dict[str, TrialSummary]:
    """The stored summaries of a trial by key (e.g. ``"PFS:overall"``)."""
    return {summary.key: summary for summary in TrialSummary.objects.filter(trial=trial)}
