"""What the RECIST engine reads: settings, the baseline, the time points and the dates that end the BOR window.

All measurements are integer tenths of a millimetre (clinical-spec C4): 36.5 mm is ``365``.
Lesions are identified by a ``lesion_id`` that is stable across time points (the lesion register's key), so the
same id at two time points is the same lesion; that is the link by which a later time point confirms an earlier
equivocal new lesion (clinical-spec §1.5, D27).
"""

from dataclasses import dataclass, field
from datetime import date

from lesions.domain.recist.enums import (
    NewLesionStatus,
    NonTargetResponse,
    NonTargetStatus,
    OverallResponse,
    TargetStatus,
)

TOO_SMALL_TO_MEASURE_TENTHS = 50
"""A lesion too small to measure counts as 5 mm (Eisenhauer 2009 §4.3.2; RECIST FAQ "lesions < 5 mm"; D38)."""

NODE_NORMAL_BELOW_TENTHS = 100
"""A lymph node with short axis < 10 mm is normal (Eisenhauer 2009 §4.3.1 CR note; FAQ "abnormal lymph node")."""


@dataclass(frozen=True)
class RecistSettings:
    """The per-trial analysis settings that RECIST derivation depends on (D5, D13; clinical-spec §1.7).

    ``confirmation_required``: CR/PR need a repeat assessment ``min_confirm_days`` later (Eisenhauer 2009 §4.6).
    ``min_sd_days``: SD counts for best overall response only at ``tp_date - origin >= min_sd_days`` (D13, D23).
    ``baseline_window_days``: the baseline scan is at most this many days before the origin (D5, D23).
    """

    confirmation_required: bool = False
    min_confirm_days: int = 28
    min_sd_days: int = 42
    baseline_window_days: int = 28


@dataclass(frozen=True)
class TargetLesion:
    """A target lesion at a baseline (Eisenhauer 2009 §3.3).

    ``baseline_tenths`` is the longest diameter, or the short axis for a node. ``organ`` is free text compared
    case-insensitively; nodes all count as one organ and so does bone (FAQ "two target lesions"; D37).
    ``locally_treated`` exists so validation can reject it: a locally treated lesion is never a target (D5).
    """

    lesion_id: str
    organ: str
    baseline_tenths: int
    nodal: bool = False
    bone: bool = False
    locally_treated: bool = False


@dataclass(frozen=True)
class NonTargetLesion:
    """A non-target lesion (or grouped item, e.g. "multiple liver metastases") at a baseline (§3.3).

    A ``locally_treated`` lesion (SABR, surgery, RFA before or at baseline, D5; or treated within the strategy,
    D32) is left out of the non-target response; only its local failure counts, as non-target PD (D24).
    """

    lesion_id: str
    nodal: bool = False
    locally_treated: bool = False


@dataclass(frozen=True)
class Baseline:
    """The lesions one baseline segment is assessed against (Eisenhauer 2009 §3; D5, D32)."""

    scan_date: date
    targets: tuple[TargetLesion, ...] = ()
    non_targets: tuple[NonTargetLesion, ...] = ()

    @property
    def sum_tenths(self) -> int:
        """Baseline sum B: longest diameters of non-nodal targets plus short axes of nodal targets (§3.3)."""
        return sum(target.baseline_tenths for target in self.targets)


@dataclass(frozen=True)
class TargetObservation:
    """One target lesion at one time point (clinical-spec §1.2).

    ``tenths`` is set exactly when ``status`` is MEASURED; ``scan_date`` is required unless NOT_EVALUATED.
    A non-nodal target measured 0 mm is absent; a node keeps its actual short axis (D38).
    """

    lesion_id: str
    status: TargetStatus
    scan_date: date | None
    tenths: int | None = None

    def __post_init__(self) -> None:
        if (self.status is TargetStatus.MEASURED) != (self.tenths is not None):
            raise ValueError(f"target {self.lesion_id}: a measurement is given exactly when status is MEASURED")
        if self.status is not TargetStatus.NOT_EVALUATED and self.scan_date is None:
            raise ValueError(f"target {self.lesion_id}: an evaluated lesion needs its scan date")

    @classmethod
    def measured(cls, lesion_id: str, tenths: int, scan_date: date) -> "TargetObservation":
        return cls(lesion_id, TargetStatus.MEASURED, scan_date, tenths)

    @classmethod
    def too_small(cls, lesion_id: str, scan_date: date) -> "TargetObservation":
        return cls(lesion_id, TargetStatus.TOO_SMALL_TO_MEASURE, scan_date)

    @classmethod
    def absent(cls, lesion_id: str, scan_date: date) -> "TargetObservation":
        return cls(lesion_id, TargetStatus.ABSENT, scan_date)

    @classmethod
    def not_evaluated(cls, lesion_id: str) -> "TargetObservation":
        return cls(lesion_id, TargetStatus.NOT_EVALUATED, None)


