"""The leaderboard's arithmetic on hand-made results: seat handling, the final window, the
95% intervals, field means, both normalisations, partial cells, failures and n/a cells."""

from __future__ import annotations

import numpy as np
import pytest

from shaping.tournament.report import build_leaderboard, final_window, runs_in_report
from shaping.tournament.stats import student_t_quantile
from shaping.tournament.store import MatchRecord

ITERATIONS, SEEDS = 20, 3


def record(key: str, final: list[list[float]], cooperation: float = 0.5) -> MatchRecord:
    """A finished match whose final window has per-seed rewards `final` [S][2]; earlier
    iterations hold junk that the report must ignore."""
    rewards = np.full((ITERATIONS, SEEDS, 2), 100.0, dtype=np.float32)
    rewards[-final_window(ITERATIONS) :] = np.array(final, dtype=np.float32)
    metrics = {"cooperation": np.full((ITERATIONS, SEEDS, 2), cooperation, dtype=np.float32)}
    metrics["cooperation"][-final_window(ITERATIONS) :, :, 1] = 1 - cooperation
    return MatchRecord(key, "done", "exact", rewards, metrics)


def plan(reference: dict[str, float] | None, entrants=("x", "y"), not_applicable=None) -> dict:
    not_applicable = not_applicable or {}
    cells = []
    for a in [*entrants, *not_applicable]:
        for b in [*entrants, *not_applicable]:
            reasons = [
                f"{n}: {not_applicable[n]}" for n in dict.fromkeys((a, b)) if n in not_applicable
            ]
            cells.append(
                {
                    "game": "g",
                    "a": a,
                    "b": b,
                    "key": None if reasons else f"{a}-{b}",
                    "not_applicable": "; ".join(reasons) or None,
                }
            )
    return {
        "profile": "test",
        "profile_source": "test.yaml",
        "description": "",
        "seed": 0,
        "device": "cpu",
        "games": {
            "g": {
                "description": "",
                "paper": "",
                "config": {},
                "seeds": SEEDS,
                "iterations": ITERATIONS,
                "metrics": ["cooperation"],
                "reference": reference,
            }
        },
        "entrants": [
            {
                "name": name,
                "paper": "",
                "description": "",
                "assumptions": [],
                "white_box": False,
                "pretrained": False,
                "extensions": {},
                "overrides": {},
                "not_applicable": {"g": not_applicable[name]} if name in not_applicable else {},
            }
            for name in [*entrants, *not_applicable]
        ],
        "cells": cells,
    }


RECORDS = {
    "x-x": record("x-x", [[1.0, 3.0], [2.0, 2.0], [0.0, 0.0]]),
    "x-y": record("x-y", [[4.0, -1.0], [5.0, -2.0], [6.0, -3.0]], cooperation=0.25),
    "y-x": record("y-x", [[0.0, 2.0], [1.0, 3.0], [2.0, 4.0]], cooperation=0.75),
    "y-y": record("y-y", [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]),
}


def test_head_to_head_averages_both_seatings_over_the_final_window():
    board = build_leaderboard(plan({"mutual_cooperation": 3.0, "mutual_defection": 1.0}), RECORDS)
    h2h = board["games"]["g"]["head_to_head"]
    # x vs y: x's seat-a rewards (4, 5, 6) and seat-b rewards (2, 3, 4) -> per seed 3, 4, 5
    assert h2h["x"]["y"]["reward"]["mean"] == pytest.approx(4.0)
    assert h2h["x"]["y"]["reward"]["ci95"] == pytest.approx(student_t_quantile(0.975, 2) / 3**0.5)
    # y vs x: (-1, -2, -3) as b and (0, 1, 2) as a -> per seed -0.5, -0.5, -0.5
    assert h2h["y"]["x"]["reward"] == {"mean": pytest.approx(-0.5), "ci95": pytest.approx(0.0)}
    # self-play counts both seats: per seed 2, 2, 0
    assert h2h["x"]["x"]["reward"]["mean"] == pytest.approx(4 / 3)
    # welfare is the pair's, the same from both sides: per seed (3 + 2) / 2, ...
    assert h2h["x"]["y"]["welfare"] == h2h["y"]["x"]["welfare"]
    assert h2h["x"]["y"]["welfare"]["mean"] == pytest.approx(3.5)
    # behaviour is the row player's own: x cooperates 0.25 as a (x-y) and 1 - 0.75 as b (y-x)
    assert h2h["x"]["y"]["metrics"]["cooperation"]["mean"] == pytest.approx(0.25)
    assert h2h["y"]["x"]["metrics"]["cooperation"]["mean"] == pytest.approx(0.75)
    assert all(cell["status"] == "ok" for row in h2h.values() for cell in row.values())


