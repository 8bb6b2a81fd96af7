"""Geometry for the server-rendered SVG plots (the templates draw it).

No JavaScript and no style attributes (strict CSP): colours are SVG presentation
attributes computed here, so a plot reads the same with or without the stylesheet.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from arena.ratings.public_boards import BoardRow

HEATMAP_MAX_MODELS = 25  # like LMArena: beyond that the cells are unreadable

# --- Interval plot ----------------------------------------------------------------------

LABEL_WIDTH = 210
PLOT_WIDTH = 520
RIGHT_PAD = 20
ROW_HEIGHT = 22
TOP_PAD = 8
AXIS_HEIGHT = 34


@dataclass(frozen=True)
class IntervalBar:
    label: str
    y: float
    x_low: float
    x_high: float
    x_point: float
    preliminary: bool
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class IntervalPlot:
    width: int
    height: int
    label_width: int
    label_right: int
    plot_right: int
    axis_y: float
    tick_label_y: float
    legend: str
    legend_y: float
    bars: tuple[IntervalBar, ...]
    ticks: tuple[Tick, ...]


def interval_plot(rows: Sequence[BoardRow]) -> IntervalPlot | None:
    """Each model's rating with its 95% interval as a horizontal bar, best first."""
    if not rows:
        return None
    lo, hi = _padded_range(min(r.low for r in rows), max(r.high for r in rows))
    right = LABEL_WIDTH + PLOT_WIDTH

    def x(value: float) -> float:
        return round(LABEL_WIDTH + (value - lo) / (hi - lo) * PLOT_WIDTH, 1)

    bars = tuple(
        IntervalBar(
            label=short(r.model, 30),
            y=TOP_PAD + i * ROW_HEIGHT + ROW_HEIGHT / 2,
            x_low=x(r.low),
            x_high=x(r.high),
            x_point=x(r.bt),
            preliminary=r.is_preliminary,
            title=f"{r.model}{' (preliminary)' if r.is_preliminary else ''}: {r.bt:.0f} "
            f"(95% interval {r.low:.0f} to {r.high:.0f}), {r.battles} votes",
        )
        for i, r in enumerate(rows)
    )
    axis_y = TOP_PAD + len(rows) * ROW_HEIGHT + 4
    legend = (
        "Dashed grey: preliminary (too few votes to rank)."
        if any(r.is_preliminary for r in rows)
        else ""
    )
    ticks = tuple(Tick(x(v), f"{v:.0f}") for v in _ticks(lo, hi))
    return IntervalPlot(
        width=right + RIGHT_PAD,
        height=int(axis_y + AXIS_HEIGHT + (18 if legend else 0)),
        label_width=LABEL_WIDTH,
        label_right=LABEL_WIDTH - 8,
        plot_right=right,
        axis_y=axis_y,
        tick_label_y=axis_y + 16,
        legend=legend,
        legend_y=axis_y + AXIS_HEIGHT + 4,
        bars=bars,
        ticks=ticks,
    )


def _padded_range(lo: float, hi: float) -> tuple[float, float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo < 1:
        middle = (lo + hi) / 2 if math.isfinite(lo + hi) else 1000.0
        return middle - 50, middle + 50
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _ticks(lo: float, hi: float, wanted: int = 6) -> list[float]:
    """Round values (1, 2 or 5 × 10^k apart) inside [lo, hi]."""
    raw = (hi - lo) / wanted
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) // step) + 1)]


# --- Win-rate heatmap -------------------------------------------------------------------

CELL = 38  # room for the share and, under it, the number of battles
CHAR_WIDTH = 6.2  # system-ui at 11px, roughly: room for the labels
LABEL_CHARS = 26
ROTATION = 50  # degrees: column labels run up and to the right


@dataclass(frozen=True)
class HeatCell:
    x: int
    y: int
    cx: float
    cy: float
    fill: str
    text: str
    text_fill: str
    title: str
    count: str  # the battles behind the cell, printed under the share ("n=3")


@dataclass(frozen=True)
class HeatLabel:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Heatmap:
    width: int
    height: int
    cell: int
    rotation: int
    cells: tuple[HeatCell, ...]
    row_labels: tuple[HeatLabel, ...]
    column_labels: tuple[HeatLabel, ...]
    left_out: int


def heatmap(
    names: Sequence[str], pair: Callable[[str, str], tuple[float | None, int]]
) -> Heatmap | None:
    """Cell (row, column): the share of the row model's wins over the column model among
    their battles without a tie. `pair(a, b)` gives (that share or None, battles)."""
    shown = list(names[:HEATMAP_MAX_MODELS])
    if len(shown) < 2:
        return None
    labels = [short(n, LABEL_CHARS) for n in shown]
    longest = max(len(label) for label in labels) * CHAR_WIDTH
    left = int(longest) + 12
    top = int(longest * math.sin(math.radians(ROTATION))) + 12
    right_pad = int(longest * math.cos(math.radians(ROTATION))) + 10
    cells = [
        _cell(a, b, *pair(a, b), x=left + j * CELL, y=top + i * CELL)
        for i, a in enumerate(shown)
        for j, b in enumerate(shown)
        if i != j
    ]
    size = len(shown) * CELL
    return Heatmap(
        width=left + size + right_pad,
        height=top + size + 10,
        cell=CELL,
        rotation=-ROTATION,
        cells=tuple(cells),
        row_labels=tuple(
            HeatLabel(left - 6, top + i * CELL + CELL / 2, label) for i, label in enumerate(labels)
        ),
        column_labels=tuple(
            HeatLabel(left + j * CELL + CELL / 2, top - 6, label) for j, label in enumerate(labels)
        ),
        left_out=len(names) - len(shown),
    )


def _cell(a: str, b: str, share: float | None, battles: int, *, x: int, y: int) -> HeatCell:
    if share is None:
        what = "no battles" if not battles else f"only ties in {battles} battles"
        return HeatCell(
            x,
            y,
            x + CELL / 2,
            y + CELL / 2,
            "#bdbdbd",
            "",
            "#000000",
            f"{a} vs {b}: {what}",
            f"n={battles}" if battles else "",
        )
    title = (
        f"{a} beat {b} in {share:.0%} of their battles without a tie "
        f"({battles} battle{'s' if battles != 1 else ''} in all)"
    )
    text_fill = "#ffffff" if abs(share - 0.5) > 0.3 else "#000000"
    return HeatCell(
        x,
        y,
        x + CELL / 2,
        y + CELL / 2,
        diverging_colour(share),
        f"{share * 100:.0f}%",
        text_fill,
        title,
        f"n={battles}",
    )


_RED, _WHITE, _BLUE = (215, 48, 39), (247, 247, 247), (69, 117, 180)


def diverging_colour(share: float) -> str:
    """0 red, 0.5 near-white, 1 blue (colour-blind safe ends)."""
    share = min(1.0, max(0.0, share))
    start, end, t = (_RED, _WHITE, share * 2) if share < 0.5 else (_WHITE, _BLUE, share * 2 - 1)
    r, g, b = (round(s + (e - s) * t) for s, e in zip(start, end, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def short(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
