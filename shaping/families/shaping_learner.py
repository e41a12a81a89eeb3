"""Look-ahead machinery of opponent shaping, written once against a differentiable value
function of (own parameters, opponent parameters).

Values are maximised (V = -L of the SOS paper). For a player i facing j, with the
co-player's naive step Δθ_j = η ∇_j V_j (Letcher et al. 2019, SOS, Sec. 2-3):

    ξ_i       = ∇_i V_i                    the naive gradient
    (H_o ξ)_i = (∇_i ∇_j V_i) ∇_j V_j      the LookAhead term (Zhang & Lesser 2010)
    χ_i       = (∇_i ∇_j V_j) ∇_j V_i      the shaping term (Foerster et al. 2018, LOLA, eq. 4)

The first-order Taylor expansion V_i(θ_i, θ_j + Δθ_j) ≈ V_i + η ⟨∇_j V_j, ∇_j V_i⟩ has the
gradient ξ_i + η (H_o ξ)_i + η χ_i. LookAhead keeps the first correction (the co-player's step
held constant), the LOLA paper's eq. 4 the second, the SOS paper's LOLA both, and SOS weighs
the shaping term by its p-criterion. The alternative to the Taylor form differentiates through
the co-player's steps themselves (LOLA-DiCE, COLA):

    θ_j^0 = θ_j,  θ_j^(k+1) = θ_j^k + η ∇_j V_j(θ_i, θ_j^k),
    update along ∇_i V_i(θ_i, θ_j^K(θ_i)).

Everything here takes a `JointValues` function (θ_own [S, d], θ_opp [S, d']) -> (V_own [S],
V_opp [S]), differentiable to second order, so the same code serves:

* exact values (`MatchView.values`, or a game's `exact_analysis`, which gives every term in
  closed form on the matrix games: `exact_terms`);
* DiCE surrogates from roll-outs (`dice_values_on` for given episodes, valid at the parameters
  that sampled them; `sampled_dice_values` rolling out fresh episodes at every evaluation).

`ShapingOracle` picks the estimator for one learner in one iteration (exact where the game has
exact values for its policy and the opponent's, true or modelled; DiCE otherwise), which is
all LOLA, LookAhead and SOS need to read like their papers; `ShapingLearner` and
`ShapingConfig` hold what those three share, so each of them only writes its update rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch import Tensor

from shaping.contracts.algorithm import Algorithm, MatchView
from shaping.contracts.config import field, non_negative, positive
from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import (
    ExactAnalysis,
    Game,
    Pair,
    Trajectories,
    cross_products,
    value_gradients,
)
from shaping.contracts.policies import ParametricPolicy, PolicyFamily
from shaping.families.actor_critic import actor_family
from shaping.families.opponent_model import OpponentModel
from shaping.numerics.dice import RewardBaseline, with_reward_baseline
from shaping.numerics.optim import Ascent, OptimizerName, OptimizerState

#: (θ_own [S, d], θ_opp [S, d']) -> (V_own [S], V_opp [S]), differentiable to second order
JointValues = Callable[[Tensor, Tensor], Pair]
#: how a learner estimates the terms: exact where possible else DiCE, exact only, DiCE only
Estimator = Literal["auto", "exact", "dice"]
#: a learner's policy class: the game's default, or a recurrent policy on sequential games
PolicyClass = Literal["default", "gru"]


def learner_family(game: Game, policy: PolicyClass, hidden: int) -> PolicyFamily:
    """The family a learner plays `game` with: the game's default (memory-one tables on the
    matrix games, an MLP of the observation on the coin game), or with "gru" a GRU policy of
    `hidden` units where the game is not a memory-one matrix game (memory within an episode
    is what lets a coin-game policy reciprocate; the LOLA paper's coin-game agents are
    recurrent, Sec. 4.3)."""
    return actor_family(game, hidden) if policy == "gru" else game.default_family()


#: the config fields that choose a learner's policy class (ShapingConfig and the naive learner)
POLICY_DOC = (
    "default (the game's: memory-one table; coin game: an MLP of the observation) or gru (a GRU "
    "policy on the coin game, as the LOLA paper's coin-game agents; the table on matrix games)"
)
POLICY_HIDDEN_DOC = "GRU units of policy gru"
#: one optional tensor per player (second-order terms computed only where asked for)
MaybePair = tuple[Tensor | None, Tensor | None]


@dataclass(frozen=True)
class ShapingTerms:
    """ξ, H_o ξ and χ of both players at one joint policy, each [S, d_player], detached.

    Index 0 is the player whose point of view built the terms, index 1 its co-player; so
    `gradients[0]` is the learner's own naive gradient and `shaping[1]` the co-player's
    shaping term (SOS needs both players' terms for its p-criterion). Second-order terms that
    were not asked for (see `shaping_terms`) are None.
    """

    gradients: Pair
    lookahead: MaybePair
    shaping: MaybePair

    def swapped(self) -> ShapingTerms:
        """The same terms from the co-player's point of view."""
        return ShapingTerms(self.gradients[::-1], self.lookahead[::-1], self.shaping[::-1])

    @classmethod
    def from_analysis(cls, analysis: ExactAnalysis, player: int) -> ShapingTerms:
        """The terms of a second-order `ExactAnalysis` (seat order) seen by `player`."""
        if analysis.lookahead is None or analysis.shaping is None:
            raise ValueError("the analysis has no second-order terms: pass second_order=True")
        gradients = (analysis.gradients[0][0], analysis.gradients[1][1])
        terms = cls(gradients, analysis.lookahead, analysis.shaping)
        return terms if player == 0 else terms.swapped()


def shaping_terms(
    values: JointValues,
    own: Tensor,
    opponent: Tensor,
    players: tuple[int, ...] = (0, 1),
    lookahead: bool = True,
    shaping: bool = True,
) -> ShapingTerms:
    """ξ of both players and the look-ahead and shaping terms of `players` (0: own, 1: the
    opponent) by automatic differentiation of `values` at (own, opponent). Works for any value
    function, e.g. DiCE objectives (whose derivatives of every order estimate the true ones);
    each second-order term costs one backward pass, so ask only for what the update uses."""
    with torch.enable_grad():
        leaves = (own.detach().requires_grad_(True), opponent.detach().requires_grad_(True))
        gradients = value_gradients(values(*leaves), leaves)
        products = cross_products(
            gradients, leaves, seats=players, lookahead=lookahead, shaping=shaping
        )
    lookahead_products, shaping_products = (
        tuple(None if t is None else t.detach() for t in pair) for pair in products
    )
    return ShapingTerms(
        (gradients[0][0].detach(), gradients[1][1].detach()),
        lookahead_products,
        shaping_products,
    )


def exact_terms(game: Game, own: Tensor, opponent: Tensor, player: int) -> ShapingTerms:
    """ξ, H_o ξ and χ of both players from the game's exact analysis (closed form on the
    matrix games), for `player` in its seat."""
    seats = (own, opponent) if player == 0 else (opponent, own)
    with torch.no_grad():
        analysis = game.exact_analysis(*seats, second_order=True)
    return ShapingTerms.from_analysis(analysis, player)


def opponent_after_steps(
    values: JointValues,
    own: Tensor,
    opponent: Tensor,
    rate: float,
    steps: int,
    first_values: JointValues | None = None,
) -> Tensor:
    """θ_opp^K after K = `steps` naive ascent steps of the opponent at rate η = `rate`,
    θ^(k+1) = θ^k + η ∇_opp V_opp(own, θ^k), differentiable in `own` (and in `opponent`).

    `first_values` evaluates the first step (e.g. DiCE objectives on episodes already sampled
    at the current parameters); `values` evaluates the others.
    """
    with torch.enable_grad():
        current = opponent if opponent.requires_grad else opponent.detach().requires_grad_(True)
        for step in range(steps):
            evaluate = first_values if step == 0 and first_values is not None else values
            opponent_value = evaluate(own, current)[1]
            (gradient,) = torch.autograd.grad(opponent_value.sum(), current, create_graph=True)
            current = current + rate * gradient
    return current


def lookahead_gradient(
    values: JointValues,
    own: Tensor,
    opponent: Tensor,
    rate: float,
    steps: int,
    first_values: JointValues | None = None,
) -> Tensor:
    """∇_own V_own(own, θ_opp^K(own)): the gradient through the opponent's K naive steps
    (LOLA's exact look-ahead form; LOLA-DiCE with DiCE `values`), [S, d], detached."""
    with torch.enable_grad():
        leaf = own.detach().requires_grad_(True)
        future = opponent_after_steps(values, leaf, opponent.detach(), rate, steps, first_values)
        (gradient,) = torch.autograd.grad(values(leaf, future)[0].sum(), leaf)
    return gradient


# --- DiCE value functions ------------------------------------------------------------------


def dice_values_on(
    game: Game,
    episodes: Trajectories,
    own_family: PolicyFamily,
    opponent_family: PolicyFamily,
    baseline: RewardBaseline,
) -> JointValues:
    """DiCE objectives of both players on fixed `episodes` (own data first), rewards centred
    by `baseline`, with the log-probabilities recomputed from the parameters: at the
    parameters that sampled the episodes, their derivatives of every order estimate those of
    the true values (scaled by 1 - 1/B for the `batch_mean` baseline)."""
    centred = with_reward_baseline(episodes, baseline)

    def values(own: Tensor, opponent: Tensor) -> Pair:
        log_probs = (
            own_family.build(own).log_prob(centred.observations[0], centred.actions[0]),
            opponent_family.build(opponent).log_prob(centred.observations[1], centred.actions[1]),
        )
        return game.dice_objectives(replace(centred, log_probs=log_probs))

    return values


def sampled_dice_values(
    view: MatchView,
    own_family: PolicyFamily,
    opponent_family: PolicyFamily,
    baseline: RewardBaseline,
    batch: int | None = None,
    horizon: int | None = None,
) -> JointValues:
    """DiCE objectives of both players (rewards centred by `baseline`) on `batch` fresh
    episodes of `horizon` steps, rolled out at every evaluation by the policies built from the
    given parameters (the opponent's family rebuilds the opponent, or its model, from
    looked-ahead parameters).

    Episodes are sampled without a graph; the log-probabilities of their actions are then
    recomputed in one batched call, which gives the same DiCE objective as log-probabilities
    kept during the roll-out, with a much smaller graph."""

    def values(own: Tensor, opponent: Tensor) -> Pair:
        with torch.no_grad():
            episodes = view.rollout(
                own_family.build(own.detach()),
                opponent_family.build(opponent.detach()),
                batch,
                horizon,
            )
        values_on = dice_values_on(view.game, episodes, own_family, opponent_family, baseline)
        return values_on(own, opponent)

    return values


# --- one learner, one iteration -----------------------------------------------------------


def estimator_support(game: Game, estimator: Estimator, family: PolicyFamily) -> str | None:
    """Why a learner with this `estimator` and policy `family` cannot play `game` (None if it
    can): "exact" needs exact values for the family."""
    if estimator == "exact" and not game.has_exact(family, family):
        return f"estimator 'exact' needs exact values, which {game.name} does not have"
    return None


@dataclass
class ShapingState:
    """A look-ahead learner's state: its parameters, optimiser state and opponent model."""

    family: PolicyFamily
    params: Tensor
    optimizer: OptimizerState
    model: OpponentModel

    @classmethod
    def init(
        cls, family: PolicyFamily, seeds: int, generator: torch.Generator, ascent: Ascent
    ) -> ShapingState:
        """Fresh parameters of `family` and an empty opponent model of the same family."""
        params = family.init(seeds, generator)
        return cls(family, params, ascent.init(params), OpponentModel(family))

    def policy(self) -> ParametricPolicy:
        return self.family.build(self.params)

    def ascend(self, ascent: Ascent, direction: Tensor, model: OpponentModel) -> ShapingState:
        """The state after one ascent step along `direction`, keeping opponent model `model`
        (the oracle's successor of this state's)."""
        params, optimizer = ascent.step(self.params, direction, self.optimizer)
        return ShapingState(self.family, params, optimizer, model)


class ShapingOracle:
    """Look-ahead quantities for one learner in one iteration, with the best estimator:

    * exact, when the game has exact values for the learner's family and the opponent's (its
      true parameters when visible, else the opponent model's estimate, e.g. a memory-one
      table fitted to its play); at the true current joint policy the closed-form terms are
      computed once per iteration and shared with a white-box co-player;
    * DiCE otherwise, or when `estimator` is "dice": the first evaluation on `batch` episodes
      of `horizon` steps at the current parameters (this iteration's shared episodes when
      their size matches), later ones on fresh roll-outs.

    With `always_model`, the opponent is the model fitted to its play even when its parameters
    are visible (LOLA-OM, Foerster et al. 2018, Sec. 3.3).

    oracle = ShapingOracle(view, family, params, model)
    oracle.terms()                  # ShapingTerms, own player first
    oracle.lookahead_gradient(η, K) # ∇ through the opponent's K naive steps
    """

    def __init__(
        self,
        view: MatchView,
        family: PolicyFamily,
        params: Tensor,
        model: OpponentModel,
        estimator: Estimator = "auto",
        batch: int | None = None,
        horizon: int | None = None,
        always_model: bool = False,
        baseline: RewardBaseline = "batch_mean",
    ) -> None:
        self.view = view
        self.baseline = baseline
        self.family = family
        self.params = params.detach()
        estimate = model.fit(view.trajectories) if always_model else model.estimate(view)
        self.opponent_family, self.opponent_params = estimate.family, estimate.params
        #: the opponent model the learner's next state keeps
        self.model = estimate.model
        #: whether the opponent seen is the true one (its visible parameters), not a model
        self.true_opponent = (
            not always_model and view.sees_opponent and self.opponent_family is view.opponent_family
        )
        exact = view.game.has_exact(family, self.opponent_family)
        if estimator == "exact" and not exact:
            raise UnsupportedError(
                f"estimator: {view.game.name} has no exact values for these policies; use "
                "'auto' or 'dice'"
            )
        self.exact = exact and estimator != "dice"
        self.batch = view.game.batch if batch is None else batch
        self.horizon = view.game.horizon if horizon is None else horizon

    @property
    def estimator(self) -> str:
        return "exact" if self.exact else "dice"

    def values(self) -> JointValues:
        """Exact values, or DiCE objectives on fresh roll-outs, as (own, opponent) -> pair."""
        if self.exact:
            return self.view.values
        return sampled_dice_values(
            self.view, self.family, self.opponent_family, self.baseline, self.batch, self.horizon
        )

    def current_values(self) -> JointValues:
        """A value function valid at the current joint parameters (for DiCE: objectives on
        episodes sampled by the current policies)."""
        if self.exact:
            return self.view.values
        return dice_values_on(
            self.view.game, self.episodes(), self.family, self.opponent_family, self.baseline
        )

    def episodes(self) -> Trajectories:
        """Episodes of the current policies (own data first), to evaluate DiCE objectives."""
        game = self.view.game
        if (self.batch, self.horizon) == (game.batch, game.horizon):
            return self.view.trajectories
        with torch.no_grad():
            return self.view.rollout(self.family.build(self.params), None, self.batch, self.horizon)

    def terms(
        self, players: tuple[int, ...] = (0, 1), lookahead: bool = True, shaping: bool = True
    ) -> ShapingTerms:
        """ξ, H_o ξ and χ of the learner (index 0) and its (true or modelled) opponent.

        DiCE estimates compute only the second-order terms asked for; the exact closed form
        gives all of them at once."""
        if not self.exact:
            return shaping_terms(
                self.current_values(),
                self.params,
                self.opponent_params,
                players,
                lookahead,
                shaping,
            )
        if not self.true_opponent:
            return exact_terms(self.view.game, self.params, self.opponent_params, self.view.player)
        game = self.view.game
        seat_zero = self.view.shared_white_box(
            "exact_shaping_terms", lambda params: exact_terms(game, *params, player=0)
        )
        return seat_zero if self.view.player == 0 else seat_zero.swapped()

    def lookahead_gradient(self, rate: float, steps: int) -> Tensor:
        """∇_own V_own(own, θ_opp^K(own)) through the opponent's `steps` naive steps at `rate`
        (LOLA's look-ahead form; LOLA-DiCE when the estimator is DiCE)."""
        return lookahead_gradient(
            self.values(),
            self.params,
            self.opponent_params,
            rate,
            steps,
            first_values=self.current_values(),
        )


@dataclass(frozen=True)
class ShapingConfig:
    """Hyperparameters every look-ahead learner has (LOLA, LookAhead, SOS extend them)."""

    lr: float = field(1.0, check=non_negative, doc="learning rate δ")
    lookahead_rate: float = field(
        1.0, check=non_negative, doc="look-ahead rate η: the opponent's assumed learning rate"
    )
    estimator: Estimator = field(
        "auto", doc="auto (exact where the game has exact values, else DiCE), exact or dice"
    )
    dice_batch: int | None = field(
        None, check=positive, doc="episodes per seed of a DiCE estimate (default: the game's)"
    )
    dice_horizon: int | None = field(
        None, check=positive, doc="steps of a DiCE episode (default: the game's)"
    )
    opponent_model: bool = field(
        False, doc="LOLA-OM: shape a model fitted to the opponent's play, even a white box"
    )
    optimizer: OptimizerName = field("sgd", doc="sgd (plain ascent, as in the papers) or adam")
    policy: PolicyClass = field("default", doc=POLICY_DOC)
    policy_hidden: int = field(32, check=positive, doc=POLICY_HIDDEN_DOC)
    dice_baseline: RewardBaseline = field(
        "batch_mean",
        doc="DiCE estimates: what rewards are centred on (none, batch_mean, leave_one_out); "
        "batch_mean is the LOLA-DiCE authors' (alshedivat/lola, lola_dice/rpg.py)",
    )


class ShapingLearner(Algorithm):
    """A white-box learner that ascends a direction built from `ShapingOracle`'s terms.

    Subclasses set `Config` (a `ShapingConfig`) and write `update` from `self.oracle(...)`;
    state, policy, game support and the ascent step are shared."""

    Config = ShapingConfig
    white_box = True
    assumptions = (
        "opponent's parameters (white box) or a model fitted to its play",
        "opponent is a naive learner with rate η",
        "exact values, or DiCE estimates from simulated roll-outs where there are none",
    )

    def __init__(self, config: ShapingConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        self.ascent = Ascent(config.optimizer, config.lr)

    def family(self, game: Game) -> PolicyFamily:
        """The policy family this learner plays `game` with (its config's `policy`)."""
        return learner_family(game, self.config.policy, self.config.policy_hidden)

    def supports(self, game: Game) -> str | None:
        return estimator_support(game, self.config.estimator, self.family(game))

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> ShapingState:
        return ShapingState.init(self.family(game), seeds, generator, self.ascent)

    def policy(self, state: ShapingState) -> ParametricPolicy:
        return state.policy()

    def oracle(self, state: ShapingState, view: MatchView) -> ShapingOracle:
        """This iteration's look-ahead terms, estimated as the config says."""
        config = self.config
        return ShapingOracle(
            view,
            state.family,
            state.params,
            state.model,
            config.estimator,
            config.dice_batch,
            config.dice_horizon,
            config.opponent_model,
            config.dice_baseline,
        )
