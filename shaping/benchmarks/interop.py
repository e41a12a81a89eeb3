"""The ecosystem bridges: Axelrod black-box strategies in sampled episodes, and one
iteration of rllib_ppo (acting in the shared roll-out plus one RLlib PPO training step)."""

from __future__ import annotations

import time

import torch

from shaping.bench import Measurement, best_seconds
from shaping.contracts.policies import TabularFamily
from shaping.engine.match import run_match
from shaping.engine.registry import Registry


def axelrod_episode_steps(registry: Registry, quick: bool) -> list[Measurement]:
    """Episode steps per second of a black-box Axelrod strategy (Grudger, one Axelrod player
    per episode) against a memory-one co-player, S x B = 4 x 64 episodes of 100 steps: one
    IPD iteration's shared roll-out."""
    from shaping.interop.axelrod import AxelrodPolicy

    game = registry.game("ipd").build()
    seeds = 4
    co_player = TabularFamily().build(torch.zeros(seeds, 5))
    black_box = AxelrodPolicy("Grudger", game.horizon, game.config.payoffs, game.device)
    generator = torch.Generator().manual_seed(0)

    def play() -> None:
        game.rollout((black_box, co_player), seeds, generator)

    seconds = best_seconds(play, repeats=2 if quick else 5)
    steps = seeds * game.batch * game.horizon
    return [Measurement("Axelrod black box (Grudger)", "4 x 64 IPD episodes", steps / seconds,
                        "episode-steps/s", "")]  # fmt: skip


def rllib_ppo_iterations(registry: Registry, quick: bool) -> list[Measurement]:
    """Learning iterations per second of rllib_ppo against tit_for_tat on the IPD: one
    iteration is its share of the shared roll-out plus one RLlib PPO training step. Timed
    between the match's first and last iteration callbacks, so building the RLlib learner
    (once per match) is left out."""
    game = registry.game("ipd").build()
    iterations = 4 if quick else 11
    measurements = []
    for seeds in (4, 16):
        stamps: list[float] = []
        algorithms = (registry.algorithm("rllib_ppo").build("ipd"),
                      registry.algorithm("tit_for_tat").build("ipd"))  # fmt: skip
        run_match(
            game,
            algorithms,
            seeds=seeds,
            iterations=iterations,
            on_iteration=lambda *_, stamps=stamps: stamps.append(time.perf_counter()),
        )
        rate = (iterations - 1) / (stamps[-1] - stamps[0])
        measurements.append(Measurement("rllib_ppo learning iterations", f"IPD, {seeds} seeds",
                                        rate, "iterations/s", ""))  # fmt: skip
    return measurements


def run(quick: bool) -> list[Measurement]:
    registry = Registry.load()
    return axelrod_episode_steps(registry, quick) + rllib_ppo_iterations(registry, quick)
