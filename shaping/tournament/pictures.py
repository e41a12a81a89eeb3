"""The report's figures, from the leaderboard and the stored learning curves (no
recomputation): per game and per league game, the head-to-head heatmaps (reward, and each
behaviour metric), the per-seed strip plot and the α-Rank response graph; per game, the
learning curves of every learning-together pair (reward, and each behaviour metric). The
functions of shaping.tournament.figures draw them.

    files = write_figures(out, board, plan, curves)   # section -> [(file name, caption)]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shaping.league.plan import LEARNING_TOGETHER
from shaping.tournament import figures

#: the behaviour metrics by the name a reader knows them by
METRIC_LABELS = {"cooperation": "P(cooperate)", "own_coin_ratio": "own-coin ratio"}


def metric_label(section: dict[str, Any], metric: str) -> str:
    """A metric's name on this game: action 0's probability is P(heads) on a zero-sum game
    such as matching pennies, which has no cooperation."""
    if metric == "cooperation" and section.get("normalisation") == "rank":
        return "P(heads)"
    return METRIC_LABELS.get(metric, metric)


def _cell_arrays(section: dict[str, Any], metric: str | None) -> tuple[np.ndarray, ...]:
    order = section["order"]
    values = np.full((len(order), len(order)), np.nan)
    halves = np.full_like(values, np.nan)
    statuses = [[None] * len(order) for _ in order]
    for i, x in enumerate(order):
        for j, y in enumerate(order):
            cell = section["head_to_head"][x][y]
            stat = (cell.get("metrics", {}).get(metric) if metric else cell.get("reward")) or {}
            if stat.get("mean") is not None:
                values[i, j] = stat["mean"]
                halves[i, j] = np.nan if stat.get("ci95") is None else stat["ci95"]
            else:
                statuses[i][j] = cell["status"] if cell["status"] != "ok" else "—"
    return values, halves, statuses


def pair_curves(
    keys: dict[tuple[str, str], str], curves: dict[str, Any], order: list[str], metric: str | None
) -> dict[tuple[str, str], figures.Curve]:
    """Row X's learning curve against column Y (reward, or `metric`), from the stored curves
    (match key -> match_curve) of the matches `keys` names ((seat a, seat b) -> match key), as
    the head-to-head cell reads them: the mean of X's two seatings (against itself, of its two
    seats). The 95% half-width of that mean is sqrt(h1² + h2²) / 2 over the independent
    matches of the two seatings, and (h1 + h2) / 2 over the two seats of one self-play match,
    whose seats are not independent. A seating without a stored curve, or with other
    iterations than the first, is left out; a pair with none has no curve."""

    def seat_band(key: str | None, seat: int) -> tuple[np.ndarray, ...] | None:
        curve = curves.get(key) if key is not None else None
        if curve is None:
            return None
        band = curve["reward"] if metric is None else curve["metrics"].get(metric)
        if band is None:
            return None
        mean = np.asarray(band["mean"], dtype=float)[:, seat]
        half = np.asarray(band["ci95"], dtype=float)[:, seat]
        return np.asarray(curve["iterations"], dtype=float), mean, half

    pairs = {}
    for x in order:
        for y in order:
            if x == y:
                seats = [seat_band(keys.get((x, x)), seat) for seat in (0, 1)]
            else:
                seats = [seat_band(keys.get((x, y)), 0), seat_band(keys.get((y, x)), 1)]
            seats = [s for s in seats if s is not None]
            seats = [s for s in seats if np.array_equal(s[0], seats[0][0])]
            if not seats:
                continue
            mean = np.mean([s[1] for s in seats], axis=0)
            if len(seats) == 1:
                half = seats[0][2]
            elif x == y:
                half = (seats[0][2] + seats[1][2]) / 2
            else:
                half = np.sqrt(seats[0][2] ** 2 + seats[1][2] ** 2) / 2
            pairs[x, y] = figures.Curve(seats[0][0], mean, half)
    return pairs


def _curve_figures(
    out: Path,
    game: str,
    section: dict[str, Any],
    keys: dict[tuple[str, str], str],
    curves: dict[str, Any],
) -> list[tuple[str, str]]:
    """A game's learning curves, one figure for the reward and one per behaviour metric;
    none where no curve is stored (reports rebuilt from a summary of format 1)."""
    order = section["order"]
    written = []
    for metric in [None, *section["metrics"]]:
        pairs = pair_curves(keys, curves, order, metric)
        if not pairs:
            continue
        label = "reward per step" if metric is None else metric_label(section, metric)
        name = f"learning_{game}.png" if metric is None else f"learning_{game}_{metric}.png"
        figures.learning_curves_png(
            out / name, f"{game}: row's {label} while learning", order, pairs, label
        )
        written.append(
            (
                name,
                f"{game}: the row's {label} against each column over the learning iterations "
                "(mean over seeds and both seatings, 95% band)",
            )
        )
    return written


def _section_figures(
    out: Path, prefix: str, title: str, section: dict[str, Any]
) -> list[tuple[str, str]]:
    """Heatmaps, strip plot and response graph of one section; (file, caption) each."""
    order = section["order"]
    written = []
    center = 0.0 if section.get("normalisation") == "rank" else None
    values, halves, statuses = _cell_arrays(section, None)
    name = f"heatmap_{prefix}.png"
    figures.heatmap_png(
        out / name,
        f"{title}: row's reward per step",
        order,
        values,
        halves,
        "reward per step",
        statuses,
        center,
    )
    written.append((name, f"{title}: the row's reward per step against the column (± 95%)"))
    for metric in section["metrics"]:
        label = metric_label(section, metric)
        values, halves, statuses = _cell_arrays(section, metric)
        name = f"heatmap_{prefix}_{metric}.png"
        figures.heatmap_png(
            out / name, f"{title}: row's {label}", order, values, halves, label, statuses
        )
        written.append((name, f"{title}: the row's {label} against the column"))
    per_seed = {
        (x, y): np.asarray(
            [np.nan if v is None else v for v in section["head_to_head"][x][y]["reward_per_seed"]]
        )
        for x in order
        for y in order
        if "reward_per_seed" in section["head_to_head"][x][y]
    }
    name = f"strip_{prefix}.png"
    figures.strip_plot_png(out / name, f"{title}: per seed", order, per_seed, "reward per step")
    written.append((name, f"{title}: every seed's reward per step, per cell (bar: the mean)"))
    alpharank = section.get("metagame", {}).get("alpharank")
    if alpharank is not None:
        name = f"response_graph_{prefix}.png"
        edges = [tuple(edge) for edge in alpharank["response_graph"]]
        kept = [n for n in order if n in alpharank["mass"]]
        figures.response_graph_png(
            out / name, f"{title}: α-Rank response graph", kept, alpharank["mass"], edges
        )
        written.append((name, f"{title}: α-Rank response graph (resident → mutant that fixates)"))
    return written


def write_figures(
    out: Path, board: dict[str, Any], plan: dict[str, Any], curves: dict[str, Any]
) -> dict[str, list[tuple[str, str]]]:
    """Write every figure into `out`, the learning curves from `curves` (match key ->
    match_curve) of the plan's learning-together matches; section ("<game>" or
    "league:<game>") -> its (file name, caption) pairs, in reading order."""
    written: dict[str, list[tuple[str, str]]] = {}
    for game, section in board["games"].items():
        keys = {
            (cell["a"], cell["b"]): cell["key"]
            for cell in plan["cells"]
            if cell["game"] == game
            and cell["key"] is not None
            and cell.get("section", LEARNING_TOGETHER) == LEARNING_TOGETHER
        }
        written[game] = _section_figures(out, game, game, section)
        written[game] += _curve_figures(out, game, section, keys, curves)
    for game, section in board.get("league", {}).items():
        written[f"league:{game}"] = _section_figures(
            out, f"league_{game}", f"league {game}", section
        )
    return written
