"""COLA and MeVa on the IPD: pretraining speed (COLA's update functions, MeVa's meta-value) and
the per-update cost of the learned rules in a match (one seed-update = one learning iteration
of one seed, both players updated, rewards and metrics recorded)."""

from __future__ import annotations

import dataclasses
import tempfile
import time

from shaping.bench import Measurement, best_seconds
from shaping.contracts.algorithm import TrainingContext
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.match import run_match
from shaping.engine.registry import Registry


def pretraining(registry: Registry, name: str, quick: bool) -> Measurement:
    """Pretraining steps per second at the zoo's IPD configuration (a shortened run), and the
    time the full configured run therefore takes."""
    game = registry.game("ipd").build()
    entry = registry.algorithm(name)
    config = entry.config("ipd")
    steps = 50 if quick else 300
    algorithm = entry.cls(dataclasses.replace(config, steps=steps), name)
    start = time.perf_counter()
    algorithm.train(game, TrainingContext())
    rate = steps / (time.perf_counter() - start)
    return Measurement(
        f"{name} pretraining (IPD)",
        f"{config.steps} steps (zoo)",
        rate,
        "steps/s",
        f"full run ≈ {config.steps / rate:.0f} s",
    )


def match_updates(registry: Registry, name: str, quick: bool) -> list[Measurement]:
    """Seed-updates per second of `name` against itself on the exact IPD."""
    game = registry.game("ipd").build()
    entry = registry.algorithm(name)
    config = dataclasses.replace(entry.config("ipd"), steps=1)
    measurements = []
    with tempfile.TemporaryDirectory() as directory:
        artifacts = ArtifactCache(directory, log=lambda message: None)
        for seeds in (1, 64, 1024):
            iterations = 50 if quick else 200

            def play(seeds=seeds, iterations=iterations) -> None:
                run_match(
                    game,
                    (entry.cls(config, name), entry.cls(config, name)),
                    seeds=seeds,
                    iterations=iterations,
                    artifacts=artifacts,
                )

            seconds = best_seconds(play, repeats=3 if quick else 5)
            measurements.append(
                Measurement(
                    f"exact IPD {name} self-play",
                    f"{seeds} seeds",
                    seeds * iterations / seconds,
                    "seed-updates/s",
                )
            )
    return measurements


def run(quick: bool) -> list[Measurement]:
    registry = Registry.load()
    measurements = []
    for name in ("cola", "meva"):
        measurements.append(pretraining(registry, name, quick))
        measurements.extend(match_updates(registry, name, quick))
    return measurements
