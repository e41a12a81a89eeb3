"""Iterated 2x2 matrix games: the prisoner's dilemma, matching pennies, and any other.

States are the previous joint action, seen by each player in its OWN view (own action
first): s0 (start), CC, CD, DC, DD, where C is action 0 and D is action 1. Player 2's view of
the joint action (a1, a2) is (a2, a1), so CD and DC swap between the seats; forgetting this is
the classic bug of the reference notebooks.

Exact values (Foerster et al. 2018, LOLA, Sec. 3.2): with p0 the distribution of the first
joint action and P the 4x4 transition matrix between joint actions,

    V_i = p0ᵀ (I - γP)⁻¹ r_i ,     reward per step = (1 - γ) V_i ,

batched over seeds and differentiable to any order in both players' logits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor

from shaping.contracts.config import discount, field, non_negative, positive
from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import (
    ExactAnalysis,
    Game,
    ObservationSpec,
    Pair,
    Trajectories,
    payoff_table_problem,
)
from shaping.contracts.policies import PolicyFamily, TabularFamily, TabularPolicy

#: own-view state index of player 2 for each state index in player 1's view (CD <-> DC)
SEAT_REMAP = (0, 1, 3, 2, 4)

_INF = float("inf")
#: fixed memory-one strategies as logits of P(action 0) in (s0, CC, CD, DC, DD), own view
FIXED_LOGITS = {
    "always_cooperate": (_INF, _INF, _INF, _INF, _INF),
    "always_defect": (-_INF, -_INF, -_INF, -_INF, -_INF),
    # repeat the co-player's last action: cooperate after CC and DC, defect after CD and DD
    "tit_for_tat": (_INF, _INF, -_INF, _INF, -_INF),
    "random": (0.0, 0.0, 0.0, 0.0, 0.0),
}


class _Solution(NamedTuple):
    """Closed-form pieces of the exact value, seeds last: p1, q2 [5, S] (P(action 0) of each
    player in each state of player 1's view), first [4, S] (p0), visits [4, S] (u), state
    values [4, 2, S] (w = (I - γP)⁻¹ r for both players), inverse [4, 4, S] ((I - γP)⁻¹)."""

    p1: Tensor
    q2: Tensor
    first: Tensor
    visits: Tensor
    state_values: Tensor
    inverse: Tensor


class _FirstOrder(NamedTuple):
    """The closed-form first-order analysis, seeds last, player 1's state order: weights c
    [5, 1, S] (c_0 = 1, c_s = γ u_s), sigmoid slopes of p1 and q2 [5, 1, S], the differences
    A and B [5, 2, S] (dV_k/dp1_s = c_s A_k,s, dV_k/dq2_s = c_s B_k,s), the gradients in θ1 and
    θ2 [5, 2, S] (θ2's still in player 1's state order), and the `ExactAnalysis` they make."""

    solution: _Solution
    weights: Tensor
    slopes: tuple[Tensor, Tensor]
    differences: tuple[Tensor, Tensor]
    gradients: tuple[Tensor, Tensor]
    analysis: ExactAnalysis


@dataclass(frozen=True)
class MatrixGameConfig:
    """An iterated 2x2 game; payoffs[a1][a2] = [reward of player 1, reward of player 2]."""

    payoffs: list[list[list[float]]] = field(
        doc="payoffs[row action][column action] = [row reward, column reward]"
    )
    gamma: float = field(0.96, check=discount, doc="discount factor of the exact value")
    horizon: int = field(100, check=positive, doc="steps of a sampled episode")
    batch: int = field(64, check=positive, doc="sampled episodes per seed per iteration")
    init_std: float = field(1.0, check=non_negative, doc="initial logits ~ N(0, init_std²)")
    action_names: tuple[str, str] = field(("cooperate", "defect"), doc="names of actions 0, 1")

    def validate(self) -> str | None:
        return payoff_table_problem(self.payoffs)


class IteratedMatrixGame(Game):
    """An infinitely (exact) or finitely (sampled) iterated 2x2 game with memory-one states."""

    Config = MatrixGameConfig
    metric_names: ClassVar[tuple[str, ...]] = ("cooperation",)
    num_actions = 2

    def __init__(self, name: str, config: MatrixGameConfig, device: torch.device | str = "cpu"):
        super().__init__(name, config, device)
        # rewards of both players for joint actions CC, CD, DC, DD (player 1's view), [4, 2]
        self.payoff_table = torch.tensor(
            [config.payoffs[a1][a2] for a1 in (0, 1) for a2 in (0, 1)],
            dtype=torch.float32,
            device=self.device,
        )
        self.seat_remap = torch.tensor(SEAT_REMAP, device=self.device)
        self._family = TabularFamily(init_std=config.init_std)
        self._constant_cache: dict[tuple, dict[str, Tensor]] = {}
        self._memo: tuple[tuple, _FirstOrder] | None = None

    # --- policies -------------------------------------------------------------------------

    def default_family(self) -> PolicyFamily:
        return self._family

    def fixed_policy(self, strategy: str, seeds: int) -> TabularPolicy:
        if strategy not in FIXED_LOGITS:
            raise UnsupportedError(
                f"unknown fixed strategy {strategy!r}; known: {list(FIXED_LOGITS)}"
            )
        logits = torch.tensor(FIXED_LOGITS[strategy], device=self.device).expand(seeds, -1)
        return TabularPolicy(logits.contiguous(), self._family)

    # --- exact values ---------------------------------------------------------------------
    #
    # The closed form works on seeds-LAST tensors ([..., S]): every operation is then a plain
    # elementwise kernel over contiguous seeds, which is what keeps a 1024-seed iteration at a
    # few hundred microseconds (broadcasts over tiny inner dimensions are an order of
    # magnitude slower on CPU).

    def min_bytes_per_seed(self) -> int:
        """Tabular players need no roll-out: the least any match holds per seed is the exact
        evaluation's 4 x 4 transition matrix and its factorisation, in float32."""
        return 2 * 4 * 4 * 4

    def has_exact(self, family_a: PolicyFamily | None, family_b: PolicyFamily | None) -> bool:
        return isinstance(family_a, TabularFamily) and isinstance(family_b, TabularFamily)

    def _constants(self, like: Tensor) -> dict[str, Tensor]:
        key = (like.dtype, like.device)
        if key not in self._constant_cache:
            payoffs = self.payoff_table.to(device=like.device, dtype=like.dtype)
            identity = torch.eye(4, dtype=like.dtype, device=like.device).unsqueeze(-1)
            self._constant_cache[key] = {
                "payoffs_by_column": payoffs[None, :, :, None],  # [1, 4 (j), 2, 1]
                "payoffs_by_row": payoffs[:, :, None],  # [4 (j), 2, 1]
                "identity": identity,  # [4, 4, 1]
                "unit_columns": [identity[:, k : k + 1] for k in range(4)],
                "remap": self.seat_remap.to(like.device),
            }
        return self._constant_cache[key]

    def _solve(self, params_a: Tensor, params_b: Tensor) -> _Solution:
        """p0, P, u = p0ᵀ(I - γP)⁻¹ and w = (I - γP)⁻¹ r, seeds last."""
        constants = self._constants(params_a)
        seeds = params_a.shape[0]
        p1 = torch.sigmoid(params_a.T)  # [5, S] P(action 0) in each state, player 1's view
        q2 = torch.sigmoid(params_b.T).index_select(0, constants["remap"])  # player 2, remapped
        both_first = p1 * q2
        first_only = p1 - both_first
        second_only = q2 - both_first
        neither = (1 - p1) - second_only
        joint = torch.stack((both_first, first_only, second_only, neither), 1)  # [5, 4, S]
        identity = constants["identity"]
        # Gauss-Jordan on [I - γP | I]; I - γP is strictly diagonally dominant (rows of P sum
        # to 1, γ < 1), so no pivoting is needed.
        augmented = torch.cat((identity - self.gamma * joint[1:], identity.expand(4, 4, seeds)), 1)
        for k, unit in enumerate(constants["unit_columns"]):
            pivot_row = augmented[k] / augmented[k, k]
            augmented = augmented - (augmented[:, k : k + 1] - unit) * pivot_row
        inverse = augmented[:, 4:]  # [4 (i), 4 (j), S]
        visits = (joint[0].unsqueeze(1) * inverse).sum(0)  # u [4, S]
        state_values = (inverse.unsqueeze(2) * constants["payoffs_by_column"]).sum(1)  # w [4,2,S]
        return _Solution(p1, q2, joint[0], visits, state_values, inverse)

    def joint_action_probabilities(self, params_a: Tensor, params_b: Tensor) -> Tensor:
        """P(joint action | state) [S, 5, 4]: states s0, CC, CD, DC, DD in player 1's view,
        joint actions CC, CD, DC, DD."""
        p1 = torch.sigmoid(params_a)
        p2 = torch.sigmoid(params_b)[:, self.seat_remap]
        return torch.stack((p1 * p2, p1 * (1 - p2), (1 - p1) * p2, (1 - p1) * (1 - p2)), dim=-1)

    def visitation(self, params_a: Tensor, params_b: Tensor, horizon: int | None = None) -> Tensor:
        """Discounted visitation of the joint actions, u = Σ_t γ^t P(a_t) [S, 4].

        Infinite horizon: u = p0ᵀ (I - γP)⁻¹. Finite horizon: the first `horizon` terms.
        """
        if horizon is None:
            return self._solve(params_a, params_b).visits.T
        joint = self.joint_action_probabilities(params_a, params_b)
        first, transition = joint[:, 0], joint[:, 1:]
        visits, current = torch.zeros_like(first), first
        for step in range(horizon):
            visits = visits + self.gamma**step * current
            current = torch.bmm(current.unsqueeze(1), transition).squeeze(1)
        return visits

    def exact(self, params_a: Tensor, params_b: Tensor, horizon: int | None = None) -> Pair:
        if horizon is None:
            solution = self._solve(params_a, params_b)
            values = (solution.first.unsqueeze(1) * solution.state_values).sum(0)  # [2, S]
            return values[0], values[1]
        visits = self.visitation(params_a, params_b, horizon)
        values = visits @ self.payoff_table.to(visits.dtype)
        return values[:, 0], values[:, 1]

    def _cooperation(self, visits: Tensor) -> dict[str, Pair]:
        """Share of (discounted) time each player plays action 0, from u [4, S]."""
        total = visits.sum(0)
        return {"cooperation": ((visits[0] + visits[1]) / total, (visits[0] + visits[2]) / total)}

    def exact_metrics(self, params_a: Tensor, params_b: Tensor) -> dict[str, Pair]:
        return self._cooperation(self._solve(params_a, params_b).visits)

    def _first_order(self, params_a: Tensor, params_b: Tensor) -> _FirstOrder:
        """Values and gradients in closed form (differentiable to any order).

        With c_0 = 1 and c_s = γ u_s (s = CC..DD), dV_k/dP(joint j | state s) = c_s w_k[j], so
        dV_k/dp1_s = c_s A_k,s, A_k,s = q2_s (w_k[CC] - w_k[DC]) + (1 - q2_s)(w_k[CD] - w_k[DD])
        dV_k/dq2_s = c_s B_k,s, B_k,s = p1_s (w_k[CC] - w_k[CD]) + (1 - p1_s)(w_k[DC] - w_k[DD]),
        times the sigmoid's derivative.

        Without autograd, the result for the last pair of parameter tensors is kept: the match
        loop asks for one joint policy's analysis twice (to record the iteration, then with
        second order for white-box learners), and the second call then only adds the second-
        order products.
        """
        memoisable = not (params_a.requires_grad or params_b.requires_grad)
        key = (params_a, params_b, params_a._version, params_b._version)
        memo = self._memo
        if (
            memoisable
            and memo is not None
            and all(
                x is y if isinstance(x, Tensor) else x == y
                for x, y in zip(key, memo[0], strict=True)
            )
        ):
            return memo[1]
        constants = self._constants(params_a)
        solution = self._solve(params_a, params_b)
        p1, q2, visits, w = solution.p1, solution.q2, solution.visits, solution.state_values
        values = (visits.unsqueeze(1) * constants["payoffs_by_row"]).sum(0)  # [2, S]
        weights = torch.cat((torch.ones_like(visits[:1]), self.gamma * visits), 0).unsqueeze(1)
        p1_column, q2_column = p1.unsqueeze(1), q2.unsqueeze(1)  # [5, 1, S]
        slopes = (p1_column - p1_column * p1_column, q2_column - q2_column * q2_column)
        differences = (
            torch.lerp(w[1] - w[3], w[0] - w[2], q2_column),
            torch.lerp(w[2] - w[3], w[0] - w[1], p1_column),
        )
        grad_a = weights * differences[0] * slopes[0]
        grad_b = weights * differences[1] * slopes[1]
        grad_b_own_view = grad_b.index_select(0, constants["remap"])
        analysis = ExactAnalysis(
            (values[0], values[1]),
            (
                (grad_a[:, 0].T, grad_b_own_view[:, 0].T),
                (grad_a[:, 1].T, grad_b_own_view[:, 1].T),
            ),
            self._cooperation(visits),
        )
        result = _FirstOrder(solution, weights, slopes, differences, (grad_a, grad_b), analysis)
        self._memo = (key, result) if memoisable else None
        return result

    def exact_analysis(
        self, params_a: Tensor, params_b: Tensor, second_order: bool = False
    ) -> ExactAnalysis:
        """Values, gradients and metrics in closed form (differentiable to any order), and with
        `second_order` the look-ahead and shaping products of both seats, also in closed form
        (see `_cross_products`)."""
        first = self._first_order(params_a, params_b)
        if not second_order:
            return first.analysis
        grad_a, grad_b = first.gradients
        slope_a, slope_b = first.slopes
        curvature = first.solution.state_values
        curvature = (curvature[0] - curvature[1] - curvature[2] + curvature[3]).unsqueeze(0)
        # Seat 1 differentiates ⟨∇θ2 V_k, v_k⟩ with v_1 = ∇θ2 V2 (look-ahead) and v_2 = ∇θ2 V1
        # (shaping): the gradient blocks with the values exchanged.
        products_a = self._cross_products(
            first, curvature, cotangent=slope_b * grad_b.flip(1), seat=0
        )
        products_b = self._cross_products(
            first, curvature, cotangent=slope_a * grad_a.flip(1), seat=1
        ).index_select(0, self._constants(params_a)["remap"])
        # products_a[:, k] pairs with V_k: k = 0 is seat 1's look-ahead, k = 1 its shaping term;
        # for seat 2 the other way round.
        return replace(
            first.analysis,
            lookahead=(products_a[:, 0].T, products_b[:, 1].T),
            shaping=(products_a[:, 1].T, products_b[:, 0].T),
        )

    def _cross_products(
        self, first: _FirstOrder, curvature: Tensor, cotangent: Tensor, seat: int
    ) -> Tensor:
        """∇_own ⟨∇_other V_k, v_k⟩ for both values k at once, [5, 2, S] in player 1's order.

        Written for seat 1 (seat 2 exchanges the roles of p1 and q2 and of the joint actions
        CD and DC). G = ⟨∇θ2 V_k, v⟩ = Σ_s α_s c_s B_k,s with α_s = v_s σ'(θ2_s) (`cotangent`)
        depends on p1 through w_k = M r_k (dw = γ M dP w), through c = γ u
        (du = dp0ᵀ M + γ uᵀ dP M) and through B itself, so with M = (I - γP)⁻¹
            dG/dp1_t = γ z_t A_k,t [t ≥ 1] + γ c_t A_t(m) + α_t c_t D_k,
        z = Mᵀ ω, ω = Σ_s α_s c_s ∂x_s/∂q2_s, m = M e, e_s = α_s B_k,s (s ≥ 1), A_t(y) the
        A-combination of a vector y over joint actions, D_k = w_k[CC] - w_k[CD] - w_k[DC] +
        w_k[DD] (`curvature`: the derivative of A_k,t in q2_t, equal to that of B_k,t in p1_t).
        """
        solution, weights = first.solution, first.weights
        inverse = solution.inverse
        own_differences, other_differences = first.differences[seat], first.differences[1 - seat]
        own_probability = (solution.p1 if seat == 0 else solution.q2).unsqueeze(1)
        other_probability = (solution.q2 if seat == 0 else solution.p1).unsqueeze(1)
        weighted = weights * cotangent  # α_s c_s, [5, 2, S]
        # ω over joint actions: seat 1 pairs (CC, CD) and (DC, DD) with weights (p1, 1 - p1);
        # seat 2 pairs (CC, DC) and (CD, DD) with weights (q2, 1 - q2).
        first_pair = (weighted * own_probability).sum(0)  # [2, S]
        second_pair = weighted.sum(0) - first_pair
        if seat == 0:
            first_rows, second_rows = inverse[0] - inverse[1], inverse[2] - inverse[3]
        else:
            first_rows, second_rows = inverse[0] - inverse[2], inverse[1] - inverse[3]
        through_w = first_pair * first_rows.unsqueeze(1) + second_pair * second_rows.unsqueeze(1)
        source = cotangent[1:] * other_differences[1:]  # e, [4, 2, S]
        through_u = (inverse.unsqueeze(2) * source.unsqueeze(0)).sum(1)  # m = M e, [4, 2, S]
        if seat == 0:
            combined = torch.lerp(
                through_u[1] - through_u[3], through_u[0] - through_u[2], other_probability
            )
        else:
            combined = torch.lerp(
                through_u[2] - through_u[3], through_u[0] - through_u[1], other_probability
            )
        through_w = torch.cat((torch.zeros_like(through_w[:1]), through_w), 0)
        own_slope = first.slopes[seat]
        return own_slope * (
            self.gamma * (through_w * own_differences + weights * combined) + weighted * curvature
        )

    # --- environment ----------------------------------------------------------------------

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> Tensor:
        return torch.zeros(seeds, batch, dtype=torch.long, device=self.device)

    def step(self, state: Tensor, actions: Pair, generator: torch.Generator):
        joint = 2 * actions[0] + actions[1]
        rewards = self.payoff_table[joint]
        return joint + 1, (rewards[..., 0], rewards[..., 1]), {}

    def observe(self, state: Tensor, player: int) -> Tensor:
        return state if player == 0 else self.seat_remap[state]

    def observation_spec(self) -> ObservationSpec:
        """The own-view state index: s0, CC, CD, DC, DD."""
        return ObservationSpec(categories=len(SEAT_REMAP))

    def sampled_metrics(self, trajectories: Trajectories) -> dict[str, Pair]:
        first, second = trajectories.actions
        return {
            "cooperation": (
                (first == 0).float().mean(dim=(0, 2)),
                (second == 0).float().mean(dim=(0, 2)),
            )
        }
