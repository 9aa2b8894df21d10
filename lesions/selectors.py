"""Reads of lesions and tumour assessments, and the bridge from the database to the pure RECIST engine.

Every function takes a patient that the caller has already resolved through the user's scope
(``patients.selectors.patient_get`` in views, the CRF service's scope check in writes): nothing here widens it.

The recompute reads many patients at once: ``recist_records`` loads the RECIST inputs of a chunk of patients in a
constant number of queries (``fetch_rows``: SQL built once per table, not per call) and ``recist_evaluation`` runs
the engine over one patient's loaded rows; the per-patient call loads its own, so both paths share one evaluation.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Min, Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.expressions import Col
from django.db.models.signals import post_init, pre_init

from patients.crf import CrfStatus
from patients.models import Patient, Visit
from trials.models import AnalysisSettings, Trial, VisitDefinition
from trials.selectors import analysis_settings_current

from .domain.localisation import CURRENT_VERSION, PatientLocalisation, anatomical_site
from .domain.localisation import patient_localisation as localisation_of_codes
from .domain.radiobiology import (
    biologically_effective_dose,
    dose_per_fraction,
    equivalent_dose_in_2gy_fractions,
    round_gy,
)
from .domain.recist import (
    ALGORITHM_VERSION,
    Baseline,
    NewLesionObservation,
    NewLesionStatus,
    NonTargetLesion,
    NonTargetObservation,
    NonTargetStatus,
    OverallResponse,
    PatientAssessments,
    PatientResponse,
    RecistSettings,
    ResponseWindowLimits,
    TargetLesion,
    TargetObservation,
    TargetStatus,
    TimePoint,
    TimePointResult,
    evaluate,
)
from .domain.recist.arithmetic import format_mm, format_percent, format_signed_mm
from .models import (
    RESPONSE_LABELS,
    AssessmentRows,
    Lesion,
    LesionRole,
    LocalAblativeTreatment,
    Modality,
    NewLesion,
    NewLesionRow,
    NonTargetRow,
    TargetMeasurement,
    TargetRow,
    TumourAssessment,
)
from .models import NonTargetObservation as NonTargetRecord

# Plain reads ----------------------------------------------------------------------------------------------------


def lesion_list(*, patient: Patient) -> QuerySet[Lesion]:
    return Lesion.objects.filter(patient=patient).order_by("label", "pk")


def target_lesions(*, patient: Patient) -> QuerySet[Lesion]:
    return lesion_list(patient=patient).filter(role=LesionRole.TARGET)


def non_target_lesions(*, patient: Patient) -> QuerySet[Lesion]:
    return lesion_list(patient=patient).filter(role=LesionRole.NON_TARGET)


def equivocal_new_lesions(*, patient: Patient, exclude: TumourAssessment | None = None) -> QuerySet[NewLesion]:
    """Equivocal new lesions of the patient's other assessments: what a later finding may confirm (D27)."""
    found = NewLesion.objects.filter(assessment__patient=patient, status=NewLesionStatus.EQUIVOCAL)
    if exclude is not None and exclude.pk is not None:
        found = found.exclude(assessment=exclude)
    return found.select_related("assessment").order_by("scan_date", "pk")


def new_lesions_confirmed_later(*, assessment: TumourAssessment) -> list[NewLesion]:
    """Rows of ``assessment`` that a row of another assessment confirms (they cannot be removed)."""
    # ordered as ``Meta.ordering`` orders one assessment's rows (by id), without its joins up to the trial
    return list(NewLesion.objects.filter(assessment=assessment, confirmed_by__isnull=False).order_by("pk").distinct())


def baseline_assessment(*, patient: Patient) -> TumourAssessment | None:
    """The complete tumour assessment of the screening visit: the RECIST baseline (D5)."""
    return (
        TumourAssessment.objects.filter(patient=patient, status="complete", visit__definition__kind="screening")
        .order_by("-assessment_date", "-pk")
        .first()
    )


def baseline_scan_date(*, patient: Patient) -> date | None:
    found = baseline_assessment(patient=patient)
    return found.assessment_date if found is not None else None


def first_treatment_date(*, patient: Patient) -> date | None:
    """The first local ablative treatment of the patient (consent <= registration <= LAT <= assessments)."""
    first: date | None = LocalAblativeTreatment.objects.filter(patient=patient).aggregate(first=Min("start_date"))[
        "first"
    ]
    return first


