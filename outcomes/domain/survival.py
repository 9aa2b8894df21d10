"""Survival statistics for the COSMO and AVATAR II analyses (clinical-spec §2.2, §2.4, §3).

Pure computation: no Django, no pandas, no lifelines. numpy does the arithmetic and ``scipy.special``
the normal, chi-square and beta quantiles (``scipy.stats`` is avoided for its one-second import).

Conventions, fixed for every function here (clinical-spec §2.1 "Ties", decisions D2, D3, D39):

* Times are survival times already on the analysis scale. For the trials' endpoints they are ADaM
  ``AVAL`` days, i.e. ``end_date - origin_date + 1`` (D2): the caller applies the +1, never this module.
* A patient censored at time t is at risk at t, and events at t are processed before censorings at t
  (R ``survival``, SAS PROC LIFETEST, lifelines).
* Every confidence interval says which transform it uses (:class:`ConfidenceTransform`); log-log is the
  default (lifelines, SAS), "log" is R's ``survfit`` default.

Sources:

* Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. JASA 1958;53:457-481.
* Greenwood M. The natural duration of cancer. Reports on Public Health and Medical Subjects 33, HMSO 1926.
* Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data, 2nd ed. Wiley 2002
  (§1.4 the log-log ("exponential Greenwood") interval, §4.2 the partial likelihood and its tests).
* Brookmeyer R, Crowley J. A confidence interval for the median survival time. Biometrics 1982;38:29-41;
  with the transformed bands of Klein JP, Moeschberger ML, Survival Analysis, 2nd ed., Springer 2003 §4.5.
* Mantel N. Evaluation of survival data and two new rank order statistics. Cancer Chemother Rep 1966;50:163-170;
  Peto R, Peto J. Asymptotically efficient rank invariant test procedures. JRSS A 1972;135:185-207.
* Cox DR. Regression models and life-tables. JRSS B 1972;34:187-220.
* Efron B. The efficiency of Cox's likelihood function for censored data. JASA 1977;72:557-565.
* Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the binomial.
  Biometrika 1934;26:404-413.
* Schemper M, Smith TL. A note on quantifying follow-up in studies of failure time. Control Clin Trials
  1996;17:343-346 (reverse Kaplan-Meier).
* Aalen OO, Johansen S. An empirical transition matrix for non-homogeneous Markov chains based on censored
  observations. Scand J Stat 1978;5:141-150.
* Therneau TM, R package ``survival``: ``survfit`` (confidence transforms), ``quantile.survfit`` (median and
  the midpoint rule on a flat), ``survdiff`` (log-rank), ``coxph`` (Efron ties, Newton-Raphson).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaincinv, chdtrc, ndtri  # type: ignore[import-untyped,unused-ignore]

__all__ = [
    "PFS6_LANDMARK_DAYS",
    "BinomialProportion",
    "ConfidenceTransform",
    "CoxCoefficient",
    "CoxResult",
    "CoxTies",
    "CumulativeIncidenceEstimate",
    "CumulativeIncidenceStep",
    "GlobalTest",
    "KaplanMeierEstimate",
    "KaplanMeierStep",
    "LandmarkProportion",
    "LandmarkStatus",
    "LogRankGroup",
    "LogRankResult",
    "MedianEstimate",
    "SurvivalPoint",
    "clopper_pearson",
    "cox_proportional_hazards",
    "cumulative_incidence",
    "kaplan_meier",
    "landmark_proportion",
    "landmark_status",
    "log_rank_test",
    "median_follow_up",
]

PFS6_LANDMARK_DAYS: Final = 182.625
"""Six months at 30.4375 days a month (clinical-spec C3, D3); the trial setting ``landmark_days``."""

# R quantile.survfit's tolerance for "the curve is exactly at the quantile".
_FLAT_TOLERANCE: Final = math.sqrt(np.finfo(float).eps)

_LOG_LOG_AT_ONE: Final = "log-log confidence limits are undefined at S(t) = 1 (no event up to t): null (D39)"
_UNDEFINED_AT_ZERO: Final = "S(t) = 0: the Greenwood variance and the confidence limits are undefined"


class ConfidenceTransform(StrEnum):
    """Scale on which the pointwise confidence interval for S(t) is symmetric."""

    LOG_LOG = "log-log"  # S^exp(±z·√G/|log S|): lifelines, SAS CONFTYPE=LOGLOG (Kalbfleisch & Prentice)
    LOG = "log"  # exp(log S ± z·√G), upper limit capped at 1: R survfit's default
    PLAIN = "plain"  # S ± z·S·√G clipped to [0, 1]: the original Greenwood interval


# --------------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KaplanMeierStep:
    """One distinct observed time of the Kaplan-Meier table (event times and censoring-only times).

    ``greenwood_sum`` is G = Σ d/(n(n - d)) over event times up to this one; Var Ŝ = Ŝ²·G (Greenwood 1926).
    It, the standard error and the limits are None once Ŝ reaches 0.
    """

    time: float
    at_risk: int
    events: int
    censored: int
    survival: float
    greenwood_sum: float | None
    standard_error: float | None
    lower: float | None
    upper: float | None
    event_labels: tuple[str, ...] = ()
    censored_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class SurvivalPoint:
    """Ŝ(t) read off the right-continuous step function: events at times ≤ t count."""

    time: float
    survival: float
    standard_error: float | None
    lower: float | None
    upper: float | None
    at_risk: int
    transform: ConfidenceTransform
    confidence_level: float
    note: str | None = None


@dataclass(frozen=True)
class MedianEstimate:
    """Median survival with its Brookmeyer-Crowley interval on the same transform as the KM band.

    None means "not reached" (the curve, or the band's limit, never falls to 0.5).
    """

    median: float | None
    lower: float | None
    upper: float | None
    transform: ConfidenceTransform
    confidence_level: float
    note: str | None = None


@dataclass(frozen=True)
class KaplanMeierEstimate:
    """The Kaplan-Meier step table and the read-outs the analyses need."""

    steps: tuple[KaplanMeierStep, ...]
    subjects: int
    events: int
    transform: ConfidenceTransform
    confidence_level: float

    @property
    def event_steps(self) -> tuple[KaplanMeierStep, ...]:
        """Rows with at least one event: R's ``summary(survfit(...))`` table."""
        return tuple(step for step in self.steps if step.events > 0)

    def survival_at(self, time: float) -> SurvivalPoint:
        """Ŝ(t) with Greenwood SE and CI, e.g. ``survival_at(182.625)`` for PFS-6 (§2.2, D9).

        The step function is right-continuous: an event at exactly t lowers Ŝ(t). Beyond the last
        observed time the last value is carried forward, with a note.
        """
        at_risk = self.numbers_at_risk([time])[0]
        previous = [step for step in self.steps if step.time <= time]
        if not previous:
            lower, upper, note = _confidence_limits(1.0, 0.0, self._z, self.transform)
            return SurvivalPoint(
                time=time,
                survival=1.0,
                standard_error=0.0,
                lower=lower,
                upper=upper,
                at_risk=at_risk,
                transform=self.transform,
                confidence_level=self.confidence_level,
                note=note,
            )
        step = previous[-1]
        notes = []
        if step.survival == 1.0 and self.transform is ConfidenceTransform.LOG_LOG:
            notes.append(_LOG_LOG_AT_ONE)
        if step.survival == 0.0:
            notes.append(_UNDEFINED_AT_ZERO)
        if time > self.steps[-1].time and step.survival > 0.0:
            notes.append("t is after the last observed time: the last estimate is carried forward")
        return SurvivalPoint(
            time=time,
            survival=step.survival,
            standard_error=step.standard_error,
            lower=step.lower,
            upper=step.upper,
            at_risk=at_risk,
            transform=self.transform,
            confidence_level=self.confidence_level,
            note="; ".join(notes) or None,
        )

    def numbers_at_risk(self, times: Sequence[float]) -> tuple[int, ...]:
        """Patients still at risk at each time: observed time ≥ t (the risk table under a KM plot)."""
        result = []
        for time in times:
            later = [step.at_risk for step in self.steps if step.time >= time]
            result.append(later[0] if later else 0)
        return tuple(result)

    def median(self) -> MedianEstimate:
        """Median survival and its Brookmeyer-Crowley CI (Brookmeyer & Crowley 1982).

        The CI is the set of t whose pointwise band contains 0.5, found as R ``quantile.survfit`` does:
        lower limit = first time the lower band is ≤ 0.5, upper limit = first time the upper band is
        ≤ 0.5, on the transform of this estimate (so log-log gives the Klein-Moeschberger log-log interval).
        A curve lying exactly at 0.5 over a flat gives the midpoint of the flat (D39, as R); a flat at
        0.5 that runs to the end of follow-up gives the midpoint to the last observed time (as R).
        Undefined band limits (log-log at Ŝ = 1, any transform at Ŝ = 0) are skipped, as R's NAs are.
        """
        times = [step.time for step in self.steps]
        last_time = times[-1]
        median = _first_crossing(times, [step.survival for step in self.steps], 0.5, last_time)
        lower = _first_crossing(times, [step.lower for step in self.steps], 0.5, last_time)
        upper = _first_crossing(times, [step.upper for step in self.steps], 0.5, last_time)
        note = None if median is not None else "median not reached"
        return MedianEstimate(median, lower, upper, self.transform, self.confidence_level, note)

    @property
    def _z(self) -> float:
        return _normal_quantile(self.confidence_level)


def kaplan_meier(
    times: Sequence[float],
    events: Sequence[bool | int],
    *,
    labels: Sequence[str] | None = None,
    transform: ConfidenceTransform | str = ConfidenceTransform.LOG_LOG,
    confidence_level: float = 0.95,
) -> KaplanMeierEstimate:
    """Kaplan-Meier estimate with Greenwood standard errors and pointwise confidence limits.

    Ŝ(t) = Π_{tᵢ ≤ t} (1 - dᵢ/nᵢ) (Kaplan & Meier 1958); Var Ŝ(t) = Ŝ(t)² Σ dᵢ/(nᵢ(nᵢ - dᵢ)) (Greenwood
    1926). ``transform`` picks the CI: log-log (default; Kalbfleisch & Prentice, lifelines, SAS), log (R's
    default) or plain. ``labels`` (e.g. subject identifiers) are carried into each row's event and
    censored lists so that every step of a curve can be traced to its patients.

    ``times`` are survival times (AVAL days, +1 already applied by the caller, D2); ``events`` are
    1/True for an event and 0/False for a censoring. Events at a time are processed before censorings
    at the same time, and a patient censored at t is at risk at t.
    """
    transform = ConfidenceTransform(transform)
    time_array, event_array = _validate_survival_data(times, events)
    _validate_confidence_level(confidence_level)
    if labels is not None and len(labels) != len(time_array):
        raise ValueError("labels must have one entry per observation")
    z = _normal_quantile(confidence_level)

    distinct_times, inverse = np.unique(time_array, return_inverse=True)
    events_at = np.bincount(inverse, weights=event_array.astype(float), minlength=len(distinct_times))
    observed_at = np.bincount(inverse, minlength=len(distinct_times))
    removed_before = np.concatenate(([0], np.cumsum(observed_at)[:-1]))

    steps = []
    survival = 1.0
    greenwood: float | None = 0.0
    for index, time in enumerate(distinct_times):
        at_risk = len(time_array) - int(removed_before[index])
        deaths = int(events_at[index])
        censored = int(observed_at[index]) - deaths
        if deaths:
            survival *= 1.0 - deaths / at_risk
            if deaths == at_risk:
                survival = 0.0
                greenwood = None
            elif greenwood is not None:
                greenwood += deaths / (at_risk * (at_risk - deaths))
        standard_error = None if greenwood is None else survival * math.sqrt(greenwood)
        lower, upper, _ = _confidence_limits(survival, greenwood, z, transform)
        event_labels: tuple[str, ...] = ()
        censored_labels: tuple[str, ...] = ()
        if labels is not None:
            members = np.flatnonzero(inverse == index)
            event_labels = tuple(labels[int(i)] for i in members if event_array[i])
            censored_labels = tuple(labels[int(i)] for i in members if not event_array[i])
        steps.append(
            KaplanMeierStep(
                time=float(time),
                at_risk=at_risk,
                events=deaths,
                censored=censored,
                survival=survival,
                greenwood_sum=greenwood,
                standard_error=standard_error,
                lower=lower,
                upper=upper,
                event_labels=event_labels,
                censored_labels=censored_labels,
            )
        )
    return KaplanMeierEstimate(
        steps=tuple(steps),
        subjects=len(time_array),
        events=int(event_array.sum()),
        transform=transform,
        confidence_level=confidence_level,
    )


def median_follow_up(
    times: Sequence[float],
    events: Sequence[bool | int],
    *,
    transform: ConfidenceTransform | str = ConfidenceTransform.LOG_LOG,
    confidence_level: float = 0.95,
) -> MedianEstimate:
    """Median follow-up by the reverse Kaplan-Meier method (Schemper & Smith 1996).

    The censoring indicator is reversed (censored = "event", event = "censored") and the median of that
    curve is reported with its Brookmeyer-Crowley CI, exactly as ``survfit(Surv(time, 1 - status) ~ 1)``.
    """
    _, event_array = _validate_survival_data(times, events)
    reversed_events = [not event for event in event_array]
    estimate = kaplan_meier(times, reversed_events, transform=transform, confidence_level=confidence_level)
    return estimate.median()


def _confidence_limits(
    survival: float, greenwood: float | None, z: float, transform: ConfidenceTransform
) -> tuple[float | None, float | None, str | None]:
    if greenwood is None or survival <= 0.0:
        return None, None, _UNDEFINED_AT_ZERO
    if survival >= 1.0:
        if transform is ConfidenceTransform.LOG_LOG:
            return None, None, _LOG_LOG_AT_ONE
        return 1.0, 1.0, None
    root_g = math.sqrt(greenwood)
    if transform is ConfidenceTransform.PLAIN:
        half_width = z * survival * root_g
        return max(0.0, survival - half_width), min(1.0, survival + half_width), None
    if transform is ConfidenceTransform.LOG:
        log_s = math.log(survival)
        return math.exp(log_s - z * root_g), min(1.0, math.exp(log_s + z * root_g)), None
    # log-log: the lower limit takes +z (clinical-spec §2.2).
    spread = z * root_g / abs(math.log(survival))
    return survival ** math.exp(spread), survival ** math.exp(-spread), None


def _first_crossing(
    times: Sequence[float], values: Sequence[float | None], level: float, last_time: float
) -> float | None:
    """First time a (non-increasing) curve falls to ``level``, with R's midpoint rule on a flat at it."""
    points = [(time, value) for time, value in zip(times, values, strict=True) if value is not None]
    for index, (time, value) in enumerate(points):
        if value > level + _FLAT_TOLERANCE:
            continue
        if value < level - _FLAT_TOLERANCE:
            return time
        for later_time, later_value in points[index + 1 :]:
            if later_value < level - _FLAT_TOLERANCE:
                return (time + later_time) / 2
        return (time + last_time) / 2
    return None


# --------------------------------------------------------------------------------------------------
# Log-rank
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRankGroup:
    """Observed and expected events of one group, summed over strata."""

    label: str
    subjects: int
    observed: int
    expected: float


@dataclass(frozen=True)
class LogRankResult:
    """(Stratified) log-rank test: χ² = (O - E)ᵀ V⁻ (O - E) on rank(V) degrees of freedom."""

    chi_square: float
    degrees_of_freedom: int
    p_value: float
    groups: tuple[LogRankGroup, ...]
    variance: tuple[tuple[float, ...], ...]
    strata: int
    note: str | None = None


def log_rank_test(
    times: Sequence[float],
    events: Sequence[bool | int],
    groups: Sequence[str],
    *,
    strata: Sequence[str] | None = None,
    group_order: Sequence[str] | None = None,
) -> LogRankResult:
    """Log-rank test for two or more groups, optionally stratified (Mantel 1966; Peto & Peto 1972).

    At each event time the expected events of group g are n_g·d/n and the covariance is the
    hypergeometric d(n - d)/(n - 1)·(n_g/n)(δ_gh - n_h/n). With strata (the randomisation stratification
    factors, clinical-spec §2.4), O - E and V are summed over strata before forming the statistic.
    As R ``survdiff``: groups with no expected events are dropped, the first remaining group is left out
    and the statistic uses a generalised inverse, so df = rank(V).
    """
    time_array, event_array = _validate_survival_data(times, events)
    if len(groups) != len(time_array):
        raise ValueError("groups must have one entry per observation")
    if strata is not None and len(strata) != len(time_array):
        raise ValueError("strata must have one entry per observation")
    labels = _group_order(groups, group_order)
    group_index = np.array([labels.index(group) for group in groups], dtype=np.intp)
    stratum_labels = list(strata) if strata is not None else ["" for _ in groups]

    k = len(labels)
    observed = np.zeros(k)
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    for stratum in sorted(set(stratum_labels)):
        mask = np.array([label == stratum for label in stratum_labels], dtype=bool)
        stratum_times = time_array[mask]
        stratum_events = event_array[mask]
        stratum_groups = group_index[mask]
        event_times = np.unique(stratum_times[stratum_events])
        if event_times.size == 0:
            continue
        at_risk = np.zeros((event_times.size, k))
        deaths = np.zeros((event_times.size, k))
        for g in range(k):
            group_times = np.sort(stratum_times[stratum_groups == g])
            group_event_times = np.sort(stratum_times[(stratum_groups == g) & stratum_events])
            at_risk[:, g] = group_times.size - np.searchsorted(group_times, event_times, side="left")
            deaths[:, g] = np.searchsorted(group_event_times, event_times, side="right") - np.searchsorted(
                group_event_times, event_times, side="left"
            )
        n = at_risk.sum(axis=1)
        d = deaths.sum(axis=1)
        share = at_risk / n[:, None]
        weight = np.where(n > 1, d * (n - d) / np.maximum(n - 1, 1), 0.0)
        observed += deaths.sum(axis=0)
        expected += (share * d[:, None]).sum(axis=0)
        variance += np.diag((weight[:, None] * share).sum(axis=0)) - (weight[:, None] * share).T @ share

    informative = np.flatnonzero(expected > 0)[1:]
    difference = (observed - expected)[informative]
    reduced = variance[np.ix_(informative, informative)]
    rank = int(np.linalg.matrix_rank(reduced)) if informative.size else 0
    note = None
    if rank == 0:
        chi_square = 0.0
        p_value = 1.0
        note = "no information: fewer than two groups at risk at any event time"
    else:
        chi_square = float(difference @ np.linalg.pinv(reduced) @ difference)
        p_value = _chi_square_survival(chi_square, rank)
    return LogRankResult(
        chi_square=chi_square,
        degrees_of_freedom=rank,
        p_value=p_value,
        groups=tuple(
            LogRankGroup(
                label=label,
                subjects=int((group_index == g).sum()),
                observed=int(observed[g]),
                expected=float(expected[g]),
            )
            for g, label in enumerate(labels)
        ),
        variance=tuple(tuple(float(value) for value in row) for row in variance),
        strata=len(set(stratum_labels)),
        note=note,
    )


# --------------------------------------------------------------------------------------------------
# Cox proportional hazards
# --------------------------------------------------------------------------------------------------


class CoxTies(StrEnum):
    """Handling of tied event times in the partial likelihood."""

    EFRON = "efron"  # Efron 1977: R coxph and lifelines default
    BRESLOW = "breslow"


@dataclass(frozen=True)
class CoxCoefficient:
    """One covariate: log hazard ratio, Wald SE, z, p and the Wald CI of the hazard ratio."""

    name: str
    coefficient: float
    hazard_ratio: float
    standard_error: float
    z: float
    p_value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class GlobalTest:
    """A chi-square test of all coefficients being zero."""

    statistic: float
    degrees_of_freedom: int
    p_value: float


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model: coefficients, covariance and the likelihood-ratio, Wald and score tests."""

    coefficients: tuple[CoxCoefficient, ...]
    covariance: tuple[tuple[float, ...], ...]
    ties: CoxTies
    log_likelihood: float
    null_log_likelihood: float
    likelihood_ratio: GlobalTest
    wald: GlobalTest
    score: GlobalTest
    subjects: int
    events: int
    strata: int
    iterations: int
    converged: bool
    confidence_level: float
    note: str | None = None

    def coefficient(self, name: str) -> CoxCoefficient:
        """The coefficient of the named covariate."""
        for coefficient in self.coefficients:
            if coefficient.name == name:
                return coefficient
        raise KeyError(name)


def _safe_exp(value: float) -> float:
    """exp() that saturates to 0 or inf instead of raising: a monotone likelihood has huge but finite SEs."""
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def cox_proportional_hazards(
    times: Sequence[float],
    events: Sequence[bool | int],
    covariates: Mapping[str, Sequence[float]],
    *,
    strata: Sequence[str] | None = None,
    ties: CoxTies | str = CoxTies.EFRON,
    confidence_level: float = 0.95,
    tolerance: float = 1e-9,
    max_iterations: int = 50,
) -> CoxResult:
    """Cox proportional-hazards model fitted by Newton-Raphson (Cox 1972; Kalbfleisch & Prentice §4.2).

    ``covariates`` maps a name to one value per patient, e.g. ``{"arm": [0, 1, ...]}`` with 1 for the
    experimental arm, so that the hazard ratio is experimental vs reference. Tied event times use
    Efron's approximation (Efron 1977; R ``coxph`` and lifelines default) or Breslow's. With ``strata``
    each stratum has its own baseline hazard and the partial likelihoods are multiplied.

    Newton-Raphson starts at β = 0, halves a step that lowers the log partial likelihood (as R does),
    and stops when no coefficient moves by more than ``tolerance`` (1e-9, D39). If that does not happen
    within ``max_iterations`` (monotone likelihood: a coefficient heading to ±∞), the result says
    ``converged=False`` and carries a note. Reported: HR = exp(β), Wald SE from the inverse observed
    information, the Wald CI exp(β ± z·SE), and the likelihood-ratio, Wald and score (β = 0) tests.
    """
    ties = CoxTies(ties)
    time_array, event_array = _validate_survival_data(times, events)
    _validate_confidence_level(confidence_level)
    if not covariates:
        raise ValueError("at least one covariate is required")
    names = list(covariates)
    for name in names:
        if len(covariates[name]) != len(time_array):
            raise ValueError(f"covariate {name!r} must have one value per observation")
    design = np.array([[float(value) for value in covariates[name]] for name in names]).T
    if not np.all(np.isfinite(design)):
        raise ValueError("covariate values must be finite")
    if strata is not None and len(strata) != len(time_array):
        raise ValueError("strata must have one entry per observation")
    if not event_array.any():
        raise ValueError("a Cox model needs at least one event")
    # Centring changes neither β nor the log partial likelihood; it keeps exp(xβ) well scaled.
    design = design - design.mean(axis=0)
    stratum_labels = list(strata) if strata is not None else ["" for _ in range(len(time_array))]
    risk_sets = _cox_risk_sets(time_array, event_array, stratum_labels)
    breslow = ties is CoxTies.BRESLOW
    p = len(names)

    beta = np.zeros(p)
    null_log_likelihood, null_score, null_information = _cox_partial_likelihood(design, risk_sets, beta, breslow)
    if np.linalg.matrix_rank(null_information) < p:
        raise ValueError("the information matrix is singular: a covariate is constant or collinear")
    score_statistic = float(null_score @ np.linalg.solve(null_information, null_score))

    log_likelihood, score, information = null_log_likelihood, null_score, null_information
    converged = False
    iterations = 0
    for iteration in range(1, max_iterations + 1):
        iterations = iteration
        try:
            step = np.linalg.solve(information, score)
        except np.linalg.LinAlgError:
            break
        for _ in range(60):
            candidate = beta + step
            new_log_likelihood, new_score, new_information = _cox_partial_likelihood(
                design, risk_sets, candidate, breslow
            )
            if math.isfinite(new_log_likelihood) and new_log_likelihood >= log_likelihood - 1e-12 * abs(log_likelihood):
                break
            step = step / 2
        beta = candidate
        log_likelihood, score, information = new_log_likelihood, new_score, new_information
        if float(np.max(np.abs(step))) < tolerance:
            converged = True
            break

    try:
        covariance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        # The information has vanished: the likelihood is flat at a coefficient heading to infinity.
        covariance = np.full((p, p), np.nan)
        np.fill_diagonal(covariance, np.inf)
    standard_errors = np.sqrt(np.diag(covariance))
    z_level = _normal_quantile(confidence_level)
    coefficients = []
    for index, name in enumerate(names):
        coefficient = float(beta[index])
        standard_error = float(standard_errors[index])
        z = coefficient / standard_error if standard_error > 0 else math.copysign(math.inf, coefficient)
        coefficients.append(
            CoxCoefficient(
                name=name,
                coefficient=coefficient,
                hazard_ratio=_safe_exp(coefficient),
                standard_error=standard_error,
                z=z,
                p_value=_chi_square_survival(z * z, 1),
                lower=_safe_exp(coefficient - z_level * standard_error),
                upper=_safe_exp(coefficient + z_level * standard_error),
            )
        )
    likelihood_ratio = max(0.0, 2.0 * (log_likelihood - null_log_likelihood))
    wald = float(beta @ information @ beta)
    note = None
    if not converged:
        note = (
            f"Newton-Raphson did not converge to {tolerance:g} (stopped after {iterations} iterations): "
            "a coefficient may be infinite (monotone likelihood)"
        )
    return CoxResult(
        coefficients=tuple(coefficients),
        covariance=tuple(tuple(float(value) for value in row) for row in covariance),
        ties=ties,
        log_likelihood=log_likelihood,
        null_log_likelihood=null_log_likelihood,
        likelihood_ratio=GlobalTest(likelihood_ratio, p, _chi_square_survival(likelihood_ratio, p)),
        wald=GlobalTest(wald, p, _chi_square_survival(wald, p)),
        score=GlobalTest(score_statistic, p, _chi_square_survival(score_statistic, p)),
        subjects=len(time_array),
        events=int(event_array.sum()),
        strata=len(set(stratum_labels)),
        iterations=iterations,
        converged=converged,
        confidence_level=confidence_level,
        note=note,
    )


@dataclass(frozen=True)
class _TiedEvents:
    """One distinct event time in one stratum: who dies then, and the risk set as a sorted prefix."""

    stratum: int
    risk_set_end: int  # rows [0, risk_set_end) of the stratum's descending-time order are at risk
    deaths: NDArray[np.intp]  # indices into the original arrays


@dataclass(frozen=True)
class _CoxRiskSets:
    orders: tuple[NDArray[np.intp], ...]  # per stratum: original indices by descending time
    tied_events: tuple[_TiedEvents, ...]


def _cox_risk_sets(times: NDArray[np.float64], events: NDArray[np.bool_], strata: Sequence[str]) -> _CoxRiskSets:
    orders = []
    tied_events = []
    stratum_array = np.array(strata, dtype=object)
    for stratum_number, stratum in enumerate(sorted(set(strata))):
        members = np.flatnonzero(stratum_array == stratum)
        order = members[np.argsort(-times[members], kind="stable")]
        orders.append(order)
        descending_times = times[order]
        for time in np.unique(times[members][events[members]]):
            # In descending order every row with time ≥ t precedes the first row with time < t.
            risk_set_end = int(np.searchsorted(-descending_times, -time, side="right"))
            deaths = members[(times[members] == time) & events[members]]
            tied_events.append(_TiedEvents(stratum_number, risk_set_end, deaths))
    return _CoxRiskSets(tuple(orders), tuple(tied_events))


def _cox_partial_likelihood(
    design: NDArray[np.float64], risk_sets: _CoxRiskSets, beta: NDArray[np.float64], breslow: bool
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """Log partial likelihood, score and observed information with Efron's (or Breslow's) ties.

    Efron 1977: for d tied deaths D at t and risk set R, the denominator for the l-th death
    (l = 0..d-1) is Σ_R w - (l/d)·Σ_D w, with w = exp(xβ). Breslow uses l/d = 0 throughout.
    """
    p = design.shape[1]
    eta = design @ beta
    with np.errstate(over="ignore"):
        weights = np.exp(eta)
    log_likelihood = 0.0
    score = np.zeros(p)
    information = np.zeros((p, p))
    cumulative = []
    for order in risk_sets.orders:
        x = design[order]
        w = weights[order]
        cumulative.append(
            (
                np.cumsum(w),
                np.cumsum(w[:, None] * x, axis=0),
                np.cumsum(w[:, None, None] * x[:, :, None] * x[:, None, :], axis=0),
            )
        )
    for tied in risk_sets.tied_events:
        sum0, sum1, sum2 = cumulative[tied.stratum]
        end = tied.risk_set_end - 1
        risk0, risk1, risk2 = sum0[end], sum1[end], sum2[end]
        x_dead = design[tied.deaths]
        w_dead = weights[tied.deaths]
        deaths = len(tied.deaths)
        dead0 = w_dead.sum()
        dead1 = (w_dead[:, None] * x_dead).sum(axis=0)
        dead2 = (w_dead[:, None, None] * x_dead[:, :, None] * x_dead[:, None, :]).sum(axis=0)
        fraction = np.zeros(deaths) if breslow else np.arange(deaths) / deaths
        denominator = risk0 - fraction * dead0
        mean = (risk1[None, :] - fraction[:, None] * dead1[None, :]) / denominator[:, None]
        second = (risk2[None, :, :] - fraction[:, None, None] * dead2[None, :, :]) / denominator[:, None, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_likelihood += float(eta[tied.deaths].sum() - np.log(denominator).sum())
        score += x_dead.sum(axis=0) - mean.sum(axis=0)
        information += second.sum(axis=0) - mean.T @ mean
    return log_likelihood, score, information


# --------------------------------------------------------------------------------------------------
# PFS-6 crude proportion: landmark classification and Clopper-Pearson
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BinomialProportion:
    """x/n with its Clopper-Pearson exact interval; proportion and limits are None when n = 0."""

    successes: int
    total: int
    proportion: float | None
    lower: float | None
    upper: float | None
    confidence_level: float


def clopper_pearson(successes: int, total: int, *, confidence_level: float = 0.95) -> BinomialProportion:
    """Exact (Clopper & Pearson 1934) interval for a binomial proportion.

    lower = Beta⁻¹(alpha/2; x, n - x + 1) (0 when x = 0), upper = Beta⁻¹(1 - alpha/2; x + 1, n - x) (1 when x = n).
    """
    _validate_confidence_level(confidence_level)
    if total < 0 or successes < 0 or successes > total:
        raise ValueError("need 0 <= successes <= total")
    if total == 0:
        return BinomialProportion(successes, total, None, None, None, confidence_level)
    alpha = 1.0 - confidence_level
    lower = 0.0 if successes == 0 else float(betaincinv(successes, total - successes + 1, alpha / 2))
    upper = 1.0 if successes == total else float(betaincinv(successes + 1, total - successes, 1 - alpha / 2))
    return BinomialProportion(successes, total, successes / total, lower, upper, confidence_level)


class LandmarkStatus(StrEnum):
    """A patient's status at the landmark t* (clinical-spec §2.2)."""

    SUCCESS = "SUCCESS"  # time ≥ t* without an event up to t*
    FAILURE = "FAILURE"  # event at a time ≤ t*
    UNKNOWN = "UNKNOWN"  # censored before t*


