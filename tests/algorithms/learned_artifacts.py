"""Helpers for the tests of pretrained algorithms (COLA, MeVa): CI-scale configurations, and
one artifact cache shared by every test worker of a run, so that each artifact is trained
once per run even when pytest-xdist spreads a module's tests over several workers."""

from __future__ import annotations

import dataclasses
import fcntl
import os
from pathlib import Path
from typing import Any

import torch

from shaping.contracts.algorithm import Algorithm
from shaping.contracts.game import Game
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.registry import Registry


def shared_cache(tmp_path_factory: Any) -> ArtifactCache:
    """An artifact cache in this run's temporary root (shared by the xdist workers)."""
    base = Path(tmp_path_factory.getbasetemp())
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return ArtifactCache(root / "learned-artifacts", log=lambda message: None)


def configured(registry: Registry, name: str, game: str, **overrides: Any) -> Algorithm:
    """The registered algorithm `name` for `game`, with some configuration fields replaced."""
    entry = registry.algorithm(name)
    config = dataclasses.replace(entry.config(game), **overrides)
    return entry.cls(config, name)


#: configuration overrides that make each pretrained algorithm's artifact train in a moment
TINY: dict[str, dict[str, Any]] = {
    "cola": {"steps": 3, "batch": 4, "evaluation_samples": 4},
    "meva": {"steps": 3, "trajectories": 4},
}


def tiny(registry: Registry, name: str, game: str) -> Algorithm:
    """The registered algorithm `name` for `game` at the `TINY` scale."""
    return configured(registry, name, game, **TINY[name])


def prepared(algorithm: Algorithm, game: Game, cache: ArtifactCache) -> Algorithm:
    """`algorithm` with its artifact loaded, trained first (under a lock) if not cached."""
    path = cache.path(algorithm.name, game.name, algorithm.artifact_key(game))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        algorithm.prepare(game, cache)
    return algorithm


def flip_one_byte(path: Path) -> None:
    """Corrupt an artifact file in place."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def networks_equal(first: Any, second: Any) -> bool:
    """Whether two pairs of JointNets hold bit-identical weights."""
    return all(
        all(
            torch.equal(a, b)
            for a, b in zip(x.state_dict().values(), y.state_dict().values(), strict=True)
        )
        for x, y in zip(first, second, strict=True)
    )