def rows_of(assessment: TumourAssessment) -> AssessmentRows:
    """The saved rows of an assessment, in the shape the form and the checks use."""
    if assessment.pk is None:
        return AssessmentRows()
    return AssessmentRows(
        targets=tuple(
            TargetRow(row.lesion, row.status, row.diameter_tenths, row.scan_date)
            for row in assessment.target_measurements.select_related("lesion").order_by("lesion__label")
        ),
        non_targets=tuple(
            NonTargetRow(row.lesion, row.status, row.scan_date)
            for row in assessment.non_target_observations.select_related("lesion").order_by("lesion__label")
        ),
        new_lesions=tuple(
            NewLesionRow(row.status, row.scan_date, row.site_code, row.confirms, row.description, row.pk)
            for row in assessment.new_lesions.select_related("confirms").order_by("pk")
        ),
    )


def _rows_for(assessment: TumourAssessment) -> AssessmentRows:
    pending: AssessmentRows | None = getattr(assessment, "_pending_rows", None)
    return pending if pending is not None else rows_of(assessment)


# Reads for many patients at once ---------------------------------------------------------------------------------

_M = TypeVar("_M", bound=Model)
#: per model, query shape and thread (a compiler holds its thread's connection): SQL, attnames, compiler, converters
_PREPARED: dict[tuple[Any, ...], tuple[str, list[str], Any, dict[int, Any]]] = {}


def fetch_rows(
    model: type[_M],
    column: str,
    values: Collection[Any],
    *,
    complete: bool = False,
    through: tuple[type[Model], str] | None = None,
    order_by: tuple[str, ...] = ("id",),
    lock: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> list[_M]:
    """The rows of ``model`` whose ``column`` is one of ``values``, as model instances (no related rows loaded):
    ``model.objects.filter(<column>__in=values).order_by(*order_by)``, the SQL built once per shape and process.

    The recompute reads some twenty tables per patient; Django compiles a queryset anew on every evaluation, which
    costs several times the query itself, so these reads skip the compiler and go through ``Model.from_db`` with
    the fields' database converters, as a queryset does. ``complete``: only complete forms. ``through``: (parent
    model, foreign key column) when ``column`` is the parent's (e.g. the assessment's ``patient_id`` for its rows).
    ``lock``: ``select_for_update(of=("self",))``, where the database has it.
    """
    if not values:
        return []
    connection = connections[using]
    key = (model, column, complete, through, order_by, lock, using, threading.get_ident())
    prepared = _PREPARED.get(key)
    if prepared is None:
        quote = connection.ops.quote_name
        fields: list[Any] = list(model._meta.concrete_fields)
        source = f"{quote(model._meta.db_table)} t"
        where = f"t.{quote(column)}"
        if through is not None:
            parent, foreign_key = through
            parent_key: Any = parent._meta.pk.column if parent._meta.pk is not None else "id"
            source += f" JOIN {quote(parent._meta.db_table)} p ON p.{quote(parent_key)} = t.{quote(foreign_key)}"
            where = f"p.{quote(column)}"
        status = "t.status = %s AND " if complete else ""
        columns = ", ".join(f"t.{quote(f.column)}" for f in fields)
        order = ", ".join(f"t.{quote(name)}" for name in order_by)
        # identifiers from the model's metadata, quoted; every value is a parameter
        sql = f"SELECT {columns} FROM {source} WHERE {status}{where} IN (<values>) ORDER BY {order}"  # noqa: S608
        if lock and connection.features.has_select_for_update_of:
            sql += " FOR UPDATE OF t"
        compiler = model._default_manager.all().query.get_compiler(using=using)
        converters = compiler.get_converters([Col(model._meta.db_table, field) for field in fields])
        prepared = _PREPARED[key] = (sql, [f.attname for f in fields], compiler, converters)
    sql, attnames, compiler, converters = prepared
    params = ([CrfStatus.COMPLETE] if complete else []) + list(values)
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("<values>", ", ".join(["%s"] * len(values))), params)
        rows: Any = cursor.fetchall()
    if converters:
        rows = compiler.apply_converters(rows, converters)
    return _instances(model, attnames, rows, using)


