"""Fixed strategies: they never change, and they score their known values in matches."""

from __future__ import annotations

import numpy as np
import pytest

from shaping.engine.match import run_match

GAMMA = 0.96


def play(registry, game_name, a, b, seeds=2, iterations=3):
    game = registry.game(game_name).build()
    algorithms = (registry.algorithm(a).build(game_name), registry.algorithm(b).build(game_name))
    return run_match(game, algorithms, seeds=seeds, iterations=iterations)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("always_cooperate", "always_cooperate", (-1.0, -1.0)),
        ("always_defect", "always_cooperate", (0.0, -3.0)),
        ("always_defect", "tit_for_tat", (GAMMA * -2, (1 - GAMMA) * -3 + GAMMA * -2)),
        ("random", "always_defect", (-2.5, -1.0)),
    ],
)
def test_ipd_matches_of_fixed_strategies_give_exact_known_values(registry, a, b, expected):
    result = play(registry, "ipd", a, b)
    assert np.allclose(result.rewards, np.array(expected), atol=1e-5)


def test_matching_pennies_fixed_strategies(registry):
    # both always play heads: the matcher (row) wins every round
    result = play(registry, "matching_pennies", "always_cooperate", "always_cooperate")
    assert np.allclose(result.rewards, [1.0, -1.0], atol=1e-6)
    # tit-for-tat copies the column player's last coin: against a constant it matches it
    result = play(registry, "matching_pennies", "tit_for_tat", "always_defect")
    expected_row = (1 - 0.9) * -1 + 0.9 * 1  # mismatch in round 1, then always matched
    assert np.allclose(result.rewards[:, :, 0], expected_row, atol=1e-5)


def test_fixed_strategies_never_change(registry):
    result = play(registry, "ipd", "tit_for_tat", "random", seeds=3, iterations=6)
    assert np.all(result.rewards == result.rewards[0])


def test_coin_game_cooperators_share_the_coins(registry):
    result = play(registry, "coin_game", "always_cooperate", "always_cooperate", iterations=2)
    assert np.all(result.metrics["own_coin_ratio"] == 1.0)
    assert np.all(result.rewards > 0.25)
    exploited = play(registry, "coin_game", "always_cooperate", "always_defect", iterations=2)
    assert np.all(exploited.rewards[:, :, 0] < 0) and np.all(exploited.rewards[:, :, 1] > 0.4)
