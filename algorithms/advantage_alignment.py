"""Advantage Alignment (Duque et al. 2024, "Advantage Alignment Algorithms").

Opponent shaping reduced to a re-weighting of the agent's own advantages (method, Sec. 4):
actions are reinforced more when the agent's past advantages and the co-player's present one
agree,

    A*(s_t, a_t, b_t) = A¹_t + β γ · (Σ_{k<t} γ^(t-k) A¹_k) · A²_t ,

and A* replaces the advantage of a PPO-style proximal update ("Proximal Advantage
Alignment"): maximise E[min(ρ_t A*_t, clip(ρ_t, 1 - ε, 1 + ε) A*_t)] + entropy bonus, with
ρ_t = π(a_t | s_t) / π_old(a_t | s_t), over a few epochs on each batch of episodes.

A¹ and A² are generalised advantage estimates from two critics the agent learns itself: one
of its own rewards, one of the co-player's rewards seen from the co-player's observations
(both are in the episodes), so no access to the co-player's parameters is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from shaping.contracts.algorithm import Algorithm, MatchView
from shaping.contracts.config import field, in_range, non_negative, positive
from shaping.contracts.game import Game, Trajectories
from shaping.contracts.policies import ParametricPolicy, PolicyFamily
from shaping.families.actor_critic import Critic, actor_family, clip_by_norm, entropy
from shaping.numerics.optim import Ascent, OptimizerState
from shaping.numerics.rl import (
    discounted_returns,
    generalized_advantages,
    normalized,
    ppo_clipped_objective,
)


@dataclass(frozen=True)
class AdvantageAlignmentConfig:
    lr: float = field(1e-3, check=non_negative, doc="Adam learning rate of the policy")
    critic_lr: float = field(1e-3, check=non_negative, doc="Adam learning rate of the critics")
    beta: float = field(1.0, check=non_negative, doc="weight β of the alignment term")
    clip: float = field(0.2, check=in_range(0.0, 1.0, low_open=True), doc="PPO clip range ε")
    epochs: int = field(2, check=positive, doc="proximal updates per batch of episodes")
    entropy: float = field(0.01, check=non_negative, doc="entropy bonus")
    gae_lambda: float = field(0.95, check=in_range(0.0, 1.0), doc="GAE λ of A¹ and A²")
    grad_clip: float = field(1.0, check=positive, doc="max gradient norm per seed")
    hidden: int = field(64, check=positive, doc="GRU width of policy and critics (coin game)")
    batch: int = field(
        0, check=non_negative, doc="own episodes per seed (0: the match's shared ones)"
    )


@dataclass
class AdvantageAlignmentState:
    family: PolicyFamily
    params: Tensor
    optimizer: OptimizerState
    own_critic: Critic
    opponent_critic: Critic


def aligned_advantages(own: Tensor, other: Tensor, gamma: float, beta: float) -> Tensor:
    """A*_t = A¹_t + βγ (Σ_{k<t} γ^(t-k) A¹_k) A²_t for advantages [T, ...]."""
    past = torch.zeros_like(own)
    for step in range(1, own.shape[0]):
        past[step] = gamma * (past[step - 1] + own[step - 1])
    return own + beta * gamma * past * other


class AdvantageAlignment(Algorithm):
    """PPO on advantages re-weighted by the co-player's advantages."""

    Config = AdvantageAlignmentConfig
    assumptions = ("co-player's advantages from a critic of its observed rewards",)

    def __init__(self, config: AdvantageAlignmentConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        self.ascent = Ascent("adam", config.lr)
        self.critic_ascent = Ascent("adam", config.critic_lr)

    def init(
        self, game: Game, player: int, seeds: int, generator: torch.Generator
    ) -> AdvantageAlignmentState:
        family = actor_family(game, self.config.hidden)
        params = family.init(seeds, generator)
        hidden = self.config.hidden
        return AdvantageAlignmentState(
            family,
            params,
            self.ascent.init(params),
            Critic.create(game, 1, hidden, seeds, generator, self.critic_ascent),
            Critic.create(game, 1, hidden, seeds, generator, self.critic_ascent),
        )

    def policy(self, state: AdvantageAlignmentState) -> ParametricPolicy:
        return state.family.build(state.params)

    def advantages(self, state: AdvantageAlignmentState, episodes: Trajectories) -> Tensor:
        """A* [T, S, B] from both critics; A¹ and A² normalised per seed so that β is
        scale-free."""
        config, gamma = self.config, episodes.gamma
        pairs = ((state.own_critic, 0), (state.opponent_critic, 1))
        own, other = (
            normalized(
                generalized_advantages(
                    episodes.rewards[seat],
                    critic.outputs(episodes.observations[seat]).squeeze(-1),
                    gamma,
                    config.gae_lambda,
                )[0],
                dim=(0, 2),
            )
            for critic, seat in pairs
        )
        return aligned_advantages(own, other, gamma, config.beta)

    def update(self, state: AdvantageAlignmentState, view: MatchView) -> AdvantageAlignmentState:
        config = self.config
        own = self.policy(state)
        episodes = view.rollout(own, batch=config.batch) if config.batch else view.trajectories
        observations, actions = episodes.observations[0], episodes.actions[0]
        advantages = self.advantages(state, episodes)
        with torch.no_grad():
            old_log_probs = own.log_prob(observations, actions)
        params, optimizer = state.params, state.optimizer
        for _ in range(config.epochs):
            leaf = params.detach().requires_grad_(True)
            with torch.enable_grad():
                all_log_probs = state.family.build(leaf).action_log_probs(observations)
                log_probs = all_log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
                surrogate = ppo_clipped_objective(log_probs, old_log_probs, advantages, config.clip)
                objective = (surrogate + config.entropy * entropy(all_log_probs)).mean(dim=(0, 2))
                (gradient,) = torch.autograd.grad(objective.sum(), leaf)
            gradient = clip_by_norm(gradient, config.grad_clip)
            params, optimizer = self.ascent.step(params, gradient, optimizer)
        return AdvantageAlignmentState(
            state.family,
            params,
            optimizer,
            self.fit_critic(state.own_critic, episodes, 0),
            self.fit_critic(state.opponent_critic, episodes, 1),
        )

    def fit_critic(self, critic: Critic, episodes: Trajectories, seat: int) -> Critic:
        """One regression step of a value critic towards `seat`'s discounted returns (the
        Monte-Carlo critic target of the authors' code)."""
        returns = discounted_returns(episodes.rewards[seat], episodes.gamma)
        critic, _ = critic.fit(episodes.observations[seat], returns, self.critic_ascent, 0.0)
        return critic
