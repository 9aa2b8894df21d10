"""Follow-up facts derivable from the patient record alone (origin, last date known alive so far).

The endpoint engines (endpoints.py, survival.py) add PFS, TSF, OS and the rest as the case report forms arrive; this
module gives the recompute pipeline its first real content. D31 lists the sources of "last known alive".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class FollowUpInput:
    consent_date: date
    enrolment_date: date | None
    status: str


@dataclass(frozen=True)
class FollowUp:
    origin_date: date | None
    last_known_alive: date
    last_known_alive_source: str
    enrolled: bool


def derive_follow_up(data: FollowUpInput) -> FollowUp:
    """Origin = enrolment (registration / randomisation, D1); last known alive = the latest dated contact (D31)."""
    candidates = [(data.consent_date, "consent")]
    if data.enrolment_date is not None:
        candidates.append((data.enrolment_date, "enrolment"))
    last_date, source = max(candidates)
    return FollowUp(
        origin_date=data.enrolment_date,
        last_known_alive=last_date,
        last_known_alive_source=source,
        enrolled=data.enrolment_date is not None,
    )
