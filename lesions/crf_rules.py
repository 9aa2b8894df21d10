"""Edit checks of CRFs 6-8 (lesion register, local ablative treatment, tumour assessment), apart from the forms.

Each rule is ``(record, context) -> findings`` (``patients.edit_checks``) and never sees a request. Cross-record
rules read the patient's other records through ``selectors`` (imported inside the functions: ``models`` imports
this module to declare its specs). RECIST rules call the pure engine's validators (``domain/recist/validation``),
never a second copy of RECIST.

Tumour-assessment rows are read from ``record._pending_rows`` (an ``AssessmentRows`` the form or
``services.tumour_assessment_save`` attaches) so a wrong row blocks the save before anything is written.
Warnings (automatic queries) are raised only when the form is completed, as ``patients.edit_checks`` describes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from patients.edit_checks import (
    CheckContext,
    Finding,
    Rule,
    RuleSet,
    Severity,
    date_order,
    not_before_consent,
    not_before_enrolment,
    not_in_future,
    rules,
)

from .domain.recist import (
    NewLesionStatus,
    NonTargetStatus,
    TargetLesion,
    TargetStatus,
    validate_baseline_timing,
    validate_diameter_tenths,
    validate_target_selection,
)
from .domain.recist.arithmetic import format_mm
from .domain.recist.validation import MAX_DIAMETER_TENTHS

MAX_TOTAL_DOSE_GY = Decimal(100)
MAX_FRACTIONS = 15
MAX_DOSE_PER_FRACTION_GY = Decimal(35)
"""Plausible SABR: 0 < D <= 100 Gy in 1-15 fractions of at most 35 Gy (a typing error is far likelier beyond)."""


def _lesions(context: CheckContext) -> list[Any]:
    from .selectors import lesion_list

    lesions: list[Any] = context.lookup("lesions", lambda: list(lesion_list(patient=context.patient)))
    return lesions


def _others(record: Any, context: CheckContext) -> list[Any]:
    return [lesion for lesion in _lesions(context) if record.pk is None or lesion.pk != record.pk]


def _baseline_scan_date(context: CheckContext) -> date | None:
    from .selectors import baseline_scan_date

    found: date | None = context.lookup("baseline_scan_date", lambda: baseline_scan_date(patient=context.patient))
    return found


def required_on_complete(name: str, condition: Callable[[Any], bool], message: str) -> Rule:
    """``name`` must be filled to complete the form when ``condition`` holds (drafts may leave it empty)."""

    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        value = getattr(record, name, None)
        if context.completing and condition(record) and (value is None or value == ""):
            yield Finding(name, message, "required")

    return rule


# CRF 6: lesion register -----------------------------------------------------------------------------------------


def label_unique_per_patient(record: Any, context: CheckContext) -> Iterable[Finding]:
    label = (record.label or "").strip().casefold()
    if label and any((other.label or "").casefold() == label for other in _others(record, context)):
        yield Finding(
            "label", f"Label {record.label.upper()} is already used by another lesion of this patient.", "unique"
        )


def baseline_diameter_in_range(record: Any, context: CheckContext) -> Iterable[Finding]:
    """Diameters > 0 and < 500 mm (a larger one is a unit error: cm for mm, or tenths typed as mm)."""
    if record.baseline_tenths is None:
        return
    for _, message in validate_diameter_tenths(record.baseline_tenths, field="baseline_tenths", allow_zero=False):
        yield Finding("baseline_tenths", message, "range")


_SELF = "this"


def _as_target(lesion: Any, lesion_id: str) -> TargetLesion:
    return TargetLesion(
        lesion_id=lesion_id,
        organ=lesion.organ_group,
        baseline_tenths=lesion.baseline_tenths or 0,
        nodal=bool(lesion.is_nodal),
        bone=lesion.is_bone,
        locally_treated=bool(lesion.locally_treated),
    )


def target_selection(record: Any, context: CheckContext) -> Iterable[Finding]:
    """RECIST target selection over the patient's targets with this one (Eisenhauer 2009 §3; D5, D37, D38):
    at most 5 and 2 per organ (nodes one organ, bone one organ), nodal >= 15 mm short axis, non-nodal >= 10 mm,
    never a locally treated lesion; and a target is measurable."""
    from .models import LesionRole

    if record.role != LesionRole.TARGET:
        return
    if record.measurable is False:
        yield Finding(
            "measurable", "A target lesion must be measurable; record it as a non-target.", "target_measurable"
        )
    site = record.anatomical_site
    if site is not None and not site.measurable:
        yield Finding("site_code", f"{site.label}: RECIST never measures this site; it is a non-target.", "target_site")
    targets = [
        _as_target(other, str(other.pk)) for other in _others(record, context) if other.role == LesionRole.TARGET
    ]
    targets.append(_as_target(record, _SELF))
    value = record.baseline_tenths
    size_known = value is not None and 0 < value < MAX_DIAMETER_TENTHS  # out of range: ``baseline_diameter_in_range``
    for field, message in validate_target_selection(targets):
        if field == "targets":
            yield Finding("role", message, "target_selection")
        elif field == f"targets.{_SELF}.baseline_tenths" and size_known:
            yield Finding("baseline_tenths", message, "target_size")
        elif field == f"targets.{_SELF}.locally_treated":
            yield Finding("role", message, "target_locally_treated")


def treated_lesion_stays_treated(record: Any, context: CheckContext) -> Iterable[Finding]:
    """A lesion with a local ablative treatment record is locally treated (the treatment form sets it, D5)."""
    from .models import LocalAblativeTreatment

    if (
        record.pk is not None
        and not record.locally_treated
        and LocalAblativeTreatment.objects.filter(lesion=record).exists()
    ):
        yield Finding(
            "locally_treated",
            "This lesion has a local ablative treatment record, so it stays locally treated; correct that record "
            "if the treatment went to another lesion.",
            "treated",
        )


def first_seen_fits_the_baseline(record: Any, context: CheckContext) -> Iterable[Finding]:
    """A baseline lesion (target, non-target) was seen by the baseline scan; a new lesion only after it (§4.3.4)."""
    from .models import LesionRole

    first_seen, baseline = record.first_seen_date, _baseline_scan_date(context)
    if first_seen is None or baseline is None or not record.role:
        return
    if record.role == LesionRole.NEW and first_seen <= baseline:
        yield Finding(
            "first_seen_date",
            f"A new lesion is first seen after the baseline scan ({baseline}); an earlier one is a baseline lesion.",
            "new_after_baseline",
        )
    elif record.role != LesionRole.NEW and first_seen > baseline:
        yield Finding(
            "first_seen_date",
            f"A baseline lesion is seen by the baseline scan ({baseline}); one first seen later is a new lesion.",
            "baseline_seen_at_baseline",
        )


def first_seen_not_before_primary_diagnosis(record: Any, context: CheckContext) -> Iterable[Finding]:
    """History may predate consent, but a lesion seen before the breast cancer was diagnosed needs a look
    (imaging can precede the pathology date by days, so a warning and a query, not an error)."""
    from patients.fields import partial_date_earliest
    from patients.models import Demographics

    if not context.completing or record.first_seen_date is None:
        return
    demographics = context.lookup("demographics", lambda: Demographics.objects.filter(patient=context.patient).first())
    if demographics is None or not demographics.primary_diagnosis_date:
        return
    try:
        earliest = partial_date_earliest(demographics.primary_diagnosis_date)
    except ValidationError:
        return
    if record.first_seen_date < earliest:
        yield Finding(
            "first_seen_date",
            f"First seen before the primary diagnosis ({demographics.primary_diagnosis_date}): please confirm.",
            "before_primary_diagnosis",
            Severity.WARNING,
        )


def localisation_not_mixed(record: Any, context: CheckContext) -> Iterable[Finding]:
    """D18: oligoprogressive lesions in different localisation categories make the patient "mixed" (a query)."""
    from .selectors import patient_localisation

    if not context.completing or not record.oligoprogressive or record.anatomical_site is None:
        return
    found = patient_localisation(patient=context.patient, overlay=record)
    if found.mixed:
        categories = ", ".join(category.label.lower() for category in found.categories)
        yield Finding(
            "site_code",
            f"The oligoprogressive lesions are in different localisation categories ({categories}); the patient's "
            "category is 'mixed' until this is resolved.",
            "localisation_mixed",
            Severity.WARNING,
        )


LESION = rules(
    label_unique_per_patient,
    baseline_diameter_in_range,
    target_selection,
    treated_lesion_stays_treated,
    required_on_complete(
        "baseline_tenths", lambda r: r.role == "target", "A target lesion needs its baseline measurement."
    ),
    required_on_complete(
        "nodal", lambda r: r.anatomical_site is not None and r.is_nodal is None, "Say whether this is a lymph node."
    ),
    required_on_complete(
        "locally_treated_date", lambda r: bool(r.locally_treated), "A locally treated lesion needs the date."
    ),
    not_in_future("first_seen_date", "locally_treated_date"),
    date_order("first_seen_date", "locally_treated_date"),
    first_seen_fits_the_baseline,
    first_seen_not_before_primary_diagnosis,
    localisation_not_mixed,
)


# CRF 7: local ablative treatment --------------------------------------------------------------------------------

SABR_FIELDS = ("total_dose_gy", "fractions", "end_date", "technique")
SURGERY_FIELDS = ("procedure", "margin")
RFA_FIELDS = ("approach",)
MODALITY_FIELDS = {"sabr": SABR_FIELDS, "surgery": SURGERY_FIELDS, "rfa": RFA_FIELDS}


def treated_lesion_fits(record: Any, context: CheckContext) -> Iterable[Finding]:
    """The lesion is the patient's, not a target (D5: a locally treated lesion is never a target; AVATAR II arm-A
    re-baselining, D32, is not handled here), and treated on or after it was first seen."""
    from .models import LesionRole

    lesion = record.lesion if record.lesion_id else None
    if lesion is None:
        return
    if lesion.patient_id != context.patient.pk:
        yield Finding("lesion", "This lesion belongs to another patient.", "other_patient")
        return
    if lesion.role == LesionRole.TARGET:
        yield Finding(
            "lesion",
            f"{lesion.label} is a target lesion; a locally treated lesion cannot be a target. Make it a non-target "
            "on the lesion register first.",
            "treated_target",
        )
    if record.start_date and lesion.first_seen_date and record.start_date < lesion.first_seen_date:
        yield Finding(
            "start_date",
            f"The treatment cannot be before {lesion.label} was first seen ({lesion.first_seen_date}).",
            "date_order",
        )


def sabr_plausible(record: Any, context: CheckContext) -> Iterable[Finding]:
    dose, fractions = record.total_dose_gy, record.fractions
    if dose is not None and not (0 < dose <= MAX_TOTAL_DOSE_GY):
        yield Finding(
            "total_dose_gy",
            f"The total dose must be above 0 and at most {MAX_TOTAL_DOSE_GY} Gy (got {dose} Gy).",
            "range",
        )
    if fractions is not None and not (1 <= fractions <= MAX_FRACTIONS):
        yield Finding("fractions", f"SABR is given in 1 to {MAX_FRACTIONS} fractions (got {fractions}).", "range")
    if dose is not None and dose > 0 and fractions:
        per_fraction = Decimal(dose) / fractions
        if per_fraction > MAX_DOSE_PER_FRACTION_GY:
            yield Finding(
                "total_dose_gy",
                f"The dose per fraction must be at most {MAX_DOSE_PER_FRACTION_GY} Gy "
                f"(got {per_fraction.quantize(Decimal('0.01'))} Gy).",
                "dose_per_fraction",
            )


def modality_fields(record: Any, context: CheckContext) -> Iterable[Finding]:
    """Fields of the chosen modality are needed to complete; fields of another modality stay empty."""
    chosen = record.modality
    if not chosen:
        return
    for modality, names in MODALITY_FIELDS.items():
        for name in names:
            value = getattr(record, name, None)
            empty = value is None or value == ""
            if modality == chosen and empty and context.completing:
                yield Finding(
                    name, f"{_label(record, name)} is required for {record.get_modality_display()}.", "required"
                )
            elif modality != chosen and not empty:
                yield Finding(
                    name,
                    f"{_label(record, name)} is not part of {record.get_modality_display()}: leave it empty.",
                    "other_modality",
                )


def _label(record: Any, name: str) -> str:
    return str(record._meta.get_field(name).verbose_name).capitalize()


LOCAL_TREATMENT = rules(
    treated_lesion_fits,
    sabr_plausible,
    modality_fields,
    date_order("start_date", "end_date"),
    not_in_future("start_date", "end_date"),
    not_before_consent("start_date", "end_date"),
    not_before_enrolment("start_date", "end_date"),
)


# CRF 8: tumour assessment ---------------------------------------------------------------------------------------


def _rows(record: Any) -> Any:
    return getattr(record, "_pending_rows", None)


def _kind(record: Any) -> str:
    visit = record.visit if record.visit_id else None
    return visit.definition.kind if visit is not None else ""


def investigator_response_on_follow_up(record: Any, context: CheckContext) -> Iterable[Finding]:
    if context.completing and _kind(record) != "screening" and not record.investigator_response:
        yield Finding(
            "investigator_response",
            "The investigator's overall response is required to mark the form complete.",
            "required",
        )


def rows_complete(record: Any, context: CheckContext) -> Iterable[Finding]:
    """On completion every target and every non-target of the register has its row."""
    from .models import LesionRole

    rows = _rows(record)
    if rows is None or not context.completing:
        return
    given_targets = {row.lesion.pk for row in rows.targets}
    given_non_targets = {row.lesion.pk for row in rows.non_targets}
    for lesion in _lesions(context):
        if lesion.role == LesionRole.TARGET and lesion.pk not in given_targets:
            yield Finding(
                "targets",
                f"{lesion.label}: record a diameter, too small to measure, absent or not evaluated.",
                "target_missing",
            )
        if lesion.role == LesionRole.NON_TARGET and lesion.pk not in given_non_targets:
            yield Finding(
                "non_targets",
                f"{lesion.label}: record present, absent, unequivocal progression or not evaluated.",
                "non_target_missing",
            )


def target_rows_valid(record: Any, context: CheckContext) -> Iterable[Finding]:
    """A diameter exactly when measured, > 0 and < 500 mm (0 mm is "absent", D38); a scan date unless not evaluated;
    a baseline target is measured."""
    rows = _rows(record)
    if rows is None:
        return
    baseline = _kind(record) == "screening"
    for row in rows.targets:
        label = row.lesion.label
        measured = row.status == TargetStatus.MEASURED
        if measured and row.diameter_tenths is None:
            yield Finding("targets", f"{label}: a measured lesion needs its diameter.", "diameter_missing")
        if not measured and row.diameter_tenths is not None:
            yield Finding(
                "targets", f"{label}: a diameter is given only when the lesion is measured.", "diameter_unexpected"
            )
        if row.diameter_tenths is not None:
            for _, message in validate_diameter_tenths(row.diameter_tenths, field="", allow_zero=False):
                extra = " Record a lesion that has gone as absent." if row.diameter_tenths == 0 else ""
                yield Finding("targets", f"{label}: {message}{extra}", "range")
        if row.status != TargetStatus.NOT_EVALUATED and row.scan_date is None:
            yield Finding("targets", f"{label}: give the scan date.", "scan_date_missing")
        if baseline and not measured:
            yield Finding("targets", f"{label}: at baseline every target lesion is measured.", "baseline_measured")


def non_target_rows_valid(record: Any, context: CheckContext) -> Iterable[Finding]:
    rows = _rows(record)
    if rows is None:
        return
    for row in rows.non_targets:
        if row.status != NonTargetStatus.NOT_EVALUATED and row.scan_date is None:
            yield Finding("non_targets", f"{row.lesion.label}: give the scan date.", "scan_date_missing")


def new_lesion_rows_valid(record: Any, context: CheckContext) -> Iterable[Finding]:
    """A new lesion has its status and scan date (its first scan dates PD, D26-D27), a site to complete, none at
    baseline; a confirmation names an earlier equivocal finding of this patient, once; a finding that a later
    one confirms stays."""
    from .selectors import new_lesions_confirmed_later

    rows = _rows(record)
    if rows is None:
        return
    if rows.new_lesions and _kind(record) == "screening":
        yield Finding(
            "new_lesions",
            "A baseline assessment has no new lesions: register them as baseline lesions.",
            "baseline_new",
        )
    for number, row in enumerate(rows.new_lesions, start=1):
        name = f"New lesion {number}"
        if row.status not in (NewLesionStatus.EQUIVOCAL, NewLesionStatus.YES):
            yield Finding("new_lesions", f"{name}: say whether it is equivocal or unequivocal.", "status_missing")
        if row.scan_date is None:
            yield Finding("new_lesions", f"{name}: give the scan date.", "scan_date_missing")
        if context.completing and not row.site_code:
            yield Finding("new_lesions", f"{name}: give the anatomical site.", "site_missing")
        if row.confirms is not None and not _confirmable(row.confirms, row, record, context):
            yield Finding(
                "new_lesions",
                f"{name}: it can only confirm an equivocal new lesion of an earlier assessment.",
                "confirms",
            )
    links = Counter(row.confirms.pk for row in rows.new_lesions if row.confirms is not None)
    if any(count > 1 for count in links.values()):
        yield Finding("new_lesions", "Two rows confirm the same earlier finding.", "confirms_twice")
    if record.pk is not None:
        kept = {row.pk for row in rows.new_lesions if row.pk is not None}
        for finding in new_lesions_confirmed_later(assessment=record):
            if finding.pk not in kept:
                yield Finding(
                    "new_lesions",
                    f"The new lesion scanned {finding.scan_date} is confirmed by a later assessment: it stays.",
                    "confirmed_removed",
                )


def _confirmable(earlier: Any, row: Any, record: Any, context: CheckContext) -> bool:
    """An equivocal finding of an earlier assessment of the same patient, scanned before the confirming row."""
    return bool(
        earlier.assessment.patient_id == context.patient.pk
        and earlier.status == NewLesionStatus.EQUIVOCAL
        and (record.pk is None or earlier.assessment_id != record.pk)
        and not (earlier.scan_date and row.scan_date and earlier.scan_date >= row.scan_date)
    )


def scan_dates_fit(record: Any, context: CheckContext) -> Iterable[Finding]:
    """Scans are not in the future; a follow-up scan is after the baseline scan and on or after enrolment and the
    first local ablative treatment (consent <= registration <= LAT <= assessments)."""
    from .selectors import first_treatment_date

    rows = _rows(record)
    if rows is None:
        return
    today = context.today
    named = [
        *(("targets", row.lesion.label, row.scan_date) for row in rows.targets),
        *(("non_targets", row.lesion.label, row.scan_date) for row in rows.non_targets),
        *(("new_lesions", f"New lesion {n}", row.scan_date) for n, row in enumerate(rows.new_lesions, start=1)),
    ]
    follow_up = _kind(record) != "screening"
    enrolment = context.patient.enrolment_date
    treated = context.lookup("first_lat", lambda: first_treatment_date(patient=context.patient)) if follow_up else None
    baseline = _baseline_scan_date(context) if follow_up else None
    for field, name, scan_date in named:
        if scan_date is None:
            continue
        if scan_date > today:
            yield Finding(field, f"{name}: the scan date cannot be in the future.", "future_date")
        elif follow_up and enrolment is not None and scan_date < enrolment:
            yield Finding(
                field, f"{name}: a follow-up scan cannot be before enrolment ({enrolment}).", "before_enrolment"
            )
        elif follow_up and treated is not None and scan_date < treated:
            yield Finding(
                field,
                f"{name}: a follow-up scan cannot be before the local ablative treatment ({treated}).",
                "before_treatment",
            )
        elif follow_up and baseline is not None and scan_date <= baseline:
            yield Finding(field, f"{name}: the scan must be after the baseline scan ({baseline}).", "before_baseline")


def baseline_window(record: Any, context: CheckContext) -> Iterable[Finding]:
    """D5 / D23: the baseline scan is on or before the origin and at most ``baseline_window_days`` before it."""
    from .selectors import recist_settings

    rows = _rows(record)
    origin = context.patient.enrolment_date
    if rows is None or not context.completing or _kind(record) != "screening" or origin is None:
        return
    scan_date = rows.latest_scan_date
    if scan_date is None:
        return
    settings = recist_settings(trial=context.patient.trial)
    for _, message in validate_baseline_timing(origin, scan_date, settings):
        yield Finding("assessment_date", message, "baseline_window", Severity.WARNING)


def baseline_matches_register(record: Any, context: CheckContext) -> Iterable[Finding]:
    """The baseline assessment's measurement of a target is the one the register holds (a query when not)."""
    rows = _rows(record)
    if rows is None or not context.completing or _kind(record) != "screening":
        return
    for row in rows.targets:
        registered = row.lesion.baseline_tenths
        if row.diameter_tenths is not None and registered is not None and row.diameter_tenths != registered:
            yield Finding(
                "targets",
                f"{row.lesion.label}: measured {format_mm(row.diameter_tenths)} here but {format_mm(registered)} on "
                "the lesion register; the RECIST baseline uses this assessment's value.",
                "baseline_differs",
                Severity.WARNING,
            )


#: Checks of the rows; the service runs them on the pending rows inside the CRF service's transaction.
ASSESSMENT_ROWS = rules(
    rows_complete,
    target_rows_valid,
    non_target_rows_valid,
    new_lesion_rows_valid,
    scan_dates_fit,
    baseline_window,
    baseline_matches_register,
)


def _errors_only(rule_set: RuleSet) -> Rule:
    def rule(record: Any, context: CheckContext) -> Iterable[Finding]:
        return [finding for finding in rule_set.run(record, context) if finding.severity == Severity.ERROR]

    return rule


# The row errors run here too, so an edit with a wrong row is refused before anything is written. Row warnings
# are synced by ``services.assessment_rows_save`` under their own query prefix (see there for why).
TUMOUR_ASSESSMENT = rules(investigator_response_on_follow_up, _errors_only(ASSESSMENT_ROWS))
