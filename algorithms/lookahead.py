"""LookAhead (LA): Zhang & Lesser 2010 ("Multi-agent learning with policy prediction"), in the
form the SOS paper gives it (Letcher et al. 2019, Sec. 3):

    θ1 ← θ1 + δ ∇θ1 V1(θ1, θ2 + sg(Δθ2)) ≈ θ1 + δ [ ∇θ1 V1 + η (∇θ1 ∇θ2 V1) ∇θ2 V2 ]

The learner anticipates the opponent's naive step Δθ2 = η ∇θ2 V2 but, unlike LOLA, does not
try to influence it (sg = stop-gradient): it drops the shaping term. LookAhead locally converges
and avoids strict saddles in all differentiable games (SOS paper, Theorems 5-6).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from shaping.algorithm import Algorithm, MatchView
from shaping.config import field, non_negative, positive
from shaping.game import Game
from shaping.lookahead import Estimator, ShapingOracle, ShapingState, estimator_support
from shaping.optim import Ascent, OptimizerName
from shaping.policies import ParametricPolicy


@dataclass(frozen=True)
class LookAheadConfig:
    lr: float = field(1.0, check=non_negative, doc="learning rate δ")
    lookahead_rate: float = field(
        1.0, check=non_negative, doc="look-ahead rate η: the opponent's assumed learning rate"
    )
    estimator: Estimator = field(
        "auto", doc="auto (exact where the game has exact values, else DiCE), exact or dice"
    )
    dice_batch: int | None = field(
        None, check=positive, doc="episodes per seed of a DiCE estimate (default: the game's)"
    )
    dice_horizon: int | None = field(
        None, check=positive, doc="steps of a DiCE episode (default: the game's)"
    )
    opponent_model: bool = field(
        False, doc="LOLA-OM: shape a model fitted to the opponent's play, even a white box"
    )
    optimizer: OptimizerName = field("sgd", doc="sgd (plain ascent, as in the papers) or adam")


class LookAhead(Algorithm):
    """Gradient ascent against the opponent's predicted next parameters."""

    Config = LookAheadConfig
    white_box = True
    assumptions = (
        "opponent's parameters (white box) or a model fitted to its play",
        "opponent is a naive learner with rate η",
        "exact values, or DiCE estimates from simulated roll-outs where there are none",
    )

    def __init__(self, config: LookAheadConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        self.ascent = Ascent(config.optimizer, config.lr)

    def supports(self, game: Game) -> str | None:
        return estimator_support(game, self.config.estimator)

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> ShapingState:
        return ShapingState.init(game, seeds, generator, self.ascent)

    def policy(self, state: ShapingState) -> ParametricPolicy:
        return state.policy()

    def update(self, state: ShapingState, view: MatchView) -> ShapingState:
        config = self.config
        terms = ShapingOracle(
            view,
            state.family,
            state.params,
            state.model,
            config.estimator,
            config.dice_batch,
            config.dice_horizon,
            config.opponent_model,
        ).terms(players=(0,), shaping=False)
        # ∇θ1 V1 + η (∇θ1 ∇θ2 V1) ∇θ2 V2
        direction = terms.gradients[0] + config.lookahead_rate * terms.lookahead[0]
        return state.ascend(self.ascent, direction)
