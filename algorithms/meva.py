"""MeVa: Meta-Value Learning (Cooijmans, Aghajohari and Courville 2023, arXiv:2307.08863).

MeVa judges a joint policy x = (θ_1, θ_2) by its meta-value, "a discounted sum over the
returns of future optimization iterates" (abstract), with both players updating:

    V_i(x) = (1 − γ) f_i(x) + γ V_i(x'),   x' = the next joint iterate,

and each player follows the gradient of its own meta-value, θ_i' = θ_i + α ∇_i V_i(x): a form
of Q-learning in the meta-game of optimisation whose greedy action is a gradient step, so the
continuous space of policy updates is never represented explicitly (abstract, method). The
meta-value is a network fitted by temporal differences along optimisation trajectories:

    V̂_i(x) ← (1 − γ) f_i(x) + γ V̄_i(x + α ∇̃ V̄(x))      (V̄: a slowly tracking target copy)

The (1 − γ) normalisation writes the discounted sum in the units of f (it multiplies V by a
constant, so it only rescales α). The network learns the correction U_i = V̂_i − f_i, so an
untrained MeVa is a naive learner and the update reads as the naive gradient plus a learned
shaping term: θ_i ← θ_i + α (∇_i f_i + ∇_i U_i).

Source note: the stored copies of the paper available here hold its abstract and
introduction only; the definition above and the one-step TD target follow them, while the
parameterisation by U, the target copy, the exploration noise and every hyperparameter are
zoo choices (documented in zoo_configs/algorithms/meva.yaml with what was measured):
* trajectories: optimisation runs from joint policies drawn uniformly from a box, of
  `meta_horizon` steps, with Gaussian exploration noise added to each visited iterate; the TD
  target is taken at the noise-free next iterate, so exploration moves the states visited but
  never the dynamics the meta-value describes;
* one artifact must serve against any opponent: a share `naive_share` of the runs pairs a
  MeVa seat with a naive learner (the M-FOS/MeVa benchmark opponent), the others are MeVa
  self-play (the consistent meta-game); each seat's network learns from the runs in which
  that seat follows MeVa;
* exact values on the matrix games; on the coin game (extension) the game's two-parameter
  coin-chasing family, with f and ∇f estimated from roll-outs (mean discounted return; DiCE).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from shaping.contracts.algorithm import MatchView, TrainingContext
from shaping.contracts.config import discount, field, non_negative, positive
from shaping.contracts.game import Game, Pair
from shaping.engine.training_monitor import TrainingMonitor
from shaping.families.joint_functions import (
    JointFunctionConfig,
    JointFunctionLearner,
    JointNet,
    JointState,
    JointValueOracle,
    uniform_box,
    value_scale,
)
from shaping.numerics.estimators import own_value_gradient


@dataclass(frozen=True)
class MeVaConfig(JointFunctionConfig):
    hidden: tuple[int, ...] = field((64, 64), doc="hidden layer sizes of each U_i")
    lr: float = field(1.0, check=positive, doc="step size α of θ ← θ + α ∇V̂")
    meta_gamma: float = field(0.9, check=discount, doc="discount γ of the meta-value")
    input_scale: float = field(7.0, check=positive, doc="inputs squashed as tanh(θ / scale)")
    trajectories: int = field(256, check=positive, doc="optimisation runs trained in parallel")
    meta_horizon: int = field(50, check=positive, doc="steps of a run before it restarts")
    optimizer_lr: float = field(1e-2, check=positive, doc="Adam learning rate of U")
    target_rate: float = field(0.01, check=positive, doc="Polyak rate of the target copy")
    target_steps: int = field(1, check=positive, doc="iterates unrolled in each TD target")
    exploration: float = field(0.3, check=non_negative, doc="std of noise on visited iterates")
    start_region: float = field(3.0, check=positive, doc="runs start at θ ~ U[-r, r]")
    naive_share: float = field(0.5, doc="share of runs against a naive learner")
    naive_lr: float = field(1.0, check=positive, doc="learning rate of that naive learner")

    def validate(self) -> str | None:
        if not 0.0 <= self.naive_share <= 1.0:
            return f"naive_share: must be in [0, 1], got {self.naive_share}"
        if self.target_rate > 1.0:
            return f"target_rate: must be in (0, 1], got {self.target_rate}"
        return super().validate()


def correction_gradient(network: JointNet, own: Tensor, opponent: Tensor, scale: float) -> Tensor:
    """∇_own U(own, opponent) [N, d], detached, with U = scale · network (value units)."""
    with torch.enable_grad():
        leaf = own.detach().requires_grad_(True)
        correction = network(leaf, opponent.detach()).sum() * scale
        (gradient,) = torch.autograd.grad(correction, leaf)
    return gradient.to(own.dtype)


class MetaValueTrainer:
    """TD learning of both seats' corrections U_1, U_2 along optimisation runs."""

    def __init__(
        self,
        oracle: JointValueOracle,
        dim: int,
        config: MeVaConfig,
        generator: torch.Generator,
    ) -> None:
        self.oracle = oracle
        self.dim = dim
        self.config = config
        self.generator = generator
        self.scale = oracle.value_scale
        self.networks = tuple(
            JointNet(dim, dim, 1, config.hidden, config.activation, config.input_scale, "tanh").to(
                generator.device
            )
            for _ in (0, 1)
        )
        self.targets = tuple(copy.deepcopy(network) for network in self.networks)
        weights = [p for network in self.networks for p in network.parameters()]
        self.optimizer = torch.optim.Adam(weights, lr=config.optimizer_lr)

    def corrections(self, networks: tuple[JointNet, ...], first: Tensor, second: Tensor) -> Pair:
        """(U_1, U_2) at the joint policies, [N]: the networks' outputs (each fed its player's
        own view first) times the game's value scale, so U is in the units of f."""
        return (
            networks[0](first, second).squeeze(-1) * self.scale,
            networks[1](second, first).squeeze(-1) * self.scale,
        )

    def next_iterates(
        self,
        networks: tuple[JointNet, ...],
        joint: Pair,
        naive_gradients: Pair,
        follows_meva: Tensor,
    ) -> Pair:
        """x' : MeVa seats step along α(∇f + ∇U), naive seats along naive_lr ∇f."""
        first, second = joint
        shaped = (
            correction_gradient(networks[0], first, second, self.scale),
            correction_gradient(networks[1], second, first, self.scale),
        )
        steps = tuple(
            torch.where(
                follows_meva[:, seat : seat + 1],
                self.config.lr * (naive_gradients[seat] + shaped[seat]),
                self.config.naive_lr * naive_gradients[seat],
            )
            for seat in (0, 1)
        )
        return first + steps[0], second + steps[1]

    def td_targets(
        self, joint: Pair, values: Pair, naive_gradients: Pair, follows_meva: Tensor
    ) -> list[Tensor]:
        """Targets of U_i(x) = V_i(x) − f_i(x) from n = `target_steps` noise-free
        iterates x_1..x_n of the target copies' dynamics:
        V_i(x) ≈ (1 − γ) Σ_{k<n} γ^k f_i(x_k) + γ^n (f_i(x_n) + Ū_i(x_n))."""
        gamma, steps = self.config.meta_gamma, self.config.target_steps
        discounted = [(1 - gamma) * v for v in values]
        current, current_gradients = joint, naive_gradients
        for k in range(1, steps + 1):
            current = self.next_iterates(self.targets, current, current_gradients, follows_meva)
            current_values, current_gradients = self.oracle.values_and_gradients(*current)
            weight = (1 - gamma) * gamma**k if k < steps else gamma**k
            discounted = [d + weight * v for d, v in zip(discounted, current_values, strict=True)]
        bootstrap = self.corrections(self.targets, *current)
        return [discounted[s] + gamma**steps * bootstrap[s] - values[s] for s in (0, 1)]

    def restart(self, count: int) -> tuple[Pair, Tensor]:
        """Fresh runs: joint policies from the start box, and which seats follow MeVa
        (both, or one of them against a naive learner, with probability naive_share)."""
        config = self.config
        joint = tuple(
            uniform_box(count, self.dim, config.start_region, self.generator) for _ in (0, 1)
        )
        draw = torch.rand(count, generator=self.generator, device=self.generator.device)
        follows_meva = torch.ones(count, 2, dtype=torch.bool, device=draw.device)
        follows_meva[draw < config.naive_share / 2, 1] = False
        follows_meva[(draw >= config.naive_share / 2) & (draw < config.naive_share), 0] = False
        return joint, follows_meva  # type: ignore[return-value]

    def train(self, monitor: TrainingMonitor) -> dict[str, float]:
        config = self.config
        joint, follows_meva = self.restart(config.trajectories)
        age = torch.randint(
            config.meta_horizon,
            (config.trajectories,),
            generator=self.generator,
            device=self.generator.device,
        )
        start, recent = time.perf_counter(), []
        for step in range(config.steps):
            values, naive_gradients = self.oracle.values_and_gradients(*joint)
            with torch.no_grad():
                targets = self.td_targets(joint, values, naive_gradients, follows_meva)
            predictions = self.corrections(self.networks, *joint)
            loss = sum(
                ((predictions[s] - targets[s]) / self.scale).square()[follows_meva[:, s]].sum()
                for s in (0, 1)
            ) / follows_meva.sum().clamp(min=1)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            with torch.no_grad():
                for network, target in zip(self.networks, self.targets, strict=True):
                    for weight, tracked in zip(
                        network.parameters(), target.parameters(), strict=True
                    ):
                        tracked.lerp_(weight, config.target_rate)
                visited = self.next_iterates(self.networks, joint, naive_gradients, follows_meva)
                joint = tuple(
                    x
                    + config.exploration
                    * torch.randn(x.shape, generator=self.generator, device=x.device)
                    for x in visited
                )
                age += 1
                finished = age >= config.meta_horizon
                if bool(finished.any()):
                    fresh, fresh_follow = self.restart(int(finished.sum()))
                    for current, replacement in zip(joint, fresh, strict=True):
                        current[finished] = replacement
                    follows_meva[finished] = fresh_follow
                    age[finished] = 0
            recent = [*recent[-99:], loss.item()]
            monitor.update(step + 1, {"meva/td_loss": recent[-1]})
        monitor.close()
        return {
            "td_loss": sum(recent) / len(recent),
            "training_seconds": time.perf_counter() - start,
        }


class MeVa(JointFunctionLearner):
    """θ_i ← θ_i + α (∇_i f_i + ∇_i U_i(θ_i, θ_-i)), U_i the learned meta-value correction."""

    Config = MeVaConfig
    assumptions = (
        "opponent's parameters (white box), else a fitted opponent model",
        "pretrained meta-value (exact values; sampled on the coin game)",
    )

    def train(self, game: Game, context: TrainingContext) -> dict[str, Any]:
        family, generator, oracle, monitor = self.pretraining(game, context)
        trainer = MetaValueTrainer(oracle, family.dim, self.config, generator)
        metrics = trainer.train(monitor)
        return self.artifact(trainer.networks, metrics)

    def update(self, state: JointState, view: MatchView) -> JointState:
        estimate = state.model.estimate(view)
        opponent = estimate.params
        naive = own_value_gradient(view, state.family, state.params)
        shaped = correction_gradient(
            self.loaded_networks()[view.player],
            state.params,
            opponent.to(state.params.dtype),
            value_scale(view.game),
        )
        return JointState(
            state.family, state.params + self.config.lr * (naive + shaped), estimate.model
        )
