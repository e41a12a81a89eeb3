"""M-FOS meta-training on the IPD: throughput in inner games per second (one inner game = one
exact joint evaluation of one parallel game plus its opponent's learning step, with the
meta-policy's action before it and its share of the PPO update after the meta-episode), and
the wall time to a trained meta-policy (the zoo-default artifact, both stages)."""

from __future__ import annotations

import dataclasses
import time

import torch

from shaping.bench import Measurement, best_seconds
from shaping.contracts.algorithm import TrainingContext
from shaping.engine.registry import Registry


def meta_training_throughput(registry: Registry, quick: bool) -> list[Measurement]:
    """One meta-episode and its PPO update against the default pool (naive and LOLA)."""
    game = registry.game("ipd").build()
    entry = registry.algorithm("mfos")
    zoo = entry.config("ipd")
    settings = [
        ("zoo default", zoo),
        ("paper scale", dataclasses.replace(zoo, games=4096, hidden=256)),
    ]
    measurements = []
    for label, config in settings:
        algorithm = entry.cls(config, "mfos")
        learner = algorithm.build_meta_learner(game)
        optimizer = torch.optim.Adam(learner.network.parameters(), lr=config.lr)
        generator = torch.Generator().manual_seed(0)

        def meta_episode(
            learner=learner, optimizer=optimizer, config=config, generator=generator
        ) -> None:
            experience, _ = learner.meta_episode(config.pool, config.games, 0, generator)
            learner.learn(experience, optimizer)

        seconds = best_seconds(meta_episode, repeats=1 if quick else 3)
        measurements.append(
            Measurement(
                "M-FOS IPD meta-training",
                f"{label}: {config.games} games, h {config.hidden}",
                config.games * config.meta_steps / seconds,
                "inner games/s",
                "paper: 4096 games x 100 steps per meta-episode" if label == "paper scale" else "",
            )
        )
    return measurements


def time_to_trained_meta_policy(registry: Registry, quick: bool) -> list[Measurement]:
    """`shaping train --algorithm mfos --game ipd` without the cache: the zoo-default
    artifact (quick: the CI-scale run of the tests, 80 meta-episodes against naive
    learners, which takes the meta-return from about -2.4 to about -1)."""
    game = registry.game("ipd").build()
    entry = registry.algorithm("mfos")
    config = entry.config("ipd")
    if quick:
        config = dataclasses.replace(
            config,
            games=64,
            hidden=32,
            meta_steps=50,
            meta_episodes=80,
            self_play_episodes=0,
            pool=("naive",),
        )
    start = time.perf_counter()
    history = entry.cls(config, "mfos").train(game, TrainingContext())["history"]
    seconds = time.perf_counter() - start
    episodes = config.meta_episodes + config.self_play_episodes
    returns = [h["meta/return"] for h in history if "meta/return" in h]
    return [
        Measurement(
            "M-FOS IPD trained meta-policy",
            f"{episodes} meta-episodes" + (" (CI scale)" if quick else ""),
            seconds,
            "s wall",
            f"meta-return vs pool {returns[0]:.2f} -> {returns[-1]:.2f}",
        )
    ]


def run(quick: bool) -> list[Measurement]:
    registry = Registry.load()
    return meta_training_throughput(registry, quick) + time_to_trained_meta_policy(registry, quick)
