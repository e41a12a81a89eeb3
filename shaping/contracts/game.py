"""The game contract: exact differentiable values where they exist, batched roll-outs for
every policy kind, and DiCE surrogate objectives built from roll-outs.

A game is an environment batched over [S seeds, B episodes] plus, optionally, an exact value
function of two parametric policies. Seats are 0 (row player, "player 1") and 1.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import torch
from torch import Tensor

from shaping.contracts.errors import UnsupportedError
from shaping.contracts.policies import Feedback, Policy, PolicyFamily, PolicyKind
from shaping.numerics.dice import dice_objective
from shaping.numerics.rl import discounted_returns

Pair = tuple[Tensor, Tensor]


@dataclass
class Trajectories:
    """Batched sampled episodes, seat 0 first in every pair.

    observations, actions, rewards: [T, S, B, ...] per player (each in its own view).
    log_probs: [T, S, B] per player, in the autograd graph when that player's policy is
    parametric and its parameters require grad; None for black boxes.
    events: game-specific per-step indicators per player, e.g. coin pickups.
    """

    observations: Pair
    actions: Pair
    rewards: Pair
    log_probs: tuple[Tensor | None, Tensor | None]
    gamma: float
    events: dict[str, Pair] = field(default_factory=dict)
    #: each player's observation after the last step [S, B, ...] (to bootstrap values)
    final_observations: Pair | None = None

    @property
    def horizon(self) -> int:
        return self.actions[0].shape[0]

    @property
    def seeds(self) -> int:
        return self.actions[0].shape[1]

    @property
    def batch(self) -> int:
        return self.actions[0].shape[2]

    def swapped(self) -> Trajectories:
        """The same episodes with the seats exchanged (seat 1's point of view first)."""

        def swap(pair: tuple) -> tuple:
            return pair[1], pair[0]

        return replace(
            self,
            observations=swap(self.observations),
            actions=swap(self.actions),
            rewards=swap(self.rewards),
            log_probs=swap(self.log_probs),
            events={name: swap(pair) for name, pair in self.events.items()},
            final_observations=(
                None if self.final_observations is None else swap(self.final_observations)
            ),
        )

    def seen_by(self, player: int) -> Trajectories:
        """The episodes from `player`'s point of view: its own data first."""
        return self if player == 0 else self.swapped()

    def discounted_returns(self, player: int = 0) -> Tensor:
        """Return-to-go G_t = sum_k>=t gamma^(k-t) r_k for `player`, [T, S, B]."""
        return discounted_returns(self.rewards[player], self.gamma)

    def mean_reward_per_step(self) -> Pair:
        """Average reward per step for each player, [S]."""
        return self.rewards[0].mean(dim=(0, 2)), self.rewards[1].mean(dim=(0, 2))


@dataclass(frozen=True)
class ObservationSpec:
    """What one player observes at each step, for environment APIs (PettingZoo, RLlib): an
    index in [0, categories) when `categories` is set, else a float vector of `shape` with
    values in [low, high]."""

    categories: int | None = None
    shape: tuple[int, ...] = ()
    low: float = 0.0
    high: float = 1.0


@dataclass
class ExactAnalysis:
    """Everything exact about one joint policy: values, their gradients, behaviour metrics.

    values[k]: V_k, [S]. gradients[k][seat]: ∇_{θ_seat} V_k, [S, d_seat]. All differentiable to
    higher order in the parameters when these require grad.

    With `second_order=True` (see `Game.exact_analysis`) also the mixed second-order products
    of opponent shaping, per seat i with co-player j (Letcher et al. 2019, SOS, Sec. 3):
    lookahead[i] = (∇_i ∇_j V_i) ∇_j V_j (the LookAhead term H_o ξ) and
    shaping[i] = (∇_i ∇_j V_j) ∇_j V_i (the shaping term χ; LOLA paper, eq. 4), [S, d_i].
    """

    values: Pair
    gradients: tuple[Pair, Pair]
    metrics: dict[str, Pair]
    lookahead: Pair | None = None
    shaping: Pair | None = None


def value_gradients(values: Pair, params: Pair) -> tuple[Pair, Pair]:
    """gradients[k][seat] = ∇_seat V_k [S, d_seat] of per-seed values (V_0, V_1) in the leaves
    `params`, kept in the graph for higher derivatives; zero where V_k ignores a parameter."""
    return tuple(
        tuple(
            torch.zeros_like(leaf) if gradient is None else gradient
            for gradient, leaf in zip(
                torch.autograd.grad(value.sum(), params, create_graph=True, allow_unused=True),
                params,
                strict=True,
            )
        )
        for value in values
    )


def cross_products(
    gradients: tuple[Pair, Pair],
    params: Pair,
    create_graph: bool = False,
    seats: tuple[int, ...] = (0, 1),
    lookahead: bool = True,
    shaping: bool = True,
) -> tuple[tuple[Tensor | None, Tensor | None], tuple[Tensor | None, Tensor | None]]:
    """(lookahead, shaping) products by automatic differentiation, one backward pass each.

    `gradients[k][seat]` = ∇_seat V_k must be differentiable functions of the leaves `params`
    (seat order). For seat i with co-player j:
    lookahead[i] = ∇_i ⟨∇_j V_i, sg(∇_j V_j)⟩ and shaping[i] = ∇_i ⟨∇_j V_j, sg(∇_j V_i)⟩,
    sg = stop-gradient; zero where a value does not depend on a parameter, None for the seats
    and terms not asked for.
    """
    products: dict[tuple[str, int], Tensor] = {}
    for seat in seats:
        other = 1 - seat
        own_value_cross = gradients[seat][other]  # ∇_j V_i
        other_value_cross = gradients[other][other]  # ∇_j V_j
        for name, wanted, value_cross, vector in (
            ("lookahead", lookahead, own_value_cross, other_value_cross),
            ("shaping", shaping, other_value_cross, own_value_cross),
        ):
            if not wanted:
                continue
            product = None
            if value_cross.requires_grad:
                (product,) = torch.autograd.grad(
                    (value_cross * vector.detach()).sum(),
                    params[seat],
                    retain_graph=True,
                    create_graph=create_graph,
                    allow_unused=True,
                )
            products[name, seat] = torch.zeros_like(params[seat]) if product is None else product
    return (
        (products.get(("lookahead", 0)), products.get(("lookahead", 1))),
        (products.get(("shaping", 0)), products.get(("shaping", 1))),
    )


class Game(ABC):
    """A two-player game, batched over seeds and episodes.

    Subclasses implement the environment (`reset`, `step`, `observe`), the default policy
    family, fixed strategies, and metrics; matrix games also implement `exact`.
    """

    #: names of the behaviour metrics this game reports per player
    metric_names: ClassVar[tuple[str, ...]] = ()
    num_actions: int = 2

    def __init__(self, name: str, config: Any, device: torch.device | str = "cpu") -> None:
        self.name = name
        self.config = config
        self.device = torch.device(device)

    # --- what every game provides -------------------------------------------------------

    @property
    def gamma(self) -> float:
        return self.config.gamma

    @property
    def horizon(self) -> int:
        """Length of a sampled episode."""
        return self.config.horizon

    @property
    def batch(self) -> int:
        """Episodes per seed in one iteration's shared roll-out."""
        return self.config.batch

    @abstractmethod
    def default_family(self) -> PolicyFamily:
        """The parametric policy family learners of this game use unless they bring their own."""

    def compact_family(self) -> PolicyFamily:
        """A low-dimensional parametric family, for algorithms that learn functions of both
        players' parameters (COLA's update functions, MeVa's meta-value): the default family
        where that is already small (the 5 logits of the matrix games); games with large
        policies override it with a small family that still captures their dilemma."""
        return self.default_family()

    @abstractmethod
    def fixed_policy(self, strategy: str, seeds: int) -> Policy:
        """One of always_cooperate, always_defect, tit_for_tat, random, as this game means it."""

    @abstractmethod
    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> Any:
        """Initial environment state of S x B episodes."""

    @abstractmethod
    def step(
        self, state: Any, actions: Pair, generator: torch.Generator
    ) -> tuple[Any, Pair, dict[str, Pair]]:
        """Apply joint actions; return the next state, both rewards [S, B], and events."""

    @abstractmethod
    def observe(self, state: Any, player: int) -> Tensor:
        """`player`'s own view of `state`, [S, B, ...]."""

    @abstractmethod
    def sampled_metrics(self, trajectories: Trajectories) -> dict[str, Pair]:
        """Behaviour metrics per seed [S] for both players, estimated from episodes."""

    def observation_spec(self) -> ObservationSpec:
        """What `observe` returns for one episode (games with roll-outs that environment APIs
        such as PettingZoo and RLlib can wrap implement it)."""
        raise UnsupportedError(f"game {self.name!r} does not describe its observations")

    def min_bytes_per_seed(self) -> int:
        """A lower bound on the memory one seed of a match on this game holds in one
        iteration, whatever the entrants: one roll-out of `batch` episodes of `horizon` steps
        with both players' observations, actions and rewards as 4-byte numbers (networks,
        autograd graphs and learner state come on top). Lets a match that cannot fit be
        refused before it starts; 0 where the game does not describe its observations."""
        try:
            observation = math.prod(self.observation_spec().shape)
        except UnsupportedError:
            return 0
        return self.horizon * self.batch * 2 * (observation + 2) * 4

    # --- exact values (only some games) ----------------------------------------------------

    def has_exact(self, family_a: PolicyFamily | None, family_b: PolicyFamily | None) -> bool:
        """Whether `exact` can evaluate policies of these two families."""
        return False

    def exact(self, params_a: Tensor, params_b: Tensor) -> Pair:
        """Exact values (V1, V2), each [S], differentiable to any order in both parameters."""
        raise UnsupportedError(f"game {self.name!r} has no exact values; use roll-outs")

    def exact_metrics(self, params_a: Tensor, params_b: Tensor) -> dict[str, Pair]:
        """Behaviour metrics per seed computed exactly (games with exact values)."""
        raise UnsupportedError(f"game {self.name!r} has no exact values; use roll-outs")

    def exact_analysis(
        self, params_a: Tensor, params_b: Tensor, second_order: bool = False
    ) -> ExactAnalysis:
        """Values, all four gradient blocks and metrics in one call; with `second_order`, also
        the look-ahead and shaping products of both seats (see `ExactAnalysis`).

        This default differentiates `exact` with autograd (keeping the graph, so higher
        derivatives work); games with a closed form override it for speed.
        """
        keep_graph = torch.is_grad_enabled()
        with torch.enable_grad():
            leaves = tuple(
                p if p.requires_grad else p.detach().requires_grad_(True)
                for p in (params_a, params_b)
            )
            values = self.exact(*leaves)
            gradients = value_gradients(values, leaves)
            lookahead, shaping = (
                cross_products(gradients, leaves, create_graph=keep_graph)
                if second_order
                else (None, None)
            )
        if not keep_graph:
            values = tuple(v.detach() for v in values)
            gradients = tuple(tuple(g.detach() for g in pair) for pair in gradients)
        return ExactAnalysis(
            values, gradients, self.exact_metrics(params_a, params_b), lookahead, shaping
        )

    def reward_per_step(self, value: Tensor) -> Tensor:
        """Convert an exact discounted value to reward per step, (1 - gamma) V."""
        return (1.0 - self.gamma) * value

    # --- sampling -------------------------------------------------------------------------

    def rollout(
        self,
        policies: tuple[Policy, Policy],
        seeds: int,
        generator: torch.Generator,
        batch: int | None = None,
        horizon: int | None = None,
    ) -> Trajectories:
        """Play B episodes per seed of `horizon` steps; both players act simultaneously."""
        if policies[0] is policies[1] and policies[0].stateful:
            raise ValueError(
                "policies: one stateful policy object is in both seats, so its per-episode "
                "memory would mix both players' histories; build one policy per seat"
            )
        batch = self.batch if batch is None else batch
        horizon = self.horizon if horizon is None else horizon
        state = self.reset(seeds, batch, generator)
        for policy in policies:
            policy.reset(seeds, batch, generator)
        observations: list[Pair] = []
        actions: list[Pair] = []
        rewards: list[Pair] = []
        log_probs: list[tuple[Tensor | None, Tensor | None]] = []
        events: dict[str, list[Pair]] = {}
        watchers = [p.kind is PolicyKind.BLACK_BOX for p in policies]
        current = (self.observe(state, 0), self.observe(state, 1))
        for _ in range(horizon):
            (a0, lp0), (a1, lp1) = (
                policies[0].act(current[0], generator),
                policies[1].act(current[1], generator),
            )
            state, reward, step_events = self.step(state, (a0, a1), generator)
            following = (self.observe(state, 0), self.observe(state, 1))
            for seat, watches in enumerate(watchers):
                if watches:
                    other = 1 - seat
                    policies[seat].observe(
                        Feedback(
                            own_action=(a0, a1)[seat],
                            other_action=(a0, a1)[other],
                            own_reward=reward[seat],
                            other_reward=reward[other],
                            next_observation=following[seat],
                            events={name: pair[seat] for name, pair in step_events.items()},
                            other_events={name: pair[other] for name, pair in step_events.items()},
                        )
                    )
            observations.append(current)
            actions.append((a0, a1))
            rewards.append(reward)
            log_probs.append((lp0, lp1))
            for name, pair in step_events.items():
                events.setdefault(name, []).append(pair)
            current = following

        def stacked(pairs: list[tuple]) -> tuple:
            return tuple(
                None if pairs[0][seat] is None else torch.stack([p[seat] for p in pairs])
                for seat in (0, 1)
            )

        return Trajectories(
            observations=stacked(observations),
            actions=stacked(actions),
            rewards=stacked(rewards),
            log_probs=stacked(log_probs),
            gamma=self.gamma,
            events={name: stacked(pairs) for name, pairs in events.items()},
            final_observations=current,
        )

    def dice_objectives(
        self, trajectories: Trajectories, baselines: tuple[Tensor, Tensor] | None = None
    ) -> Pair:
        """DiCE surrogates (J1, J2), each [S]: their values and derivatives of every order
        (in both players' parameters, through the log-probabilities) estimate the true ones.

        `baselines` are optional state-value estimates [T, S, B] per player, used as the
        variance-reducing baseline of Mao et al. (2019) without biasing any derivative.
        """
        own, other = trajectories.log_probs
        if own is None and other is None:
            raise UnsupportedError("DiCE objectives need log-probabilities of at least one player")
        return tuple(
            dice_objective(
                trajectories.rewards[seat],
                trajectories.log_probs[seat],
                trajectories.log_probs[1 - seat],
                trajectories.gamma,
                None if baselines is None else baselines[seat],
            )
            for seat in (0, 1)
        )


def payoff_table_problem(table: list[list[list[float]]]) -> str | None:
    """None if `table` is a 2x2 game's payoffs, table[row action][column action] = [row
    reward, column reward], all finite; else what is wrong (for a config's `validate`)."""
    well_formed = len(table) == 2 and all(
        len(row) == 2 and all(len(cell) == 2 for cell in row) for row in table
    )
    if not well_formed:
        return f"payoffs: must be a 2x2 table of [row reward, column reward] pairs, got {table!r}"
    if not all(math.isfinite(v) for row in table for cell in row for v in cell):
        return f"payoffs: every reward must be finite, got {table!r}"
    return None
