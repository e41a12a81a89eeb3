"""LOQA self-play on the coin game: wall time until the own-coin ratio reaches 0.8 and 0.9.

The LOQA paper (Aghajohari et al. 2024, Sec. 5.3) reports under about 300 s to every
threshold on its accelerator, and POLA 1,600-24,000 s. Here: one seed, the zoo's `loqa`
coin-game configuration, the shared episodes of the match (`BATCH` per iteration), single
thread. The ratio is the mean over both players and the last `WINDOW` iterations; a threshold
not reached within the cap is reported as such, with the cap as the figure.
"""

from __future__ import annotations

import dataclasses
import time

from shaping.bench import Measurement
from shaping.contracts.algorithm import MatchView, Outcome
from shaping.engine.match import match_generators
from shaping.engine.registry import Registry

BATCH = 128
WINDOW = 10
THRESHOLDS = (0.8, 0.9)


def time_to_thresholds(cap_seconds: float, seed: int = 0) -> tuple[dict[float, float], float, int]:
    """Seconds until the windowed own-coin ratio first reaches each threshold (missing if not
    within `cap_seconds`), the last windowed ratio, and the iterations played."""
    registry = Registry.load()
    entry = registry.game("coin_game")
    game = entry.cls("coin_game", dataclasses.replace(entry.config, batch=BATCH))
    learners = [registry.algorithm("loqa").build("coin_game") for _ in range(2)]
    environment, *generators = match_generators(seed, game.device)
    states = [
        learner.init(game, seat, 1, generators[seat]) for seat, learner in enumerate(learners)
    ]
    ratios: list[float] = []
    reached: dict[float, float] = {}
    start = time.perf_counter()
    iteration = 0
    while time.perf_counter() - start < cap_seconds and len(reached) < len(THRESHOLDS):
        policies = tuple(
            learner.policy(state) for learner, state in zip(learners, states, strict=True)
        )
        outcome = Outcome(game, policies, 1, environment)
        _, metrics = outcome.record()
        ratios.append(float(sum(m.mean() for m in metrics["own_coin_ratio"])) / 2)
        window = sum(ratios[-WINDOW:]) / len(ratios[-WINDOW:])
        for threshold in THRESHOLDS:
            if threshold not in reached and len(ratios) >= WINDOW and window >= threshold:
                reached[threshold] = time.perf_counter() - start
        states = [
            learner.update(state, MatchView(outcome, seat, iteration, reveal_opponent=False))
            for seat, (learner, state) in enumerate(zip(learners, states, strict=True))
        ]
        iteration += 1
    window = sum(ratios[-WINDOW:]) / max(1, len(ratios[-WINDOW:]))
    return reached, window, iteration


def run(quick: bool) -> list[Measurement]:
    cap = 60.0 if quick else 300.0
    reached, last, iterations = time_to_thresholds(cap)
    measurements = []
    for threshold in THRESHOLDS:
        if threshold in reached:
            value, unit = reached[threshold], "s"
        else:
            value, unit = cap, f"s: not reached (ratio {last:.2f} after {iterations} iterations)"
        measurements.append(
            Measurement(
                "LOQA self-play coin game",
                f"own-coin ratio {threshold}",
                value,
                unit,
                "LOQA paper < ~300 s, POLA 1.6k-24k s" if threshold == 0.9 else "",
            )
        )
    return measurements
