"""Shared fixtures. Tests run single-threaded (the default pool stalls on 2-core machines)."""

from __future__ import annotations

import pytest
import torch

from shaping.engine.registry import Registry
from shaping.engine.runtime import configure_threads

configure_threads(1)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.load()


@pytest.fixture(scope="session")
def ipd(registry):
    return registry.game("ipd").build()


@pytest.fixture(scope="session")
def matching_pennies(registry):
    return registry.game("matching_pennies").build()


@pytest.fixture(scope="session")
def coin_game(registry):
    return registry.game("coin_game").build()


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
