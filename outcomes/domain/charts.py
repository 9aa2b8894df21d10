"""Server-side SVG charts for the dashboards (issue 7): no JavaScript, no CDN, nothing to load.

Pure: strings out. Every chart is one ``<svg role="img" aria-labelledby="… …">`` with a ``<title>`` and a ``<desc>``
(WAI-ARIA Graphics: https://www.w3.org/TR/graphics-aria-1.0/; the SVG accessibility pattern of
https://www.w3.org/WAI/tutorials/images/complex/ — the data also appear in a table next to the chart). Series differ
by colour *and* dash pattern (Okabe-Ito palette, safe for colour-vision deficiency: Okabe M, Ito K, "Color Universal
Design", 2008), heat-map cells carry their number, bars their legend, so nothing is told by colour alone.

Charts: a line chart (cumulative enrolment against its target, with a projection), a Kaplan-Meier chart (step
curves, shaded CI bands, censoring ticks, a landmark marker and the numbers at risk beneath), horizontal bar charts
(grouped or stacked) and a heat map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from .dashboards import CurvePoint, censor_marks, thin_steps

PALETTE: Final = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DASHES: Final = ("", "6 3", "2 3", "8 3 2 3")
HEAT_FILLS: Final = ("#f7f7f7", "#fde0c5", "#facba6", "#f59e72", "#e4572e")
FONT: Final = "font-family='system-ui, sans-serif' font-size='11'"
HALF_PIXEL: Final = 0.5
"""Kaplan-Meier steps closer than this (in drawn pixels) merge into one drop (``thin_steps``)."""


def colour(style: int) -> str:
    return PALETTE[style % len(PALETTE)]


def dash(style: int) -> str:
    pattern = DASHES[style % len(DASHES)]
    return f" stroke-dasharray='{pattern}'" if pattern else ""


def _n(value: float) -> str:
    """A coordinate to a tenth of a pixel, without trailing zeros (12.0 → "12", 12.34 → "12.3")."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)


def _points(vertices: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in vertices)


def _path(vertices: Sequence[tuple[float, float]], *, close: bool = False) -> str:
    if not vertices:
        return ""
    head, *rest = vertices
    return f"M{_n(head[0])},{_n(head[1])}" + "".join(f"L{_n(x)},{_n(y)}" for x, y in rest) + ("Z" if close else "")


@lru_cache(maxsize=32_768)
def _t(tenths: int) -> str:
    """Tenths of a pixel as ``_n`` writes the coordinate (123 → "12.3", 120 → "12"); cached: a chart repeats the
    same few thousand positions, and writing numbers is most of a Kaplan-Meier chart's time."""
    whole, tenth = divmod(abs(tenths), 10)
    return ("-" if tenths < 0 else "") + (f"{whole}.{tenth}" if tenth else str(whole))


def _drops(xs: Sequence[int], levels: Sequence[int], x: int, y: int, parts: list[str]) -> tuple[int, int]:
    """Append the ``H``/``V`` moves of a step function from (x, y), in tenths of a pixel: at each ``xs[i]`` the
    level becomes ``levels[i]``; a move within the same tenth draws nothing and is left out. Returns where it ends."""
    for next_x, level in zip(xs, levels, strict=True):
        if level != y:
            if next_x != x:
                parts.append(f"H{_t(next_x)}")
                x = next_x
            parts.append(f"V{_t(level)}")
            y = level
    return x, y


def _step_path(xs: Sequence[int], ys: Sequence[int]) -> str:
    """The step function through pixel points (``step_coordinates``: flat from each point to the next, then a
    vertical drop) as one path of ``H``/``V`` moves, one number each."""
    parts = [f"M{_t(xs[0])},{_t(ys[0])}"]
    x, _ = _drops(xs[1:], ys[1:], xs[0], ys[0], parts)
    if xs[-1] != x:
        parts.append(f"H{_t(xs[-1])}")
    return "".join(parts)


