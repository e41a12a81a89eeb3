"""Fixed strategies: always cooperate, always defect, tit-for-tat, uniformly random.

Each game says what the strategy means there: memory-one tables on the iterated matrix games
(tit-for-tat repeats the co-player's last action), scripted movement on the coin game
(cooperate = go only for your own coin, defect = go for the coin, tit-for-tat = defect after
the co-player took your coin). They never learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from shaping.contracts.algorithm import Algorithm, MatchView
from shaping.contracts.config import field
from shaping.contracts.game import Game
from shaping.contracts.policies import Policy

Strategy = Literal["always_cooperate", "always_defect", "tit_for_tat", "random"]


@dataclass(frozen=True)
class FixedConfig:
    strategy: Strategy = field(doc="which fixed strategy to play")


class FixedStrategy(Algorithm):
    """Plays the same policy in every iteration."""

    Config = FixedConfig
    assumptions = ("does not learn",)
    league_regime = "as_is"

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> Policy:
        return game.fixed_policy(self.config.strategy, seeds)

    def policy(self, state: Policy) -> Policy:
        return state

    def update(self, state: Policy, view: MatchView) -> Policy:
        return state
