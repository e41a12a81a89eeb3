"""The algorithm contract and what an algorithm may see of a match.

    class MyAlgorithm(Algorithm):
        Config = MyConfig                      # a frozen dataclass, validated from YAML
        def init(self, game, player, seeds, generator) -> State
        def policy(self, state) -> Policy
        def update(self, state, view: MatchView) -> State

`update` receives a `MatchView`: the game, the player's seat and own policy, and what happened
in the iteration: exact values where the game has them for both policies, and sampled
trajectories (rolled out lazily, once, and shared by both players). White-box algorithms
(class attribute `white_box = True`) also see the opponent's parameters and policy family when
the opponent's policy is parametric; everyone else sees only behaviour.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from shaping.contracts.config import config_as_dict
from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import ExactAnalysis, Game, Pair, Trajectories
from shaping.contracts.policies import ParametricPolicy, Policy, PolicyFamily
from shaping.engine.artifacts import ArtifactCache, key_digest, without_code
from shaping.engine.sources import code_version


def policy_family(policy: Policy) -> PolicyFamily | None:
    """The family of a parametric policy, None for a black box."""
    return policy.family if isinstance(policy, ParametricPolicy) else None


class Outcome:
    """One iteration's joint play, computed lazily and shared by both players' views."""

    def __init__(
        self, game: Game, policies: tuple[Policy, Policy], seeds: int, generator: torch.Generator
    ) -> None:
        self.game = game
        self.policies = policies
        self.seeds = seeds
        self.generator = generator
        self._shared: dict[str, Any] = {}

    @property
    def has_exact(self) -> bool:
        return self.game.has_exact(*(policy_family(p) for p in self.policies))

    @cached_property
    def params(self) -> Pair:
        """Both players' current parameters, detached (exact games only)."""
        return tuple(p.params.detach() for p in self.policies)  # type: ignore[union-attr]

    @cached_property
    def analysis(self) -> ExactAnalysis:
        """Exact values, gradients and metrics of the current joint policy (detached)."""
        with torch.no_grad():
            return self.game.exact_analysis(*self.params)

    @cached_property
    def trajectories(self) -> Trajectories:
        """B episodes per seed with the current policies (log-probabilities detached)."""
        with torch.no_grad():
            return self.game.rollout(self.policies, self.seeds, self.generator)

    def shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """`compute()` once per iteration under `key`, then the same result for every caller:
        for work that both players' updates need at the current joint policy (e.g. the exact
        second-order terms two white-box learners would otherwise both compute)."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    def record(self) -> tuple[Pair, dict[str, Pair]]:
        """Reward per step and behaviour metrics per seed for both players (detached).

        Exact where the game has exact values for both policies, else from the episodes.
        """
        if self.has_exact:
            analysis = self.analysis
            rewards = tuple(self.game.reward_per_step(v) for v in analysis.values)
            return rewards, analysis.metrics
        with torch.no_grad():
            trajectories = self.trajectories
            return trajectories.mean_reward_per_step(), self.game.sampled_metrics(trajectories)


class MatchView:
    """What one player may see after an iteration, everything from its own point of view."""

    def __init__(self, outcome: Outcome, player: int, iteration: int, reveal_opponent: bool):
        # the joint outcome holds both players' parameters: it stays private, and every
        # public member below checks what this player may see
        self._outcome = outcome
        self.game = outcome.game
        self.player = player
        self.iteration = iteration
        self.own_policy = outcome.policies[player]
        self._opponent_policy = outcome.policies[1 - player]
        self._reveal = reveal_opponent and isinstance(self._opponent_policy, ParametricPolicy)

    # --- the opponent ---------------------------------------------------------------------

    @property
    def sees_opponent(self) -> bool:
        """Whether the opponent's parameters are visible (white-box algorithm, parametric
        opponent)."""
        return self._reveal

    @property
    def opponent_params(self) -> Tensor:
        """The opponent's current parameters [S, d], detached (white-box algorithms only)."""
        if not self._reveal:
            raise UnsupportedError(
                "the opponent's parameters are not visible: the algorithm must declare "
                "white_box = True and the opponent's policy must be parametric"
            )
        return self._opponent_policy.params.detach()  # type: ignore[attr-defined]

    @property
    def opponent_family(self) -> PolicyFamily:
        """The opponent's policy family, to rebuild its policy from looked-ahead parameters."""
        if not self._reveal:
            raise UnsupportedError("the opponent's policy family is not visible")
        return self._opponent_policy.family  # type: ignore[attr-defined]

    def shared_white_box(self, key: str, compute: Callable[[Pair], Any]) -> Any:
        """`compute((seat 0 params, seat 1 params))` once per iteration under `key`, shared
        by both players' views (white-box algorithms only): e.g. the exact second-order terms
        that two white-box learners would otherwise both compute."""
        if not self._reveal:
            raise UnsupportedError("the opponent's parameters are not visible")
        outcome = self._outcome
        return outcome.shared(key, lambda: compute(outcome.params))

    # --- what both players observed -------------------------------------------------------

    def rewards(self) -> Pair:
        """(own, opponent) reward per step of this iteration per seed, detached: exact where
        the game has exact values, else from the shared episodes. Both players observe the
        payoffs of their joint play."""
        rewards, _ = self._outcome.record()
        return (rewards[self.player], rewards[1 - self.player])

    # --- exact values ---------------------------------------------------------------------

    @property
    def has_exact(self) -> bool:
        """Whether exact values of the current joint policy are available."""
        return self._outcome.has_exact

    def values(self, own_params: Tensor, opponent_params: Tensor) -> Pair:
        """Exact (V_own, V_opponent) at any joint parameters, each [S], differentiable."""
        if self.player == 0:
            return self.game.exact(own_params, opponent_params)
        opponent_value, own_value = self.game.exact(opponent_params, own_params)
        return own_value, opponent_value

    def own_gradient(self) -> Tensor:
        """∇_own V_own at the current joint policy [S, d] (exact games, detached): the exact
        gradient a naive learner follows, computed once per iteration for both players."""
        if not self.has_exact:
            raise UnsupportedError(f"no exact values for this pair of policies on {self.game.name}")
        return self._outcome.analysis.gradients[self.player][self.player]

    def own_values(self, own_params: Tensor) -> Pair:
        """Exact (V_own, V_opponent) as a function of own parameters, against the opponent's
        current policy held fixed: the exact-gradient oracle of a naive learner."""
        if not self.has_exact:
            raise UnsupportedError(f"no exact values for this pair of policies on {self.game.name}")
        return self.values(own_params, self._outcome.params[1 - self.player])

    # --- samples --------------------------------------------------------------------------

    @property
    def trajectories(self) -> Trajectories:
        """This iteration's shared episodes, own data first (log-probabilities detached)."""
        return self._outcome.trajectories.seen_by(self.player)

    def rollout(
        self,
        own_policy: Policy,
        opponent_policy: Policy | None = None,
        batch: int | None = None,
        horizon: int | None = None,
    ) -> Trajectories:
        """Fresh episodes with `own_policy` (log-probabilities in the graph) against
        `opponent_policy`, by default the opponent's actual current policy; own data first."""
        opponent = self._opponent_policy if opponent_policy is None else opponent_policy
        seats = (own_policy, opponent) if self.player == 0 else (opponent, own_policy)
        trajectories = self.game.rollout(
            seats, self._outcome.seeds, self._outcome.generator, batch, horizon
        )
        return trajectories.seen_by(self.player)


