"""Response at one time point: targets (§1.3), non-targets (§1.4), new lesions (§1.5), overall (§1.6).

Sources: Eisenhauer 2009 §4.3.1-§4.3.4 and Tables 1-2; RECIST FAQ ("definition of SD", "managing PR when TP
measurements change slightly", "does a new lesion always result in PD", "abnormal lymph node", "lesions < 5 mm");
decisions D13, D22, D24-D27, D38.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from lesions.domain.recist.arithmetic import (
    format_mm,
    format_percent,
    format_signed_mm,
    meets_partial_response,
    meets_progression,
    percent_change,
)
from lesions.domain.recist.enums import (
    NewLesionStatus,
    NonTargetResponse,
    NonTargetStatus,
    OverallResponse,
    TargetResponse,
    TargetStatus,
)
from lesions.domain.recist.inputs import (
    NODE_NORMAL_BELOW_TENTHS,
    TOO_SMALL_TO_MEASURE_TENTHS,
    Baseline,
    TargetLesion,
    TargetObservation,
    TimePoint,
)

RESPONSE_LABELS: Mapping[OverallResponse, str] = {
    OverallResponse.CR: "CR",
    OverallResponse.PR: "PR",
    OverallResponse.SD: "SD",
    OverallResponse.NON_CR_NON_PD: "Non-CR/non-PD",
    OverallResponse.PD: "PD",
    OverallResponse.NE: "NE",
}


@dataclass(frozen=True)
class SegmentHistory:
    """What earlier time points of the same baseline segment contribute to this one (§1.3; D25, D32).

    ``nadir_tenths``: smallest complete target sum among the baseline and earlier time points (None without
    targets). ``target_cr_seen``/``non_target_cr_seen``: the target / non-target response was CR at an earlier
    time point (an NE in between does not undo it, D25). ``partial_response_established``: an overall PR or CR
    was assigned earlier (and confirmed, when confirmation is required), so strict SD is reported as PR (§1.3c).
    """

    baseline: Baseline
    nadir_tenths: int | None
    target_cr_seen: bool = False
    non_target_cr_seen: bool = False
    partial_response_established: bool = False


@dataclass(frozen=True)
class TimePointAssessment:
    """The response of one time point from its own data and its segment's history (before PD finality)."""

    tp_date: date
    sum_tenths: int | None
    partial_sum_tenths: int | None
    target_response_strict: TargetResponse
    target_response_reported: TargetResponse
    non_target_response: NonTargetResponse
    new_lesions: NewLesionStatus
    overall_response: OverallResponse
    pd_date: date | None
    explanation: str


@dataclass(frozen=True)
class _ProgressionReason:
    scan_date: date
    text: str


@dataclass(frozen=True)
class _Finding:
    """The result of one of the three parts (targets, non-targets, new lesions) of a time point."""

    text: str
    progression: tuple[_ProgressionReason, ...] = ()


def time_point_date(time_point: TimePoint, baseline: Baseline) -> date:
    """The latest scan date of the time point (clinical-spec §1.8a, D22); the visit date if nothing was scanned.

    Scans of locally treated non-targets do not count (D24), except one showing local failure: it dates a PD,
    and a time point's date is never before its PD date.
    """
    locally_treated = {lesion.lesion_id for lesion in baseline.non_targets if lesion.locally_treated}
    scan_dates = [obs.scan_date for obs in time_point.targets if obs.scan_date is not None]
    scan_dates += [
        obs.scan_date
        for obs in time_point.non_targets
        if obs.scan_date is not None
        and obs.status is not NonTargetStatus.NOT_EVALUATED
        and (obs.lesion_id not in locally_treated or obs.status is NonTargetStatus.UNEQUIVOCAL_PROGRESSION)
    ]
    scan_dates += [obs.scan_date for obs in time_point.new_lesions]
    return max(scan_dates, default=time_point.assessment_date)


def has_imaging(time_point: TimePoint) -> bool:
    """Whether anything was assessed at all; a time point without imaging is NE (Eisenhauer 2009 §4.4.2)."""
    return (
        bool(time_point.new_lesions)
        or any(obs.status is not TargetStatus.NOT_EVALUATED for obs in time_point.targets)
        or any(obs.status is not NonTargetStatus.NOT_EVALUATED for obs in time_point.non_targets)
    )


