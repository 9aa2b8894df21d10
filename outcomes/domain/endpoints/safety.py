"""Descriptive per-patient endpoints: visceral crisis (D20, clinical-spec 7.2) and adverse-event summaries (D15).

- Visceral crisis: attested crises (ABC4 consensus definition) from the origin to the cut-off; the patient counts
  once, with the date of the first. It is its own endpoint and never a PFS event by itself.
- LAT complication: an AE related (possible, probable, definite) to SABR, surgery or RFA; acute when its onset is
  at most ``lat_acute_days`` plain days (D23) after the start of the latest course of that modality on or before the
  onset, late otherwise.
- Treatment-related AE (AVATAR II TRAEs): related to any protocol intervention, the disease excluded.
AEs with onset after the cut-off are ignored.
"""

from __future__ import annotations

from datetime import date

from outcomes.domain.endpoints.context import on_or_before_cutoff
from outcomes.domain.endpoints.inputs import Intervention, LatModality, PatientInput
from outcomes.domain.endpoints.results import LatComplication, LatComplicationTiming, VisceralCrisisSummary
from outcomes.domain.endpoints.rows import aval_days
from outcomes.domain.endpoints.settings import EndpointSettings

_LAT_MODALITY = {
    Intervention.SABR: LatModality.SABR,
    Intervention.SURGERY: LatModality.SURGERY,
    Intervention.RFA: LatModality.RFA,
}


def visceral_crisis_summary(
    patient: PatientInput, settings: EndpointSettings, origin: date | None
) -> VisceralCrisisSummary:
    crises = sorted(
        (
            crisis
            for crisis in patient.visceral_crises
            if crisis.investigator_attested
            and on_or_before_cutoff(crisis.onset, settings.data_cutoff)
            and (origin is None or crisis.onset >= origin)
        ),
        key=lambda crisis: (crisis.onset, crisis.id),
    )
    if not crises:
        return VisceralCrisisSummary(occurred=False, first_onset=None, days_from_origin=None, record_ids=())
    first = crises[0].onset
    return VisceralCrisisSummary(
        occurred=True,
        first_onset=first,
        days_from_origin=aval_days(origin, first) if origin is not None else None,
        record_ids=tuple(crisis.id for crisis in crises),
    )


def lat_complications(patient: PatientInput, settings: EndpointSettings) -> tuple[LatComplication, ...]:
    courses = sorted(patient.local_treatments, key=lambda course: (course.start, course.id))
    found = []
    for event in patient.adverse_events:
        if not on_or_before_cutoff(event.onset, settings.data_cutoff):
            continue
        modalities = {
            _LAT_MODALITY[item.intervention]
            for item in event.attributions
            if item.intervention in _LAT_MODALITY and item.level.is_related
        }
        for modality in modalities:
            earlier = [course for course in courses if course.modality is modality and course.start <= event.onset]
            if not earlier:
                continue  # related to a LAT the patient had not had yet: nothing to time it from
            course = earlier[-1]
            acute = (event.onset - course.start).days <= settings.lat_acute_days
            found.append(
                LatComplication(
                    adverse_event_id=event.id,
                    local_treatment_id=course.id,
                    modality=modality,
                    timing=LatComplicationTiming.ACUTE if acute else LatComplicationTiming.LATE,
                    worst_grade=event.worst_grade,
                )
            )
    return tuple(sorted(found, key=lambda item: (item.adverse_event_id, item.modality.value)))


def treatment_related_adverse_event_ids(patient: PatientInput, settings: EndpointSettings) -> tuple[str, ...]:
    return tuple(
        sorted(
            event.id
            for event in patient.adverse_events
            if on_or_before_cutoff(event.onset, settings.data_cutoff)
            and any(
                item.level.is_related and item.intervention is not Intervention.DISEASE for item in event.attributions
            )
        )
    )
