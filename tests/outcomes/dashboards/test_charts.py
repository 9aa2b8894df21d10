"""The server-side SVG builder (outcomes/domain/charts.py): valid XML, accessible, and the marks it promises."""

from __future__ import annotations

import random
import re
from itertools import pairwise

from lxml import etree

from outcomes.domain import charts
from outcomes.domain.dashboards import CurvePoint, band_polygon, step_coordinates, value_at

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> etree._Element:
    return etree.fromstring(markup.encode())


def assert_accessible(root: etree._Element, chart_id: str, title: str) -> None:
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
    assert root.find(f"{SVG}title").text == title
    assert root.find(f"{SVG}title").get("id") == f"{chart_id}-title"
    assert root.find(f"{SVG}desc").get("id") == f"{chart_id}-desc"


def test_a_line_chart_draws_each_series_and_the_target() -> None:
    markup = charts.line_chart(
        chart_id="c1",
        title="Cumulative <enrolment> & target",
        description="Two series",
        series=[
            charts.Series("Enrolled", ((0, 0), (30, 2), (60, 5)), 0),
            charts.Series("Projection", ((60, 5), (120, 10)), 1, dashed=True),
        ],
        x_ticks=[(0, "2025-01"), (30, "2025-02")],
        y_ticks=[(0, "0"), (10, "10")],
        x_max=120,
        y_max=10,
        references=[charts.Reference(10, "Target 10")],
    )
    root = parse(markup)
    assert_accessible(root, "c1", "Cumulative <enrolment> & target")
    paths = root.findall(f".//{SVG}path[@class='series']")
    assert [p.get("d").count("L") for p in paths] == [2, 1]
    assert paths[1].get("stroke-dasharray") == "6 4"
    assert len(root.findall(f".//{SVG}line[@class='reference']")) == 1
    assert "Target 10" in "".join(root.itertext())


def test_a_survival_chart_has_curves_bands_censor_ticks_landmark_and_numbers_at_risk() -> None:
    points = (
        CurvePoint(0, 1.0, 1.0, 1.0),
        CurvePoint(50, 0.9, 0.7, 0.97),
        CurvePoint(80, 0.9, 0.7, 0.97, censored=2),
        CurvePoint(120, 0.6, 0.4, 0.8, censored=1),
    )
    curves = [
        charts.SurvivalCurve("Arm A", points, 0, (10, 7)),
        charts.SurvivalCurve("Arm B", points[:2], 1, (9, 5)),
    ]
    markup = charts.survival_chart(
        chart_id="km",
        title="PFS",
        description="KM",
        curves=curves,
        x_max=200,
        x_ticks=[(0, "0 mo"), (91.3, "3 mo")],
        risk_times=[0, 91.3],
        landmark=charts.Landmark(182.625, "PFS-6", {"Arm A": 0.6, "Arm B": None}),
    )
    root = parse(markup)
    assert_accessible(root, "km", "PFS")
    assert len(root.findall(f".//{SVG}path[@class='curve']")) == 2
    bands = root.findall(f".//{SVG}path[@class='band']")
    assert len(bands) == 2 and all(band.get("d").endswith("Z") for band in bands)
    censor = root.findall(f".//{SVG}path[@class='censor']")
    assert len(censor) == 1 and censor[0].get("d").count("M") == 2  # times 80 and 120 of arm A
    assert len(root.findall(f".//{SVG}line[@class='landmark']")) == 1
    assert len(root.findall(f".//{SVG}circle[@class='landmark-point']")) == 1
    at_risk = [t.text for t in root.findall(f".//{SVG}text[@class='at-risk']")]
    assert at_risk == ["10", "7", "9", "5"]


def test_a_bar_chart_draws_one_bar_per_non_zero_value() -> None:
    markup = charts.bar_chart(
        chart_id="bars",
        title="Sites",
        description="d",
        categories=["NL01", "BE01"],
        series=[charts.BarSeries("Screened", (4, 2), 0), charts.BarSeries("Failed", (1, 0), 1)],
    )
    root = parse(markup)
    assert_accessible(root, "bars", "Sites")
    assert len(root.findall(f".//{SVG}rect[@class='bar']")) == 3
    stacked = parse(
        charts.bar_chart(
            chart_id="s",
            title="t",
            description="d",
            categories=["A"],
            series=[charts.BarSeries("x", (2,), 0), charts.BarSeries("y", (3,), 1)],
            stacked=True,
        )
    )
    bars = stacked.findall(f".//{SVG}rect[@class='bar']")
    assert float(bars[1].get("x")) > float(bars[0].get("x"))  # the second segment starts where the first ends
    assert "5" in [t.text for t in stacked.findall(f".//{SVG}text")]  # the stack's total


