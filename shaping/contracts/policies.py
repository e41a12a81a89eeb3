"""Policies: what a player plays during one learning iteration.

Three kinds share one acting interface (`reset`, `act`, `observe`):

* `TabularPolicy`: memory-one policies of iterated 2x2 games, 5 logits per seed giving
  P(action 0 | s0, CC, CD, DC, DD) in the player's OWN view (own action first).
* `NetworkPolicy`: a torch module used functionally (`torch.func.functional_call`) with one
  flat parameter vector per seed, so that parameters are plain tensors that can be
  differentiated through, looked ahead on and batched over seeds.
* `BlackBoxPolicy`: anything stateful that can only be rolled out (sequence models, scripted
  strategies of the coin game).

Tensor shapes: S seeds, B episodes per seed, T time steps. Observations are [S, B, ...],
actions [S, B] (int64), log-probabilities [S, B].

Parametric policies (tabular and network) carry `params` of shape [S, d] and the `family`
that built them, so that white-box algorithms can rebuild the opponent's policy from
looked-ahead parameters.
"""

from __future__ import annotations

import enum
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.func import functional_call


class PolicyKind(enum.Enum):
    """How much of a policy the rest of the zoo can see."""

    TABULAR = "tabular"
    NETWORK = "network"
    BLACK_BOX = "black_box"


@dataclass
class Feedback:
    """What one player observes after a joint step, from its own point of view.

    `events` are the game's per-step indicators for this player (e.g. coin pickups) and
    `other_events` the same indicators for the co-player.
    """

    own_action: Tensor
    other_action: Tensor
    own_reward: Tensor
    other_reward: Tensor
    next_observation: Tensor
    events: dict[str, Tensor] = field(default_factory=dict)
    other_events: dict[str, Tensor] = field(default_factory=dict)


def sample_categorical(probs: Tensor, generator: torch.Generator) -> Tensor:
    """Sample indices from the last dimension of `probs` by inverting the CDF.

    One uniform draw per row; works on any device with a generator on that device.
    """
    uniform = torch.rand((*probs.shape[:-1], 1), generator=generator, device=probs.device)
    below = (probs.cumsum(-1) < uniform).sum(-1)
    return below.clamp_(max=probs.shape[-1] - 1)


class Policy(ABC):
    """The acting interface shared by every kind of policy."""

    kind: PolicyKind

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> None:  # noqa: B027
        """Start new episodes (stateful policies clear their memory here)."""

    @abstractmethod
    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """Sample actions [S, B]; return them with their log-probabilities, or None if unknown."""

    def observe(self, feedback: Feedback) -> None:  # noqa: B027
        """Receive what happened after a step (stateful policies update their memory here)."""

    @property
    def stateful(self) -> bool:
        """Whether this object keeps per-episode memory, so that one object cannot play both
        seats of an episode. By default: whether its class overrides `reset` or `observe`."""
        cls = type(self)
        return cls.reset is not Policy.reset or cls.observe is not Policy.observe


class PolicyFamily(ABC):
    """A parametric policy class: flat parameters [S, dim] <-> policy objects."""

    kind: PolicyKind
    dim: int

    @abstractmethod
    def build(self, params: Tensor) -> ParametricPolicy:
        """The policy with these parameters (differentiable in them)."""

    @abstractmethod
    def init(self, seeds: int, generator: torch.Generator) -> Tensor:
        """Fresh random parameters [S, dim] on the generator's device."""

    def compatible(self, other: PolicyFamily) -> bool:
        """Whether parameters of `other` mean the same thing as this family's."""
        return self == other


class ParametricPolicy(Policy):
    """A policy defined by a flat parameter tensor [S, dim] and the family that built it."""

    params: Tensor
    family: PolicyFamily

    @abstractmethod
    def log_prob(self, observations: Tensor, actions: Tensor) -> Tensor:
        """Log-probabilities [T, S, B] of `actions` taken after `observations` [T, S, B, ...]."""


# --- tabular memory-one policies ------------------------------------------------------------

#: Own-view state names of a memory-one policy in an iterated 2x2 game.
MEMORY_ONE_STATES = ("s0", "CC", "CD", "DC", "DD")


