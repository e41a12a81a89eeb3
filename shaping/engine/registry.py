"""The registry: names in zoo_configs/ YAML -> game and algorithm classes with validated configs.

    zoo_configs/games.yaml           one entry per game
    zoo_configs/algorithms/*.yaml    one or more algorithm entries per file

Module paths are strings ("games.matrix:IteratedMatrixGame"), so shaping/ never imports an
algorithm or a game directly. Loading validates every entry and every (algorithm, game)
configuration eagerly; any problem is a one-line `ConfigError` naming the file and the field.

Providers. An entry with a `parameter` field stands for a family of algorithms named
`<entry>:<value>` (e.g. `axelrod:TitForTat`): the same class and configuration, with the
string config field named by `parameter` set to `<value>`. Its class checks values with the
classmethod `check_parameter(value) -> str | None` (None, or the reason with near names) and
lists them with `parameter_choices() -> list[str]`; both may import heavy libraries, so they
run only when such a name is used. Providers are not entrants themselves: "every registered
algorithm" means the `algorithms` mapping; `Registry.algorithm` resolves both kinds of name.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
import yaml

from shaping.contracts.config import build_config, config_as_dict
from shaping.contracts.errors import ConfigError
from shaping.league.settings import EntrantLeague, GameLeague

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "zoo_configs"
CONFIG_DIR_VARIABLE = "SHAPING_ZOO_CONFIGS"

GAME_FIELDS = {"module", "paper", "description", "config", "match", "league"}
ALGORITHM_FIELDS = {
    "module",
    "paper",
    "description",
    "defaults",
    "games",
    "unsupported",
    "extensions",
    "parameter",
    "league",
}
#: separates a provider's name from its parameter value: `axelrod:TitForTat`
PROVIDER_SEPARATOR = ":"
MATCH_FIELDS = {"seeds", "iterations"}


def config_dir(override: str | os.PathLike | None = None) -> Path:
    """The zoo_configs directory: `override`, else $SHAPING_ZOO_CONFIGS, else the repository's."""
    chosen = override or os.environ.get(CONFIG_DIR_VARIABLE) or DEFAULT_CONFIG_DIR
    return Path(chosen)


def suggest(name: str, known: list[str]) -> str:
    """' (did you mean X?)' for a near miss, else the list of known names."""
    same_letters = [k for k in known if k.casefold() == name.casefold()]
    close = same_letters or difflib.get_close_matches(name, known, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known: {', '.join(sorted(known))})"


def import_object(path: str, where: str) -> Any:
    """Import "package.module:Name", raising ConfigError naming `where` on failure."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{where}: must look like 'package.module:ClassName', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"{where}: cannot import module {module_name!r}: {error}") from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ConfigError(f"{where}: module {module_name!r} has no {attribute!r}") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate keys (plain YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml(text: str) -> Any:
    """Parse YAML safely, rejecting duplicate keys."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe


def read_yaml(path: Path, shown: str) -> Any:
    """The content of a YAML file; syntax errors and duplicate keys are one-line ConfigErrors
    naming the file (as `shown`) and the line."""
    try:
        return load_yaml(path.read_text())
    except yaml.YAMLError as error:
        first_line = str(error).splitlines()[0] if str(error) else "invalid YAML"
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{shown}: invalid YAML: {first_line}{where}") from error


def _read_yaml(path: Path, shown: str) -> dict[str, Any]:
    data = read_yaml(path, shown)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: must be a mapping of names to entries")
    return data


def _check_fields(entry: Any, allowed: set[str], where: str, required: tuple[str, ...]) -> None:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a mapping, got {entry!r}")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown field (known fields: {', '.join(sorted(allowed))})"
        )
    for name in required:
        if name not in entry:
            raise ConfigError(f"{where}.{name}: missing required field")


@dataclass(frozen=True)
class GameEntry:
    """A registered game: its class, validated config and default match size."""

    name: str
    module: str
    paper: str
    description: str
    config: Any
    seeds: int
    iterations: int
    source: str
    #: how this game's league is played (games.yaml `league:`)
    league: GameLeague = dataclasses.field(default_factory=GameLeague)

    @cached_property
    def cls(self) -> type:
        return import_object(self.module, f"{self.source}: {self.name}.module")

    def build(self, device: torch.device | str = "cpu") -> Any:
        """A game instance on `device`."""
        return self.cls(self.name, self.config, device)

    def config_dict(self) -> dict[str, Any]:
        return config_as_dict(self.config)


