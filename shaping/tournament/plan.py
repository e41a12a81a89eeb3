"""Which matches a tournament plays, and what determines each one.

Every entrant meets every entrant, itself included, in both seats, on every game of the
profile: for n entrants that is n² ordered pairs per game (the self-play match is one match,
its two seats being the same algorithm). A pair in which one side cannot play the game is a
cell marked n/a with the reason.

A match is identified by everything that determines its numbers (`MatchSpec.identity`): the
game and its configuration, both algorithms in seat order with their effective
configurations, the seeds, the iterations, the match seed, the device and the code version
(shaping core + both algorithms' and the game's source files + the versions of torch, numpy
and any library an algorithm wraps, e.g. axelrod). Its store key is the hash of
that identity. The match seed is derived from the tournament seed and the match's names only
(`match_seed`), so it does not depend on the order in which matches run or on what was
already stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch

from shaping.contracts.algorithm import Outcome
from shaping.contracts.config import build_config, config_as_dict
from shaping.contracts.errors import UnsupportedError
from shaping.engine.artifacts import key_digest
from shaping.engine.registry import AlgorithmEntry, GameEntry, Registry
from shaping.engine.sources import MATCH_LOOP_MODULE, code_version
from shaping.league.agent import LeagueAgent
from shaping.league.plan import (
    EXPLOITABILITY,
    LEAGUE,
    LEARNING_TOGETHER,
    LeagueSeat,
    exploiter_seat,
    league_json,
    league_seat,
    league_seed,
    league_unsupported,
    seat_code,
)
from shaping.league.settings import GameLeague, ProfileLeague
from shaping.tournament.profile import GameSettings, Profile

#: the two fixed strategies whose self-play payoffs anchor the overall normalisation
REFERENCE_STRATEGIES = ("always_cooperate", "always_defect")
#: seeds of the roll-outs that measure reference payoffs where a game has no exact values
REFERENCE_SEEDS = 32


@dataclass(frozen=True)
class Player:
    """One seat of a match: the algorithm's name, class path and effective configuration."""

    name: str
    module: str
    config: Any


@dataclass(frozen=True)
class MatchSpec:
    """Everything a worker needs to play one match, and nothing that does not change it."""

    game: str
    game_module: str
    game_config: Any
    players: tuple[Player, Player]
    seeds: int
    iterations: int
    seed: int
    device: str
    code: str

    def identity(self) -> dict[str, Any]:
        """The JSON-friendly description of this match that its key hashes."""
        return {
            "game": self.game,
            "game_class": self.game_module,
            "game_config": config_as_dict(self.game_config),
            "players": [
                {"name": p.name, "class": p.module, "config": config_as_dict(p.config)}
                for p in self.players
            ],
            "seeds": self.seeds,
            "iterations": self.iterations,
            "seed": self.seed,
            "device": self.device,
            "code": self.code,
        }

    @cached_property
    def key(self) -> str:
        return key_digest(self.identity())

    @property
    def label(self) -> str:
        return f"{self.game} {self.players[0].name} vs {self.players[1].name}"


@dataclass(frozen=True)
class Cell:
    """One ordered pair (a in seat 0, b in seat 1) of a game: a match, or n/a with a reason."""

    game: str
    a: str
    b: str
    match: MatchSpec | None
    not_applicable: str | None = None
    #: learning_together, league (frozen league agents) or exploitability (a fresh learner
    #: against league agents)
    section: str = LEARNING_TOGETHER


