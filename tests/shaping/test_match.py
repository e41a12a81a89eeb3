"""The match loop and MatchView: determinism, what each player may see, seat-aware values,
divergence detection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from shaping.contracts.algorithm import Algorithm, MatchView, Outcome
from shaping.contracts.errors import MatchDiverged, UnsupportedError
from shaping.contracts.policies import FunctionPolicy, TabularPolicy
from shaping.engine.match import run_match
from tests.conftest import generator


def play(registry, game_name, a, b, seeds=4, iterations=10, seed=0):
    game = registry.game(game_name).build()
    algorithms = (registry.algorithm(a).build(game_name), registry.algorithm(b).build(game_name))
    return run_match(game, algorithms, seeds=seeds, iterations=iterations, seed=seed)


def test_same_seed_same_numbers_different_seed_different_numbers(registry):
    first = play(registry, "coin_game", "naive", "tit_for_tat", seeds=2, iterations=3, seed=7)
    again = play(registry, "coin_game", "naive", "tit_for_tat", seeds=2, iterations=3, seed=7)
    other = play(registry, "coin_game", "naive", "tit_for_tat", seeds=2, iterations=3, seed=8)
    assert np.array_equal(first.rewards, again.rewards)
    assert np.array_equal(first.metrics["own_coin_ratio"], again.metrics["own_coin_ratio"])
    assert not np.array_equal(first.rewards, other.rewards)


def test_record_shapes_and_evaluation_mode(registry):
    exact = play(registry, "ipd", "naive", "tit_for_tat", seeds=3, iterations=5)
    assert exact.rewards.shape == (5, 3, 2) and exact.metrics["cooperation"].shape == (5, 3, 2)
    assert exact.evaluation == "exact"
    sampled = play(registry, "coin_game", "naive", "random", seeds=2, iterations=2)
    assert sampled.evaluation == "sampled"


def test_summary_interval_is_student_t_over_seeds(registry):
    """With 4 seeds the 95% half-width is t(0.975, 3) = 3.182 standard errors, not 1.96."""
    result = play(registry, "ipd", "naive", "random", seeds=4, iterations=2)
    final = result.rewards[-1]
    standard_error = final.std(axis=0, ddof=1) / 2
    assert standard_error.min() > 0
    np.testing.assert_allclose(
        result.summary()["final_reward_ci95"], 3.182446 * standard_error, rtol=1e-5
    )


@pytest.fixture
def ipd_outcome(ipd):
    params_a = torch.randn(4, 5, generator=generator(1))
    params_b = torch.randn(4, 5, generator=generator(2))
    policies = (TabularPolicy(params_a), TabularPolicy(params_b))
    return Outcome(ipd, policies, 4, generator(3)), params_a, params_b


def test_only_white_box_algorithms_see_the_opponents_parameters(ipd_outcome):
    outcome, params_a, _ = ipd_outcome
    blind = MatchView(outcome, 0, 0, reveal_opponent=False)
    assert not blind.sees_opponent
    with pytest.raises(UnsupportedError):
        _ = blind.opponent_params
    seeing = MatchView(outcome, 1, 0, reveal_opponent=True)
    assert torch.equal(seeing.opponent_params, params_a)
    assert not seeing.opponent_params.requires_grad


def test_black_box_opponents_stay_hidden_even_from_white_box_algorithms(ipd):
    opponent = FunctionPolicy(lambda obs: torch.full((*obs.shape, 2), 0.5))
    outcome = Outcome(ipd, (TabularPolicy(torch.zeros(2, 5)), opponent), 2, generator(4))
    view = MatchView(outcome, 0, 0, reveal_opponent=True)
    assert not view.sees_opponent and not view.has_exact
    assert view.trajectories.actions[1].shape == (ipd.horizon, 2, ipd.batch)


def test_views_are_seat_aware(ipd_outcome, ipd):
    outcome, params_a, params_b = ipd_outcome
    second = MatchView(outcome, 1, 0, reveal_opponent=True)
    own, opponent = second.values(params_b, params_a)
    v1, v2 = ipd.exact(params_a, params_b)
    torch.testing.assert_close(own, v2)
    torch.testing.assert_close(opponent, v1)
    torch.testing.assert_close(second.own_values(params_b)[0], v2)
    # trajectories are shown own data first
    assert torch.equal(second.trajectories.actions[0], outcome.trajectories.actions[1])


@dataclass(frozen=True)
class _NoConfig:
    pass


class ExplodingLearner(Algorithm):
    """Plays a normal tabular policy, then NaN logits from iteration 3 on."""

    Config = _NoConfig

    def init(self, game, player, seeds, generator):
        return 0, torch.zeros(seeds, 5)

    def policy(self, state):
        return TabularPolicy(state[1])

    def update(self, state, view):
        iteration, params = state
        return iteration + 1, (params if iteration < 2 else torch.full_like(params, float("nan")))


def test_non_finite_rewards_raise_match_diverged(registry, ipd):
    algorithms = (ExplodingLearner(_NoConfig()), registry.algorithm("naive").build("ipd"))
    with pytest.raises(MatchDiverged, match="non-finite reward at iteration 3"):
        run_match(ipd, algorithms, seeds=2, iterations=8, check_every=4)


class PicklyLearner(ExplodingLearner):
    def supports(self, game):
        return "only plays chess"


def test_an_algorithm_that_cannot_play_says_why(ipd):
    with pytest.raises(UnsupportedError, match="only plays chess"):
        run_match(
            ipd, (PicklyLearner(_NoConfig()), PicklyLearner(_NoConfig())), seeds=1, iterations=1
        )
