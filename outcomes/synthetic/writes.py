"""Writing planned patients: every record in an order where each foreign key points at something already written.

On PostgreSQL the big tables travel by ``COPY``: with ``bulk_create`` most of the time went into building each
``INSERT``'s literals and the server parsing them, while ``COPY`` takes lines of text (a 10,000-patient trial in about
half the time). The keys are drawn from each table's sequence first, so the records pointing at these can name them.
Elsewhere (SQLite: the tests) and for small batches, ``bulk_create``. No history rows either way.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from django.db import connection, models
from django.utils import timezone

from lesions.models import (
    Lesion,
    LocalAblativeTreatment,
    NewLesion,
    NonTargetObservation,
    TargetMeasurement,
    TumourAssessment,
)
from patients.models import (
    AdverseEvent,
    AvatarEligibility,
    ClinicalProgression,
    CosmoEligibility,
    Death,
    Demographics,
    EndOfStudy,
    FactB,
    Patient,
    Randomisation,
    Registration,
    StrategyFailure,
    SubsequentTherapy,
    SurvivalStatusContact,
    SystemicTherapyLine,
    TumourBiology,
    VisceralCrisis,
    Visit,
)

from .plan import Measurement, Plan

#: CRF models in an order where every foreign key points at something already written
RECORD_ORDER: tuple[type[models.Model], ...] = (
    AvatarEligibility,
    CosmoEligibility,
    Registration,
    Randomisation,
    Demographics,
    TumourBiology,
    SystemicTherapyLine,
    LocalAblativeTreatment,
    TumourAssessment,
    ClinicalProgression,
    StrategyFailure,
    SubsequentTherapy,
    SurvivalStatusContact,
    Death,
    EndOfStudy,
    AdverseEvent,
    VisceralCrisis,
    FactB,
)
#: every table ``generate`` writes, for the counts and ``analyze``
TABLES: tuple[type[models.Model], ...] = (
    Patient,
    Visit,
    Lesion,
    *RECORD_ORDER,
    TargetMeasurement,
    NonTargetObservation,
    NewLesion,
)


def write(plans: list[Plan]) -> None:
    insert(Visit, [visit for plan in plans for visit in plan.visits])
    insert(Lesion, [lesion for plan in plans for lesion in plan.lesions])
    for model in RECORD_ORDER:
        if model is StrategyFailure:  # links between records of the same patient, now that the targets have keys
            for plan in plans:
                for assessment, failure in plan.assessment_links:
                    failure.linked_assessment_id = assessment.pk
                for progression, failure in plan.links:
                    failure.linked_clinical_progression = progression
        insert(model, [record for plan in plans for record in plan.records.get(model, [])])
    write_measurements(TargetMeasurement, [row for plan in plans for row in plan.targets])
    write_measurements(NonTargetObservation, [row for plan in plans for row in plan.non_targets])
    insert(NewLesion, [row for plan in plans for row in plan.new_lesions])


#: from this many rows, a batch is copied rather than inserted
COPY_FROM = 1000
#: field types whose Python values ``COPY``'s text format reads as they print (dates and times in ISO)
_COPYABLE = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "DecimalField",
        "ForeignKey",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)


def _copies(model: type[models.Model], count: int) -> bool:
    return (
        connection.vendor == "postgresql"
        and count >= COPY_FROM
        and all(model_field.get_internal_type() in _COPYABLE for model_field in model._meta.concrete_fields)
    )


def insert(model: type[models.Model], instances: list[Any]) -> None:
    """Write new ``instances`` and give them their keys, as ``bulk_create`` does: by ``COPY`` when it can (the keys
    drawn from the table's sequence first, so that the records pointing at these can name them)."""
    if not _copies(model, len(instances)):
        model._default_manager.bulk_create(instances, batch_size=2000)
        return
    meta = model._meta
    model_fields: list[Any] = list(meta.concrete_fields)
    key = meta.pk
    assert key is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, key.column, len(instances)],
        )
        keys = [row[0] for row in cursor.fetchall()]
    now = timezone.now()
    stamped = [
        model_field
        for model_field in model_fields
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False)
    ]
    related = [model_field for model_field in model_fields if model_field.is_relation]
    lines = io.StringIO()
    for instance, pk in zip(instances, keys, strict=True):
        instance.pk = pk
        for model_field in stamped:  # what ``pre_save`` does for auto_now(_add)
            setattr(instance, model_field.attname, now)
        for model_field in related:  # what ``_prepare_related_fields_for_save`` does: the key of a related instance
            if getattr(instance, model_field.attname) is None and model_field.is_cached(instance):
                target = model_field.get_cached_value(instance)
                setattr(instance, model_field.attname, target.pk if target is not None else None)
        lines.write(
            "\t".join(_copy_text(getattr(instance, model_field.attname)) for model_field in model_fields) + "\n"
        )
        instance._state.adding, instance._state.db = False, connection.alias
    _copy(model, [model_field.column for model_field in model_fields], lines)


def write_measurements(model: type[models.Model], rows: list[Measurement]) -> None:
    """A million rows without a model instance each (none needs its key afterwards)."""
    diameters = model is TargetMeasurement
    if not _copies(model, len(rows)):
        model._default_manager.bulk_create(
            [
                model(
                    assessment_id=row.assessment.pk,
                    lesion_id=row.lesion.pk,
                    site_id=row.assessment.site_id,
                    status=row.status,
                    scan_date=row.scan_date,
                    **({"diameter_tenths": row.diameter_tenths} if diameters else {}),
                )
                for row in rows
            ],
            batch_size=2000,
        )
        return
    names = ["assessment", "lesion", "site", "status", "scan_date", *(["diameter_tenths"] if diameters else [])]
    fields: list[Any] = [model._meta.get_field(name) for name in names]
    lines = io.StringIO()
    # every value is a key, an ISO date, a status code or a number: nothing to escape
    lines.writelines(
        f"{row.assessment.pk}\t{row.lesion.pk}\t{row.assessment.site_id}\t{row.status}\t{row.scan_date.isoformat()}"
        + (f"\t{_copy_text(row.diameter_tenths)}\n" if diameters else "\n")
        for row in rows
    )
    _copy(model, [model_field.column for model_field in fields], lines)


def _copy(model: type[models.Model], columns: list[str], lines: io.StringIO) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    lines.seek(0)
    with connection.cursor() as cursor:
        # the identifiers come from the model's metadata, quoted; the values travel as COPY data
        cursor.cursor.copy_expert(f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN", lines)


def _copy_text(value: Any) -> str:
    """A value in ``COPY``'s text format: ``\\N`` for NULL, backslash escapes, dates and times in ISO."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
