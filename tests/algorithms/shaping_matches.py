"""Helpers shared by the LOQA and Advantage Alignment tests: a match loop that also returns
the learners' final states (to inspect their policies), and the IPD reciprocity measure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from shaping.contracts.algorithm import Algorithm, MatchView, Outcome
from shaping.contracts.game import Game
from shaping.contracts.policies import MEMORY_ONE_STATES
from shaping.engine.match import match_generators


def play(
    game: Game, algorithms: tuple[Algorithm, Algorithm], seeds: int, iterations: int, seed: int = 0
) -> tuple[list[Any], list[tuple[torch.Tensor, torch.Tensor]], list[dict]]:
    """run_match's loop, returning the final states and the per-iteration records."""
    environment, *generators = match_generators(seed, game.device)
    states = [a.init(game, seat, seeds, generators[seat]) for seat, a in enumerate(algorithms)]
    rewards, metrics = [], []
    for iteration in range(iterations):
        policies = tuple(a.policy(s) for a, s in zip(algorithms, states, strict=True))
        outcome = Outcome(game, policies, seeds, environment)
        reward, metric = outcome.record()
        rewards.append(reward)
        metrics.append(metric)
        states = [
            a.update(s, MatchView(outcome, seat, iteration, reveal_opponent=a.white_box))
            for seat, (a, s) in enumerate(zip(algorithms, states, strict=True))
        ]
    return states, rewards, metrics


def cooperation_by_state(state: Any) -> dict[str, torch.Tensor]:
    """P(cooperate | own-view state) per seed of a learner with a memory-one table."""
    probabilities = torch.sigmoid(state.params)
    return {name: probabilities[:, k] for k, name in enumerate(MEMORY_ONE_STATES)}


def with_config(registry, name: str, game: str, **changes) -> Algorithm:
    """The registered algorithm `name` for `game`, with some hyperparameters changed."""
    entry = registry.algorithm(name)
    return entry.cls(replace(entry.config(game), **changes), name)
