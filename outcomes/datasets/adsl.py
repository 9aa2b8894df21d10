"""ADSL, the subject-level analysis dataset: one record per patient (CDISC ADaM ADSL), every patient of the trial in
the user's scope, screen failures included (their ARM says so).

No direct identifier leaves the EDC: age at consent in years and its group, never a birth date (trials.md CRF 3).

Population flags (ADaMIG: "Y" or empty). The protocols do not define them yet; these are the choices made here,
from trials.md and decisions.md, for the statistical analysis plan to confirm:

- ``ITTFL`` intention to treat: registered (COSMO) or randomised with an allocated arm (AVATAR II): the patients the
  time-to-event analyses count from their origin (D1), analysed as allocated.
- ``SAFFL`` safety: ITT and received study treatment: a local ablative treatment (SABR, surgery, RFA; COSMO and
  AVATAR II arm A), or systemic therapy running on or after the origin (both trials continue or start systemic
  therapy at the origin: COSMO and arm A the same line, arm B the physician's choice, D35).
- ``EFFFL`` response-evaluable: ITT with a complete baseline (screening) tumour assessment and at least one complete
  post-baseline (follow-up or unscheduled) assessment (RECIST 1.1 evaluable, clinical-spec §1).

Subtype (D19, D36) and localisation (D18) are the derivation's stored subgroups; the ER-low flag is classified from
the tumour-biology forms by the same pure function (``patients.domain.subtype.patient_subtype``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from lesions.domain.localisation import LOCALISATION_LABELS, Localisation
from lesions.models import LocalAblativeTreatment, TumourAssessment
from patients.crf import CrfStatus
from patients.crfs.follow_up import DeathCause, EndOfStudyReason
from patients.domain.subtype import SUBTYPE_LABELS, Subtype, patient_subtype
from patients.models import (
    Allocation,
    Death,
    Demographics,
    EndocrinePartner,
    EndOfStudy,
    MenopausalStatus,
    OligoLesionsStratum,
    Patient,
    PatientStatus,
    Randomisation,
    Registration,
    SystemicTherapyLine,
    TumourBiology,
)
from trials.models import Arm, Trial

from ..models import PatientDerivation
from .base import Dataset, Kind, Row, Variable
from .common import (
    CHUNK_SIZE,
    SITEID,
    STUDYID,
    SUBJID,
    USUBJID,
    by_patient,
    derivations,
    flag,
    of_patients,
    origin_of,
    patient_batches,
    single_arm_of,
    study_id,
    subject_id_in_study,
)

COMPLETE = CrfStatus.COMPLETE

#: AGEGR1: under 50 (mostly premenopausal), 50-69, 70 and over (the older-patient subgroup of breast cancer trials)
AGE_GROUPS: tuple[tuple[int, str], ...] = ((50, "<50"), (70, "50-69"), (200, ">=70"))

SCREEN_FAILURE = ("Screen Failure", "SCRNFAIL")  # CDISC controlled terminology for ARM / ARMCD
NOT_ASSIGNED = ("Not Assigned", "NOTASSGN")

#: SUBTYPE values: ASCII labels of the D19 / D36 groups (SAS transport is ASCII)
SUBTYPES: dict[Subtype, str] = {
    Subtype.HR_POSITIVE_HER2_NEGATIVE: "HR+/HER2-",
    Subtype.HER2_POSITIVE: "HER2+",
    Subtype.TRIPLE_NEGATIVE: "TRIPLE NEGATIVE",
    Subtype.UNDETERMINED: "UNDETERMINED",
}
_SUBTYPE_BY_LABEL = {SUBTYPE_LABELS[subtype]: code for subtype, code in SUBTYPES.items()}
LOCALISATIONS: dict[Localisation, str] = {
    category: label.upper().replace(" (QUERY)", "") for category, label in LOCALISATION_LABELS.items()
}
_LOCALISATION_BY_VALUE = {category.value: category for category in Localisation}
END_REASONS: dict[str, str] = {
    EndOfStudyReason.WITHDREW_CONSENT: "WITHDREW CONSENT",
    EndOfStudyReason.LOST_TO_FOLLOW_UP: "LOST TO FOLLOW-UP",
    EndOfStudyReason.INVESTIGATOR_DECISION: "INVESTIGATOR DECISION",
    EndOfStudyReason.DEATH: "DEATH",
}
SCREEN_FAILURE_REASON = "SCREEN FAILURE"
DEATH_CAUSES: dict[str, str] = {
    DeathCause.DISEASE: "DISEASE PROGRESSION",
    DeathCause.TREATMENT: "TREATMENT-RELATED",
    DeathCause.OTHER: "OTHER",
}


def _flag_variable(name: str, label: str, description: str) -> Variable:
    return Variable(name, label, Kind.TEXT, 1, allowed=("Y",), source="Derived", description=description)


VARIABLES: tuple[Variable, ...] = (
    STUDYID,
    USUBJID,
    SUBJID,
    SITEID,
    Variable("COUNTRY", "Country", Kind.TEXT, 2, source="trials.Site.country (ISO 3166-1 alpha-2)"),
    Variable(
        "AGE",
        "Age",
        Kind.INTEGER,
        unit="years",
        source="patients.Patient.age_at_consent",
        description="Whole years on the day of consent; no birth date is held.",
    ),
    Variable("AGEU", "Age Units", Kind.TEXT, 5, allowed=("YEARS",), source="Assigned"),
    Variable(
        "AGEGR1",
        "Pooled Age Group 1",
        Kind.TEXT,
        5,
        allowed=tuple(label for _, label in AGE_GROUPS),
        source="Derived: from AGE",
    ),
    Variable("SEX", "Sex", Kind.TEXT, 1, allowed=("F", "M"), source="patients.Patient.sex"),
    Variable(
        "ECOGBL",
        "Baseline ECOG Performance Status",
        Kind.INTEGER,
        allowed=("0", "1", "2", "3", "4"),
        source="CRF Demographics & baseline (patients.Demographics.ecog)",
    ),
    Variable(
        "MENOSTAT",
        "Menopausal Status",
        Kind.TEXT,
        4,
        allowed=tuple(MenopausalStatus.values),
        source="CRF Demographics & baseline (patients.Demographics.menopausal_status)",
    ),
    Variable(
        "ARM",
        "Description of Planned Arm",
        Kind.TEXT,
        100,
        source="patients.Allocation.arm (trials.Arm.name)",
        description="As allocated; COSMO's single arm once registered; 'Screen Failure' or 'Not Assigned' else.",
    ),
    Variable("ARMCD", "Planned Arm Code", Kind.TEXT, 8, source="trials.Arm.code"),
    Variable("TRT01P", "Planned Treatment for Period 01", Kind.TEXT, 100, source="trials.Arm.name (as ARM)"),
    Variable("RFICDT", "Date of Informed Consent", Kind.DATE, source="patients.Patient.consent_date"),
    Variable(
        "ENRLDT",
        "Date of Registration / Randomisation",
        Kind.DATE,
        source="patients.Patient.enrolment_date",
        description="COSMO registration, AVATAR II randomisation (CRF 2).",
    ),
    Variable("RANDDT", "Date of Randomization", Kind.DATE, source="CRF Randomisation (randomisation_date); AVATAR II"),
    Variable(
        "ORIGDT",
        "Time-to-Event Origin Date",
        Kind.DATE,
        source="outcomes.PatientDerivation.values.origin_date",
        description="The origin of every endpoint per the trial's origin_event setting (D1).",
    ),
    Variable(
        "LATSDT",
        "Date of First Local Ablative Treatment",
        Kind.DATE,
        source="CRF Local ablative treatment (start_date), earliest",
    ),
    Variable(
        "STRAT1R",
        "Endocrine Partner Stratum, as Randomised",
        Kind.TEXT,
        4,
        allowed=tuple(EndocrinePartner.values),
        source="patients.Allocation.factors.endocrine_partner",
        description="D17: ai = aromatase inhibitor, serd = fulvestrant / other SERD; the stratum used (§6.2).",
    ),
    Variable(
        "STRAT2R",
        "Oligo Lesions Stratum, as Randomised",
        Kind.TEXT,
        3,
        allowed=tuple(OligoLesionsStratum.values),
        source="patients.Allocation.factors.oligo_lesions",
        description="D17: 1 vs 2-5 oligoprogressive lesions, as entered at randomisation.",
    ),
    Variable(
        "STRAT1",
        "Endocrine Partner Stratum, on CRF",
        Kind.TEXT,
        4,
        allowed=tuple(EndocrinePartner.values),
        source="CRF Randomisation (endocrine_partner)",
        description="After a stratification correction this may differ from STRAT1R (never re-randomised).",
    ),
    Variable(
        "STRAT2",
        "Oligo Lesions Stratum, on CRF",
        Kind.TEXT,
        3,
        allowed=tuple(OligoLesionsStratum.values),
        source="CRF Randomisation (oligo_lesions)",
    ),
    Variable(
        "SUBTYPE",
        "Breast Cancer Subtype",
        Kind.TEXT,
        15,
        allowed=tuple(SUBTYPES.values()),
        source="outcomes.PatientDerivation.values.subgroups.subtype",
        description="D19 / D36 from the most recent metastatic biopsy, else the primary.",
    ),
    _flag_variable(
        "ERLOWFL", "ER-Low (1-10 %) Flag", "ER 1-10 % inclusive on the specimen the subtype rests on (D36)."
    ),
    Variable(
        "LOCALIS",
        "Localisation of Progressive Lesion",
        Kind.TEXT,
        30,
        allowed=tuple(LOCALISATIONS.values()),
        source="outcomes.PatientDerivation.values.subgroups.localisation",
        description="D18 / D37 category of the oligoprogressive lesion(s); MIXED when they differ (a query).",
    ),
    _flag_variable("ITTFL", "Intent-To-Treat Population Flag", "Registered (COSMO) or randomised with an arm."),
    _flag_variable(
        "SAFFL",
        "Safety Population Flag",
        "ITT and received study treatment: LAT, or systemic therapy running on or after the origin.",
    ),
    _flag_variable(
        "EFFFL",
        "Response-Evaluable Population Flag",
        "ITT with a complete baseline and at least one complete post-baseline tumour assessment.",
    ),
    Variable(
        "EOSSTT",
        "End of Study Status",
        Kind.TEXT,
        12,
        allowed=("COMPLETED", "DISCONTINUED", "ONGOING"),
        source="CRF End of study (end_reason); patients.Patient.status",
        description="Before the End of study form: DISCONTINUED after a death, a screen failure or off study.",
    ),
    Variable("EOSDT", "End of Study Date", Kind.DATE, source="CRF End of study (end_date)"),
    Variable(
        "DCSREAS",
        "Reason for Discontinuation from Study",
        Kind.TEXT,
        25,
        allowed=(*END_REASONS.values(), SCREEN_FAILURE_REASON),
        source="CRF End of study (end_reason); patients.Patient.status",
    ),
    _flag_variable("DTHFL", "Subject Death Flag", "A complete Death form with its date."),
    Variable("DTHDT", "Date of Death", Kind.DATE, source="CRF Death (death_date)"),
    Variable(
        "DTHCAUS",
        "Cause of Death",
        Kind.TEXT,
        20,
        allowed=tuple(DEATH_CAUSES.values()),
        source="CRF Death (primary_cause)",
    ),
    Variable(
        "LSTALVDT",
        "Date Last Known Alive",
        Kind.DATE,
        source="outcomes.PatientDerivation.values.last_known_alive",
        description="D31; empty for a patient who died (or not yet derived).",
    ),
)


def age_group(age: int | None) -> str | None:
    if age is None:
        return None
    return next(label for limit, label in AGE_GROUPS if age < limit)


def adsl_rows(*, trial: Trial, user: Any, chunk_size: int = CHUNK_SIZE) -> Iterator[Row]:
    """One row per patient of the trial in the user's scope, by USUBJID."""
    studyid = study_id(trial)
    single_arm = single_arm_of(trial)
    enrolment_model = Randomisation if trial.is_randomised else Registration
    for patients in patient_batches(trial=trial, user=user, chunk_size=chunk_size):
        batch = _Batch(user, patients, enrolment_model)
        for patient in patients:
            yield (
                studyid,
                patient.subject_id,
                subject_id_in_study(patient, trial),
                *batch.columns(patient, single_arm),
            )


