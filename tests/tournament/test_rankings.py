"""The overall ranking: standardised per-game scores (no game's payoff scale decides the
order), a bootstrap interval over seeds, and ties inside the noise."""

from __future__ import annotations

import numpy as np
import pytest

from shaping.tournament.rankings import game_scores, overall_ranking, standardise


def samples(field: dict[str, float], noise: float, seeds: int = 16, seed: int = 0):
    """entrant -> 3 opponents' per-seed values around `field[entrant]`."""
    rng = np.random.default_rng(seed)
    return {
        name: [mean + noise * rng.standard_normal(seeds) for _ in range(3)]
        for name, mean in field.items()
    }


def ranking(games: dict[str, dict[str, list[np.ndarray]]]):
    rng = np.random.default_rng(0)
    return overall_ranking({game: game_scores(s, rng) for game, s in games.items()})


def test_standardised_scores_have_mean_zero_and_unit_spread_and_ignore_payoff_units():
    values = np.array([[0.1, 0.4, -2.0, 0.7]])
    scores = standardise(values)
    assert scores.mean() == pytest.approx(0.0, abs=1e-12)
    assert scores.std() == pytest.approx(1.0)
    np.testing.assert_allclose(standardise(10 * values + 3), scores)
    assert np.all(standardise(np.ones((1, 3))) == 0)


def test_a_game_on_a_large_payoff_scale_does_not_decide_the_order():
    """Two games disagree (a leads one, b the other, by the same standardised margin); the
    second is in payoff units 100 times larger. The overall scores of a and b are equal: the
    ranking is the games' average, not the larger scale's."""
    first = {"a": 1.0, "b": 0.0, "c": 0.5}
    second = {"a": 0.0, "b": 100.0, "c": 50.0}
    board = {
        entry.algorithm: entry
        for entry in ranking({"small": samples(first, 0.0), "large": samples(second, 0.0)})
    }
    assert board["a"].score == pytest.approx(board["b"].score)
    assert board["c"].score == pytest.approx(0.0, abs=1e-12)


def test_the_interval_covers_the_score_and_noise_free_differences_are_not_ties():
    board = ranking({"g": samples({"a": 1.0, "b": 0.0, "c": -1.0}, 0.0)})
    assert [e.algorithm for e in board] == ["a", "b", "c"]
    assert [e.rank for e in board] == [1, 2, 3]
    assert all(e.low == pytest.approx(e.score) == pytest.approx(e.high) for e in board)
    assert all(not e.tied_with for e in board)


def test_differences_inside_the_noise_are_ties_sharing_a_rank():
    """a and b differ by 0.01 with per-seed noise 1 (16 seeds): tied; c is far below both."""
    board = ranking({"g": samples({"a": 0.01, "b": 0.0, "c": -5.0}, 1.0)})
    ranks = {e.algorithm: e.rank for e in board}
    assert ranks["a"] == ranks["b"] == 1 and ranks["c"] == 3
    assert {e.algorithm: e.tied_with for e in board}["a"] == ["b"]
    for entry in board:
        assert entry.low <= entry.score <= entry.high


def test_entrants_are_averaged_over_the_games_they_have_data_on():
    board = ranking(
        {
            "both": samples({"a": 1.0, "b": 0.0, "c": 0.5}, 0.0),
            "one": samples({"a": 0.0, "b": 1.0}, 0.0),
        }
    )
    entries = {e.algorithm: e for e in board}
    assert set(entries["c"].games) == {"both"}
    assert entries["c"].score == pytest.approx(entries["c"].games["both"])
    assert entries["a"].score == pytest.approx(np.mean(list(entries["a"].games.values())))


def test_the_bootstrap_is_reproducible():
    data = {"g": samples({"a": 0.2, "b": 0.0}, 0.5)}
    assert ranking(data) == ranking(data)
