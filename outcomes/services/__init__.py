"""Writes of derived values: per-patient recompute and trial summaries. Idempotent."""

from .patients import ALGORITHM_VERSION, consistency_sweep, derivation_is_current, endpoints_recompute_for_patient
from .summaries import trial_summaries_recompute

__all__ = [
    "ALGORITHM_VERSION",
    "consistency_sweep",
    "derivation_is_current",
    "endpoints_recompute_for_patient",
    "trial_summaries_recompute",
]
