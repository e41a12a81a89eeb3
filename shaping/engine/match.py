"""One match: two algorithms learning against each other on one game, over S seeds at once."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from shaping.contracts.algorithm import Algorithm, MatchView, Outcome
from shaping.contracts.errors import MatchDiverged, UnsupportedError
from shaping.contracts.game import Game, Pair
from shaping.engine.artifacts import ArtifactCache
from shaping.tournament.stats import student_t_quantile

#: called after each iteration with (iteration, rewards per seed, metrics per seed)
IterationCallback = Callable[[int, Pair, dict[str, Pair]], None]


@dataclass
class MatchResult:
    """Per-iteration, per-seed record of a match. Arrays are [iterations, seeds, 2] (a, b)."""

    game: str
    a: str
    b: str
    seeds: int
    iterations: int
    seed: int
    evaluation: str
    rewards: np.ndarray
    metrics: dict[str, np.ndarray]
    wall_time: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON summary of `shaping match --json` (reward per step everywhere)."""
        final = self.rewards[-1]
        # Student-t: matches run few seeds, where the normal 1.96 is far too narrow
        half_width = (
            student_t_quantile(0.975, self.seeds - 1)
            * final.std(axis=0, ddof=1)
            / math.sqrt(self.seeds)
            if self.seeds > 1
            else np.zeros(2)
        )
        return {
            "game": self.game,
            "a": self.a,
            "b": self.b,
            "seeds": self.seeds,
            "iterations": self.iterations,
            "seed": self.seed,
            "evaluation": self.evaluation,
            "mean_reward": self.rewards.mean(axis=(0, 1)).tolist(),
            "final_reward": final.mean(axis=0).tolist(),
            "final_reward_ci95": half_width.tolist(),
            "final_reward_per_seed": final.tolist(),
            "metrics": {
                name: values[-1].mean(axis=0).tolist() for name, values in self.metrics.items()
            },
            "mean_metrics": {
                name: values.mean(axis=(0, 1)).tolist() for name, values in self.metrics.items()
            },
            "final_metrics_per_seed": {
                name: values[-1].tolist() for name, values in self.metrics.items()
            },
            "wall_time_s": round(self.wall_time, 3),
        }


def match_generators(seed: int, device: torch.device) -> tuple[torch.Generator, ...]:
    """Independent generators for the environment and the two seats, derived from `seed`."""
    children = np.random.SeedSequence(seed).spawn(3)
    return tuple(
        torch.Generator(device=device).manual_seed(int(child.generate_state(1, np.uint64)[0] >> 1))
        for child in children
    )


def _check_finite(rewards: list[Pair], first_unchecked: int, names: tuple[str, str]) -> None:
    if first_unchecked >= len(rewards):
        return
    block = torch.stack([torch.stack(pair) for pair in rewards[first_unchecked:]])
    finite = torch.isfinite(block).flatten(1).all(1)
    if not bool(finite.all()):
        iteration = first_unchecked + int((~finite).nonzero()[0, 0])
        raise MatchDiverged(f"{names[0]} vs {names[1]}: non-finite reward at iteration {iteration}")


def run_match(
    game: Game,
    algorithms: tuple[Algorithm, Algorithm],
    *,
    seeds: int,
    iterations: int,
    seed: int = 0,
    artifacts: ArtifactCache | None = None,
    on_iteration: IterationCallback | None = None,
    check_every: int = 16,
    final_policies: bool = False,
) -> MatchResult:
    """Play `iterations` learning iterations of `algorithms[0]` (seat 0) against
    `algorithms[1]` (seat 1) on `game`, with `seeds` independent runs batched together.

    With `final_policies`, `extra["final_policies"]` holds both seats' policies after the
    last update (what training a league agent keeps). Raises UnsupportedError if an algorithm
    cannot play the game, and MatchDiverged as soon as a reward becomes non-finite.
    """
    if seeds < 1 or iterations < 1:
        raise ValueError(f"seeds and iterations must be >= 1, got {seeds} and {iterations}")
    names = (algorithms[0].name, algorithms[1].name)
    for algorithm in algorithms:
        reason = algorithm.supports(game)
        if reason:
            raise UnsupportedError(f"{algorithm.name} cannot play {game.name}: {reason}")
    start = time.perf_counter()
    artifacts = artifacts if artifacts is not None else ArtifactCache()
    for algorithm in algorithms:
        algorithm.prepare(game, artifacts)
    environment, *player_generators = match_generators(seed, game.device)
    states = [
        algorithm.init(game, seat, seeds, player_generators[seat])
        for seat, algorithm in enumerate(algorithms)
    ]
    rewards: list[Pair] = []
    metrics: list[dict[str, Pair]] = []
    evaluation = "exact"
    checked = 0
    for iteration in range(iterations):
        policies = (algorithms[0].policy(states[0]), algorithms[1].policy(states[1]))
        outcome = Outcome(game, policies, seeds, environment)
        if not outcome.has_exact:
            evaluation = "sampled"
        iteration_rewards, iteration_metrics = outcome.record()
        rewards.append(iteration_rewards)
        metrics.append(iteration_metrics)
        if on_iteration is not None:
            on_iteration(iteration, iteration_rewards, iteration_metrics)
        views = [
            MatchView(outcome, seat, iteration, reveal_opponent=algorithm.white_box)
            for seat, algorithm in enumerate(algorithms)
        ]
        states = [
            algorithm.update(state, view)
            for algorithm, state, view in zip(algorithms, states, views, strict=True)
        ]
        if (iteration + 1) % check_every == 0:
            _check_finite(rewards, checked, names)
            checked = len(rewards)
    _check_finite(rewards, checked, names)
    extra = {}
    if final_policies:
        extra["final_policies"] = tuple(
            a.policy(s) for a, s in zip(algorithms, states, strict=True)
        )

    def to_array(pairs: list[Pair]) -> np.ndarray:
        return torch.stack([torch.stack(pair, dim=-1) for pair in pairs]).float().cpu().numpy()

    return MatchResult(
        game=game.name,
        a=names[0],
        b=names[1],
        seeds=seeds,
        iterations=iterations,
        seed=seed,
        evaluation=evaluation,
        rewards=to_array(rewards),
        metrics={name: to_array([m[name] for m in metrics]) for name in metrics[0]},
        wall_time=time.perf_counter() - start,
        extra=extra,
    )
