"""Foundation hot paths: the coin-game environment step and exact-IPD naive learning."""

from __future__ import annotations

import torch

from shaping.bench import Measurement, best_seconds
from shaping.engine.match import run_match
from shaping.engine.registry import Registry


def coin_game_steps(registry: Registry, quick: bool) -> list[Measurement]:
    """Environment steps per second: one step of every game in the batch, plus both
    players' egocentric observations (what a roll-out needs per step)."""
    game = registry.game("coin_game").build()
    measurements = []
    for batch in (1, 256, 4096):
        generator = torch.Generator().manual_seed(0)
        steps = 100 if quick else 400
        actions = [
            (
                torch.randint(4, (1, batch), generator=generator),
                torch.randint(4, (1, batch), generator=generator),
            )
            for _ in range(steps)
        ]

        def play(actions=actions, batch=batch, generator=generator) -> None:
            state = game.reset(1, batch, generator)
            for pair in actions:
                state, _, _ = game.step(state, pair, generator)
                game.observe(state, 0), game.observe(state, 1)

        seconds = best_seconds(play, repeats=3 if quick else 5)
        measurements.append(
            Measurement(
                "coin game env steps",
                f"batch {batch}",
                batch * steps / seconds,
                "steps/s",
                "JAX bar 1.5M at batch 4096" if batch == 4096 else "",
            )
        )
    return measurements


def naive_learner_updates(registry: Registry, quick: bool) -> list[Measurement]:
    """Exact-IPD naive-learner match loop: one seed-update = one learning iteration of one
    seed (both players updated, rewards and metrics recorded)."""
    game = registry.game("ipd").build()
    entry = registry.algorithm("naive")
    measurements = []
    for seeds in (1, 64, 1024):
        iterations = 100 if quick else 400

        def play(seeds=seeds, iterations=iterations) -> None:
            run_match(
                game, (entry.build("ipd"), entry.build("ipd")), seeds=seeds, iterations=iterations
            )

        seconds = best_seconds(play, repeats=3 if quick else 5)
        measurements.append(
            Measurement(
                "exact IPD naive learner",
                f"{seeds} seeds",
                seeds * iterations / seconds,
                "seed-updates/s",
                "JAX bar 1.9M at 1024 seeds" if seeds == 1024 else "",
            )
        )
    return measurements


def run(quick: bool) -> list[Measurement]:
    registry = Registry.load()
    return coin_game_steps(registry, quick) + naive_learner_updates(registry, quick)