def _instances(model: type[_M], attnames: list[str], rows: Iterable[Any], using: str) -> list[_M]:
    """``model.from_db`` of each row. A plain model (Django's own ``__init__`` and ``from_db``, no ``pre_init`` /
    ``post_init`` receivers) gets the same instance faster: its attributes set at once, not through the foreign
    keys' descriptors one by one (no related object is cached yet, so they have nothing to check)."""
    if (
        model.__init__ is not Model.__init__
        or model.from_db.__func__ is not Model.from_db.__func__  # type: ignore[attr-defined]
        or pre_init.has_listeners(model)
        or post_init.has_listeners(model)
    ):
        return [model.from_db(using, attnames, row) for row in rows]
    found = []
    for row in rows:
        instance = object.__new__(model)
        state = ModelState()
        state.adding, state.db = False, using
        instance.__dict__.update(zip(attnames, row, strict=True), _state=state)
        found.append(instance)
    return found


def attach(instance: Model, name: str, related: Any) -> None:
    """Cache ``related`` as ``instance.<name>`` (a foreign key whose id it has), as ``select_related`` does."""
    instance._meta.get_field(name).set_cached_value(instance, related)  # type: ignore[union-attr]


# Settings -------------------------------------------------------------------------------------------------------


def _settings(trial: Trial) -> AnalysisSettings | None:
    try:
        return analysis_settings_current(trial=trial)
    except AnalysisSettings.DoesNotExist:
        return None


def trials_settings(trial_ids: Sequence[int]) -> dict[int, AnalysisSettings | None]:
    """The current analysis settings of each trial (its latest version), in one query."""
    found: dict[int, AnalysisSettings | None] = dict.fromkeys(trial_ids)
    for settings in fetch_rows(AnalysisSettings, "trial_id", set(trial_ids), order_by=("trial_id", "version")):
        found[settings.trial_id] = settings  # the last one, the highest version, wins
    return found


def recist_settings(*, trial: Trial) -> RecistSettings:
    """The trial's current RECIST settings (D5, D13); the engine's defaults when none are configured."""
    return recist_settings_of(_settings(trial))


def recist_settings_of(settings: AnalysisSettings | None) -> RecistSettings:
    if settings is None:
        return RecistSettings()
    return RecistSettings(
        confirmation_required=settings.confirmation_required,
        min_confirm_days=settings.min_confirm_days,
        min_sd_days=settings.min_sd_days,
        baseline_window_days=settings.baseline_window_days,
    )


def localisation_version(*, trial: Trial) -> str:
    settings = _settings(trial)
    return settings.localisation_table_version if settings is not None else CURRENT_VERSION


# Localisation ---------------------------------------------------------------------------------------------------


def patient_localisation(*, patient: Patient, overlay: Lesion | None = None) -> PatientLocalisation:
    """The patient's localisation category (D18) from their oligoprogressive lesions, with ``overlay`` as it would
    be saved (a new lesion, or an edit; an unsaved copy replaces the saved lesion of the same label)."""
    lesions = list(lesion_list(patient=patient))
    if overlay is not None:
        lesions = [
            lesion
            for lesion in lesions
            if lesion.pk != overlay.pk and not (overlay.pk is None and overlay.label and lesion.label == overlay.label)
        ]
        lesions.append(overlay)
    return localisation_of(lesions, localisation_version(trial=patient.trial))


def localisation_of(lesions: Sequence[Lesion], version: str) -> PatientLocalisation:
    """The localisation category of a lesion register (``lesion_list`` order) under a table version."""
    codes = [lesion.site_code for lesion in lesions if lesion.oligoprogressive and lesion.site_code]
    known = [code for code in codes if _known(code, version)]
    return localisation_of_codes(known, version)


def _known(code: str, version: str) -> bool:
    try:
        anatomical_site(code, version)
    except ValueError:
        return False
    return True


# RECIST: the database -> the engine -------------------------------------------------------------------------------

PREVIEW_ID = "this-form"


@dataclass(frozen=True)
class RecistEvaluation:
    """The engine's answer for a patient, or why there is none (``problem``)."""

    response: PatientResponse | None
    problem: str
    baseline: TumourAssessment | None
    baseline_sum_tenths: int | None
    #: assessment pk (or ``PREVIEW_ID`` for an unsaved form) -> the engine's time point id
    time_point_ids: dict[Any, str]

    def result_for(self, assessment: TumourAssessment) -> TimePointResult | None:
        if self.response is None:
            return None
        wanted = self.time_point_ids.get(assessment.pk if assessment.pk is not None else PREVIEW_ID)
        return next((tp for tp in self.response.time_points if tp.time_point_id == wanted), None)


