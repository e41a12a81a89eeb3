"""COLA: Consistent Learning with Opponent-Learning Awareness (Willi, Letcher, Treutlein and
Foerster 2022, ICML).

LOLA updates as if its co-player were a naive learner, h_1(θ) = α ∇_1 V_1(θ_1, θ_2 + α ∇_2 V_2),
which is inconsistent when the co-player shapes too. The paper calls two update functions
consistent when each is the look-ahead gradient against the other (values V = -L, maximised;
∇_i the total derivative in θ_i, through the co-player's update as well):

    h_1(θ) = α ∇_1 [V_1(θ_1, θ_2 + h_2(θ))],      h_2(θ) = α ∇_2 [V_2(θ_1 + h_1(θ), θ_2)],

and COLA learns such a pair: two small networks minimising the consistency losses

    C_1 = ‖h_1(θ) − α ∇_1 V_1(θ_1, θ_2 + h_2(θ))‖²,   C_2 = ‖h_2(θ) − α ∇_2 V_2(θ_1 + h_1(θ), θ_2)‖²

with Adam, over joint parameters θ drawn uniformly from a box ([−7, 7] per logit in the
paper's matrix games). Frozen, they are the players' update rule: θ_i ← θ_i + h_i(θ).

Zoo specifics. Pretraining (`train`) fits both seats' networks on the game's exact values (the
matrix games) and is cached as an artifact; each network takes (own, opponent) parameters in
its player's own view, so a COLA player in seat i applies h_i against any opponent: the
opponent's true parameters when they are visible and of its family, else the opponent model's
estimate (shaping/families/opponent_model.py). On the coin game, an extension: COLA works
in the game's two-parameter coin-chasing family (`Game.compact_family`), with DiCE estimates
on fresh roll-outs in place of exact values; with sampled values each consistency loss is the
inner product of two independently sampled residuals, an unbiased estimate of the squared
norm.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from shaping.contracts.algorithm import MatchView, TrainingContext
from shaping.contracts.config import field, positive
from shaping.contracts.game import Game, Pair
from shaping.engine.training_monitor import TrainingMonitor
from shaping.families.joint_functions import (
    JointFunctionConfig,
    JointFunctionLearner,
    JointNet,
    JointState,
    SeatValues,
    cosine_decay,
    uniform_box,
)

#: (θ_1 [N, d_1], θ_2 [N, d_2]) -> (h_1 [N, d_1], h_2 [N, d_2]): both seats' update functions
UpdateFunctions = Callable[[Tensor, Tensor], Pair]


@dataclass(frozen=True)
class COLAConfig(JointFunctionConfig):
    lookahead_rate: float = field(1.0, check=positive, doc="look-ahead rate α, inside h")
    region: float = field(7.0, check=positive, doc="θ ~ U[-region, region] per parameter")
    batch: int = field(64, check=positive, doc="joint parameters θ per pretraining step")
    lr: float = field(1e-3, check=positive, doc="Adam learning rate (cosine-annealed to 0)")
    evaluation_samples: int = field(1024, check=positive, doc="held-out θ for the final loss")


def consistency_losses(
    values: SeatValues,
    updates: UpdateFunctions,
    rate: float,
    first: Tensor,
    second: Tensor,
    create_graph: bool = False,
    sampled: bool = False,
) -> Pair:
    """(C_1, C_2) per joint parameter sample, [N] each (the COLA paper's consistency losses).

    ∇_1 is the total derivative in θ_1 of V_1(θ_1, θ_2 + h_2(θ_1, θ_2)), through h_2 too. With
    `sampled` values (fresh DiCE roll-outs at every call), C_i = ⟨r_i, r_i'⟩ with r_i, r_i' two
    independently sampled residuals: E⟨r, r'⟩ = ‖E r‖², so the loss and its gradient in the
    networks' weights are unbiased, where ‖r‖² would add the estimator's variance. With
    `create_graph` the losses stay differentiable in whatever `updates` depends on.
    """
    with torch.enable_grad():
        first = first.detach().requires_grad_(True)
        second = second.detach().requires_grad_(True)
        own_step, other_step = updates(first, second)

        def residuals() -> Pair:
            value_1 = values(first, second + other_step)[0]
            (target_1,) = torch.autograd.grad(value_1.sum(), first, create_graph=True)
            value_2 = values(first + own_step, second)[1]
            (target_2,) = torch.autograd.grad(value_2.sum(), second, create_graph=True)
            return own_step - rate * target_1, other_step - rate * target_2

        residual = residuals()
        independent = residuals() if sampled else residual
        losses = tuple(
            (r * r_other).sum(-1) for r, r_other in zip(residual, independent, strict=True)
        )
    if not create_graph:
        losses = tuple(loss.detach() for loss in losses)
    return losses  # type: ignore[return-value]


def network_updates(networks: tuple[JointNet, JointNet]) -> UpdateFunctions:
    """Both seats' update functions from their networks, each fed its own view first."""

    def updates(first: Tensor, second: Tensor) -> Pair:
        return networks[0](first, second).to(first.dtype), networks[1](second, first).to(
            second.dtype
        )

    return updates


def train_update_functions(
    values: SeatValues,
    dims: tuple[int, int],
    config: COLAConfig,
    generator: torch.Generator,
    monitor: TrainingMonitor,
    sampled: bool = False,
    dtype: torch.dtype = torch.float32,
) -> tuple[tuple[JointNet, JointNet], dict[str, float]]:
    """Fit h_1, h_2 to minimise E[C_1 + C_2] over θ ~ U(box); returns the networks and the
    mean held-out consistency loss (θ never seen in training)."""
    device = generator.device
    networks = tuple(
        JointNet(
            dims[seat],
            dims[1 - seat],
            dims[seat],
            config.hidden,
            config.activation,
            scale=config.region,
            squash="clamp",
        ).to(device=device, dtype=dtype)
        for seat in (0, 1)
    )
    updates = network_updates(networks)  # type: ignore[arg-type]
    weights = [p for network in networks for p in network.parameters()]
    optimizer = torch.optim.Adam(weights, lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cosine_decay(step, config.steps)
    )
    start = time.perf_counter()
    for step in range(config.steps):
        first = uniform_box(config.batch, dims[0], config.region, generator, dtype)
        second = uniform_box(config.batch, dims[1], config.region, generator, dtype)
        losses = consistency_losses(
            values, updates, config.lookahead_rate, first, second, True, sampled
        )
        loss = (losses[0] + losses[1]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        monitor.update(step + 1, {"cola/consistency_loss": loss.item()})
    seconds = time.perf_counter() - start
    held_out = held_out_consistency(values, updates, config, dims, generator, sampled, dtype)
    monitor.close()
    return networks, {"held_out_consistency_loss": held_out, "training_seconds": seconds}  # type: ignore[return-value]


def held_out_consistency(
    values: SeatValues,
    updates: UpdateFunctions,
    config: COLAConfig,
    dims: tuple[int, int],
    generator: torch.Generator,
    sampled: bool = False,
    dtype: torch.dtype = torch.float32,
) -> float:
    """Mean C_1 + C_2 over `config.evaluation_samples` fresh θ from the box."""
    total, count = 0.0, 0
    while count < config.evaluation_samples:
        size = min(config.batch * 4, config.evaluation_samples - count)
        first = uniform_box(size, dims[0], config.region, generator, dtype)
        second = uniform_box(size, dims[1], config.region, generator, dtype)
        losses = consistency_losses(
            values, updates, config.lookahead_rate, first, second, sampled=sampled
        )
        total += float((losses[0] + losses[1]).sum())
        count += size
    return total / count


class COLA(JointFunctionLearner):
    """θ_i ← θ_i + h_i(θ_i, θ_-i), with h_1, h_2 pretrained to be mutually consistent."""

    Config = COLAConfig
    assumptions = (
        "opponent's parameters (white box), else a fitted opponent model",
        "pretrained update functions (exact values; DiCE on the coin game)",
    )

    def train(self, game: Game, context: TrainingContext) -> dict[str, Any]:
        family, generator, oracle, monitor = self.pretraining(game, context)
        networks, metrics = train_update_functions(
            oracle.values,
            (family.dim, family.dim),
            self.config,
            generator,
            monitor,
            not oracle.exact,
        )
        return self.artifact(networks, metrics)

    def update_functions(self) -> UpdateFunctions:
        """Both seats' learned update functions (after `prepare` or `load`)."""
        return network_updates(self.loaded_networks())

    def update(self, state: JointState, view: MatchView) -> JointState:
        estimate = state.model.estimate(view)
        opponent = estimate.params
        network = self.loaded_networks()[view.player]
        with torch.no_grad():
            step = network(state.params, opponent.to(state.params.dtype)).to(state.params.dtype)
        return JointState(state.family, state.params + step, estimate.model)
