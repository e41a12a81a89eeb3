"""SOS: Stable Opponent Shaping (Letcher et al. 2019, "Stable Opponent Shaping in
Differentiable Games"), Algorithm 1, written for values V = -L that are maximised.

With ξ the players' naive gradients, H_o ξ the LookAhead term and χ the shaping term (see
shaping/families/shaping_learner.py), for both players at once:

    ξ0 = ξ + η H_o ξ                                       (line 3: LookAhead, (I - αH_o)ξ)
    p1 = 1 if ⟨ηχ, ξ0⟩ ≥ 0 else min(1, -a ‖ξ0‖² / ⟨ηχ, ξ0⟩)   (line 4; ⟨-αχ, ξ0⟩ for losses)
    p2 = ‖ξ‖² if ‖ξ‖ < b else 1                              (line 5)
    p  = min(p1, p2);   θ ← θ + δ (ξ0 + p η χ)                (line 6)

Inner products and norms run over both players' parameters (per seed): a white-box SOS learner
computes them from the opponent's terms too, which it can, seeing (or modelling) the opponent.
The paper uses one rate α = δ = η. Where the game has no exact values (the coin game) the same
terms are estimated with DiCE.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from shaping.contracts.algorithm import MatchView
from shaping.contracts.config import field, in_range
from shaping.families.shaping_learner import ShapingConfig, ShapingLearner, ShapingState


@dataclass(frozen=True)
class SosConfig(ShapingConfig):
    """δ = `lr` and η = `lookahead_rate` are both α in the paper."""

    a: float = field(0.5, check=in_range(0.0, 1.0, low_open=True, high_open=True), doc="a ∈ (0, 1)")
    b: float = field(0.1, check=in_range(0.0, 1.0, low_open=True, high_open=True), doc="b ∈ (0, 1)")


def squared_norm(pair: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """‖(x_1, x_2)‖² per seed over both players' parameters, [S]."""
    return (pair[0] * pair[0]).sum(-1) + (pair[1] * pair[1]).sum(-1)


class StableOpponentShaping(ShapingLearner):
    """LookAhead plus the shaping term, scaled by p so as never to oppose LookAhead."""

    Config = SosConfig

    def update(self, state: ShapingState, view: MatchView) -> ShapingState:
        config = self.config
        rate = config.lookahead_rate
        oracle = self.oracle(state, view)
        terms = oracle.terms()
        xi, chi = terms.gradients, terms.shaping
        xi0 = (xi[0] + rate * terms.lookahead[0], xi[1] + rate * terms.lookahead[1])  # line 3
        alignment = rate * ((chi[0] * xi0[0]).sum(-1) + (chi[1] * xi0[1]).sum(-1))
        p1 = torch.where(
            alignment >= 0,
            torch.ones_like(alignment),
            (-config.a * squared_norm(xi0) / alignment).clamp(max=1.0),
        )  # line 4
        xi_squared = squared_norm(xi)
        p2 = torch.where(xi_squared < config.b**2, xi_squared, torch.ones_like(xi_squared))  # 5
        p = torch.minimum(p1, p2).unsqueeze(-1)
        return state.ascend(self.ascent, xi0[0] + p * rate * chi[0], oracle.model)  # line 6