def _kind(assessment: TumourAssessment) -> str:
    return assessment.visit.definition.kind if assessment.visit_id and assessment.visit else ""


def _new_lesion_id(row: NewLesionRow, index: int) -> str:
    """A new lesion is named by the first finding of its chain, so a later confirmation is the same lesion (D27)."""
    if row.confirms is not None:
        return f"new-{row.confirms.root.pk}"
    if row.pk is not None:
        return f"new-{row.pk}"
    return f"new-unsaved-{index}"


def _time_point(
    time_point_id: str,
    assessment: TumourAssessment,
    rows: AssessmentRows,
    targets: set[int],
    non_targets: set[int],
) -> TimePoint | None:
    when = (
        rows.latest_scan_date
        or assessment.assessment_date
        or (assessment.visit.visit_date if assessment.visit else None)
    )
    if when is None:
        return None
    target_observations = []
    for row in rows.targets:
        if row.lesion.pk not in targets:
            continue  # a lesion that is no longer a target: the register changed after this assessment
        status = TargetStatus(row.status)
        tenths = row.diameter_tenths if status is TargetStatus.MEASURED else None
        scan = row.scan_date if status is not TargetStatus.NOT_EVALUATED else None
        target_observations.append(TargetObservation(str(row.lesion.pk), status, scan, tenths))
    non_target_observations = [
        NonTargetObservation(
            str(row.lesion.pk),
            NonTargetStatus(row.status),
            row.scan_date if row.status != NonTargetStatus.NOT_EVALUATED else None,
        )
        for row in rows.non_targets
        if row.lesion.pk in non_targets
    ]
    new_observations = [
        NewLesionObservation(_new_lesion_id(row, index), NewLesionStatus(row.status), row.scan_date)
        for index, row in enumerate(rows.new_lesions)
        if row.scan_date is not None and row.status
    ]
    investigator = OverallResponse(assessment.investigator_response) if assessment.investigator_response else None
    return TimePoint(
        time_point_id=time_point_id,
        assessment_date=when,
        targets=tuple(target_observations),
        non_targets=tuple(non_target_observations),
        new_lesions=tuple(new_observations),
        investigator_overall=investigator,
    )


@dataclass
class RecistRecords:
    """Everything the RECIST engine reads for one patient, loaded by ``recist_records`` for many at once."""

    patient: Patient
    #: every tumour assessment of the patient, drafts too (the sync writes beside each), by pk, with its visit
    assessments: list[TumourAssessment]
    #: the saved rows of each assessment, by assessment pk
    rows: dict[int, AssessmentRows]
    #: the lesion register, drafts too, in ``lesion_list`` order
    lesions: list[Lesion]
    #: the trial's current analysis settings (None: the engine's defaults)
    settings: AnalysisSettings | None
    #: every visit of the patient, by pk, with its definition (the assessments' visits among them)
    visits: dict[int, Visit]


