"""Chart geometry as small pure functions and frozen shapes: linear scales, "nice" ticks, SVG paths, units.

The shapes carry pixel coordinates only; the templates in `templates/charts.html.j2` draw them as SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

CHAR_WIDTH = 6.6
"""Approximate width of one character of the 11-12 px sans-serif labels, to size margins for text."""


@dataclass(frozen=True)
class Scale:
    """Maps the domain [d0, d1] linearly onto the pixel range [r0, r1] (r1 < r0 for a y axis growing upward)."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return round(self.r0 + (value - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0), 2)


def nice_step(span: float, count: int) -> float:
    """The 1, 2 or 5 x 10^k step that cuts `span` into the number of intervals closest to `count`."""
    if span <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(span / max(count, 1)))
    candidates = [f * magnitude for f in (1, 2, 5, 10)]
    return min(candidates, key=lambda step: (abs(span / step - count), -step))


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: the first at or below `low`, the last at or above `high`."""
    if high < low:
        low, high = high, low
    if high == low:
        high = low + 1
    step = nice_step(high - low, count)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    n = round((last - first) / step)
    return [round(first + i * step, 10) for i in range(n + 1)]


def format_number(value: float, step: float | None = None) -> str:
    """A tick or figure label: as many decimals as the step needs, thousands separated."""
    if step is not None and step < 1:
        decimals = min(6, max(0, -math.floor(math.log10(step) + 1e-9)))
        return f"{value:,.{decimals}f}"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"


def line_path(points: Sequence[tuple[float, float] | None]) -> str:
    """An SVG path through the points; None breaks the line (a window without data is a gap, not a zero)."""
    parts, pen_down = [], False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{point[0]:g},{point[1]:g}")
        pen_down = True
    return " ".join(parts)


@dataclass(frozen=True)
class Unit:
    """A display unit for durations held in seconds."""

    name: str
    seconds: float

    def of(self, value_s: float) -> float:
        return value_s / self.seconds


UNITS = (Unit("ms", 0.001), Unit("s", 1.0), Unit("min", 60.0), Unit("h", 3600.0), Unit("days", 86400.0))


def duration_unit(largest_s: float) -> Unit:
    """The unit in which the largest of some durations reads as a number between 1 and a few hundred."""
    if largest_s < 1:
        return UNITS[0]
    if largest_s < 120:
        return UNITS[1]
    if largest_s < 7200:
        return UNITS[2]
    if largest_s < 2 * 86400:
        return UNITS[3]
    return UNITS[4]


def text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


@dataclass(frozen=True)
class Box:
    """The plot area of a panel, in pixels of the whole SVG."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True)
class Tick:
    at: float
    """Pixel position along the axis."""
    label: str


@dataclass(frozen=True)
class Axis:
    label: str
    ticks: tuple[Tick, ...]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str
    """Shown on hover: the exact figure behind the point."""


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    """Class naming the series colour (s1..s6) in the stylesheet."""
    path: str
    points: tuple[Point, ...]
    dashed: bool = False


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str = ""


@dataclass(frozen=True)
class Band:
    """A shaded interval across the whole plot height (a fault, a load stage), labelled at the top."""

    x: float
    width: float
    label: str
    css: str = "band"


@dataclass(frozen=True)
class Rule:
    """A straight reference line (a limit, the normal rate, the moment the backlog drained), with its label."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    label_x: float
    label_y: float
    anchor: str = "start"


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "end"


@dataclass(frozen=True)
class Panel:
    box: Box
    x_axis: Axis
    y_axis: Axis
    title: str = ""
    bands: tuple[Band, ...] = ()
    bars: tuple[Rect, ...] = ()
    lines: tuple[Line, ...] = ()
    rules: tuple[Rule, ...] = ()
    labels: tuple[Label, ...] = ()
    """Category labels (workflow type names beside horizontal bars)."""
    horizontal: bool = False
    """True when the value axis is x (horizontal bars): grid lines are then vertical."""


@dataclass(frozen=True)
class LegendItem:
    name: str
    css: str
    dashed: bool = False


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    caption: str
    """One line saying what to look for."""
    width: float
    height: float
    panels: tuple[Panel, ...]
    legend: tuple[LegendItem, ...] = ()
    kind: str = "xy"


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    size: float
    css: str
    """fires, noisy or quiet."""
    title: str


@dataclass(frozen=True)
class Matrix:
    """A grid: one row per fault window, one column per alert, a cell per (fault, alert)."""

    id: str
    title: str
    caption: str
    width: float
    height: float
    row_labels: tuple[Label, ...]
    column_labels: tuple[Label, ...]
    cells: tuple[Cell, ...]
    results: tuple[Label, ...] = ()
    result_css: tuple[str, ...] = ()
    legend: tuple[LegendItem, ...] = field(default_factory=tuple)
    label_angle: float = 60
    """Degrees the column labels are turned up from the horizontal."""
    kind: str = "matrix"


def value_axis(
    low: float, high: float, pixel_low: float, pixel_high: float, label: str, count: int = 5, whole: bool = False
) -> tuple[Scale, Axis]:
    """A scale over nice ticks that cover [low, high], and the axis that labels it; `whole` for counts (no 0.5 ticks)."""
    ticks = nice_ticks(low, high, count)
    if whole and len(ticks) > 1 and ticks[1] - ticks[0] < 1:
        ticks = [float(t) for t in range(math.floor(low), math.ceil(high) + 1)]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    scale = Scale(ticks[0], ticks[-1], pixel_low, pixel_high)
    return scale, Axis(label, tuple(Tick(scale(t), format_number(t, step)) for t in ticks))
