"""Reads of randomisation: published commitments, concealed lists, allocations and the balance report.

Concealment (clinical-spec §6.2): list rows, seeds' references and minimisation states are read only with
``Capability.MANAGE_RANDOMISATION`` (statistician, sponsor admin). A patient's allocation is read in the patient's
scope by the roles that open casebooks (the arm is no secret once allocated in an open-label trial), never by the
trial manager. The balance report by arm is the statistician's; trial managers get enrolment counts by site only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404

from trials.models import Trial
from trials.permissions import Capability, require
from trials.selectors import analysis_settings_current

from .models import Patient
from .randomisation import Allocation, AllocationList, AllocationListRow, StratificationCorrection


@dataclass(frozen=True)
class PublishedList:
    """What every role may see of a list: enough to verify it later, nothing about its rows."""

    version: int
    generator_version: str
    commitment: str
    created_at: Any
    active: bool
    locked: bool


def published_lists(*, trial: Trial) -> list[PublishedList]:
    return [
        PublishedList(version, generator, commitment, created_at, superseded_at is None, locked)
        for version, generator, commitment, created_at, superseded_at, locked in trial.allocation_lists.order_by(
            "-version"
        ).values_list("version", "generator_version", "commitment", "created_at", "superseded_at", "locked")
    ]


def allocation_list_get(*, user: Any, trial: Trial, version: int) -> AllocationList:
    require(user, Capability.MANAGE_RANDOMISATION)
    allocation_list: AllocationList = get_object_or_404(
        AllocationList.objects.select_related("created_by"), trial=trial, version=version
    )
    return allocation_list


def allocation_list_rows(*, user: Any, allocation_list: AllocationList) -> QuerySet[AllocationListRow]:
    """The concealed rows, with the patient each used row went to."""
    require(user, Capability.MANAGE_RANDOMISATION)
    return allocation_list.rows.select_related("allocation__patient").order_by("stratum", "sequence")


def allocation_get(*, user: Any, patient: Patient) -> Allocation:
    """The patient's allocation, in the user's scope, for the roles that read casebooks; else 404."""
    require(user, Capability.VIEW_PATIENTS)
    allocation: Allocation = get_object_or_404(
        Allocation.objects.for_user(user).select_related("arm", "patient", "allocated_by", "allocation_list"),
        patient=patient,
    )
    return allocation


def allocation_corrections(*, allocation: Allocation) -> QuerySet[StratificationCorrection]:
    return allocation.corrections.select_related("corrected_by").order_by("corrected_at", "pk")


def stratum_labels(*, trial: Trial) -> dict[str, str]:
    """``ai|1`` → ``Aromatase inhibitor × 1``, from the trial's strata definition."""
    definition = analysis_settings_current(trial=trial).strata_definition or {}
    labels: dict[str, str] = {"": "—"}
    factors = [
        {level["code"]: level.get("label", level["code"]) for level in factor.get("levels", [])}
        for factor in definition.get("factors", [])
    ]
    codes: list[list[tuple[str, str]]] = [[]]
    for levels in factors:
        codes = [[*prefix, item] for prefix in codes for item in levels.items()]
    for combination in codes:
        if combination:
            labels["|".join(c for c, _ in combination)] = " × ".join(label for _, label in combination)
    return labels


@dataclass
class BalanceRow:
    label: str
    counts: dict[str, int] = field(default_factory=dict)

    def of(self, arms: list[str]) -> list[int]:
        return [self.counts.get(arm, 0) for arm in arms]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def difference(self) -> int:
        """Largest minus smallest arm count."""
        values = list(self.counts.values()) or [0]
        return max(values) - min(values)


@dataclass
class BalanceReport:
    """Arm counts by stratum (as randomised), site and month, and the stratification corrections (DMC report)."""

    trial: Trial
    arms: list[str]
    overall: BalanceRow
    by_stratum: list[BalanceRow]
    by_site: list[BalanceRow]
    by_month: list[tuple[BalanceRow, BalanceRow]]  # (that month, cumulative to the end of that month)
    corrections: list[StratificationCorrection]


def _rows(pairs: list[tuple[str, str, int]], arms: list[str]) -> list[BalanceRow]:
    grouped: dict[str, BalanceRow] = {}
    for label, arm, n in pairs:
        grouped.setdefault(label, BalanceRow(label)).counts[arm] = n
    for row in grouped.values():  # every arm, in the arms' order, so the columns line up
        row.counts = {arm: row.counts.get(arm, 0) for arm in arms}
    return [grouped[label] for label in sorted(grouped)]


def balance_report(*, user: Any, trial: Trial) -> BalanceReport:
    require(user, Capability.MANAGE_RANDOMISATION)
    allocations = Allocation.objects.for_user(user).filter(trial=trial)
    arms = list(trial.arms.order_by("code").values_list("code", flat=True))
    labels = stratum_labels(trial=trial)

    def tally(key: str) -> list[tuple[str, str, int]]:
        return [
            (str(value), arm, n)
            for value, arm, n in allocations.values_list(key, "arm__code").annotate(n=Count("id")).order_by()
        ]

    by_stratum = _rows(tally("stratum"), arms)
    for row in by_stratum:
        row.label = labels.get(row.label, row.label)
    months: list[tuple[str, str, int]] = [
        (month.strftime("%Y-%m") if isinstance(month, date) else str(month), arm, n)
        for month, arm, n in allocations.annotate(month=TruncMonth("allocated_at"))
        .values_list("month", "arm__code")
        .annotate(n=Count("id"))
        .order_by()
    ]
    monthly = _rows(months, arms)
    cumulative: dict[str, int] = defaultdict(int)
    by_month = []
    for row in monthly:
        for arm, n in row.counts.items():
            cumulative[arm] += n
        by_month.append((row, BalanceRow(row.label, {arm: cumulative[arm] for arm in arms})))
    overall = BalanceRow("All", {arm: 0 for arm in arms})
    for _, arm, n in tally("trial_id"):
        overall.counts[arm] = n
    corrections = list(
        StratificationCorrection.objects.for_user(user)
        .filter(allocation__trial=trial)
        .select_related("allocation__patient", "corrected_by")
        .order_by("corrected_at", "pk")
    )
    return BalanceReport(
        trial=trial,
        arms=arms,
        overall=overall,
        by_stratum=by_stratum,
        by_site=_rows(tally("site__code"), arms),
        by_month=by_month,
        corrections=corrections,
    )


@dataclass(frozen=True)
class SiteEnrolment:
    site_code: str
    site_name: str
    enrolled: int


def enrolment_counts(*, user: Any, trial: Trial) -> list[SiteEnrolment]:
    """Patients allocated (randomised or registered) per site: no arm, no stratum (trial managers)."""
    require(user, Capability.VIEW_ENROLMENT_COUNTS)
    return [
        SiteEnrolment(code, name, n)
        for code, name, n in Allocation.objects.for_user(user)
        .filter(trial=trial)
        .values_list("site__code", "site__name")
        .annotate(n=Count("id"))
        .order_by("site__code")
    ]
