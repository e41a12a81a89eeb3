"""What the pretrained joint-function learners (COLA, MeVa) share: the artifact contract (a
cached artifact reloads bit-identically; a corrupted or version-mismatched one is detected and
retrained, never silently used) and play on the exact-only test games."""

from __future__ import annotations

import numpy as np
import pytest

from shaping.contracts.algorithm import TrainingContext
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.match import run_match
from tests.algorithms.learned_artifacts import (
    TINY,
    flip_one_byte,
    networks_equal,
    prepared,
    tiny,
)

NAMES = sorted(TINY)


@pytest.mark.parametrize("name", NAMES)
def test_artifact_reloads_bit_identically(registry, ipd, tmp_path, name):
    artifacts = ArtifactCache(tmp_path, log=lambda message: None)
    trained = tiny(registry, name, "ipd")
    trained.prepare(ipd, artifacts)
    reloaded = tiny(registry, name, "ipd")
    reloaded.train = lambda game, context: pytest.fail("a cached artifact was retrained")
    reloaded.prepare(ipd, artifacts)
    assert networks_equal(trained.networks, reloaded.networks)
    assert reloaded.metrics == trained.metrics


@pytest.mark.parametrize("damage", ["corrupt", "stale"])
@pytest.mark.parametrize("name", NAMES)
def test_damaged_artifact_is_detected_and_retrained(registry, ipd, tmp_path, name, damage):
    messages = []
    artifacts = ArtifactCache(tmp_path, log=messages.append)
    algorithm = tiny(registry, name, "ipd")
    key = algorithm.artifact_key(ipd)
    path = artifacts.path(name, ipd.name, key)
    if damage == "corrupt":
        algorithm.prepare(ipd, artifacts)
        flip_one_byte(path)
    else:
        stale = {**key, "code": "0.0.0+stale"}
        artifacts.save(name, ipd.name, stale, algorithm.train(ipd, TrainingContext()))
        artifacts.path(name, ipd.name, stale).rename(path)
    trainings = []
    retrained = tiny(registry, name, "ipd")
    original = retrained.train
    retrained.train = lambda game, context: trainings.append(1) or original(game, context)
    retrained.prepare(ipd, artifacts)
    assert trainings == [1]
    assert any("unusable" in message for message in messages)
    assert ArtifactCache(tmp_path, log=messages.append).load(name, ipd.name, key) is not None


@pytest.mark.parametrize("game_name", ["tandem", "one_shot_pennies"])
@pytest.mark.parametrize("name", NAMES)
def test_plays_the_exact_only_test_games_in_both_seats(registry, tmp_path, name, game_name):
    """The smoke test of every learner (tests/test_every_pair_plays.py) leaves pretrained
    algorithms out; this covers COLA and MeVa on the differentiable games they do not declare
    unsupported, with a tiny artifact."""
    game = registry.game(game_name).build()
    artifacts = ArtifactCache(tmp_path, log=lambda message: None)
    for seat in (0, 1):
        players = [registry.algorithm("naive").build(game_name)] * 2
        players[seat] = prepared(tiny(registry, name, game_name), game, artifacts)
        result = run_match(game, tuple(players), seeds=2, iterations=3, seed=1, artifacts=artifacts)
        assert result.rewards.shape == (3, 2, 2)
        assert np.isfinite(result.rewards).all()
