"""The tournament report's figures as pure functions of plain numpy data: the head-to-head
heatmap, the per-seed strip plot, the learning curves and the α-Rank response graph.

Every function writes one PNG with matplotlib's Agg backend, under matplotlib's default style
(so that a user's matplotlibrc cannot change the picture) and without the "Software" metadata
(which names the matplotlib version): the same data gives byte-identical files. Figures are
rendered at `DPI` = 100 and laid out to fit the report's ~1400-px page at that size, so text
appears at the point sizes chosen here; the HTML's `max-width: 100%` only shrinks them on a
narrower window. Physical sizes (a heatmap cell, a panel) are fixed and the saved image is
cropped to its content with a fixed padding, so long entrant names grow the image instead of
being clipped or squeezing the plot. Inputs with nothing to draw give a figure that says
"no data" instead of raising.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np

DPI = 100
PALETTE_COLOURS = 256
PAD_INCHES = 0.15
MISSING_CELL_COLOUR = "#dddddd"
STATUS_TEXT_COLOUR = "#555555"
PANEL_COLUMNS = 4
LEGEND_COLUMNS = 6
# A value and its ± interval on two lines need 0.55 in; at 0.62 in, 16 entrants fill a 10-in
# grid that leaves room for the names and the colour bar on a 14-in (1400-px) page.
HEATMAP_CELL_INCHES = 0.62
HEATMAP_TWO_LINE_CELL_INCHES = 0.55
HEATMAP_SMALLEST_CELL_INCHES = 0.4
HEATMAP_GRID_INCHES = 10.0
HEATMAP_MIN_GRID_INCHES = 2.5
PANEL_WIDTH_INCHES = 3.0
PANEL_HEIGHT_INCHES = 2.1
BAND_ALPHA = 0.12
LINE_STYLES = ("-", "--", ":", "-.")

FilePath = str | PathLike[str]


def format_value(value: float, digits: int = 2) -> str:
    """`value` with `digits` decimals, rounded as Python's format does (to the nearest; a
    binary tie to even). A value that rounds to zero prints unsigned ("0.00", never "-0.00");
    NaN and infinities print as Python prints them ("nan", "inf", "-inf")."""
    text = f"{value:.{digits}f}"
    if math.isfinite(value) and float(text) == 0.0:
        return text.lstrip("-")
    return text


def text_colour(background: Sequence[float]) -> str:
    """ "black" or "white", whichever contrasts more (WCAG 2 contrast ratio) with the sRGB
    colour `background`, components in [0, 1] (an alpha component is ignored)."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in background[:3]]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "black" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "white"


def heatmap_cell_inches(n: int) -> float:
    """The side of one heatmap cell at `n` entrants: 0.62 in up to 16 entrants, then shrinking
    to keep the grid within 10 in, but never below 0.4 in (where one line of text still fits;
    beyond 25 entrants the image outgrows the page and the HTML scales it down)."""
    if n <= 0:
        return HEATMAP_CELL_INCHES
    fitted = min(HEATMAP_CELL_INCHES, max(HEATMAP_SMALLEST_CELL_INCHES, HEATMAP_GRID_INCHES / n))
    # few entrants: large cells rather than a postage-stamp figure
    return max(fitted, HEATMAP_MIN_GRID_INCHES / n)


def heatmap_cell_lines(
    value: float, half_width: float, status: str | None, two_lines: bool
) -> list[tuple[str, float, float]]:
    """What a heatmap cell prints, as (text, vertical offset in cells, font size in points)
    lines: the value, and below it "±" its half-width when `two_lines` and both are finite;
    without a finite value, `status` when given; otherwise nothing."""
    if not math.isfinite(value):
        return [(status, 0.0, 7.0 if two_lines else 6.0)] if status else []
    if two_lines and math.isfinite(half_width):
        return [(format_value(value), -0.12, 8.0), ("±" + format_value(half_width), 0.22, 7.0)]
    return [(format_value(value), 0.0, 8.0 if two_lines else 7.0)]


