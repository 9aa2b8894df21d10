"""The slice of a patient's data one analysis sees, and the dating helpers every endpoint shares.

- Data dated after the data cut-off are ignored (clinical-spec 2.1 "Data cut-off"). A time point belongs to the cut
  when its TP date (its latest scan, D22) is on or before the cut-off, so a PD back-dated by a confirmation scanned
  after the cut-off is ignored (D27).
- Post-baseline time points are those dated after the origin; the baseline is the last scan on or before it (D5).
- Every list is sorted on a total key, so the order the service passes records in never changes a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from outcomes.domain.endpoints.inputs import (
    ClinicalProgression,
    Death,
    EndOfStudy,
    NextLineProgression,
    OriginEvent,
    PatientInput,
    StopReason,
    StrategyFailure,
    TherapyLine,
    TimePoint,
)
from outcomes.domain.endpoints.results import EndpointQuery, QueryCode
from outcomes.domain.endpoints.settings import EndpointSettings


@dataclass(frozen=True)
class LineChange:
    """A new line of systemic therapy and the line it replaced (the one with the highest lower line number)."""

    line: TherapyLine
    previous: TherapyLine | None

    @property
    def previous_stop_reason(self) -> StopReason | None:
        return None if self.previous is None else self.previous.stop_reason

    @property
    def is_switch_without_progression(self) -> bool:
        """A switch whose recorded reason is toxicity or patient choice (D10, D33)."""
        return self.previous_stop_reason in (StopReason.TOXICITY, StopReason.PATIENT_CHOICE)

    def describe(self, *, as_event: bool = False) -> str:
        """Text for explanations: "new systemic therapy line 2 (L2) started 2026-03-20 ...", or as an event "start of
        new systemic therapy line 2 (L2) ..." (the event's date follows)."""
        label = f"new systemic therapy line {self.line.line_number} ({self.line.id})"
        text = f"start of {label}" if as_event else f"{label} started {self.line.start}"
        if self.previous is not None and self.previous.stop_reason is not None:
            reason = self.previous.stop_reason.value.lower().replace("_", " ")
            text += f" after line {self.previous.line_number} ({self.previous.id}) stopped for {reason}"
        return text


@dataclass(frozen=True)
class AnalysisContext:
    """One patient's data as one analysis sees it: on or after the origin, on or before the cut-off, sorted."""

    patient: PatientInput
    settings: EndpointSettings
    origin: date
    time_points: tuple[TimePoint, ...]
    progressions: tuple[TimePoint, ...]
    clinical_progressions: tuple[ClinicalProgression, ...]
    new_lines: tuple[LineChange, ...]
    strategy_failures: tuple[StrategyFailure, ...]
    next_line_progressions: tuple[NextLineProgression, ...]
    death: Death | None
    end_of_study: EndOfStudy | None

    @property
    def cutoff(self) -> date | None:
        return self.settings.data_cutoff

    @property
    def adequate(self) -> tuple[TimePoint, ...]:
        return tuple(tp for tp in self.time_points if tp.is_adequate)

    def last_adequate(self) -> TimePoint | None:
        return _last(self.adequate)

    def last_adequate_on_or_before(self, day: date) -> TimePoint | None:
        """Last adequate time point with TP date <= day: a scan on a line's start day is pre-treatment (D29)."""
        return _last(tp for tp in self.adequate if tp.tp_date <= day)

    def last_adequate_before(self, day: date) -> TimePoint | None:
        """L of the missed-visit rule: last adequate time point with TP date strictly before the event (D22)."""
        return _last(tp for tp in self.adequate if tp.tp_date < day)

    def describe_assessment(self, tp: TimePoint | None) -> str:
        if tp is None:
            return f"the origin {self.origin} (no adequate assessment before)"
        return f"the {tp.tp_date} assessment (TP {tp.id})"


def _last(time_points: Iterable[TimePoint]) -> TimePoint | None:
    found = None
    for tp in time_points:  # sorted by (tp_date, id): the last wins
        found = tp
    return found


def origin_date(patient: PatientInput, settings: EndpointSettings) -> date | None:
    """The origin chosen by the ``origin_event`` setting (D1; clinical-spec C1)."""
    event = settings.origin_event_for(patient.trial)
    if event is OriginEvent.REGISTRATION:
        return patient.registration_date
    if event is OriginEvent.RANDOMISATION:
        return patient.randomisation_date
    starts = [treatment.start for treatment in patient.local_treatments]
    return min(starts) if starts else None


def on_or_before_cutoff(day: date, cutoff: date | None) -> bool:
    return cutoff is None or day <= cutoff


