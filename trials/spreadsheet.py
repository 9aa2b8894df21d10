"""Text for files meant to be opened in a spreadsheet (audit trail and dashboard CSVs).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by Excel and
LibreOffice (OWASP "CSV injection"): free text typed at a site, such as a screen-failure reason, could then fetch a
URL or run a command on the reader's machine. Such text gets a leading apostrophe, which spreadsheets show as text;
numbers (``-3.5``) stay as they are. The analysis datasets do not use this: their CSV feeds SAS, R and Stata, where
the prefix would change the data (``outcomes/datasets/writers/text.py``).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """``text`` as a spreadsheet shows it, never run as a formula."""
    if text[:1] in FORMULA_STARTS and not (text[:1] in "+-" and _is_number(text)):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
