"""What LOQA and Advantage Alignment share as learners that shape from their own episodes
only: they play every game against white-box and black-box opponents alike, and a match is a
function of its seed."""

from __future__ import annotations

import pytest

from shaping.engine.match import run_match

EPISODE_SHAPERS = ["loqa", "advantage_alignment"]


@pytest.mark.parametrize("name", EPISODE_SHAPERS)
def test_reproducible_with_a_fixed_seed(registry, ipd, name):
    def once():
        players = (registry.algorithm(name).build("ipd"), registry.algorithm("naive").build("ipd"))
        return run_match(ipd, players, seeds=2, iterations=5, seed=7).rewards

    assert (once() == once()).all()


@pytest.mark.parametrize("game_name", ["ipd", "matching_pennies", "coin_game"])
@pytest.mark.parametrize("name", EPISODE_SHAPERS)
def test_plays_every_game_against_any_opponent(registry, name, game_name):
    """Against a white-box learner and a black box alike it only needs the episodes."""
    game = registry.game(game_name).build()
    for opponent in ("naive", "tit_for_tat"):
        players = (
            registry.algorithm(name).build(game_name),
            registry.algorithm(opponent).build(game_name),
        )
        result = run_match(game, players, seeds=2, iterations=3)
        assert result.rewards.shape == (3, 2, 2)
