"""League agents: an entrant trained in its paper's regime, then frozen.

    agent = LeagueAgent(LeagueAgentConfig(entrant="loqa", entrant_module="algorithms.loqa:LOQA",
                                          entrant_config=..., regime="self_play", agents=4,
                                          iterations=200))
    agent.prepare(game, artifacts)     # trains the agents once (a keyed, cached artifact)
    run_match(game, (agent, other_agent), seeds=4 * n_other, iterations=1)

Regime `self_play`: the entrant plays `iterations` learning iterations against a second
instance of itself over `agents` seeds at once; the final policy of each seat of each seed is a
league agent (seat 0's and seat 1's policies both, since a game's seats may differ: matching
pennies). The artifact holds the policy family and the parameters [agents, d] of each seat.
The agents then play with no parameter updates; a recurrent policy still adapts within an
episode, which is how it reciprocates.

Regime `as_is`: the entrant itself is the agent (fixed and Axelrod strategies, and pretrained
entrants whose papers evaluate the pretrained artifact adapting in context: M-FOS's meta-policy
across iterations, PPI's history); its own artifact is its league artifact.

Seed pairings. A league match between agents a (n_a of them, seat 0) and b (n_b, seat 1) plays
S = n_a · n_b seeds, pairing k = i · n_b + j meets a's agent i with b's agent j: seat 0 takes
agent k // (S / n_a) and seat 1 agent k mod n_b, so each side needs only its own count (S must
be a multiple of it). A fresh learner probing one agent set plays S = n seeds, one per agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from shaping.contracts.algorithm import Algorithm, MatchView, TrainingContext
from shaping.contracts.config import config_as_dict, field, positive
from shaping.contracts.errors import ConfigError, UnsupportedError
from shaping.contracts.game import Game
from shaping.contracts.policies import ParametricPolicy, Policy, PolicyFamily
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.match import run_match
from shaping.engine.registry import import_object
from shaping.engine.sources import MATCH_LOOP_MODULE, code_version
from shaping.engine.training_monitor import TrainingMonitor
from shaping.league.settings import Regime

#: the class path of league agents, as a match's player names it
LEAGUE_AGENT_MODULE = "shaping.league.agent:LeagueAgent"


@dataclass(frozen=True)
class LeagueAgentConfig:
    entrant: str = field(doc="the registered entrant these agents are trained from")
    entrant_module: str = field(doc="its class, module:Class")
    entrant_config: Any = field(doc="its configuration for league training (its Config)")
    regime: Regime = field("self_play", doc="self_play (train, then freeze) or as_is")
    agents: int = field(16, check=positive, doc="league agents: seeds of the training run")
    iterations: int = field(200, check=positive, doc="self-play training iterations")
    seed: int = field(0, doc="seed of the training run")


@dataclass(frozen=True)
class FrozenAgents:
    """A self-play league artifact: both seats' final policies over the training seeds."""

    family: PolicyFamily
    #: seat -> parameters [agents, d] (CPU)
    params: tuple[Tensor, Tensor]
    #: what the training run ended at, per seed: reward per step [agents, 2] and metrics
    final_reward: list[list[float]]
    final_metrics: dict[str, list[list[float]]]
    wall_time_s: float


def agent_index(seeds: int, agents: int, seat: int) -> Tensor:
    """Which agent plays each of `seeds` seed pairings in `seat` (see the module docstring)."""
    if seeds % agents:
        raise UnsupportedError(
            f"a league match needs a multiple of the {agents} agents as seeds, got {seeds}"
        )
    pairing = torch.arange(seeds)
    return pairing // (seeds // agents) if seat == 0 else pairing % agents


