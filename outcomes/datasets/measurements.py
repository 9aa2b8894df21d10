"""The raw lesion-measurement export (issue 6): every row of every tumour assessment, as entered, no derivation.

One record per target measurement, non-target observation and new lesion of each tumour assessment (CRF 8,
clinical-spec §1.2), with the lesion's register entry (CRF 6: label, anatomical site, organ, lymph node, measurable,
locally treated) and the assessment it belongs to (visit, date, imaging method, form status). Diameters are in
millimetres (stored as integer tenths, clinical-spec C4); lymph nodes are measured by their short axis (RECIST 1.1,
Eisenhauer 2009 §3.2: ``SHORTAX`` = "Y"). Nothing computed by the RECIST engine is here (no sums, no responses): the
export needs ``EXPORT_CLINICAL_DATA``, which the data manager has, not the efficacy capabilities.

How it reads (streaming): one SQL statement, the ``UNION ALL`` of the three row tables, each branch starting from
``Model.objects.for_user(user)`` and restricted to the trial, read as plain tuples (``values_list``, no model
instances) through a server-side cursor in chunks of ``CHUNK_SIZE`` rows (``measurement_rows``). Memory holds one
chunk whatever the size of the trial. Rows come in ``USUBJID`` byte order (as the ADaM datasets,
``outcomes/datasets/common.py``), then assessment date, assessment, record type (target, non-target, new) and lesion.
New lesions have no register entry: their ``LESID`` is ``NEW-<record id>`` and ``LESCONF`` names the earlier
equivocal finding an unequivocal one confirms (D27); organ and localisation come from their anatomical site code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import CharField, DateField, F, FloatField, Q, QuerySet, Value
from django.db.models.expressions import Case, Combinable, When
from django.db.models.functions import Cast, Collate, Concat

from lesions.domain.localisation import site_table
from lesions.models import (
    NEW_LESION_STATUS_CHOICES,
    NON_TARGET_STATUS_CHOICES,
    TARGET_STATUS_CHOICES,
    ImagingModality,
    LesionRole,
    NewLesion,
    NonTargetObservation,
    TargetMeasurement,
)
from patients.crf import CrfStatus
from trials.models import Trial

from .base import Dataset, Kind, Row, Variable
from .common import byte_order, stream_values

#: rows fetched from the server-side cursor at a time (a few megabytes)
CHUNK_SIZE = 5000


_STATUSES = tuple(
    dict.fromkeys(code for code, _ in (*TARGET_STATUS_CHOICES, *NON_TARGET_STATUS_CHOICES, *NEW_LESION_STATUS_CHOICES))
)
_TABLE = site_table()

VARIABLES: tuple[Variable, ...] = (
    Variable("STUDYID", "Study Identifier", Kind.TEXT, 20, source="trials.Trial.code, upper case"),
    Variable("SITEID", "Study Site Identifier", Kind.TEXT, 8, source="trials.Site.code"),
    Variable("USUBJID", "Unique Subject Identifier", Kind.TEXT, 30, source="patients.Patient.subject_id"),
    Variable("VISIT", "Visit Name", Kind.TEXT, 100, source="trials.VisitDefinition.name of the assessment's visit"),
    Variable(
        "VISITOCC",
        "Visit Occurrence",
        Kind.INTEGER,
        source="patients.Visit.occurrence",
        description="Occurrence of a repeating visit: follow-up 3 is the third follow-up.",
    ),
    Variable(
        "ASMID",
        "Tumour Assessment Record Id",
        Kind.INTEGER,
        source="lesions.TumourAssessment.id",
        description="The CRF 8 record the row belongs to (the source record in the EDC).",
    ),
    Variable(
        "ASMDT",
        "Assessment Date",
        Kind.DATE,
        source="lesions.TumourAssessment.assessment_date",
        description="The latest scan date of the assessment's rows (D22).",
    ),
    Variable(
        "ASMMETH",
        "Imaging Method",
        Kind.TEXT,
        10,
        allowed=tuple(ImagingModality.values),
        source="lesions.TumourAssessment.modality",
    ),
    Variable(
        "CRFSTAT",
        "Assessment Form Status",
        Kind.TEXT,
        10,
        allowed=tuple(CrfStatus.values),
        source="lesions.TumourAssessment.status",
        description="Draft forms are included: filter on 'complete' for verified-complete assessments.",
    ),
    Variable(
        "LESROLE",
        "Lesion Role",
        Kind.TEXT,
        12,
        allowed=tuple(LesionRole.values),
        source="Which table the row comes from: target measurement, non-target observation or new lesion",
    ),
    Variable(
        "LESID",
        "Lesion Identifier",
        Kind.TEXT,
        20,
        source="lesions.Lesion.label; new lesions: NEW-<lesions.NewLesion.id>",
    ),
    Variable(
        "LESCONF",
        "Confirms Equivocal New Lesion",
        Kind.TEXT,
        20,
        source="lesions.NewLesion.confirms (NEW-<id>)",
        description="For an unequivocal new lesion: the earlier equivocal finding it confirms (D27).",
    ),
    Variable(
        "LESSITE",
        "Anatomical Site Code",
        Kind.TEXT,
        40,
        allowed=tuple(_TABLE),
        source="lesions.Lesion.site_code (new lesions: lesions.NewLesion.site_code)",
    ),
    Variable(
        "ORGAN",
        "Organ",
        Kind.TEXT,
        60,
        source="lesions.Lesion.organ as recorded; new lesions: the site code's organ (localisation table v1)",
    ),
    Variable(
        "LOCCAT",
        "Localisation Category",
        Kind.TEXT,
        30,
        allowed=tuple(dict.fromkeys(str(site.category) for site in _TABLE.values())),
        source="The anatomical site code's category in the localisation table v1 (D18, D37)",
    ),
    Variable(
        "SHORTAX",
        "Short Axis Measured (Lymph Node)",
        Kind.TEXT,
        1,
        allowed=("Y", "N"),
        source="lesions.Lesion.nodal",
        description="Y: a lymph node, measured by its short axis (RECIST 1.1); empty when not recorded.",
    ),
    Variable("MEASFL", "Measurable at Baseline", Kind.TEXT, 1, allowed=("Y", "N"), source="lesions.Lesion.measurable"),
    Variable(
        "LOCTRT",
        "Lesion Locally Treated",
        Kind.TEXT,
        1,
        allowed=("Y", "N"),
        source="lesions.Lesion.locally_treated (SABR, surgery or RFA, CRF 7)",
    ),
    Variable("LOCTRTDT", "Date Lesion Locally Treated", Kind.DATE, source="lesions.Lesion.locally_treated_date"),
    Variable(
        "STATUS",
        "Lesion Status at Assessment",
        Kind.TEXT,
        24,
        allowed=_STATUSES,
        source="lesions.TargetMeasurement / NonTargetObservation / NewLesion .status",
    ),
    Variable(
        "DIAMMM",
        "Diameter (mm)",
        Kind.FLOAT,
        unit="mm",
        source="lesions.TargetMeasurement.diameter_tenths / 10",
        description="Longest diameter; short axis for a lymph node. Targets only.",
    ),
    Variable("SCANDT", "Scan Date", Kind.DATE, source="scan_date of the row"),
    Variable("DESCR", "New Lesion Description", Kind.TEXT, 200, source="lesions.NewLesion.description"),
)
NAMES = tuple(variable.name for variable in VARIABLES)
#: subject (byte order), assessment date, assessment, then targets, non-targets and new lesions ("target" >
#: "non_target" > "new"), then lesion
_ORDER = ("USUBJID", "ASMDT", "ASMID", "-LESROLE", "LESID")


def _yes_no(field: str) -> Case:
    return Case(
        When(Q(**{field: True}), then=Value("Y")),
        When(Q(**{field: False}), then=Value("N")),
        default=Value(None),
        output_field=CharField(),
    )


def _from_site_code(field: str, attribute: str) -> Case:
    """The anatomical site code's organ or category from the localisation table, in SQL (a CASE over the codes)."""
    return Case(
        *[When(Q(**{field: code}), then=Value(str(getattr(site, attribute)))) for code, site in _TABLE.items()],
        default=Value(None),
        output_field=CharField(),
    )


