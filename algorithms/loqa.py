"""LOQA: Learning with Opponent Q-Learning Awareness (Aghajohari et al. 2024, ICLR).

LOQA assumes the co-player acts by a softmax over its action values (method, Sec. 4),

    π̂²(b | s) = exp(Q²(s, b) / T) / Σ_b' exp(Q²(s, b') / T),

and notices that Q²(s_t, b_t) of the action the co-player took is an expectation over the
agent's own future actions. Replacing it by the co-player's sampled return, made
differentiable in the agent's log-probabilities with (Loaded) DiCE (Farquhar et al. 2019),

    Q̃²_t = r²_t + γ G̃²_{t+1},   ∇G̃²_t = Σ_{k≥t} (γλ)^(k-t) (G²_k - V²_k) ∇log π¹(a_k | s_k),

makes π̂² a differentiable function of the agent's policy. The actor then ascends its
advantage-weighted objective plus the shaping term through the modelled co-player:

    J = E[ Σ_t A¹(s_t, a_t) (log π¹(a_t | s_t) + w · log π̂²(b_t | s_t)) ] + β H(π¹),

with A¹_t = r¹_t + γ V¹(s_t+1) - V¹(s_t) from the agent's own Q-network (V = Σ_a π Q; GAE(λ)
optionally), centred per seed. Both Q-networks, the agent's own Q¹ and its model Q² of the
co-player, are learned from the episodes (the co-player's rewards are observed) by TD(λ)
towards an exponential-moving-average target network (the authors' code: TD(0)), so LOQA
needs no access to the co-player's parameters.

Training as in the paper: self-play happens when LOQA meets LOQA; a replay buffer of the
agent's own past policies optionally adds ε-greedy episodes against past selves.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from shaping.contracts.algorithm import Algorithm, MatchView
from shaping.contracts.config import field, in_range, non_negative, positive
from shaping.contracts.game import Game, Trajectories
from shaping.contracts.policies import ParametricPolicy, PolicyFamily
from shaping.families.actor_critic import (
    Critic,
    Exploring,
    PolicyReplay,
    actor_family,
    clip_by_norm,
    entropy,
)
from shaping.numerics.dice import loaded_dice_returns
from shaping.numerics.optim import Ascent, OptimizerState
from shaping.numerics.rl import generalized_advantages, normalized


@dataclass(frozen=True)
class LOQAConfig:
    actor_lr: float = field(1e-3, check=non_negative, doc="Adam learning rate of the policy")
    critic_lr: float = field(1e-2, check=non_negative, doc="Adam learning rate of the Q-networks")
    temperature: float = field(
        1.0, check=positive, doc="softmax temperature T of the co-player model"
    )
    shaping_lambda: float = field(
        0.9, check=in_range(0.0, 1.0), doc="λ: discount of the DiCE dependencies"
    )
    shaping_weight: float = field(1.0, check=non_negative, doc="weight w of the shaping term")
    entropy: float = field(0.1, check=non_negative, doc="entropy bonus β")
    advantage_lambda: float = field(0.0, check=in_range(0.0, 1.0), doc="GAE λ of A¹ (0: TD(0))")
    grad_clip: float = field(1.0, check=positive, doc="max gradient norm per seed")
    q_lambda: float = field(0.0, check=in_range(0.0, 1.0), doc="TD(λ) of the Q targets (0: TD(0))")
    target_decay: float = field(
        0.99, check=in_range(0.0, 1.0), doc="EMA decay of the target Q-network"
    )
    hidden: int = field(64, check=positive, doc="GRU width of policy and Q-networks (coin game)")
    batch: int = field(
        0, check=non_negative, doc="own episodes per seed (0: the match's shared ones)"
    )
    self_play_batch: int = field(0, check=non_negative, doc="self-play episodes per seed")
    explore: float = field(0.0, check=in_range(0.0, 1.0), doc="ε-greedy in self-play episodes")
    replay_capacity: int = field(0, check=non_negative, doc="past selves kept (0: current self)")
    replay_every: int = field(10, check=positive, doc="iterations between snapshots")


@dataclass
class LOQAState:
    family: PolicyFamily
    params: Tensor
    optimizer: OptimizerState
    own_q: Critic
    opponent_q: Critic
    replay: PolicyReplay
    generator: torch.Generator


def sarsa_targets(rewards: Tensor, taken_q: Tensor, gamma: float, lam: float) -> Tensor:
    """TD(λ) targets [T, S, B] from the (target network's) Q of the actions taken, taken_q_t =
    Q(s_t, a_t): y_t = r_t + γ ((1 - λ) Q(s_t+1, a_t+1) + λ y_t+1), the episode ending after
    the last step (λ = 0: SARSA's TD(0), as in the LOQA code; λ = 1: Monte-Carlo returns)."""
    targets = torch.empty_like(rewards)
    following = torch.zeros_like(rewards[0])
    for step in range(rewards.shape[0] - 1, -1, -1):
        targets[step] = rewards[step] + gamma * following
        following = (1 - lam) * taken_q[step] + lam * targets[step]
    return targets


def modelled_opponent_log_probs(
    opponent_q: Tensor,
    opponent_actions: Tensor,
    opponent_rewards: Tensor,
    own_log_probs: Tensor,
    gamma: float,
    shaping_lambda: float,
    temperature: float,
) -> Tensor:
    """log π̂²(b_t | s_t) [T, S, B] of the co-player's actions under the softmax model, with
    Q²(s_t, b_t) replaced by r²_t + γ G̃²_t+1, differentiable in `own_log_probs`.

    opponent_q: the model's Q-values [T, S, B, A] (constants); the baseline of the DiCE
    estimator is the model's state value V² = Σ_b π̂²(b) Q²(s, b).
    """
    model = torch.softmax(opponent_q / temperature, dim=-1)
    values = (model * opponent_q).sum(-1)
    returns = loaded_dice_returns(opponent_rewards, own_log_probs, values, gamma, shaping_lambda)
    following = torch.cat((returns[1:], torch.zeros_like(returns[:1])))
    taken = opponent_rewards + gamma * following
    logits = opponent_q.scatter(-1, opponent_actions.unsqueeze(-1), taken.unsqueeze(-1))
    log_probs = torch.log_softmax(logits / temperature, dim=-1)
    return log_probs.gather(-1, opponent_actions.unsqueeze(-1)).squeeze(-1)


class LOQA(Algorithm):
    """Actor-critic with a differentiable softmax-Q model of the co-player."""

    Config = LOQAConfig
    assumptions = ("co-player modelled from observed rewards (softmax over its Q-values)",)

    def __init__(self, config: LOQAConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        self.actor_ascent = Ascent("adam", config.actor_lr)
        self.critic_ascent = Ascent("adam", config.critic_lr)

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> LOQAState:
        family = actor_family(game, self.config.hidden)
        params = family.init(seeds, generator)
        hidden, actions = self.config.hidden, game.num_actions
        return LOQAState(
            family,
            params,
            self.actor_ascent.init(params),
            Critic.create(game, actions, hidden, seeds, generator, self.critic_ascent),
            Critic.create(game, actions, hidden, seeds, generator, self.critic_ascent),
            PolicyReplay(self.config.replay_capacity),
            generator,
        )

    def policy(self, state: LOQAState) -> ParametricPolicy:
        return state.family.build(state.params)

    def episodes(self, state: LOQAState, view: MatchView) -> list[tuple[Trajectories, Critic]]:
        """Episodes to learn from, each with the Q-network that models its co-player: against
        the actual co-player (its Q learned by this agent), and against past selves (whose Q
        is this agent's own, the game being symmetric in each player's own view)."""
        config = self.config
        own = self.policy(state)
        actual = view.rollout(own, batch=config.batch) if config.batch else view.trajectories
        batches = [(actual, state.opponent_q)]
        if config.self_play_batch:
            past = state.replay.sample(state.generator) if len(state.replay) else state.params
            seats = [
                Exploring(p, config.explore, view.game.num_actions)
                for p in (own, state.family.build(past))
            ]
            batches.append((view.rollout(*seats, batch=config.self_play_batch), state.own_q))
        return batches

    def objective(
        self, state: LOQAState, params: Tensor, episodes: Trajectories, opponent_q: Critic
    ) -> Tensor:
        """J per seed [S] on one set of episodes (own data first)."""
        config, gamma = self.config, episodes.gamma
        observations, actions, rewards = episodes.observations, episodes.actions, episodes.rewards
        all_log_probs = state.family.build(params).action_log_probs(observations[0])
        log_probs = all_log_probs.gather(-1, actions[0].unsqueeze(-1)).squeeze(-1)
        own_q = state.own_q.outputs(observations[0])
        own_values = (all_log_probs.detach().exp() * own_q).sum(-1)
        advantages, _ = generalized_advantages(
            rewards[0], own_values, gamma, config.advantage_lambda
        )
        # centred per seed: a lagging critic's mean advantage would otherwise turn the shaping
        # term into plain spite (A < 0 on average) or altruism towards the co-player
        advantages = normalized(advantages, dim=(0, 2))
        opponent_log_probs = modelled_opponent_log_probs(
            opponent_q.outputs(observations[1]),
            actions[1],
            rewards[1],
            log_probs,
            gamma,
            config.shaping_lambda,
            config.temperature,
        )
        surrogate = advantages * (log_probs + config.shaping_weight * opponent_log_probs)
        return (surrogate + config.entropy * entropy(all_log_probs)).mean(dim=(0, 2))

    def update(self, state: LOQAState, view: MatchView) -> LOQAState:
        config = self.config
        batches = self.episodes(state, view)
        leaf = state.params.detach().requires_grad_(True)
        with torch.enable_grad():
            objective = sum(self.objective(state, leaf, episodes, q) for episodes, q in batches)
            (gradient,) = torch.autograd.grad(objective.sum(), leaf)
        gradient = clip_by_norm(gradient, config.grad_clip)
        params, optimizer = self.actor_ascent.step(state.params, gradient, state.optimizer)
        own_q, opponent_q = state.own_q, state.opponent_q
        own_q = self.fit_q(own_q, batches[0][0], 0)
        opponent_q = self.fit_q(opponent_q, batches[0][0], 1)
        for episodes, _ in batches[1:]:
            own_q = self.fit_q(self.fit_q(own_q, episodes, 0), episodes, 1)
        if config.replay_capacity and view.iteration % config.replay_every == 0:
            state.replay.push(params)
        return LOQAState(
            state.family, params, optimizer, own_q, opponent_q, state.replay, state.generator
        )

    def fit_q(self, critic: Critic, episodes: Trajectories, seat: int) -> Critic:
        """One TD(0) step of a Q-network on `seat`'s data, towards its target network."""
        observations, actions = episodes.observations[seat], episodes.actions[seat]
        next_q = (
            critic.outputs(observations, target=True).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        )
        targets = sarsa_targets(
            episodes.rewards[seat], next_q, episodes.gamma, self.config.q_lambda
        )
        critic, _ = critic.fit(
            observations, targets, self.critic_ascent, self.config.target_decay, actions
        )
        return critic
