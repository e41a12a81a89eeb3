"""The league's matches: league agents of every entrant against each other, and a fresh
learner against each.

Per game of the league: every ordered pair of entrants (a in seat 0, b in seat 1, itself
included) plays one cross-play match of n_a · n_b seed pairings with no parameter updates
(section `league`); and the game's exploiter, a fresh learner with a fixed budget, learns
against each entrant's agents in both seats, one seed per agent (section `exploitability`).
An entrant's league agents are sized by its YAML's `league:` block for the game, falling back
to games.yaml's `league:` block; nothing here names an entrant or a game.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shaping.contracts.config import config_as_dict
from shaping.engine.registry import AlgorithmEntry, GameEntry, Registry
from shaping.engine.sources import MATCH_LOOP_MODULE, code_version
from shaping.league.agent import LEAGUE_AGENT_MODULE, LeagueAgentConfig
from shaping.league.settings import EntrantLeague, GameLeague

#: the seat name of the fresh learner in exploitability matches
EXPLOITER = "exploiter"
#: the sections of a plan's cells: both sides learn from scratch in the match (LOLA's
#: setting), frozen league agents meet, a fresh learner probes league agents
LEARNING_TOGETHER, LEAGUE, EXPLOITABILITY = "learning_together", "league", "exploitability"


@dataclass(frozen=True)
class LeagueSeat:
    """One side of a league match: a player (name, class, config) and its agents."""

    name: str
    module: str
    config: Any
    code_modules: tuple[str, ...]
    agents: int
    play_iterations: int


def league_seed(tournament_seed: int, section: str, game: str, a: str, b: str) -> int:
    """The seed of a league match: a hash of its names, as `plan.match_seed`."""
    text = json.dumps([tournament_seed, section, game, a, b])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 33


def entrant_league(entry: AlgorithmEntry, game: str) -> EntrantLeague:
    """How `entry` trains its league agents for `game` (its YAML's, else all defaults)."""
    return entry.league.get(game, EntrantLeague())


def league_unsupported(entry: AlgorithmEntry, game: str) -> str | None:
    """Why `entry` has no league agent on `game`, or None."""
    return entry.unsupported_reason(game) or entrant_league(entry, game).unsupported or None


def league_seat(
    entry: AlgorithmEntry,
    game: GameEntry,
    settings: GameLeague,
    iterations: int | None = None,
    agents: int | None = None,
    override: dict[str, Any] | None = None,
) -> LeagueSeat:
    """The league agents of `entry` for `game`: `iterations` and `agents` (a smoke run's
    sizes) replace what the YAML says where given, and `override` (a profile's
    hyperparameters for the entrant) goes over its league configuration."""
    own = entrant_league(entry, game.name)
    regime = own.regime or entry.cls.league_regime
    where = f"{entry.source}: {entry.name}.league.{game.name}.config (with the profile's)"
    config = LeagueAgentConfig(
        entrant=entry.name,
        entrant_module=entry.module,
        entrant_config=entry.config(game.name, {**own.config, **(override or {})}, where),
        regime=regime,
        agents=agents or own.agents or settings.agents,
        iterations=iterations or own.iterations or settings.iterations,
    )
    return LeagueSeat(
        name=entry.name,
        module=LEAGUE_AGENT_MODULE,
        config=config,
        code_modules=(LEAGUE_AGENT_MODULE.partition(":")[0], entry.cls.__module__),
        agents=config.agents,
        play_iterations=max(settings.play_iterations, own.play_iterations or 1),
    )


def exploiter_seat(registry: Registry, game: GameEntry, settings: GameLeague) -> LeagueSeat:
    """The game's fresh learner, configured as games.yaml's `league:` block says."""
    entry = registry.algorithm(settings.exploiter, f"{game.source}: {game.name}.league.exploiter")
    where = f"{game.source}: {game.name}.league.exploiter_config"
    return LeagueSeat(
        name=EXPLOITER,
        module=entry.module,
        config=entry.config(game.name, settings.exploiter_config, where),
        code_modules=(entry.cls.__module__,),
        agents=1,
        play_iterations=settings.exploiter_iterations,
    )


def seat_code(a: LeagueSeat, b: LeagueSeat, game: GameEntry) -> str:
    """The code version of a league match: both sides' modules, the game's, the loop's."""
    return code_version([*a.code_modules, *b.code_modules, game.cls.__module__, MATCH_LOOP_MODULE])


def league_json(
    game: GameEntry, settings: GameLeague, seats: dict[str, LeagueSeat]
) -> dict[str, Any]:
    """What the report says about one game's league: its settings and each entrant's agents."""
    entrants = {}
    for name, seat in seats.items():
        own = config_as_dict(seat.config)
        entrants[name] = {
            "regime": own["regime"],
            "agents": seat.agents,
            "iterations": own["iterations"] if own["regime"] == "self_play" else None,
        }
    return {"settings": config_as_dict(settings), "entrants": entrants}
