"""Coin-game checks shared by the LOQA and Advantage Alignment tests: self-play reciprocity
(own-coin ratio) and no exploitation by always-defect."""

from __future__ import annotations

import numpy as np

from shaping.engine.match import run_match


def self_play_own_coin_ratio(
    registry, coin_game, name: str, iterations: int, seeds: int = 2
) -> float:
    """Mean own-coin ratio over both players, the seeds and the last 5 iterations."""
    players = tuple(registry.algorithm(name).build("coin_game") for _ in range(2))
    result = run_match(coin_game, players, seeds=seeds, iterations=iterations, seed=0)
    return float(result.metrics["own_coin_ratio"][-5:].mean())


def deficit_against_always_defect(registry, coin_game, name: str, iterations: int) -> float:
    """always-defect's reward per step minus the learner's, last 5 iterations, 2 seeds."""
    players = (
        registry.algorithm(name).build("coin_game"),
        registry.algorithm("always_defect").build("coin_game"),
    )
    result = run_match(coin_game, players, seeds=2, iterations=iterations, seed=0)
    rewards = result.rewards[-5:].mean(axis=(0, 1))
    return float(np.subtract(rewards[1], rewards[0]))
