"""The registry: every bad name or value is one line naming the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shaping.contracts.errors import ConfigError
from shaping.engine.registry import DEFAULT_CONFIG_DIR, Registry


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    """A private copy of zoo_configs/ to corrupt."""
    root = tmp_path / "zoo_configs"
    shutil.copytree(DEFAULT_CONFIG_DIR, root)
    return root


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def load_error(root: Path) -> str:
    with pytest.raises(ConfigError) as error:
        Registry.load(root)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_the_shipped_configs_load_and_cover_every_game(registry):
    assert {"ipd", "matching_pennies", "coin_game"} <= set(registry.games)
    for entry in registry.algorithms.values():
        for game in registry.games:
            assert game in entry.configs or game in entry.unsupported


def test_negative_learning_rate_names_file_and_field(configs):
    rewrite(configs / "algorithms" / "naive.yaml", "ipd: {lr: 1.0}", "ipd: {lr: -1.0}")
    message = load_error(configs)
    assert "zoo_configs/algorithms/naive.yaml" in message
    assert "naive.games.ipd.lr: must be >= 0, got -1.0" in message


def test_error_in_defaults_block_is_reported_there(configs):
    rewrite(configs / "algorithms" / "naive.yaml", "optimizer: sgd", "optimizer: rmsprop")
    message = load_error(configs)
    assert "naive.defaults.optimizer: must be one of ['sgd', 'adam']" in message


def test_ill_typed_value(configs):
    rewrite(configs / "algorithms" / "naive.yaml", "ipd: {lr: 1.0}", "ipd: {lr: fast}")
    assert "naive.games.ipd.lr: must be a number, got 'fast'" in load_error(configs)


def test_unknown_field(configs):
    rewrite(configs / "algorithms" / "naive.yaml", "ipd: {lr: 1.0}", "ipd: {learning_rate: 1.0}")
    assert "naive.games.ipd.learning_rate: unknown field" in load_error(configs)


def test_missing_required_field(configs):
    rewrite(configs / "algorithms" / "fixed.yaml", "defaults: {strategy: random}", "defaults: {}")
    message = load_error(configs)
    assert (
        "fixed.yaml" in message and "random.games.ipd.strategy: missing required field" in message
    )


def test_unknown_strategy_value(configs):
    rewrite(configs / "algorithms" / "fixed.yaml", "{strategy: random}", "{strategy: grim}")
    assert "random.defaults.strategy: must be one of" in load_error(configs)


def test_malformed_payoff_table(configs):
    rewrite(
        configs / "games.yaml",
        "payoffs: [[[-1, -1], [-3, 0]], [[0, -3], [-2, -2]]]",
        "payoffs: [[-1, -1], [-3, 0]]",
    )
    message = load_error(configs)
    assert "zoo_configs/games.yaml" in message and "ipd.config" in message and "payoffs" in message


def test_unknown_game_in_an_algorithm_block(configs):
    rewrite(configs / "algorithms" / "naive.yaml", "ipd: {lr: 1.0}", "idp: {lr: 1.0}")
    message = load_error(configs)
    assert "naive.games.idp: unknown game (did you mean 'ipd'?)" in message


def test_unknown_module(configs):
    rewrite(
        configs / "algorithms" / "naive.yaml",
        "algorithms.naive:NaiveLearner",
        "algorithms.naive:NaiveLerner",
    )
    assert "naive.module: module 'algorithms.naive' has no 'NaiveLerner'" in load_error(configs)


def test_invalid_yaml(configs):
    (configs / "algorithms" / "broken.yaml").write_text("naive2: {module: [\n")
    assert "broken.yaml: invalid YAML" in load_error(configs)


def test_duplicate_algorithm_name(configs):
    (configs / "algorithms" / "zz_copy.yaml").write_text(
        "naive:\n  module: algorithms.naive:NaiveLearner\n"
    )
    assert "zz_copy.yaml: naive: already defined in" in load_error(configs)


def test_unsupported_reason_must_be_given(configs):
    path = configs / "algorithms" / "naive.yaml"
    path.write_text(path.read_text() + "  unsupported:\n    coin_game: ''\n")
    assert "naive.unsupported.coin_game: must be a non-empty reason" in load_error(configs)


def test_unknown_names_suggest_the_nearest(registry):
    with pytest.raises(
        ConfigError, match=r"--b: unknown algorithm 'tit_for_tatt' \(did you mean 'tit_for_tat'\?\)"
    ):
        registry.algorithm("tit_for_tatt", "--b")
    with pytest.raises(ConfigError, match=r"--game: unknown game 'chess' \(known: "):
        registry.game("chess", "--game")


def test_duplicate_keys_are_rejected_not_silently_overwritten(configs):
    path = configs / "algorithms" / "naive.yaml"
    path.write_text(path.read_text() + "  defaults: {lr: 2.0}\n")
    message = load_error(configs)
    assert "naive.yaml: invalid YAML: duplicate key 'defaults'" in message and "(line " in message