@dataclass(frozen=True)
class NonTargetObservation:
    """One non-target lesion at one time point; ``scan_date`` is required unless NOT_EVALUATED (§1.2)."""

    lesion_id: str
    status: NonTargetStatus
    scan_date: date | None

    def __post_init__(self) -> None:
        if self.status is not NonTargetStatus.NOT_EVALUATED and self.scan_date is None:
            raise ValueError(f"non-target {self.lesion_id}: an evaluated lesion needs its scan date")


@dataclass(frozen=True)
class NewLesionObservation:
    """A lesion not present at baseline, as seen at one time point (Eisenhauer 2009 §4.3.4; D27).

    The same ``lesion_id`` at a later time point with status YES confirms an earlier EQUIVOCAL observation;
    PD is then dated to the first equivocal scan (unless the confirming scan is after the data cut-off).
    """

    lesion_id: str
    status: NewLesionStatus
    scan_date: date


@dataclass(frozen=True)
class TimePoint:
    """One tumour assessment (clinical-spec §1.2; trials.md CRF 8).

    A target or non-target of the current baseline without an observation counts as NOT_EVALUATED.
    ``assessment_date`` (the visit date) is the time point's date only when it has no scan at all.
    ``investigator_non_target`` and ``investigator_overall`` are stored and shown beside the computed response,
    never overwritten (C7); an investigator non-target call of PD does make the non-target response PD (§1.4).
    ``new_baseline``: AVATAR II arm-A within-strategy progression (D32). This time point is assessed against the
    current baseline, and the time points after it against ``new_baseline``, whose targets carry their
    measurements at this time point and whose non-targets list the lesions then treated as ``locally_treated``.
    """

    time_point_id: str
    assessment_date: date
    targets: tuple[TargetObservation, ...] = ()
    non_targets: tuple[NonTargetObservation, ...] = ()
    new_lesions: tuple[NewLesionObservation, ...] = ()
    investigator_non_target: NonTargetResponse | None = None
    investigator_overall: OverallResponse | None = None
    new_baseline: Baseline | None = None


@dataclass(frozen=True)
class ResponseWindowLimits:
    """Dates that end the best-overall-response window, each exclusive (D28).

    ``new_lesion_local_treatment_dates``: local ablative treatment of a lesion first seen after baseline (LAT to
    baseline lesions does not end the window, so the caller leaves those out). ``data_cutoff`` also makes a
    confirmation of an equivocal lesion scanned after it ignored (D27).
    """

    new_systemic_line_starts: tuple[date, ...] = ()
    new_lesion_local_treatment_dates: tuple[date, ...] = ()
    clinical_progression_dates: tuple[date, ...] = ()
    data_cutoff: date | None = None

    def earliest(self) -> date | None:
        """The earliest limit, or None when nothing limits the window."""
        dates = [
            *self.new_systemic_line_starts,
            *self.new_lesion_local_treatment_dates,
            *self.clinical_progression_dates,
        ]
        if self.data_cutoff is not None:
            dates.append(self.data_cutoff)
        return min(dates, default=None)


@dataclass(frozen=True)
class PatientAssessments:
    """Everything the engine needs about one participant: a pure function's whole input (C6).

    ``time_points`` may come in any order; the engine sorts them by time-point date.
    """

    origin_date: date
    baseline: Baseline
    time_points: tuple[TimePoint, ...] = ()
    window_limits: ResponseWindowLimits = field(default_factory=ResponseWindowLimits)