def _null(field: Any) -> Cast:
    return Cast(Value(None), output_field=field)


def _common(queryset: QuerySet[Any], *, trial: Trial, role: str, collation: str | None) -> QuerySet[Any]:
    subject: Combinable = F("assessment__patient__subject_id")
    annotated: QuerySet[Any] = queryset.filter(assessment__patient__trial=trial).annotate(
        STUDYID=Value(trial.code.upper(), output_field=CharField()),
        SITEID=F("site__code"),
        USUBJID=Collate(subject, collation) if collation else subject,
        VISIT=F("assessment__visit__definition__name"),
        VISITOCC=F("assessment__visit__occurrence"),
        ASMID=F("assessment_id"),
        ASMDT=F("assessment__assessment_date"),
        ASMMETH=F("assessment__modality"),
        CRFSTAT=F("assessment__status"),
        LESROLE=Value(role, output_field=CharField()),
        STATUS=F("status"),
        SCANDT=F("scan_date"),
    )
    return annotated


def _register_lesion(queryset: QuerySet[Any]) -> QuerySet[Any]:
    annotated: QuerySet[Any] = queryset.annotate(
        LESID=F("lesion__label"),
        LESCONF=_null(CharField()),
        LESSITE=F("lesion__site_code"),
        ORGAN=F("lesion__organ"),
        LOCCAT=_from_site_code("lesion__site_code", "category"),
        SHORTAX=_yes_no("lesion__nodal"),
        MEASFL=_yes_no("lesion__measurable"),
        LOCTRT=_yes_no("lesion__locally_treated"),
        LOCTRTDT=F("lesion__locally_treated_date"),
    )
    return annotated


