"""The leaderboard, rebuilt from a tournament's result store alone (`shaping report DIR`).

Definitions (also printed in the report):

* Reward per step of a match, per seed: each player's mean reward per step over the final
  window, the last 10% of the learning iterations (at least one): where learners ended up,
  not the average of their learning curve.
* Head-to-head H[X, Y], X's reward per step against Y: X plays Y in both seatings (X in seat a
  against Y in seat b, and Y in seat a against X in seat b); per seed, H is the mean of X's
  rewards in the two seatings. Against itself, X's one self-play match counts both seats.
  Mean and 95% Student-t interval over seeds.
* Social welfare of a pair: the sum of both players' reward per step, averaged over the
  seatings the same way. Behaviour: the row player's own metric against the column
  (cooperation = probability of action 0 weighted by discounted state visitation, on matrix
  games; own-coin ratio = own-colour coins / all coins taken, on the coin game).
* Ranking on a game: by mean reward against the field, the mean of H[X, Y] over every
  entrant Y that can play the game (X itself included), per seed, then over seeds.
* Overall ranking: the mean over the games X plays of its normalised field score. Per game,
  0 = the mutual-defection payoff and 1 = the mutual-cooperation payoff (both players
  playing the game's always_defect, resp. always_cooperate, strategy: exact on matrix games,
  measured over 32 x batch episodes on the coin game). Where the two coincide (zero-sum games
  such as matching pennies) or a game has no such strategies, the score is by rank: 1 for
  the first, 0 for the last, linear in between, tied scores sharing their mean rank.

A cell whose matches did not all finish is computed from the seatings that did and flagged
(partial); failures and n/a cells are listed with their reasons. Nothing in the report
depends on timing or on the order matches ran in, so an interrupted and resumed tournament
produces the same files as an uninterrupted one.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shaping.contracts.errors import ConfigError
from shaping.league.plan import EXPLOITABILITY, EXPLOITER, LEAGUE, LEARNING_TOGETHER
from shaping.tournament.pictures import write_figures
from shaping.tournament.progress import format_duration
from shaping.tournament.rankings import (
    BOOTSTRAP_SEED,
    DRAWS,
    game_scores,
    metagame_rankings,
    overall_ranking,
)
from shaping.tournament.stats import mean_ci95, student_t_quantile
from shaping.tournament.store import MatchRecord, ResultStore

FINAL_FRACTION = 0.1
#: what `shaping report` rebuilds the report from when the store is not there (a fresh clone)
SUMMARY_FILE = "results.summary.json"
SUMMARY_FORMAT = "shaping-report-summary/3"
#: formats `shaping report` still reads (format 1 has no learning curves; formats 1 and 2 hold
#: the league's cross-play matches per seed pairing, format 3 per agent of each seat)
READABLE_SUMMARY_FORMATS = (
    "shaping-report-summary/1",
    "shaping-report-summary/2",
    SUMMARY_FORMAT,
)
#: learning-curve points kept per learning-together match (evenly spaced, the last included)
CURVE_POINTS = 25
#: reference payoffs closer than this are "the same" (zero-sum games): rank normalisation
DEGENERATE_REFERENCE = 1e-6
CSV_COLUMNS = (
    "table",
    "game",
    "rank",
    "algorithm",
    "opponent",
    "reward_mean",
    "reward_ci95",
    "normalised",
    "welfare_mean",
    "welfare_ci95",
    "metric",
    "metric_mean",
    "metric_ci95",
    "status",
    "note",
)


def final_window(iterations: int) -> int:
    """How many final iterations are averaged: 10% of them, at least one."""
    return max(1, math.ceil(FINAL_FRACTION * iterations))


def _number(value: float | None, digits: int = 6) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _stat(samples: list[np.ndarray]) -> dict[str, float | None]:
    """Mean and CI over seeds of the per-seed mean of `samples` (one array per seating)."""
    mean, half_width = mean_ci95(np.mean(np.stack(samples), axis=0))
    return {"mean": _number(mean), "ci95": _number(half_width)}


@dataclass
class _Seating:
    """X's side of one finished match, per seed, averaged over the final window."""

    own: np.ndarray
    welfare: np.ndarray
    metrics: dict[str, np.ndarray]


