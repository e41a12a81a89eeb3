"""Tournament profiles: zoo_configs/profiles/<name>.yaml.

    description: "one line"
    seed: 0                          # the tournament seed every match seed derives from
    games:                           # the games played, explicitly (order = report order)
      ipd: {seeds: 32, iterations: 200}
      coin_game: {seeds: 4, iterations: 64, config: {batch: 16}}   # config: optional
    overrides:                       # optional: algorithm -> game -> hyperparameters
      naive: {coin_game: {lr: 0.02}}

A game's `config` is merged over its zoo_configs/games.yaml configuration (e.g. fewer episodes
per iteration for a laptop, more for a cluster) and validated against the game's Config.
Overrides are merged over the algorithm's registered configuration for that game and
validated against its Config dataclass; every problem is a one-line `ConfigError` naming the
profile file and the field.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shaping.contracts.config import build_config, config_as_dict
from shaping.contracts.errors import ConfigError
from shaping.engine.registry import AlgorithmEntry, Registry, read_yaml, suggest
from shaping.league.settings import GameLeague, ProfileLeague

PROFILE_FIELDS = ("description", "seed", "games", "overrides", "cost", "league")
LEAGUE_FIELDS = ("games", "ranked")
#: per-game league fields of a profile besides games.yaml's (GameLeague)
SMOKE_FIELDS = ("train_iterations", "train_agents")
GAME_SETTING_FIELDS = ("seeds", "iterations", "config")
REQUIRED_GAME_SETTINGS = ("seeds", "iterations")


@dataclass(frozen=True)
class GameSettings:
    """How much of one game a tournament plays: seeds per match, learning iterations and the
    game's configuration (games.yaml's, with the profile's `config` merged over it)."""

    seeds: int
    iterations: int
    config: Any


@dataclass(frozen=True)
class Profile:
    """A validated tournament profile."""

    name: str
    source: str
    description: str
    seed: int
    games: dict[str, GameSettings]
    overrides: dict[str, dict[str, dict[str, Any]]]
    #: game -> entrant (or `default`) -> CPU seconds per learning iteration of one entrant in
    #: a match at this profile's sizes: the `--dry-run` estimate of matches never played
    cost: dict[str, dict[str, float]] = field(default_factory=dict)
    #: the league this profile plays besides learning together (None: none)
    league: ProfileLeague | None = None

    def override(self, algorithm: str, game: str) -> dict[str, Any]:
        """The hyperparameters this profile sets for `algorithm` on `game` (maybe none)."""
        return self.overrides.get(algorithm, {}).get(game, {})

    def config(self, entry: AlgorithmEntry, game: str) -> Any:
        """`entry`'s configuration for `game` with this profile's overrides applied."""
        where = f"{self.source}: overrides.{entry.name}.{game}"
        return entry.config(game, self.override(entry.name, game), where)


def profile_dir(registry: Registry) -> Path:
    return registry.root / "profiles"


def available_profiles(registry: Registry) -> list[str]:
    """Names of the profiles shipped in the registry's zoo_configs/profiles/."""
    return sorted(path.stem for path in profile_dir(registry).glob("*.yaml"))


def resolve_profile(name: str | os.PathLike, registry: Registry) -> Path:
    """A profile name (quick, standard, full, ...) or a path to a profile YAML file."""
    text = str(name)
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        path = Path(text)
        if not path.is_file():
            raise ConfigError(f"--profile: no such profile file: {text}")
        return path
    path = profile_dir(registry) / f"{text}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"--profile: unknown profile {text!r}{suggest(text, available_profiles(registry))}"
        )
    return path


def _shown(path: Path, registry: Registry) -> str:
    try:
        return str(path.resolve().relative_to(registry.root.resolve().parent))
    except ValueError:
        return str(path)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a mapping, got {value!r}")
    return value


def _unknown_field(block: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(block) - set(known))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown field (known fields: {', '.join(known)})")


