"""Pinned artifacts (shaping/engine/pinned.py): the committed ones are intact, small and
current, a cache takes a pinned copy instead of training, damage is detected, and (slow) the
manifest's command reproduces a pinned artifact bit for bit."""

from __future__ import annotations

import pytest
import torch

from shaping.contracts.algorithm import TrainingContext
from shaping.contracts.errors import ConfigError
from shaping.engine import pinned
from shaping.engine.artifacts import ArtifactCache, key_digest
from shaping.league.agent import LeagueAgent, LeagueAgentConfig
from shaping.tournament.plan import league_entrant, league_game
from shaping.tournament.profile import load_profile


def pinned_agent(registry, entry: pinned.PinnedEntry):
    """The league game and agent a manifest entry pins, as `shaping train` builds them."""
    profile = load_profile(entry.profile, registry)
    chosen = league_game(registry, profile, entry.game, "cpu")
    algorithm = registry.algorithm(entry.entrant)
    seat = league_entrant(chosen, algorithm, profile.override(algorithm.name, entry.game))
    return chosen.game, LeagueAgent(seat.config)


def tiny_agent(registry, ipd, iterations: int = 3) -> LeagueAgent:
    naive = registry.algorithm("naive")
    config = LeagueAgentConfig(
        entrant="naive",
        entrant_module=naive.module,
        entrant_config=naive.config("ipd"),
        agents=2,
        iterations=iterations,
    )
    return LeagueAgent(config)


def pin_tiny(registry, ipd, tmp_path):
    """A tiny league artifact trained into a cache and pinned into a pinned directory."""
    cache, root = ArtifactCache(tmp_path / "cache", log=lambda _: None), tmp_path / "pinned"
    agent = tiny_agent(registry, ipd)
    agent.prepare(ipd, cache)
    key = agent.artifact_key(ipd)
    entry = pinned.pin(
        cache,
        agent.artifact_name,
        ipd.name,
        key,
        entrant="naive",
        profile="standard",
        command="tiny",
        root=root,
    )
    return agent, key, entry, root


def test_the_committed_pinned_artifacts_are_intact_small_and_current(registry):
    """Every pinned artifact matches its manifest checksum, stays under 2 MiB and carries the
    key the current code gives its league agent. A change to the code it was trained with
    fails here: retrain and re-pin it with `make pinned` (PPI's main result: about an hour of
    one core) and commit results/pinned."""
    entries = pinned.read_manifest()
    assert {(e.entrant, e.game) for e in entries} >= {("ppi", "ipd")}
    for entry in entries:
        path = pinned.PINNED_DIR / entry.artifact
        assert path.stat().st_size == entry.bytes < pinned.MAX_PINNED_BYTES, entry.artifact
        assert pinned.file_sha256(path) == entry.file_sha256, f"{entry.artifact} is damaged"
        game, agent = pinned_agent(registry, entry)
        key = agent.artifact_key(game)
        assert key_digest(key) == entry.key_digest, (
            f"pinned {entry.entrant} on {entry.game} is stale (its code or configuration "
            f"changed since commit {entry.commit[:12]}): run `make pinned` and commit "
            "results/pinned"
        )
        assert entry.artifact == f"{agent.artifact_name}/{game.name}/{key_digest(key)[:20]}.pt"


def test_a_cache_takes_the_pinned_copy_instead_of_training(registry, ipd, tmp_path):
    agent, key, entry, root = pin_tiny(registry, ipd, tmp_path)
    assert entry.fingerprint == pinned.payload_fingerprint(root / entry.artifact)
    fresh = ArtifactCache(tmp_path / "fresh", log=lambda _: None)
    assert pinned.available(fresh, agent.artifact_name, ipd.name, key, root)
    assert pinned.provide(fresh, agent.artifact_name, ipd.name, key, root)
    assert not pinned.provide(fresh, agent.artifact_name, ipd.name, key, root)  # already there
    copy = tiny_agent(registry, ipd)

    def refuse(*args, **kwargs):
        raise AssertionError("trained although a pinned copy was provided")

    copy.train = refuse
    copy.prepare(ipd, fresh)
    torch.testing.assert_close(copy.frozen.params, agent.frozen.params, rtol=0, atol=0)