@dataclass
class Plan:
    """A tournament: its settings, entrants, games and cells."""

    profile: Profile
    seed: int
    device: str
    games: dict[str, dict[str, Any]]
    entrants: list[dict[str, Any]]
    cells: list[Cell] = field(default_factory=list)
    #: game -> its league's settings, agents and n/a entrants (empty: no league)
    league: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: games whose overall score is the league's
    league_ranked: tuple[str, ...] = ()

    @property
    def matches(self) -> list[MatchSpec]:
        return [cell.match for cell in self.cells if cell.match is not None]

    def to_json(self) -> dict[str, Any]:
        """What the report needs, JSON-friendly: stored with the results."""
        return {
            "profile": self.profile.name,
            "profile_source": self.profile.source,
            "description": self.profile.description,
            "seed": self.seed,
            "device": self.device,
            "games": self.games,
            "entrants": self.entrants,
            "league": self.league,
            "league_ranked": list(self.league_ranked),
            "cells": [
                {
                    "game": cell.game,
                    "a": cell.a,
                    "b": cell.b,
                    "key": cell.match.key if cell.match else None,
                    "not_applicable": cell.not_applicable,
                    "section": cell.section,
                }
                for cell in self.cells
            ],
        }


def match_seed(tournament_seed: int, game: str, a: str, b: str) -> int:
    """The seed of match (game, a in seat 0, b in seat 1): a hash, so that a match's numbers
    never depend on scheduling, resumption or which other matches exist."""
    text = json.dumps([tournament_seed, game, a, b])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 33


def match_code_version(a_module: str, b_module: str, game_module: str) -> str:
    """The code version of a match between the algorithms of `a_module` and `b_module` on the
    game of `game_module`: what the match loop runs from all three."""
    return code_version([a_module, b_module, game_module, MATCH_LOOP_MODULE])


def reference_payoffs(game: Any, seed: int) -> dict[str, float] | None:
    """Mean reward per step (over both players) when both play always_cooperate, and when
    both play always_defect: exact where the game has exact values, else measured over
    REFERENCE_SEEDS x batch episodes. None if the game has no such fixed strategies."""
    values = {}
    for strategy in REFERENCE_STRATEGIES:
        try:
            policies = tuple(game.fixed_policy(strategy, REFERENCE_SEEDS) for _ in range(2))
        except (UnsupportedError, NotImplementedError):
            return None
        generator = torch.Generator(device=game.device).manual_seed(seed)
        rewards, _ = Outcome(game, policies, REFERENCE_SEEDS, generator).record()
        values[strategy] = float(torch.stack(rewards).double().mean())
    return {
        "mutual_cooperation": values["always_cooperate"],
        "mutual_defection": values["always_defect"],
    }