def landmark_status(time: float, event: bool | int, *, landmark_days: float = PFS6_LANDMARK_DAYS) -> LandmarkStatus:
    """Classify one patient at the landmark (clinical-spec §2.2, D9).

    ``time`` is the survival time on the AVAL scale (``end - origin + 1``, D2): the caller has applied
    the +1, which is what decides the side of 182.625 a patient falls on. An event at a time ≤ t* is a
    failure; otherwise a time ≥ t* is a success (an event first seen after t* included, per the
    assessment-date convention); a censoring before t* is unknown.
    """
    _validate_survival_data([time], [event])
    if event and time <= landmark_days:
        return LandmarkStatus.FAILURE
    if time >= landmark_days:
        return LandmarkStatus.SUCCESS
    return LandmarkStatus.UNKNOWN


@dataclass(frozen=True)
class LandmarkProportion:
    """The crude "progression-free at the landmark" count, reported two ways (D9)."""

    landmark_days: float
    successes: int
    failures: int
    unknown: int
    evaluable: BinomialProportion  # successes / (successes + failures): unknowns excluded
    intention_to_treat: BinomialProportion  # successes / all: unknowns counted as failures


def landmark_proportion(
    times: Sequence[float],
    events: Sequence[bool | int],
    *,
    landmark_days: float = PFS6_LANDMARK_DAYS,
    confidence_level: float = 0.95,
) -> LandmarkProportion:
    """Crude PFS-6: successes among evaluable patients and among all (ITT), each with a Clopper-Pearson CI.

    Times are AVAL days with the +1 already applied (D2). This is the secondary read-out: the primary
    PFS-6 is ``kaplan_meier(...).survival_at(landmark_days)`` with the log-log CI (D9).
    """
    time_array, event_array = _validate_survival_data(times, events)
    statuses = [
        landmark_status(float(time), bool(event), landmark_days=landmark_days)
        for time, event in zip(time_array, event_array, strict=True)
    ]
    successes = statuses.count(LandmarkStatus.SUCCESS)
    failures = statuses.count(LandmarkStatus.FAILURE)
    unknown = statuses.count(LandmarkStatus.UNKNOWN)
    return LandmarkProportion(
        landmark_days=landmark_days,
        successes=successes,
        failures=failures,
        unknown=unknown,
        evaluable=clopper_pearson(successes, successes + failures, confidence_level=confidence_level),
        intention_to_treat=clopper_pearson(successes, len(statuses), confidence_level=confidence_level),
    )


