"""The ODM metadata of one trial (``Study`` / ``MetaDataVersion``), derived from the forms the EDC really has.

Nothing is listed by hand twice: study events come from the trial's ``VisitDefinition`` rows, forms from
``patients.crf.crf_models()`` and their ``CrfSpec`` (which visit kinds show them, whether they repeat, what a complete
form requires), items from the model fields (data type, length, question = ``verbose_name``, code list = choices),
so a new field or form appears in the export without touching this module. Two forms are not CRF models:
``F.SUBJECT`` (the patient record: age at consent, sex, consent and enrolment dates, status; never the screening
number or any identifier) and ``F.VISIT`` (visit status, date, missed reason), because ODM 1.3.2 has no attribute for
a visit's date. Patient-level logs (adverse events, lesion register, therapy lines...) sit in one study event of
type ``Common`` (``SE.COMMON``), ODM's place for forms not bound to a scheduled visit.

Exported fields are those entered on the form plus the few non-editable ones that are recorded through the audited
write path (``RECORDED_FIELDS``). Values the EDC derives with ``update()`` outside the audit trail (the computed RECIST
columns of a tumour assessment, its assessment date = the latest scan date of its rows) are left out: they are
analysis results, recomputable from the exported rows, and a transactional (audit) export must replay to the
snapshot it accompanies.

OIDs are stable and readable: ``SE.<VISIT CODE>``, ``F.<FORM CODE>``, ``IG.<FORM>`` (``IG.<FORM>.<ROWS>`` for
repeating rows), ``IT.<FORM>.<FIELD>``, ``CL.<FORM>.<FIELD>``, ``MU.<UNIT>``. The MetaDataVersion OID carries a short
digest of its content, so a changed form definition is a new metadata version (ODM 1.3.2 specification, the
MetaDataVersion element).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from django.db import models
from lxml import etree

from lesions.models import NewLesion, NonTargetObservation, TargetMeasurement
from patients.crf import BOOKKEEPING_FIELDS, CaseReportForm, crf_models
from patients.fields import PartialDateField
from patients.models import CtcaeTerm, Patient, Visit
from trials.models import Arm, Trial, User, VisitKind

from .elements import root, sub, translated, yes_no
from .specs import (
    CTCAE_TERMS,
    FLAG_TYPE,
    FORM_STATUS,
    MM,
    UNITS_BY_SYMBOL,
    YEARS,
    CodeList,
    CodeListItem,
    Event,
    Form,
    Item,
    ItemGroup,
    MeasurementUnit,
    RowGroup,
    StudyMetadata,
    ValueKind,
)

#: Non-editable CRF fields that are recorded facts written through the audited service (not derived analyses).
RECORDED_FIELDS = frozenset({"eligible", "confirmed_by", "confirmed_at", "arm"})
SUBJECT_FIELDS = ("age_at_consent", "sex", "consent_date", "enrolment_date", "status")
VISIT_FIELDS = ("status", "visit_date", "missed_reason")


_UNIT_SUFFIX = re.compile(r"\(([^()]+)\)\s*$")


#: Row models of a form: (form code, row model, foreign key to the form record, OID part, name).
ROW_GROUPS: dict[str, tuple[tuple[type[models.Model], str, str, str], ...]] = {
    "tumour-assessment": (
        (TargetMeasurement, "assessment", "TARGET", "Target lesion measurements"),
        (NonTargetObservation, "assessment", "NON_TARGET", "Non-target lesion observations"),
        (NewLesion, "assessment", "NEW_LESION", "New lesions"),
    ),
}


def oid_part(code: str) -> str:
    """``follow-up`` → ``FOLLOW_UP``: upper-case letters, digits and underscores."""
    return re.sub(r"[^A-Z0-9]+", "_", code.upper()).strip("_")


def _sentence(text: Any) -> str:
    words = str(text)
    return words[:1].upper() + words[1:]


def _integer_length(model_field: models.Field[Any, Any]) -> int:
    if isinstance(model_field, models.BigIntegerField):
        return 19
    if isinstance(model_field, models.SmallIntegerField | models.PositiveSmallIntegerField):
        return 5
    return 10


def _unit(model_field: models.Field[Any, Any]) -> MeasurementUnit | None:
    if model_field.name.endswith("_tenths"):
        return MM
    if model_field.name == "age_at_consent":
        return YEARS
    match = _UNIT_SUFFIX.search(str(model_field.verbose_name))
    return UNITS_BY_SYMBOL.get(match.group(1).strip()) if match else None


def _choices_codelist(oid: str, name: str, model_field: models.Field[Any, Any]) -> CodeList | None:
    if isinstance(model_field, models.BooleanField) or not model_field.choices:
        return None
    data_type = "integer" if isinstance(model_field, models.IntegerField) else "text"
    items = tuple(
        CodeListItem(str(value), str(label)) for value, label in model_field.flatchoices if value not in ("", None)
    )
    return CodeList(oid, name, data_type, items) if items else None


def _related_item(
    oid: str, name: str, model_field: models.ForeignKey[Any, Any], common: dict[str, Any], arms: CodeList | None
) -> Item:
    """An item pointing to another row: shown by what identifies that row for a reader of the file."""
    related = model_field.related_model
    codelist: CodeList | None = None
    length: int | None = None
    if related is CtcaeTerm:
        kind, data_type, codelist = ValueKind.TERM, "text", CTCAE_TERMS
        length = CtcaeTerm._meta.get_field("term").max_length
    elif related is Arm:
        kind, data_type, codelist = ValueKind.ARM, "text", arms if arms and arms.items else None
        length = Arm._meta.get_field("code").max_length
    elif related is User:
        kind, data_type = ValueKind.USER, "text"
        common = {**common, "description": "The OID of a User of the AdminData."}
    else:
        kind, data_type = ValueKind.RELATED_ID, "integer"
        verbose = related._meta.verbose_name if hasattr(related, "_meta") else "linked"
        common = {
            **common,
            "description": f"The repeat key of the linked {verbose} record (its FormRepeatKey, or its "
            "ItemGroupRepeatKey for a row).",
        }
    attribute = model_field.name if kind in (ValueKind.TERM, ValueKind.ARM) else model_field.attname
    return Item(oid, name, attribute, kind, data_type, codelist=codelist, length=length, **common)


def _item(form_part: str, model_field: models.Field[Any, Any], *, required: bool, arms: CodeList | None) -> Item:
    """One ItemDef from a model field: the ODM data type, length, unit and code list its definition implies."""
    name = oid_part(model_field.name)
    question = _sentence(model_field.verbose_name)
    common: dict[str, Any] = {
        "question": question,
        "description": str(model_field.help_text or ""),
        "mandatory": required,
    }
    if isinstance(model_field, models.ForeignKey):
        return _related_item(f"IT.{form_part}.{name}", name, model_field, common, arms)
    unit = _unit(model_field)
    if model_field.name.endswith("_tenths"):
        name = name.removesuffix("_TENTHS") + "_MM"
        return Item(
            f"IT.{form_part}.{name}",
            name,
            model_field.attname,
            ValueKind.TENTHS,
            "float",
            significant_digits=1,
            unit=unit,
            **common,
        )
    codelist = _choices_codelist(f"CL.{form_part}.{name}", question, model_field)
    length: int | None = None
    digits: int | None = None
    if isinstance(model_field, PartialDateField):
        data_type = "partialDate"
    elif isinstance(model_field, models.DateTimeField):
        data_type = "datetime"
    elif isinstance(model_field, models.DateField):
        data_type = "date"
    elif isinstance(model_field, models.TimeField):
        data_type = "time"
    elif isinstance(model_field, models.BooleanField):
        data_type = "boolean"
    elif isinstance(model_field, models.IntegerField):
        data_type, length = "integer", _integer_length(model_field)
    elif isinstance(model_field, models.DecimalField):
        data_type, length, digits = "float", model_field.max_digits, model_field.decimal_places
    elif isinstance(model_field, models.FloatField):
        data_type = "float"
    else:
        data_type = "text"
        length = getattr(model_field, "max_length", None)
    return Item(
        f"IT.{form_part}.{name}",
        name,
        model_field.attname,
        ValueKind.PLAIN,
        data_type,
        length=length,
        significant_digits=digits,
        unit=unit,
        codelist=codelist,
        **common,
    )


def exported_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The fields of a CRF model the export carries (see the module docstring)."""
    return [
        f
        for f in model._meta.concrete_fields
        if f.name not in BOOKKEEPING_FIELDS and (f.editable or f.name in RECORDED_FIELDS)
    ]


