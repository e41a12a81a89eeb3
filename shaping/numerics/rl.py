"""Reinforcement-learning building blocks shared by the sample-based algorithms: discounted
returns, generalised advantage estimation, and PPO's clipped surrogate.

All functions are batched: time is the first dimension, anything after it (seeds, episodes)
is carried along.
"""

from __future__ import annotations

import torch
from torch import Tensor


def discounted_returns(rewards: Tensor, gamma: float, bootstrap: Tensor | None = None) -> Tensor:
    """G_t = Σ_{k≥t} γ^(k-t) r_k (+ γ^(T-t) bootstrap), for rewards [T, ...]."""
    returns = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[0]) if bootstrap is None else bootstrap
    for step in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[step] + gamma * running
        returns[step] = running
    return returns


def generalized_advantages(
    rewards: Tensor,
    values: Tensor,
    gamma: float,
    lam: float,
    last_value: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """GAE(γ, λ) (Schulman et al. 2016, eq. 16): advantages and λ-returns, both [T, ...].

    A_t = Σ_k (γλ)^k δ_{t+k},  δ_t = r_t + γ V(s_{t+1}) - V(s_t), with V(s_T) = `last_value`
    (0 at the end of a finite episode).
    """
    following = torch.zeros_like(values[0]) if last_value is None else last_value
    advantages = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[0])
    for step in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[step] + gamma * following - values[step]
        running = delta + gamma * lam * running
        advantages[step] = running
        following = values[step]
    return advantages, advantages + values


def normalized(x: Tensor, dim: int | tuple[int, ...] | None = None, eps: float = 1e-8) -> Tensor:
    """(x - mean) / (std + eps) over `dim` (all elements when None)."""
    if dim is None:
        return (x - x.mean()) / (x.std() + eps)
    return (x - x.mean(dim=dim, keepdim=True)) / (x.std(dim=dim, keepdim=True) + eps)


def ppo_clipped_objective(
    log_probs: Tensor, old_log_probs: Tensor, advantages: Tensor, clip: float
) -> Tensor:
    """PPO's clipped surrogate (Schulman et al. 2017, eq. 7), elementwise (to be maximised):
    min(ρ A, clip(ρ, 1 - ε, 1 + ε) A) with ρ = π(a|s) / π_old(a|s)."""
    ratio = torch.exp(log_probs - old_log_probs.detach())
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    return torch.minimum(ratio * advantages, clipped * advantages)
