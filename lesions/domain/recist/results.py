"""What the RECIST engine returns: one result per time point, per baseline segment and for the participant."""

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from lesions.domain.recist.enums import (
    NewLesionStatus,
    NonTargetResponse,
    OverallResponse,
    TargetResponse,
)


@dataclass(frozen=True)
class TimePointResult:
    """The derived response at one time point, beside the investigator's (C7).

    ``tp_date``: the latest scan date of the time point (D22, clinical-spec §1.8a), used for censoring.
    ``sum_tenths`` is set only when every target was evaluated; ``partial_sum_tenths`` only when some were not.
    ``nadir_tenths``: the nadir the time point was compared with (smallest complete sum among the baseline and
    the earlier time points of the segment, §1.3). Percentages are exact.
    ``target_response_strict`` follows the sum rules alone; ``target_response_reported`` applies continued PR
    (§1.3c, D13) and is what the overall response uses.
    ``pd_date`` (D26) is set on the time point that shows progression, never on the ones after it.
    ``after_progression``: an earlier time point of the same segment was PD, so this one is PD too (§1.8c);
    ``adequate`` then reflects this time point's own data (D22).
    ``in_bor_window``: the time point counts for best overall response (D28).
    """

    time_point_id: str
    tp_date: date
    segment_index: int
    starts_new_baseline: bool
    baseline_sum_tenths: int | None
    sum_tenths: int | None
    partial_sum_tenths: int | None
    nadir_tenths: int | None
    change_from_baseline_percent: Fraction | None
    change_from_nadir_percent: Fraction | None
    change_from_nadir_tenths: int | None
    target_response_strict: TargetResponse
    target_response_reported: TargetResponse
    non_target_response: NonTargetResponse
    new_lesions: NewLesionStatus
    overall_response: OverallResponse
    adequate: bool
    pd_date: date | None
    after_progression: bool
    in_bor_window: bool
    investigator_non_target: NonTargetResponse | None
    investigator_overall: OverallResponse | None
    discrepant: bool
    explanation: str


@dataclass(frozen=True)
class SegmentResult:
    """One baseline segment (D32): the initial baseline is segment 0; each re-baselining starts the next.

    ``nadir_tenths``/``nadir_date``: the smallest complete sum among the baseline and the segment's time points
    up to and including its first PD (the nadir stops there, §1.8c). ``nadir_date`` is the baseline scan date
    when the baseline sum is still the nadir.
    """

    index: int
    baseline_date: date
    baseline_sum_tenths: int | None
    nadir_tenths: int | None
    nadir_date: date
    progression_time_point_id: str | None
    progression_date: date | None


@dataclass(frozen=True)
class BestOverallResponse:
    """Best overall response over the window of D28 (Eisenhauer 2009 §4.4, Table 3)."""

    response: OverallResponse
    time_point_id: str | None
    explanation: str


@dataclass(frozen=True)
class PatientResponse:
    """The whole participant: every time point, every segment, BOR and the first progression.

    ``nadir_tenths`` is the current (last) segment's nadir: what the next assessment is compared with.
    ``first_progression_date`` is the earliest PD date (D26) on or before the data cut-off, and
    ``first_progression_time_point_id`` the time point that showed it.
    """

    time_points: tuple[TimePointResult, ...]
    segments: tuple[SegmentResult, ...]
    nadir_tenths: int | None
    best_overall_response: BestOverallResponse
    first_progression_date: date | None
    first_progression_time_point_id: str | None