@dataclass
class TrainingContext:
    """Where a pretraining run reports: TensorBoard curves and one-line progress."""

    log_dir: Path | None = None
    progress: Callable[[str], None] = field(default=lambda message: None)


class Algorithm(ABC):
    """Base class of every entrant of the zoo; see the module docstring for the contract."""

    #: the frozen dataclass of this algorithm's hyperparameters
    Config: ClassVar[type]
    #: whether the algorithm reads the opponent's parameters when they are visible
    white_box: ClassVar[bool] = False
    #: what the algorithm assumes, shown on the leaderboard (e.g. "exact gradients")
    assumptions: ClassVar[tuple[str, ...]] = ()
    #: whether `update` may modify the state it is given (then no caller may reuse that state:
    #: the match loop never does). False: `update` returns a new state and leaves its input
    #: as it was, so a state can be replayed, compared or branched (the contract suite checks)
    updates_in_place: ClassVar[bool] = False
    #: whether the algorithm needs a pretrained artifact (see `train` and `load`)
    pretrained: ClassVar[bool] = False
    #: how the league makes its agents (shaping.league): `self_play` trains it against itself
    #: and freezes the final policies; `as_is` plays the algorithm itself (fixed strategies,
    #: and pretrained agents that adapt in context, as their papers evaluate them)
    league_regime: ClassVar[str] = "self_play"
    #: config fields that change only how a pretrained agent plays, not what it trains: they
    #: are left out of the artifact key, so changing them reuses the artifact
    play_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any, name: str | None = None) -> None:
        self.config = config
        self.name = name or type(self).__name__
        #: the game whose artifact is installed (pretrained algorithms; see `install`)
        self.prepared_for: str | None = None

    def supports(self, game: Game) -> str | None:
        """None if this algorithm can play `game`, else the reason why not."""
        return None

    # --- pretrained agents ------------------------------------------------------------------

    @property
    def artifact_name(self) -> str:
        """The name its artifacts are filed under in the cache (by default its own)."""
        return self.name

    def artifact_key(self, game: Game) -> dict[str, Any]:
        """Everything that determines this algorithm's artifact for `game` (its configuration
        but the `play_fields`)."""
        config = config_as_dict(self.config)
        return {
            "algorithm": self.name,
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "config": {
                name: value for name, value in config.items() if name not in self.play_fields
            },
            "game": game.name,
            "game_config": config_as_dict(game.config),
            "code": code_version([type(self).__module__, type(game).__module__]),
        }

    def train(self, game: Game, context: TrainingContext) -> Any:
        """Pretrain for `game`; return a payload `torch.save` can write (pretrained only)."""
        raise NotImplementedError(f"{self.name} has nothing to pretrain")

    def load(self, payload: Any, game: Game) -> None:  # noqa: B027
        """Read a payload produced by `train` into this instance (pretrained only); called
        through `install`."""

    def install(self, payload: Any, game: Game) -> None:
        """`load` the payload trained for `game`, and remember that it is installed."""
        self.load(payload, game)
        self.prepared_for = game.name

    def require_artifact(self, game: Game | None = None) -> None:
        """Raise unless an artifact is installed (for `game`, when given): a pretrained
        algorithm cannot play before `prepare`."""
        if self.prepared_for is None or (game is not None and self.prepared_for != game.name):
            wanted = f" for {game.name}" if game is not None else ""
            raise UnsupportedError(
                f"{self.name} has no artifact installed{wanted}: call prepare(game, artifacts) "
                "before playing"
            )

    def prepare(
        self, game: Game, artifacts: ArtifactCache, context: TrainingContext | None = None
    ) -> Any:
        """Before playing `game`: load the cached artifact, training it first if missing.
        Returns the artifact's payload (None for an algorithm with nothing to pretrain)."""
        if not self.pretrained:
            return None
        context = context or TrainingContext()
        payload = artifacts.load_or_train(
            self.artifact_name,
            game.name,
            self.artifact_key(game),
            lambda: self.train_artifact(game, context),
        )
        self.install(payload, game)
        return payload

    def train_artifact(self, game: Game, context: TrainingContext) -> Any:
        """`train`, with torch's global RNG seeded from the artifact key for its duration:
        torch's default initialisation of layers draws from it, so without this an artifact
        would depend on what the process ran before (test order, a worker's earlier tasks).
        The code version is left out of the seed: a change of code that keeps the numerics
        (a refactor, a new library version) retrains the same artifact bit for bit."""
        key = without_code(self.artifact_key(game))
        seed = int(key_digest(key)[:15], 16)
        devices = [game.device.index or 0] if game.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            return self.train(game, context)

    @abstractmethod
    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> Any:
        """Initial state for `seeds` independent runs in seat `player`."""

    @abstractmethod
    def policy(self, state: Any) -> Policy:
        """The policy played in the coming iteration."""

    @abstractmethod
    def update(self, state: Any, view: MatchView) -> Any:
        """The state after learning from this iteration."""
