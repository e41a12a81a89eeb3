"""Naive learner (NL): independent gradient ascent on its own value.

Foerster et al. 2018, "Learning with Opponent-Learning Awareness", Sec. 3.1, eq. (2):

    θ_i ← θ_i + δ ∇_θi V_i(θ_1, θ_2)

with the exact gradient on games with exact values (the LOLA paper's "exact" setting) and the
REINFORCE estimator with a baseline on sampled games (the coin game, or any game against a
black-box co-player). The co-player is treated as part of the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from shaping.contracts.algorithm import Algorithm, MatchView
from shaping.contracts.config import field, non_negative, positive
from shaping.contracts.game import Game
from shaping.contracts.policies import ParametricPolicy, PolicyFamily
from shaping.families.shaping_learner import (
    POLICY_DOC,
    POLICY_HIDDEN_DOC,
    PolicyClass,
    learner_family,
)
from shaping.numerics.estimators import own_value_gradient
from shaping.numerics.optim import Ascent, OptimizerName, OptimizerState


@dataclass(frozen=True)
class NaiveConfig:
    lr: float = field(1.0, check=non_negative, doc="learning rate δ")
    optimizer: OptimizerName = field("sgd", doc="sgd (plain ascent, as in the papers) or adam")
    policy: PolicyClass = field("default", doc=POLICY_DOC)
    policy_hidden: int = field(32, check=positive, doc=POLICY_HIDDEN_DOC)


@dataclass
class NaiveState:
    family: PolicyFamily
    params: Tensor
    optimizer: OptimizerState


class NaiveLearner(Algorithm):
    """θ ← θ + δ ∇θ V(θ, θ_opponent), the opponent held fixed."""

    Config = NaiveConfig
    assumptions = ("exact gradient of own value where the game has one",)

    def __init__(self, config: NaiveConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        self.ascent = Ascent(config.optimizer, config.lr)

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> NaiveState:
        family = learner_family(game, self.config.policy, self.config.policy_hidden)
        params = family.init(seeds, generator)
        return NaiveState(family, params, self.ascent.init(params))

    def policy(self, state: NaiveState) -> ParametricPolicy:
        return state.family.build(state.params)

    def update(self, state: NaiveState, view: MatchView) -> Any:
        gradient = own_value_gradient(view, state.family, state.params)
        new_params, optimizer = self.ascent.step(state.params, gradient, state.optimizer)
        return NaiveState(state.family, new_params, optimizer)