def target_value_tenths(target: TargetLesion, observation: TargetObservation) -> int:
    """The value a target adds to the sum: measured, 5 mm when too small to measure, 0 when absent (§4.3.2; D38).

    A nodal target too small to measure records 5 mm, so it is normal (< 10 mm).
    """
    if observation.status is TargetStatus.MEASURED:
        assert observation.tenths is not None  # enforced by TargetObservation
        return observation.tenths
    if observation.status is TargetStatus.TOO_SMALL_TO_MEASURE:
        return TOO_SMALL_TO_MEASURE_TENTHS
    return 0


def is_present(target: TargetLesion, value_tenths: int) -> bool:
    """A non-nodal target is present above 0 mm; a node only at >= 10 mm short axis (FAQ "abnormal node"; D25)."""
    if target.nodal:
        return value_tenths >= NODE_NORMAL_BELOW_TENTHS
    return value_tenths > 0


def assess_time_point(
    time_point: TimePoint,
    history: SegmentHistory,
    confirmed_equivocal: Mapping[str, str],
) -> TimePointAssessment:
    """Derive one time point's response (clinical-spec §1.3-§1.6).

    ``confirmed_equivocal`` maps the ids of this time point's equivocal new lesions that a later scan confirmed
    (on or before the cut-off) to the confirming time point's id; they count as unequivocal here, so PD is dated
    to this scan (§1.5; D27).
    """
    baseline = history.baseline
    tp_date = time_point_date(time_point, baseline)
    targets = _TargetAssessment.of(time_point, history)
    strict = targets.response
    reported = TargetResponse.PR if strict is TargetResponse.SD and history.partial_response_established else strict
    non_target_response, non_target_finding = _assess_non_targets(time_point, history, tp_date)
    new_lesions, new_lesion_finding = _assess_new_lesions(time_point, confirmed_equivocal)
    imaged = has_imaging(time_point)
    overall = combine_overall(reported, non_target_response, new_lesions) if imaged else OverallResponse.NE

    reasons = sorted(
        (*targets.finding.progression, *non_target_finding.progression, *new_lesion_finding.progression),
        key=lambda reason: (reason.scan_date, reason.text),
    )
    pd_date = reasons[0].scan_date if overall is OverallResponse.PD else None
    if overall is OverallResponse.PD:
        explanation = "PD: " + "; ".join(f"{reason.text} (scan {reason.scan_date.isoformat()})" for reason in reasons)
    elif not imaged:
        explanation = "NE: no imaging at this time point"
    else:
        target_text = targets.finding.text
        if reported is not strict:
            target_text = f"continued PR (strict target response {strict}): {target_text}"
        parts = [target_text, non_target_finding.text]
        if new_lesion_finding.text:
            parts.append(new_lesion_finding.text)
        explanation = f"{RESPONSE_LABELS[overall]}: " + "; ".join(parts)
    return TimePointAssessment(
        tp_date=tp_date,
        sum_tenths=targets.sum_tenths,
        partial_sum_tenths=targets.partial_sum_tenths,
        target_response_strict=strict,
        target_response_reported=reported,
        non_target_response=non_target_response,
        new_lesions=new_lesions,
        overall_response=overall,
        pd_date=pd_date,
        explanation=explanation,
    )


def combine_overall(
    target: TargetResponse, non_target: NonTargetResponse, new_lesions: NewLesionStatus
) -> OverallResponse:
    """Overall time-point response, in the implementation order of clinical-spec §1.6 (Eisenhauer Tables 1-2).

    Without target disease, Table 2 applies; with neither target nor assessable non-target disease the time
    point is NE unless something makes it PD (D24).
    """
    if new_lesions is NewLesionStatus.YES or target is TargetResponse.PD or non_target is NonTargetResponse.PD:
        return OverallResponse.PD
    if target is TargetResponse.NE:
        return OverallResponse.NE
    if target is TargetResponse.NONE:
        if non_target is NonTargetResponse.CR:
            return OverallResponse.CR
        if non_target is NonTargetResponse.NON_CR_NON_PD:
            return OverallResponse.NON_CR_NON_PD
        return OverallResponse.NE
    if target is TargetResponse.CR and non_target in (NonTargetResponse.CR, NonTargetResponse.NONE):
        return OverallResponse.CR
    if target in (TargetResponse.CR, TargetResponse.PR):
        return OverallResponse.PR
    return OverallResponse.SD


