"""The per-trial analysis settings the endpoint engine reads (decisions.md; each one is stored, versioned and audited
by the trials app, never a constant in code). The defaults are the ones decisions.md ships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from outcomes.domain.endpoints.inputs import OriginEvent, TrialDesign

DEFAULT_ORIGIN_EVENT = {
    TrialDesign.COSMO: OriginEvent.REGISTRATION,
    TrialDesign.AVATAR_II: OriginEvent.RANDOMISATION,
}


@dataclass(frozen=True, kw_only=True)
class EndpointSettings:
    """Analysis settings for one trial.

    - ``origin_event``: D1; ``None`` means the trial's default (randomisation for AVATAR II, registration for COSMO).
    - ``landmark_days``: D3, the PFS-6 landmark t* = 6 x 30.4375 = 182.625 days.
    - ``count_clinical_progression``: D4.
    - ``censor_at_new_therapy``, ``missed_visit_censoring``: D6 (primary analysis; the EMA-style sensitivity of D7
      always has both off).
    - ``interval_days``, ``window_days``: D8; the missed-visit threshold is ``2 * interval + window`` (D23).
    - ``max_oligo_lesions``: D10.
    - ``tsf_toxicity_switch_is_event``: D10 (primary TSF; the TSF sensitivity always counts the switch).
    - ``ttnt_death_is_event``: D12 (primary TTNT; the "TTNT or death" sensitivity always counts death).
    - ``lat_acute_days``: D15.
    - ``data_cutoff``: data dated after it are ignored (clinical-spec 2.1; D27, D31).
    """

    origin_event: OriginEvent | None = None
    landmark_days: Decimal = Decimal("182.625")
    count_clinical_progression: bool = True
    censor_at_new_therapy: bool = True
    missed_visit_censoring: bool = True
    interval_days: int = 84
    window_days: int = 14
    max_oligo_lesions: int = 5
    tsf_toxicity_switch_is_event: bool = False
    ttnt_death_is_event: bool = False
    lat_acute_days: int = 90
    data_cutoff: date | None = None

    def __post_init__(self) -> None:
        if self.interval_days <= 0 or self.window_days < 0:
            raise ValueError("the assessment interval must be positive and the window not negative (D8)")
        if self.landmark_days <= 0:
            raise ValueError("the landmark must be positive (D3)")

    def origin_event_for(self, trial: TrialDesign) -> OriginEvent:
        return self.origin_event if self.origin_event is not None else DEFAULT_ORIGIN_EVENT[trial]

    @property
    def missed_visit_threshold_days(self) -> int:
        """More than this many plain days between L and the event means >= 2 missed assessments (D23: 182)."""
        return 2 * self.interval_days + self.window_days