def recist_records(
    patients: Sequence[Patient], *, settings: dict[int, AnalysisSettings | None] | None = None
) -> dict[int, RecistRecords]:
    """The RECIST inputs of ``patients`` in a constant number of queries (eight, seven when ``settings`` by trial id
    are given), whatever the number of patients, assessments and rows."""
    by_pk = {patient.pk: patient for patient in patients}
    if settings is None:
        settings = trials_settings([patient.trial_id for patient in patients])
    found = {
        pk: RecistRecords(patient, [], {}, [], settings.get(patient.trial_id), {}) for pk, patient in by_pk.items()
    }
    lesions: dict[int, Lesion] = {}
    rank: dict[int, int] = {}  # a lesion's place in the register order: the rows' order (``rows_of``)
    for lesion in fetch_rows(Lesion, "patient_id", by_pk, order_by=("patient_id", "label", "id")):
        attach(lesion, "patient", by_pk[lesion.patient_id])
        found[lesion.patient_id].lesions.append(lesion)
        lesions[lesion.pk] = lesion
        rank[lesion.pk] = len(rank)
    visits = fetch_rows(Visit, "patient_id", by_pk)
    definitions = {d.pk: d for d in fetch_rows(VisitDefinition, "id", {visit.definition_id for visit in visits})}
    for visit in visits:
        attach(visit, "definition", definitions[visit.definition_id])
        attach(visit, "patient", by_pk[visit.patient_id])
        found[visit.patient_id].visits[visit.pk] = visit
    owner: dict[int, RecistRecords] = {}
    for assessment in fetch_rows(TumourAssessment, "patient_id", by_pk):
        records = found[assessment.patient_id]
        attach(assessment, "patient", records.patient)
        if assessment.visit_id in records.visits:
            attach(assessment, "visit", records.visits[assessment.visit_id])
        records.assessments.append(assessment)
        owner[assessment.pk] = records
    through = (TumourAssessment, "assessment_id")

    def row_order(row: Any) -> tuple[int, int, int]:  # (assessment, lesion label, pk): ``rows_of``'s order
        return (row.assessment_id, rank.get(row.lesion_id, -1), row.pk)

    targets: dict[int, list[TargetRow]] = {}
    for measured in sorted(fetch_rows(TargetMeasurement, "patient_id", by_pk, through=through), key=row_order):
        lesion = lesions.get(measured.lesion_id) or Lesion(pk=measured.lesion_id)  # not this patient's: no target
        targets.setdefault(measured.assessment_id, []).append(
            TargetRow(lesion, measured.status, measured.diameter_tenths, measured.scan_date)
        )
    non_targets: dict[int, list[NonTargetRow]] = {}
    for seen in sorted(fetch_rows(NonTargetRecord, "patient_id", by_pk, through=through), key=row_order):
        lesion = lesions.get(seen.lesion_id) or Lesion(pk=seen.lesion_id)
        non_targets.setdefault(seen.assessment_id, []).append(NonTargetRow(lesion, seen.status, seen.scan_date))
    findings = fetch_rows(NewLesion, "patient_id", by_pk, through=through, order_by=("assessment_id", "id"))
    by_finding = {finding.pk: finding for finding in findings}
    new_lesions: dict[int, list[NewLesionRow]] = {}
    for finding in findings:
        if finding.confirms_id in by_finding:  # the chain back to its first finding, without a query per link
            attach(finding, "confirms", by_finding[finding.confirms_id])
        new_lesions.setdefault(finding.assessment_id, []).append(
            NewLesionRow(
                finding.status,
                finding.scan_date,
                finding.site_code,
                finding.confirms if finding.confirms_id is not None else None,
                finding.description,
                finding.pk,
            )
        )
    for assessment_id, records in owner.items():
        records.rows[assessment_id] = AssessmentRows(
            targets=tuple(targets.get(assessment_id, ())),
            non_targets=tuple(non_targets.get(assessment_id, ())),
            new_lesions=tuple(new_lesions.get(assessment_id, ())),
        )
    return found


def recist_evaluations(patients: Sequence[Patient]) -> dict[int, RecistEvaluation]:
    """``recist_evaluation`` of many patients, read in a constant number of queries."""
    return {pk: recist_evaluation(patient=r.patient, records=r) for pk, r in recist_records(patients).items()}