@dataclass(frozen=True)
class _TargetAssessment:
    response: TargetResponse
    sum_tenths: int | None
    partial_sum_tenths: int | None
    finding: _Finding

    @classmethod
    def of(cls, time_point: TimePoint, history: SegmentHistory) -> "_TargetAssessment":
        """Target response by the steps and precedence of clinical-spec §1.3 (Eisenhauer 2009 §4.3.1).

        Order: CR first (so a node-only target set below 10 mm stays CR even if the sum rises, D13 / §1.3a);
        then PD by reappearance after an earlier CR (D25) or by the sum or partial sum (§4.4.2: missing lesions
        can only add to a sum that already shows PD), the earliest dated reason winning (D26); then NE if any
        target was not evaluated; then PR against the baseline; else SD (FAQ "definition of SD").
        """
        baseline = history.baseline
        if not baseline.targets:
            return cls(TargetResponse.NONE, None, None, _Finding("no target lesions"))
        nadir = history.nadir_tenths
        assert nadir is not None  # a segment with targets always has a nadir
        observed = {obs.lesion_id: obs for obs in time_point.targets}
        values: dict[str, int] = {}
        scan_dates: dict[str, date] = {}
        for target in baseline.targets:
            observation = observed.get(target.lesion_id)
            if observation is None or observation.status is TargetStatus.NOT_EVALUATED:
                continue
            assert observation.scan_date is not None  # enforced by TargetObservation
            values[target.lesion_id] = target_value_tenths(target, observation)
            scan_dates[target.lesion_id] = observation.scan_date
        missing = sorted(target.lesion_id for target in baseline.targets if target.lesion_id not in values)
        present = sorted(
            target.lesion_id for target in baseline.targets if is_present(target, values.get(target.lesion_id, 0))
        )
        total = sum(values.values())
        complete = not missing

        if complete and not present:
            text = f"all targets CR (non-nodal absent, nodes < 10 mm), sum {format_mm(total)}"
            if meets_progression(total, nadir):
                text += f", {_change_text(total, nadir)} over nadir {format_mm(nadir)} but CR takes precedence (D13)"
            return cls(TargetResponse.CR, total, None, _Finding(text))

        reasons: list[_ProgressionReason] = []
        if history.target_cr_seen and present:
            reasons.append(
                _ProgressionReason(
                    min(scan_dates[lesion_id] for lesion_id in present),
                    f"target {', '.join(present)} reappeared after an earlier target CR",
                )
            )
        if values and meets_progression(total, nadir):
            label = "sum" if complete else "partial sum of the evaluated targets"
            reasons.append(
                _ProgressionReason(
                    max(scan_dates.values()),
                    f"{label} {format_mm(total)} is {_change_text(total, nadir)} over nadir {format_mm(nadir)}",
                )
            )
        sum_tenths = total if complete else None
        partial = None if complete or not values else total
        if reasons:
            return cls(TargetResponse.PD, sum_tenths, partial, _Finding("target PD", tuple(reasons)))
        if not complete:
            text = f"target {', '.join(missing)} not evaluated"
            if values:
                text += f" and the partial sum {format_mm(total)} does not meet PD over nadir {format_mm(nadir)}"
            return cls(TargetResponse.NE, None, partial, _Finding(text))

        baseline_sum = baseline.sum_tenths
        change = _percent_text(total, baseline_sum)
        from_baseline = f"target sum {format_mm(total)} is {change} from baseline {format_mm(baseline_sum)}"
        if meets_partial_response(total, baseline_sum):
            return cls(TargetResponse.PR, total, None, _Finding(from_baseline))
        text = f"{from_baseline}, {_change_text(total, nadir, joiner=' / ')} from nadir {format_mm(nadir)}"
        return cls(TargetResponse.SD, total, None, _Finding(text))


