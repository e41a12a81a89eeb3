"""The naive learner: the exact update rule, the unbiased policy-gradient path, and the
paper's result that naive learners end in mutual defection on the IPD."""

from __future__ import annotations

import math

import pytest
import torch

from algorithms.naive import NaiveConfig, NaiveLearner, NaiveState
from games.matrix import IteratedMatrixGame, MatrixGameConfig
from shaping.contracts.algorithm import MatchView, Outcome
from shaping.contracts.policies import FunctionPolicy, TabularPolicy
from shaping.engine.match import run_match
from tests.conftest import generator


def test_exact_update_is_one_gradient_ascent_step(ipd):
    learner = NaiveLearner(NaiveConfig(lr=0.7))
    state = learner.init(ipd, 0, 3, generator(1))
    opponent = torch.randn(3, 5, generator=generator(2))
    outcome = Outcome(ipd, (learner.policy(state), TabularPolicy(opponent)), 3, generator(3))
    updated = learner.update(state, MatchView(outcome, 0, 0, reveal_opponent=False))
    params = state.params.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(ipd.exact(params, opponent)[0].sum(), params)
    torch.testing.assert_close(updated.params, state.params + 0.7 * gradient)


def test_naive_learners_defect_in_the_ipd(registry, ipd):
    """LOLA paper, Sec. 4.1 / Fig. 3: NL vs NL ends near -2 (mutual defection)."""
    learners = (registry.algorithm("naive").build("ipd"), registry.algorithm("naive").build("ipd"))
    result = run_match(ipd, learners, seeds=32, iterations=100)
    final = result.rewards[-1]
    assert final.mean(0) == pytest.approx([-2.0, -2.0], abs=0.05)
    assert (final < -1.9).mean() > 0.9
    assert result.metrics["cooperation"][-1].mean() < 0.05


def test_policy_gradient_against_a_black_box_is_unbiased():
    """Against a black-box co-player there are no exact values: the naive learner's REINFORCE
    surrogate must then estimate the exact finite-horizon gradient. 32 replicate seeds share
    the same policies; their mean is within 4.5 standard errors of the exact gradient."""
    config = MatrixGameConfig(
        payoffs=[[[-1, -1], [-3, 0]], [[0, -3], [-2, -2]]], horizon=6, batch=4096
    )
    game = IteratedMatrixGame("ipd_short", config)
    replicates = 32
    theta = torch.randn(1, 5, generator=generator(4)).repeat(replicates, 1)
    opponent_logits = torch.randn(1, 5, generator=generator(5))
    black_box = FunctionPolicy(
        lambda obs: torch.stack(
            (torch.sigmoid(opponent_logits[0, obs]), 1 - torch.sigmoid(opponent_logits[0, obs])),
            dim=-1,
        )
    )
    learner = NaiveLearner(NaiveConfig(lr=1.0))
    state = NaiveState(game.default_family(), theta, learner.ascent.init(theta))
    outcome = Outcome(game, (learner.policy(state), black_box), replicates, generator(6))
    view = MatchView(outcome, 0, 0, reveal_opponent=True)
    assert not view.has_exact
    estimates = learner.update(state, view).params - theta
    params = theta[:1].clone().requires_grad_(True)
    (exact,) = torch.autograd.grad(
        game.exact(params, opponent_logits, horizon=config.horizon)[0].sum(), params
    )
    mean = estimates.mean(0)
    standard_error = estimates.std(0) / math.sqrt(replicates)
    assert torch.all((mean - exact[0]).abs() <= 4.5 * standard_error + 1e-6), (mean, exact)


def test_naive_learner_learns_to_exploit_a_cooperator_in_the_coin_game(registry, coin_game):
    """Policy gradient on sampled episodes: against always-cooperate the naive learner learns
    to take the cooperator's coins too, raising its reward per step."""
    algorithms = (
        registry.algorithm("naive").build("coin_game"),
        registry.algorithm("always_cooperate").build("coin_game"),
    )
    result = run_match(coin_game, algorithms, seeds=8, iterations=60, seed=1)
    start, end = result.rewards[:5, :, 0].mean(), result.rewards[-5:, :, 0].mean()
    assert end > start + 0.25
    assert result.rewards[-5:, :, 1].mean() < 0  # the cooperator now loses coins
