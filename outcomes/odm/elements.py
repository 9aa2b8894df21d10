"""Small helpers for writing ODM 1.3.2 elements with lxml: the namespace, element creation, value formatting.

Values follow the ODM 1.3.2 data formats (ODM 1.3.2 specification, "Data Formats"; the XSD's simple types in
``ODM1-3-2-foundation.xsd``): ISO 8601 dates and date-times, ``true``/``false`` booleans (``xs:boolean``), plain
decimals for ``float`` (``xs:decimal``, no exponent), partial dates as ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

ODM_NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP: dict[str | None, str] = {None: ODM_NAMESPACE}

# XML 1.0 forbids these control characters; free text pasted into a form could hold one, and lxml would refuse
# the whole export mid-stream. They carry no meaning in clinical text and are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def tag(name: str) -> str:
    return f"{{{ODM_NAMESPACE}}}{name}"


def xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def root(name: str, **attributes: str | None) -> etree._Element:
    """A subtree's root: it declares the ODM namespace itself because it is written on its own (``xmlfile``)."""
    element = etree.Element(tag(name), nsmap=NSMAP)
    _set(element, attributes)
    return element


def sub(parent: etree._Element, name: str, text: str | None = None, **attributes: str | None) -> etree._Element:
    element = etree.SubElement(parent, tag(name))
    _set(element, attributes)
    if text is not None:
        element.text = xml_text(text)
    return element


def translated(parent: etree._Element, name: str, text: str) -> etree._Element:
    """``<Name><TranslatedText xml:lang="en">text</TranslatedText></Name>`` (Question, Decode, Description...)."""
    element = sub(parent, name)
    sub(element, "TranslatedText", text).set(XML_LANG, "en")
    return element


def _set(element: etree._Element, attributes: dict[str, str | None]) -> None:
    for key, value in attributes.items():
        if value is not None:
            element.set(key, xml_text(value))


def format_value(value: Any, data_type: str) -> str | None:
    """An ODM value string, or None for no value (the item is then left out)."""
    if value is None or value == "":
        return None
    if data_type == "boolean":
        return "true" if value else "false"
    if data_type == "integer":
        return str(int(value))
    if data_type == "float":
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        return format(number, "f")
    if data_type == "datetime" and isinstance(value, datetime):
        return value.isoformat()
    if data_type == "date" and isinstance(value, date):
        return value.isoformat()
    return xml_text(str(value))


def yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"