def _assess_non_targets(
    time_point: TimePoint, history: SegmentHistory, tp_date: date
) -> tuple[NonTargetResponse, _Finding]:
    """Non-target response by the aggregation rule of clinical-spec §1.4 (Eisenhauer 2009 §4.3.3), with D24-D26.

    PD from: unequivocal progression of an item (dated by the earliest such scan); local failure of a locally
    treated lesion (D24); a non-target present again after an earlier non-target CR (D25); or the investigator's
    overall call alone (dated by the latest non-target scan, D26). Locally treated lesions never block CR or make
    the response NE (D24).
    """
    lesions = history.baseline.non_targets
    observed = {obs.lesion_id: obs for obs in time_point.non_targets}
    regular = sorted(lesion.lesion_id for lesion in lesions if not lesion.locally_treated)
    treated = sorted(lesion.lesion_id for lesion in lesions if lesion.locally_treated)
    status = {
        lesion_id: observed[lesion_id].status if lesion_id in observed else NonTargetStatus.NOT_EVALUATED
        for lesion_id in (*regular, *treated)
    }

    def scan_of(lesion_id: str) -> date:
        scan_date = observed[lesion_id].scan_date
        assert scan_date is not None  # only evaluated lesions are asked for
        return scan_date

    def with_status(ids: Iterable[str], wanted: NonTargetStatus) -> list[str]:
        return [lesion_id for lesion_id in ids if status[lesion_id] is wanted]

    reasons: list[_ProgressionReason] = []
    failed = with_status(treated, NonTargetStatus.UNEQUIVOCAL_PROGRESSION)
    if failed:
        reasons.append(
            _ProgressionReason(min(map(scan_of, failed)), f"local failure of locally treated {', '.join(failed)}")
        )
    progressing = with_status(regular, NonTargetStatus.UNEQUIVOCAL_PROGRESSION)
    if progressing:
        reasons.append(
            _ProgressionReason(
                min(map(scan_of, progressing)), f"non-target {', '.join(progressing)} unequivocal progression"
            )
        )
    present = with_status(regular, NonTargetStatus.PRESENT)
    if history.non_target_cr_seen and present:
        reasons.append(
            _ProgressionReason(
                min(map(scan_of, present)),
                f"non-target {', '.join(present)} reappeared after an earlier non-target CR",
            )
        )
    if time_point.investigator_non_target is NonTargetResponse.PD and not progressing:
        evaluated = [lesion_id for lesion_id in regular if status[lesion_id] is not NonTargetStatus.NOT_EVALUATED]
        call_date = max(map(scan_of, evaluated), default=tp_date)
        reasons.append(_ProgressionReason(call_date, "investigator's overall non-target call is PD"))
    if reasons:
        return NonTargetResponse.PD, _Finding("non-target PD", tuple(reasons))
    if not regular:
        text = "non-targets all locally treated" if treated else "no non-target lesions"
        return NonTargetResponse.NONE, _Finding(text)
    not_evaluated = with_status(regular, NonTargetStatus.NOT_EVALUATED)
    if not_evaluated:
        return NonTargetResponse.NE, _Finding(f"non-target {', '.join(not_evaluated)} not evaluated")
    if not present:
        return NonTargetResponse.CR, _Finding("non-targets absent")
    return NonTargetResponse.NON_CR_NON_PD, _Finding(f"non-target {', '.join(present)} present")


def _assess_new_lesions(
    time_point: TimePoint, confirmed_equivocal: Mapping[str, str]
) -> tuple[NewLesionStatus, _Finding]:
    """New lesions (Eisenhauer 2009 §4.3.4): unequivocal → PD; equivocal → not PD unless later confirmed (D27)."""
    reasons: list[_ProgressionReason] = []
    equivocal: list[str] = []
    for observation in sorted(time_point.new_lesions, key=lambda obs: obs.lesion_id):
        if observation.status is NewLesionStatus.YES:
            reasons.append(_ProgressionReason(observation.scan_date, f"new lesion {observation.lesion_id}"))
        elif observation.status is NewLesionStatus.EQUIVOCAL:
            confirming = confirmed_equivocal.get(observation.lesion_id)
            if confirming is None:
                equivocal.append(observation.lesion_id)
            else:
                reasons.append(
                    _ProgressionReason(
                        observation.scan_date,
                        f"equivocal new lesion {observation.lesion_id}, confirmed at {confirming}",
                    )
                )
    if reasons:
        return NewLesionStatus.YES, _Finding("new lesion", tuple(reasons))
    if equivocal:
        return NewLesionStatus.EQUIVOCAL, _Finding(
            f"equivocal new lesion {', '.join(equivocal)} (not PD unless confirmed)"
        )
    return NewLesionStatus.NO, _Finding("")


def _percent_text(value: int, reference: int) -> str:
    change: Fraction | None = percent_change(value, reference)
    return format_percent(change) if change is not None else "n/a %"


def _change_text(value: int, reference: int, joiner: str = " and ") -> str:
    """``"+20.0 % and +6.0 mm"``; only the millimetres when the reference is 0."""
    change = percent_change(value, reference)
    millimetres = format_signed_mm(value - reference)
    return millimetres if change is None else f"{format_percent(change)}{joiner}{millimetres}"