def test_ranking_by_field_mean_and_payoff_normalisation():
    board = build_leaderboard(plan({"mutual_cooperation": 3.0, "mutual_defection": 1.0}), RECORDS)
    ranking = board["games"]["g"]["ranking"]
    assert [entry["algorithm"] for entry in ranking] == ["x", "y"]
    x_field = np.mean([[2.0, 2.0, 0.0], [3.0, 4.0, 5.0]], axis=0)  # per seed over opponents
    assert ranking[0]["mean"] == pytest.approx(x_field.mean())
    assert ranking[0]["normalised"] == pytest.approx((x_field.mean() - 1.0) / 2.0)
    assert ranking[1]["mean"] == pytest.approx(0.25)  # (1 + -0.5) / 2
    overall = board["overall"]
    assert [(e["rank"], e["algorithm"]) for e in overall] == [(1, "x"), (2, "y")]
    # two entrants' standardised field scores are +1 and -1, whatever the payoff units
    assert [e["score"] for e in overall] == pytest.approx([1.0, -1.0])
    assert ranking[1]["standardised"] == pytest.approx(-1.0)
    assert board["games"]["g"]["order"] == ["x", "y"]


def test_zero_sum_games_are_normalised_by_rank_with_ties_shared():
    records = dict(RECORDS)
    board = build_leaderboard(plan({"mutual_cooperation": 0.0, "mutual_defection": 0.0}), records)
    assert board["games"]["g"]["normalisation"] == "rank"
    assert [e["normalised"] for e in board["games"]["g"]["ranking"]] == [1.0, 0.0]
    # three entrants, two tied: 1 for the first, the tied pair shares (0.5 + 0) / 2
    three = plan(None, entrants=("x", "y", "z"))
    flat = [[0.0, 0.0]] * SEEDS
    records = {c["key"]: record(c["key"], flat) for c in three["cells"]}
    records["x-y"] = record("x-y", [[3.0, 0.0]] * SEEDS)
    records["x-z"] = record("x-z", [[3.0, 0.0]] * SEEDS)
    ranking = build_leaderboard(three, records)["games"]["g"]["ranking"]
    assert [(e["algorithm"], e["normalised"]) for e in ranking] == [
        ("x", 1.0),
        ("y", 0.25),
        ("z", 0.25),
    ]


def test_failures_partial_cells_missing_matches_and_n_a():
    records = dict(RECORDS)
    records["y-x"] = MatchRecord("y-x", "failed", error="MatchDiverged: boom", attempts=2)
    del records["y-y"]
    board = build_leaderboard(plan(None, not_applicable={"w": "cannot see coins"}), records)
    h2h = board["games"]["g"]["head_to_head"]
    assert h2h["x"]["y"]["status"] == "partial" and h2h["x"]["y"]["seatings"] == 1
    assert h2h["x"]["y"]["reward"]["mean"] == pytest.approx(5.0)  # seat a only: 4, 5, 6
    assert h2h["y"]["y"]["status"] == "missing" and "reward" not in h2h["y"]["y"]
    assert "w" not in h2h and board["games"]["g"]["order"] == ["x", "y"]
    assert board["failures"] == [
        {
            "game": "g",
            "a": "y",
            "b": "x",
            "section": "learning_together",
            "key": "y-x",
            "error": "MatchDiverged: boom",
            "attempts": 2,
        }
    ]
    assert board["not_played_yet"] == [
        {"game": "g", "a": "y", "b": "y", "section": "learning_together"}
    ]
    reasons = {(i["a"], i["b"]): i["reason"] for i in board["not_applicable"]}
    assert reasons["w", "x"] == reasons["x", "w"] == reasons["w", "w"] == "w: cannot see coins"
    counts = board["tournament"]
    assert (counts["matches"], counts["done"], counts["failed"], counts["not_played_yet"]) == (
        4,
        2,
        1,
        1,
    )
    assert counts["not_applicable_cells"] == 5
    # w plays no game: it is listed last, unranked
    assert board["overall"][-1] == {
        "algorithm": "w",
        "score": None,
        "ci95": None,
        "tied_with": [],
        "games": {},
        "games_played": 0,
        "complete": True,
        "rank": None,
    }
    # x's and y's cells are partial or missing: the game's ranking says so
    section = board["games"]["g"]
    assert not section["complete"] and section["unranked"] == []
    assert [entry["complete"] for entry in board["overall"][:2]] == [False, False]


def test_final_window_is_ten_percent_at_least_one():
    assert [final_window(n) for n in (1, 9, 10, 11, 200)] == [1, 1, 1, 2, 20]


