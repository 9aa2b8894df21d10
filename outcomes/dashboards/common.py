"""What every dashboard shares: the filters (site, month range, the user's scope), a chart with its table view and
CSV, and small helpers over the per-site, per-month facts a snapshot stores.

Facts in a snapshot are keyed by site id (a string: JSON keys are strings) and month (``YYYY-MM``), so a page
narrows them to the user's sites and the chosen range in Python, whatever the trial's size, without a query.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any, TypeVar

from django.utils.safestring import SafeString, mark_safe

from trials.spreadsheet import formula_safe

from ..domain.dashboards import in_months

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

Cell = str | int | float | None
Key = TypeVar("Key", bound=tuple[str, ...])


@dataclass(frozen=True)
class Site:
    id: str
    code: str
    name: str
    activation: date | None
    target: int


def sites_of(figures: Mapping[str, Any]) -> list[Site]:
    return [
        Site(
            str(item["id"]),
            item["code"],
            item["name"],
            date.fromisoformat(item["activation"]) if item.get("activation") else None,
            int(item.get("target") or 0),
        )
        for item in figures.get("sites", [])
    ]


def site_rows(trial: Any) -> list[dict[str, Any]]:
    """The trial's sites as a snapshot stores them (configuration, not patient data)."""
    return [
        {
            "id": trial_site.site_id,
            "code": trial_site.site.code,
            "name": trial_site.site.name,
            "activation": trial_site.activation_date.isoformat() if trial_site.activation_date else None,
            "target": trial_site.target_enrolment,
        }
        for trial_site in trial.trial_sites.select_related("site").order_by("site__code")
    ]


@dataclass(frozen=True)
class Filters:
    """The sites shown (the user's scope, narrowed by the site filter) and the month range (inclusive)."""

    sites: tuple[Site, ...]
    site_code: str = ""
    start: str | None = None
    end: str | None = None

    @property
    def site_ids(self) -> frozenset[str]:
        return frozenset(site.id for site in self.sites)

    @property
    def is_filtered(self) -> bool:
        return bool(self.site_code or self.start or self.end)

    def month(self, key: str) -> bool:
        return in_months(key, self.start, self.end)

    def day(self, day: date) -> bool:
        return self.month(f"{day.year:04d}-{day.month:02d}")

    def query(self) -> str:
        parts = [f"site={self.site_code}" if self.site_code else "", f"from={self.start}" if self.start else ""]
        parts.append(f"to={self.end}" if self.end else "")
        return "&".join(part for part in parts if part)


def filters_from(params: Mapping[str, str], *, all_sites: Sequence[Site], scope: set[int] | None) -> Filters:
    """Sites in the user's scope (``scope`` None: every site), then the ``site`` parameter (a code; one outside the
    scope shows nothing, as if it did not exist); months from ``from`` / ``to`` (``YYYY-MM``; anything else ignored)."""
    visible = [site for site in all_sites if scope is None or int(site.id) in scope]
    code = (params.get("site") or "").strip().upper()
    if code:
        visible = [site for site in visible if site.code == code]
    start = params.get("from") or None
    end = params.get("to") or None
    start = start if start and MONTH.match(start) else None
    end = end if end and MONTH.match(end) else None
    return Filters(tuple(visible), code, start, end)


def by_site_month(facts: Mapping[str, Mapping[str, int]], filters: Filters) -> dict[str, dict[str, int]]:
    """``{site id: {month: n}}`` narrowed to the filters."""
    return {
        site: {month: n for month, n in months.items() if filters.month(month)}
        for site, months in facts.items()
        if site in filters.site_ids
    }


def total(facts: Mapping[str, Mapping[str, int]], filters: Filters, site: str | None = None) -> int:
    return sum(
        n
        for site_id, months in facts.items()
        if site_id in filters.site_ids and (site is None or site_id == site)
        for month, n in months.items()
        if filters.month(month)
    )


def by_month(facts: Mapping[str, Mapping[str, int]], filters: Filters) -> dict[str, int]:
    """Monthly totals over the filtered sites."""
    result: dict[str, int] = {}
    for months in by_site_month(facts, filters).values():
        for month, n in months.items():
            result[month] = result.get(month, 0) + n
    return result


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[list[Cell]]
    #: per-row CSS classes (e.g. an overdue SAE), parallel to ``rows``
    row_classes: list[str] = field(default_factory=list)

    def classes(self) -> list[tuple[str, list[Cell]]]:
        return [(self.row_classes[i] if i < len(self.row_classes) else "", row) for i, row in enumerate(self.rows)]

    def markup(self, chart_id: str) -> SafeString:
        """The accessible table (caption, column and row headers), built here rather than in a template loop: a
        page has hundreds of cells, and the template engine would spend most of the page's time on them."""
        head = "".join(f"<th scope='col'>{escape(header)}</th>" for header in self.headers)
        body = []
        for classes, row in self.classes():
            cells = "".join(
                f"<th scope='row'>{_cell(cell)}</th>" if index == 0 else f"<td>{_cell(cell)}</td>"
                for index, cell in enumerate(row)
            )
            body.append(f"<tr class='{escape(classes)}'>{cells}</tr>" if classes else f"<tr>{cells}</tr>")
        if not body:
            body.append(
                f"<tr><td colspan='{len(self.headers)}' class='text-secondary'>"
                "Nothing in the selected sites and period.</td></tr>"
            )
        return mark_safe(  # noqa: S308 - every text above is escaped
            f"<table class='table table-sm table-striped mb-1' data-chart-table='{escape(chart_id)}'>"
            f"<caption class='caption-top small'>{escape(self.caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )


def _cell(value: Cell) -> str:
    return "—" if value is None else escape(str(value))


@dataclass
class Chart:
    """One chart of a page: its SVG (empty for a table-only panel), its table view and, when the CSV holds more
    than the table (a KM curve's every step), the CSV's own table, or the function that makes it (built only when
    the CSV is asked for, not on every view of the page)."""

    id: str
    title: str
    svg: str
    table: Table
    note: str = ""
    csv: Table | Callable[[], Table] | None = None

    @property
    def markup(self) -> SafeString:
        # Built by outcomes.domain.charts, which escapes every text it places.
        return mark_safe(self.svg)  # noqa: S308

    @property
    def table_markup(self) -> SafeString:
        return self.table.markup(self.id)

    def csv_table(self) -> Table:
        if callable(self.csv):
            return self.csv()
        return self.csv or self.table


@dataclass
class Page:
    title: str
    charts: list[Chart]
    cards: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def chart(self, chart_id: str) -> Chart | None:
        return next((chart for chart in self.charts if chart.id == chart_id), None)


def csv_text(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(["" if cell is None else formula_safe(cell) if isinstance(cell, str) else cell for cell in row])
    return buffer.getvalue()


def as_date(value: Any) -> date | None:
    """A month or day from an aggregate: TruncMonth gives a date on DateFields and a datetime on DateTimeFields."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def add(target: dict[str, Any], keys: Iterable[str], amount: int = 1) -> None:
    """``target[k1][k2]...[kn] += amount``, creating the nested dicts."""
    *path, last = list(keys)
    node = target
    for key in path:
        node = node.setdefault(key, {})
    node[last] = node.get(last, 0) + amount


def nested(counts: Mapping[Key, int]) -> dict[str, Any]:
    """``{(k1, ..., kn): n}`` as the nested ``{k1: {... {kn: n}}}`` a snapshot stores: a builder counts with a
    ``Counter`` of tuples (cheap per row) and nests once per distinct key."""
    result: dict[str, Any] = {}
    for keys, n in counts.items():
        add(result, keys, n)
    return result


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