def measurement_queryset(*, trial: Trial, user: Any) -> QuerySet[Any]:
    """The export's rows as one ordered ``UNION ALL`` of tuples (also what the benchmark hands to ``COPY``)."""
    collation = byte_order(TargetMeasurement.objects.db)
    targets = _register_lesion(
        _common(
            TargetMeasurement.objects.for_user(user),
            trial=trial,
            role=LesionRole.TARGET,
            collation=collation,
        )
    ).annotate(
        DIAMMM=Cast("diameter_tenths", FloatField()) / Value(10.0, output_field=FloatField()),
        DESCR=_null(CharField()),
    )
    non_targets = _register_lesion(
        _common(
            NonTargetObservation.objects.for_user(user),
            trial=trial,
            role=LesionRole.NON_TARGET,
            collation=collation,
        )
    ).annotate(DIAMMM=_null(FloatField()), DESCR=_null(CharField()))
    new = _common(NewLesion.objects.for_user(user), trial=trial, role=LesionRole.NEW, collation=collation).annotate(
        LESID=Concat(Value("NEW-"), Cast("id", CharField()), output_field=CharField()),
        LESCONF=Case(
            When(confirms__isnull=True, then=Value(None)),
            default=Concat(Value("NEW-"), Cast("confirms_id", CharField()), output_field=CharField()),
            output_field=CharField(),
        ),
        LESSITE=F("site_code"),
        ORGAN=_from_site_code("site_code", "organ"),
        LOCCAT=_from_site_code("site_code", "category"),
        SHORTAX=_null(CharField()),
        MEASFL=_null(CharField()),
        LOCTRT=_null(CharField()),
        LOCTRTDT=_null(DateField()),
        DIAMMM=_null(FloatField()),
        DESCR=F("description"),
    )
    branches = [queryset.order_by().values_list(*NAMES) for queryset in (targets, non_targets, new)]
    union: QuerySet[Any] = branches[0].union(*branches[1:], all=True).order_by(*_ORDER)
    return union


def measurement_rows(*, trial: Trial, user: Any) -> Iterator[Row]:
    """The rows, lazily, through a server-side cursor on PostgreSQL (``common.stream_values``)."""
    yield from stream_values(measurement_queryset(trial=trial, user=user), chunk_size=CHUNK_SIZE)


MEASUREMENTS = Dataset(
    name="MEASURE",
    label="Raw Lesion Measurements",
    structure="One record per target measurement, non-target observation or new lesion per tumour assessment",
    keys=("STUDYID", "USUBJID", "ASMID", "LESROLE", "LESID"),
    variables=VARIABLES,
    rows=measurement_rows,
)