@dataclass(frozen=True)
class AlgorithmEntry:
    """A registered algorithm: class, documentation, per-game validated configs."""

    name: str
    module: str
    paper: str
    description: str
    configs: Mapping[str, Any]
    unsupported: Mapping[str, str]
    extensions: Mapping[str, str]
    source: str
    #: the config field that `<name>:<value>` sets (provider entries only)
    parameter: str | None = None
    #: game -> how this entrant trains its league agents there (the YAML's `league:` block)
    league: Mapping[str, EntrantLeague] = dataclasses.field(default_factory=dict)

    @cached_property
    def cls(self) -> type:
        return import_object(self.module, f"{self.source}: {self.name}.module")

    @property
    def is_provider(self) -> bool:
        return self.parameter is not None

    def resolve(self, value: str, field: str) -> AlgorithmEntry:
        """The algorithm `<provider>:<value>` (provider entries only), its value checked."""
        name = f"{self.name}{PROVIDER_SEPARATOR}{value}"
        problem = self.cls.check_parameter(value)
        if problem:
            raise ConfigError(f"{field}: {name!r}: {problem}")
        configs = {
            game: dataclasses.replace(config, **{self.parameter: value})
            for game, config in self.configs.items()
        }
        return dataclasses.replace(self, name=name, configs=configs, parameter=None)

    @property
    def assumptions(self) -> tuple[str, ...]:
        return tuple(self.cls.assumptions)

    def unsupported_reason(self, game: str) -> str | None:
        """Why this algorithm cannot play `game`, or None if it can."""
        return self.unsupported.get(game)

    def config(
        self, game: str, override: Mapping[str, Any] | None = None, where: str = "override"
    ) -> Any:
        """The registered configuration for `game`, with the fields of `override` replaced and
        validated again (errors name `where` and the field)."""
        if game in self.unsupported:
            raise ConfigError(f"{self.name} cannot play {game}: {self.unsupported[game]}")
        config = self.configs[game]
        if not override:
            return config
        return build_config(self.cls.Config, {**config_as_dict(config), **override}, where)

    def build(
        self, game: str, override: Mapping[str, Any] | None = None, where: str = "override"
    ) -> Any:
        """A fresh algorithm instance configured for `game` (with `override`, see `config`)."""
        return self.cls(self.config(game, override, where), self.name)


class Registry:
    """All games and algorithms of a zoo_configs directory, validated."""

    def __init__(
        self, games: dict[str, GameEntry], algorithms: dict[str, AlgorithmEntry], root: Path
    ):
        self.games = games
        self.algorithms = {n: e for n, e in algorithms.items() if not e.is_provider}
        self.providers = {n: e for n, e in algorithms.items() if e.is_provider}
        self.root = root
        self._resolved: dict[str, AlgorithmEntry] = {}

    @classmethod
    def load(cls, root: str | os.PathLike | None = None) -> Registry:
        """Read and validate everything under `root` (see `config_dir`)."""
        root = config_dir(root)
        games_file = root / "games.yaml"
        if not games_file.is_file():
            raise ConfigError(f"{games_file}: missing (the registry needs zoo_configs/games.yaml)")
        games = {
            name: _load_game(name, entry, _shown(games_file, root))
            for name, entry in _read_yaml(games_file, _shown(games_file, root)).items()
        }
        algorithms: dict[str, AlgorithmEntry] = {}
        for path in sorted((root / "algorithms").glob("*.yaml")):
            shown = _shown(path, root)
            for name, entry in _read_yaml(path, shown).items():
                if name in algorithms:
                    raise ConfigError(
                        f"{shown}: {name}: already defined in {algorithms[name].source}"
                    )
                algorithms[name] = _load_algorithm(name, entry, shown, games)
        return cls(games, algorithms, root)

    def game(self, name: str, field: str = "--game") -> GameEntry:
        if name not in self.games:
            raise ConfigError(f"{field}: unknown game {name!r}{suggest(name, list(self.games))}")
        return self.games[name]

    def algorithm(self, name: str, field: str = "--algorithm") -> AlgorithmEntry:
        """A registered algorithm, or `<provider>:<value>` resolved through its provider."""
        if name in self.algorithms:
            return self.algorithms[name]
        if name in self._resolved:
            return self._resolved[name]
        prefix, separator, value = name.partition(PROVIDER_SEPARATOR)
        if separator and prefix in self.providers and value:
            self._resolved[name] = self.providers[prefix].resolve(value, field)
            return self._resolved[name]
        if prefix in self.providers:
            hint = f" (write {prefix}{PROVIDER_SEPARATOR}<{self.providers[prefix].parameter}>)"
        elif separator:
            hint = f": no provider {prefix!r}{suggest(prefix, list(self.providers))}"
        else:
            hint = suggest(name, [*self.algorithms, *self.providers])
        raise ConfigError(f"{field}: unknown algorithm {name!r}{hint}")


