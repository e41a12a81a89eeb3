"""Value estimates an algorithm can differentiate: exact where possible, sampled otherwise."""

from __future__ import annotations

import torch
from torch import Tensor

from shaping.contracts.algorithm import MatchView
from shaping.contracts.policies import PolicyFamily
from shaping.numerics.dice import batch_mean_baseline, dice_objective


def own_value(view: MatchView, family: PolicyFamily, params: Tensor) -> Tensor:
    """The player's own value [S] as a differentiable function of its parameters `params`.

    Exact V_own against the opponent's current policy when the game has exact values for this
    pair of policies. Otherwise a surrogate on this iteration's shared episodes whose gradient
    is the REINFORCE estimator with a batch-mean baseline,
    Σ_t γ^t ∇log π(a_t|s_t) (G_t - b_t) (Williams 1992), written as a DiCE objective.
    """
    if view.has_exact:
        return view.own_values(params)[0]
    episodes = view.trajectories
    log_probs = family.build(params).log_prob(episodes.observations[0], episodes.actions[0])
    baseline = batch_mean_baseline(episodes.discounted_returns(0))
    return dice_objective(episodes.rewards[0], log_probs, None, episodes.gamma, baseline)


def own_value_gradient(view: MatchView, family: PolicyFamily, params: Tensor) -> Tensor:
    """∇ of the player's own value at `params` (its current parameters), [S, d].

    Exact and shared with the co-player's computation on games with exact values; otherwise
    the REINFORCE estimate of `own_value`.
    """
    if view.has_exact:
        return view.own_gradient()
    leaf = params.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(own_value(view, family, leaf).sum(), leaf)
    return gradient
