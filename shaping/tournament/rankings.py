"""The overall ranking: per-game scores standardised across the field, averaged over games, with
a bootstrap interval over seeds and ties where the difference is inside the noise.

Why standardised scores. Payoff-normalised scores (mutual defection 0, mutual cooperation 1)
let a game with a narrow reference span decide the order (the coin game's span is 0.335 per
step, so its scores run from -0.45 to 1.1), and rank normalisation turns differences inside
the intervals into whole steps. Standardising each game's field means across its entrants
(mean 0, standard deviation 1) gives every game the same spread in the overall score,
whatever its payoff units, and keeps the size of real differences.

The interval: every match's per-seed (in the league, per-agent) values are resampled with
replacement, `DRAWS` times with a fixed seed (the report is reproducible), and the whole
computation (field means, standardisation, mean over games) is repeated per draw; the
interval is the draws' 2.5-97.5 percentiles. Two entrants are tied unless one is ahead of the
other in at least 97.5% of the draws; an entrant's rank is 1 + the number of entrants ahead of
it in that sense, so tied entrants share a rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: bootstrap draws of the overall score
DRAWS = 1000
#: one-sided level at which one entrant is ahead of another (a 95% two-sided interval)
AHEAD_LEVEL = 0.975
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class GameScores:
    """One game's field means, their bootstrap draws and their standardised forms."""

    names: list[str]
    #: field mean per entrant [n] and its draws [DRAWS, n]
    field: np.ndarray
    field_draws: np.ndarray

    def standardised(self) -> tuple[np.ndarray, np.ndarray]:
        """(point [n], draws [DRAWS, n]) standardised across entrants within each draw."""
        return standardise(self.field), standardise(self.field_draws)


def standardise(values: np.ndarray) -> np.ndarray:
    """`values` [..., n] less their mean over entrants, over their standard deviation (all
    zeros when the entrants do not differ)."""
    centred = values - values.mean(axis=-1, keepdims=True)
    spread = values.std(axis=-1, keepdims=True)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 1e-12)


def game_scores(
    samples: dict[str, list[np.ndarray]], rng: np.random.Generator, draws: int = DRAWS
) -> GameScores:
    """Field means of entrants with data (`samples`: entrant -> one array of per-seed values
    per opponent) and their bootstrap draws, resampling each array's seeds independently."""
    names = [name for name, arrays in samples.items() if arrays]
    field = np.array([np.mean([a.mean() for a in samples[name]]) for name in names])
    field_draws = np.empty((draws, len(names)))
    for column, name in enumerate(names):
        per_opponent = [
            values[rng.integers(0, values.shape[0], (draws, values.shape[0]))].mean(axis=1)
            for values in samples[name]
        ]
        field_draws[:, column] = np.mean(per_opponent, axis=0)
    return GameScores(names, field, field_draws)


@dataclass(frozen=True)
class OverallEntry:
    algorithm: str
    score: float
    low: float
    high: float
    rank: int
    #: entrants not distinguishable from this one (neither ahead in AHEAD_LEVEL of the draws)
    tied_with: list[str]
    #: game -> standardised score on it
    games: dict[str, float]


def overall_ranking(games: dict[str, GameScores]) -> list[OverallEntry]:
    """Entrants by their mean standardised score over the games they have data on, with a
    bootstrap interval, ranks and ties (see the module docstring); best first."""
    names = sorted({name for scores in games.values() for name in scores.names})
    index = {name: i for i, name in enumerate(names)}
    draws = next(iter(games.values())).field_draws.shape[0] if games else 0
    total = np.zeros(len(names))
    total_draws = np.zeros((draws, len(names)))
    counts = np.zeros(len(names))
    per_game: dict[str, dict[str, float]] = {name: {} for name in names}
    for game, scores in games.items():
        point, sampled = scores.standardised()
        columns = [index[name] for name in scores.names]
        total[columns] += point
        total_draws[:, columns] += sampled
        counts[columns] += 1
        for name, value in zip(scores.names, point, strict=True):
            per_game[name][game] = float(value)
    score, score_draws = total / counts, total_draws / counts
    ahead = (score_draws[:, :, None] > score_draws[:, None, :]).mean(axis=0) >= AHEAD_LEVEL
    low, high = np.percentile(score_draws, [2.5, 97.5], axis=0)
    entries = [
        OverallEntry(
            algorithm=name,
            score=float(score[i]),
            low=float(low[i]),
            high=float(high[i]),
            rank=1 + int(ahead[:, i].sum()),
            tied_with=[
                other
                for j, other in enumerate(names)
                if j != i and not ahead[i, j] and not ahead[j, i]
            ],
            games=per_game[name],
        )
        for i, name in enumerate(names)
    ]
    return sorted(entries, key=lambda entry: (entry.rank, -entry.score, entry.algorithm))


