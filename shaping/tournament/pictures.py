"""The report's figures, from the leaderboard and the stored learning curves (no
recomputation): per game and per league game, the head-to-head heatmaps (reward, and each
behaviour metric), the per-seed strip plot and the α-Rank response graph; per game, the
figures of shaping.tournament.figures draw them.

    files = write_figures(out, board)   # section -> [(file name, caption)]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

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


def write_figures(out: Path, board: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Write every figure into `out`; section ("<game>" or "league:<game>") -> its
    (file name, caption) pairs, in reading order."""
    written: dict[str, list[tuple[str, str]]] = {}
    for game, section in board["games"].items():
        written[game] = _section_figures(out, game, game, section)
    for game, section in board.get("league", {}).items():
        written[f"league:{game}"] = _section_figures(
            out, f"league_{game}", f"league {game}", section
        )
    return written