def test_a_heat_map_has_a_cell_with_its_number_for_each_site_and_form() -> None:
    markup = charts.heat_map(
        chart_id="heat",
        title="Forms",
        description="d",
        rows=["NL01", "BE01"],
        columns=["Demographics", "Tumour biology", "FACT-B"],
        values=[[0, 3, 1], [2, 0, 0]],
        levels=[[0, 4, 2], [3, 0, 0]],
    )
    root = parse(markup)
    assert_accessible(root, "heat", "Forms")
    cells = root.findall(f".//{SVG}rect")
    assert len(cells) == 6
    assert [c.get("class") for c in cells] == [f"cell level-{n}" for n in (0, 4, 2, 3, 0, 0)]
    texts = [t.text for t in root.findall(f".//{SVG}text")]
    assert texts.count("3") == 1 and texts.count("0") == 3


def vertices(path: str) -> list[tuple[float, float]]:
    """The corners of an ``M``/``H``/``V``/``L`` path."""
    result: list[tuple[float, float]] = []
    for command, numbers in re.findall(r"([MHVL])([-\d.,]+)", path):
        x, y = result[-1] if result else (0.0, 0.0)
        if command in "ML":
            x, y = (float(n) for n in numbers.split(","))
        elif command == "H":
            x = float(numbers)
        else:
            y = float(numbers)
        result.append((x, y))
    return result


def corners(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drawn corners: rounded to a tenth, repeats and points inside a straight run left out."""
    rounded = [(round(x, 1), round(y, 1)) for x, y in points]
    unique = [p for i, p in enumerate(rounded) if i == 0 or p != rounded[i - 1]]
    return [
        p
        for i, p in enumerate(unique)
        if i in (0, len(unique) - 1)
        or not (unique[i - 1][0] == p[0] == unique[i + 1][0] or unique[i - 1][1] == p[1] == unique[i + 1][1])
    ]


def test_a_survival_curve_and_band_are_drawn_as_the_step_function_and_band_polygon() -> None:
    points = (
        CurvePoint(0, 1.0, 1.0, 1.0),
        CurvePoint(30, 1.0, None, None, censored=1),
        CurvePoint(50, 0.9, 0.7, 0.97),
        CurvePoint(120, 0.6, 0.4, 0.8, censored=1),
        CurvePoint(160, 0.6, 0.4, 0.8, censored=2),
    )
    markup = charts.survival_chart(
        chart_id="km", title="t", description="d", curves=[charts.SurvivalCurve("A", points)], x_max=200, x_ticks=[]
    )
    root = parse(markup)
    frame = charts.Frame(680, 300, 90, 150, 12, 30, 200, 1.0)

    def px(coordinates: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(frame.x(x), frame.y(y)) for x, y in coordinates]

    curve = root.find(f".//{SVG}path[@class='curve']").get("d")
    assert vertices(curve) == corners(px(step_coordinates(points)))
    band = root.find(f".//{SVG}path[@class='band']").get("d")
    assert band.endswith("Z")
    assert corners(vertices(band)) == corners(px(band_polygon(points)))


def test_a_long_curve_is_thinned_to_the_pixel_but_keeps_every_censoring_tick() -> None:
    rng = random.Random(4)
    points, survival = [CurvePoint(0, 1.0, 1.0, 1.0)], 1.0
    for day in range(1, 4001):  # a death every day (about half a pixel a drop), censorings on some days
        survival *= 0.998
        points.append(CurvePoint(day, survival, survival * 0.9, min(1.0, survival * 1.05), rng.randint(0, 1)))
    markup = charts.survival_chart(
        chart_id="km",
        title="t",
        description="d",
        curves=[charts.SurvivalCurve("A", tuple(points))],
        x_max=4000,
        x_ticks=[],
        landmark=charts.Landmark(1002.5, "landmark", {"A": value_at(points, 1002.5).survival}),
    )
    root = parse(markup)
    frame = charts.Frame(680, 300, 90, 150, 12, 30, 4000, 1.0)
    drawn = vertices(root.find(f".//{SVG}path[@class='curve']").get("d"))
    assert len(drawn) <= 2 * 2 * frame.plot_width + 4  # at most a drop every half pixel
    assert len(drawn) < len(points) / 2
    ticks = root.find(f".//{SVG}path[@class='censor']").get("d")
    expected = {(round(frame.x(p.time), 1), round(frame.y(p.survival) - 4, 1)) for p in points if p.censored}
    assert ticks.count("M") == len(expected)  # every tick, once per tenth of a pixel
    # the curve drawn at the landmark is at the level the landmark marker shows
    x = round(frame.x(1002.5), 1)
    flats = [y for (x1, y), (x2, y2) in pairwise(drawn) if y == y2 and x1 <= x <= x2]
    marker = float(root.find(f".//{SVG}circle[@class='landmark-point']").get("cy"))
    assert any(abs(y - marker) < 0.11 for y in flats)
