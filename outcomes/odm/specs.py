"""The shapes of ODM metadata the export builds (``metadata.py``) and writes (``snapshot.py``, ``archive.py``):
items, item groups, forms, study events, code lists and measurement units, plus the code lists every trial shares.
Plain frozen dataclasses: no query, no XML."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import models

from patients.crf import CaseReportForm, CrfStatus
from trials.models import Trial


class ValueKind(StrEnum):
    PLAIN = "plain"
    TENTHS = "tenths"  # integer tenths of a millimetre (clinical-spec C4) exported in mm
    TERM = "term"  # CTCAE term → its text
    ARM = "arm"  # arm → its code
    USER = "user"  # a user → the User OID of AdminData
    RELATED_ID = "related_id"  # another record → its repeat key (the record's id)


@dataclass(frozen=True)
class MeasurementUnit:
    oid: str
    symbol: str


MM = MeasurementUnit("MU.MM", "mm")
YEARS = MeasurementUnit("MU.YEARS", "years")
#: units written at the end of a field's verbose name, e.g. "total dose (Gy)"
UNITS_BY_SYMBOL = {
    unit.symbol: unit
    for unit in (
        MM,
        YEARS,
        MeasurementUnit("MU.GY", "Gy"),
        MeasurementUnit("MU.PERCENT", "%"),
        MeasurementUnit("MU.UMOL_L", "µmol/L"),
        MeasurementUnit("MU.U_L", "U/L"),
        MeasurementUnit("MU.G_DL", "g/dL"),
        MeasurementUnit("MU.E9_L", "× 10⁹/L"),
    )
}


@dataclass(frozen=True)
class CodeListItem:
    value: str
    decode: str


@dataclass(frozen=True)
class CodeList:
    oid: str
    name: str
    data_type: str
    items: tuple[CodeListItem, ...] = ()
    #: an external dictionary instead of items (CTCAE)
    dictionary: str = ""
    version: str = ""


FORM_STATUS = CodeList(
    "CL.FORM_STATUS",
    "Form status",
    "text",
    tuple(CodeListItem(value, str(label)) for value, label in CrfStatus.choices),
)
FLAG_TYPE = CodeList("CL.FLAG_TYPE", "Flag type", "text", (CodeListItem("FORM_STATUS", "Form status"),))
CTCAE_TERMS = CodeList("CL.CTCAE_TERM", "CTCAE v5.0 term", "text", dictionary="CTCAE", version="5.0")


@dataclass(frozen=True)
class Item:
    oid: str
    name: str
    #: attribute read on a record or on one of its historical rows (same names in both)
    attribute: str
    kind: ValueKind
    data_type: str
    question: str
    description: str = ""
    length: int | None = None
    significant_digits: int | None = None
    unit: MeasurementUnit | None = None
    codelist: CodeList | None = None
    mandatory: bool = False


@dataclass(frozen=True)
class ItemGroup:
    oid: str
    name: str
    repeating: bool
    items: tuple[Item, ...]


@dataclass(frozen=True)
class RowGroup:
    """Rows of a form record kept in their own model (a tumour assessment's lesion rows): a repeating item group."""

    group: ItemGroup
    model: type[models.Model]
    #: the foreign key from the row to the form record
    parent: str


@dataclass(frozen=True)
class Form:
    oid: str
    name: str
    repeating: bool
    main: ItemGroup
    rows: tuple[RowGroup, ...] = ()
    #: the CRF model; None for the subject and visit forms
    model: type[CaseReportForm] | None = None
    description: str = ""

    @property
    def related(self) -> tuple[str, ...]:
        """Foreign keys whose display needs the related row (``select_related``)."""
        return tuple(item.attribute for item in self.main.items if item.kind in (ValueKind.TERM, ValueKind.ARM))


@dataclass(frozen=True)
class Event:
    oid: str
    name: str
    repeating: bool
    type: str
    order_number: int
    mandatory: bool
    forms: tuple[Form, ...]
    category: str = ""
    description: str = ""


@dataclass(frozen=True)
class StudyMetadata:
    trial: Trial
    study_oid: str
    events: tuple[Event, ...]
    forms: tuple[Form, ...]
    subject_form: Form
    visit_form: Form
    common_event: Event
    events_by_definition: dict[int, Event]
    mdv_oid: str = ""
    codelists: tuple[CodeList, ...] = field(default=())

    @property
    def crf_forms(self) -> tuple[Form, ...]:
        return tuple(form for form in self.forms if form.model is not None)

    def item_groups(self) -> Iterator[ItemGroup]:
        for form in self.forms:
            yield form.main
            yield from (rows.group for rows in form.rows)

    def items(self) -> Iterator[Item]:
        for group in self.item_groups():
            yield from group.items

    def units(self) -> list[MeasurementUnit]:
        used = {item.unit.oid: item.unit for item in self.items() if item.unit is not None}
        return sorted(used.values(), key=lambda unit: unit.oid)