@dataclass(frozen=True)
class TabularFamily(PolicyFamily):
    """Memory-one policies of an iterated two-action game: one logit per own-view state."""

    init_std: float = 1.0
    kind: ClassVar[PolicyKind] = PolicyKind.TABULAR
    dim: ClassVar[int] = len(MEMORY_ONE_STATES)

    def build(self, params: Tensor) -> TabularPolicy:
        return TabularPolicy(params, self)

    def init(self, seeds: int, generator: torch.Generator) -> Tensor:
        noise = torch.randn(seeds, self.dim, generator=generator, device=generator.device)
        return noise * self.init_std

    def compatible(self, other: PolicyFamily) -> bool:
        return isinstance(other, TabularFamily)


class TabularPolicy(ParametricPolicy):
    """P(action 0 | own-view state) = sigmoid(logit); observations are state indices 0..4."""

    kind = PolicyKind.TABULAR

    def __init__(self, params: Tensor, family: TabularFamily | None = None) -> None:
        if params.dim() != 2 or params.shape[1] != len(MEMORY_ONE_STATES):
            raise ValueError(
                f"tabular policy parameters must have shape [seeds, 5], got {list(params.shape)}"
            )
        self.params = params
        self.family = family if family is not None else TabularFamily()

    def probabilities(self) -> Tensor:
        """P(action 0) in each own-view state, [S, 5]."""
        return torch.sigmoid(self.params)

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        logits = torch.gather(self.params, 1, observation)
        uniform = torch.rand(logits.shape, generator=generator, device=logits.device)
        actions = (uniform >= torch.sigmoid(logits)).long()
        return actions, _binary_log_prob(logits, actions)

    def log_prob(self, observations: Tensor, actions: Tensor) -> Tensor:
        steps = observations.shape[0]
        table = self.params.unsqueeze(0).expand(steps, -1, -1)
        return _binary_log_prob(torch.gather(table, 2, observations), actions)

    def action_log_probs(self, observations: Tensor) -> Tensor:
        """Log-probabilities of both actions [T, S, B, 2] in states [T, S, B]."""
        steps = observations.shape[0]
        table = self.params.unsqueeze(0).expand(steps, -1, -1)
        logits = torch.gather(table, 2, observations)
        return torch.nn.functional.logsigmoid(torch.stack((logits, -logits), dim=-1))


def _binary_log_prob(logits: Tensor, actions: Tensor) -> Tensor:
    """log P(action) for P(action 0) = sigmoid(logit); exact at infinite logits."""
    return torch.nn.functional.logsigmoid(torch.where(actions == 0, logits, -logits))


# --- functional network policies ------------------------------------------------------------


