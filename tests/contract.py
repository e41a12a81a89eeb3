"""The entrants of the inherited contract suite and the match each one plays (shared by
tests/test_contract.py and its subprocesses).

Every registered algorithm is an entrant, at the quick profile's configuration (smoke-scale
pretraining for the pretrained ones); a provider (`axelrod:<strategy>`) enters with one of
its strategies. A new registry entry is in the suite without any change here.

    python -m tests.contract ARTIFACT_DIR   # prints {entrant: digest of its match's arrays}
"""

from __future__ import annotations

import hashlib
import json
import sys

from shaping.contracts.algorithm import Algorithm
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.match import MatchResult, run_match
from shaping.engine.registry import Registry
from shaping.engine.runtime import configure_threads
from shaping.tournament.profile import load_profile

GAME = "ipd"
#: the strategy a provider enters with: its first choice would import the whole library's
#: catalogue by name order; one well-known strategy per provider is enough
PROVIDER_VALUES = {"axelrod": "TitForTat"}
SEEDS, ITERATIONS, SEED = 2, 3, 7


def entrant_names(registry: Registry) -> list[str]:
    providers = [f"{name}:{PROVIDER_VALUES[name]}" for name in registry.providers]
    return [*registry.algorithms, *providers]


def build(registry: Registry, name: str, game: str = GAME) -> Algorithm:
    """`name` at the quick profile's configuration for `game`."""
    entry = registry.algorithm(name)
    return entry.cls(load_profile("quick", registry).config(entry, game), name)


def play(registry: Registry, name: str, artifacts: ArtifactCache) -> MatchResult:
    """`name` against naive, both seats' learning included, on the suite's game."""
    game = registry.game(GAME).build()
    players = (build(registry, name), build(registry, "naive"))
    return run_match(
        game, players, seeds=SEEDS, iterations=ITERATIONS, seed=SEED, artifacts=artifacts
    )


def digest(result: MatchResult) -> str:
    """SHA-256 over a match's reward and metric arrays, bit for bit."""
    hasher = hashlib.sha256(result.rewards.tobytes())
    for name in sorted(result.metrics):
        hasher.update(name.encode() + result.metrics[name].tobytes())
    return hasher.hexdigest()


def main(artifact_dir: str) -> None:
    configure_threads(1)
    registry = Registry.load()
    cache = ArtifactCache(artifact_dir, log=lambda message: None)
    digests = {name: digest(play(registry, name, cache)) for name in entrant_names(registry)}
    print(json.dumps(digests))


if __name__ == "__main__":
    main(sys.argv[1])