def build_context(
    patient: PatientInput, settings: EndpointSettings, origin: date
) -> tuple[AnalysisContext, tuple[EndpointQuery, ...]]:
    """Cut, filter and sort the patient's records; records dated before the origin raise a query and are ignored."""
    cutoff = settings.data_cutoff
    queries: list[EndpointQuery] = []

    def in_cut(day: date) -> bool:
        return on_or_before_cutoff(day, cutoff)

    def before_origin(record_id: str, what: str, day: date) -> bool:
        if day >= origin:
            return False
        queries.append(
            EndpointQuery(
                code=QueryCode.DATE_INCONSISTENT,
                message=f"{what} {record_id} is dated {day}, before the origin {origin}; it is ignored",
                record_ids=(record_id,),
            )
        )
        return True

    time_points = tuple(
        sorted(
            (tp for tp in patient.time_points if origin < tp.tp_date and in_cut(tp.tp_date)),
            key=lambda tp: (tp.tp_date, tp.id),
        )
    )
    progressions = tuple(
        sorted(
            (
                tp
                for tp in time_points
                if tp.pd_date is not None and not before_origin(tp.id, "the PD date of time point", tp.pd_date)
            ),
            key=lambda tp: (tp.pd_date or tp.tp_date, tp.id),
        )
    )
    clinical = tuple(
        sorted(
            (
                cp
                for cp in patient.clinical_progressions
                if in_cut(cp.date) and not before_origin(cp.id, "clinical progression", cp.date)
            ),
            key=lambda cp: (cp.date, cp.id),
        )
    )
    death = patient.death
    if death is not None and (not in_cut(death.date) or before_origin(death.id, "death", death.date)):
        death = None
    failures = tuple(
        sorted(
            (
                sf
                for sf in patient.strategy_failures
                if in_cut(sf.date)
                and not before_origin(sf.id, "strategy failure", sf.date)
                and not _after_death(sf, death, queries)
            ),
            key=lambda sf: (sf.date, sf.id),
        )
    )
    line_starts = {line.id: line.start for line in patient.therapy_lines}

    def before_line_start(progression: NextLineProgression) -> bool:
        start = line_starts.get(progression.line_id)
        if start is None or progression.date >= start:
            return False
        queries.append(
            EndpointQuery(
                code=QueryCode.DATE_INCONSISTENT,
                message=f"progression {progression.id} is dated {progression.date}, before its line "
                f"{progression.line_id} started on {start}; it is ignored",
                record_ids=(progression.id, progression.line_id),
            )
        )
        return True

    next_line_progressions = tuple(
        sorted(
            (p for p in patient.next_line_progressions if in_cut(p.date) and not before_line_start(p)),
            key=lambda p: (p.date, p.id),
        )
    )
    end_of_study = patient.end_of_study
    if end_of_study is not None and not in_cut(end_of_study.date):
        end_of_study = None
    context = AnalysisContext(
        patient=patient,
        settings=settings,
        origin=origin,
        time_points=time_points,
        progressions=progressions,
        clinical_progressions=clinical,
        new_lines=_new_lines(patient, origin, cutoff),
        strategy_failures=failures,
        next_line_progressions=next_line_progressions,
        death=death,
        end_of_study=end_of_study,
    )
    return context, tuple(queries)


def _after_death(failure: StrategyFailure, death: Death | None, queries: list[EndpointQuery]) -> bool:
    if death is None or failure.date <= death.date:
        return False
    queries.append(
        EndpointQuery(
            code=QueryCode.DATE_INCONSISTENT,
            message=f"strategy failure {failure.id} is dated {failure.date}, after the death on {death.date}; "
            "it is ignored",
            record_ids=(failure.id, death.id),
        )
    )
    return True


def _new_lines(patient: PatientInput, origin: date, cutoff: date | None) -> tuple[LineChange, ...]:
    """New lines: started on or after the origin and by the cut-off, excluding arm B's physician's-choice therapy
    started at randomisation, which is protocol therapy (D35). A dose change is never a line (D12)."""
    lines = sorted(patient.therapy_lines, key=lambda line: (line.line_number, line.start, line.id))
    changes = []
    for index, line in enumerate(lines):
        if line.protocol_therapy_at_randomisation or line.start < origin or not on_or_before_cutoff(line.start, cutoff):
            continue
        earlier = [other for other in lines[:index] if other.line_number < line.line_number]
        changes.append(LineChange(line=line, previous=earlier[-1] if earlier else None))
    return tuple(sorted(changes, key=lambda change: (change.line.start, change.line.line_number, change.line.id)))