def build_plan(
    registry: Registry,
    profile: Profile,
    *,
    games: list[str] | None = None,
    algorithms: list[str] | None = None,
    seeds: int | None = None,
    iterations: int | None = None,
    seed: int | None = None,
    device: str = "cpu",
    league: bool = True,
) -> Plan:
    """The tournament of `profile`, narrowed to `games` / `algorithms` and with `seeds`,
    `iterations` and the tournament `seed` overridden where given; with the profile's league
    unless `league` is false (`seeds` and `iterations` are the learning-together matches'
    only: the league's sizes are its own).

    A game outside the profile may be named in `games`; it is played at its registered match
    size (zoo_configs/games.yaml `match`).
    """
    if games:
        game_names = [registry.game(name, "--games").name for name in dict.fromkeys(games)]
    else:
        game_names = list(profile.games)
    # registered algorithms in registry order, then provider names (axelrod:X) as given
    entries = {
        name: registry.algorithm(name, "--algorithms")
        for name in dict.fromkeys(algorithms or registry.algorithms)
    }
    entrant_names = [name for name in registry.algorithms if name in entries]
    entrant_names += [name for name in entries if name not in registry.algorithms]
    tournament_seed = profile.seed if seed is None else seed
    plan = Plan(profile, tournament_seed, str(device), {}, [])
    game_instances = {}
    game_configs = {}
    for name in game_names:
        entry = registry.game(name, "--games")
        settings = profile.games.get(
            name, GameSettings(entry.seeds, entry.iterations, entry.config)
        )
        settings = GameSettings(
            seeds or settings.seeds, iterations or settings.iterations, settings.config
        )
        game = entry.cls(name, settings.config, device)
        game_instances[name] = game
        game_configs[name] = settings.config
        plan.games[name] = _game_json(entry, game, settings, tournament_seed)

    players: dict[tuple[str, str], Player] = {}
    code_versions: dict[tuple[str, ...], str] = {}
    for name in entrant_names:
        entry = entries[name]
        plan.entrants.append(
            {
                "name": name,
                "paper": entry.paper,
                "description": entry.description,
                "assumptions": list(entry.assumptions),
                "white_box": bool(entry.cls.white_box),
                "pretrained": bool(entry.cls.pretrained),
                "extensions": {g: entry.extensions[g] for g in game_names if g in entry.extensions},
                "overrides": {
                    g: profile.override(name, g) for g in game_names if profile.override(name, g)
                },
                "not_applicable": {},
            }
        )
        for game_name in game_names:
            reason = entry.unsupported_reason(game_name)
            if reason is None:
                config = profile.config(entry, game_name)
                reason = entry.cls(config, name).supports(game_instances[game_name])
            if reason is not None:
                plan.entrants[-1]["not_applicable"][game_name] = reason
                continue
            players[name, game_name] = Player(name, entry.module, config)

    for game_name in game_names:
        game_entry = registry.games[game_name]
        settings = plan.games[game_name]
        for a in entrant_names:
            for b in entrant_names:
                missing = [n for n in (a, b) if (n, game_name) not in players]
                if missing:
                    reasons = [
                        f"{n}: {_entrant(plan, n)['not_applicable'][game_name]}"
                        for n in dict.fromkeys(missing)
                    ]
                    plan.cells.append(Cell(game_name, a, b, None, "; ".join(reasons)))
                    continue
                roots = tuple(
                    entry.cls.__module__ for entry in (entries[a], entries[b], game_entry)
                )
                if roots not in code_versions:
                    code_versions[roots] = match_code_version(*roots)
                spec = MatchSpec(
                    game=game_name,
                    game_module=game_entry.module,
                    game_config=game_configs[game_name],
                    players=(players[a, game_name], players[b, game_name]),
                    seeds=settings["seeds"],
                    iterations=settings["iterations"],
                    seed=match_seed(tournament_seed, game_name, a, b),
                    device=str(device),
                    code=code_versions[roots],
                )
                plan.cells.append(Cell(game_name, a, b, spec))
    if league and profile.league is not None:
        _add_league(plan, registry, profile.league, entries, entrant_names, games, profile)
    return plan


def league_spec(
    game: GameEntry,
    game_config: Any,
    a: LeagueSeat,
    b: LeagueSeat,
    sizes: tuple[int, int, int],
    device: str,
) -> MatchSpec:
    """The match of league seats `a` (seat 0) and `b` on `game`, of (seeds, iterations, seed)
    `sizes`."""
    seeds, iterations, seed = sizes
    return MatchSpec(
        game=game.name,
        game_module=game.module,
        game_config=game_config,
        players=(Player(a.name, a.module, a.config), Player(b.name, b.module, b.config)),
        seeds=seeds,
        iterations=iterations,
        seed=seed,
        device=str(device),
        code=seat_code(a, b, game),
    )


@dataclass(frozen=True)
class LeagueGame:
    """One game of a profile's league: its settings and the game its agents train and play."""

    entry: GameEntry
    settings: GameLeague
    config: Any
    game: Any
    train_iterations: int | None = None
    train_agents: int | None = None


def league_game(registry: Registry, profile: Profile, name: str, device: str) -> LeagueGame:
    """`name`'s league in `profile` (games.yaml's league settings where the profile has none):
    the profile's game configuration, with the league's `config` over it."""
    entry = registry.game(name, "--game")
    league = profile.league
    settings = league.games[name] if league and name in league.games else entry.league
    base = profile.games[name].config if name in profile.games else entry.config
    config = build_config(
        entry.cls.Config,
        {**config_as_dict(base), **settings.config},
        f"{profile.source}: league.games.{name}.config",
    )
    return LeagueGame(
        entry,
        settings,
        config,
        entry.cls(name, config, device),
        league.train_iterations.get(name) if league else None,
        league.train_agents.get(name) if league else None,
    )


