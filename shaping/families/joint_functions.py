"""Machinery for algorithms that learn a function of BOTH players' parameters before playing:
COLA's update functions (Willi et al. 2022) and MeVa's meta-value (Cooijmans et al. 2023).

Both pretrain small networks on joint parameters (θ_1, θ_2), in the game's compact policy
family (`Game.compact_family`: the 5 logits of the matrix games, two coin-chasing weights on
the coin game), against the game's values:

* `JointNet`: an MLP of (own parameters, opponent parameters), each player's own view first,
  inputs squashed into [-1, 1] so that saturated or infinite logits stay in its domain;
* `JointValueOracle`: values of a batch of joint policies in seat order, exact where the game
  has them (closed form, differentiable to any order) and otherwise DiCE estimates on fresh
  roll-outs whose derivatives of every order estimate the true ones;
* `uniform_box`: sampling pretraining inputs (progress is reported by
  `shaping.engine.training_monitor.TrainingMonitor`);
* `JointFunctionConfig`, `JointFunctionLearner`: the configuration fields, pretraining set-up,
  artifact loading and state that COLA and MeVa share, so each writes only its own training
  and update rule.

The learned networks are an artifact (see shaping/engine/artifacts.py): `JointNet.payload` and
`JointNet.from_payload` round-trip them bit-identically.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from shaping.contracts.algorithm import Algorithm, TrainingContext
from shaping.contracts.config import field, positive
from shaping.contracts.game import Game, Pair
from shaping.contracts.policies import ParametricPolicy, PolicyFamily
from shaping.engine.training_monitor import TrainingMonitor
from shaping.families.opponent_model import OpponentModel
from shaping.numerics.dice import RewardBaseline, with_reward_baseline

Squash = Literal["clamp", "tanh"]
#: (θ_1 [N, d_1], θ_2 [N, d_2]) -> (V_1 [N], V_2 [N]) in seat order
SeatValues = Callable[[Tensor, Tensor], Pair]

_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "silu": nn.SiLU}
ACTIVATIONS = tuple(_ACTIVATIONS)


def uniform_box(
    samples: int,
    dim: int,
    half_width: float,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """`samples` points drawn uniformly from [-half_width, half_width]^dim, [samples, dim]."""
    uniform = torch.rand(samples, dim, generator=generator, device=generator.device, dtype=dtype)
    return (2 * uniform - 1) * half_width


def value_scale(game: Game) -> float:
    """The size of a value of `game`: 1 / (1 - γ), the discounted sum of a unit reward per
    step; learned values are predicted in these units, so networks output O(1) numbers."""
    return 1.0 / (1.0 - game.gamma)


class JointNet(nn.Module):
    """out = MLP(squash(own / scale), squash(opponent / scale)), [N, outputs].

    `squash` is "clamp" (clip to [-1, 1]: linear inside the region the net was trained on, so
    a linear target is exactly representable) or "tanh" (smooth everywhere). With
    `zero_output` the last layer starts at zero, so the function starts identically zero.
    """

    def __init__(
        self,
        own_dim: int,
        opponent_dim: int,
        outputs: int,
        hidden: tuple[int, ...],
        activation: str,
        scale: float,
        squash: Squash,
        zero_output: bool = True,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation: must be one of {list(_ACTIVATIONS)}, got {activation!r}")
        if squash not in ("clamp", "tanh"):
            raise ValueError(f"squash: must be 'clamp' or 'tanh', got {squash!r}")
        self.architecture = {
            "own_dim": own_dim,
            "opponent_dim": opponent_dim,
            "outputs": outputs,
            "hidden": list(hidden),
            "activation": activation,
            "scale": scale,
            "squash": squash,
        }
        sizes = (own_dim + opponent_dim, *hidden, outputs)
        layers: list[nn.Module] = []
        for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(fan_in, fan_out))
            if index < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        self.layers = nn.Sequential(*layers)
        if zero_output:
            nn.init.zeros_(self.layers[-1].weight)
            nn.init.zeros_(self.layers[-1].bias)

    def squashed(self, params: Tensor) -> Tensor:
        scaled = params / self.architecture["scale"]
        if self.architecture["squash"] == "clamp":
            return scaled.clamp(-1.0, 1.0)
        return torch.tanh(scaled)

    def forward(self, own: Tensor, opponent: Tensor) -> Tensor:
        inputs = torch.cat((self.squashed(own), self.squashed(opponent)), dim=-1)
        return self.layers(inputs.to(self.layers[0].weight.dtype))

    def payload(self) -> dict[str, Any]:
        """What `from_payload` needs to rebuild this network exactly (CPU tensors)."""
        state = {name: tensor.detach().cpu().clone() for name, tensor in self.state_dict().items()}
        return {"architecture": dict(self.architecture), "state": state}

    @classmethod
    def from_payload(cls, payload: dict[str, Any], device: torch.device | str = "cpu") -> JointNet:
        """The network saved by `payload`, on `device`, with bit-identical weights."""
        architecture = dict(payload["architecture"])
        architecture["hidden"] = tuple(architecture["hidden"])
        net = cls(**architecture, zero_output=False)
        dtype = next(iter(payload["state"].values())).dtype
        net = net.to(device=device, dtype=dtype)
        net.load_state_dict(payload["state"])
        return net


class JointValueOracle:
    """Values of batches of joint policies of one family, seat order, N joint policies at once
    (the N samples take the place of the seeds dimension of a match).

    oracle.exact                       # closed-form values (else DiCE on fresh roll-outs;
                                       # `force_sampled` picks DiCE even where exact exists)
    oracle.values(θ1, θ2)              # differentiable (V_1, V_2), [N] each
    oracle.values_and_gradients(θ1, θ2)  # detached (V_1, V_2) and (∇_1 V_1, ∇_2 V_2)
    """

    def __init__(
        self,
        game: Game,
        family: PolicyFamily,
        generator: torch.Generator,
        episodes: int | None = None,
        horizon: int | None = None,
        force_sampled: bool = False,
        baseline: RewardBaseline = "leave_one_out",
    ) -> None:
        self.game = game
        #: sampled values: what rewards are centred on. Leave-one-out keeps DiCE derivatives
        #: of every order unbiased (the batch mean would shrink them by 1 - 1/B); the zoo's
        #: choice for COLA and MeVa, whose papers use exact values only
        self.baseline = baseline
        self.family = family
        self.generator = generator
        self.exact = game.has_exact(family, family) and not force_sampled
        self.episodes = game.batch if episodes is None else episodes
        self.horizon = game.horizon if horizon is None else horizon

    @property
    def value_scale(self) -> float:
        return value_scale(self.game)

    def _episodes(self, first: Tensor, second: Tensor):
        policies = (self.family.build(first), self.family.build(second))
        return self.game.rollout(
            policies, first.shape[0], self.generator, self.episodes, self.horizon
        )

    def values(self, first: Tensor, second: Tensor) -> Pair:
        """(V_1, V_2), differentiable to any order in both parameters: exact, or the DiCE
        objectives of fresh episodes (rewards centred by `self.baseline`), whose
        value is ~0 but whose derivatives estimate those of the true values without bias."""
        if self.exact:
            return self.game.exact(first, second)
        episodes = with_reward_baseline(self._episodes(first, second), self.baseline)
        return self.game.dice_objectives(episodes)

    def values_and_gradients(self, first: Tensor, second: Tensor) -> tuple[Pair, Pair]:
        """Detached values (V_1, V_2) and naive gradients (∇_1 V_1, ∇_2 V_2), [N] and
        [N, d]: exact, or from one roll-out (mean discounted return; DiCE gradient)."""
        if self.exact:
            with torch.no_grad():
                analysis = self.game.exact_analysis(first, second)
            return analysis.values, (analysis.gradients[0][0], analysis.gradients[1][1])
        with torch.enable_grad():
            leaves = (first.detach().requires_grad_(True), second.detach().requires_grad_(True))
            episodes = self._episodes(*leaves)
            surrogates = self.game.dice_objectives(with_reward_baseline(episodes, self.baseline))
            gradients = tuple(
                torch.autograd.grad(surrogate.sum(), leaf, retain_graph=True)[0]
                for surrogate, leaf in zip(surrogates, leaves, strict=True)
            )
        returns = tuple(episodes.discounted_returns(seat)[0].mean(-1).detach() for seat in (0, 1))
        return returns, gradients  # type: ignore[return-value]


def cosine_decay(step: int, total: int) -> float:
    """Learning-rate factor annealed from 1 to 0 along a half cosine over `total` steps."""
    return 0.5 * (1.0 + math.cos(math.pi * step / max(1, total)))


@dataclass(frozen=True)
class JointFunctionConfig:
    """Fields every joint-function learner has; subclasses add their own (MeVa also re-declares
    `hidden` with its default and doc)."""

    hidden: tuple[int, ...] = field((16, 16), doc="hidden layer sizes of each network")
    activation: str = field("tanh", doc="activation of the networks: tanh, relu or silu")
    steps: int = field(2000, check=positive, doc="optimiser steps of pretraining")
    episodes: int = field(16, check=positive, doc="episodes per joint policy (sampled games)")
    horizon: int | None = field(None, doc="steps per sampled episode (default: the game's)")
    seed: int = field(0, doc="seed of the pretraining run")

    def validate(self) -> str | None:
        if any(size <= 0 for size in self.hidden):
            return f"hidden: every layer size must be > 0, got {list(self.hidden)}"
        if self.activation not in ACTIVATIONS:
            return f"activation: must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
        if self.horizon is not None and self.horizon <= 0:
            return f"horizon: must be > 0, got {self.horizon}"
        return None


@dataclass
class JointState:
    """A joint-function learner's parameters in the game's compact family, and its model of
    the opponent (used when the opponent's parameters are hidden or of another family)."""

    family: PolicyFamily
    params: Tensor
    model: OpponentModel


class JointFunctionLearner(Algorithm):
    """A white-box learner whose pretrained artifact is one `JointNet` per seat."""

    white_box = True
    pretrained = True

    def __init__(self, config: JointFunctionConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        self.networks: tuple[JointNet, JointNet] | None = None
        self.metrics: dict[str, float] = {}

    def loaded_networks(self) -> tuple[JointNet, JointNet]:
        """Both seats' networks (after `prepare`), or the error of `require_artifact`."""
        self.require_artifact()
        return self.networks  # type: ignore[return-value]

    def pretraining(
        self, game: Game, context: TrainingContext
    ) -> tuple[PolicyFamily, torch.Generator, JointValueOracle, TrainingMonitor]:
        """What `train` starts from: the compact family, the run's seeded generator, the
        game's values in that family and a progress log reporting about ten times."""
        config = self.config
        family = game.compact_family()
        generator = torch.Generator(device=game.device).manual_seed(config.seed)
        oracle = JointValueOracle(game, family, generator, config.episodes, config.horizon)
        monitor = TrainingMonitor(context, config.steps, f"{self.name} {game.name}")
        return family, generator, oracle, monitor

    @staticmethod
    def artifact(networks: tuple[JointNet, ...], metrics: dict[str, float]) -> dict[str, Any]:
        """The payload `load` reads back."""
        return {"networks": [network.payload() for network in networks], "metrics": metrics}

    def load(self, payload: dict[str, Any], game: Game) -> None:
        first, second = (JointNet.from_payload(p, game.device) for p in payload["networks"])
        self.networks = (first, second)
        self.metrics = dict(payload["metrics"])

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> JointState:
        self.require_artifact(game)  # fail before the match starts
        family = game.compact_family()
        return JointState(family, family.init(seeds, generator), OpponentModel(family))

    def policy(self, state: JointState) -> ParametricPolicy:
        return state.family.build(state.params)
