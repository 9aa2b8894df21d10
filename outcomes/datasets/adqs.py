"""ADQS, the FACT-B questionnaire analysis dataset (CDISC ADaM BDS): per complete FACT-B v4 form, the 37 item
responses, the five subscales and the three composite scores; per patient, the area under the FACT-B total curve.

- Items: ``AVAL`` is the response as entered (0-4; empty = not answered). ``REVFL`` marks the negatively worded
  items that the scoring reverses (4 - response; clinical-spec §4.2).
- Subscales and composites are scored by the FACIT algorithm in ``patients.domain.factb.score_fact_b``
  (clinical-spec §4.3, D14): prorated when more than half the subscale's items are answered; FACT-G and the FACT-B
  total need more than 80 % of their items too, the TOI does not. An invalid score has an empty ``AVAL``; ``NANS``
  and ``NITEMS`` show the items answered and the items in the score. Values are the exact scores as floats.
- AUC (D14, clinical-spec §4.5): the recompute stores it with the patient's derivation
  (``outcomes.inputs.quality_of_life``): trapezoid on actual days from baseline to the horizon (336 days), linear
  interpolation at the horizon; ``FBAUCN`` normalised by the span, ``SHORTFL`` when follow-up ends before the
  horizon (the span is then the observed one); fewer than two valid totals: empty with the reason in ``AUCNOTE``.
- Baseline (ADaMIG BDS ``ABLFL``, ``BASE``, ``CHG``), chosen **per parameter** by the AUC's rule (D14,
  ``patients.domain.factb.fact_b_baseline_day``): among the forms where the parameter has a value (an answered item,
  a valid score), the last one within -28..+7 days of the origin on or before it, else the first one after it.
  ``ABLFL`` = "Y" on that record; ``BASE`` = its ``AVAL`` on every record of the parameter; ``CHG`` = AVAL - BASE
  on the records dated after it (computed from the exact scores, then made a float). Per parameter rather than per
  form because BDS defines the baseline of each parameter, and because the FACT-B total's baseline is then exactly
  the AUC's (which skips a form whose total is invalid); a form whose total is invalid but whose PWB is valid can
  be the PWB baseline, while the total's baseline is a later valid form in the window. Two forms on the baseline
  day both with a value leave the parameter without a baseline (the AUC refuses such data too). No baseline (no
  value in the window, or no origin): ``ABLFL``, ``BASE`` and ``CHG`` empty on every record of the parameter. The
  AUC records have none of the three; no ``PCHG``: a percentage change of a bounded score whose baseline may be 0
  is not meaningful, and quality-of-life analyses use ``CHG``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from patients.crf import CrfStatus
from patients.domain.factb import (
    FACT_B_ITEMS,
    REVERSE_SCORED_ITEMS,
    SUBSCALE_ITEMS,
    CompositeScore,
    FactBSubscale,
    SubscaleScore,
    fact_b_baseline_day,
)
from patients.models import FactB
from trials.models import Trial

from .base import Dataset, Kind, Row, Variable
from .common import (
    CHUNK_SIZE,
    SITEID,
    STUDYID,
    TRT01P,
    USUBJID,
    allocated_arms,
    by_patient,
    clip,
    derivations,
    flag,
    of_patients,
    origin_of,
    patient_batches,
    planned_treatment,
    single_arm_of,
    study_day,
    study_id,
)

ITEM, SUBSCALE, TOTAL, AUC = "FACT-B ITEM", "FACT-B SUBSCALE", "FACT-B TOTAL", "FACT-B AUC"

#: (PARAMCD, PARAM, PARCAT1, PARAMN, attribute of FactBScores or None for an item) in PARAMN order
SCORES: tuple[tuple[str, str, str, int, str], ...] = (
    ("PWB", "FACT-B Physical Well-Being (0-28)", SUBSCALE, 101, "physical"),
    ("SWB", "FACT-B Social/Family Well-Being (0-28)", SUBSCALE, 102, "social"),
    ("EWB", "FACT-B Emotional Well-Being (0-24)", SUBSCALE, 103, "emotional"),
    ("FWB", "FACT-B Functional Well-Being (0-28)", SUBSCALE, 104, "functional"),
    ("BCS", "FACT-B Breast Cancer Subscale (0-40)", SUBSCALE, 105, "breast_cancer"),
    ("FACTG", "FACT-G Total Score (0-108)", TOTAL, 111, "fact_g"),
    ("FACTBTOT", "FACT-B Total Score (0-148)", TOTAL, 112, "total"),
    ("TOI", "FACT-B Trial Outcome Index (0-96)", TOTAL, 113, "trial_outcome_index"),
)
#: (PARAMCD, PARAM, PARAMN, key in the stored quality_of_life values, unit)
AUCS: tuple[tuple[str, str, int, str, str], ...] = (
    ("FBAUC", "FACT-B Total AUC, Baseline to Horizon", 201, "auc", "score x days"),
    ("FBAUCN", "FACT-B Total AUC Normalised by Span", 202, "auc_normalised", "score"),
    ("FBAUCCB", "FACT-B Total AUC of Change from Baseline", 203, "auc_change_from_baseline", "score x days"),
)
#: (ABLFL, BASE, CHG) of one record
Baseline = tuple[str, float | None, float | None]
_SUBSCALE_OF = {item: subscale for subscale, items in SUBSCALE_ITEMS.items() for item in items}
_SUBSCALE_NAMES = {
    FactBSubscale.PHYSICAL: "Physical",
    FactBSubscale.SOCIAL: "Social/Family",
    FactBSubscale.EMOTIONAL: "Emotional",
    FactBSubscale.FUNCTIONAL: "Functional",
    FactBSubscale.BREAST_CANCER: "Breast Cancer Subscale",
}
ITEMS: tuple[tuple[str, str, int], ...] = tuple(
    (code, f"FACT-B {code} ({_SUBSCALE_NAMES[_SUBSCALE_OF[code]]}), response 0-4", number)
    for number, code in enumerate(FACT_B_ITEMS, start=1)
)

VARIABLES: tuple[Variable, ...] = (
    STUDYID,
    USUBJID,
    SITEID,
    TRT01P,
    Variable(
        "PARAMCD",
        "Parameter Code",
        Kind.TEXT,
        8,
        allowed=(*FACT_B_ITEMS, *(s[0] for s in SCORES), *(a[0] for a in AUCS)),
        source="Assigned",
    ),
    Variable("PARAM", "Parameter", Kind.TEXT, 60, source="Assigned"),
    Variable("PARAMN", "Parameter (N)", Kind.INTEGER, source="Assigned: items 1-37, scores 101-113, AUC 201-203"),
    Variable("PARCAT1", "Parameter Category 1", Kind.TEXT, 16, allowed=(ITEM, SUBSCALE, TOTAL, AUC), source="Assigned"),
    Variable("AVISIT", "Analysis Visit", Kind.TEXT, 40, source="patients.Visit (definition name, occurrence)"),
    Variable("ADT", "Analysis Date", Kind.DATE, source="CRF FACT-B (completion_date)"),
    Variable("ADY", "Analysis Relative Day", Kind.INTEGER, unit="days", source="Derived: ADT - origin (+1 on/after)"),
    Variable(
        "AVAL",
        "Analysis Value",
        Kind.FLOAT,
        source="Items: CRF FACT-B; scores: patients.domain.factb.score_fact_b; AUC: outcomes.PatientDerivation",
        description="Item response 0-4; score (points); AUC in score x days, normalised AUC in points.",
    ),
    Variable("AVALU", "Analysis Value Unit", Kind.TEXT, 12, allowed=("score x days", "score"), source="Assigned"),
    Variable(
        "ABLFL",
        "Baseline Record Flag",
        Kind.TEXT,
        1,
        allowed=("Y",),
        source="Derived: patients.domain.factb.fact_b_baseline_day (D14)",
        description="Per parameter: the last form with a value within -28..+7 days of the origin on or before it, "
        "else the first after it. Empty on AUC records.",
    ),
    Variable(
        "BASE",
        "Baseline Value",
        Kind.FLOAT,
        source="Derived: AVAL of the parameter's ABLFL record",
        description="On every record of the parameter; empty without a baseline and on AUC records.",
    ),
    Variable(
        "CHG",
        "Change from Baseline",
        Kind.FLOAT,
        source="Derived: AVAL - BASE (exact scores)",
        description="Records dated after the baseline record only; empty on it, before it, where AVAL or BASE is "
        "missing and on AUC records.",
    ),
    Variable(
        "REVFL",
        "Reverse-Scored Item Flag",
        Kind.TEXT,
        1,
        allowed=("Y",),
        source="patients.domain.factb.REVERSE_SCORED_ITEMS",
    ),
    Variable("NANS", "Number of Items Answered", Kind.INTEGER, source="Derived: patients.domain.factb"),
    Variable("NITEMS", "Number of Items in Score", Kind.INTEGER, source="Derived: patients.domain.factb"),
    Variable(
        "SHORTFL",
        "AUC Span Shorter than Horizon Flag",
        Kind.TEXT,
        1,
        allowed=("Y",),
        source="outcomes.PatientDerivation.values.quality_of_life.ends_before_horizon",
    ),
    Variable(
        "AUCNOTE",
        "AUC Missing Reason",
        Kind.TEXT,
        200,
        source="outcomes.PatientDerivation.values.quality_of_life.missing_reason",
    ),
    Variable("SRCDOM", "Source Data", Kind.TEXT, 20, source="Assigned: fact-b (CRF 14)"),
    Variable("SRCSEQ", "Source Sequence Number", Kind.INTEGER, source="patients.FactB id"),
)

SOURCE_DOMAIN = FactB.crf.code


def adqs_rows(*, trial: Trial, user: Any, chunk_size: int = CHUNK_SIZE) -> Iterator[Row]:
    """Per patient in the user's scope: each parameter (PARAMN order) over the questionnaires by date, then the AUC."""
    studyid = study_id(trial)
    single_arm = single_arm_of(trial)
    for patients in patient_batches(trial=trial, user=user, chunk_size=chunk_size):
        arms = allocated_arms(user=user, patients=patients)
        stored = derivations(user=user, patients=patients)
        forms = by_patient(
            of_patients(FactB, user=user, patients=patients)
            .filter(status=CrfStatus.COMPLETE, completion_date__isnull=False)
            .select_related("visit__definition")
            .order_by("patient_id", "completion_date", "pk")
        )
        for patient in patients:
            derivation = stored.get(patient.pk)
            origin = origin_of(patient, derivation)
            subject = (studyid, patient.subject_id, patient.site.code, planned_treatment(patient, arms, single_arm))
            scored = [(form, form.scores()) for form in forms.get(patient.pk, ())]
            days = None if origin is None else [(form.completion_date - origin).days for form, _ in scored]
            for code, param, number in ITEMS:
                responses = [getattr(form, code.lower()) for form, _ in scored]
                values = [None if response is None else Fraction(response) for response in responses]
                for (form, _), value, baseline in zip(scored, values, _baselines(values, days), strict=True):
                    yield (
                        *subject,
                        *_parameter(code, param, number, ITEM, form, origin),
                        _float(value),
                        None,
                        *baseline,
                        flag(code in REVERSE_SCORED_ITEMS),
                        None if value is None else 1,
                        1,
                        "",
                        None,
                        SOURCE_DOMAIN,
                        form.pk,
                    )
            for code, param, category, number, attribute in SCORES:
                parts: list[SubscaleScore | CompositeScore] = [getattr(scores, attribute) for _, scores in scored]
                values = [part.score for part in parts]
                for (form, _), part, baseline in zip(scored, parts, _baselines(values, days), strict=True):
                    yield (
                        *subject,
                        *_parameter(code, param, number, category, form, origin),
                        *_score(part, baseline, form.pk),
                    )
            quality_of_life = (derivation.values.get("quality_of_life") if derivation is not None else None) or {}
            if scored and quality_of_life:
                for code, param, number, key, unit in AUCS:
                    yield (*subject, code, param, number, AUC, None, None, None, *_auc(quality_of_life, key, unit))