def league_entrant(
    league: LeagueGame, entry: AlgorithmEntry, override: dict[str, Any]
) -> LeagueSeat | str:
    """`entry`'s league agents in `league` (with `override` over its configuration), or the
    reason it has none there."""
    reason = league_unsupported(entry, league.entry.name)
    if reason is not None:
        return reason
    seat = league_seat(
        entry,
        league.entry,
        league.settings,
        league.train_iterations,
        league.train_agents,
        override,
    )
    return LeagueAgent(seat.config).supports(league.game) or seat


def _add_league(
    plan: Plan,
    registry: Registry,
    league: ProfileLeague,
    entries: dict[str, Any],
    names: list[str],
    games: list[str] | None,
    profile: Profile,
) -> None:
    """The league's cross-play and exploitability cells of every league game in `games`."""
    plan.league_ranked = tuple(g for g in league.ranked if not games or g in games)
    for game_name in league.games:
        if games and game_name not in games:
            continue
        chosen = league_game(registry, profile, game_name, plan.device)
        game_entry, settings, game_config = chosen.entry, chosen.settings, chosen.config
        seats: dict[str, LeagueSeat] = {}
        unsupported: dict[str, str] = {}
        for name in names:
            seat = league_entrant(chosen, entries[name], profile.override(name, game_name))
            if isinstance(seat, str):
                unsupported[name] = seat
            else:
                seats[name] = seat
        exploiter = exploiter_seat(registry, game_entry, settings)
        plan.league[game_name] = league_json(game_entry, settings, seats) | {
            "not_applicable": unsupported,
            "config": config_as_dict(game_config),
            "metrics": list(type(chosen.game).metric_names),
            "reference": plan.games.get(game_name, {}).get("reference")
            or reference_payoffs(chosen.game, plan.seed),
        }
        for a in names:
            for b in names:
                missing = [n for n in dict.fromkeys((a, b)) if n not in seats]
                if missing:
                    reason = "; ".join(f"{n}: {unsupported[n]}" for n in missing)
                    plan.cells.append(Cell(game_name, a, b, None, reason, LEAGUE))
                    continue
                sizes = (
                    seats[a].agents * seats[b].agents,
                    max(seats[a].play_iterations, seats[b].play_iterations),
                    league_seed(plan.seed, LEAGUE, game_name, a, b),
                )
                spec = league_spec(game_entry, game_config, seats[a], seats[b], sizes, plan.device)
                plan.cells.append(Cell(game_name, a, b, spec, section=LEAGUE))
        for seat in seats.values():
            for first, second in ((exploiter, seat), (seat, exploiter)):
                sizes = (
                    seat.agents,
                    exploiter.play_iterations,
                    league_seed(plan.seed, EXPLOITABILITY, game_name, first.name, second.name),
                )
                spec = league_spec(game_entry, game_config, first, second, sizes, plan.device)
                plan.cells.append(
                    Cell(game_name, first.name, second.name, spec, section=EXPLOITABILITY)
                )


def _entrant(plan: Plan, name: str) -> dict[str, Any]:
    return next(entrant for entrant in plan.entrants if entrant["name"] == name)


def _game_json(entry: GameEntry, game: Any, settings: GameSettings, seed: int) -> dict[str, Any]:
    return {
        "name": entry.name,
        "description": entry.description,
        "paper": entry.paper,
        "config": config_as_dict(settings.config),
        "seeds": settings.seeds,
        "iterations": settings.iterations,
        "metrics": list(type(game).metric_names),
        "reference": reference_payoffs(game, seed),
    }
