"""Look-ahead learners: exact LOLA and SOS on the IPD, LOLA-DiCE on the coin game.

One seed-update = one learning iteration of one seed, both players updated (as in
shaping/benchmarks/core.py): `seeds × iterations / seconds` of a self-play `run_match`.
"""

from __future__ import annotations

import dataclasses

from shaping.bench import Measurement, best_seconds
from shaping.engine.match import run_match
from shaping.engine.registry import Registry


def exact_updates(registry: Registry, algorithm: str, quick: bool) -> list[Measurement]:
    """Exact-IPD self-play of `algorithm` (closed-form second-order terms, shared by both
    players), seed-updates per second at 1, 64 and 1024 seeds."""
    game = registry.game("ipd").build()
    entry = registry.algorithm(algorithm)
    measurements = []
    for seeds in (1, 64, 1024):
        iterations = 50 if quick else 200

        def play(seeds=seeds, iterations=iterations) -> None:
            learners = (entry.build("ipd"), entry.build("ipd"))
            run_match(game, learners, seeds=seeds, iterations=iterations)

        seconds = best_seconds(play, repeats=3 if quick else 5)
        measurements.append(
            Measurement(
                f"exact IPD {algorithm}",
                f"{seeds} seeds",
                seeds * iterations / seconds,
                "seed-updates/s",
                "JAX LOLA bar 271k at 1024 seeds" if seeds == 1024 else "",
            )
        )
    return measurements


def lola_dice_iterations(registry: Registry, quick: bool) -> list[Measurement]:
    """LOLA-DiCE self-play on the coin game with 128 episodes per seed: iterations per second
    (each iteration: the shared roll-out, and per player one DiCE look-ahead step on it, a
    fresh roll-out against the looked-ahead opponent and the outer gradient through both)."""
    entry = registry.game("coin_game")
    game = entry.cls(entry.name, dataclasses.replace(entry.config, batch=128))
    algorithm = registry.algorithm("lola_dice")
    config = dataclasses.replace(algorithm.config("coin_game"), dice_batch=None, dice_horizon=None)
    measurements = []
    for seeds in (1, 8):
        iterations = 2 if quick else 5

        def play(seeds=seeds, iterations=iterations) -> None:
            learners = (algorithm.cls(config, "lola_dice"), algorithm.cls(config, "lola_dice"))
            run_match(game, learners, seeds=seeds, iterations=iterations)

        seconds = best_seconds(play, repeats=2 if quick else 3)
        measurements.append(
            Measurement(
                "coin game LOLA-DiCE",
                f"batch 128, {seeds} seeds",
                iterations / seconds,
                "iterations/s",
            )
        )
    return measurements


def run(quick: bool) -> list[Measurement]:
    registry = Registry.load()
    return (
        exact_updates(registry, "lola", quick)
        + exact_updates(registry, "sos", quick)
        + lola_dice_iterations(registry, quick)
    )
