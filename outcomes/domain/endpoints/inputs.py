"""What the endpoint engine reads: one patient's dated records, already mapped from the case report forms.

Every type here is a frozen dataclass or an enum from the standard library, so a service can build them from the
models (and from the RECIST engine's output) without this package knowing either. Dates are complete
``datetime.date`` values: endpoint dates may not be partial (decisions D21, clinical-spec C5).

The constructors check what would make a derivation meaningless (a PD time point without its PD date, a PD date
after the time point's date). Those are programming errors in the mapping, not data queries, so they raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class TrialDesign(StrEnum):
    """The two trials (trials.md): COSMO is single-arm with registration, AVATAR II is randomised 1:1."""

    COSMO = "COSMO"
    AVATAR_II = "AVATAR_II"


class Arm(StrEnum):
    """AVATAR II arms: A = SABR to oligoprogression and continue ET + CDK4/6i; B = physician's choice."""

    A = "A"
    B = "B"


class OriginEvent(StrEnum):
    """Time origin (D1, clinical-spec C1). First LAT is the COSMO sensitivity origin named in C1."""

    REGISTRATION = "REGISTRATION"
    RANDOMISATION = "RANDOMISATION"
    FIRST_LAT = "FIRST_LAT"


class OverallResponse(StrEnum):
    """RECIST 1.1 overall time-point response (Eisenhauer 2009 tables 1 and 2)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    NON_CR_NON_PD = "NON_CR_NON_PD"
    PD = "PD"
    NE = "NE"


class StopReason(StrEnum):
    """Why a systemic therapy line stopped (trials.md CRF 5)."""

    PROGRESSION = "PROGRESSION"
    TOXICITY = "TOXICITY"
    PATIENT_CHOICE = "PATIENT_CHOICE"
    OTHER = "OTHER"


class StrategyFailureReason(StrEnum):
    """Reasons on the AVATAR II strategy-failure CRF (D10)."""

    SYSTEMIC_CHANGE_FOR_PROGRESSION = "SYSTEMIC_CHANGE_FOR_PROGRESSION"
    NOT_AMENABLE_TO_SABR = "NOT_AMENABLE_TO_SABR"
    TOO_MANY_PROGRESSING_LESIONS = "TOO_MANY_PROGRESSING_LESIONS"
    VISCERAL_CRISIS = "VISCERAL_CRISIS"
    OTHER = "OTHER"


class DeathCause(StrEnum):
    """Primary cause on the death CRF (trials.md CRF 16)."""

    DISEASE = "DISEASE"
    TREATMENT = "TREATMENT"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class EndOfStudyReason(StrEnum):
    """Reasons on the end-of-study CRF (trials.md CRF 17)."""

    COMPLETED = "COMPLETED"
    WITHDREW_CONSENT = "WITHDREW_CONSENT"
    LOST_TO_FOLLOW_UP = "LOST_TO_FOLLOW_UP"
    INVESTIGATOR_DECISION = "INVESTIGATOR_DECISION"
    DEATH = "DEATH"
    OTHER = "OTHER"


class LatModality(StrEnum):
    """Local ablative therapy modalities (trials.md CRF 7)."""

    SABR = "SABR"
    SURGERY = "SURGERY"
    RFA = "RFA"


class Intervention(StrEnum):
    """What an adverse event is attributed to, one attribution each (D15)."""

    SABR = "SABR"
    SURGERY = "SURGERY"
    RFA = "RFA"
    ENDOCRINE_THERAPY = "ENDOCRINE_THERAPY"
    CDK46_INHIBITOR = "CDK46_INHIBITOR"
    PHYSICIANS_CHOICE = "PHYSICIANS_CHOICE"
    DISEASE = "DISEASE"


class AttributionLevel(StrEnum):
    """Five-point attribution scale; "related" = possible, probable or definite (D15, clinical-spec 5.2)."""

    UNRELATED = "UNRELATED"
    UNLIKELY = "UNLIKELY"
    POSSIBLE = "POSSIBLE"
    PROBABLE = "PROBABLE"
    DEFINITE = "DEFINITE"

    @property
    def is_related(self) -> bool:
        return self in (AttributionLevel.POSSIBLE, AttributionLevel.PROBABLE, AttributionLevel.DEFINITE)


@dataclass(frozen=True, kw_only=True)
class TimePoint:
    """One post-baseline RECIST time point, as the RECIST engine derived it.

    ``tp_date`` is the latest scan date of the time point (clinical-spec 1.8a, D22), for PD time points too; it dates
    censoring. ``pd_date`` is the PD date of D26 (back-dated per D25/D27, so it may lie before ``tp_date``); it dates
    events. ``within_strategy`` marks an AVATAR II arm-A progression kept within the strategy (D32); ``segment`` is the
    baseline segment it belongs to (D32), kept for provenance.
    """

    id: str
    tp_date: date
    response: OverallResponse
    pd_date: date | None = None
    segment: int = 0
    within_strategy: bool = False

    def __post_init__(self) -> None:
        if self.response is OverallResponse.PD:
            if self.pd_date is None:
                raise ValueError(f"time point {self.id}: a PD time point needs its PD date (D26)")
            if self.pd_date > self.tp_date:
                raise ValueError(f"time point {self.id}: PD date {self.pd_date} is after the TP date {self.tp_date}")
        elif self.pd_date is not None:
            raise ValueError(f"time point {self.id}: only a PD time point has a PD date")
        if self.within_strategy and self.response is not OverallResponse.PD:
            raise ValueError(f"time point {self.id}: only a progression can be within the strategy (D32)")

    @property
    def is_adequate(self) -> bool:
        """Adequate = any overall response but NE (D22)."""
        return self.response is not OverallResponse.NE

    @property
    def is_progression(self) -> bool:
        return self.response is OverallResponse.PD


@dataclass(frozen=True, kw_only=True)
class ClinicalProgression:
    """Investigator-declared clinical progression (own CRF); counts for PFS when set to (D4)."""

    id: str
    date: date


@dataclass(frozen=True, kw_only=True)
class TherapyLine:
    """One line of systemic therapy. A dose change is not a new line (D12); the service maps only real lines.

    ``protocol_therapy_at_randomisation`` marks AVATAR II arm B's physician's-choice therapy started at randomisation,
    which is protocol therapy and never a "new line" (D35).
    """

    id: str
    line_number: int
    start: date
    stop: date | None = None
    stop_reason: StopReason | None = None
    protocol_therapy_at_randomisation: bool = False

    def __post_init__(self) -> None:
        if self.stop is not None and self.stop < self.start:
            raise ValueError(f"therapy line {self.id}: stop {self.stop} is before start {self.start}")


@dataclass(frozen=True, kw_only=True)
class StrategyFailure:
    """The AVATAR II strategy-failure CRF (D10). ``linked_record_id`` names the time point or clinical progression
    that caused the failure; its PD date must equal ``date`` (D40)."""

    id: str
    date: date
    reason: StrategyFailureReason
    linked_record_id: str | None = None
    progressing_lesion_count: int | None = None


@dataclass(frozen=True, kw_only=True)
class NextLineProgression:
    """Progression on a subsequent line (radiological or clinical, investigator-assessed), from the subsequent
    therapy CRF (D11). ``line_id`` is the ``TherapyLine.id`` the patient was on."""

    id: str
    date: date
    line_id: str


@dataclass(frozen=True, kw_only=True)
class Death:
    id: str
    date: date
    cause: DeathCause = DeathCause.UNKNOWN


@dataclass(frozen=True, kw_only=True)
class EndOfStudy:
    id: str
    date: date
    reason: EndOfStudyReason


@dataclass(frozen=True, kw_only=True)
class AliveEvidence:
    """A dated proof of life from a source D31 lists that the engine cannot see itself: survival-status contacts,
    visits recorded as done, FACT-B completions. Scan, LAT, therapy and AE dates are taken from the other inputs."""

    date: date
    source: str
    record_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class VisceralCrisis:
    """Visceral crisis CRF (D20, clinical-spec 7.2): counted only when the investigator attests the ABC definition."""

    id: str
    onset: date
    organs: tuple[str, ...] = ()
    investigator_attested: bool = True


@dataclass(frozen=True, kw_only=True)
class LocalTreatment:
    """One LAT course (SABR, surgery, RFA), dated by its start (D31)."""

    id: str
    modality: LatModality
    start: date


@dataclass(frozen=True, kw_only=True)
class Attribution:
    intervention: Intervention
    level: AttributionLevel


@dataclass(frozen=True, kw_only=True)
class AdverseEvent:
    """One AE episode with its worst CTCAE grade (D15)."""

    id: str
    term: str
    worst_grade: int
    onset: date
    resolution: date | None = None
    attributions: tuple[Attribution, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.worst_grade <= 5:
            raise ValueError(f"adverse event {self.id}: CTCAE grade {self.worst_grade} is not 1-5")


@dataclass(frozen=True, kw_only=True)
class PatientInput:
    """Everything the engine reads for one patient.

    The origin date is chosen by the ``origin_event`` setting among ``registration_date``, ``randomisation_date``
    and the first LAT start (D1). ``time_points`` are the post-baseline time points; ``has_baseline_assessment``
    says whether a baseline tumour assessment exists (FDA 2018 censoring table, first row).
    """

    patient_id: str
    trial: TrialDesign
    arm: Arm | None = None
    registration_date: date | None = None
    randomisation_date: date | None = None
    has_baseline_assessment: bool = True
    time_points: tuple[TimePoint, ...] = ()
    clinical_progressions: tuple[ClinicalProgression, ...] = ()
    therapy_lines: tuple[TherapyLine, ...] = ()
    strategy_failures: tuple[StrategyFailure, ...] = ()
    next_line_progressions: tuple[NextLineProgression, ...] = ()
    death: Death | None = None
    end_of_study: EndOfStudy | None = None
    alive_evidence: tuple[AliveEvidence, ...] = ()
    visceral_crises: tuple[VisceralCrisis, ...] = ()
    local_treatments: tuple[LocalTreatment, ...] = ()
    adverse_events: tuple[AdverseEvent, ...] = ()

    def __post_init__(self) -> None:
        if self.trial is TrialDesign.AVATAR_II and self.arm is None:
            raise ValueError(f"patient {self.patient_id}: an AVATAR II patient needs an arm")
        if self.trial is TrialDesign.COSMO and self.arm is not None:
            raise ValueError(f"patient {self.patient_id}: COSMO is single-arm")
        if self.arm is not Arm.B and any(line.protocol_therapy_at_randomisation for line in self.therapy_lines):
            raise ValueError(f"patient {self.patient_id}: only arm B starts protocol therapy at randomisation (D35)")
        if self.trial is TrialDesign.COSMO and self.strategy_failures:
            raise ValueError(f"patient {self.patient_id}: strategy failure exists only in AVATAR II (D10)")

    @property
    def is_arm_a(self) -> bool:
        return self.trial is TrialDesign.AVATAR_II and self.arm is Arm.A
