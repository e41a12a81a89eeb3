"""Meta-reinforcement-learning machinery: the networks and the PPO update of meta-learners
that choose inner policies (M-FOS, Lu et al. 2022), shared by every game.

Two meta-policies, as in the M-FOS code (luchris429/model-free-opponent-shaping):

* `GaussianActorCritic`: on games whose policies are small parameter vectors (the 5 logits
  of a memory-one policy), the meta-action is the next inner policy itself, drawn from a
  diagonal Gaussian (mean and softplus variance from a tanh MLP; src/ppo.py);
* `ConditionedActorCritic` + `EpisodeEncoder`: on the coin game, a recurrent inner policy
  acts at every step, its hidden features multiplied by a conditioning vector that the
  encoder computes from the previous iteration's episodes (a GRU over each episode's steps,
  averaged over the episodes of a game; src/coin_game/coin_game_mfos_agent.py).

Both are trained by PPO (Schulman et al. 2017) on normalised Monte-Carlo returns with the
critic as baseline, as in the M-FOS code: `ppo_update`. `ConditionedFamily` turns the coin
game's inner policy into a zoo policy whose parameters are the conditioning vector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from shaping.contracts.policies import (
    ParametricPolicy,
    PolicyFamily,
    PolicyKind,
    sample_categorical,
)
from shaping.numerics.rl import normalized, ppo_clipped_objective

# --- PPO ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetaPPOSettings:
    """One PPO update: `epochs` full-batch Adam steps on the clipped surrogate, the critic's
    squared error weighted by `value_coef`, and an entropy bonus weighted by `entropy_coef`."""

    epochs: int = 4
    clip: float = 0.2
    entropy_coef: float = 0.01
    value_coef: float = 0.5


#: () -> (log-probabilities, critic values, entropies) of the stored actions, same shapes
Evaluation = Callable[[], tuple[Tensor, Tensor, Tensor]]


def ppo_update(
    optimizer: torch.optim.Optimizer,
    evaluate: Evaluation,
    old_log_probs: Tensor,
    returns: Tensor,
    settings: MetaPPOSettings,
) -> dict[str, float]:
    """`settings.epochs` steps of PPO on one batch of experience (M-FOS code, src/ppo.py):
    advantages are the (normalised) returns minus the current critic, recomputed each epoch.
    Returns the last epoch's statistics."""
    old_log_probs = old_log_probs.detach()
    returns = returns.detach()
    for _ in range(settings.epochs):
        log_probs, values, entropy = evaluate()
        advantages = returns - values.detach()
        surrogate = ppo_clipped_objective(log_probs, old_log_probs, advantages, settings.clip)
        value_loss = (values - returns).pow(2).mean()
        loss = (
            -surrogate.mean()
            + settings.value_coef * value_loss
            - settings.entropy_coef * entropy.mean()
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        ratio = torch.exp(log_probs - old_log_probs)
        clipped = ((ratio - 1).abs() > settings.clip).float().mean()
        return {
            "loss": loss.detach().item(),
            "value_loss": value_loss.detach().item(),
            "entropy": entropy.detach().mean().item(),
            "clip_fraction": clipped.item(),
        }


def normalized_returns(rewards: Tensor, gamma: float) -> Tensor:
    """Discounted returns-to-go over meta-steps (dim 0), normalised over the whole batch
    (M-FOS code, src/ppo.py)."""
    returns = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[0])
    for step in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[step] + gamma * running
        returns[step] = running
    return normalized(returns, eps=1e-5)


# --- parameter-space meta-policy (matrix games) ------------------------------------------


