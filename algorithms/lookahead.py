"""LookAhead (LA): Zhang & Lesser 2010 ("Multi-agent learning with policy prediction"), in the
form the SOS paper gives it (Letcher et al. 2019, Sec. 3):

    θ1 ← θ1 + δ ∇θ1 V1(θ1, θ2 + sg(Δθ2)) ≈ θ1 + δ [ ∇θ1 V1 + η (∇θ1 ∇θ2 V1) ∇θ2 V2 ]

The learner anticipates the opponent's naive step Δθ2 = η ∇θ2 V2 but, unlike LOLA, does not
try to influence it (sg = stop-gradient): it drops the shaping term. LookAhead locally converges
and avoids strict saddles in all differentiable games (SOS paper, Theorems 5-6).
"""

from __future__ import annotations

from shaping.contracts.algorithm import MatchView
from shaping.families.shaping_learner import ShapingConfig, ShapingLearner, ShapingState


class LookAhead(ShapingLearner):
    """Gradient ascent against the opponent's predicted next parameters."""

    Config = ShapingConfig

    def update(self, state: ShapingState, view: MatchView) -> ShapingState:
        oracle = self.oracle(state, view)
        terms = oracle.terms(players=(0,), shaping=False)
        # ∇θ1 V1 + η (∇θ1 ∇θ2 V1) ∇θ2 V2
        direction = terms.gradients[0] + self.config.lookahead_rate * terms.lookahead[0]
        return state.ascend(self.ascent, direction, oracle.model)