# --------------------------------------------------------------------------------------------------
# Competing risks: Aalen-Johansen cumulative incidence
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CumulativeIncidenceStep:
    """One distinct observed time of the cumulative-incidence table."""

    time: float
    at_risk: int
    events_of_interest: int
    competing_events: int
    censored: int
    cumulative_incidence: float


@dataclass(frozen=True)
class CumulativeIncidenceEstimate:
    """Aalen-Johansen cumulative incidence of one cause in the presence of competing causes."""

    cause: int
    steps: tuple[CumulativeIncidenceStep, ...]

    def incidence_at(self, time: float) -> float:
        """F_k(t), right-continuous: events at t count."""
        previous = [step.cumulative_incidence for step in self.steps if step.time <= time]
        return previous[-1] if previous else 0.0


def cumulative_incidence(times: Sequence[float], causes: Sequence[int], *, cause: int) -> CumulativeIncidenceEstimate:
    """Aalen-Johansen cumulative incidence F_k(t) = Σ_{tᵢ ≤ t} Ŝ(tᵢ-)·d_kᵢ/nᵢ (Aalen & Johansen 1978).

    ``causes`` is 0 for censored and a positive code per event type (e.g. 1 = next treatment,
    2 = death for TTNT with death as a competing risk, clinical-spec §2.4); Ŝ is the all-cause
    Kaplan-Meier. Ties as everywhere here: events before censorings. Point estimates only.
    """
    if cause <= 0:
        raise ValueError("the cause of interest must be a positive event code")
    if len(causes) != len(times):
        raise ValueError("causes must have one entry per observation")
    if any(int(code) != code or code < 0 for code in causes):
        raise ValueError("causes must be 0 (censored) or positive integers")
    cause_array = np.array([int(code) for code in causes], dtype=np.int64)
    time_array, _ = _validate_survival_data(times, [code > 0 for code in cause_array])
    distinct_times, inverse = np.unique(time_array, return_inverse=True)
    steps = []
    all_cause_survival = 1.0
    incidence = 0.0
    removed = 0
    for index, time in enumerate(distinct_times):
        members = cause_array[inverse == index]
        at_risk = len(time_array) - removed
        of_interest = int((members == cause).sum())
        any_event = int((members > 0).sum())
        incidence += all_cause_survival * of_interest / at_risk
        all_cause_survival *= 1.0 - any_event / at_risk
        removed += members.size
        steps.append(
            CumulativeIncidenceStep(
                time=float(time),
                at_risk=at_risk,
                events_of_interest=of_interest,
                competing_events=any_event - of_interest,
                censored=int(members.size) - any_event,
                cumulative_incidence=incidence,
            )
        )
    return CumulativeIncidenceEstimate(cause=cause, steps=tuple(steps))


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _validate_survival_data(
    times: Sequence[float], events: Sequence[bool | int]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    if len(times) != len(events):
        raise ValueError("times and events must have the same length")
    if len(times) == 0:
        raise ValueError("no observations")
    time_array = np.array([float(time) for time in times], dtype=np.float64)
    if not np.all(np.isfinite(time_array)) or np.any(time_array < 0):
        raise ValueError("times must be finite and non-negative")
    if any(event not in (0, 1) for event in events):
        raise ValueError("events must be 1/True (event) or 0/False (censored)")
    return time_array, np.array([bool(event) for event in events], dtype=np.bool_)


def _validate_confidence_level(confidence_level: float) -> None:
    if not 0.0 < confidence_level < 1.0:
        raise ValueError("confidence_level must be strictly between 0 and 1")


def _normal_quantile(confidence_level: float) -> float:
    """Two-sided z, e.g. 1.959964 for 95 %."""
    return float(ndtri(1.0 - (1.0 - confidence_level) / 2.0))


def _chi_square_survival(statistic: float, degrees_of_freedom: int) -> float:
    return float(chdtrc(degrees_of_freedom, statistic))


def _group_order(groups: Sequence[str], group_order: Sequence[str] | None) -> list[str]:
    present = set(groups)
    if group_order is None:
        return sorted(present)
    order = list(group_order)
    if len(set(order)) != len(order) or not present <= set(order):
        raise ValueError("group_order must list every group once")
    return order
