"""Submit a rendered form the way a browser would, without a browser: every field as the page renders it (hidden
inputs, pre-filled formset rows, selected options), with the test's overrides. Used where a test must go "through
the web form" but needs no JavaScript."""

from __future__ import annotations

from typing import Any

from lxml import html


def form_values(page: bytes | str, form_id: str = "crf-form") -> dict[str, Any]:
    tree = html.fromstring(page)
    forms = tree.xpath(f'//form[@id="{form_id}"]')
    assert forms, f"no form#{form_id} on the page"
    values: dict[str, Any] = {}
    for element in forms[0].iter("input", "select", "textarea"):
        name = element.get("name")
        if not name or element.get("disabled") is not None:
            continue
        kind = (element.get("type") or "").lower()
        if element.tag == "select":
            chosen = [o.get("value", o.text or "") for o in element.iter("option") if o.get("selected") is not None]
            values[name] = chosen[0] if chosen else ""
        elif element.tag == "textarea":
            values[name] = element.text or ""
        elif kind in ("checkbox", "radio"):
            if element.get("checked") is not None:
                values[name] = element.get("value", "on")
        elif kind not in ("submit", "button"):
            values[name] = element.get("value", "")
    return values


def submit(client: Any, url: str, overrides: dict[str, Any], *, button: str = "complete") -> Any:
    """GET ``url``, take its form's values, apply ``overrides`` (a key ending in ``*`` sets every field whose name
    ends with the rest), add the pressed ``button`` and POST it back."""
    values = form_values(client.get(url).content)
    for key, value in overrides.items():
        if key.startswith("*"):
            for name in [n for n in values if n.endswith(key[1:])]:
                values[name] = value
        else:
            values[key] = value
    values[button] = "1"
    return client.post(url, values)
