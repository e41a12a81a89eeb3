"""Differentiable games from the SOS paper (Letcher et al. 2019, Sec. 5 and its notebook):
each player's parameters are a real vector and both losses are closed-form functions of all
parameters, so values are exact and differentiable to any order. There are no episodes: these
games test the second-order machinery, not reinforcement learning.

* tandem: x, y ∈ R, L1 = (x + y)² - 2x, L2 = (x + y)² - 2y. Every x + y = 1 is a fixed point
  of naive learning; LOLA overshoots to x + y = 4/3 at α = 0.1 (SOS paper, Sec. 5).
* one-shot 2x2 matrix games (matching pennies): one logit per player, P(action 0) = sigmoid(θ),
  V_i = xᵀ R_i y with x, y the two mixed strategies.

The zoo maximises values, so V_i = -L_i. Reward per step is the value itself (one shot).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from shaping.contracts.config import field, non_negative
from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import Game, Pair, Trajectories, payoff_table_problem
from shaping.contracts.policies import ParametricPolicy, PolicyFamily, PolicyKind


@dataclass(frozen=True)
class StrategyFamily(PolicyFamily):
    """A player's strategy as `dim` real parameters; a one-shot game's strategy is a table
    with a single row, hence the tabular kind."""

    dim: int = 1
    init_std: float = 1.0
    kind: ClassVar[PolicyKind] = PolicyKind.TABULAR

    def build(self, params: Tensor) -> StrategyPolicy:
        return StrategyPolicy(params, self)

    def init(self, seeds: int, generator: torch.Generator) -> Tensor:
        noise = torch.randn(seeds, self.dim, generator=generator, device=generator.device)
        return noise * self.init_std


class StrategyPolicy(ParametricPolicy):
    """Parameters [S, dim] of a differentiable game; exact values only, nothing to roll out."""

    kind = PolicyKind.TABULAR

    def __init__(self, params: Tensor, family: StrategyFamily) -> None:
        if params.dim() != 2 or params.shape[1] != family.dim:
            raise ValueError(
                f"strategy parameters must have shape [seeds, {family.dim}], "
                f"got {list(params.shape)}"
            )
        self.params = params
        self.family = family

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        raise UnsupportedError("differentiable games have exact values only, no roll-outs")

    def log_prob(self, observations: Tensor, actions: Tensor) -> Tensor:
        raise UnsupportedError("differentiable games have exact values only, no roll-outs")


class DifferentiableGame(Game):
    """A game given by closed-form values of both players' parameters; no environment."""

    def __init__(self, name: str, config: Any, device: torch.device | str = "cpu") -> None:
        super().__init__(name, config, device)
        self._family = StrategyFamily(dim=1, init_std=config.init_std)

    @property
    def gamma(self) -> float:
        return 0.0

    @property
    def horizon(self) -> int:
        return 1

    @property
    def batch(self) -> int:
        return 1

    def reward_per_step(self, value: Tensor) -> Tensor:
        return value

    def default_family(self) -> PolicyFamily:
        return self._family

    def has_exact(self, family_a: PolicyFamily | None, family_b: PolicyFamily | None) -> bool:
        return isinstance(family_a, StrategyFamily) and isinstance(family_b, StrategyFamily)

    @abstractmethod
    def exact(self, params_a: Tensor, params_b: Tensor) -> Pair:
        """(V1, V2) = (-L1, -L2), each [S]."""

    def fixed_policy(self, strategy: str, seeds: int) -> ParametricPolicy:
        raise UnsupportedError(f"{self.name} has no fixed strategies (it is not a repeated game)")

    def _no_rollouts(self) -> UnsupportedError:
        return UnsupportedError(f"{self.name} has exact values only: there are no episodes")

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> Any:
        raise self._no_rollouts()

    def step(self, state: Any, actions: Pair, generator: torch.Generator):
        raise self._no_rollouts()

    def observe(self, state: Any, player: int) -> Tensor:
        raise self._no_rollouts()

    def sampled_metrics(self, trajectories: Trajectories) -> dict[str, Pair]:
        raise self._no_rollouts()


@dataclass(frozen=True)
class TandemConfig:
    init_std: float = field(1.0, check=non_negative, doc="initial x, y ~ N(0, init_std²)")


class TandemGame(DifferentiableGame):
    """L1 = (x + y)² - 2x, L2 = (x + y)² - 2y (SOS paper, Sec. 5)."""

    Config = TandemConfig
    metric_names: ClassVar[tuple[str, ...]] = ("strategy",)

    def exact(self, params_a: Tensor, params_b: Tensor) -> Pair:
        x, y = params_a[:, 0], params_b[:, 0]
        total = (x + y) ** 2
        return 2 * x - total, 2 * y - total

    def exact_metrics(self, params_a: Tensor, params_b: Tensor) -> dict[str, Pair]:
        """Each player's parameter (x and y; the fixed points have x + y = 1)."""
        return {"strategy": (params_a[:, 0].detach(), params_b[:, 0].detach())}


@dataclass(frozen=True)
class OneShotMatrixConfig:
    """A one-shot 2x2 game; payoffs[a1][a2] = [reward of player 1, reward of player 2]."""

    payoffs: list[list[list[float]]] = field(
        doc="payoffs[row action][column action] = [row reward, column reward]"
    )
    init_std: float = field(1.0, check=non_negative, doc="initial logits ~ N(0, init_std²)")
    action_names: tuple[str, str] = field(("heads", "tails"), doc="names of actions 0, 1")

    def validate(self) -> str | None:
        return payoff_table_problem(self.payoffs)


class OneShotMatrixGame(DifferentiableGame):
    """V_i = xᵀ R_i y with x = (sigmoid θ1, 1 - sigmoid θ1), y likewise (SOS notebook)."""

    Config = OneShotMatrixConfig
    metric_names: ClassVar[tuple[str, ...]] = ("cooperation",)

    def __init__(
        self, name: str, config: OneShotMatrixConfig, device: torch.device | str = "cpu"
    ) -> None:
        super().__init__(name, config, device)
        # payoffs[a1, a2, player]
        self.payoff_table = torch.tensor(config.payoffs, dtype=torch.float32, device=self.device)

    def exact(self, params_a: Tensor, params_b: Tensor) -> Pair:
        p = torch.sigmoid(params_a[:, 0])
        q = torch.sigmoid(params_b[:, 0])
        x = torch.stack((p, 1 - p), -1)  # [S, 2]
        y = torch.stack((q, 1 - q), -1)
        payoffs = self.payoff_table.to(x.dtype)
        joint = x.unsqueeze(-1) * y.unsqueeze(-2)  # [S, 2, 2]
        values = (joint.unsqueeze(-1) * payoffs).sum((1, 2))  # [S, 2]
        return values[:, 0], values[:, 1]

    def exact_metrics(self, params_a: Tensor, params_b: Tensor) -> dict[str, Pair]:
        """P(action 0) of each player (1/2 at matching pennies' mixed equilibrium)."""
        return {
            "cooperation": (
                torch.sigmoid(params_a[:, 0]).detach(),
                torch.sigmoid(params_b[:, 0]).detach(),
            )
        }