def _band_path(xs: Sequence[int], uppers: Sequence[int], lowers: Sequence[int]) -> str:
    """The CI band as one closed path (``band_polygon``): the upper limit's steps forward, the lower limit's back."""
    parts = [f"M{_t(xs[0])},{_t(uppers[0])}"]
    x, y = _drops(xs[1:], uppers[1:], xs[0], uppers[0], parts)
    if xs[-1] != x:
        parts.append(f"H{_t(xs[-1])}")
    if lowers[-1] != y:
        parts.append(f"V{_t(lowers[-1])}")
    # backwards, the level left of xs[i] is lowers[i - 1]
    x, _ = _drops(xs[:0:-1], lowers[-2::-1], xs[-1], lowers[-1], parts)
    if xs[0] != x:
        parts.append(f"H{_t(xs[0])}")
    return "".join(parts) + "Z"


def _text(x: float, y: float, text: str, *, anchor: str = "start", extra: str = "") -> str:
    return f"<text x='{_n(x)}' y='{_n(y)}' text-anchor='{anchor}' {FONT}{extra}>{escape(text)}</text>"


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return [
        f"<svg xmlns='http://www.w3.org/2000/svg' id={quoteattr(chart_id)} class='chart' role='img' "
        f"aria-labelledby='{title_id} {desc_id}' viewBox='0 0 {width} {height}' width='100%' "
        f"preserveAspectRatio='xMinYMin meet' style='max-width:{width}px'>",
        f"<title id={quoteattr(title_id)}>{escape(title)}</title>",
        f"<desc id={quoteattr(desc_id)}>{escape(description)}</desc>",
    ]