def _group(oid: str, name: str, repeating: bool, items: list[Item]) -> ItemGroup:
    return ItemGroup(oid, name, repeating, tuple(items))


def _crf_form(model: type[CaseReportForm], arms: CodeList) -> Form:
    spec = model.crf
    part = oid_part(spec.code)
    required = set(spec.required)
    items = [_item(part, f, required=f.name in required, arms=arms) for f in exported_fields(model)]
    rows = []
    for row_model, parent, row_part, row_name in ROW_GROUPS.get(spec.code, ()):
        row_fields = [f for f in row_model._meta.concrete_fields if f.name not in ("id", "site", parent)]
        row_items = [_item(f"{part}.{row_part}", f, required=False, arms=arms) for f in row_fields]
        rows.append(RowGroup(_group(f"IG.{part}.{row_part}", row_name, True, row_items), row_model, parent))
    return Form(
        oid=f"F.{part}",
        name=spec.name,
        repeating=spec.repeating,
        main=_group(f"IG.{part}", spec.name, False, items),
        rows=tuple(rows),
        model=model,
    )


def _plain_form(part: str, name: str, model: type[models.Model], names: tuple[str, ...], description: str) -> Form:
    items = [_item(part, model._meta.get_field(n), required=False, arms=None) for n in names]  # type: ignore[arg-type]
    return Form(f"F.{part}", name, False, _group(f"IG.{part}", name, False, items), description=description)


