"""Functional, seed-batched optimisers for gradient *ascent* on values.

Parameters are [S, d] tensors and every rule here is elementwise, so each seed is optimised
independently while all seeds share one tensor operation. States are plain tensors kept in an
algorithm's state, which keeps algorithms free of hidden mutable optimiser objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

OptimizerName = Literal["sgd", "adam"]


@dataclass
class OptimizerState:
    step: int
    first_moment: Tensor | None
    second_moment: Tensor | None


@dataclass(frozen=True)
class Ascent:
    """Gradient ascent: plain (`sgd`: θ ← θ + lr·g) or Adam (Kingma & Ba 2015, Alg. 1)."""

    name: OptimizerName = "sgd"
    lr: float = 1.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.name not in ("sgd", "adam"):
            raise ValueError(f"optimizer: must be 'sgd' or 'adam', got {self.name!r}")
        if self.lr < 0:
            raise ValueError(f"lr: must be >= 0, got {self.lr}")

    def init(self, params: Tensor) -> OptimizerState:
        if self.name == "sgd":
            return OptimizerState(0, None, None)
        return OptimizerState(0, torch.zeros_like(params), torch.zeros_like(params))

    def step(
        self, params: Tensor, gradient: Tensor, state: OptimizerState
    ) -> tuple[Tensor, OptimizerState]:
        """One ascent step along `gradient`; returns new parameters (no graph) and state."""
        gradient = gradient.detach()
        if self.name == "sgd":
            return params.detach() + self.lr * gradient, state
        beta1, beta2 = self.betas
        step = state.step + 1
        first = torch.lerp(state.first_moment, gradient, 1 - beta1)
        second = torch.lerp(state.second_moment, gradient * gradient, 1 - beta2)
        corrected_first = first / (1 - beta1**step)
        corrected_second = second / (1 - beta2**step)
        update = self.lr * corrected_first / (corrected_second.sqrt() + self.eps)
        return params.detach() + update, OptimizerState(step, first, second)