@dataclass(frozen=True)
class Frame:
    """The plotting area inside margins, and the linear scales of both axes."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_max: float
    y_max: float
    x_min: float = 0.0

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def x(self, value: float) -> float:
        span = (self.x_max - self.x_min) or 1.0
        return self.left + (value - self.x_min) / span * self.plot_width

    def y(self, value: float) -> float:
        return self.top + (1 - value / (self.y_max or 1.0)) * self.plot_height


def _axes(frame: Frame, x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[tuple[float, str]]) -> list[str]:
    parts = ["<g class='axes' stroke='#6c757d' stroke-width='1'>"]
    base = frame.top + frame.plot_height
    parts.append(f"<line x1='{frame.left}' y1='{_n(base)}' x2='{_n(frame.left + frame.plot_width)}' y2='{_n(base)}'/>")
    parts.append(f"<line x1='{frame.left}' y1='{frame.top}' x2='{frame.left}' y2='{_n(base)}'/>")
    for value, _ in y_ticks:
        y = frame.y(value)
        parts.append(
            f"<line x1='{frame.left}' y1='{_n(y)}' x2='{_n(frame.left + frame.plot_width)}' y2='{_n(y)}' "
            "stroke='#dee2e6'/>"
        )
    parts.append("</g>")
    for value, label in x_ticks:
        parts.append(_text(frame.x(value), base + 14, label, anchor="middle"))
    for value, label in y_ticks:
        parts.append(_text(frame.left - 6, frame.y(value) + 4, label, anchor="end"))
    return parts


def _legend(items: Sequence[tuple[str, int]], x: float, y: float, *, swatch: str = "line") -> list[str]:
    parts = ["<g class='legend'>"]
    for index, (label, style) in enumerate(items):
        top = y + index * 15
        if swatch == "line":
            parts.append(
                f"<line x1='{_n(x)}' y1='{_n(top)}' x2='{_n(x + 18)}' y2='{_n(top)}' stroke='{colour(style)}' "
                f"stroke-width='2'{dash(style)}/>"
            )
        else:
            parts.append(f"<rect x='{_n(x)}' y='{_n(top - 5)}' width='12' height='10' fill='{colour(style)}'/>")
        parts.append(_text(x + 22, top + 4, label))
    parts.append("</g>")
    return parts


# Line chart ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[float, float], ...]
    style: int = 0
    dashed: bool = False


@dataclass(frozen=True)
class Reference:
    """A horizontal reference line (e.g. the enrolment target) with its label."""

    value: float
    label: str


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    series: Sequence[Series],
    x_ticks: Sequence[tuple[float, str]],
    y_ticks: Sequence[tuple[float, str]],
    x_max: float,
    y_max: float,
    references: Sequence[Reference] = (),
    width: int = 640,
    height: int = 300,
    legend: bool = True,
) -> str:
    legend_width = 150 if legend else 0
    frame = Frame(width, height, 44, 12 + legend_width, 12, 28, x_max, y_max)
    parts = _open(chart_id, title, description, width, height)
    parts += _axes(frame, x_ticks, y_ticks)
    for reference in references:
        y = frame.y(reference.value)
        parts.append(
            f"<line class='reference' x1='{frame.left}' y1='{_n(y)}' x2='{_n(frame.left + frame.plot_width)}' "
            f"y2='{_n(y)}' stroke='#212529' stroke-width='1.5' stroke-dasharray='1 3'/>"
        )
        parts.append(_text(frame.left + 4, y - 4, reference.label))
    for item in series:
        vertices = [(frame.x(x), frame.y(y)) for x, y in item.points]
        if len(vertices) == 1:
            x, y = vertices[0]
            parts.append(f"<circle class='series' cx='{_n(x)}' cy='{_n(y)}' r='3' fill='{colour(item.style)}'/>")
            continue
        dashes = " stroke-dasharray='6 4'" if item.dashed else dash(item.style)
        parts.append(
            f"<path class='series' d='{_path(vertices)}' fill='none' stroke='{colour(item.style)}' "
            f"stroke-width='2'{dashes}/>"
        )
    if legend:
        parts += _legend(
            [(item.label, item.style) for item in series], width - legend_width + 4, frame.top + 8, swatch="line"
        )
    parts.append("</svg>")
    return "".join(parts)


# Kaplan-Meier chart ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalCurve:
    label: str
    points: tuple[CurvePoint, ...]
    style: int = 0
    #: numbers at risk at each of the chart's risk-table times
    at_risk: tuple[int, ...] = ()


@dataclass(frozen=True)
class Landmark:
    time: float
    label: str
    #: Ŝ(landmark) per curve label, printed beside the marker
    values: dict[str, float | None] = field(default_factory=dict)


def survival_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    curves: Sequence[SurvivalCurve],
    x_max: float,
    x_ticks: Sequence[tuple[float, str]],
    risk_times: Sequence[float] = (),
    landmark: Landmark | None = None,
    width: int = 680,
    height: int = 300,
) -> str:
    """Step curves with shaded CI bands, censoring ticks (short vertical marks) and the numbers at risk beneath.

    Curves and bands are drawn from their steps thinned to half a pixel (``thin_steps``: the same shape at the
    drawn resolution, the landmark kept), so a curve of thousands of steps costs a few hundred vertices; every
    censoring tick is drawn (ticks landing on the same tenth of a pixel once)."""
    risk_rows = len(curves) if risk_times else 0
    table_height = 22 + 15 * risk_rows if risk_rows else 0
    total_height = height + table_height
    frame = Frame(width, height, 90, 150, 12, 30, x_max, 1.0)
    parts = _open(chart_id, title, description, width, total_height)
    y_ticks = [(v / 4, f"{v * 25}%") for v in range(5)]
    parts += _axes(frame, x_ticks, y_ticks)
    span = (frame.x_max - frame.x_min) or 1.0
    x_scale, x_offset = frame.plot_width / span, frame.left - frame.x_min * frame.plot_width / span
    y_scale, y_offset = -frame.plot_height / (frame.y_max or 1.0), frame.top + frame.plot_height
    resolution = HALF_PIXEL / x_scale
    keep = (landmark.time,) if landmark is not None else ()
    # in tenths of a pixel from here
    x_scale, x_offset, y_scale, y_offset = 10 * x_scale, 10 * x_offset, 10 * y_scale, 10 * y_offset
    drawn = []
    for curve in curves:
        xs, ys, uppers, lowers = [], [], [], []
        for p in thin_steps(curve.points, resolution=resolution, keep=keep):
            xs.append(round(x_offset + p.time * x_scale))
            ys.append(round(y_offset + p.survival * y_scale))
            uppers.append(round(y_offset + (p.survival if p.upper is None else p.upper) * y_scale))
            lowers.append(round(y_offset + (p.survival if p.lower is None else p.lower) * y_scale))
        drawn.append((xs, ys, uppers, lowers))
    for curve, (xs, _, uppers, lowers) in zip(curves, drawn, strict=True):
        if xs:
            parts.append(
                f"<path class='band' d='{_band_path(xs, uppers, lowers)}' fill='{colour(curve.style)}' "
                "fill-opacity='0.15' stroke='none'/>"
            )
    for curve, (xs, ys, _, _) in zip(curves, drawn, strict=True):
        parts.append(
            f"<path class='curve' d='{_step_path(xs, ys) if xs else ''}' fill='none' stroke='{colour(curve.style)}' "
            f"stroke-width='2'{dash(curve.style)}/>"
        )
        marks = dict.fromkeys(
            (round(x_offset + t * x_scale), round(y_offset + s * y_scale) - 40)
            for t, s in censor_marks(curve.points)
            if t <= x_max
        )
        ticks = "".join(f"M{_t(x)},{_t(y)}v8" for x, y in marks)
        if ticks:
            parts.append(f"<path class='censor' d='{ticks}' stroke='{colour(curve.style)}' stroke-width='1.2'/>")
    if landmark is not None and landmark.time <= x_max:
        x = frame.x(landmark.time)
        parts.append(
            f"<line class='landmark' x1='{_n(x)}' y1='{frame.top}' x2='{_n(x)}' "
            f"y2='{_n(frame.top + frame.plot_height)}' stroke='#212529' stroke-width='1' stroke-dasharray='4 3'/>"
        )
        parts.append(_text(x + 4, frame.top + 10, landmark.label))
        for index, curve in enumerate(curves):
            value = landmark.values.get(curve.label)
            if value is not None:
                parts.append(
                    f"<circle class='landmark-point' cx='{_n(x)}' cy='{_n(frame.y(value))}' r='3.5' fill='#ffffff' "
                    f"stroke='{colour(curve.style)}' stroke-width='2'/>"
                )
                parts.append(_text(x + 6, frame.top + 24 + index * 13, f"{curve.label}: {value:.0%}"))
    parts += _legend([(curve.label, curve.style) for curve in curves], width - 144, frame.top + 8)
    parts.append(_text(width - 144, frame.top + 14 + 15 * len(curves), "| censored; band: 95% CI"))
    if risk_rows:
        top = height + 6
        parts.append(_text(4, top + 8, "At risk", extra=" font-weight='600'"))
        for row, curve in enumerate(curves):
            y = top + 22 + 15 * row
            parts.append(_text(4, y, curve.label[:14], extra=f" fill='{colour(curve.style)}'"))
            for time, count in zip(risk_times, curve.at_risk, strict=False):
                if time <= x_max:
                    parts.append(_text(frame.x(time), y, str(count), anchor="middle", extra=" class='at-risk'"))
    parts.append("</svg>")
    return "".join(parts)


# Bar chart -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BarSeries:
    label: str
    values: tuple[float, ...]
    style: int = 0


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[BarSeries],
    stacked: bool = False,
    width: int = 640,
    bar_height: int = 14,
) -> str:
    """Horizontal bars, one row per category; grouped (a bar per series) or stacked. Each bar carries its value."""
    per_row = bar_height if stacked else bar_height * max(1, len(series))
    row_height = per_row + 10
    legend_height = 18 * ((len(series) + 2) // 3)
    height = 16 + row_height * max(1, len(categories)) + 24 + legend_height
    if stacked:
        maximum = max((sum(s.values[i] for s in series) for i in range(len(categories))), default=0)
    else:
        maximum = max((v for s in series for v in s.values), default=0)
    maximum = float(maximum) or 1.0
    label_chars = min(34, max((len(category) for category in categories), default=4))
    left = 16 + round(label_chars * 6.2)  # about 6 px per character at 11 px
    frame = Frame(width, height, left, 40, 8, 24 + legend_height, maximum, 1.0)
    parts = _open(chart_id, title, description, width, height)
    base = frame.top + row_height * len(categories)
    parts.append(f"<line x1='{frame.left}' y1='{frame.top}' x2='{frame.left}' y2='{_n(base)}' stroke='#6c757d'/>")
    for row, category in enumerate(categories):
        top = frame.top + row * row_height + 5
        parts.append(_text(frame.left - 6, top + per_row / 2 + 4, category[:34], anchor="end"))
        offset = 0.0
        for index, item in enumerate(series):
            value = float(item.values[row])
            y = top if stacked else top + index * bar_height
            x = frame.x(offset) if stacked else frame.left
            length = frame.x(value) - frame.left
            if value > 0:
                parts.append(
                    f"<rect class='bar' x='{_n(x)}' y='{_n(y)}' width='{_n(max(length, 1))}' "
                    f"height='{bar_height - 2}' fill='{colour(item.style)}'><title>{escape(category)}, "
                    f"{escape(item.label)}: {_n(value)}</title></rect>"
                )
            if not stacked:
                parts.append(_text(x + max(length, 0) + 4, y + bar_height - 4, _n(value)))
            offset += value
        if stacked:
            parts.append(_text(frame.x(offset) + 4, top + bar_height - 4, _n(offset)))
    legend_top = base + 22
    for index, item in enumerate(series):
        x = frame.left + (index % 3) * 170
        y = legend_top + (index // 3) * 18
        parts.append(f"<rect x='{_n(x)}' y='{_n(y - 9)}' width='12' height='10' fill='{colour(item.style)}'/>")
        parts.append(_text(x + 16, y, item.label))
    parts.append("</svg>")
    return "".join(parts)


# Heat map --------------------------------------------------------------------------------------------------------


def heat_map(
    *,
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[int]],
    levels: Sequence[Sequence[int]],
    cell_width: int = 72,
    cell_height: int = 24,
) -> str:
    """A grid of cells, one row per ``rows`` label and one column per ``columns`` label; each cell is filled by its
    level (0 = nothing) and shows its number."""
    left, top = 70, 110
    width = left + cell_width * max(1, len(columns)) + 8
    height = top + cell_height * max(1, len(rows)) + 8
    parts = _open(chart_id, title, description, width, height)
    for col, label in enumerate(columns):
        x = left + col * cell_width + cell_width / 2
        parts.append(_text(x, top - 8, label[:22], anchor="start", extra=f" transform='rotate(-35 {_n(x)} {top - 8})'"))
    for row, label in enumerate(rows):
        y = top + row * cell_height
        parts.append(_text(left - 6, y + cell_height / 2 + 4, label[:10], anchor="end"))
        for col in range(len(columns)):
            x = left + col * cell_width
            level = levels[row][col]
            value = values[row][col]
            fill = HEAT_FILLS[max(0, min(level, len(HEAT_FILLS) - 1))]
            parts.append(
                f"<rect class='cell level-{level}' x='{x}' y='{y}' width='{cell_width - 2}' "
                f"height='{cell_height - 2}' fill='{fill}'><title>{escape(label)}, {escape(columns[col])}: "
                f"{value}</title></rect>"
            )
            parts.append(_text(x + cell_width / 2 - 1, y + cell_height / 2 + 3, str(value), anchor="middle"))
    parts.append("</svg>")
    return "".join(parts)
