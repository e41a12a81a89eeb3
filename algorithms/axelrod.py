"""Any strategy of the Axelrod library as a zoo entrant: `axelrod:<Strategy>`.

Axelrod 1980/1984 ran the first computer tournaments of the iterated prisoner's dilemma; the
Axelrod library (Knight et al. 2016, "An open framework for the reproducible study of the
iterated prisoner's dilemma") holds over 240 strategies from them and from the literature
since. Here each plays in the zoo's tournaments like a fixed strategy: it never learns from
one iteration to the next (within an episode it reacts to the co-player's moves as written).

Memory-one strategies are exact tabular policies (so matches against exact learners use
exact values, as the zoo's own tit_for_tat does); every other strategy plays the sampled
episodes of each iteration as a black box (see shaping/interop/axelrod.py, which also
converts payoffs between the zoo's and Axelrod's conventions).

The strategy is named by the registry's provider mechanism (zoo_configs/algorithms/axelrod.yaml
declares `parameter: strategy`): `axelrod:TitForTat` is this class with strategy=TitForTat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from shaping.contracts.algorithm import Algorithm, MatchView
from shaping.contracts.config import field
from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import Game
from shaping.contracts.policies import Policy, TabularPolicy
from shaping.interop import axelrod as bridge


@dataclass(frozen=True)
class AxelrodConfig:
    strategy: str = field(doc="class name of an Axelrod strategy, from the name axelrod:<Strategy>")
    memory_one: Literal["exact", "sampled"] = field(
        "exact", doc="play memory-one strategies as exact tabular policies, or sample them too"
    )


class AxelrodStrategy(Algorithm):
    """Plays the same Axelrod strategy in every iteration."""

    Config = AxelrodConfig
    assumptions = ("does not learn", "Axelrod library strategy: exact if memory-one, else sampled")
    league_regime = "as_is"

    @classmethod
    def check_parameter(cls, value: str) -> str | None:
        """None if `value` names a strategy the zoo can play, else why not (near names)."""
        return bridge.strategy_problem(value)

    @classmethod
    def parameter_choices(cls) -> list[str]:
        return bridge.strategy_names()

    def supports(self, game: Game) -> str | None:
        payoffs = getattr(game.config, "payoffs", None)
        if payoffs is None or game.num_actions != 2:
            return "Axelrod strategies choose C or D each round of a 2x2 matrix game"
        try:
            bridge.symmetric_rstp(payoffs)
        except UnsupportedError as error:
            return str(error)
        return None

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> Policy:
        payoffs = game.config.payoffs
        if self.config.memory_one == "exact":
            logits = bridge.memory_one_logits(self.config.strategy, game.horizon, payoffs)
            if logits is not None:
                table = torch.tensor(logits, device=game.device).expand(seeds, -1).contiguous()
                return TabularPolicy(table, game.default_family())
        return bridge.AxelrodPolicy(self.config.strategy, game.horizon, payoffs, game.device)

    def policy(self, state: Policy) -> Policy:
        return state

    def update(self, state: Policy, view: MatchView) -> Policy:
        return state