class GaussianActorCritic(nn.Module):
    """Meta-policy over inner-policy parameters: a ~ N(μ(s), diag softplus(ν(s))) with
    [μ, ν] from a one-hidden-layer tanh MLP, and a critic of the same shape (M-FOS code)."""

    def __init__(self, state_size: int, action_size: int, hidden: int = 256) -> None:
        super().__init__()
        self.action_size = action_size
        self.actor = nn.Sequential(
            nn.Linear(state_size, hidden), nn.Tanh(), nn.Linear(hidden, 2 * action_size)
        )
        self.critic = nn.Sequential(nn.Linear(state_size, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def distribution(self, states: Tensor) -> torch.distributions.Normal:
        """The meta-policy at `states` [..., state_size], independent over action dims."""
        mean, variance = self.actor(states).split(self.action_size, dim=-1)
        scale = nn.functional.softplus(variance).clamp(min=1e-12).sqrt()
        return torch.distributions.Normal(mean, scale, validate_args=False)

    def act(self, states: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Sample meta-actions (next inner parameters) with their log-probabilities."""
        with torch.no_grad():
            distribution = self.distribution(states)
            noise = torch.randn(
                distribution.loc.shape, generator=generator, device=distribution.loc.device
            )
            actions = distribution.loc + distribution.scale * noise
            return actions, distribution.log_prob(actions).sum(-1)

    def evaluate(self, states: Tensor, actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(log π(a|s), V(s), entropy) for stored experience."""
        distribution = self.distribution(states)
        values = self.critic(states).squeeze(-1)
        return (
            distribution.log_prob(actions).sum(-1),
            values,
            distribution.entropy().sum(-1),
        )


# --- conditioned recurrent meta-policy (coin game) ---------------------------------------


class ConditionedActorCritic(nn.Module):
    """Inner actor and critic of the coin game: linear+ReLU encoder -> GRU (memory within an
    episode) -> ReLU -> times the conditioning vector c -> linear head (M-FOS code,
    src/coin_game/coin_game_mfos_agent.py, with an MLP encoder of the zoo's flat egocentric
    observation in place of convolutions). The critic sees c without gradient."""

    def __init__(self, observation_size: int, num_actions: int, hidden: int = 16) -> None:
        super().__init__()
        self.hidden = hidden
        self.actor_encoder = nn.Linear(observation_size, hidden)
        self.actor_memory = nn.GRU(hidden, hidden)
        self.actor_head = nn.Linear(hidden, num_actions)
        self.critic_encoder = nn.Linear(observation_size, hidden)
        self.critic_memory = nn.GRU(hidden, hidden)
        self.critic_head = nn.Linear(hidden, 1)

    def initial_hidden(self, rows: int, device: torch.device | str) -> Tensor:
        return torch.zeros(1, rows, self.hidden, device=device)

    def actor_logits(
        self, observations: Tensor, conditioning: Tensor, hidden: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Logits [T, R, A] along steps [T, R, obs] from memory `hidden` [1, R, h], each row
        modulated by its conditioning [R, h]; returns the logits and the final memory."""
        features, hidden = self.actor_memory(torch.relu(self.actor_encoder(observations)), hidden)
        return self.actor_head(torch.relu(features) * conditioning), hidden

    def evaluate(
        self, observations: Tensor, actions: Tensor, conditioning: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(log π(a_t|history), V(history), entropy), each [T, R], for whole episodes."""
        rows = observations.shape[1]
        start = self.initial_hidden(rows, observations.device)
        logits, _ = self.actor_logits(observations, conditioning, start)
        log_probs = torch.log_softmax(logits, dim=-1)
        chosen = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        entropy = -(log_probs.exp() * log_probs).sum(-1)
        features, _ = self.critic_memory(torch.relu(self.critic_encoder(observations)), start)
        values = self.critic_head(torch.relu(features) * conditioning.detach()).squeeze(-1)
        return chosen, values, entropy


class EpisodeEncoder(nn.Module):
    """The conditioning vector of the next iteration from this iteration's episodes: a GRU
    over each episode's step features, its final state averaged over the episodes of a
    game, then sigmoid(linear) (M-FOS code: GRU_t, mean over the batch, linear_t)."""

    def __init__(self, feature_size: int, hidden: int = 16) -> None:
        super().__init__()
        self.hidden = hidden
        self.encoder = nn.Linear(feature_size, hidden)
        self.memory = nn.GRU(hidden, hidden)
        self.head = nn.Linear(hidden, hidden)

    def initial(self, games: int, device: torch.device | str) -> Tensor:
        """The conditioning of the first iteration: all ones (M-FOS code)."""
        return torch.ones(games, self.hidden, device=device)

    def forward(self, features: Tensor) -> Tensor:
        """features [T, G, B, f] (G games, B episodes each) -> conditioning [G, h]."""
        steps, games, episodes = features.shape[:3]
        flat = features.reshape(steps, games * episodes, -1)
        _, final = self.memory(torch.relu(self.encoder(flat)))
        summary = final.reshape(games, episodes, self.hidden).mean(1)
        return torch.sigmoid(self.head(summary))


class ConditionedFamily(PolicyFamily):
    """Inner policies of one trained `ConditionedActorCritic`: the parameters of a policy are
    its conditioning vector [S, h]; the network's weights are fixed."""

    kind = PolicyKind.NETWORK

    def __init__(self, network: ConditionedActorCritic) -> None:
        self.network = network
        self.dim = network.hidden

    def build(self, params: Tensor) -> ConditionedPolicy:
        return ConditionedPolicy(params, self)

    def init(self, seeds: int, generator: torch.Generator) -> Tensor:
        """The conditioning of a first iteration: all ones (M-FOS code)."""
        return torch.ones(seeds, self.dim, device=generator.device)

    def compatible(self, other: PolicyFamily) -> bool:
        return isinstance(other, ConditionedFamily) and other.network is self.network


class ConditionedPolicy(ParametricPolicy):
    """The conditioned recurrent actor as a zoo policy over [S seeds, B episodes]."""

    kind = PolicyKind.NETWORK

    def __init__(self, params: Tensor, family: ConditionedFamily) -> None:
        self.params = params
        self.family = family
        self._hidden: Tensor | None = None

    def _rows(self, batch: int) -> Tensor:
        """The conditioning of each (seed, episode) row, [S * B, h]."""
        return self.params.repeat_interleave(batch, dim=0)

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> None:
        self._hidden = self.family.network.initial_hidden(seeds * batch, self.params.device)

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        seeds, batch = observation.shape[:2]
        if self._hidden is None:
            self.reset(seeds, batch, generator)
        flat = observation.reshape(1, seeds * batch, -1)
        logits, self._hidden = self.family.network.actor_logits(
            flat, self._rows(batch), self._hidden
        )
        log_probs = torch.log_softmax(logits[0], dim=-1).reshape(seeds, batch, -1)
        actions = sample_categorical(log_probs.detach().exp(), generator)
        return actions, log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, observations: Tensor, actions: Tensor) -> Tensor:
        steps, seeds, batch = actions.shape
        network = self.family.network
        logits, _ = network.actor_logits(
            observations.reshape(steps, seeds * batch, -1),
            self._rows(batch),
            network.initial_hidden(seeds * batch, observations.device),
        )
        log_probs = torch.log_softmax(logits, dim=-1).reshape(steps, seeds, batch, -1)
        return log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
