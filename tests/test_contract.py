"""The contract every entrant inherits: each registry entry runs this suite with no test of its
own (see tests/contract.py for how entrants are built; pretrained ones train smoke-scale
artifacts from the quick profile).

- same seed => bit-identical arrays, in one process and across processes with different
  PYTHONHASHSEED (artifacts trained afresh in each process);
- `supports()` agrees with the YAML `unsupported:` entries;
- a view never hands the joint outcome out, and an entrant that is not white-box cannot read
  the opponent's parameters through it;
- `update` leaves the state it was given as it was, unless the class declares
  `updates_in_place = True` (then the match loop never reuses the old state);
- a value of the wrong type for any config field is refused with an error naming the field.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from shaping.contracts.algorithm import Algorithm, MatchView
from shaping.contracts.errors import ConfigError, UnsupportedError
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.registry import Registry
from tests.contract import GAME, build, digest, entrant_names, play

REGISTRY = Registry.load()
ENTRANTS = entrant_names(REGISTRY)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> ArtifactCache:
    return ArtifactCache(tmp_path_factory.mktemp("contract-zoo"), log=lambda message: None)


@pytest.fixture(scope="module")
def first_digests(artifacts) -> dict[str, str]:
    return {name: digest(play(REGISTRY, name, artifacts)) for name in ENTRANTS}


@pytest.mark.parametrize("name", ENTRANTS)
def test_same_seed_gives_bit_identical_arrays_in_one_process(name, artifacts, first_digests):
    assert digest(play(REGISTRY, name, artifacts)) == first_digests[name]


def test_same_seed_gives_bit_identical_arrays_across_processes(tmp_path, first_digests):
    """Two processes with different string-hash seeds, each training its artifacts afresh."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.contract", str(tmp_path / f"zoo{hash_seed}")],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed), "RAY_AUTH_MODE": "disabled"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for hash_seed in (0, 1)
    ]
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-2000:]
        assert json.loads(stdout.strip().splitlines()[-1]) == first_digests


@pytest.mark.parametrize("name", ENTRANTS)
def test_supports_agrees_with_the_yaml_unsupported_entries(name):
    entry = REGISTRY.algorithm(name)
    for game_name in REGISTRY.games:
        declared = entry.unsupported_reason(game_name)
        if declared is not None:
            with pytest.raises(ConfigError, match="cannot play"):
                entry.config(game_name)
            continue
        game = REGISTRY.game(game_name).build()
        reason = entry.build(game_name).supports(game)
        assert reason is None, f"{name} refuses {game_name} ({reason}): declare it in unsupported:"


@pytest.fixture(scope="module")
def updates(artifacts):
    """updates(name): (algorithm, view, fingerprint of the state before update, that state)
    of every update `name` made in its match, recorded once per entrant for both tests."""
    recorded: dict[str, list[tuple[Algorithm, MatchView, Any, Any]]] = {}

    def of(name: str) -> list[tuple[Algorithm, MatchView, Any, Any]]:
        if name not in recorded:
            cls = REGISTRY.algorithm(name).cls
            update = cls.update
            seen = []

            def wrapped(self, state, view):
                before = fingerprint(state)
                after = update(self, state, view)
                seen.append((self, view, before, state))
                return after

            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(cls, "update", wrapped)
                play(REGISTRY, name, artifacts)
            recorded[name] = [entry for entry in seen if entry[0].name == name]
        return recorded[name]

    return of


@pytest.mark.parametrize("name", ENTRANTS)
def test_a_view_shows_the_opponents_parameters_to_white_box_entrants_only(name, updates):
    assert updates(name), f"{name} made no update"
    for algorithm, view, _, _ in updates(name):
        public = {attribute for attribute in dir(view) if not attribute.startswith("_")}
        assert not public & {"outcome", "policies", "params"}
        if type(algorithm).white_box:
            assert view.sees_opponent  # its partner, naive, is parametric
            assert view.opponent_params.shape[0] == 2
            continue
        assert not view.sees_opponent
        with pytest.raises(UnsupportedError, match="not visible"):
            view.opponent_params  # noqa: B018
        with pytest.raises(UnsupportedError, match="not visible"):
            view.opponent_family  # noqa: B018
        with pytest.raises(UnsupportedError, match="not visible"):
            view.shared_white_box("contract", lambda params: params)


@pytest.mark.parametrize("name", ENTRANTS)
def test_update_leaves_the_state_it_was_given_unless_declared_in_place(name, updates):
    cls = REGISTRY.algorithm(name).cls
    if cls.updates_in_place:
        pytest.skip(f"{name} declares updates_in_place")
    for _, _, before, state in updates(name):
        assert fingerprint(state) == before, f"{name}.update changed the state it was given"


def fingerprint(value: Any, seen: set[int] | None = None) -> Any:
    """Everything a state holds, as comparable plain data. Generators are left out: they are
    the match's random streams, advanced by design."""
    seen = set() if seen is None else seen
    if isinstance(value, torch.Generator):
        return "<generator>"
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        return (str(tensor.dtype), tuple(tensor.shape), tensor.contiguous().numpy().tobytes())
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.shape, value.tobytes())
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if id(value) in seen:
        return "<seen>"
    seen.add(id(value))
    if isinstance(value, nn.Module):
        return fingerprint(value.state_dict(), seen)
    if isinstance(value, dict):
        return [(repr(key), fingerprint(item, seen)) for key, item in value.items()]
    if isinstance(value, list | tuple):
        return [fingerprint(item, seen) for item in value]
    if dataclasses.is_dataclass(value):
        return [
            (f.name, fingerprint(getattr(value, f.name), seen)) for f in dataclasses.fields(value)
        ]
    if hasattr(value, "__dict__"):
        return [(key, fingerprint(item, seen)) for key, item in sorted(vars(value).items())]
    return repr(type(value))


def wrong_type(annotation: Any) -> Any:
    """A YAML value of a type `annotation` cannot take: a mapping where the field holds a
    scalar or a list, a number where it holds a mapping; None where anything goes."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) in UNIONS else ()
    parts = [option for option in options if option is not type(None)] or [annotation]
    if any(part is Any for part in parts):
        return None
    mappings = [typing.get_origin(p) is dict or dataclasses.is_dataclass(p) for p in parts]
    if all(mappings):
        return 12345
    return None if any(mappings) else {"not": "a value"}


UNIONS = (typing.Union, types.UnionType)


@pytest.mark.parametrize("name", ENTRANTS)
def test_a_wrong_value_for_any_config_field_is_refused_naming_the_field(name):
    entry = REGISTRY.algorithm(name)
    hints = typing.get_type_hints(entry.cls.Config)
    for config_field in dataclasses.fields(entry.cls.Config):
        provider = REGISTRY.providers.get(name.partition(":")[0])
        if provider is not None and config_field.name == provider.parameter:
            continue  # set by the entrant's name, not by configuration
        bad = wrong_type(hints[config_field.name])
        if bad is None:
            continue
        with pytest.raises(ConfigError) as error:
            entry.config(GAME, {config_field.name: bad}, where="contract")
        message = str(error.value)
        assert f"contract.{config_field.name}" in message and "\n" not in message


def test_every_entrant_is_in_the_suite():
    """A new registry entry needs nothing here: the suite is built from the registry."""
    assert set(REGISTRY.algorithms) <= set(ENTRANTS)
    assert all(any(n.startswith(f"{p}:") for n in ENTRANTS) for p in REGISTRY.providers)
    assert build(REGISTRY, "naive").name == "naive"