def _baselines(values: Sequence[Fraction | None], days: Sequence[int] | None) -> list[Baseline]:
    """(ABLFL, BASE, CHG) of each record of one parameter of one patient: ``values`` and ``days`` (form date -
    origin; None without an origin) over the patient's forms in date order (module docstring)."""
    no_baseline: list[Baseline] = [("", None, None)] * len(values)
    if days is None:
        return no_baseline
    dated = list(zip(days, values, strict=True))
    baseline_day = fact_b_baseline_day(day for day, value in dated if value is not None)
    on_baseline_day = [
        (index, value) for index, (day, value) in enumerate(dated) if value is not None and day == baseline_day
    ]
    if baseline_day is None or len(on_baseline_day) != 1:
        return no_baseline
    [(baseline, base)] = on_baseline_day
    return [
        (
            flag(index == baseline),
            float(base),
            float(value - base) if value is not None and day > baseline_day else None,
        )
        for index, (day, value) in enumerate(dated)
    ]


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _parameter(code: str, param: str, number: int, category: str, form: FactB, origin: Any) -> tuple[Any, ...]:
    visit = form.visit
    return (
        code,
        param,
        number,
        category,
        str(visit) if visit is not None else None,
        form.completion_date,
        study_day(form.completion_date, origin),
    )


def _score(part: SubscaleScore | CompositeScore, baseline: Baseline, source: int) -> tuple[Any, ...]:
    return (
        _float(part.score),
        "score",
        *baseline,
        "",
        part.items_answered,
        part.items_total,
        "",
        None,
        SOURCE_DOMAIN,
        source,
    )


def _auc(quality_of_life: dict[str, Any], key: str, unit: str) -> tuple[Any, ...]:
    stored = quality_of_life.get(key)
    return (
        float(Decimal(stored)) if stored is not None else None,
        unit,
        "",
        None,
        None,
        "",
        None,
        None,
        flag(bool(quality_of_life.get("ends_before_horizon"))),
        clip(str(quality_of_life.get("missing_reason") or ""), 200) or None,
        None,
        None,
    )


ADQS = Dataset(
    name="ADQS",
    label="FACT-B Questionnaire Analysis Dataset",
    structure="One record per subject per parameter per questionnaire; one per AUC parameter per subject",
    keys=("STUDYID", "USUBJID", "PARAMN", "ADT", "SRCSEQ"),
    variables=VARIABLES,
    rows=adqs_rows,
)
