"""Every registered learner plays every game it does not declare unsupported, in both seats.

A smoke test of the whole interface: an algorithm that breaks on one game (a shape, a missing
roll-out, a non-finite reward) fails here before it would cost a tournament cell. Pretrained
algorithms are left to their own tests: building their artifacts takes minutes even at the
smallest budget their configurations allow.
"""

from __future__ import annotations

import numpy as np
import pytest

from shaping.engine.match import run_match
from shaping.engine.registry import Registry

_REGISTRY = Registry.load()
_CASES = [
    (algorithm, game)
    for algorithm, entry in _REGISTRY.algorithms.items()
    if not entry.is_provider and not entry.cls.pretrained
    for game in _REGISTRY.games
    if entry.unsupported_reason(game) is None
]


@pytest.mark.parametrize(("algorithm", "game"), _CASES, ids=[f"{a}-{g}" for a, g in _CASES])
def test_learner_plays_in_both_seats(registry, algorithm, game):
    built = registry.game(game).build()
    partner = "naive" if registry.algorithm("naive").unsupported_reason(game) is None else algorithm
    for seats in ((algorithm, partner), (partner, algorithm)):
        players = tuple(registry.algorithm(name).build(game) for name in seats)
        result = run_match(built, players, seeds=2, iterations=2, seed=1)
        assert result.rewards.shape == (2, 2, 2)
        assert np.isfinite(result.rewards).all()