def build_metadata(trial: Trial) -> StudyMetadata:
    """The trial's metadata. Reads the trial's arms and visit definitions (two small queries)."""
    arms = CodeList(
        "CL.ARM", "Arm", "text", tuple(CodeListItem(arm.code, arm.name) for arm in trial.arms.order_by("code"))
    )
    subject_form = _plain_form(
        "SUBJECT",
        "Subject",
        Patient,
        SUBJECT_FIELDS,
        "The patient record: no name, birth date or other direct identifier is held.",
    )
    visit_form = _plain_form(
        "VISIT", "Visit", Visit, VISIT_FIELDS, "The visit as it happened: done on a date, or missed with a reason."
    )
    crf_forms = [_crf_form(model, arms) for model in crf_models() if model.crf.used_in(trial.code)]
    events: list[Event] = []
    by_definition: dict[int, Event] = {}
    definitions = list(trial.visit_definitions.order_by("order", "pk"))
    for number, definition in enumerate(definitions, start=1):
        unscheduled = definition.kind == VisitKind.UNSCHEDULED
        event = Event(
            oid=f"SE.{oid_part(definition.code)}",
            name=definition.name,
            repeating=definition.repeat_interval_days is not None or unscheduled,
            type="Unscheduled" if unscheduled else "Scheduled",
            order_number=number,
            mandatory=definition.kind in (VisitKind.SCREENING, VisitKind.ENROLMENT),
            forms=(visit_form, *(f for f in crf_forms if f.model and definition.kind in f.model.crf.visit_kinds)),
            category=definition.kind,
            description=definition.content,
        )
        events.append(event)
        by_definition[definition.pk] = event
    common = Event(
        oid="SE.COMMON",
        name="Patient-level records",
        repeating=False,
        type="Common",
        order_number=len(definitions) + 1,
        mandatory=True,
        forms=(subject_form, *(f for f in crf_forms if f.model and not f.model.crf.visit_kinds)),
        description="The subject record and the logs not bound to a visit (adverse events, lesions, therapy lines...).",
    )
    events.append(common)
    forms = (subject_form, visit_form, *crf_forms)
    codelists: dict[str, CodeList] = {FORM_STATUS.oid: FORM_STATUS, FLAG_TYPE.oid: FLAG_TYPE}
    metadata = StudyMetadata(
        trial=trial,
        study_oid=f"ST.{oid_part(trial.code)}",
        events=tuple(events),
        forms=forms,
        subject_form=subject_form,
        visit_form=visit_form,
        common_event=common,
        events_by_definition=by_definition,
    )
    for item in metadata.items():
        if item.codelist is not None:
            codelists.setdefault(item.codelist.oid, item.codelist)
    metadata = replace(metadata, codelists=tuple(codelists.values()))
    digest = hashlib.sha256(etree.tostring(metadata_version_element(metadata))).hexdigest()[:10]
    return replace(metadata, mdv_oid=f"MDV.{oid_part(trial.code)}.{digest}")