@dataclass
class _Game:
    name: str
    info: dict[str, Any]
    entrants: list[str]
    cells: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def final_window_means(record: MatchRecord) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A finished match's rewards [S, 2] and metrics {name: [S, 2]}, per seed and seat,
    averaged over the final window: all the report reads of a match."""
    window = final_window(record.rewards.shape[0])
    rewards = record.rewards[-window:].astype(np.float64).mean(axis=0)
    metrics = {
        name: values[-window:].astype(np.float64).mean(axis=0)
        for name, values in record.metrics.items()
    }
    return rewards, metrics


def match_curve(record: MatchRecord) -> dict[str, Any]:
    """A finished match's learning curve for the report's figures: at up to CURVE_POINTS
    evenly spaced iterations (1-based, the last included), each seat's reward per step and
    metrics as mean and 95% half-width over seeds, rounded to 4 decimals."""
    iterations = record.rewards.shape[0]
    points = np.unique(np.linspace(0, iterations - 1, min(CURVE_POINTS, iterations)).round())
    points = points.astype(int)

    def band(values: np.ndarray) -> dict[str, list[list[float]]]:
        picked = values[points].astype(np.float64)  # [P, S, 2]
        seeds = picked.shape[1]
        spread = picked.std(axis=1, ddof=1) / math.sqrt(seeds) if seeds > 1 else 0 * picked[:, 0]
        half = spread * (student_t_quantile(0.975, seeds - 1) if seeds > 1 else 0.0)
        return {
            "mean": np.round(picked.mean(axis=1), 4).tolist(),
            "ci95": np.round(half, 4).tolist(),
        }

    return {
        "iterations": (points + 1).tolist(),
        "reward": band(record.rewards),
        "metrics": {name: band(values) for name, values in record.metrics.items()},
    }


def learning_curves(plan: dict[str, Any], records: dict[str, MatchRecord]) -> dict[str, Any]:
    """match key -> its learning curve (match_curve), for the learning-together matches."""
    keys = {
        cell["key"]
        for cell in plan["cells"]
        if cell["key"] is not None and cell.get("section", LEARNING_TOGETHER) == LEARNING_TOGETHER
    }
    return {
        key: match_curve(records[key])
        for key in sorted(keys)
        if key in records and records[key].done
    }


def _per_agent(values: np.ndarray, agents: int | None, seat: int) -> np.ndarray:
    """`values` [S] per seed pairing of a league match, averaged per agent of the player in
    `seat` (pairing k is agent k // (S / n) in seat 0 and k % n in seat 1, as
    shaping.league.agent.agent_index); unchanged outside the league (agents None)."""
    if agents is None:
        return values
    pairing = np.arange(values.shape[0])
    agent = pairing // (values.shape[0] // agents) if seat == 0 else pairing % agents
    return np.bincount(agent, weights=values, minlength=agents) / np.bincount(
        agent, minlength=agents
    )


@dataclass(frozen=True)
class LeagueMeans:
    """A league cross-play match's final-window means per agent of each seat: `rewards[s]`
    [n_s, 2] holds both seats' reward per step averaged over the seed pairings that seat s's
    agent played (n_s: that side's agent count), `metrics[name][s]` likewise. All the report
    reads of such a match, n_a + n_b rows instead of n_a · n_b (what keeps the summary small)."""

    rewards: tuple[np.ndarray, np.ndarray]
    metrics: dict[str, tuple[np.ndarray, np.ndarray]]


def league_means(record: MatchRecord, agents: tuple[int, int]) -> LeagueMeans:
    """A finished league match's LeagueMeans, `agents` the two sides' agent counts."""
    rewards, metrics = final_window_means(record)

    def by_seat(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seat_0, seat_1 = (
            np.stack([_per_agent(values[:, col], agents[seat], seat) for col in (0, 1)], axis=1)
            for seat in (0, 1)
        )
        return seat_0, seat_1

    return LeagueMeans(by_seat(rewards), {name: by_seat(v) for name, v in metrics.items()})


def league_agent_counts(plan: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """match key -> (agents of seat a, agents of seat b), for the league's cross-play matches."""
    counts = {}
    for cell in plan["cells"]:
        if cell.get("section") == LEAGUE and cell["key"] is not None:
            entrants = plan["league"][cell["game"]]["entrants"]
            counts[cell["key"]] = (entrants[cell["a"]]["agents"], entrants[cell["b"]]["agents"])
    return counts


def _seatings(
    x: str,
    y: str,
    cells: dict[tuple[str, str], dict[str, Any]],
    records: dict[str, Any],
    agents: int | None = None,
    league: dict[str, LeagueMeans] | None = None,
) -> tuple[list[_Seating], list[str]]:
    """X's finished seatings against Y, and the states of the others. In the league
    (`agents`: X's agent count) each array is per X agent, not per seed pairing, so that
    opponents with different agent counts stack and intervals are over X's agents; a
    cross-play match is read from its LeagueMeans (`league`, by match key)."""
    plan = [(cells[x, x], None)] if x == y else [(cells[x, y], 0), (cells[y, x], 1)]
    seatings, problems = [], []
    for cell, seat in plan:
        record: MatchRecord | None = records.get(cell["key"])
        if record is None:
            problems.append("missing")
            continue
        if not record.done:
            problems.append("failed")
            continue
        if league is not None and cell["key"] in league:
            seatings.append(_league_seating(league[cell["key"]], seat))
            continue
        rewards, metrics = final_window_means(record)
        welfare = rewards.sum(axis=1)
        if seat is None:  # self-play: both seats are X

            def mine(per_seat: np.ndarray) -> np.ndarray:
                return (
                    _per_agent(per_seat[:, 0], agents, 0) + _per_agent(per_seat[:, 1], agents, 1)
                ) / 2

            seatings.append(
                _Seating(
                    mine(rewards),
                    mine(np.stack([welfare, welfare], axis=1)),
                    {name: mine(values) for name, values in metrics.items()},
                )
            )
        else:
            seatings.append(
                _Seating(
                    _per_agent(rewards[:, seat], agents, seat),
                    _per_agent(welfare, agents, seat),
                    {
                        name: _per_agent(values[:, seat], agents, seat)
                        for name, values in metrics.items()
                    },
                )
            )
    return seatings, problems


def _league_seating(means: LeagueMeans, seat: int | None) -> _Seating:
    """X's side of a cross-play match, per X agent: X in `seat` (None: both seats are X)."""

    def mine(by_seat: tuple[np.ndarray, np.ndarray], welfare: bool = False) -> np.ndarray:
        def side(s: int) -> np.ndarray:
            return by_seat[s].sum(axis=1) if welfare else by_seat[s][:, s]

        return (side(0) + side(1)) / 2 if seat is None else side(seat)

    return _Seating(
        mine(means.rewards),
        mine(means.rewards, welfare=True),
        {name: mine(values) for name, values in means.metrics.items()},
    )


def _status(seatings: list[_Seating], problems: list[str]) -> str:
    if not problems:
        return "ok"
    if seatings:
        return "partial"
    return "failed" if "failed" in problems else "missing"


def _entry(section: dict[str, Any], name: str) -> dict[str, Any]:
    """`name`'s ranking entry on a game; an entrant with no finished match counts as having
    every cell incomplete."""
    for entry in section["ranking"]:
        if entry["algorithm"] == name:
            return entry
    return {"incomplete_cells": len(section["head_to_head"])}


def _rank_scores(ranking: list[dict[str, Any]]) -> list[float]:
    """1 for the first, 0 for the last, linear between; ties share their mean position."""
    n = len(ranking)
    if n == 1:
        return [1.0]
    scores = []
    for entry in ranking:
        tied = [i for i, other in enumerate(ranking) if other["mean"] == entry["mean"]]
        scores.append(1.0 - (sum(tied) / len(tied)) / (n - 1))
    return scores


def _game_section(
    game: _Game,
    records: dict[str, Any],
    agents: dict[str, int] | None = None,
    league: dict[str, LeagueMeans] | None = None,
) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    """A game's head-to-head cells and ranking, and each entrant's per-seed samples against
    each opponent (what the overall score's bootstrap resamples); `agents` (league: entrant
    → agent count) makes every sample per agent of the row entrant (see _seatings)."""
    names = game.entrants
    head_to_head: dict[str, dict[str, Any]] = {}
    field_samples: dict[str, list[np.ndarray]] = {x: [] for x in names}
    incomplete: dict[str, int] = {x: 0 for x in names}
    for x in names:
        head_to_head[x] = {}
        for y in names:
            seatings, problems = _seatings(
                x, y, game.cells, records, None if agents is None else agents[x], league
            )
            status = _status(seatings, problems)
            cell: dict[str, Any] = {"status": status, "seatings": len(seatings)}
            if seatings:
                own = np.mean(np.stack([s.own for s in seatings]), axis=0)
                field_samples[x].append(own)
                cell["reward"] = _stat([s.own for s in seatings])
                # per seed (league: per row agent), so a bimodal cell is not hidden by its mean
                cell["reward_per_seed"] = [_number(value, 4) for value in own]
                cell["welfare"] = _stat([s.welfare for s in seatings])
                cell["metrics"] = {
                    name: _stat([s.metrics[name] for s in seatings]) for name in seatings[0].metrics
                }
            if status != "ok":
                incomplete[x] += 1
            head_to_head[x][y] = cell
    ranking = []
    for x in names:
        if not field_samples[x]:
            continue
        mean, half_width = mean_ci95(np.mean(np.stack(field_samples[x]), axis=0))
        ranking.append(
            {
                "algorithm": x,
                "mean": _number(mean),
                "ci95": _number(half_width),
                "opponents": len(field_samples[x]),
                "incomplete_cells": incomplete[x],
            }
        )
    ranking.sort(key=lambda entry: (-entry["mean"], entry["algorithm"]))
    reference = game.info.get("reference")
    by_rank = reference is None or abs(
        reference["mutual_cooperation"] - reference["mutual_defection"]
    ) <= DEGENERATE_REFERENCE * max(1.0, abs(reference["mutual_cooperation"]))
    if by_rank:
        scores = _rank_scores(ranking)
    else:
        low, high = reference["mutual_defection"], reference["mutual_cooperation"]
        scores = [(entry["mean"] - low) / (high - low) for entry in ranking]
    for rank, (entry, score) in enumerate(zip(ranking, scores, strict=True), start=1):
        entry["rank"] = rank
        entry["normalised"] = _number(score)
    order = [entry["algorithm"] for entry in ranking] + [x for x in names if not field_samples[x]]
    section = {
        "seeds": game.info["seeds"],
        "iterations": game.info["iterations"],
        "final_window": final_window(game.info["iterations"]),
        "metrics": game.info["metrics"],
        "reference": reference,
        "normalisation": "rank" if by_rank else "mutual defection = 0, mutual cooperation = 1",
        "order": order,
        "ranking": ranking,
        # partial data ranks each entrant over the cells it has: say so, and who has none
        "complete": not any(incomplete.values()),
        "incomplete_cells": sum(incomplete.values()),
        "unranked": [x for x in names if not field_samples[x]],
        "head_to_head": {x: head_to_head[x] for x in order},
    }
    return section, field_samples


def _exploitability(
    agents: dict[str, int], cells: dict[tuple[str, str], dict[str, Any]], records: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per league entrant (name -> agent count): its agents' and the exploiter's reward per
    step (and the agents' behaviour) after the exploiter's budget, per agent over both
    seatings; the exploiter's reward is the welfare less the agent's."""
    table = {}
    for name, count in agents.items():
        seatings, problems = _seatings(name, EXPLOITER, cells, records, count)
        entry: dict[str, Any] = {"status": _status(seatings, problems), "seatings": len(seatings)}
        if seatings:
            entry["agent"] = _stat([s.own for s in seatings])
            entry["exploiter"] = _stat([s.welfare - s.own for s in seatings])
            entry["metrics"] = {
                metric: _stat([s.metrics[metric] for s in seatings])
                for metric in seatings[0].metrics
            }
        table[name] = entry
    return table


def _league_sections(
    plan: dict[str, Any], records: dict[str, Any], league: dict[str, LeagueMeans]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, list[np.ndarray]]]]:
    """Per league game: the cross-play section of its frozen agents (as a game section, its
    matches read from `league`), its agents, and the exploitability table; and its per-agent
    samples (see _game_section)."""
    sections, samples = {}, {}
    for game_name, info in plan.get("league", {}).items():
        names = [e["name"] for e in plan["entrants"] if e["name"] in info["entrants"]]
        settings = info["settings"]
        game = _Game(
            game_name,
            {
                "seeds": settings["agents"],
                "iterations": settings["play_iterations"],
                "metrics": info["metrics"],
                "reference": info["reference"],
            },
            names,
        )
        probes: dict[tuple[str, str], dict[str, Any]] = {}
        for cell in plan["cells"]:
            if cell["game"] != game_name:
                continue
            if cell.get("section") == LEAGUE:
                game.cells[cell["a"], cell["b"]] = cell
            elif cell.get("section") == EXPLOITABILITY:
                probes[cell["a"], cell["b"]] = cell
        counts = {name: info["entrants"][name]["agents"] for name in names}
        section, samples[game_name] = _game_section(game, records, counts, league)
        sections[game_name] = section | {
            "settings": settings,
            "agents": info["entrants"],
            "not_applicable": info["not_applicable"],
            "exploitability": _exploitability(counts, probes, records),
        }
    return sections, samples


def runs_in_report(runs: list[dict[str, Any]], keys: set[str]) -> list[dict[str, Any]]:
    """The runs (ResultStore.runs, oldest first) that computed matches among `keys`, each with
    `in_report`: how many of them are its own (a later replay of a match takes it over). A run
    stored before runs kept their match keys is listed only while some match has no keyed run
    to answer for it. The keys themselves stay out of the report."""
    owner: dict[str, int] = {}
    for index, run in enumerate(runs):
        owner.update(dict.fromkeys(run.get("keys", ()), index))
    owned = Counter(owner[key] for key in keys if key in owner)
    unattributed = not keys.issubset(owner)
    listed = []
    for index, run in enumerate(runs):
        described = {name: value for name, value in run.items() if name not in ("keys", "id")}
        if "keys" not in run:
            if unattributed:
                listed.append(described)
        elif owned[index]:
            listed.append(described | {"in_report": owned[index]})
    return listed


def all_league_means(
    plan: dict[str, Any],
    records: dict[str, MatchRecord],
    given: dict[str, LeagueMeans] | None = None,
) -> dict[str, LeagueMeans]:
    """Every finished cross-play match's LeagueMeans: `given` ones (a summary's), the others
    reduced from their records."""
    means = dict(given or {})
    for key, agents in league_agent_counts(plan).items():
        record = records.get(key)
        if key not in means and record is not None and record.done and record.rewards is not None:
            means[key] = league_means(record, agents)
    return means


def build_leaderboard(
    plan: dict[str, Any],
    records: dict[str, MatchRecord],
    runs: list[dict[str, Any]] | None = None,
    damaged: dict[str, str] | None = None,
    league: dict[str, LeagueMeans] | None = None,
) -> dict[str, Any]:
    """The whole leaderboard as one JSON-friendly document (what leaderboard.json holds);
    `runs` is the provenance of every run that played into the store (ResultStore.runs), of
    which the report names those that computed its matches (`runs_in_report`). Cross-play
    matches are read as their LeagueMeans: given in `league` (a summary's), else reduced
    from `records`."""
    league = all_league_means(plan, records, league)
    games: dict[str, _Game] = {}
    for name, info in plan["games"].items():
        entrants = [e["name"] for e in plan["entrants"] if name not in e["not_applicable"]]
        games[name] = _Game(name, info, entrants)
    failures, missing, not_applicable = [], [], []
    for cell in plan["cells"]:
        section_name = cell.get("section", LEARNING_TOGETHER)  # plans from before the league
        if section_name == LEARNING_TOGETHER:
            games[cell["game"]].cells[cell["a"], cell["b"]] = cell
        where = {k: cell[k] for k in ("game", "a", "b")} | {"section": section_name}
        if cell["key"] is None:
            not_applicable.append(where | {"reason": cell["not_applicable"]})
            continue
        record = records.get(cell["key"])
        if record is None:
            missing.append(
                where
                | ({"damaged": damaged[cell["key"]]} if cell["key"] in (damaged or {}) else {})
            )
        elif not record.done:
            failures.append(
                where | {"key": cell["key"], "error": record.error, "attempts": record.attempts}
            )
    sections, samples = {}, {}
    for name, game in games.items():
        sections[name], samples[name] = _game_section(game, records)
    league_board, league_samples = _league_sections(plan, records, league)
    for section in [*sections.values(), *league_board.values()]:
        section["metagame"] = metagame_rankings(section)
    ranked = [game for game in plan.get("league_ranked", []) if game in league_board]
    # the overall score of a game reads the league where the plan says the literature does
    scored_sections = sections | {game: league_board[game] for game in ranked}
    scored_samples = samples | {game: league_samples[game] for game in ranked}
    overall = _overall(plan["entrants"], scored_sections, scored_samples)
    planned = {cell["key"] for cell in plan["cells"] if cell["key"] is not None}
    return {
        "tournament": {
            key: plan[key] for key in ("profile", "profile_source", "description", "seed", "device")
        }
        | {
            "matches": len(planned),
            "done": sum(key in records and records[key].done for key in planned),
            "failed": len({f["key"] for f in failures}),
            "not_played_yet": len(missing),
            "not_applicable_cells": len(not_applicable),
            "final_window_fraction": FINAL_FRACTION,
            "runs": runs_in_report(runs or [], set(records)),
        },
        "entrants": plan["entrants"],
        "games": {
            name: {key: plan["games"][name][key] for key in ("description", "paper", "config")}
            | section
            for name, section in sections.items()
        },
        "league": league_board,
        "league_ranked": ranked,
        "overall": overall,
        "overall_rule": _overall_rule(list(sections), ranked),
        "failures": failures,
        "not_played_yet": missing,
        "not_applicable": not_applicable,
    }


def _overall(
    entrants: list[dict[str, Any]],
    sections: dict[str, dict[str, Any]],
    samples: dict[str, dict[str, list[np.ndarray]]],
) -> list[dict[str, Any]]:
    """The overall ranking (shaping.tournament.rankings): standardised per-game scores, their
    mean, its bootstrap interval and ties; entrants without data on any game last, unranked."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    scores = {
        game: game_scores(game_samples, rng)
        for game, game_samples in samples.items()
        if any(game_samples.values())
    }
    ranked = {entry.algorithm: entry for entry in overall_ranking(scores)}
    for game, section in sections.items():
        if game in scores:
            standardised = dict(
                zip(scores[game].names, scores[game].standardised()[0], strict=True)
            )
            for entry in section["ranking"]:
                entry["standardised"] = _number(standardised[entry["algorithm"]])
    overall = []
    for entrant in entrants:
        name = entrant["name"]
        complete = all(
            _entry(section, name)["incomplete_cells"] == 0
            for game, section in sections.items()
            if game not in entrant["not_applicable"]
        )
        entry = ranked.get(name)
        overall.append(
            {
                "algorithm": name,
                "score": None if entry is None else _number(entry.score),
                "ci95": None if entry is None else [_number(entry.low), _number(entry.high)],
                "rank": None if entry is None else entry.rank,
                "tied_with": [] if entry is None else entry.tied_with,
                "games": {} if entry is None else {g: _number(v) for g, v in entry.games.items()},
                "games_played": 0 if entry is None else len(entry.games),
                "complete": complete,
            }
        )
    overall.sort(
        key=lambda e: (e["rank"] is None, e["rank"] or 0, -(e["score"] or 0.0), e["algorithm"])
    )
    return overall


def _overall_rule(games: list[str], ranked: list[str]) -> str:
    together = [game for game in games if game not in ranked]
    parts = []
    if ranked:
        parts.append(
            f"on {', '.join(ranked)} the league's score (frozen agents trained in their "
            "papers' regimes, against the field of league agents: how the LOQA, POLA, BRS and "
            "Advantage Alignment papers evaluate)"
        )
    if together:
        parts.append(
            f"on {', '.join(together)} the learning-together score (both learn from scratch "
            "in the match: the LOLA paper's setting)"
        )
    return (
        "Overall score: the mean over games of each entrant's standardised field score (per "
        "game, the field means less their mean over entrants, over their standard deviation: "
        "every game weighs the same whatever its payoff units), "
        + "; ".join(parts)
        + f". Interval: 95% bootstrap over seeds ({DRAWS} draws); entrants share a rank "
        "unless one is ahead of the other in 97.5% of the draws."
    )


# --- rendering --------------------------------------------------------------------------


def _fmt(stat: dict[str, Any] | None, digits: int = 3) -> str:
    if not stat or stat.get("mean") is None:
        return "—"
    if stat.get("ci95") is None:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['ci95']:.{digits}f}"


def _cell_text(cell: dict[str, Any], key: str, metric: str | None = None) -> str:
    if cell["status"] in ("failed", "missing"):
        return cell["status"]
    stat = cell["metrics"].get(metric) if metric else cell[key]
    text = _fmt(stat)
    return text + (" (partial)" if cell["status"] == "partial" else "")


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        def escape(text: str) -> str:
            return text.replace("|", "\\|")

        lines = ["| " + " | ".join(escape(h) for h in self.header) + " |"]
        lines.append("|" + "|".join("---" for _ in self.header) + "|")
        lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        return (
            f"<div class='scroll'><table class='sortable'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>"
        )


def _overall_table(board: dict[str, Any]) -> _Table:
    games = list(board["games"])
    entrants = {e["name"]: e for e in board["entrants"]}
    rows = []
    ranks = Counter(entry["rank"] for entry in board["overall"])
    for entry in board["overall"]:
        entrant = entrants[entry["algorithm"]]
        score = "—"
        if entry["score"] is not None:
            low, high = entry.get("ci95") or (None, None)
            interval = f" [{_signed(low)}, {_signed(high)}]" if low is not None else ""
            score = _signed(entry["score"]) + interval
        rank = entry["rank"]
        rows.append(
            [
                "—" if rank is None else f"={rank}" if ranks[rank] > 1 else str(rank),
                entry["algorithm"],
                score
                + ("" if entry.get("complete", True) or entry["score"] is None else " (partial)"),
                *(_overall_game_text(_scored_section(board, g), entry, entrant, g) for g in games),
            ]
        )
    return _Table(["rank", "algorithm", "score [95% bootstrap]", *games], rows)


def _signed(value: float | None, digits: int = 2) -> str:
    """`value` to `digits` decimals, never "-0.00"."""
    if value is None:
        return "—"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _scored_section(board: dict[str, Any], game: str) -> dict[str, Any]:
    """The section whose score the overall ranking reads for `game`."""
    if game in board.get("league_ranked", ()):
        return board["league"][game]
    return board["games"][game]


def _overall_game_text(
    section: dict[str, Any], entry: dict[str, Any], entrant: dict[str, Any], game: str
) -> str:
    """An entrant's normalised score on one game: n/a only where it cannot play the game;
    `failed` where it can but no match of it finished; (partial) over incomplete cells."""
    if game in entrant["not_applicable"]:
        return "n/a"
    value = entry["games"].get(game)
    if value is None:
        return "failed" if entry["algorithm"] in section.get("unranked", ()) else "—"
    partial = _entry(section, entry["algorithm"])["incomplete_cells"]
    return _signed(value) + (" (partial)" if partial else "")


def _partial_notes(board: dict[str, Any]) -> list[str]:
    """One line per game whose ranking rests on incomplete data (none when all are complete)."""
    notes = []
    for name, section in board["games"].items():
        if section.get("complete", True):
            continue
        unranked = section.get("unranked", [])
        notes.append(
            f"Partial ranking on {name}: {section['incomplete_cells']} cells failed or not "
            "played yet; each entrant is ranked over the cells it has"
            + (f"; unranked (no finished match): {', '.join(unranked)}" if unranked else "")
            + ". `--retry-failed` plays the failed matches again."
        )
    return notes


def _entrants_table(board: dict[str, Any]) -> _Table:
    rows = []
    for entrant in board["entrants"]:
        not_applicable = "; ".join(f"{g}: {r}" for g, r in entrant["not_applicable"].items())
        overrides = "; ".join(
            f"{g}: {json.dumps(values, sort_keys=True)}"
            for g, values in entrant["overrides"].items()
        )
        rows.append(
            [
                entrant["name"],
                entrant["paper"] or "—",
                "yes" if entrant["white_box"] else "no",
                "yes" if entrant["pretrained"] else "no",
                "; ".join(entrant["assumptions"]) or "—",
                "; ".join(f"{g}: {n}" for g, n in entrant["extensions"].items()) or "—",
                overrides or "—",
                not_applicable or "—",
            ]
        )
    header = [
        "algorithm",
        "paper",
        "white-box",
        "pretrained",
        "assumes",
        "extensions",
        "profile overrides",
        "n/a",
    ]
    return _Table(header, rows)


def _ranking_table(section: dict[str, Any]) -> _Table:
    rows = [
        [
            str(entry["rank"]),
            entry["algorithm"],
            _fmt(entry),
            "—" if entry["normalised"] is None else f"{entry['normalised']:.3f}",
            f"{entry['opponents']}"
            + (f" ({entry['incomplete_cells']} incomplete)" if entry["incomplete_cells"] else ""),
        ]
        for entry in section["ranking"]
    ]
    return _Table(
        ["rank", "algorithm", "reward/step vs field (95% CI)", "normalised", "opponents"], rows
    )


def _metagame_table(section: dict[str, Any]) -> _Table | str:
    """The section's rankings side by side (mean payoff, α-Rank, Nash averaging, replicator
    dynamics), or why the meta-game ones are missing."""
    meta = section.get("metagame", {})
    if "alpharank" not in meta:
        return f"Meta-game rankings unavailable: {meta.get('unavailable', 'not computed')}."
    alpha, nash, shares = meta["alpharank"], meta["nash_averaging"], meta["replicator"]
    rows = []
    for entry in section["ranking"]:
        name = entry["algorithm"]
        if name not in shares:
            continue
        rows.append(
            [
                name,
                f"{entry['rank']}: {_fmt(entry)}",
                f"{alpha['mass'][name]:.3f}",
                f"{alpha['limit_mass'][name]:.3f}",
                f"{nash[name]['mass']:.3f}",
                _signed(nash[name]["nash_average"], 3),
                f"{shares[name]:.3f}",
            ]
        )
    header = [
        "entrant",
        "mean payoff: rank, reward/step",
        f"α-Rank mass (α = {alpha['alpha']:.3g}, m = {alpha['m']})",
        "α-Rank mass (α → ∞)",
        "Nash equilibrium mass",
        "Nash average",
        "replicator share",
    ]
    return _Table(header, rows)


def _metagame_notes(section: dict[str, Any]) -> list[str]:
    meta = section.get("metagame", {})
    notes = [meta["agreement"]] if "agreement" in meta else []
    if meta.get("left_out"):
        notes.append(
            "Left out of the meta-game rankings (missing cells): " + ", ".join(meta["left_out"])
        )
    return notes


METAGAME_TEXT = (
    "Rankings side by side. Mean payoff: reward against the field (changes with who else is "
    "in it). α-Rank (Omidshafiei et al. 2019, OpenSpiel): the stationary mass of each "
    "entrant's population in a Moran process on the head-to-head table (single-population "
    "form: the table pools both seats), α from OpenSpiel's sweep and its α → ∞ limit. Nash "
    "averaging (Balduzzi et al. 2018): the maximum-entropy Nash equilibrium of the "
    "antisymmetric game H − Hᵀ and each entrant's payoff against it (0 for entrants in its "
    "support, unchanged by copies of an entrant). Replicator dynamics: each entrant's share "
    "after the replicator flow from a uniform population."
)


def _matrix_table(section: dict[str, Any], key: str, metric: str | None = None) -> _Table:
    order = section["order"]
    rows = [
        [x, *(_cell_text(section["head_to_head"][x][y], key, metric) for y in order)] for x in order
    ]
    return _Table(["row \\ column", *order], rows)


def _lists(
    board: dict[str, Any],
    game: str,
    sections: tuple[str, ...] = (LEARNING_TOGETHER,),
    explained: frozenset[str] = frozenset(),
) -> dict[str, list[str]]:
    """A game's not-applicable, failed and unplayed cells in `sections`; n/a cells of the
    `explained` entrants (said once elsewhere) are left out."""

    def pair(item: dict[str, Any]) -> str:
        return f"{item['a']} (a) vs {item['b']} (b)"

    def ours(item: dict[str, Any]) -> bool:
        return item["game"] == game and item.get("section", LEARNING_TOGETHER) in sections

    return {
        "Not applicable": [
            f"{pair(item)}: {item['reason']}"
            for item in board["not_applicable"]
            if ours(item) and not {item["a"], item["b"]} & explained
        ],
        "Failed matches": [
            f"{pair(item)}: {item['error']} (attempts: {item['attempts']})"
            for item in board["failures"]
            if ours(item)
        ],
        "Not played yet": [
            pair(item)
            + (
                f": its stored result was damaged ({item['damaged']}), set aside; the next "
                "run plays it again"
                if "damaged" in item
                else ""
            )
            for item in board["not_played_yet"]
            if ours(item)
        ],
    }


DEFINITIONS = [
    "Reward per step: each player's mean reward per step over the final window (the last "
    "10% of the learning iterations, at least one), per seed.",
    "Head-to-head: the row algorithm's reward per step against the column algorithm, "
    "averaged per seed over both seatings (row in seat a vs column in seat b, and column in "
    "seat a vs row in seat b); self-play counts both seats of its one match. "
    "Mean ± 95% Student-t interval over seeds.",
    "Social welfare: the sum of both players' reward per step, averaged over seatings alike. "
    "Behaviour: the row player's own metric against the column (cooperation: probability of "
    "action 0 weighted by discounted state visitation; own_coin_ratio: own-colour coins over "
    "all coins it took).",
    "Ranking on a game: by mean reward per step against the field (every entrant that can "
    "play the game, itself included).",
    "Normalised score on a game (its ranking table): 0 = mutual defection, 1 = mutual "
    "cooperation (both players playing the game's always_defect / always_cooperate strategy); "
    "where those pay the same (zero-sum games such as matching pennies) or do not exist, by "
    "rank: 1 first, 0 last, linear between.",
    "Overall: the mean over the games an entrant plays of its standardised field score (the "
    "game's field means less their mean over entrants, over their standard deviation), so no "
    "game's payoff scale decides the order (the coin game's reference span is a third of a "
    "point per step: payoff-normalised, its scores would spread four times as far as the "
    "IPD's); a 95% bootstrap interval over seeds; '=k' marks entrants the bootstrap does not "
    "tell apart (neither ahead in 97.5% of the draws).",
    "(partial): one of the two seatings failed or is not played yet; the cell uses the other. "
    "In a ranking, (partial) marks a score over the cells the entrant has; failed marks a game "
    "it can play where none of its matches finished; n/a, a game it cannot play.",
]


EVALUATIONS = [
    "Learning together (the per-game sections): both entrants start from scratch in the match "
    "and learn against each other: how an algorithm fares learning alongside another (the "
    "LOLA paper's setting). A short budget here measures learning speed as much as outcome.",
    "League (the League sections): each entrant's agents are trained first in its paper's "
    "regime (self-play for the learners, their own artifact for M-FOS, PPI and fixed "
    "strategies), then frozen; every agent meets every agent over all pairs of training "
    "seeds, and a fresh learner is trained against each agent (exploitability): how trained "
    "agents behave and how much they give away (the LOQA, POLA, BRS and Advantage Alignment "
    "papers' evaluation).",
]

#: under the overall ranking: the report opens with results; definitions and metadata close it
READING_GUIDE = (
    "Each game's section below opens with its pictures and rankings; every number is defined "
    "under {how}, and what each entrant assumes (white-box access, pretraining, extensions, "
    "profile overrides) is listed under {entrants}, at the end."
)


def _league_agents_table(section: dict[str, Any]) -> _Table:
    rows = [
        [
            name,
            agent["regime"].replace("_", "-"),
            str(agent["agents"]),
            "—" if agent["iterations"] is None else str(agent["iterations"]),
        ]
        for name, agent in section["agents"].items()
    ]
    rows += [
        [name, f"n/a: {reason}", "—", "—"] for name, reason in section["not_applicable"].items()
    ]
    return _Table(["entrant", "regime", "agents", "training iterations"], rows)


def _exploitability_table(section: dict[str, Any]) -> _Table:
    metrics = section["metrics"]
    rows = []
    for name in section["order"]:
        entry = section["exploitability"].get(name)
        if entry is None:
            continue
        if "agent" not in entry:
            rows.append([name, entry["status"], entry["status"], *(["—"] * len(metrics))])
            continue
        partial = " (partial)" if entry["status"] == "partial" else ""
        rows.append(
            [
                name,
                _fmt(entry["agent"]) + partial,
                _fmt(entry["exploiter"]) + partial,
                *(_fmt(entry["metrics"].get(metric)) for metric in metrics),
            ]
        )
    return _Table(
        [
            "agent",
            "agent's reward/step",
            "exploiter's reward/step",
            *(f"agent's {m}" for m in metrics),
        ],
        rows,
    )


def _league_blocks(board: dict[str, Any], name: str) -> list[tuple[str, Any]]:
    """(heading, table or text) of one game's league, in reading order."""
    section = board["league"][name]
    settings = section["settings"]
    text = (
        "Each cross-play match plays "
        f"every pair of training seeds for {settings['play_iterations']} iteration(s) with no "
        f"parameter updates. Exploitability: a fresh `{settings['exploiter']}` "
        + (
            f"({json.dumps(settings['exploiter_config'], sort_keys=True)}) "
            if settings["exploiter_config"]
            else ""
        )
        + f"learns for {settings['exploiter_iterations']} iterations against each agent, one "
        "seed per agent, in both seats. Intervals here are over the row entrant's agents (each "
        "agent's mean over its pairings); an entrant marked n/a in the agents table has no "
        "league cells."
    )
    blocks: list[tuple[str, Any]] = [
        ("", text),
        ("League agents", _league_agents_table(section)),
        ("Ranking against the league", _ranking_table(section)),
        ("Rankings side by side", METAGAME_TEXT),
        ("", _metagame_table(section)),
        ("", _metagame_notes(section)),
        (
            "Cross-play: the row agent's reward per step against the column agent",
            _matrix_table(section, "reward"),
        ),
    ]
    blocks += [
        (
            f"Behaviour: the row agent's {metric} against the column agent",
            _matrix_table(section, "metrics", metric),
        )
        for metric in section["metrics"]
    ]
    blocks.append(
        (
            "Exploitability: a fresh learner trained against each agent",
            _exploitability_table(section),
        )
    )
    explained = frozenset(section["not_applicable"])
    for heading, items in _lists(board, name, (LEAGUE, EXPLOITABILITY), explained).items():
        if items:
            blocks.append((heading, items))
    return blocks


def _heading(board: dict[str, Any]) -> tuple[str, list[str]]:
    t = board["tournament"]
    title = f"Leaderboard: {t['profile']} tournament"
    facts = [
        (t["description"].rstrip(".") + ". ") if t["description"] else "",
        f"Profile `{t['profile_source']}`, tournament seed {t['seed']}, device {t['device']}. ",
        f"{len(board['entrants'])} entrants; {t['matches']} matches: {t['done']} done, "
        f"{t['failed']} failed, {t['not_played_yet']} not played yet; "
        f"{t['not_applicable_cells']} n/a cells.",
    ]
    games = [
        f"`{name}`: {g['seeds']} seeds × {g['iterations']} iterations (final window "
        f"{g['final_window']}), normalisation: {g['normalisation']}"
        + (
            f" (mutual defection {g['reference']['mutual_defection']:.4f}, mutual cooperation "
            f"{g['reference']['mutual_cooperation']:.4f})"
            if g["reference"] and g["normalisation"] != "rank"
            else ""
        )
        for name, g in board["games"].items()
    ]
    return title, ["".join(facts), *games, *map(_provenance, t.get("runs", []))]


def _provenance(run: dict[str, Any]) -> str:
    """One run that computed matches of this report: how, from which code, when, how long."""
    commit = run["commit"] or "unknown commit"
    in_report = f"; {run['in_report']} of them in this report" if "in_report" in run else ""
    # torch picks its CPU kernels by instruction set, whose last bits differ (docs/tournaments.md)
    kernels = f", torch CPU kernels {run['cpu_kernels']}" if "cpu_kernels" in run else ""
    model = f" ({run['cpu']})" if "cpu" in run else ""
    if not run.get("finished", True):
        return (
            f"Started by `{run['command']}` at commit `{commit}` on {run['started_utc']} UTC "
            f"and stopped before it finished (interrupted or killed), on {run['executor']}, "
            f"{run['cpus']} CPUs{model}{kernels}{in_report}."
        )
    return (
        f"Computed by `{run['command']}` at commit `{commit}` on {run['started_utc']} UTC: "
        f"{run['played']} matches played in {format_duration(run['wall_time_s'])} wall time "
        f"(pretraining {format_duration(run['pretraining_s'])} of it) on {run['executor']}, "
        f"{run['cpus']} CPUs{model}{kernels}{in_report}."
    )


def render_markdown(board: dict[str, Any]) -> str:
    title, facts = _heading(board)
    lines = [f"# {title}", "", facts[0], "", *(f"- {fact}" for fact in facts[1:]), ""]
    lines += ["## Overall ranking", "", *(f"**{n}**\n" for n in _partial_notes(board))]
    lines += [board.get("overall_rule", ""), "", _overall_table(board).markdown(), ""]
    lines += [
        READING_GUIDE.format(
            how="[How to read it](#how-to-read-it)", entrants="[Entrants](#entrants)"
        ),
        "",
    ]
    if board.get("league"):
        lines += ["## Two evaluations", "", *(f"- {e}" for e in EVALUATIONS), ""]
    for name, section in board["games"].items():
        lines += [f"## {name}", "", *_figure_lines(board, name)]
        lines += ["### Ranking against the field", "", _ranking_table(section).markdown(), ""]
        meta_table = _metagame_table(section)
        lines += ["### Rankings side by side", "", METAGAME_TEXT, ""]
        lines += [meta_table.markdown() if isinstance(meta_table, _Table) else meta_table, ""]
        lines += [*(f"- {note}" for note in _metagame_notes(section)), ""]
        lines += [
            "### Head-to-head: the row's reward per step against the column",
            "",
            _matrix_table(section, "reward").markdown(),
            "",
            "### Social welfare: both players' reward per step, summed",
            "",
            _matrix_table(section, "welfare").markdown(),
            "",
        ]
        for metric in section["metrics"]:
            lines += [
                f"### Behaviour: the row's {metric} against the column",
                "",
                _matrix_table(section, "metrics", metric).markdown(),
                "",
            ]
        for heading, items in _lists(board, name).items():
            if items:
                lines += [f"### {heading}", "", *(f"- {item}" for item in items), ""]
    for name in board.get("league", {}):
        lines += [f"## League: {name}", "", *_figure_lines(board, f"league:{name}")]
        for heading, block in _league_blocks(board, name):
            if heading:
                lines += [f"### {heading}", ""]
            if isinstance(block, _Table):
                lines += [block.markdown(), ""]
            elif isinstance(block, list):
                lines += [*(f"- {item}" for item in block), ""]
            else:
                lines += [block, ""]
    lines += ["## How to read it", "", *(f"- {d}" for d in DEFINITIONS), ""]
    lines += ["## Entrants", "", _entrants_table(board).markdown(), ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """`text` escaped for HTML, with Markdown's `code` spans as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _html_block(block: Any) -> str:
    if isinstance(block, _Table):
        return block.html()
    if isinstance(block, list):
        return "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block) + "</ul>"
    return f"<p>{_inline(block)}</p>"


#: click a column heading to sort a table by it (numbers by value, the rest as text)
SORT_SCRIPT = """<script>
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.style.cursor = 'pointer';
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var column = Array.prototype.indexOf.call(th.parentNode.children, th);
    var down = th.dataset.order !== 'down';
    th.dataset.order = down ? 'down' : 'up';
    var value = function (row) {
      var text = row.children[column].textContent.replace('=', '');
      var number = parseFloat(text);
      return isNaN(number) ? text : number;
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = value(a), y = value(b);
      var order = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0)
        : (typeof x === 'number' ? -1 : 1);
      return down ? -order : order;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
</script>"""


def render_html(board: dict[str, Any]) -> str:
    title, facts = _heading(board)
    parts = [
        "<!DOCTYPE html>",
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1400px;margin:auto;padding:1em}"
        "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;"
        "padding:2px 6px;font-size:85%}th{background:#eee}img{max-width:100%}"
        ".scroll{overflow-x:auto;max-width:100%}figure{margin:0.5em 0}"
        "figcaption{font-size:85%;color:#444}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{_inline(facts[0])}</p>",
        "<ul>" + "".join(f"<li>{_inline(f)}</li>" for f in facts[1:]) + "</ul>",
        "<h2>Overall ranking</h2>",
        *(f"<p><strong>{html.escape(note)}</strong></p>" for note in _partial_notes(board)),
        f"<p>{html.escape(board.get('overall_rule', ''))}</p>",
        _overall_table(board).html(),
        "<p>"
        + READING_GUIDE.format(
            how="<a href='#how-to-read-it'>How to read it</a>",
            entrants="<a href='#entrants'>Entrants</a>",
        )
        + "</p>",
        *(
            ["<h2>Two evaluations</h2>", "<ul>"]
            + [f"<li>{html.escape(e)}</li>" for e in EVALUATIONS]
            + ["</ul>"]
            if board.get("league")
            else []
        ),
    ]
    for name, section in board["games"].items():
        parts += [
            f"<h2>{html.escape(name)}</h2>",
            *_figure_html(board, name),
            "<h3>Ranking against the field</h3>",
            _ranking_table(section).html(),
            "<h3>Rankings side by side</h3>",
            f"<p>{html.escape(METAGAME_TEXT)}</p>",
            _html_block(_metagame_table(section)),
            _html_block(_metagame_notes(section)),
            "<h3>Head-to-head: the row's reward per step against the column</h3>",
            _matrix_table(section, "reward").html(),
            "<h3>Social welfare</h3>",
            _matrix_table(section, "welfare").html(),
        ]
        for metric in section["metrics"]:
            parts += [
                f"<h3>Behaviour: the row's {html.escape(metric)} against the column</h3>",
                _matrix_table(section, "metrics", metric).html(),
            ]
        for heading, items in _lists(board, name).items():
            if items:
                parts.append(f"<h3>{html.escape(heading)}</h3><ul>")
                parts += [f"<li>{html.escape(item)}</li>" for item in items]
                parts.append("</ul>")
    for name in board.get("league", {}):
        parts.append(f"<h2>League: {html.escape(name)}</h2>")
        parts += _figure_html(board, f"league:{name}")
        for heading, block in _league_blocks(board, name):
            if heading:
                parts.append(f"<h3>{html.escape(heading)}</h3>")
            parts.append(_html_block(block))
    parts += [
        "<h2 id='how-to-read-it'>How to read it</h2>",
        "<ul>" + "".join(f"<li>{html.escape(d)}</li>" for d in DEFINITIONS) + "</ul>",
        "<h2 id='entrants'>Entrants</h2>",
        _entrants_table(board).html(),
        SORT_SCRIPT,
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _section_csv_rows(
    writer: csv.DictWriter, prefix: str, game: str, section: dict[str, Any]
) -> None:
    """A section's ranking rows and head-to-head cell rows, its tables named with `prefix`
    ("" for learning together, "league_" for the league)."""
    for entry in section["ranking"]:
        writer.writerow(
            {
                "table": f"{prefix}ranking",
                "game": game,
                "rank": entry["rank"],
                "algorithm": entry["algorithm"],
                "reward_mean": entry["mean"],
                "reward_ci95": entry["ci95"],
                "normalised": entry["normalised"],
                "note": f"opponents: {entry['opponents']}",
            }
        )
    for x, row in section["head_to_head"].items():
        for y, cell in row.items():
            metrics = section["metrics"] or [None]
            for metric in metrics:
                stat = cell.get("metrics", {}).get(metric, {}) if metric else {}
                writer.writerow(
                    {
                        "table": f"{prefix}head_to_head",
                        "game": game,
                        "algorithm": x,
                        "opponent": y,
                        "reward_mean": cell.get("reward", {}).get("mean"),
                        "reward_ci95": cell.get("reward", {}).get("ci95"),
                        "welfare_mean": cell.get("welfare", {}).get("mean"),
                        "welfare_ci95": cell.get("welfare", {}).get("ci95"),
                        "metric": metric,
                        "metric_mean": stat.get("mean"),
                        "metric_ci95": stat.get("ci95"),
                        "status": cell["status"],
                    }
                )


def render_csv(board: dict[str, Any]) -> str:
    """One long table: overall rows; per game the ranking and head-to-head cell rows of
    learning together (tables `ranking`, `head_to_head`) and of the league (`league_ranking`,
    `league_head_to_head`) with its exploitability probe (`exploitability`: the agents'
    reward against the exploiter and the exploiter's against them); n/a cells, failures."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in board["overall"]:
        writer.writerow(
            {
                "table": "overall",
                "game": "all",
                "rank": entry["rank"],
                "algorithm": entry["algorithm"],
                "normalised": entry["score"],
                "note": f"games played: {entry['games_played']}",
            }
        )
    for game, section in board["games"].items():
        _section_csv_rows(writer, "", game, section)
    for game, section in board.get("league", {}).items():
        _section_csv_rows(writer, "league_", game, section)
        for name, entry in section["exploitability"].items():
            # both sides, as a head-to-head cell reads: the row's reward against the column
            for row, column, side in ((name, EXPLOITER, "agent"), (EXPLOITER, name, "exploiter")):
                stat = entry.get(side) or {}
                writer.writerow(
                    {
                        "table": "exploitability",
                        "game": game,
                        "algorithm": row,
                        "opponent": column,
                        "reward_mean": stat.get("mean"),
                        "reward_ci95": stat.get("ci95"),
                        "status": entry["status"],
                    }
                )
    for item in board["not_applicable"]:
        writer.writerow(
            {
                "table": "not_applicable",
                "game": item["game"],
                "algorithm": item["a"],
                "opponent": item["b"],
                "status": "n/a",
                "note": item["reason"],
            }
        )
    for item in board["failures"]:
        writer.writerow(
            {
                "table": "failure",
                "game": item["game"],
                "algorithm": item["a"],
                "opponent": item["b"],
                "status": "failed",
                "note": item["error"],
            }
        )
    return buffer.getvalue()


def summary_document(
    plan: dict[str, Any],
    records: dict[str, MatchRecord],
    runs: list[dict[str, Any]],
    damaged: dict[str, str],
    curves: dict[str, Any],
    league: dict[str, LeagueMeans],
) -> dict[str, Any]:
    """Everything the report is built from: the plan, the runs, each match's final-window
    means (float64, exact through JSON) per seed, or for a league cross-play match per agent
    of each seat (its LeagueMeans in `league`: all the report reads of it), and the
    learning-together matches' compact learning curves (`match_curve`). Small enough to
    commit next to a report, so that `shaping report` rebuilds it on a fresh clone."""
    matches = {}
    for key, record in records.items():
        entry: dict[str, Any] = {"status": record.status, "attempts": record.attempts}
        if record.done:
            entry["evaluation"] = record.evaluation
            if key in league:
                means = league[key]
                entry["final_rewards_by_seat"] = [seat.tolist() for seat in means.rewards]
                entry["final_metrics_by_seat"] = {
                    name: [seat.tolist() for seat in values]
                    for name, values in means.metrics.items()
                }
            else:
                rewards, metrics = final_window_means(record)
                entry["final_rewards"] = rewards.tolist()
                entry["final_metrics"] = {name: values.tolist() for name, values in metrics.items()}
            if key in curves:
                entry["curve"] = curves[key]
        else:
            entry["error"] = record.error
        matches[key] = entry
    return {
        "format": SUMMARY_FORMAT,
        "plan": plan,
        "runs": runs,
        "damaged": damaged,
        "matches": matches,
    }


def _summary_text(document: dict[str, Any]) -> str:
    """The summary as JSON with one match per line, so that a recompute diffs by match."""
    head = {name: document[name] for name in ("format", "plan", "runs", "damaged")}
    matches = ",\n".join(
        f"{json.dumps(key)}: {json.dumps(entry)}"
        for key, entry in sorted(document["matches"].items())
    )
    return json.dumps(head)[:-1] + ',\n"matches": {\n' + matches + "\n}}\n"


def _seat_pair(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    seat_0, seat_1 = (np.asarray(seat, dtype=np.float64).reshape(-1, 2) for seat in values)
    return seat_0, seat_1


@dataclass
class Summary:
    """What a summary file holds (see summary_document), read back."""

    plan: dict[str, Any]
    #: each finished record holds its final-window means as a one-iteration match, which the
    #: report reads exactly as the full one; a cross-play match's record has no arrays
    records: dict[str, MatchRecord]
    runs: list[Any]
    damaged: dict[str, str]
    #: the stored learning curves by match key
    curves: dict[str, Any]
    #: the cross-play matches' LeagueMeans by match key
    league: dict[str, LeagueMeans]


def read_summary(path: Path) -> Summary:
    """A summary file, read back (formats 1 to 3; format 1 has no learning curves, and
    formats before 3 hold cross-play matches per seed pairing)."""
    try:
        document = json.loads(path.read_text())
        if document.get("format") not in READABLE_SUMMARY_FORMATS:
            raise ValueError(
                f"format {document.get('format')!r}, expected one of {READABLE_SUMMARY_FORMATS}"
            )
        records, curves, league = {}, {}, {}
        for key, entry in document["matches"].items():
            if "curve" in entry:
                curves[key] = entry["curve"]
            record = MatchRecord(key, entry["status"], attempts=entry["attempts"])
            if record.done:
                record.evaluation = entry["evaluation"]
                if "final_rewards_by_seat" in entry:
                    league[key] = LeagueMeans(
                        _seat_pair(entry["final_rewards_by_seat"]),
                        {
                            name: _seat_pair(values)
                            for name, values in entry["final_metrics_by_seat"].items()
                        },
                    )
                else:
                    record.rewards = np.asarray(entry["final_rewards"], dtype=np.float64)[None]
                    record.metrics = {
                        name: np.asarray(values, dtype=np.float64)[None]
                        for name, values in entry["final_metrics"].items()
                    }
            else:
                record.error = entry["error"]
            records[key] = record
        return Summary(
            document["plan"], records, document["runs"], document["damaged"], curves, league
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"{path}: not a readable report summary ({error})") from error


def write_report(
    store: ResultStore | None, out: str | Path | None = None, summary: Path | None = None
) -> list[Path]:
    """Write every report file from `store` into `out` (default: the store's directory),
    with the summary that rebuilds them (SUMMARY_FILE); or, without a store, rebuild them
    from `summary`."""
    if store is not None:
        out = Path(out) if out is not None else store.directory
        plan = store.load_plan()
        keys = {cell["key"] for cell in plan["cells"] if cell["key"] is not None}
        records = {key: record for key in sorted(keys) if (record := store.load(key)) is not None}
        runs = store.runs()
        damaged = store.quarantined
        curves = learning_curves(plan, records)
        # reduced once, for the summary and the leaderboard alike
        league = all_league_means(plan, records)
        document = summary_document(plan, records, runs, damaged, curves, league)
    else:
        if summary is None or out is None:
            raise ValueError("write_report needs a store, or a summary and an output directory")
        out = Path(out)
        read = read_summary(summary)
        plan, records, runs, damaged = read.plan, read.records, read.runs, read.damaged
        curves, league = read.curves, read.league
        document = None
    out.mkdir(parents=True, exist_ok=True)
    board = build_leaderboard(plan, records, runs, damaged, league)
    written = _write_figures(out, board, plan, curves)
    if document is not None:
        _write_atomically(out / SUMMARY_FILE, _summary_text(document).encode())
        written.append(out / SUMMARY_FILE)
    for filename, text in (
        ("leaderboard.json", json.dumps(board, indent=2) + "\n"),
        ("leaderboard.md", render_markdown(board)),
        ("leaderboard.csv", render_csv(board)),
        ("index.html", render_html(board)),
    ):
        _write_atomically(out / filename, text.encode())
        written.append(out / filename)
    return written


def _write_figures(
    out: Path, board: dict[str, Any], plan: dict[str, Any], curves: dict[str, Any]
) -> list[Path]:
    """Draw every figure into a staging directory, move each into place, and list them in
    the board (`figures`: section -> [{file, caption}]) for the pages that show them."""
    staging = out / ".figures.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    drawn = write_figures(staging, board, plan, curves)
    written = []
    for files in drawn.values():
        for name, _ in files:
            (staging / name).replace(out / name)
            written.append(out / name)
    staging.rmdir()
    board["figures"] = {
        section: [{"file": name, "caption": caption} for name, caption in files]
        for section, files in drawn.items()
    }
    return written


def _figure_lines(board: dict[str, Any], section: str) -> list[str]:
    return [f"![{f['caption']}]({f['file']})\n" for f in board.get("figures", {}).get(section, [])]


def _figure_html(board: dict[str, Any], section: str) -> list[str]:
    return [
        f"<figure><img src='{html.escape(f['file'])}' alt='{html.escape(f['caption'])}'>"
        f"<figcaption>{html.escape(f['caption'])}</figcaption></figure>"
        for f in board.get("figures", {}).get(section, [])
    ]


def _write_atomically(path: Path, data: bytes) -> None:
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_bytes(data)
    staging.replace(path)