# --- meta-game rankings of one section's head-to-head table ---------------------------------


def metagame_rankings(section: dict[str, Any]) -> dict[str, Any]:
    """α-Rank (OpenSpiel's α sweep, and the α → ∞ limit), Nash averaging and replicator
    dynamics of a section's head-to-head reward table H[x][y] (x's reward against y, pooled
    over both seats: a symmetric meta-game), over the largest set of entrants with every
    cell; entrants with missing cells are listed in `left_out`. JSON-friendly."""
    from shaping.tournament import metagame

    names = [entry["algorithm"] for entry in section["ranking"]]
    cells = section["head_to_head"]
    table = np.array(
        [
            [
                np.nan
                if (cells[x][y].get("reward") or {}).get("mean") is None
                else cells[x][y]["reward"]["mean"]
                for y in names
            ]
            for x in names
        ],
        dtype=np.float64,
    )
    complete = metagame.complete_subtable(names, table)
    kept, table = complete.names, complete.restrict(table)
    result: dict[str, Any] = {"entrants": kept, "left_out": complete.left_out}
    if len(kept) < 2:
        return result | {"unavailable": "fewer than two entrants with every cell"}
    try:
        swept = metagame.alpha_rank(kept, table)
        limit = metagame.alpha_rank(kept, table, alpha=math.inf)
        nash = metagame.nash_average(kept, table)
        replicator = metagame.replicator_dynamics(kept, table)
    except metagame.MetagameDependencyError as error:
        return result | {"unavailable": str(error)}
    result["alpharank"] = {
        "mass": _rounded(swept.mass),
        "alpha": swept.alpha,
        "m": swept.m,
        "limit_mass": _rounded(limit.mass),
        "response_graph": [
            [edge.resident, edge.mutant, round(edge.fixation_probability, 6)]
            for edge in swept.response_graph
        ],
    }
    result["nash_averaging"] = {
        name: {
            "mass": round(nash.equilibrium[name], 6),
            "nash_average": round(nash.nash_average[name], 6),
        }
        for name in kept
    }
    result["replicator"] = _rounded(replicator.share)
    result["agreement"] = _agreement(names, result)
    return result


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(float(value), 6) for name, value in values.items()}


def _order(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda name: (-scores[name], name))


def _agreement(payoff_order: list[str], result: dict[str, Any]) -> str:
    """One sentence: the leader under each ranking, and the entrants whose place under α-Rank
    or Nash averaging differs from the mean-payoff place by three or more."""
    kept = result["entrants"]
    payoff = [name for name in payoff_order if name in kept]
    orders = {
        "mean payoff": payoff,
        "α-Rank": _order(result["alpharank"]["mass"]),
        "Nash averaging": _order(
            {name: value["nash_average"] for name, value in result["nash_averaging"].items()}
        ),
        "replicator dynamics": _order(result["replicator"]),
    }
    leaders = {method: order[0] for method, order in orders.items()}
    if len(set(leaders.values())) == 1:
        text = f"All four rankings put {payoff[0]} first"
    else:
        text = "First place: " + ", ".join(f"{m} {name}" for m, name in leaders.items())
    moved = []
    for method in ("α-Rank", "Nash averaging"):
        for name in kept:
            shift = payoff.index(name) - orders[method].index(name)
            if abs(shift) >= 3:
                moved.append(f"{name} {'up' if shift > 0 else 'down'} {abs(shift)} under {method}")
    if moved:
        text += (
            "; the meta-game rankings move "
            + ", ".join(moved)
            + " (they weigh whom an entrant beats, not its average over a field that"
            " counts every entrant once)"
        )
    return text + "."
