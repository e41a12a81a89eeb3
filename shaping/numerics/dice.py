"""DiCE: the Infinitely Differentiable Monte-Carlo Estimator (Foerster et al. 2018).

The magic box  □(x) = exp(x - stop_gradient(x))  evaluates to 1 but has derivative
□(x)·∇x, so a surrogate built with it has the right value *and* derivatives of every order.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch
from torch import Tensor

from shaping.numerics.rl import discounted_returns


def magic_box(x: Tensor) -> Tensor:
    """□(x) = exp(x - x.detach()): value 1, gradient □(x)·∇x (DiCE paper, Sec. 4)."""
    return torch.exp(x - x.detach())


def _discounts(gamma: float, steps: int, like: Tensor) -> Tensor:
    exponents = torch.arange(steps, device=like.device, dtype=like.dtype)
    return (gamma**exponents).reshape(steps, *([1] * (like.dim() - 1)))


def dice_objective(
    rewards: Tensor,
    log_probs_self: Tensor | None,
    log_probs_other: Tensor | None,
    gamma: float,
    baseline: Tensor | None = None,
) -> Tensor:
    """DiCE surrogate of one player's discounted return, averaged over episodes.

    J = E[ Σ_t γ^t r_t □(Σ_{k≤t} log π_1(a1_k) + log π_2(a2_k)) ]   (DiCE paper, eq. 3 with
    both players' actions as the stochastic nodes each reward depends on, as in LOLA-DiCE)
      + E[ Σ_t γ^t (1 - □(log π_1(a1_t) + log π_2(a2_t))) b_t ]     (baseline term, Mao et
    al. 2019: zero in value and unbiased in every derivative).

    rewards, log-probabilities, baseline: [T, S, B]; returns [S].
    """
    stochastic = [lp for lp in (log_probs_self, log_probs_other) if lp is not None]
    if not stochastic:
        raise ValueError("a DiCE objective needs the log-probabilities of at least one player")
    step_log_prob = stochastic[0] if len(stochastic) == 1 else stochastic[0] + stochastic[1]
    discounts = _discounts(gamma, rewards.shape[0], rewards)
    dependencies = torch.cumsum(step_log_prob, dim=0)
    objective = (magic_box(dependencies) * discounts * rewards).sum(0)
    if baseline is not None:
        objective = objective + ((1.0 - magic_box(step_log_prob)) * discounts * baseline).sum(0)
    return objective.mean(-1)


#: what each step's rewards are centred on before a DiCE objective is built from them:
#: `none`; `batch_mean`, the mean over the seed's episodes, the episode itself included
#: (the LOLA-DiCE code's choice): every derivative's expectation shrinks by 1 - 1/B;
#: `leave_one_out`, the mean over the seed's OTHER episodes: independent of the episode's
#: own actions, so derivatives of every order stay unbiased
RewardBaseline = Literal["none", "batch_mean", "leave_one_out"]


def with_reward_baseline(trajectories: Any, baseline: RewardBaseline) -> Any:
    """`trajectories` (a `Trajectories`, [T, S, B] rewards) with each step's rewards centred as
    `baseline` says. E[□(·)] = 1, so a constant subtracted from r_t changes no expected
    derivative; a baseline that depends on the episode itself (`batch_mean`) scales them by
    1 - 1/B. One episode per seed is left as it is (centring it would erase every reward)."""
    episodes = trajectories.batch
    if baseline == "none" or episodes < 2:
        return trajectories
    if baseline == "batch_mean":
        rewards = tuple(r - r.mean(dim=-1, keepdim=True) for r in trajectories.rewards)
    elif baseline == "leave_one_out":
        rewards = tuple(
            (r - r.mean(dim=-1, keepdim=True)) * (episodes / (episodes - 1))
            for r in trajectories.rewards
        )
    else:
        raise ValueError(f"unknown reward baseline {baseline!r}")
    return dataclasses.replace(trajectories, rewards=rewards)


def batch_mean_baseline(returns: Tensor) -> Tensor:
    """A simple baseline: the mean return-to-go over the episodes of each seed, [T, S, B]."""
    return returns.mean(dim=-1, keepdim=True).expand_as(returns)


def loaded_dice_returns(
    rewards: Tensor, log_probs: Tensor, values: Tensor, gamma: float, lam: float
) -> Tensor:
    """Returns-to-go G_t [T, ...] made differentiable in a policy's log-probabilities [T, ...].

    The value is the sampled return G_t = Σ_{k≥t} γ^(k-t) r_k; the gradient is the Loaded-DiCE
    estimate (Farquhar et al. 2019, eq. 8, with baseline `values` V_k and the extra discount λ
    on distant dependencies) of how that policy changes E[G_t]:

        ∇G_t ≈ Σ_{k≥t} (γλ)^(k-t) (G_k - V_k) ∇log π(a_k | s_k).

    Each (G_k - V_k) is multiplied by □(Σ_{j≤k} log π_j) - □(Σ_{j<k} log π_j), which is zero in
    value and has gradient ∇log π_k.
    """
    returns = discounted_returns(rewards.detach(), gamma)
    boxes = magic_box(torch.cumsum(log_probs, dim=0))
    previous = torch.cat((torch.ones_like(boxes[:1]), boxes[:-1]))
    weighted = (returns - values.detach()) * (boxes - previous)
    return returns + discounted_returns(weighted, gamma * lam)