class LeagueAgent(Algorithm):
    """An entrant's league agents (see the module docstring)."""

    Config = LeagueAgentConfig
    assumptions = ("frozen after training in its paper's regime",)

    def __init__(self, config: LeagueAgentConfig, name: str | None = None) -> None:
        super().__init__(config, name or config.entrant)
        entrant_cls = import_object(config.entrant_module, f"league entrant {config.entrant}")
        self.entrant: Algorithm = entrant_cls(config.entrant_config, self.name)
        as_is = config.regime == "as_is"
        # instance attributes, read by the match loop and the tournament's artifact planning
        self.pretrained = (not as_is) or self.entrant.pretrained
        self.white_box = as_is and self.entrant.white_box
        self.assumptions = self.entrant.assumptions if as_is else type(self).assumptions
        self.updates_in_place = as_is and self.entrant.updates_in_place
        self.frozen: FrozenAgents | None = None
        self._artifacts: ArtifactCache | None = None

    @property
    def as_is(self) -> bool:
        return self.config.regime == "as_is"

    def supports(self, game: Game) -> str | None:
        return self.entrant.supports(game)

    # --- the artifact -----------------------------------------------------------------------

    @property
    def artifact_name(self) -> str:
        return self.entrant.artifact_name if self.as_is else f"league/{self.name}"

    def artifact_key(self, game: Game) -> dict[str, Any]:
        """As_is: the entrant's own artifact. Self-play: this configuration and the code of the
        entrant, the game and the match loop that trained it."""
        if self.as_is:
            return self.entrant.artifact_key(game)
        key = super().artifact_key(game)
        key["config"] = config_as_dict(self.config)
        key["code"] = code_version(
            [
                type(self).__module__,
                type(self.entrant).__module__,
                type(game).__module__,
                MATCH_LOOP_MODULE,
            ]
        )
        return key

    def prepare(
        self, game: Game, artifacts: ArtifactCache, context: TrainingContext | None = None
    ) -> Any:
        if self.as_is:
            payload = self.entrant.prepare(game, artifacts, context)
            self.prepared_for = game.name
            return payload
        self._artifacts = artifacts
        return super().prepare(game, artifacts, context)

    def train(self, game: Game, context: TrainingContext) -> FrozenAgents:
        """Self-play at the league's scale; the final policies of both seats, frozen."""
        config = self.config
        entrant_cls = type(self.entrant)
        copies = (
            entrant_cls(config.entrant_config, self.name),
            entrant_cls(config.entrant_config, self.name),
        )
        monitor = TrainingMonitor(context, config.iterations, f"league {self.name} {game.name}")

        def report(iteration: int, rewards: tuple[Tensor, Tensor], metrics: dict) -> None:
            scalars = {"reward": float(torch.stack(rewards).mean())}
            scalars.update({name: float(torch.stack(v).mean()) for name, v in metrics.items()})
            monitor.update(iteration + 1, scalars)

        result = run_match(
            game,
            copies,
            seeds=config.agents,
            iterations=config.iterations,
            seed=config.seed,
            artifacts=self._artifacts,
            on_iteration=report,
            final_policies=True,
        )
        monitor.close()
        policies = result.extra["final_policies"]
        if not all(isinstance(policy, ParametricPolicy) for policy in policies):
            raise UnsupportedError(
                f"{self.name}'s policy on {game.name} is not parametric: it cannot be frozen "
                "into a league agent (give it regime as_is or mark it unsupported in its YAML)"
            )
        return FrozenAgents(
            family=policies[0].family,
            params=tuple(policy.params.detach().cpu().clone() for policy in policies),
            final_reward=result.rewards[-1].tolist(),
            final_metrics={name: values[-1].tolist() for name, values in result.metrics.items()},
            wall_time_s=round(result.wall_time, 3),
        )

    def load(self, payload: Any, game: Game) -> None:
        if not isinstance(payload, FrozenAgents):
            raise ConfigError(f"league artifact of {self.name} for {game.name} is not a league")
        self.frozen = payload

    # --- playing ------------------------------------------------------------------------------

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> Any:
        if self.as_is:
            return self.entrant.init(game, player, seeds, generator)
        self.require_artifact(game)
        assert self.frozen is not None
        params = self.frozen.params[player][agent_index(seeds, self.config.agents, player)]
        return self.frozen.family.build(params.to(game.device))

    def policy(self, state: Any) -> Policy:
        return self.entrant.policy(state) if self.as_is else state

    def update(self, state: Any, view: MatchView) -> Any:
        """Frozen agents never change; as_is entrants update as they do anywhere (fixed ones
        do not learn, in-context ones adapt without training)."""
        return self.entrant.update(state, view) if self.as_is else state