def _count(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: must be an integer >= {minimum}, got {value!r}")
    return value


def _cost(
    value: Any, games: dict[str, GameSettings], registry: Registry, where: str
) -> dict[str, dict[str, float]]:
    cost: dict[str, dict[str, float]] = {}
    for game, rates in _mapping(value, where).items():
        if game not in games:
            raise ConfigError(
                f"{where}.{game}: game not in this profile (its games: {', '.join(games)})"
            )
        cost[game] = {}
        for name, rate in _mapping(rates, f"{where}.{game}").items():
            if name != "default":
                registry.algorithm(str(name), f"{where}.{game}")
            number = isinstance(rate, (int, float)) and not isinstance(rate, bool)
            if not number or not math.isfinite(rate) or rate < 0:
                raise ConfigError(
                    f"{where}.{game}.{name}: must be a finite number of seconds >= 0, got {rate!r}"
                )
            cost[game][str(name)] = float(rate)
    return cost


def _league(value: Any, registry: Registry, where: str) -> ProfileLeague | None:
    if value is None:
        return None
    block = _mapping(value, where)
    _unknown_field(block, LEAGUE_FIELDS, where)
    games: dict[str, GameLeague] = {}
    train_iterations: dict[str, int] = {}
    train_agents: dict[str, int] = {}
    for game, settings in _mapping(block.get("games"), f"{where}.games").items():
        at = f"{where}.games.{game}"
        if game not in registry.games:
            raise ConfigError(f"{at}: unknown game{suggest(str(game), list(registry.games))}")
        settings = dict(_mapping(settings, at))
        for name, sizes in zip(SMOKE_FIELDS, (train_iterations, train_agents), strict=True):
            if name in settings:
                sizes[game] = _count(settings.pop(name), f"{at}.{name}", 1)
        base = config_as_dict(registry.games[game].league)
        games[game] = build_config(GameLeague, {**base, **settings}, at)
        registry.algorithm(games[game].exploiter, f"{at}.exploiter")
    if not games:
        raise ConfigError(f"{where}.games: must list at least one game")
    ranked = block.get("ranked") or []
    if not isinstance(ranked, list):
        raise ConfigError(f"{where}.ranked: must be a list of games, got {ranked!r}")
    for game in ranked:
        if game not in games:
            raise ConfigError(f"{where}.ranked: {game!r} is not a game of this league")
    return ProfileLeague(games, train_iterations, train_agents, tuple(ranked))


def load_profile(name: str | os.PathLike, registry: Registry) -> Profile:
    """Read and validate a profile against `registry` (games, algorithms, their Configs)."""
    path = resolve_profile(name, registry)
    shown = _shown(path, registry)
    raw = _mapping(read_yaml(path, shown), shown)
    _unknown_field(raw, PROFILE_FIELDS, f"{shown}: profile")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{shown}: description: must be a string, got {description!r}")
    seed = _count(raw.get("seed", 0), f"{shown}: seed", 0)

    games_block = _mapping(raw.get("games"), f"{shown}: games")
    if not games_block:
        raise ConfigError(f"{shown}: games: must list at least one game")
    games: dict[str, GameSettings] = {}
    for game, settings in games_block.items():
        where = f"{shown}: games.{game}"
        if game not in registry.games:
            raise ConfigError(f"{where}: unknown game{suggest(str(game), list(registry.games))}")
        settings = _mapping(settings, where)
        _unknown_field(settings, GAME_SETTING_FIELDS, where)
        for required in REQUIRED_GAME_SETTINGS:
            if required not in settings:
                raise ConfigError(f"{where}.{required}: missing required field")
        entry = registry.games[game]
        game_config = _mapping(settings.get("config"), f"{where}.config")
        games[game] = GameSettings(
            seeds=_count(settings["seeds"], f"{where}.seeds", 1),
            iterations=_count(settings["iterations"], f"{where}.iterations", 1),
            config=build_config(
                entry.cls.Config, {**entry.config_dict(), **game_config}, f"{where}.config"
            )
            if game_config
            else entry.config,
        )

    overrides: dict[str, dict[str, dict[str, Any]]] = {}
    for algorithm, per_game in _mapping(raw.get("overrides"), f"{shown}: overrides").items():
        where = f"{shown}: overrides.{algorithm}"
        entry = registry.algorithm(str(algorithm), where)
        overrides[algorithm] = {}
        for game, values in _mapping(per_game, where).items():
            if game not in games:
                raise ConfigError(
                    f"{where}.{game}: game not in this profile (its games: {', '.join(games)})"
                )
            reason = entry.unsupported_reason(game)
            if reason:
                raise ConfigError(f"{where}.{game}: {algorithm} cannot play {game}: {reason}")
            overrides[algorithm][game] = _mapping(values, f"{where}.{game}")

    profile = Profile(
        name=path.stem,
        source=shown,
        description=description,
        seed=seed,
        games=games,
        overrides=overrides,
        cost=_cost(raw.get("cost"), games, registry, f"{shown}: cost"),
        league=_league(raw.get("league"), registry, f"{shown}: league"),
    )
    for algorithm, per_game in overrides.items():
        for game in per_game:
            profile.config(registry.algorithm(algorithm), game)  # validates the override
    return profile
