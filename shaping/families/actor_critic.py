"""Actor-critic machinery of the critic-based shaping algorithms (LOQA, Advantage Alignment).

Everything is batched over seeds: actors and critics are seed-batched networks with flat
parameters [S, d] (a `NetworkFamily`), trained with the functional optimisers of
`shaping.numerics.optim`, so S independent learners cost one set of tensor operations.

* `actor_family`: the policy class a learner plays: the game's memory-one table on matrix
  games, a GRU policy on the coin game (memory is what lets a policy reciprocate);
* `critic_family`: a table over the memory-one states, or an MLP of the observation;
* `Critic`: online and target parameters plus optimiser state, fitted by Huber regression;
* `PolicyReplay`: a ring buffer of a learner's past parameters, to play against its past selves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from shaping.contracts.game import Game
from shaping.contracts.policies import (
    MEMORY_ONE_STATES,
    Feedback,
    NetworkFamily,
    Policy,
    PolicyFamily,
    TabularFamily,
)
from shaping.numerics.nets import BatchedMLP, RecurrentPolicyNet, SeedBatchedModule
from shaping.numerics.optim import Ascent, OptimizerState


class StateTable(SeedBatchedModule):
    """One row of outputs per discrete state, per seed: a tabular critic.

    Called with state indices [S, N] (int64), returns [S, N, outputs].
    """

    def __init__(self, states: int, outputs: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.empty(states, outputs))

    def fan_in(self, name: str) -> int:
        return 1  # unused: critics start from a zero output layer

    def forward(self, states: Tensor) -> Tensor:
        index = states.unsqueeze(-1).expand(*states.shape, self.table.shape[-1])
        return torch.gather(self.table, 1, index)


def observation_size(game: Game) -> int:
    """Number of features of one player's observation in `game`."""
    generator = torch.Generator(device=game.device).manual_seed(0)
    probe = game.observe(game.reset(1, 1, generator), 0)
    return math.prod(probe.shape[2:])


def is_tabular(game: Game) -> bool:
    """Whether `game` is played with memory-one tables (the iterated matrix games)."""
    return isinstance(game.default_family(), TabularFamily)


def actor_family(game: Game, hidden: int) -> PolicyFamily:
    """The game's memory-one table on matrix games; else a GRU policy with `hidden` units."""
    if is_tabular(game):
        return game.default_family()
    module = RecurrentPolicyNet(observation_size(game), hidden, game.num_actions)
    return NetworkFamily(module, recurrent=True, tag=f"{game.name}_gru_policy_{hidden}")


def critic_family(game: Game, outputs: int, hidden: int) -> NetworkFamily:
    """A critic `outputs` wide (one value, or one Q-value per action) of the observation and the
    time step (episodes are finite, so values depend on the steps left; the LOQA code feeds t
    to its Q-network too): a table over (memory-one state, step) on matrix games; else a
    two-layer MLP of the observation and t / horizon, which scores a whole batch of episodes in
    one call (the coin game's observation is its full state)."""
    if is_tabular(game):
        table = StateTable(len(MEMORY_ONE_STATES) * game.horizon, outputs)
        return NetworkFamily(table, tag=f"state_table_{game.horizon}")
    module = BatchedMLP((observation_size(game) + 1, hidden, hidden, outputs))
    return NetworkFamily(module, tag=f"{game.name}_mlp_critic_{hidden}")


def timed(observations: Tensor, horizon: int) -> Tensor:
    """Critic inputs from observations [T, S, B, ...] and their time steps: state indices
    s + (number of states) * t for discrete states, else the features with t / horizon added."""
    steps = torch.arange(observations.shape[0], device=observations.device).clamp(max=horizon - 1)
    if not observations.is_floating_point():
        shape = (-1,) + (1,) * (observations.dim() - 1)
        return observations + len(MEMORY_ONE_STATES) * steps.reshape(shape)
    fraction = (steps.to(observations.dtype) / horizon).reshape(-1, 1, 1, 1)
    return torch.cat((observations, fraction.expand(*observations.shape[:3], 1)), dim=-1)


def clip_by_norm(gradient: Tensor, max_norm: float) -> Tensor:
    """Scale each seed's gradient [S, d] down to Euclidean norm at most `max_norm`."""
    norms = gradient.norm(dim=1, keepdim=True)
    return gradient * (max_norm / norms.clamp(min=max_norm))


def entropy(log_probs: Tensor) -> Tensor:
    """Entropy of categorical distributions given as log-probabilities [..., A]."""
    probs = log_probs.exp()
    return -(probs * torch.where(probs > 0, log_probs, 0.0)).sum(-1)


def huber(x: Tensor, delta: float = 1.0) -> Tensor:
    """Huber loss of residuals: quadratic within ±delta, linear beyond."""
    magnitude = x.abs()
    quadratic = magnitude.clamp(max=delta)
    return 0.5 * quadratic**2 + delta * (magnitude - quadratic)


