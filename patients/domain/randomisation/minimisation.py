"""Pocock-Simon minimisation with a random element (clinical-spec §6.1, decision D17 alternative method).

Pocock SJ, Simon R. Sequential treatment assignment with balancing for prognostic factors in the controlled clinical
trial. *Biometrics* 1975;31:103-115. Pocock SJ. Allocation of patients to treatment in clinical trials.
*Biometrics* 1979;35:183-197. Rosenberger WF, Lachin JM. *Randomization in Clinical Trials*, 2nd ed., Wiley 2016
(covariate-adaptive randomisation).

For each candidate arm the new patient is added hypothetically; for each factor, the imbalance of the arm counts at
the patient's level is measured (range by default, or variance); the imbalances are summed over factors, optionally
weighted. The arm with the smallest total is preferred and given probability ``p``; the other arms share ``1 - p``
equally. ICH E9 §2.3.2 accepts dynamic allocation only with a random element ("deterministic dynamic allocation
procedures should be avoided"), hence ``p`` < 1 in practice (D17: 0.8); ``p = 1`` is Taves' deterministic
minimisation (Taves 1974), kept for simulations.

Ties: when every arm has the same total there is no preferred arm and the arm is drawn uniformly with ``tie_draw``.
When some but not all arms share the smallest total (three or more arms), ``tie_draw`` picks the preferred arm
among them uniformly and ``draw`` then applies as usual.

The function is pure: the two random numbers are inputs. The service draws them with ``secrets.SystemRandom().random()``
(a CSPRNG, clinical-spec §6.2) inside the trial-level lock (§6.3) and stores the returned ``MinimisationDecision``,
which holds the counts at the patient's levels, the scores, the preferred arm and both draws, so that re-running
``minimise`` on the stored record reproduces the allocation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Final, TypeAlias

__all__ = [
    "MINIMISATION_VERSION",
    "ImbalanceMeasure",
    "MinimisationDecision",
    "marginal_counts",
    "minimise",
]

MINIMISATION_VERSION: Final = "pocock-simon/1"

Weight: TypeAlias = int | float | Fraction | Decimal
Counts: TypeAlias = Mapping[str, Mapping[str, Mapping[str, int]]]
"""factor → level → arm → number of patients already allocated."""
Exact: TypeAlias = int | Fraction
"""An exact rational: an ``int`` while everything is integral (range measure, integer weights), else a ``Fraction``.
Exact arithmetic makes equal totals compare equal, so ties are real ties."""


class ImbalanceMeasure(StrEnum):
    """How the imbalance of arm counts at one factor level is measured (Pocock & Simon 1975, §3)."""

    RANGE = "range"  # max - min of the counts
    VARIANCE = "variance"  # population variance of the counts


@dataclass(frozen=True, slots=True)
class MinimisationDecision:
    """A minimisation allocation and everything needed to audit or replay it.

    ``level_counts`` are the counts at the patient's levels before the allocation (factor → arm → n).
    ``factor_imbalance[arm][factor]`` is the imbalance at that factor if the patient went to ``arm``; ``scores[arm]``
    is their weighted sum. ``tied_arms`` share the smallest score; ``preferred_arm`` is the arm given probability
    ``p`` (None when every arm ties). ``probabilities`` are the allocation probabilities actually used.
    """

    arms: tuple[str, ...]
    patient_levels: Mapping[str, str]
    level_counts: Mapping[str, Mapping[str, int]]
    measure: ImbalanceMeasure
    weights: Mapping[str, Exact]
    factor_imbalance: Mapping[str, Mapping[str, Exact]]
    scores: Mapping[str, Exact]
    tied_arms: tuple[str, ...]
    preferred_arm: str | None
    p: float
    probabilities: Mapping[str, float]
    draw: float
    tie_draw: float
    chosen_arm: str
    algorithm_version: str = MINIMISATION_VERSION

    @property
    def followed_preference(self) -> bool | None:
        """Whether the preferred arm was chosen; None when every arm tied (no preference to follow)."""
        return None if self.preferred_arm is None else self.chosen_arm == self.preferred_arm

    def as_record(self) -> dict[str, object]:
        """A JSON-ready record of the decision (fractions as ``"n/d"`` strings, floats as given)."""
        return {
            "algorithm_version": self.algorithm_version,
            "arms": list(self.arms),
            "patient_levels": dict(self.patient_levels),
            "level_counts": {factor: dict(counts) for factor, counts in self.level_counts.items()},
            "measure": self.measure.value,
            "weights": {factor: str(weight) for factor, weight in self.weights.items()},
            "factor_imbalance": {
                arm: {factor: str(value) for factor, value in by_factor.items()}
                for arm, by_factor in self.factor_imbalance.items()
            },
            "scores": {arm: str(score) for arm, score in self.scores.items()},
            "tied_arms": list(self.tied_arms),
            "preferred_arm": self.preferred_arm,
            "p": self.p,
            "probabilities": dict(self.probabilities),
            "draw": self.draw,
            "tie_draw": self.tie_draw,
            "chosen_arm": self.chosen_arm,
        }


def marginal_counts(allocations: Iterable[tuple[Mapping[str, str], str]]) -> dict[str, dict[str, dict[str, int]]]:
    """Tally previous allocations, given as ``(factor levels, arm)`` pairs, into the ``counts`` ``minimise`` takes.

    Minimisation balances the margins (each factor level separately), not the cross-classified strata
    (Pocock & Simon 1975).
    """
    counts: defaultdict[str, defaultdict[str, defaultdict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    for levels, arm in allocations:
        for factor, level in levels.items():
            counts[factor][level][arm] += 1
    return {factor: {level: dict(by_arm) for level, by_arm in by_level.items()} for factor, by_level in counts.items()}


def _imbalance(values: Sequence[int], measure: ImbalanceMeasure) -> Exact:
    if measure is ImbalanceMeasure.RANGE:
        return max(values) - min(values)
    # population variance  Σ(x - mean)² / k  =  (k Σx² - (Σx)²) / k²
    k = len(values)
    variance = Fraction(k * sum(value * value for value in values) - sum(values) ** 2, k * k)
    return int(variance) if variance.denominator == 1 else variance


def _exact_weight(factor: str, weight: Weight) -> Exact:
    """Weights as exact fractions so that equal totals compare equal (0.1 + 0.2 ties with 0.3)."""
    if isinstance(weight, bool) or not isinstance(weight, int | float | Fraction | Decimal):
        raise ValueError(f"The weight of {factor!r} must be a number, got {weight!r}.")
    try:
        exact = Fraction(repr(weight)) if isinstance(weight, float) else Fraction(weight)
    except (ValueError, OverflowError):
        raise ValueError(f"The weight of {factor!r} must be finite, got {weight!r}.") from None
    if exact < 0:
        raise ValueError(f"The weight of {factor!r} must not be negative, got {weight!r}.")
    return int(exact) if exact.denominator == 1 else exact


def _check_unit_interval(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}.")


def _pick(options: Sequence[str], u: float) -> str:
    """The option at ``floor(u * len(options))``; clamped because u * n may round up to n."""
    return options[min(int(u * len(options)), len(options) - 1)]


def minimise(
    *,
    counts: Counts,
    patient_levels: Mapping[str, str],
    arms: Sequence[str] = ("A", "B"),
    p: float | Decimal | Fraction = 0.8,
    weights: Mapping[str, Weight] | None = None,
    measure: ImbalanceMeasure = ImbalanceMeasure.RANGE,
    draw: float,
    tie_draw: float,
) -> MinimisationDecision:
    """Allocate the next patient by Pocock-Simon minimisation (Pocock & Simon 1975; Pocock 1979).

    ``counts[factor][level][arm]`` are the patients already allocated (missing entries count 0);
    ``patient_levels`` the new patient's level of each factor (only these factors count). ``weights`` default to 1
    per factor; ``p`` may be the trial setting's ``Decimal``. ``draw`` and ``tie_draw`` are uniform numbers in
    [0, 1) from a CSPRNG: with a unique preferred arm it is chosen when ``draw < p``; otherwise the other arms split
    [p, 1) equally in the order of ``arms``. ``tie_draw`` breaks ties (module docstring).

    Raises ``ValueError`` for fewer than two or repeated arms, no factors, counts naming an unknown arm or negative,
    weights for unknown factors or negative, ``p`` outside [1/len(arms), 1], or draws outside [0, 1).
    """
    if isinstance(arms, str):
        raise ValueError(f"Give the arms as a sequence of codes, not the single string {arms!r}.")
    arm_codes = tuple(arms)
    if len(arm_codes) < 2 or len(set(arm_codes)) != len(arm_codes):
        raise ValueError(f"Minimisation needs at least two distinct arms, got {list(arm_codes)}.")
    if not patient_levels:
        raise ValueError("The patient's factor levels are missing: minimisation needs at least one factor.")
    if isinstance(p, bool) or not isinstance(p, int | float | Decimal | Fraction) or not 1 / len(arm_codes) <= p <= 1:
        raise ValueError(f"p must lie between 1/{len(arm_codes)} and 1, got {p!r}.")
    p = float(p)  # the trial setting is a Decimal (0.80); the draws are floats
    _check_unit_interval("draw", draw)
    _check_unit_interval("tie_draw", tie_draw)
    exact_weights: dict[str, Exact] = dict.fromkeys(patient_levels, 1)
    if weights:
        unknown = set(weights) - set(patient_levels)
        if unknown:
            raise ValueError(f"Weights given for factors the patient has no level for: {sorted(unknown)}.")
        exact_weights.update({factor: _exact_weight(factor, weight) for factor, weight in weights.items()})

    level_counts: dict[str, dict[str, int]] = {}
    for factor, level in patient_levels.items():
        at_level = counts.get(factor, {}).get(level, {})
        strange = set(at_level) - set(arm_codes)
        if strange:
            raise ValueError(f"Counts for {factor}={level} name unknown arms {sorted(strange)}.")
        level_counts[factor] = {arm: at_level.get(arm, 0) for arm in arm_codes}
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in level_counts[factor].values()):
            raise ValueError(f"Counts for {factor}={level} must be non-negative integers, got {dict(at_level)}.")

    factor_imbalance: dict[str, dict[str, Exact]] = {}
    for candidate in arm_codes:
        factor_imbalance[candidate] = {
            factor: _imbalance([n + (arm == candidate) for arm, n in by_arm.items()], measure)
            for factor, by_arm in level_counts.items()
        }
    scores = {
        arm: sum((exact_weights[factor] * value for factor, value in by_factor.items()), 0)
        for arm, by_factor in factor_imbalance.items()
    }
    best = min(scores.values())
    tied = tuple(arm for arm in arm_codes if scores[arm] == best)

    preferred: str | None
    if len(tied) == len(arm_codes):
        preferred = None
        chosen = _pick(arm_codes, tie_draw)
        probabilities = dict.fromkeys(arm_codes, 1 / len(arm_codes))
    else:
        preferred = _pick(tied, tie_draw)
        others = tuple(arm for arm in arm_codes if arm != preferred)
        chosen = preferred if draw < p else _pick(others, (draw - p) / (1 - p))
        probabilities = {arm: p if arm == preferred else (1 - p) / len(others) for arm in arm_codes}

    return MinimisationDecision(
        arms=arm_codes,
        patient_levels=MappingProxyType(dict(patient_levels)),
        level_counts=MappingProxyType({f: MappingProxyType(c) for f, c in level_counts.items()}),
        measure=measure,
        weights=MappingProxyType(exact_weights),
        factor_imbalance=MappingProxyType({a: MappingProxyType(i) for a, i in factor_imbalance.items()}),
        scores=MappingProxyType(scores),
        tied_arms=tied,
        preferred_arm=preferred,
        p=p,
        probabilities=MappingProxyType(probabilities),
        draw=draw,
        tie_draw=tie_draw,
        chosen_arm=chosen,
    )