# Writing --------------------------------------------------------------------------------------------------------


def metadata_version_element(metadata: StudyMetadata) -> etree._Element:
    trial = metadata.trial
    mdv = root(
        "MetaDataVersion",
        OID=metadata.mdv_oid or None,
        Name=f"{trial.short_name} case report forms",
        Description="Generated from the EDC's form definitions and the trial's visit schedule.",
    )
    protocol = sub(mdv, "Protocol")
    translated(protocol, "Description", f"{trial.short_name} visit schedule, in order; patient-level logs last.")
    for event in metadata.events:
        sub(
            protocol,
            "StudyEventRef",
            StudyEventOID=event.oid,
            OrderNumber=str(event.order_number),
            Mandatory=yes_no(event.mandatory),
        )
    for event in metadata.events:
        element = sub(
            mdv,
            "StudyEventDef",
            OID=event.oid,
            Name=event.name,
            Repeating=yes_no(event.repeating),
            Type=event.type,
            Category=event.category or None,
        )
        if event.description:
            translated(element, "Description", event.description)
        for number, form in enumerate(event.forms, start=1):
            mandatory = form.model is None  # the visit / subject record is always there; CRFs as the visit needs
            sub(element, "FormRef", FormOID=form.oid, OrderNumber=str(number), Mandatory=yes_no(mandatory))
    for form in metadata.forms:
        element = sub(mdv, "FormDef", OID=form.oid, Name=form.name, Repeating=yes_no(form.repeating))
        if form.description:
            translated(element, "Description", form.description)
        groups = (form.main, *(rows.group for rows in form.rows))
        for number, group in enumerate(groups, start=1):
            mandatory = group is form.main
            sub(element, "ItemGroupRef", ItemGroupOID=group.oid, OrderNumber=str(number), Mandatory=yes_no(mandatory))
    for group in metadata.item_groups():
        element = sub(mdv, "ItemGroupDef", OID=group.oid, Name=group.name, Repeating=yes_no(group.repeating))
        for number, item in enumerate(group.items, start=1):
            sub(element, "ItemRef", ItemOID=item.oid, OrderNumber=str(number), Mandatory=yes_no(item.mandatory))
    for item in metadata.items():
        element = sub(
            mdv,
            "ItemDef",
            OID=item.oid,
            Name=item.name,
            DataType=item.data_type,
            Length=str(item.length) if item.length else None,
            SignificantDigits=str(item.significant_digits) if item.significant_digits is not None else None,
        )
        if item.description:
            translated(element, "Description", item.description)
        translated(element, "Question", item.question)
        if item.unit is not None:
            sub(element, "MeasurementUnitRef", MeasurementUnitOID=item.unit.oid)
        if item.codelist is not None:
            sub(element, "CodeListRef", CodeListOID=item.codelist.oid)
    for codelist in metadata.codelists:
        element = sub(mdv, "CodeList", OID=codelist.oid, Name=codelist.name, DataType=codelist.data_type)
        for number, entry in enumerate(codelist.items, start=1):
            coded = sub(element, "CodeListItem", CodedValue=entry.value, OrderNumber=str(number))
            translated(coded, "Decode", entry.decode)
        if codelist.dictionary:
            sub(element, "ExternalCodeList", Dictionary=codelist.dictionary, Version=codelist.version)
    return mdv


def study_element(metadata: StudyMetadata) -> etree._Element:
    trial = metadata.trial
    study = root("Study", OID=metadata.study_oid)
    variables = sub(study, "GlobalVariables")
    sub(variables, "StudyName", trial.short_name)
    sub(variables, "StudyDescription", trial.title)
    sub(variables, "ProtocolName", trial.registry_id or trial.short_name)
    basic = sub(study, "BasicDefinitions")
    for unit in metadata.units():
        element = sub(basic, "MeasurementUnit", OID=unit.oid, Name=unit.symbol)
        translated(element, "Symbol", unit.symbol)
    study.append(metadata_version_element(metadata))
    return study
