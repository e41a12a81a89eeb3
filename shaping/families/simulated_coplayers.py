"""Batched learning rules of simulated co-players, for meta-learners that train against a
population of learners (M-FOS's meta-training, Lu et al. 2022, Sec. 4.1).

A meta-learner simulates thousands of inner games at once, each with a co-player that takes
one learning step per inner game. On games with exact values the steps are closed-form
functions of the shaping terms of `shaping.families.shaping_learner` (values maximised,
V = -L), for a co-player j facing i at learning rate δ and look-ahead rate η:

    naive learner   θ_j ← θ_j + δ ξ_j                 (Foerster et al. 2018, LOLA, eq. 2)
    LOLA            θ_j ← θ_j + δ (ξ_j + η χ_j)       (Foerster et al. 2018, LOLA, eq. 4)

with ξ_j = ∇_j V_j and χ_j = (∇_j ∇_i V_i) ∇_i V_j. The M-FOS code's LOLA opponent
(luchris429/model-free-opponent-shaping, src/environments.py) differentiates the whole inner
product ⟨∇_i V_j, ∇_i V_i⟩ and so also adds the LookAhead term η (H_o ξ)_j (the SOS paper's
"LOLA", Letcher et al. 2019, Sec. 3); `include_lookahead=True` gives that variant.

Rules are batched over games: `LearnerPool.step` moves every game's co-player with the rule
drawn for that game, from one second-order exact analysis of all games at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor

from shaping.contracts.game import ExactAnalysis
from shaping.families.shaping_learner import ShapingTerms

LearnerRule = Literal["naive", "lola"]
LEARNER_RULES: tuple[str, ...] = get_args(LearnerRule)


@dataclass(frozen=True)
class ExactLearner:
    """One exact learning step per inner game, of the player at index 0 of `ShapingTerms`."""

    rule: LearnerRule = "naive"
    lr: float = 1.0
    lookahead_rate: float = 1.0
    include_lookahead: bool = False

    def __post_init__(self) -> None:
        if self.rule not in LEARNER_RULES:
            raise ValueError(f"rule: must be one of {list(LEARNER_RULES)}, got {self.rule!r}")
        if self.lr < 0 or self.lookahead_rate < 0:
            raise ValueError(
                f"lr and lookahead_rate must be >= 0, got {self.lr} and {self.lookahead_rate}"
            )

    @property
    def second_order(self) -> bool:
        """Whether the step needs the second-order terms (H_o ξ, χ)."""
        return self.rule != "naive"

    def direction(self, terms: ShapingTerms) -> Tensor:
        """The ascent direction [S, d] of the player at index 0 of `terms`."""
        if self.rule == "naive":
            return terms.gradients[0]
        correction = terms.shaping[0]
        if self.include_lookahead:
            correction = correction + terms.lookahead[0]
        return terms.gradients[0] + self.lookahead_rate * correction

    def step(self, params: Tensor, terms: ShapingTerms) -> Tensor:
        """θ + δ · direction, detached."""
        return params.detach() + self.lr * self.direction(terms)


class LearnerPool:
    """A population of exact learners; each simulated game's co-player follows one of them.

    pool = LearnerPool([ExactLearner("naive"), ExactLearner("lola")])
    rules = pool.sample(games, generator)           # index of each game's learner
    params = pool.step(params, terms, rules)        # every co-player's step at once
    """

    def __init__(self, learners: Sequence[ExactLearner]) -> None:
        if not learners:
            raise ValueError("a learner pool needs at least one learner")
        self.learners = tuple(learners)

    def __len__(self) -> int:
        return len(self.learners)

    def second_order(self, rules: Tensor) -> bool:
        """Whether any of the drawn learners needs the second-order terms."""
        present = torch.unique(rules).tolist()
        return any(self.learners[index].second_order for index in present)

    def sample(self, games: int, generator: torch.Generator) -> Tensor:
        """Learner index of each of `games` co-players, in equal shares (in a random order)."""
        shares = torch.arange(games, device=generator.device) % len(self.learners)
        order = torch.randperm(games, generator=generator, device=generator.device)
        return shares[order]

    def step(self, params: Tensor, terms: ShapingTerms, rules: Tensor) -> Tensor:
        """Each game's co-player (index 0 of `terms`, params [G, d]) steps with its rule
        `learners[rules[g]]`, [G, d], detached."""
        updated = params.detach()
        for index, learner in enumerate(self.learners):
            mask = (rules == index).unsqueeze(-1)
            if bool(mask.any()):
                updated = torch.where(mask, learner.step(params, terms), updated)
        return updated


def seated_terms(analysis: ExactAnalysis, seats: Tensor) -> ShapingTerms:
    """The shaping terms of one player per game, the player of game g sitting in seat
    `seats[g]` (0 or 1): index 0 is that player, index 1 its co-player, each [G, d].

    Without second-order terms in `analysis`, H_o ξ and χ are zero (enough for naive steps).
    """
    first = (seats == 0).unsqueeze(-1)

    def pick(pair: tuple[Tensor, Tensor] | None, like: tuple[Tensor, Tensor]) -> tuple:
        if pair is None:
            return torch.zeros_like(like[0]), torch.zeros_like(like[1])
        return torch.where(first, pair[0], pair[1]), torch.where(first, pair[1], pair[0])

    gradients = (analysis.gradients[0][0], analysis.gradients[1][1])
    return ShapingTerms(
        pick(gradients, gradients),
        pick(analysis.lookahead, gradients),
        pick(analysis.shaping, gradients),
    )
