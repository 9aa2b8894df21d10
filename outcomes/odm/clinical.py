"""What the snapshot and the audit (transactional) exports share: reading an item's ODM value from a record or from
one of its historical rows, and writing the form-status flag.

Form status. ODM 1.3.2 has no status attribute on FormData. The EDC's draft / complete status is written as the
ODM-native machine-readable annotation a FormData may carry (ODM 1.3.2 specification, the Annotation and Flag elements):
``<Annotation SeqNum="1"><Flag><FlagValue CodeListOID="CL.FORM_STATUS">draft</FlagValue>
<FlagType CodeListOID="CL.FLAG_TYPE">FORM_STATUS</FlagType></Flag></Annotation>``, both code lists defined in the
MetaDataVersion. It stays out of the item groups, so the clinical items map to analysis tables unchanged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lxml import etree

from .elements import format_value, sub
from .specs import FLAG_TYPE, FORM_STATUS, Item, ValueKind

_TENTH = Decimal("0.1")


def item_value(item: Item, record: Any) -> str | None:
    """The ODM value of ``item`` on a record or historical row (same attribute names), None when empty."""
    raw = getattr(record, item.attribute, None)
    if raw is None or raw == "":
        return None
    if item.kind == ValueKind.TENTHS:
        return format_value((Decimal(int(raw)) / 10).quantize(_TENTH), "float")
    if item.kind == ValueKind.TERM:
        return format_value(raw.term, "text")
    if item.kind == ValueKind.ARM:
        return format_value(raw.code, "text")
    if item.kind == ValueKind.USER:
        return user_oid(int(raw))
    if item.kind == ValueKind.RELATED_ID:
        return str(int(raw))
    return format_value(raw, item.data_type)


def user_oid(user_id: int | None) -> str:
    return "U.SYSTEM" if user_id is None else f"U.{user_id}"


def location_oid(site_code: str) -> str:
    return f"LOC.{site_code}"


SPONSOR_LOCATION = "LOC.SPONSOR"


def status_annotation(parent: etree._Element, status: str) -> None:
    annotation = sub(parent, "Annotation", SeqNum="1")
    flag = sub(annotation, "Flag")
    sub(flag, "FlagValue", status, CodeListOID=FORM_STATUS.oid)
    sub(flag, "FlagType", "FORM_STATUS", CodeListOID=FLAG_TYPE.oid)


def item_data(parent: etree._Element, item: Item, value: str | None, transaction: str | None = None) -> None:
    """One ItemData; a removed value has no Value attribute (its TransactionType says Remove)."""
    sub(parent, "ItemData", ItemOID=item.oid, TransactionType=transaction, Value=value)
