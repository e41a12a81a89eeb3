"""The league's settings, read from YAML: per game (games.yaml `league:`) and per entrant and
game (an algorithm YAML's `league:` block)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shaping.contracts.config import field, positive

#: how an entrant becomes a league agent: `self_play` trains it against a copy of itself and
#: freezes both seats' final policies; `as_is` plays the entrant itself (fixed strategies, and
#: entrants whose pretrained artifact is what their paper evaluates, adapting in context)
Regime = Literal["self_play", "as_is"]


@dataclass(frozen=True)
class GameLeague:
    """How one game's league is played (games.yaml `<game>.league`)."""

    agents: int = field(16, check=positive, doc="league agents (training seeds) per entrant")
    iterations: int = field(
        200, check=positive, doc="self-play training iterations of an entrant without its own"
    )
    play_iterations: int = field(
        1, check=positive, doc="iterations of a league match (frozen agents: evaluation rounds)"
    )
    exploiter: str = field("naive", doc="the fresh learner trained against every league agent")
    exploiter_config: dict[str, Any] = field(
        {}, doc="the exploiter's hyperparameters over its registered ones"
    )
    exploiter_iterations: int = field(
        100, check=positive, doc="the exploiter's fixed learning budget against each agent"
    )
    config: dict[str, Any] = field(
        {}, doc="the game's configuration in the league, over the tournament's for the game"
    )
    note: str = field("", doc="where these sizes come from")


@dataclass(frozen=True)
class EntrantLeague:
    """How one entrant trains its league agents for one game (an algorithm YAML's
    `<name>.league.<game>`); unset fields take the game's league settings."""

    regime: Regime | None = field(None, doc="self_play or as_is (default: the class's)")
    agents: int | None = field(None, check=positive, doc="league agents (training seeds)")
    iterations: int | None = field(None, check=positive, doc="self-play training iterations")
    play_iterations: int | None = field(
        None, check=positive, doc="iterations its league matches need at least (in-context agents)"
    )
    config: dict[str, Any] = field({}, doc="hyperparameters of league training over the registered")
    unsupported: str = field("", doc="why this entrant has no league agent on this game")
    note: str = field("", doc="the paper's scale or behaviour these settings reproduce")


@dataclass(frozen=True)
class ProfileLeague:
    """A profile's league (its `league:` block): which games, at what sizes, and on which
    games the overall ranking reads the league instead of learning together."""

    #: game -> its league settings (games.yaml's, with the profile's replacements)
    games: dict[str, GameLeague]
    #: game -> training iterations and agents replacing every entrant's own (smoke runs)
    train_iterations: dict[str, int]
    train_agents: dict[str, int]
    #: games whose overall score is the league's
    ranked: tuple[str, ...]
