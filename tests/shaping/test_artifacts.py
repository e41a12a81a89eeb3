"""Pretrained artifacts: trained once, reused bit-identically, retrained when corrupt or stale."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

import pytest
import torch

from shaping.contracts.algorithm import Algorithm, TrainingContext
from shaping.contracts.policies import TabularPolicy
from shaping.engine.artifacts import ArtifactCache


@dataclass(frozen=True)
class ToyConfig:
    scale: float = 1.0


class ToyPretrained(Algorithm):
    """Plays logits it 'pretrained' as random numbers; counts its training runs."""

    Config = ToyConfig
    pretrained = True
    trainings = 0

    def train(self, game, context: TrainingContext):
        type(self).trainings += 1
        context.progress("training toy")
        return {"logits": torch.randn(5) * self.config.scale}

    def load(self, payload, game):
        self.logits = payload["logits"]

    def init(self, game, player, seeds, generator):
        return self.logits.expand(seeds, -1)

    def policy(self, state):
        return TabularPolicy(state)

    def update(self, state, view):
        return state


@pytest.fixture
def cache(tmp_path):
    return ArtifactCache(tmp_path / "zoo", log=lambda message: None)


def test_trained_once_then_reused_bit_identically(ipd, cache):
    ToyPretrained.trainings = 0
    first = ToyPretrained(ToyConfig(), "toy")
    first.prepare(ipd, cache)
    second = ToyPretrained(ToyConfig(), "toy")
    second.prepare(ipd, cache)
    assert ToyPretrained.trainings == 1
    assert torch.equal(first.logits, second.logits)


def test_a_different_config_is_a_different_artifact(ipd, cache):
    ToyPretrained.trainings = 0
    ToyPretrained(ToyConfig(1.0), "toy").prepare(ipd, cache)
    ToyPretrained(ToyConfig(2.0), "toy").prepare(ipd, cache)
    assert ToyPretrained.trainings == 2


def test_corrupt_artifact_is_detected_and_retrained(ipd, cache):
    ToyPretrained.trainings = 0
    algorithm = ToyPretrained(ToyConfig(), "toy")
    algorithm.prepare(ipd, cache)
    path = cache.path("toy", ipd.name, algorithm.artifact_key(ipd))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    messages = []
    ArtifactCache(cache.root, log=messages.append).load(
        "toy", ipd.name, algorithm.artifact_key(ipd)
    )
    assert any("unusable" in m for m in messages)
    ToyPretrained(ToyConfig(), "toy").prepare(ipd, cache)
    assert ToyPretrained.trainings == 2


def test_version_mismatch_is_detected_and_retrained(ipd, cache):
    ToyPretrained.trainings = 0
    algorithm = ToyPretrained(ToyConfig(), "toy")
    key = algorithm.artifact_key(ipd)
    stale = {**key, "code": "0.0.0+stale"}
    # an artifact stored at the current key's path but written under another key
    cache.save("toy", ipd.name, stale, {"logits": torch.zeros(5)})
    cache.path("toy", ipd.name, stale).rename(cache.path("toy", ipd.name, key))
    algorithm.prepare(ipd, cache)
    assert ToyPretrained.trainings == 1 and not torch.equal(algorithm.logits, torch.zeros(5))


def test_an_artifact_is_a_function_of_its_key_not_of_the_global_rng(ipd, tmp_path):
    """Layers draw their initialisation from torch's global RNG: training seeds it from the
    artifact key, so what the process ran before (test order, a tournament worker's earlier
    tasks) cannot change an artifact, and the caller's RNG stream is left as it was."""
    payloads = []
    for history in (0, 1):
        torch.manual_seed(history)
        torch.rand(1000 * history + 1)  # a different past in the process
        cache = ArtifactCache(tmp_path / f"zoo{history}", log=lambda message: None)
        algorithm = ToyPretrained(ToyConfig(), "toy")
        before = torch.get_rng_state()
        algorithm.prepare(ipd, cache)
        assert torch.equal(torch.get_rng_state(), before)
        payloads.append(algorithm.logits)
    assert torch.equal(payloads[0], payloads[1])
    other = ToyPretrained(ToyConfig(scale=2.0), "toy")
    other.prepare(ipd, ArtifactCache(tmp_path / "other", log=lambda message: None))
    assert not torch.equal(other.logits / 2.0, payloads[0])  # another key, another draw


def test_a_new_code_version_with_the_same_numerics_retrains_the_same_artifact(
    ipd, tmp_path, monkeypatch
):
    """A refactor invalidates stored artifacts (the code version is in the key) but must not
    re-draw their initialisation: the retrained artifact is bit-identical."""
    import shaping.contracts.algorithm

    algorithm = ToyPretrained(ToyConfig(), "toy")
    algorithm.prepare(ipd, ArtifactCache(tmp_path / "before", log=lambda message: None))
    before, old_key = algorithm.logits, algorithm.artifact_key(ipd)
    monkeypatch.setattr(
        shaping.contracts.algorithm, "code_version", lambda *args, **kwargs: "refactored"
    )
    assert algorithm.artifact_key(ipd) != old_key
    algorithm.prepare(ipd, ArtifactCache(tmp_path / "after", log=lambda message: None))
    assert torch.equal(algorithm.logits, before)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_saved_artifacts_follow_the_umask_so_a_shared_cache_is_readable(tmp_path, umask, mode):
    """Another user of a shared artifact directory (the README's Ray set-up) must be able to
    read what a worker trained; the temporary file's private mode must not leak through."""
    previous = os.umask(umask)
    try:
        path = ArtifactCache(tmp_path).save("x", "ipd", {"config": 1}, {"weights": [1.0]})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode
