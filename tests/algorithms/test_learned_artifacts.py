"""The artifact contract of the pretrained joint-function learners (COLA, MeVa): a cached
artifact reloads bit-identically, and a corrupted or version-mismatched one is detected and
retrained, never silently used."""

from __future__ import annotations

import pytest

from shaping.algorithm import TrainingContext
from shaping.artifacts import ArtifactCache
from tests.algorithms.learned_artifacts import TINY, flip_one_byte, networks_equal, tiny

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