def test_the_report_names_only_the_runs_whose_matches_it_shows():
    """A recompute replaces every match of an older run: that run leaves the report. A match
    replayed later (e.g. --retry-failed) belongs to the later run. A run stored before runs
    kept their match keys is listed only while some match has no keyed run."""
    legacy = {"command": "old", "played": 3}
    first = {"command": "first", "played": 2, "keys": ["k1", "k2"]}
    retry = {"command": "retry", "played": 1, "keys": ["k2"]}
    stale = {"command": "stale", "played": 1, "keys": ["gone"]}
    listed = runs_in_report([legacy, first, retry, stale], {"k1", "k2"})
    assert [run["command"] for run in listed] == ["first", "retry"]
    assert [run["in_report"] for run in listed] == [1, 1]
    assert all("keys" not in run for run in listed)
    listed = runs_in_report([legacy, first], {"k1", "k2", "k3"})
    assert [run["command"] for run in listed] == ["old", "first"]
    assert "in_report" not in listed[0] and listed[1]["in_report"] == 2


def test_meta_game_rankings_of_a_section_find_the_dominant_entrant():
    """x beats y head to head (4 against -0.5 per step) and does better against itself than
    y against x: α-Rank in the limit, the Nash equilibrium of H - Hᵀ and the replicator flow
    all put x alone on top; y's Nash average is its loss against x, -4.5."""
    board = build_leaderboard(plan({"mutual_cooperation": 3.0, "mutual_defection": 1.0}), RECORDS)
    meta = board["games"]["g"]["metagame"]
    assert meta["entrants"] == ["x", "y"] and meta["left_out"] == []
    assert meta["alpharank"]["limit_mass"]["x"] == pytest.approx(1.0, abs=1e-6)
    assert meta["alpharank"]["mass"]["x"] > 0.9 and meta["alpharank"]["m"] == 50
    assert meta["nash_averaging"]["x"] == {"mass": pytest.approx(1.0), "nash_average": 0.0}
    assert meta["nash_averaging"]["y"]["nash_average"] == pytest.approx(-4.5)
    assert meta["replicator"]["x"] > 0.99
    assert meta["agreement"] == "All four rankings put x first."


def test_meta_game_rankings_of_a_cycle_are_uniform():
    """Rock-paper-scissors between three entrants (each beats the next by 1 per step, 0 in
    self-play): α-Rank's masses and the Nash equilibrium are uniform, every Nash average 0."""
    names = ("r", "p", "s")
    beats = {("r", "s"), ("s", "p"), ("p", "r")}
    records = {}
    for a in names:
        for b in names:
            first = 0.0 if a == b else 1.0 if (a, b) in beats else -1.0
            records[f"{a}-{b}"] = record(f"{a}-{b}", [[first, -first]] * SEEDS)
    board = build_leaderboard(plan(None, entrants=names), records)
    meta = board["games"]["g"]["metagame"]
    for name in names:
        assert meta["alpharank"]["mass"][name] == pytest.approx(1 / 3, abs=1e-6)
        assert meta["nash_averaging"][name]["mass"] == pytest.approx(1 / 3, abs=1e-6)
        assert meta["nash_averaging"][name]["nash_average"] == pytest.approx(0.0, abs=1e-6)
    edges = {(resident, mutant) for resident, mutant, _ in meta["alpharank"]["response_graph"]}
    assert edges == {("s", "r"), ("p", "s"), ("r", "p")}  # each resident falls to its beater


def test_a_league_match_reduces_to_per_agent_means_of_each_seat():
    """Cross-play pairing k meets seat a's agent k // n_b with seat b's agent k % n_b: the
    report (and the summary) keep, per agent of each seat, both seats' means over its
    pairings, and read a row entrant's cell per its own agent."""
    from shaping.tournament.report import _league_seating, league_means

    pairings = np.arange(6, dtype=np.float32)  # 2 agents in seat a, 3 in seat b
    rewards = np.stack([pairings, 10 * pairings], axis=1)[None]  # [1 iteration, 6, 2]
    metrics = {"cooperation": np.stack([pairings / 10, 1 - pairings / 10], axis=1)[None]}
    means = league_means(MatchRecord("k", "done", "exact", rewards, metrics), (2, 3))
    seat_a, seat_b = means.rewards
    # seat a's agent 0 played pairings 0-2, agent 1 pairings 3-5
    np.testing.assert_allclose(seat_a, [[1.0, 10.0], [4.0, 40.0]])
    # seat b's agent j played pairings j and j + 3
    np.testing.assert_allclose(seat_b, [[1.5, 15.0], [2.5, 25.0], [3.5, 35.0]])
    as_b = _league_seating(means, 1)
    np.testing.assert_allclose(as_b.own, [15.0, 25.0, 35.0])
    np.testing.assert_allclose(as_b.welfare, [16.5, 27.5, 38.5])
    np.testing.assert_allclose(as_b.metrics["cooperation"], [0.85, 0.75, 0.65])
    # self-play (one entrant in both seats, equal counts): the mean of its two seats
    square = league_means(MatchRecord("k", "done", "exact", rewards[:, :4], metrics), (2, 2))
    both = _league_seating(square, None)
    np.testing.assert_allclose(both.own, [(0.5 + 10.0) / 2, (2.5 + 20.0) / 2])