@dataclass(frozen=True)
class ParamSlot:
    """Where one named module parameter lives in the flat parameter vector."""

    name: str
    shape: tuple[int, ...]
    offset: int
    fan_in: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class NetworkFamily(PolicyFamily):
    """Network policies sharing one architecture, parameters flattened to [S, dim].

    The module is a template whose forward accepts seed-batched parameters (see
    `shaping.numerics.nets`): `functional_call(module, {name: [S, *shape]}, inputs)`, and whose
    `fan_in(name)` gives each parameter's initialisation scale. A recurrent module returns
    `(logits, hidden)` from `forward(observation, hidden)` and provides
    `initial_hidden(seeds, batch, device)`.
    """

    kind = PolicyKind.NETWORK

    def __init__(self, module: nn.Module, *, recurrent: bool = False, tag: str = "") -> None:
        self.module = module
        self.recurrent = recurrent
        self.tag = tag or type(module).__name__
        slots, offset = [], 0
        for name, parameter in module.named_parameters():
            slots.append(ParamSlot(name, tuple(parameter.shape), offset, module.fan_in(name)))
            offset += slots[-1].size
        self.slots = tuple(slots)
        self.dim = offset

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NetworkFamily) and self.signature() == other.signature()

    def __hash__(self) -> int:
        return hash(self.signature())

    def signature(self) -> tuple:
        """What makes two families' parameters interchangeable."""
        return (self.tag, self.recurrent, tuple((s.name, s.shape) for s in self.slots))

    def unflatten(self, params: Tensor) -> dict[str, Tensor]:
        """Views of the flat [S, dim] parameters as the module's named [S, *shape] tensors."""
        seeds = params.shape[0]
        return {
            slot.name: params[:, slot.offset : slot.offset + slot.size].reshape(seeds, *slot.shape)
            for slot in self.slots
        }

    def build(self, params: Tensor) -> NetworkPolicy:
        return NetworkPolicy(params, self)

    def init(self, seeds: int, generator: torch.Generator) -> Tensor:
        """PyTorch's default Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), per seed."""
        chunks = []
        for slot in self.slots:
            bound = 1.0 / math.sqrt(slot.fan_in)
            uniform = torch.rand(seeds, slot.size, generator=generator, device=generator.device)
            chunks.append((2 * uniform - 1) * bound)
        return torch.cat(chunks, dim=1)

    def forward(self, params: Tensor, inputs: tuple) -> Tensor | tuple[Tensor, Tensor]:
        """Run the module with these seed-batched parameters."""
        return functional_call(self.module, self.unflatten(params), inputs)

    def forward_sequence(self, params: Tensor, observations: Tensor) -> Tensor:
        """The module's outputs [T, S, B, out] along episodes [T, S, B, ...]: one batched call
        for a feed-forward module, a step-by-step scan from the initial memory for a recurrent
        one."""
        steps, seeds, batch = observations.shape[:3]
        named = self.unflatten(params)
        if not self.recurrent:
            flat = observations.transpose(0, 1).reshape(
                seeds, steps * batch, *observations.shape[3:]
            )
            outputs = functional_call(self.module, named, (flat,))
            return outputs.reshape(seeds, steps, batch, -1).transpose(0, 1)
        hidden = self.module.initial_hidden(seeds, batch, params.device)
        outputs = []
        for step in range(steps):
            output, hidden = functional_call(self.module, named, (observations[step], hidden))
            outputs.append(output)
        return torch.stack(outputs)


class NetworkPolicy(ParametricPolicy):
    """Categorical policy from a seed-batched network; observations are [S, B, features]."""

    kind = PolicyKind.NETWORK

    def __init__(self, params: Tensor, family: NetworkFamily) -> None:
        if params.dim() != 2 or params.shape[1] != family.dim:
            raise ValueError(
                f"network policy parameters must have shape [seeds, {family.dim}], "
                f"got {list(params.shape)}"
            )
        self.params = params
        self.family = family
        self._named = family.unflatten(params)
        self._hidden: Tensor | None = None

    def _logits(self, observation: Tensor, hidden: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if self.family.recurrent:
            return functional_call(self.family.module, self._named, (observation, hidden))
        return functional_call(self.family.module, self._named, (observation,)), None

    @property
    def stateful(self) -> bool:
        return self.family.recurrent

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> None:
        if self.family.recurrent:
            self._hidden = self.family.module.initial_hidden(seeds, batch, self.params.device)

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        logits, self._hidden = self._logits(observation, self._hidden)
        log_probs = torch.log_softmax(logits, dim=-1)
        actions = sample_categorical(log_probs.detach().exp(), generator)
        return actions, log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def action_log_probs(self, observations: Tensor) -> Tensor:
        """Log-probabilities of every action [T, S, B, A] along episodes [T, S, B, ...]."""
        return torch.log_softmax(self.family.forward_sequence(self.params, observations), dim=-1)

    def log_prob(self, observations: Tensor, actions: Tensor) -> Tensor:
        log_probs = self.action_log_probs(observations)
        return log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)


# --- black-box policies ---------------------------------------------------------------------


class BlackBoxPolicy(Policy):
    """A policy that can only be rolled out: no parameters are visible to anyone."""

    kind = PolicyKind.BLACK_BOX


class FunctionPolicy(BlackBoxPolicy):
    """A memoryless black box from a function observation -> P(actions) [S, B, A]."""

    def __init__(self, probabilities: Callable[[Tensor], Tensor]) -> None:
        self.probabilities = probabilities

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        return sample_categorical(self.probabilities(observation), generator), None
