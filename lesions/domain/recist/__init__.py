"""RECIST 1.1 response engine: pure Python, no Django (STYLE.md rule 2).

Eisenhauer EA et al., "New response evaluation criteria in solid tumours: revised RECIST guideline (version 1.1)",
Eur J Cancer 2009;45:228-247; RECIST Working Group FAQ (https://recist.eortc.org/faq/); project rules in
``shared/domain/clinical-spec.md`` §1 and ``decisions.md`` (D5, D13, D22-D28, D32, D37, D38).

Usage: build a ``PatientAssessments`` (measurements in integer tenths of mm) and call ``evaluate``.
"""

from lesions.domain.recist.best_response import DatedResponse, best_overall_response
from lesions.domain.recist.engine import ALGORITHM_VERSION, evaluate
from lesions.domain.recist.enums import (
    NewLesionStatus,
    NonTargetResponse,
    NonTargetStatus,
    OverallResponse,
    TargetResponse,
    TargetStatus,
)
from lesions.domain.recist.inputs import (
    Baseline,
    NewLesionObservation,
    NonTargetLesion,
    NonTargetObservation,
    PatientAssessments,
    RecistSettings,
    ResponseWindowLimits,
    TargetLesion,
    TargetObservation,
    TimePoint,
)
from lesions.domain.recist.results import BestOverallResponse, PatientResponse, SegmentResult, TimePointResult
from lesions.domain.recist.validation import (
    FieldError,
    organ_group,
    validate_baseline_timing,
    validate_diameter_tenths,
    validate_target_selection,
    validate_time_point_measurements,
)

__all__ = [
    "ALGORITHM_VERSION",
    "Baseline",
    "BestOverallResponse",
    "DatedResponse",
    "FieldError",
    "NewLesionObservation",
    "NewLesionStatus",
    "NonTargetLesion",
    "NonTargetObservation",
    "NonTargetResponse",
    "NonTargetStatus",
    "OverallResponse",
    "PatientAssessments",
    "PatientResponse",
    "RecistSettings",
    "ResponseWindowLimits",
    "SegmentResult",
    "TargetLesion",
    "TargetObservation",
    "TargetResponse",
    "TargetStatus",
    "TimePoint",
    "TimePointResult",
    "best_overall_response",
    "evaluate",
    "organ_group",
    "validate_baseline_timing",
    "validate_diameter_tenths",
    "validate_target_selection",
    "validate_time_point_measurements",
]