def recist_evaluation(
    *,
    patient: Patient,
    overlay: TumourAssessment | None = None,
    overlay_rows: AssessmentRows | None = None,
    window_limits: ResponseWindowLimits | None = None,
    records: RecistRecords | None = None,
) -> RecistEvaluation:
    """Run the RECIST engine over every complete tumour assessment of the patient (clinical-spec C6).

    ``overlay`` is a form as it would be saved (counted as complete, with ``overlay_rows``): it replaces the saved
    assessment of the same record or visit. The baseline is the screening visit's assessment (D5): its target
    measurements (else the register's baseline measurements) and the register's non-targets, locally treated ones
    flagged (D24). Settings are the trial's current ones. ``window_limits`` (D28: new systemic lines, LAT of new
    lesions, clinical progression, the data cut-off, which also ignores later confirmations, D27) are for the
    analyses; the forms leave them out, so a time point's response there uses all data. ``records`` are the
    patient's rows when already loaded (``recist_records``); otherwise they are read here.
    """
    if records is None:
        records = recist_records([patient])[patient.pk]
    assessments = [a for a in records.assessments if a.status == "complete"]
    keys: dict[int, Any] = {}
    rows: dict[Any, AssessmentRows] = {}
    if overlay is not None:
        assessments = [
            a
            for a in assessments
            if a.pk != overlay.pk and not (overlay.pk is None and overlay.visit_id and a.visit_id == overlay.visit_id)
        ]
        assessments.append(overlay)
    for assessment in assessments:
        key = assessment.pk if assessment.pk is not None else PREVIEW_ID
        keys[id(assessment)] = key
        if assessment is overlay:
            rows[key] = overlay_rows if overlay_rows is not None else _rows_for(assessment)
        else:
            rows[key] = records.rows.get(assessment.pk) or AssessmentRows()

    def blank(problem: str, baseline: TumourAssessment | None = None) -> RecistEvaluation:
        return RecistEvaluation(None, problem, baseline, None, {})

    baselines = [a for a in assessments if _kind(a) == "screening"]
    if not baselines:
        return blank("no complete baseline (screening) tumour assessment")
    baseline = max(baselines, key=lambda a: (rows[keys[id(a)]].latest_scan_date or date.min, keys[id(a)] == PREVIEW_ID))
    baseline_rows = rows[keys[id(baseline)]]
    baseline_date = baseline_rows.latest_scan_date
    if baseline_date is None:
        return blank("the baseline assessment has no scan date", baseline)

    lesions = records.lesions
    measured_at_baseline = {
        row.lesion.pk: row.diameter_tenths
        for row in baseline_rows.targets
        if row.status == TargetStatus.MEASURED and row.diameter_tenths is not None
    }
    targets: list[TargetLesion] = []
    for lesion in lesions:
        if lesion.role != LesionRole.TARGET:
            continue
        tenths = measured_at_baseline.get(lesion.pk, lesion.baseline_tenths)
        if tenths is None:
            return blank(f"target {lesion.label} has no baseline measurement", baseline)
        targets.append(
            TargetLesion(
                str(lesion.pk),
                lesion.organ_group,
                tenths,
                bool(lesion.is_nodal),
                lesion.is_bone,
                lesion.locally_treated,
            )
        )
    non_targets = [
        NonTargetLesion(str(lesion.pk), bool(lesion.is_nodal), lesion.locally_treated)
        for lesion in lesions
        if lesion.role == LesionRole.NON_TARGET
    ]
    target_pks = {lesion.pk for lesion in lesions if lesion.role == LesionRole.TARGET}
    non_target_pks = {lesion.pk for lesion in lesions if lesion.role == LesionRole.NON_TARGET}

    time_points: list[TimePoint] = []
    ids: dict[Any, str] = {}
    for assessment in assessments:
        if _kind(assessment) not in ("follow_up", "unscheduled"):
            continue
        key = keys[id(assessment)]
        time_point = _time_point(str(key), assessment, rows[key], target_pks, non_target_pks)
        if time_point is not None:
            time_points.append(time_point)
            ids[key] = str(key)
    data = PatientAssessments(
        origin_date=patient.enrolment_date or baseline_date,
        baseline=Baseline(baseline_date, tuple(targets), tuple(non_targets)),
        time_points=tuple(time_points),
        window_limits=window_limits or ResponseWindowLimits(),
    )
    try:
        response = evaluate(data, recist_settings_of(records.settings))
    except ValueError as error:
        return blank(str(error), baseline)
    baseline_sum = data.baseline.sum_tenths if targets else None
    return RecistEvaluation(response, "", baseline, baseline_sum, ids)


def percent(value: Fraction | None) -> Decimal | None:
    """A stored percentage: one decimal, half away from zero (display uses the engine's ``format_percent``)."""
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# Derived values shown beside each form ----------------------------------------------------------------------------


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("Yes" if value else "No")


def lesion_derived_values(*, lesion: Lesion) -> list[tuple[str, Any]]:
    version = localisation_version(trial=lesion.patient.trial)
    site = None
    if lesion.site_code and _known(lesion.site_code, version):
        site = anatomical_site(lesion.site_code, version)
    patient_category = patient_localisation(patient=lesion.patient, overlay=lesion)
    if patient_category.category is None:
        patient_label = "no oligoprogressive lesion coded"
    else:
        patient_label = patient_category.category.label
        if patient_category.mixed:
            patient_label += ": " + ", ".join(c.label.lower() for c in patient_category.categories)
    values: list[tuple[str, Any]] = [
        ("Localisation category", site.category.label if site else None),
        ("Organ (for two targets per organ)", lesion.organ_group or None),
        ("Lymph node", _yes_no(lesion.is_nodal)),
        ("Baseline measurement", format_mm(lesion.baseline_tenths) if lesion.baseline_tenths is not None else None),
        ("Patient's localisation category", patient_label),
        ("Localisation table version", version),
    ]
    if lesion.pk is not None:
        treatments = [t.summary() for t in lesion.treatments.order_by("start_date", "pk")]
        values.append(("Local ablative treatment", "; ".join(treatments) or None))
    return values