def test_a_damaged_or_foreign_pinned_file_is_reported_and_not_used(registry, ipd, tmp_path):
    agent, key, entry, root = pin_tiny(registry, ipd, tmp_path)
    messages = []
    fresh = ArtifactCache(tmp_path / "fresh", log=messages.append)
    path = root / entry.artifact
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not pinned.provide(fresh, agent.artifact_name, ipd.name, key, root)
    assert "damaged" in messages[-1]
    assert not fresh.path(agent.artifact_name, ipd.name, key).exists()
    other = tiny_agent(registry, ipd, iterations=4)  # another key: nothing pinned for it
    assert not pinned.available(fresh, other.artifact_name, ipd.name, other.artifact_key(ipd), root)


def test_pinning_again_replaces_the_entry_and_its_file(registry, ipd, tmp_path):
    _, _, entry, root = pin_tiny(registry, ipd, tmp_path)
    cache = ArtifactCache(tmp_path / "cache", log=lambda _: None)
    longer = tiny_agent(registry, ipd, iterations=5)
    longer.prepare(ipd, cache)
    second = pinned.pin(
        cache,
        longer.artifact_name,
        ipd.name,
        longer.artifact_key(ipd),
        entrant="naive",
        profile="standard",
        command="tiny",
        root=root,
    )
    assert pinned.read_manifest(root) == [second]
    assert not (root / entry.artifact).exists() and (root / second.artifact).exists()
    assert second.fingerprint != entry.fingerprint


def test_fingerprints_leave_out_timings_and_nothing_else():
    payload = {"state": torch.arange(4.0), "phases": [{"seconds": 1.0, "loss": 0.5}]}
    slower = {"state": torch.arange(4.0), "phases": [{"seconds": 9.0, "loss": 0.5}]}
    other = {"state": torch.arange(4.0), "phases": [{"seconds": 1.0, "loss": 0.25}]}
    assert pinned.fingerprint(payload) == pinned.fingerprint(slower)
    assert pinned.fingerprint(payload) != pinned.fingerprint(other)
    shifted = {"state": torch.arange(4.0) + 1e-7, "phases": payload["phases"]}
    assert pinned.fingerprint(payload) != pinned.fingerprint(shifted)
    assert pinned.recorded_seconds(slower) == 9.0


@pytest.mark.parametrize(
    "document, field",
    [
        ("{not json", "not a readable JSON manifest"),
        ('{"artifacts": 3}', "artifacts: the manifest needs a list"),
        ('{"artifacts": [{"entrant": "ppi"}]}', r"artifacts\[0\]: needs exactly the fields"),
    ],
)
def test_a_malformed_manifest_is_one_error_naming_the_file_and_field(tmp_path, document, field):
    (tmp_path / pinned.MANIFEST_NAME).write_text(document)
    with pytest.raises(ConfigError, match=field) as error:
        pinned.read_manifest(tmp_path)
    assert str(tmp_path / pinned.MANIFEST_NAME) in str(error.value)


@pytest.mark.slow
def test_the_manifest_command_reproduces_each_pinned_artifact_bit_for_bit(registry, tmp_path):
    """Retrain every pinned artifact from scratch into an empty cache (PPI's main result:
    about an hour of one core) and compare what it learned with the committed file."""
    for entry in pinned.read_manifest():
        game, agent = pinned_agent(registry, entry)
        cache = ArtifactCache(tmp_path / entry.entrant)
        trainer = agent.entrant if agent.as_is else agent
        key = agent.artifact_key(game)
        cache.save(
            agent.artifact_name, game.name, key, trainer.train_artifact(game, TrainingContext())
        )
        retrained = pinned.payload_fingerprint(cache.path(agent.artifact_name, game.name, key))
        assert retrained == entry.fingerprint, f"{entry.artifact} did not reproduce"


@pytest.mark.parametrize("extra", [["--set", "phases=3"], ["--iterations", "3"]])
def test_train_pin_refuses_what_would_pin_another_agent(extra, capsys):
    from shaping.cli import main

    assert main(["train", "--algorithm", "ppi", "--game", "ipd", "--pin", *extra]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("shaping: error: --pin:") and "\n" not in error