@dataclass
class Critic:
    """A seed-batched critic: online parameters, an exponential moving average of them (the
    target network of Q-learning, Mnih et al. 2015), and its optimiser state.

    The network predicts values divided by `scale` (1 / (1 - γ): values in reward-per-step
    units), so one learning rate suits games whose returns differ by orders of magnitude.
    """

    family: NetworkFamily
    params: Tensor
    target: Tensor
    optimizer: OptimizerState
    scale: float
    horizon: int

    @classmethod
    def create(
        cls,
        game: Game,
        outputs: int,
        hidden: int,
        seeds: int,
        generator: torch.Generator,
        ascent: Ascent,
    ) -> Critic:
        """A fresh critic of `game` (see `critic_family`)."""
        family = critic_family(game, outputs, hidden)
        params = family.init(seeds, generator)
        # the output layer starts at zero: an initial bias, magnified by `scale`, would take
        # a bootstrapped critic hundreds of iterations to forget
        output_layer = family.slots[-1].name.rpartition(".")[0]
        for slot in family.slots:
            if slot.name.rpartition(".")[0] == output_layer:
                params[:, slot.offset : slot.offset + slot.size] = 0.0
        scale = 1.0 / (1.0 - game.gamma)
        return cls(family, params, params.clone(), ascent.init(params), scale, game.horizon)

    def outputs(self, observations: Tensor, target: bool = False) -> Tensor:
        """Values [T, S, B, out] along episodes [T, S, B, ...] (no graph)."""
        params = self.target if target else self.params
        with torch.no_grad():
            return self.scale * self.family.forward_sequence(
                params, timed(observations, self.horizon)
            )

    def fit(
        self,
        observations: Tensor,
        targets: Tensor,
        ascent: Ascent,
        target_decay: float,
        actions: Tensor | None = None,
    ) -> tuple[Critic, Tensor]:
        """One optimiser step on the Huber loss between the predictions (of `actions` when
        given, else the single output) and `targets` [T, S, B], in the network's units; returns
        the new critic and the loss per seed [S] before the step."""
        leaf = self.params.detach().requires_grad_(True)
        with torch.enable_grad():
            outputs = self.family.forward_sequence(leaf, timed(observations, self.horizon))
            if actions is None:
                predictions = outputs.squeeze(-1)
            else:
                predictions = outputs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
            loss = huber(predictions - targets.detach() / self.scale).mean(dim=(0, 2))
            (gradient,) = torch.autograd.grad(loss.sum(), leaf)
        params, optimizer = ascent.step(self.params, -gradient, self.optimizer)
        target = torch.lerp(params, self.target, target_decay)
        critic = Critic(self.family, params, target, optimizer, self.scale, self.horizon)
        return critic, loss.detach()


class PolicyReplay:
    """The last `capacity` snapshots of a learner's parameters [S, d] (LOQA's replay buffer of
    past agents, Aghajohari et al. 2024), to sample past selves as co-players."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.snapshots: list[Tensor] = []

    def __len__(self) -> int:
        return len(self.snapshots)

    def push(self, params: Tensor) -> None:
        self.snapshots.append(params.detach())
        if len(self.snapshots) > self.capacity:
            self.snapshots.pop(0)

    def sample(self, generator: torch.Generator) -> Tensor:
        """Parameters [S, d]: for each seed independently, one uniformly drawn snapshot."""
        stacked = torch.stack(self.snapshots)  # [N, S, d]
        seeds = stacked.shape[1]
        index = torch.randint(
            len(self.snapshots), (seeds,), generator=generator, device=generator.device
        )
        return stacked[index.to(stacked.device), torch.arange(seeds, device=stacked.device)]


class Exploring(Policy):
    """ε-greedy exploration around a policy: with probability ε a uniformly random action
    (the LOQA code's IPD episodes: ε = 0.2). Actions only: log-probabilities are
    recomputed under the learner's own policy."""

    def __init__(self, policy: Policy, epsilon: float, num_actions: int) -> None:
        self.policy = policy
        self.epsilon = epsilon
        self.num_actions = num_actions
        self.kind = policy.kind

    @property
    def stateful(self) -> bool:
        return self.policy.stateful

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> None:
        self.policy.reset(seeds, batch, generator)

    def observe(self, feedback: Feedback) -> None:
        self.policy.observe(feedback)

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        actions, _ = self.policy.act(observation, generator)
        explore = (
            torch.rand(actions.shape, generator=generator, device=actions.device) < self.epsilon
        )
        uniform = torch.randint(
            self.num_actions, actions.shape, generator=generator, device=actions.device
        )
        return torch.where(explore, uniform, actions), None
