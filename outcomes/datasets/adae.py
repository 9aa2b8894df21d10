"""ADAE, the adverse-event analysis dataset: one record per adverse-event episode (CDISC ADaM OCCDS), from the
complete Adverse event forms (CRF 12).

One episode carries its worst CTCAE v5.0 grade (D15). ``AEDECOD`` is the CTCAE term (a MedDRA lowest level term),
``AEBODSYS`` its system organ class, both from the CTCAE lookup (``patients.CtcaeTerm``, clinical-spec §5.2).
Attribution is recorded per intervention (D15) and exported per intervention; "related" means possible, probable or
definite, and the flags come from the same pure calculators the form shows (``patients.domain.safety``):
``TRRELFL`` related to any study treatment, ``LATRELFL`` related to SABR, surgery or RFA. ``LATCOMP`` is the LAT
complication timing the derivation stored (acute within ``lat_acute_days`` of the LAT, else late; D15).
Seriousness follows ICH E2A (each criterion its own Y/N variable, as SDTM AE); severity (grade) is not seriousness.
``TRTEMFL``: onset on or after the time origin (registration / randomisation, D1): the events on study.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from patients.crf import CrfStatus
from patients.crfs.safety import (
    ATTRIBUTION_FIELDS,
    SERIOUSNESS_FIELDS,
    ActionTaken,
    AdverseEventOutcome,
    AttributionLevel,
    Expectedness,
)
from patients.domain import safety as calc
from patients.models import AdverseEvent
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
    yes_no,
)

ATTRIBUTIONS = tuple(level.upper() for level in AttributionLevel.values)

#: attribution variable per intervention (D15), in the form's order
ATTRIBUTION_VARIABLES: dict[calc.Intervention, tuple[str, str]] = {
    calc.Intervention.SABR: ("AERELSAB", "Causality to SABR"),
    calc.Intervention.SURGERY: ("AERELSUR", "Causality to Surgery"),
    calc.Intervention.RFA: ("AERELRFA", "Causality to Radiofrequency Ablation"),
    calc.Intervention.ENDOCRINE_THERAPY: ("AERELET", "Causality to Endocrine Therapy"),
    calc.Intervention.CDK46_INHIBITOR: ("AERELCDK", "Causality to CDK4/6 Inhibitor"),
    calc.Intervention.PHYSICIANS_CHOICE: ("AERELPC", "Causality to Physician's-Choice Therapy"),
    calc.Intervention.DISEASE: ("AERELDIS", "Causality to Underlying Disease"),
}
#: seriousness variable per ICH E2A criterion (SDTM AE names)
SERIOUSNESS_VARIABLES: dict[calc.SeriousnessCriterion, tuple[str, str]] = {
    calc.SeriousnessCriterion.DEATH: ("AESDTH", "Results in Death"),
    calc.SeriousnessCriterion.LIFE_THREATENING: ("AESLIFE", "Is Life Threatening"),
    calc.SeriousnessCriterion.HOSPITALISATION: ("AESHOSP", "Requires or Prolongs Hospitalization"),
    calc.SeriousnessCriterion.DISABILITY: ("AESDISAB", "Persist or Signif Disability/Incapacity"),
    calc.SeriousnessCriterion.CONGENITAL_ANOMALY: ("AESCONG", "Congenital Anomaly or Birth Defect"),
    calc.SeriousnessCriterion.IMPORTANT_MEDICAL_EVENT: ("AESMIE", "Other Medically Important Serious Event"),
}
SUSAR = {calc.SusarStatus.SUSAR: "Y", calc.SusarStatus.NOT_SUSAR: "N", calc.SusarStatus.UNDETERMINED: ""}


def _crf(field: str) -> str:
    return f"CRF Adverse event (patients.AdverseEvent.{field})"


def _yn(name: str, label: str, source: str, description: str = "") -> Variable:
    return Variable(name, label, Kind.TEXT, 1, allowed=("Y", "N"), source=source, description=description)


def _y(name: str, label: str, source: str, description: str = "") -> Variable:
    return Variable(name, label, Kind.TEXT, 1, allowed=("Y",), source=source, description=description)


VARIABLES: tuple[Variable, ...] = (
    STUDYID,
    USUBJID,
    SITEID,
    TRT01P,
    Variable(
        "AESEQ",
        "Sequence Number",
        Kind.INTEGER,
        source="Derived: 1, 2, ... per subject by onset date, then record id",
    ),
    Variable("AESPID", "Sponsor-Defined Identifier", Kind.INTEGER, source="patients.AdverseEvent id (the CRF record)"),
    Variable(
        "AETERM",
        "Reported Term for the Adverse Event",
        Kind.TEXT,
        200,
        source=_crf("term, other_specify"),
        description="The CTCAE term, with the 'Other, specify' text when given.",
    ),
    Variable("AEDECOD", "Dictionary-Derived Term", Kind.TEXT, 200, source="patients.CtcaeTerm.term (CTCAE v5.0)"),
    Variable("AEBODSYS", "Body System or Organ Class", Kind.TEXT, 200, source="patients.CtcaeTerm.soc"),
    Variable(
        "AETOXGR", "Standard Toxicity Grade", Kind.TEXT, 1, allowed=("1", "2", "3", "4", "5"), source=_crf("grade")
    ),
    Variable(
        "ATOXGRN",
        "Analysis Toxicity Grade (N)",
        Kind.INTEGER,
        allowed=("1", "2", "3", "4", "5"),
        source=_crf("grade"),
        description="Worst CTCAE v5.0 grade of the episode (D15).",
    ),
    Variable("ASTDT", "Analysis Start Date", Kind.DATE, source=_crf("onset_date")),
    Variable(
        "ASTDY",
        "Analysis Start Relative Day",
        Kind.INTEGER,
        unit="days",
        source="Derived: ASTDT - origin (+1 on/after)",
    ),
    Variable("AENDT", "Analysis End Date", Kind.DATE, source=_crf("resolution_date")),
    Variable(
        "ADURN",
        "Analysis Duration (N)",
        Kind.INTEGER,
        unit="days",
        source="Derived: AENDT - ASTDT + 1",
    ),
    _y("AEONGO", "Ongoing Adverse Event", _crf("ongoing")),
    _y("TRTEMFL", "Treatment Emergent Analysis Flag", "Derived", "Onset on or after the time origin (D1)."),
    _yn("AESER", "Serious Event", "Derived: any ICH E2A criterion", "patients.domain.safety.is_serious"),
    *(
        _yn(name, label, _crf(SERIOUSNESS_FIELDS[criterion]))
        for criterion, (name, label) in SERIOUSNESS_VARIABLES.items()
    ),
    *(
        Variable(name, label, Kind.TEXT, 9, allowed=ATTRIBUTIONS, source=_crf(ATTRIBUTION_FIELDS[intervention]))
        for intervention, (name, label) in ATTRIBUTION_VARIABLES.items()
    ),
    _y(
        "TRRELFL",
        "Treatment-Related Flag",
        "Derived: patients.domain.safety.is_treatment_related",
        "Possible, probable or definite to any study treatment (not the disease alone; D15).",
    ),
    _y(
        "LATRELFL",
        "LAT-Related Flag",
        "Derived: patients.domain.safety.is_lat_related",
        "Possible, probable or definite to SABR, surgery or RFA (D15).",
    ),
    Variable(
        "LATCOMP",
        "LAT Complication Timing",
        Kind.TEXT,
        5,
        allowed=("ACUTE", "LATE"),
        source="outcomes.PatientDerivation.values.lat_complications",
        description="Acute: onset within lat_acute_days (default 90) of the LAT; late: after (D15).",
    ),
    Variable(
        "AEEXPCT",
        "Expectedness",
        Kind.TEXT,
        10,
        allowed=tuple(value.upper() for value in Expectedness.values),
        source=_crf("expectedness"),
    ),
    _yn("SUSARFL", "SUSAR Flag", "Derived: patients.domain.safety.susar_status", "Empty while undetermined."),
    Variable(
        "AEOUT",
        "Outcome of Adverse Event",
        Kind.TEXT,
        14,
        allowed=tuple(value.upper() for value in AdverseEventOutcome.values),
        source=_crf("outcome"),
    ),
    Variable(
        "AEACN",
        "Action Taken with Study Treatment",
        Kind.TEXT,
        14,
        allowed=tuple(value.upper() for value in ActionTaken.values),
        source=_crf("action_taken"),
    ),
    Variable("AESAWDT", "Date Site Became Aware (SAE)", Kind.DATE, source=_crf("site_awareness_date")),
    Variable("AESRPDT", "Date Reported to Sponsor (SAE)", Kind.DATE, source=_crf("reported_to_sponsor_date")),
)


def adae_rows(*, trial: Trial, user: Any, chunk_size: int = CHUNK_SIZE) -> Iterator[Row]:
    """Every complete adverse-event form of the trial's patients in the user's scope, by USUBJID and AESEQ."""
    studyid = study_id(trial)
    single_arm = single_arm_of(trial)
    for patients in patient_batches(trial=trial, user=user, chunk_size=chunk_size):
        arms = allocated_arms(user=user, patients=patients)
        stored = derivations(user=user, patients=patients)
        events = by_patient(
            of_patients(AdverseEvent, user=user, patients=patients)
            .filter(status=CrfStatus.COMPLETE)
            .select_related("term")
            .order_by("patient_id", "onset_date", "pk")
        )
        for patient in patients:
            derivation = stored.get(patient.pk)
            origin = origin_of(patient, derivation)
            timing = _lat_timing(derivation.values if derivation is not None else {})
            treatment = planned_treatment(patient, arms, single_arm)
            for sequence, event in enumerate(events.get(patient.pk, ()), start=1):
                yield (
                    studyid,
                    patient.subject_id,
                    patient.site.code,
                    treatment,
                    sequence,
                    *_event_columns(event, origin, timing.get(f"patients.adverseevent:{event.pk}")),
                )


def _lat_timing(values: dict[str, Any]) -> dict[str, str]:
    """AE record id -> ACUTE / LATE, from the stored LAT complications (the earliest-classified wins)."""
    found: dict[str, str] = {}
    for complication in values.get("lat_complications") or ():
        found.setdefault(str(complication.get("adverse_event_id")), str(complication.get("timing") or ""))
    return found


def _event_columns(event: AdverseEvent, origin: Any, lat_timing: str | None) -> tuple[Any, ...]:
    term = event.term if event.term_id is not None else None
    attributions = event.attributions()
    criteria = set(event.seriousness_criteria())
    duration = (
        (event.resolution_date - event.onset_date).days + 1 if event.onset_date and event.resolution_date else None
    )
    grade = event.grade
    return (
        event.pk,
        clip(event.term_label(), 200) if term is not None else None,
        term.term if term is not None else None,
        term.soc if term is not None else None,
        str(grade) if grade else None,
        grade,
        event.onset_date,
        study_day(event.onset_date, origin),
        event.resolution_date,
        duration,
        flag(event.ongoing),
        flag(event.onset_date is not None and origin is not None and event.onset_date >= origin),
        yes_no(event.is_serious),
        *(yes_no(criterion in criteria) for criterion in SERIOUSNESS_VARIABLES),
        *(
            level.value.upper() if (level := attributions.get(intervention)) is not None else None
            for intervention in ATTRIBUTION_VARIABLES
        ),
        flag(event.is_treatment_related),
        flag(event.is_lat_related),
        lat_timing or None,
        event.expectedness.upper() or None,
        SUSAR[event.susar_status()] or None,
        event.outcome.upper() or None,
        event.action_taken.upper() or None,
        event.site_awareness_date,
        event.reported_to_sponsor_date,
    )


ADAE = Dataset(
    name="ADAE",
    label="Adverse Events Analysis Dataset",
    structure="One record per adverse-event episode (worst grade, D15)",
    keys=("STUDYID", "USUBJID", "AESEQ"),
    variables=VARIABLES,
    rows=adae_rows,
)
