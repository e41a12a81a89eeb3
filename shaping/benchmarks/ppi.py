"""PPI: decisions per second with Monte-Carlo roll-outs in the sequence model, and the wall
time of one training phase (collect the phase's episodes with π, then re-initialise and re-fit
the model on all data), with the zoo's configuration of each game.

Everything goes through the registry and the algorithm contract (`train`, `load`, `init`,
`policy`), so the figures are those of the code a tournament runs.
"""

from __future__ import annotations

import dataclasses

import torch

from shaping.algorithm import TrainingContext
from shaping.bench import Measurement, best_seconds
from shaping.registry import Registry

GAMES = ("ipd", "coin_game")


def _algorithm(registry: Registry, game, **changes):
    entry = registry.algorithm("ppi")
    return entry.cls(dataclasses.replace(entry.config(game.name), **changes), entry.name)


def decisions(registry: Registry, game_name: str, quick: bool) -> list[Measurement]:
    """Actions per second of PPI playing episodes against a random co-player; every step is
    the model's step, roll-outs for every candidate action, and sampling. Measured with the
    roll-outs PPI plays matches with and with those it collects training episodes with. The
    model is barely trained: throughput does not depend on its weights."""
    game = registry.game(game_name).build()
    opponent = game.fixed_policy("random", 1)
    generator = torch.Generator().manual_seed(0)
    measurements = []
    for use, changes in (
        ("match", {}),
        ("training", {"match_rollouts": None, "match_lookahead": None}),
    ):
        algorithm = _algorithm(
            registry, game, phases=0, pretraining_trajectories=64, pretraining_epochs=1, **changes
        )
        algorithm.load(algorithm.train(game, TrainingContext()), game)
        improvement = algorithm.config.improvement(in_match=True)
        for batch in (1, 256):
            steps = 10 if quick else 40

            def play(algorithm=algorithm, batch=batch, steps=steps) -> None:
                policy = algorithm.policy(algorithm.init(game, 0, 1, generator))
                with torch.no_grad():
                    game.rollout((policy, opponent), 1, generator, batch=batch, horizon=steps)

            seconds = best_seconds(play, repeats=2 if quick else 5)
            measurements.append(
                Measurement(
                    f"PPI actions, {use}, {game_name}",
                    f"batch {batch}, {improvement.rollouts}x{improvement.lookahead} roll-outs",
                    batch * steps / seconds,
                    "actions/s",
                )
            )
    return measurements


def training_phase(registry: Registry, game_name: str, quick: bool) -> list[Measurement]:
    """Wall time of phase 1 of Algorithm 1 at the zoo's sizes (a quarter of them when quick)."""
    game = registry.game(game_name).build()
    config = registry.algorithm("ppi").config(game_name)
    share = 4 if quick else 1
    algorithm = _algorithm(
        registry,
        game,
        phases=1,
        pretraining_epochs=1,  # the phase's cost does not depend on how well pretrained it is
        pretraining_trajectories=config.pretraining_trajectories // share,
        trajectories_per_phase=config.trajectories_per_phase // share,
    )
    phase = algorithm.train(game, TrainingContext())["phases"][1]
    setting = (
        f"{config.trajectories_per_phase // share} new + "
        f"{config.pretraining_trajectories // share} old, {config.epochs} epochs"
    )
    return [
        Measurement(f"PPI phase collect, {game_name}", setting, phase["collect_seconds"], "s"),
        Measurement(f"PPI phase re-fit, {game_name}", setting, phase["fit_seconds"], "s"),
    ]


def run(quick: bool) -> list[Measurement]:
    registry = Registry.load()
    measurements = []
    for game_name in GAMES:
        measurements += decisions(registry, game_name, quick)
    for game_name in GAMES:
        measurements += training_phase(registry, game_name, quick)
    return measurements
