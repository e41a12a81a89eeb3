"""PPI: decisions per second with Monte-Carlo roll-outs in the sequence model, and the wall
time of one training phase (collect the phase's episodes with π, then re-initialise and re-fit
the model on all data), with the zoo's configuration of each game; and the re-fitting rate at
the paper's model and optimiser settings, with what the paper's full schedule of re-fits would
cost at that rate.

Everything goes through the registry and the algorithm contract (`train`, `load`, `init`,
`policy`), so the figures are those of the code a tournament runs; the paper-scale re-fit
calls the sequence model's `fit`, the function PPI's training fits with.
"""

from __future__ import annotations

import dataclasses

import torch

from shaping.bench import Measurement, best_seconds
from shaping.contracts.algorithm import TrainingContext
from shaping.engine.registry import Registry
from shaping.families.sequence_model import (
    RandomTablePolicy,
    RewardScale,
    SequenceModel,
    SequenceModelShape,
    discover_vocabulary,
    fit,
    histories_from,
)

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
        algorithm.install(algorithm.train(game, TrainingContext()), game)
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


def paper_scale_refits(registry: Registry, quick: bool) -> list[Measurement]:
    """Re-fitting rate at the paper's settings (PPIConfig's defaults, App. A.3.1: GRU 128,
    batch 256, AdamW) in trajectory-epochs per second, on IPD histories between random tabular
    agents; and the hours that Algorithm 1 at the paper's scale (the pretraining set, then 30
    phases adding 20k trajectories each, every phase re-initialising the model and fitting it
    to all data for 10 epochs) spends on re-fitting alone at that rate, collection excluded."""
    game = registry.game("ipd").build()
    paper = registry.algorithm("ppi").cls.Config()  # the dataclass defaults are the paper's
    generator = torch.Generator().manual_seed(0)
    vocabulary = discover_vocabulary(game, generator)
    tables = tuple(RandomTablePolicy(vocabulary, game.num_actions) for _ in range(2))
    trajectories = 256 if quick else 1024
    with torch.no_grad():
        episodes = game.rollout(tables, 1, generator, batch=trajectories)
    histories = histories_from(episodes, 0, vocabulary)
    scale = RewardScale(float(histories.rewards.mean()), float(histories.rewards.std()))
    shape = SequenceModelShape(vocabulary.size, game.num_actions, paper.embedding, paper.hidden)
    model = SequenceModel(shape)
    model.reset_parameters(generator)
    model.train()
    seconds = best_seconds(
        lambda: fit(model, histories, paper.fit_settings(epochs=1), scale, generator),
        repeats=2 if quick else 3,
    )
    rate = trajectories / seconds
    schedule = paper.pretraining_epochs * paper.pretraining_trajectories + sum(
        paper.epochs * (paper.pretraining_trajectories + phase * paper.trajectories_per_phase)
        for phase in range(1, paper.phases + 1)
    )
    setting = f"GRU {paper.hidden}, batch {paper.batch_size}"
    return [
        Measurement("PPI re-fit, paper's model, ipd", setting, rate, "trajectory-epochs/s"),
        Measurement(
            "PPI paper-scale re-fits, ipd",
            f"{paper.phases} x {paper.trajectories_per_phase}, re-init",
            schedule / rate / 3600,
            "h at that rate",
            f"{schedule / 1e6:.0f}M trajectory-epochs, collection excluded",
        ),
    ]


def run(quick: bool) -> list[Measurement]:
    registry = Registry.load()
    measurements = []
    for game_name in GAMES:
        measurements += decisions(registry, game_name, quick)
    for game_name in GAMES:
        measurements += training_phase(registry, game_name, quick)
    return measurements + paper_scale_refits(registry, quick)
