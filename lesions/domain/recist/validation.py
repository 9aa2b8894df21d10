"""Edit checks for RECIST data, shared by forms and API writes: each returns ``[(field, message), ...]``.

They never raise. Field names: ``"targets"`` for the selection as a whole, ``"targets.<lesion id>.<attribute>"``
for one target, ``"baseline.scan_date"``, ``"<time point id>.targets.<lesion id>.tenths"``.
Sources: Eisenhauer 2009 §3 (measurability, target selection); RECIST FAQ "two target lesions"; D5, D37, D38.
"""

from collections import Counter
from collections.abc import Sequence
from datetime import date

from lesions.domain.recist.arithmetic import format_mm
from lesions.domain.recist.enums import TargetStatus
from lesions.domain.recist.inputs import RecistSettings, TargetLesion, TimePoint

FieldError = tuple[str, str]

MAX_TARGETS = 5
MAX_TARGETS_PER_ORGAN = 2
MIN_NODAL_TARGET_TENTHS = 150
MIN_NON_NODAL_TARGET_TENTHS = 100
MAX_DIAMETER_TENTHS = 5000
"""Diameters must be below 500 mm: anything larger is a unit error (cm vs mm, or tenths typed as mm)."""


def organ_group(target: TargetLesion) -> str:
    """The organ a target counts against for "2 per organ": all nodes are one organ, all bone one (FAQ; D37)."""
    if target.nodal:
        return "lymph node"
    if target.bone:
        return "bone"
    return target.organ.strip().casefold()


def validate_target_selection(
    targets: Sequence[TargetLesion], *, slice_thickness_tenths: int | None = None
) -> list[FieldError]:
    """Baseline target selection (Eisenhauer 2009 §3.1 and §3.3; clinical-spec §1.1; D5, D37).

    At most 5 targets and 2 per organ; a nodal target >= 15 mm short axis, a non-nodal one >= 10 mm longest
    diameter, or >= twice the CT slice thickness when that is above 5 mm; diameters > 0 and < 500 mm; never a
    locally treated lesion.
    """
    minimum_non_nodal = MIN_NON_NODAL_TARGET_TENTHS
    if slice_thickness_tenths is not None and slice_thickness_tenths > 50:
        minimum_non_nodal = max(minimum_non_nodal, 2 * slice_thickness_tenths)
    errors: list[FieldError] = []
    if len(targets) > MAX_TARGETS:
        errors.append(("targets", f"At most {MAX_TARGETS} target lesions; {len(targets)} are selected."))
    per_organ = Counter(organ_group(target) for target in targets)
    for organ, count in sorted(per_organ.items()):
        if count > MAX_TARGETS_PER_ORGAN:
            errors.append(
                ("targets", f"At most {MAX_TARGETS_PER_ORGAN} target lesions per organ; {organ} has {count}.")
            )
    for target in targets:
        prefix = f"targets.{target.lesion_id}"
        value = target.baseline_tenths
        errors += validate_diameter_tenths(value, field=f"{prefix}.baseline_tenths", allow_zero=False)
        if 0 < value < MAX_DIAMETER_TENTHS:
            if target.nodal and value < MIN_NODAL_TARGET_TENTHS:
                errors.append(
                    (
                        f"{prefix}.baseline_tenths",
                        "A nodal target needs a short axis of at least 15 mm (10-15 mm is a non-target).",
                    )
                )
            if not target.nodal and value < minimum_non_nodal:
                errors.append(
                    (
                        f"{prefix}.baseline_tenths",
                        f"A non-nodal target needs a longest diameter of at least {format_mm(minimum_non_nodal)}.",
                    )
                )
        if target.locally_treated:
            errors.append(
                (f"{prefix}.locally_treated", "A locally treated lesion cannot be a target; record it as a non-target.")
            )
    return errors


def validate_diameter_tenths(value: int, *, field: str, allow_zero: bool) -> list[FieldError]:
    """A diameter in tenths of mm: below 500 mm, above 0 (or 0 when ``allow_zero``: a follow-up absent lesion, D38)."""
    if value < 0 or (value == 0 and not allow_zero):
        bound = "at least 0 mm" if allow_zero else "greater than 0 mm"
        return [(field, f"The diameter must be {bound}.")]
    if value >= MAX_DIAMETER_TENTHS:
        return [(field, "The diameter must be less than 500 mm.")]
    return []


def validate_baseline_timing(
    origin_date: date, baseline_scan_date: date, settings: RecistSettings | None = None
) -> list[FieldError]:
    """The baseline is the last scan on or before the origin, at most ``baseline_window_days`` before it
    (Eisenhauer 2009 §3.2 "no more than 4 weeks"; D5; plain day difference, D23)."""
    window = (settings or RecistSettings()).baseline_window_days
    if baseline_scan_date > origin_date:
        return [("baseline.scan_date", "The baseline scan must be on or before the origin date.")]
    gap = (origin_date - baseline_scan_date).days
    if gap > window:
        return [("baseline.scan_date", f"The baseline scan is {gap} days before the origin (more than {window}).")]
    return []


def validate_time_point_measurements(time_point: TimePoint, baseline_scan_date: date) -> list[FieldError]:
    """Follow-up measurements between 0 and 500 mm, scans after the baseline scan (clinical-spec §1.2; D38)."""
    errors: list[FieldError] = []
    prefix = time_point.time_point_id
    for observation in time_point.targets:
        if observation.status is TargetStatus.MEASURED and observation.tenths is not None:
            errors += validate_diameter_tenths(
                observation.tenths, field=f"{prefix}.targets.{observation.lesion_id}.tenths", allow_zero=True
            )
    scans = (
        [(f"{prefix}.targets.{obs.lesion_id}.scan_date", obs.scan_date) for obs in time_point.targets]
        + [(f"{prefix}.non_targets.{obs.lesion_id}.scan_date", obs.scan_date) for obs in time_point.non_targets]
        + [(f"{prefix}.new_lesions.{obs.lesion_id}.scan_date", obs.scan_date) for obs in time_point.new_lesions]
    )
    errors += [
        (field, "The scan must be after the baseline scan.")
        for field, scan_date in scans
        if scan_date is not None and scan_date <= baseline_scan_date
    ]
    return errors
