"""Best overall response (Eisenhauer 2009 §4.4 and §4.6, Table 3; clinical-spec §1.7; D13, D23, D28)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from lesions.domain.recist.enums import OverallResponse
from lesions.domain.recist.inputs import RecistSettings
from lesions.domain.recist.results import BestOverallResponse

_RESPONDING = (OverallResponse.CR, OverallResponse.PR)
_STABLE = (OverallResponse.SD, OverallResponse.NON_CR_NON_PD)


@dataclass(frozen=True)
class DatedResponse:
    """One time point's overall response inside the BOR window; ``has_target_disease`` picks SD vs
    non-CR/non-PD when an unconfirmed CR counts only as stable disease."""

    time_point_id: str
    tp_date: date
    response: OverallResponse
    has_target_disease: bool = True


def best_overall_response(
    responses: Sequence[DatedResponse], *, origin_date: date, settings: RecistSettings
) -> BestOverallResponse:
    """Best response recorded in the window, ranked CR > PR > SD = non-CR/non-PD > PD > NE (§4.4.3).

    SD (and non-CR/non-PD) counts only at ``tp_date - origin >= min_sd_days`` (plain day difference, D23);
    earlier, it is ignored, giving PD if a PD follows and NE otherwise (clinical-spec §1.7).
    With ``confirmation_required`` Table 3 applies: CR (PR) needs a later CR (PR or CR) at least
    ``min_confirm_days`` after it with only CR/PR/NE between; an unconfirmed CR/PR counts as stable disease if
    it meets the SD minimum; SD too early after a CR counts as PD (Table 3 row "CR, SD" and its footnote).
    Among equal ranks the earliest time point is reported.
    """
    ordered = sorted(responses, key=lambda item: (item.tp_date, item.time_point_id))
    if settings.confirmation_required:
        return _with_confirmation(ordered, origin_date, settings)

    def qualifies(item: DatedResponse) -> bool:
        return item.response not in _STABLE or _sd_duration_met(item, origin_date, settings)

    for wanted in (OverallResponse.CR, OverallResponse.PR):
        hit = next((item for item in ordered if item.response is wanted), None)
        if hit is not None:
            return _result(wanted, hit, origin_date, "")
    stable = next((item for item in ordered if item.response in _STABLE and qualifies(item)), None)
    if stable is not None:
        return _result(stable.response, stable, origin_date, f"at least {settings.min_sd_days} days after origin")
    return _progression_or_not_evaluable(ordered, origin_date, settings)


def _with_confirmation(
    ordered: list[DatedResponse], origin_date: date, settings: RecistSettings
) -> BestOverallResponse:
    confirmed_cr = _first_confirmed(ordered, (OverallResponse.CR,), (OverallResponse.CR, OverallResponse.NE), settings)
    if confirmed_cr is not None:
        first, second = confirmed_cr
        return _result(OverallResponse.CR, first, origin_date, f"confirmed at {second.time_point_id}")
    confirmed_pr = _first_confirmed(ordered, _RESPONDING, (*_RESPONDING, OverallResponse.NE), settings)
    if confirmed_pr is not None:
        first, second = confirmed_pr
        return _result(OverallResponse.PR, first, origin_date, f"confirmed at {second.time_point_id}")
    for item in ordered:
        if item.response in (*_RESPONDING, *_STABLE) and _sd_duration_met(item, origin_date, settings):
            if item.response in _RESPONDING:
                as_stable = OverallResponse.SD if item.has_target_disease else OverallResponse.NON_CR_NON_PD
                return _result(as_stable, item, origin_date, f"unconfirmed {item.response}, SD minimum met")
            return _result(item.response, item, origin_date, f"at least {settings.min_sd_days} days after origin")
    seen_cr = False
    for item in ordered:
        if seen_cr and item.response in _STABLE:
            return _result(OverallResponse.PD, item, origin_date, "SD after an unconfirmed CR (Table 3)")
        seen_cr = seen_cr or item.response is OverallResponse.CR
    return _progression_or_not_evaluable(ordered, origin_date, settings)


def _first_confirmed(
    ordered: list[DatedResponse],
    starts: tuple[OverallResponse, ...],
    allowed_between: tuple[OverallResponse, ...],
    settings: RecistSettings,
) -> tuple[DatedResponse, DatedResponse] | None:
    """The first pair (first, confirming) of Table 3 for the responses in ``starts``, or None."""
    for index, first in enumerate(ordered):
        if first.response not in starts:
            continue
        for later in ordered[index + 1 :]:
            if later.response in starts and (later.tp_date - first.tp_date).days >= settings.min_confirm_days:
                return first, later
            if later.response not in allowed_between:
                break
    return None


def confirms_response(earlier: Sequence[DatedResponse], current: DatedResponse, settings: RecistSettings) -> bool:
    """Whether ``current`` (PR or CR) confirms an earlier PR/CR of the segment (§4.6), for continued PR (§1.3c)."""
    if current.response not in _RESPONDING:
        return False
    pair = _first_confirmed([*earlier, current], _RESPONDING, (*_RESPONDING, OverallResponse.NE), settings)
    return pair is not None and pair[1] is current


def _sd_duration_met(item: DatedResponse, origin_date: date, settings: RecistSettings) -> bool:
    return (item.tp_date - origin_date).days >= settings.min_sd_days


def _progression_or_not_evaluable(
    ordered: list[DatedResponse], origin_date: date, settings: RecistSettings
) -> BestOverallResponse:
    progression = next((item for item in ordered if item.response is OverallResponse.PD), None)
    if progression is not None:
        return _result(OverallResponse.PD, progression, origin_date, "")
    return BestOverallResponse(
        OverallResponse.NE,
        None,
        f"NE: no CR, PR, PD or SD at least {settings.min_sd_days} days after origin in the window",
    )


def _result(response: OverallResponse, item: DatedResponse, origin_date: date, note: str) -> BestOverallResponse:
    day = (item.tp_date - origin_date).days
    text = f"{response} at {item.time_point_id} ({item.tp_date.isoformat()}, day {day})"
    return BestOverallResponse(response, item.time_point_id, f"{text}: {note}" if note else text)