class _Batch:
    """The records of one page of patients, each table read once (``common`` module docstring)."""

    def __init__(self, user: Any, patients: list[Patient], enrolment_model: type[Any]) -> None:
        def complete(model: type[Any]) -> Any:
            return of_patients(model, user=user, patients=patients).filter(status=COMPLETE)

        allocations = of_patients(Allocation, user=user, patients=patients).select_related("arm")
        self.arms = {allocation.patient_id: allocation.arm for allocation in allocations}
        self.factors = {allocation.patient_id: allocation.factors for allocation in allocations}
        self.enrolments = {r.patient_id: r for r in complete(enrolment_model)}
        self.demographics = {r.patient_id: r for r in complete(Demographics).order_by("pk")}
        self.deaths = {r.patient_id: r for r in complete(Death)}
        self.ends = {r.patient_id: r for r in complete(EndOfStudy)}
        self.derivations: dict[int, PatientDerivation] = derivations(user=user, patients=patients)
        self.biology = by_patient(complete(TumourBiology).order_by("pk"))
        self.first_lat: dict[int, date] = {}
        for treatment in complete(LocalAblativeTreatment).filter(start_date__isnull=False).order_by("start_date"):
            self.first_lat.setdefault(treatment.patient_id, treatment.start_date)
        self.therapy = by_patient(complete(SystemicTherapyLine).filter(start_date__isnull=False))
        self.assessment_kinds: dict[int, set[str]] = {}
        for patient_id, kind in complete(TumourAssessment).values_list("patient_id", "visit__definition__kind"):
            self.assessment_kinds.setdefault(patient_id, set()).add(kind or "")

    def columns(self, patient: Patient, single_arm: Arm | None) -> tuple[Any, ...]:
        derivation = self.derivations.get(patient.pk)
        values = derivation.values if derivation is not None else {}
        subgroups = values.get("subgroups") or {}
        demographics = self.demographics.get(patient.pk)
        enrolment = self.enrolments.get(patient.pk)
        death = self.deaths.get(patient.pk)
        end = self.ends.get(patient.pk)
        factors = self.factors.get(patient.pk) or {}
        origin = origin_of(patient, derivation)
        arm_name, arm_code = self._arm(patient, single_arm)
        itt = patient.enrolment_date is not None and arm_code not in (SCREEN_FAILURE[1], NOT_ASSIGNED[1])
        subtype = patient_subtype(record.as_biology() for record in self.biology.get(patient.pk, ()))
        category = _LOCALISATION_BY_VALUE.get(subgroups.get("localisation") or "")
        died = death is not None and death.death_date is not None
        status, reason = self._end_of_study(patient, end, died=died)
        return (
            patient.site.code,
            patient.site.country,
            patient.age_at_consent,
            "YEARS",
            age_group(patient.age_at_consent),
            patient.sex,
            demographics.ecog if demographics is not None else None,
            (demographics.menopausal_status or None) if demographics is not None else None,
            arm_name,
            arm_code,
            arm_name if itt else None,
            patient.consent_date,
            patient.enrolment_date,
            getattr(enrolment, "randomisation_date", None),
            origin,
            self.first_lat.get(patient.pk),
            factors.get("endocrine_partner") or None,
            factors.get("oligo_lesions") or None,
            getattr(enrolment, "endocrine_partner", "") or None,
            getattr(enrolment, "oligo_lesions", "") or None,
            _SUBTYPE_BY_LABEL.get(subgroups.get("subtype") or ""),
            flag(bool(subtype.basis) and subtype.er_low),
            LOCALISATIONS[category] if category is not None else None,
            flag(itt),
            flag(itt and self._treated(patient, origin)),
            flag(itt and self._evaluable(patient)),
            status,
            end.end_date if end is not None else None,
            reason,
            flag(died),
            death.death_date if died and death is not None else None,
            DEATH_CAUSES.get(death.primary_cause) if died and death is not None else None,
            _iso(values.get("last_known_alive")),
        )

    def _arm(self, patient: Patient, single_arm: Arm | None) -> tuple[str, str]:
        arm = self.arms.get(patient.pk)
        if arm is None and single_arm is not None and patient.enrolment_date is not None:
            arm = single_arm
        if arm is not None:
            return arm.name, arm.code
        return SCREEN_FAILURE if patient.status == PatientStatus.SCREEN_FAILED else NOT_ASSIGNED

    def _evaluable(self, patient: Patient) -> bool:
        kinds = self.assessment_kinds.get(patient.pk, set())
        return "screening" in kinds and bool(kinds & {"follow_up", "unscheduled"})

    def _treated(self, patient: Patient, origin: date | None) -> bool:
        if patient.pk in self.first_lat:
            return True
        return origin is not None and any(
            line.stop_date is None or line.stop_date >= origin for line in self.therapy.get(patient.pk, ())
        )

    @staticmethod
    def _end_of_study(patient: Patient, end: EndOfStudy | None, *, died: bool) -> tuple[str, str | None]:
        """The End of study form when complete; before it, a recorded death or screen failure ends the study
        too (a death is never "ongoing" for want of the form), and a patient taken off study is discontinued."""
        if end is not None and end.end_reason:
            if end.end_reason == EndOfStudyReason.COMPLETED:
                return "COMPLETED", None
            return "DISCONTINUED", END_REASONS.get(end.end_reason)
        if died or patient.status == PatientStatus.DIED:
            return "DISCONTINUED", END_REASONS[EndOfStudyReason.DEATH]
        if patient.status == PatientStatus.SCREEN_FAILED:
            return "DISCONTINUED", SCREEN_FAILURE_REASON
        if patient.status == PatientStatus.OFF_STUDY:
            return "DISCONTINUED", None
        return "ONGOING", None


def _iso(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


ADSL = Dataset(
    name="ADSL",
    label="Subject-Level Analysis Dataset",
    structure="One record per subject",
    keys=("STUDYID", "USUBJID"),
    variables=VARIABLES,
    rows=adsl_rows,
)
