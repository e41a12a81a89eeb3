"""RL building blocks against hand-computed values."""

from __future__ import annotations

import torch

from shaping.numerics.rl import (
    discounted_returns,
    generalized_advantages,
    normalized,
    ppo_clipped_objective,
)


def test_discounted_returns_by_hand():
    rewards = torch.tensor([1.0, 0.0, 2.0]).unsqueeze(-1)
    returns = discounted_returns(rewards, 0.5)
    torch.testing.assert_close(returns[:, 0], torch.tensor([1.5, 1.0, 2.0]))
    bootstrapped = discounted_returns(rewards, 0.5, bootstrap=torch.tensor([4.0]))
    torch.testing.assert_close(bootstrapped[:, 0], torch.tensor([2.0, 2.0, 4.0]))


def test_gae_interpolates_between_td_and_monte_carlo():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [1.0], [0.2]])
    # λ = 1: advantages are Monte-Carlo returns minus values
    advantages, returns = generalized_advantages(rewards, values, 0.9, 1.0)
    torch.testing.assert_close(returns, discounted_returns(rewards, 0.9))
    torch.testing.assert_close(advantages, discounted_returns(rewards, 0.9) - values)
    # λ = 0: one-step TD errors r_t + γ V(s_t+1) - V(s_t)
    advantages, _ = generalized_advantages(rewards, values, 0.9, 0.0)
    expected = torch.tensor([[1.0 + 0.9 * 1.0 - 0.5], [0.0 + 0.9 * 0.2 - 1.0], [2.0 - 0.2]])
    torch.testing.assert_close(advantages, expected)


def test_ppo_objective_clips_only_in_the_improving_direction():
    old = torch.zeros(4)
    new = torch.log(torch.tensor([1.5, 1.5, 0.5, 0.5]))
    advantages = torch.tensor([1.0, -1.0, 1.0, -1.0])
    objective = ppo_clipped_objective(new, old, advantages, clip=0.2)
    # ratio 1.5 with A > 0 is clipped at 1.2; with A < 0 the unclipped (worse) value is kept
    torch.testing.assert_close(objective, torch.tensor([1.2, -1.5, 0.5, -0.8]))


def test_normalized_has_zero_mean_unit_std():
    x = torch.tensor([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    z = normalized(x, dim=1)
    torch.testing.assert_close(z.mean(1), torch.zeros(2), atol=1e-6, rtol=0)
    torch.testing.assert_close(z.std(1), torch.ones(2), atol=1e-4, rtol=0)