def value_range(values: np.ndarray, center: float | None) -> tuple[float, float]:
    """The colour scale's (low, high) for `values` (NaN ignored): the finite extremes, or
    symmetric about `center` when given so that equal distances from it get equal colour
    strength; widened when degenerate (no finite value, or all equal)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if center is not None:
        span = float(np.max(np.abs(finite - center))) if finite.size else 0.0
        span = span if span > 0 else 1.0
        return center - span, center + span
    if not finite.size:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def opponent_styles(order: Sequence[str]) -> dict[str, tuple[tuple[float, ...], str]]:
    """A (colour, line style) per entrant, the same in every panel and figure: tab20's ten
    dark shades first, then its ten light ones (so neighbours in `order` differ in hue), then
    the same colours again with other line styles past 20 entrants."""
    import matplotlib

    palette = matplotlib.colormaps["tab20"].colors
    colours = [*palette[0::2], *palette[1::2]]
    return {
        name: (
            tuple(colours[k % len(colours)]),
            LINE_STYLES[(k // len(colours)) % len(LINE_STYLES)],
        )
        for k, name in enumerate(order)
    }


@dataclass(frozen=True)
class Curve:
    """One learning curve: at each of `iterations` (1-based), the `mean` over seeds and its 95%
    half-width `half_width` (NaN where unknown: no band is drawn there)."""

    iterations: np.ndarray
    mean: np.ndarray
    half_width: np.ndarray


@dataclass(frozen=True)
class StripCell:
    """One head-to-head cell of the strip plot: the row entrant's points against `column`
    (its index in the order), at horizontal positions `x` and values `y` (finite seeds only),
    and their `mean` (NaN without a finite seed)."""

    row: str
    column: str
    column_index: int
    x: np.ndarray
    y: np.ndarray
    mean: float


def strip_points(
    order: Sequence[str],
    per_seed: Mapping[tuple[str, str], np.ndarray],
    jitter: float = 0.3,
    seed: int = 0,
) -> list[StripCell]:
    """The strip plot's points, cell by cell in `order` (rows, then columns), for the cells in
    `per_seed`. A cell's k finite seeds sit at evenly spaced offsets in [-jitter, +jitter]
    around its column index, so no two share a position, in an order shuffled by a Generator
    seeded with (seed, row index, column index): deterministic, independent of the other
    cells, and uncorrelated with seed order. NaN seeds (failed runs) are left out."""
    cells = []
    for i, row in enumerate(order):
        for j, column in enumerate(order):
            if (row, column) not in per_seed:
                continue
            values = np.asarray(per_seed[row, column], dtype=float).ravel()
            values = values[np.isfinite(values)]
            offsets = np.linspace(-jitter, jitter, values.size) if values.size > 1 else np.zeros(1)
            offsets = np.random.default_rng((seed, i, j)).permutation(offsets[: values.size])
            mean = float(values.mean()) if values.size else math.nan
            cells.append(StripCell(row, column, j, j + offsets, values, mean))
    return cells


def circle_layout(n: int) -> np.ndarray:
    """[n, 2] positions on the unit circle, the first at the top and the rest clockwise;
    a single node sits at the origin."""
    if n == 1:
        return np.zeros((1, 2))
    angles = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(angles), np.sin(angles)], axis=-1)


def heatmap_png(
    path: FilePath,
    title: str,
    order: Sequence[str],
    values: np.ndarray,
    half_widths: np.ndarray,
    value_label: str,
    statuses: Sequence[Sequence[str | None]] | None = None,
    center: float | None = None,
) -> None:
    """Write the head-to-head heatmap of `values` [n, n] (row entrant `order[i]` against
    column entrant `order[j]`, NaN where missing) to `path` as a PNG.

    Each cell prints its value (`format_value`) and, up to 16 entrants (cells of at least
    0.55 in), its 95% half-width `half_widths[i, j]` on a second, smaller line ("±0.05";
    omitted where NaN); beyond, the value alone. A cell without a value prints
    `statuses[i][j]` (e.g. "n/a", "failed") when given. Text is black or white, whichever
    contrasts more with its cell. With `center` (e.g. 0 for a zero-sum game) the colour map
    is diverging (red below, blue above) and symmetric about it; otherwise sequential
    (viridis). The colour bar is labelled `value_label`.

    Size: 0.62-in cells at 100 dpi, so 16 entrants give a ~10-in (1000-px) grid and, with
    names such as "advantage_alignment", an image of about 1300 px: it fits the 1400-px
    page unscaled. Raises ValueError when the shapes do not match `order`.
    """
    n = len(order)
    values = np.asarray(values, dtype=float)
    half_widths = np.asarray(half_widths, dtype=float)
    if values.shape != (n, n) or half_widths.shape != (n, n):
        raise ValueError(
            f"values {values.shape} and half_widths {half_widths.shape} must both be ({n}, {n})"
        )
    if statuses is not None and (len(statuses) != n or any(len(row) != n for row in statuses)):
        raise ValueError(f"statuses must be {n} rows of {n} entries")
    if n == 0:
        _no_data_png(path, title)
        return
    import matplotlib

    plt = _pyplot()
    cell = heatmap_cell_inches(n)
    grid = n * cell
    two_lines = cell >= HEATMAP_TWO_LINE_CELL_INCHES
    with plt.style.context("default"):
        # axes placed in inches so that a cell's size never depends on the names' lengths;
        # the tight bounding box at save time takes in the labels around them
        width, height = grid + 1.0, grid + 0.2
        figure = plt.figure(figsize=(width, height))
        try:
            axis = figure.add_axes((0.0, 0.0, grid / width, grid / height))
            bar_axis = figure.add_axes(((grid + 0.2) / width, 0.0, 0.2 / width, grid / height))
            if center is None:
                cmap = matplotlib.colormaps["viridis"]
            else:
                cmap = matplotlib.colormaps["RdBu"]
            cmap = cmap.with_extremes(bad=MISSING_CELL_COLOUR)
            low, high = value_range(values, center)
            norm = matplotlib.colors.Normalize(vmin=low, vmax=high)
            image = axis.imshow(
                np.ma.masked_invalid(values), cmap=cmap, norm=norm, interpolation="nearest"
            )
            colour_bar = figure.colorbar(image, cax=bar_axis)
            colour_bar.set_label(value_label, fontsize=10)
            colour_bar.ax.tick_params(labelsize=8)
            axis.set_xticks(range(n), order, rotation=45, ha="right", rotation_mode="anchor")
            axis.set_yticks(range(n), order)
            axis.tick_params(labelsize=9, length=2)
            # white lines between cells, so that neighbouring cells of similar colour separate
            axis.set_xticks(np.arange(n + 1) - 0.5, minor=True)
            axis.set_yticks(np.arange(n + 1) - 0.5, minor=True)
            axis.grid(which="minor", color="white", linewidth=1.0)
            axis.tick_params(which="minor", length=0)
            for spine in axis.spines.values():
                spine.set_visible(False)
            axis.set_xlabel("column player", fontsize=10)
            axis.set_ylabel("row player", fontsize=10)
            axis.set_title(title, fontsize=11)
            for i in range(n):
                for j in range(n):
                    status = statuses[i][j] if statuses is not None else None
                    lines = heatmap_cell_lines(values[i, j], half_widths[i, j], status, two_lines)
                    if np.isfinite(values[i, j]):
                        colour, style = text_colour(cmap(norm(values[i, j]))), "normal"
                    else:
                        colour, style = STATUS_TEXT_COLOUR, "italic"
                    for text, offset, size in lines:
                        axis.text(
                            j,
                            i + offset,
                            text,
                            ha="center",
                            va="center",
                            fontsize=size,
                            color=colour,
                            style=style,
                        )
            _save(figure, path)
        finally:
            plt.close(figure)


def strip_plot_png(
    path: FilePath,
    title: str,
    order: Sequence[str],
    per_seed: Mapping[tuple[str, str], np.ndarray],
    value_label: str,
) -> None:
    """Write the per-seed spread of every head-to-head cell to `path` as a PNG.

    `per_seed` maps (row entrant, column entrant) to a 1-D float array with one value per
    seed (NaN seeds are left out). One panel per row entrant (in `order`, those with at
    least one cell), up to 4 per line, opponents along x in `order`: each seed is a point at
    a deterministic horizontal offset (`strip_points`) in the opponent's colour, the mean
    over seeds a black bar, so a cell whose seeds split (half cooperate, half defect) shows
    two clusters. Panels share the value axis, labelled `value_label`.

    Size: 3.0 x 2.1-in panels at 100 dpi; about 1280 px wide with 4 columns (16 entrants:
    about 1280 x 1060 px).
    """
    cells = strip_points(order, per_seed)
    rows = list(dict.fromkeys(cell.row for cell in cells))
    if not rows:
        _no_data_png(path, title)
        return
    styles = opponent_styles(order)
    legend = [
        _legend_line(("#777777", ""), marker="o", linewidth=0, markersize=4, label="one seed"),
        _legend_line(("black", "-"), linewidth=1.4, label="mean over seeds"),
    ]
    # the opponents' names stand rotated under each column's lowest panel
    below = 0.07 * max(len(name) for name in order)
    with _panel_figure(path, title, legend, None, len(rows), below) as panels:
        for (axis, first_column, _), row in zip(panels, rows, strict=True):
            axis.set_title(row, fontsize=9)
            for cell in (cell for cell in cells if cell.row == row):
                colour = styles[cell.column][0]
                axis.scatter(cell.x, cell.y, s=9, color=colour, alpha=0.85, linewidths=0)
                if np.isfinite(cell.mean):
                    axis.hlines(
                        cell.mean,
                        cell.column_index - 0.4,
                        cell.column_index + 0.4,
                        color="black",
                        linewidth=1.4,
                    )
            axis.set_xlim(-0.6, len(order) - 0.4)
            axis.set_xticks(range(len(order)), order, rotation=90, fontsize=7)
            axis.grid(axis="y", alpha=0.3, linewidth=0.5)
            axis.tick_params(axis="y", labelsize=7)
            if first_column:
                axis.set_ylabel(value_label, fontsize=8)


def learning_curves_png(
    path: FilePath,
    title: str,
    order: Sequence[str],
    curves: Mapping[tuple[str, str], Curve],
    value_label: str,
) -> None:
    """Write how every head-to-head cell unfolded over the learning iterations to `path`.

    `curves` maps (row entrant, column entrant) to the row's `Curve` against the column. One
    panel per row entrant (in `order`, those with at least one curve), up to 4 per line: a
    line per opponent in the opponent's colour and style (`opponent_styles`, shared with the
    strip plot and named in one legend), its 95% band shaded. Panels share both axes, the
    value axis labelled `value_label`, so panels compare at a glance.

    Size: 3.0 x 2.1-in panels at 100 dpi; about 1280 px wide with 4 columns.
    """
    rows = [row for row in order if any((row, column) in curves for column in order)]
    if not rows:
        _no_data_png(path, title)
        return
    styles = opponent_styles(order)
    opponents = [c for c in order if any((row, c) in curves for row in rows)]
    legend = [_legend_line(styles[name], linewidth=1.4, label=name) for name in opponents]
    legend_title = "against (line colour and style)"
    with _panel_figure(path, title, legend, legend_title, len(rows), 0.35) as panels:
        for (axis, first_column, lowest), row in zip(panels, rows, strict=True):
            axis.set_title(row, fontsize=9)
            for column in order:
                curve = curves.get((row, column))
                if curve is None:
                    continue
                colour, line_style = styles[column]
                x = np.asarray(curve.iterations, dtype=float)
                mean = np.asarray(curve.mean, dtype=float)
                half = np.asarray(curve.half_width, dtype=float)
                axis.plot(x, mean, color=colour, linestyle=line_style, linewidth=1.1)
                axis.fill_between(
                    x, mean - half, mean + half, color=colour, alpha=BAND_ALPHA, linewidth=0
                )
            axis.grid(alpha=0.3, linewidth=0.5)
            axis.tick_params(labelsize=7)
            if first_column:
                axis.set_ylabel(value_label, fontsize=8)
            if lowest:
                axis.set_xlabel("learning iteration", fontsize=8)


def response_graph_png(
    path: FilePath,
    title: str,
    order: Sequence[str],
    masses: Mapping[str, float],
    edges: Sequence[tuple[str, str, float]],
) -> None:
    """Write the α-Rank response graph to `path` as a PNG.

    Entrants are nodes on a circle (`circle_layout`, `order[0]` at the top, then
    clockwise), each sized and coloured by its stationary mass `masses[name]` (grey and
    small when missing or NaN) and labelled with its name and mass. Each edge
    (from, to, fixation probability) in `edges` is an arrow from `from` to `to`, wider and
    more opaque the likelier it is; arrows curve slightly so that the two directions of a
    pair stay apart. Edges with a NaN probability and self-loops are not drawn. Raises
    ValueError for an edge naming an entrant not in `order`.

    Size: an 8-in figure at 100 dpi; about 930 x 800 px with the labels and colour bar.
    """
    index = {name: k for k, name in enumerate(order)}
    unknown = sorted({name for a, b, _ in edges for name in (a, b) if name not in index})
    if unknown:
        raise ValueError(f"edges name entrants not in the order: {unknown}")
    if not order:
        _no_data_png(path, title)
        return
    import matplotlib
    from matplotlib.patches import FancyArrowPatch

    plt = _pyplot()
    positions = circle_layout(len(order))
    mass = np.array([float(masses.get(name, math.nan)) for name in order])
    known = np.isfinite(mass)
    largest = float(mass[known].max()) if known.any() and mass[known].max() > 0 else 1.0
    # marker area in points²: small masses stay visible, the largest is a big disc
    sizes = np.where(known, 250 + 1500 * np.clip(mass, 0, None) / largest, 250)
    radii = np.sqrt(sizes) / 2
    with plt.style.context("default"):
        figure = plt.figure(figsize=(8.0, 8.0))
        try:
            axis = figure.add_axes((0.0, 0.0, 0.9, 0.9))
            bar_axis = figure.add_axes((0.93, 0.15, 0.025, 0.6))
            cmap = matplotlib.colormaps["viridis"]
            norm = matplotlib.colors.Normalize(vmin=0.0, vmax=largest)
            drawn = [
                (float(np.clip(p, 0, 1)), index[a], index[b])
                for a, b, p in edges
                if a != b and np.isfinite(p)
            ]
            # likelier edges drawn last, on top; ties in a fixed order
            for probability, a, b in sorted(drawn):
                axis.add_patch(
                    FancyArrowPatch(
                        tuple(positions[a]),
                        tuple(positions[b]),
                        arrowstyle="-|>",
                        mutation_scale=8 + 8 * probability,
                        linewidth=0.5 + 2.5 * probability,
                        alpha=0.2 + 0.7 * probability,
                        color="#333333",
                        connectionstyle="arc3,rad=0.12",
                        shrinkA=radii[a] + 1,
                        shrinkB=radii[b] + 2,
                        zorder=1,
                    )
                )
            colours = [cmap(norm(m)) if np.isfinite(m) else MISSING_CELL_COLOUR for m in mass]
            axis.scatter(
                positions[:, 0],
                positions[:, 1],
                s=sizes,
                c=colours,
                edgecolors="black",
                linewidths=0.8,
                zorder=2,
            )
            # labels just outside each node, whatever its size: the axes span 0.9 of the 8-in
            # figure for 2.5 data units
            points_per_unit = 0.9 * 8.0 * 72 / 2.5
            for k, name in enumerate(order):
                x, y = positions[k]
                label = f"{name}\n{format_value(mass[k], 3) if known[k] else 'no mass'}"
                if len(order) == 1:
                    x, horizontal, vertical = x + (radii[k] + 6) / points_per_unit, "left", "center"
                else:
                    x, y = positions[k] * (1 + (radii[k] + 6) / points_per_unit)
                    horizontal = "left" if x > 0.2 else "right" if x < -0.2 else "center"
                    vertical = "bottom" if y > 0.2 else "top" if y < -0.2 else "center"
                axis.text(x, y, label, ha=horizontal, va=vertical, fontsize=9, linespacing=1.1)
            axis.set_xlim(-1.25, 1.25)
            axis.set_ylim(-1.25, 1.25)
            axis.set_aspect("equal")
            axis.axis("off")
            axis.set_title(title, fontsize=12)
            colour_bar = figure.colorbar(
                matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), cax=bar_axis
            )
            colour_bar.set_label("α-Rank stationary mass", fontsize=9)
            colour_bar.ax.tick_params(labelsize=8)
            legend = [
                _legend_line(
                    ("#333333", "-"),
                    linewidth=0.5 + 2.5 * p,
                    alpha=0.2 + 0.7 * p,
                    label=f"fixation probability {p:g}",
                )
                for p in (0.25, 0.5, 1.0)
            ]
            axis.legend(
                handles=legend,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.01),
                ncols=len(legend),
                fontsize=8,
                frameon=False,
            )
            _save(figure, path)
        finally:
            plt.close(figure)


def _legend_line(style: tuple[Any, str], **properties: Any) -> Any:
    """A legend handle: a line of colour and line style `style`, with other `properties`."""
    from matplotlib.lines import Line2D

    colour, line_style = style
    return Line2D([], [], color=colour, linestyle=line_style or "none", **properties)


def _pyplot() -> Any:
    # imported here: matplotlib takes a second to import and only reports draw figures
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: FilePath) -> None:
    """Write `figure` as a 256-colour palette PNG: a third of the size of matplotlib's RGBA
    file (a report has some 30 figures, committed with the leaderboard), indistinguishable for
    flat-coloured plots; median-cut without dithering is deterministic, so the same figure
    gives the same bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    figure.savefig(
        buffer,
        format="png",
        dpi=DPI,
        bbox_inches="tight",
        pad_inches=PAD_INCHES,
        metadata={"Software": None},
    )
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(
            colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    palette.save(path, format="PNG", optimize=True)


def _no_data_png(path: FilePath, title: str) -> None:
    plt = _pyplot()
    with plt.style.context("default"):
        figure = plt.figure(figsize=(5.0, 1.5))
        try:
            figure.suptitle(title, fontsize=12)
            figure.text(0.5, 0.4, "no data", ha="center", va="center", fontsize=11, color="#555555")
            _save(figure, path)
        finally:
            plt.close(figure)


def _header_inches(entries: int, columns: int) -> float:
    """The height of a figure's header: its title, and a legend of `entries` in `columns`."""
    return 0.45 + 0.2 * math.ceil(entries / columns)


def _header(
    container: Any, title: str, handles: list[Any], legend_title: str | None = None
) -> None:
    """The figure's title and its one shared legend, centred in the header subfigure (a
    figure legend "outside" the panels would overlap the title under constrained layout)."""
    container.suptitle(title, fontsize=12)
    container.legend(
        handles=handles,
        loc="lower center",
        ncols=min(LEGEND_COLUMNS, len(handles)),
        fontsize=8,
        frameon=False,
        title=legend_title,
        title_fontsize=8,
    )


@contextmanager
def _panel_figure(
    path: FilePath,
    title: str,
    legend: list[Any],
    legend_title: str | None,
    count: int,
    below_inches: float,
) -> Iterator[list[tuple[Any, bool, bool]]]:
    """A figure of `count` panels of PANEL_WIDTH x PANEL_HEIGHT inches, up to PANEL_COLUMNS
    to a line, under a header with the title and one shared legend, with `below_inches` kept
    under the grid for tick labels; yields `_panels`' list and saves the figure to `path`."""
    plt = _pyplot()
    columns = min(PANEL_COLUMNS, count)
    header_inches = _header_inches(len(legend), LEGEND_COLUMNS) + (0.2 if legend_title else 0)
    part_inches = math.ceil(count / columns) * PANEL_HEIGHT_INCHES + below_inches
    with plt.style.context("default"):
        figure = plt.figure(
            figsize=(columns * PANEL_WIDTH_INCHES + 0.6, header_inches + part_inches),
            layout="constrained",
        )
        try:
            header, body = figure.subfigures(2, 1, height_ratios=[header_inches, part_inches])
            _header(header, title, legend, legend_title)
            yield _panels(body, count, columns)
            _save(figure, path)
        finally:
            plt.close(figure)


def _panels(container: Any, count: int, columns: int) -> list[tuple[Any, bool, bool]]:
    """`count` axes on a grid of `columns` sharing both axes, each with whether it is in the
    first column and whether it is its column's lowest: unused slots are removed, and x tick
    labels stand under each column's lowest panel (the grid's last line may be short)."""
    grid_rows = math.ceil(count / columns)
    axes = container.subplots(grid_rows, columns, sharex=True, sharey=True, squeeze=False)
    panels = []
    for k, axis in enumerate(axes.flat):
        if k >= count:
            axis.remove()
            continue
        first_column, lowest = k % columns == 0, k + columns >= count
        axis.tick_params(labelbottom=lowest, labelleft=first_column)
        panels.append((axis, first_column, lowest))
    return panels