def _shown(path: Path, root: Path) -> str:
    """How a config file is named in messages: relative to the zoo_configs parent."""
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _load_game(name: str, entry: Any, shown: str) -> GameEntry:
    where = f"{shown}: {name}"
    _check_fields(entry, GAME_FIELDS, where, ("module", "config"))
    game_cls = import_object(entry["module"], f"{where}.module")
    config_cls = getattr(game_cls, "Config", None)
    if config_cls is None or not dataclasses.is_dataclass(config_cls):
        raise ConfigError(f"{where}.module: {entry['module']} has no Config dataclass")
    config = build_config(config_cls, entry["config"], f"{where}.config")
    match = entry.get("match") or {}
    _check_fields(match, MATCH_FIELDS, f"{where}.match", ())
    sizes = {}
    for key, default in (("seeds", 16), ("iterations", 100)):
        value = match.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}.match.{key}: must be an integer >= 1, got {value!r}")
        sizes[key] = value
    return GameEntry(
        name=name,
        module=entry["module"],
        paper=str(entry.get("paper", "")),
        description=str(entry.get("description", "")),
        config=config,
        source=shown,
        league=build_config(GameLeague, entry.get("league"), f"{where}.league"),
        **sizes,
    )


def _load_algorithm(
    name: str, entry: Any, shown: str, games: dict[str, GameEntry]
) -> AlgorithmEntry:
    where = f"{shown}: {name}"
    _check_fields(entry, ALGORITHM_FIELDS, where, ("module",))
    algorithm_cls = import_object(entry["module"], f"{where}.module")
    config_cls = getattr(algorithm_cls, "Config", None)
    if config_cls is None or not dataclasses.is_dataclass(config_cls):
        raise ConfigError(f"{where}.module: {entry['module']} has no Config dataclass")
    defaults = entry.get("defaults") or {}
    per_game = entry.get("games") or {}
    unsupported = entry.get("unsupported") or {}
    extensions = entry.get("extensions") or {}
    parameter = entry.get("parameter")
    if parameter is not None:
        config_fields = {f.name: f for f in dataclasses.fields(config_cls)}
        if parameter not in config_fields:
            raise ConfigError(
                f"{where}.parameter: {entry['module']}'s Config has no field {parameter!r}"
            )
        for method in ("check_parameter", "parameter_choices"):
            if not callable(getattr(algorithm_cls, method, None)):
                raise ConfigError(
                    f"{where}.parameter: {entry['module']} must define the classmethod {method}"
                )
        for block in (defaults, *per_game.values()):
            if isinstance(block, dict) and parameter in block:
                raise ConfigError(
                    f"{where}: {parameter} is set by the name ({name}:<{parameter}>), not here"
                )
    league = entry.get("league") or {}
    for key, block in (
        ("defaults", defaults),
        ("games", per_game),
        ("unsupported", unsupported),
        ("extensions", extensions),
        ("league", league),
    ):
        if not isinstance(block, dict):
            raise ConfigError(f"{where}.{key}: must be a mapping, got {block!r}")
    for key, block in (
        ("games", per_game),
        ("unsupported", unsupported),
        ("extensions", extensions),
        ("league", league),
    ):
        for game in block:
            if game not in games:
                raise ConfigError(f"{where}.{key}.{game}: unknown game{suggest(game, list(games))}")
    for game, reason in unsupported.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where}.unsupported.{game}: must be a non-empty reason string")
    configs = {}
    for game in games:
        if game in unsupported:
            continue
        block = per_game.get(game) or {}
        if not isinstance(block, dict):
            raise ConfigError(f"{where}.games.{game}: must be a mapping, got {block!r}")
        merged = {**defaults, **block}
        if parameter is not None:
            # checked later, by `check_parameter`, when a name gives the value
            merged[parameter] = f"<{parameter}>"
        paths = {key: f"{where}.defaults.{key}" for key in defaults if key not in block}
        configs[game] = build_config(config_cls, merged, f"{where}.games.{game}", paths)
    league_settings = {}
    for game, block in league.items():
        settings = build_config(EntrantLeague, block, f"{where}.league.{game}")
        if game in configs and settings.config:
            build_config(
                config_cls,
                {**config_as_dict(configs[game]), **settings.config},
                f"{where}.league.{game}.config",
            )
        league_settings[game] = settings
    return AlgorithmEntry(
        name=name,
        module=entry["module"],
        paper=str(entry.get("paper", "")),
        description=str(entry.get("description", "")),
        configs=configs,
        unsupported=dict(unsupported),
        extensions={k: str(v) for k, v in extensions.items()},
        source=shown,
        parameter=parameter,
        league=league_settings,
    )
