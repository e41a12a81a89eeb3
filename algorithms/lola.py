"""LOLA: Learning with Opponent-Learning Awareness (Foerster et al. 2018), exact and DiCE.

Exact form (LOLA paper, Sec. 3.2, eq. 4): the learner assumes its opponent takes one naive
step Δθ2 = η ∇θ2 V2 and follows the first-order Taylor expansion of V1(θ1, θ2 + Δθ2):

    θ1 ← θ1 + δ [ ∇θ1 V1 + η (∇θ1 ∇θ2 V2) ∇θ2 V1 ]           (naive gradient + shaping term)

With `lookahead_term`, also the term (∇θ1 ∇θ2 V1) ∇θ2 V2 of the same expansion (the step held
fixed), i.e. the full gradient of the Taylor expansion: LOLA as the SOS paper defines it
(Letcher et al. 2019, Sec. 3, "LOLA = LookAhead + shaping").

Look-ahead form (`form: step`): differentiate through the opponent's K naive steps,

    θ1 ← θ1 + δ ∇θ1 V1(θ1, θ2^K(θ1)),  θ2^(k+1) = θ2^k + η ∇θ2 V2(θ1, θ2^k),

exactly where the game has exact values; with DiCE surrogates estimated from roll-outs this is
LOLA-DiCE (Foerster et al. 2018b, DiCE, Sec. 5 and the authors' lola_dice code): the inner
policy-gradient steps are built from the opponent's DiCE objective, and the outer objective is
evaluated on fresh episodes of the looked-ahead opponent, so its gradient flows through the
opponent's step into θ1.

The opponent is seen through `ShapingOracle`: its true parameters when visible, otherwise a
model fitted to its play (LOLA-OM, LOLA paper Sec. 3.3): a memory-one table on matrix games
(then the exact machinery applies to the model) or a behaviour-cloned network on the coin game.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shaping.contracts.algorithm import MatchView
from shaping.contracts.config import field, positive
from shaping.families.shaping_learner import ShapingConfig, ShapingLearner, ShapingState


@dataclass(frozen=True)
class LolaConfig(ShapingConfig):
    form: Literal["taylor", "step"] = field(
        "taylor", doc="taylor: eq. 4 of the LOLA paper; step: differentiate through the steps"
    )
    lookahead_term: bool = field(
        False, doc="taylor form: also keep the LookAhead term (the SOS paper's LOLA)"
    )
    lookahead_steps: int = field(1, check=positive, doc="step form: opponent steps looked through")


class Lola(ShapingLearner):
    """LOLA with exact values where the game has them, LOLA-DiCE otherwise."""

    Config = LolaConfig

    def update(self, state: ShapingState, view: MatchView) -> ShapingState:
        config = self.config
        rate = config.lookahead_rate
        oracle = self.oracle(state, view)
        if config.form == "step":
            # ∇θ1 V1(θ1, θ2^K(θ1)) through the opponent's naive steps (LOLA-DiCE, Sec. 5)
            direction = oracle.lookahead_gradient(rate, config.lookahead_steps)
        else:
            terms = oracle.terms(players=(0,), lookahead=config.lookahead_term)
            # eq. 4: ∇θ1 V1 + η (∇θ1 ∇θ2 V2) ∇θ2 V1
            direction = terms.gradients[0] + rate * terms.shaping[0]
            if config.lookahead_term:
                # SOS paper, Sec. 3: + η (∇θ1 ∇θ2 V1) ∇θ2 V2
                direction = direction + rate * terms.lookahead[0]
        return state.ascend(self.ascent, direction, oracle.model)
