"""Per-patient endpoint derivation for COSMO and AVATAR II: pure Python, no Django.

``derive_endpoints(patient, settings)`` turns one patient's dated records (``PatientInput``) and the trial's analysis
settings (``EndpointSettings``, decisions.md) into ADTTE-like rows (``EndpointResult``: PFS, PFS_EMA, TSF, TSF_SW,
PFS2, PFS2ND, OS, TTNT, TTNTDTH), the queries to raise and the descriptive endpoints. Sources: FDA, "Clinical Trial
Endpoints for the Approval of Cancer Drugs and Biologics" (2018); EMA/CHMP/27994/2008/Rev.1 Appendix 1;
clinical-spec.md section 2; decisions D1-D4, D6-D12, D15, D20, D22-D35, D40.
"""

from outcomes.domain.endpoints.derive import derive_endpoints
from outcomes.domain.endpoints.inputs import (
    AdverseEvent,
    AliveEvidence,
    Arm,
    Attribution,
    AttributionLevel,
    ClinicalProgression,
    Death,
    DeathCause,
    EndOfStudy,
    EndOfStudyReason,
    Intervention,
    LatModality,
    LocalTreatment,
    NextLineProgression,
    OriginEvent,
    OverallResponse,
    PatientInput,
    StopReason,
    StrategyFailure,
    StrategyFailureReason,
    TherapyLine,
    TimePoint,
    TrialDesign,
    VisceralCrisis,
)
from outcomes.domain.endpoints.progression import landmark_status
from outcomes.domain.endpoints.results import (
    EndpointFlag,
    EndpointQuery,
    EndpointReason,
    EndpointResult,
    LandmarkStatus,
    LatComplication,
    LatComplicationTiming,
    Paramcd,
    PatientEndpoints,
    QueryCode,
    VisceralCrisisSummary,
)
from outcomes.domain.endpoints.settings import EndpointSettings

__all__ = [
    "AdverseEvent",
    "AliveEvidence",
    "Arm",
    "Attribution",
    "AttributionLevel",
    "ClinicalProgression",
    "Death",
    "DeathCause",
    "EndOfStudy",
    "EndOfStudyReason",
    "EndpointFlag",
    "EndpointQuery",
    "EndpointReason",
    "EndpointResult",
    "EndpointSettings",
    "Intervention",
    "LandmarkStatus",
    "LatComplication",
    "LatComplicationTiming",
    "LatModality",
    "LocalTreatment",
    "NextLineProgression",
    "OriginEvent",
    "OverallResponse",
    "Paramcd",
    "PatientEndpoints",
    "PatientInput",
    "QueryCode",
    "StopReason",
    "StrategyFailure",
    "StrategyFailureReason",
    "TherapyLine",
    "TimePoint",
    "TrialDesign",
    "VisceralCrisis",
    "VisceralCrisisSummary",
    "derive_endpoints",
    "landmark_status",
]