def treatment_derived_values(*, treatment: LocalAblativeTreatment) -> list[tuple[str, Any]]:
    values: list[tuple[str, Any]] = []
    if treatment.lesion_id and treatment.lesion is not None:
        category = treatment.lesion.localisation
        values.append(("Treated lesion", f"{treatment.lesion} ({category.label.lower() if category else 'not coded'})"))
    if treatment.modality == Modality.SABR:
        dose, fractions = treatment.total_dose_gy, treatment.fractions
        if dose is not None and fractions and dose > 0:
            values += [
                ("Dose per fraction (Gy)", round_gy(dose_per_fraction(dose, fractions))),
                ("BED₁₀ (Gy)", round_gy(biologically_effective_dose(dose, fractions))),
                ("EQD2₁₀ (Gy)", round_gy(equivalent_dose_in_2gy_fractions(dose, fractions))),
            ]
        else:
            values += [("BED₁₀ (Gy)", None), ("EQD2₁₀ (Gy)", None)]
    return values


PART_LABELS = {**RESPONSE_LABELS, "NE": "NE", "NONE": "None (no such lesions to assess)"}
NEW_LESION_LABELS = {"NO": "None", "YES": "Yes (unequivocal)", "EQUIVOCAL": "Equivocal"}


def _mm(tenths: int | None) -> str | None:
    return format_mm(tenths) if tenths is not None else None


def _percent(value: Fraction | None) -> str | None:
    return format_percent(value) if value is not None else None


def assessment_derived_values(*, assessment: TumourAssessment) -> list[tuple[str, Any]]:
    """What the tumour assessment form shows beside the entry: the time point's computed RECIST response, computed
    as if this form were complete, next to the investigator's (C7)."""
    rows = _rows_for(assessment)
    values: list[tuple[str, Any]] = [("Assessment date (latest scan)", rows.latest_scan_date)]
    evaluation = recist_evaluation(patient=assessment.patient, overlay=assessment, overlay_rows=rows)
    if not assessment.is_complete:
        values.append(("Status", "Preview: stored when the form is marked complete"))
    if evaluation.response is None:
        values.append(("Computed overall response (RECIST 1.1)", f"Not computed: {evaluation.problem}"))
        return values
    if _kind(assessment) == "screening":
        origin = assessment.patient.enrolment_date
        values.append(("Baseline sum", _mm(evaluation.baseline_sum_tenths)))
        if origin is not None and rows.latest_scan_date is not None:
            values.append(("Days from baseline scan to origin", (origin - rows.latest_scan_date).days))
        return values
    result = evaluation.result_for(assessment)
    if result is None:
        values.append(("Computed overall response (RECIST 1.1)", "Not computed: no scan date"))
        return values
    investigator = RESPONSE_LABELS.get(assessment.investigator_response) if assessment.investigator_response else None
    values += [
        (
            "Target sum",
            _mm(result.sum_tenths)
            or (f"{_mm(result.partial_sum_tenths)} (partial)" if result.partial_sum_tenths is not None else None),
        ),
        ("Baseline sum", _mm(result.baseline_sum_tenths)),
        ("Change from baseline", _percent(result.change_from_baseline_percent)),
        ("Nadir", _mm(result.nadir_tenths)),
        ("Change from nadir", _percent(result.change_from_nadir_percent)),
        (
            "Change from nadir (mm)",
            format_signed_mm(result.change_from_nadir_tenths) if result.change_from_nadir_tenths is not None else None,
        ),
        ("Target response", PART_LABELS.get(result.target_response_reported.value)),
        ("Non-target response", PART_LABELS.get(result.non_target_response.value)),
        ("New lesions", NEW_LESION_LABELS.get(result.new_lesions.value)),
        ("Computed overall response (RECIST 1.1)", RESPONSE_LABELS[result.overall_response.value]),
        ("Investigator's overall response", investigator),
        ("Differs from the investigator's", _yes_no(result.discrepant) if investigator else None),
        ("How it was computed", result.explanation),
        ("RECIST engine", ALGORITHM_VERSION),
    ]
    return values
