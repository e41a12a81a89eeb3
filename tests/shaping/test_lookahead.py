"""The look-ahead machinery: closed-form second-order terms against automatic differentiation,
the shaping and look-ahead terms against finite differences, the look-ahead through the
opponent's step against an independent differentiable optimiser (`higher`), DiCE estimates of
the terms against exact ones, and the per-iteration sharing of exact terms."""

from __future__ import annotations

import math

import higher
import pytest
import torch

from shaping.contracts.algorithm import MatchView, Outcome
from shaping.contracts.game import Game
from shaping.contracts.policies import TabularPolicy
from shaping.families.opponent_model import OpponentModel
from shaping.families.shaping_learner import (
    ShapingOracle,
    ShapingTerms,
    dice_values_on,
    exact_terms,
    lookahead_gradient,
    shaping_terms,
)
from tests.conftest import generator


def random_params(seeds: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = generator(seed)
    return (
        torch.randn(seeds, 5, generator=gen, dtype=torch.float64),
        torch.randn(seeds, 5, generator=gen, dtype=torch.float64),
    )


@pytest.mark.parametrize("name", ["ipd", "matching_pennies"])
def test_closed_form_second_order_matches_autograd(registry, name):
    game = registry.game(name).build()
    params_a, params_b = random_params(16, 1)
    closed = game.exact_analysis(params_a, params_b, second_order=True)
    generic = Game.exact_analysis(game, params_a, params_b, second_order=True)
    for mine, reference in zip(
        closed.lookahead + closed.shaping, generic.lookahead + generic.shaping, strict=True
    ):
        torch.testing.assert_close(mine, reference, rtol=1e-10, atol=1e-10)


def central_difference(function, params: torch.Tensor, step: float = 1e-5) -> torch.Tensor:
    """∂ Σ_seeds function(params) / ∂ params by central differences, [S, d]."""
    gradient = torch.zeros_like(params)
    for index in range(params.shape[1]):
        shift = torch.zeros_like(params)
        shift[:, index] = step
        gradient[:, index] = (function(params + shift) - function(params - shift)) / (2 * step)
    return gradient


def autograd_gradient(game, params_a, params_b, value: int, seat: int) -> torch.Tensor:
    """∇_seat V_value by first-order autograd (itself checked against finite differences in
    tests/games/test_matrix.py)."""
    leaves = [params_a.clone().requires_grad_(True), params_b.clone().requires_grad_(True)]
    (gradient,) = torch.autograd.grad(game.exact(*leaves)[value].sum(), leaves[seat])
    return gradient


@pytest.mark.parametrize("player", [0, 1])
def test_shaping_and_lookahead_terms_match_finite_differences(ipd, player):
    """χ_i = ∇_i ⟨∇_j V_j, v⟩ with v = ∇_j V_i held fixed, and (H_o ξ)_i = ∇_i ⟨∇_j V_i, w⟩
    with w = ∇_j V_j held fixed, by central differences of the inner product in θ_i."""
    own, opponent = random_params(4, 2)
    seats = (own, opponent) if player == 0 else (opponent, own)
    other = 1 - player
    terms = exact_terms(ipd, own, opponent, player)

    def cross_gradient(moved_own: torch.Tensor, value: int) -> torch.Tensor:
        moved = (moved_own, opponent) if player == 0 else (opponent, moved_own)
        return autograd_gradient(ipd, *moved, value=value, seat=other)

    own_cross = autograd_gradient(ipd, *seats, value=player, seat=other)
    other_cross = autograd_gradient(ipd, *seats, value=other, seat=other)
    shaping = central_difference(lambda x: (cross_gradient(x, other) * own_cross).sum(1), own)
    lookahead = central_difference(lambda x: (cross_gradient(x, player) * other_cross).sum(1), own)
    torch.testing.assert_close(terms.shaping[0], shaping, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(terms.lookahead[0], lookahead, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(terms.gradients[0], autograd_gradient(ipd, *seats, player, player))
    # the co-player's terms are this player's terms in the co-player's seat
    mirrored = exact_terms(ipd, opponent, own, other)
    torch.testing.assert_close(terms.shaping[1], mirrored.shaping[0])
    torch.testing.assert_close(terms.lookahead[1], mirrored.lookahead[0])


@pytest.mark.parametrize(("player", "steps"), [(0, 1), (1, 2)])
def test_lookahead_gradient_matches_finite_differences(ipd, player, steps):
    """∇_i V_i(θ_i, θ_j^K(θ_i)) against central differences of the same function, with the
    opponent's steps computed independently from the closed-form gradient."""
    own, opponent = random_params(3, 3)
    rate = 0.7

    def values(own_params, opponent_params):
        seats = (own_params, opponent_params) if player == 0 else (opponent_params, own_params)
        pair = ipd.exact(*seats)
        return pair if player == 0 else pair[::-1]

    def after_steps(own_params: torch.Tensor) -> torch.Tensor:
        current = opponent
        for _ in range(steps):
            seats = (own_params, current) if player == 0 else (current, own_params)
            gradient = ipd.exact_analysis(*seats).gradients[1 - player][1 - player]
            current = current + rate * gradient
        return values(own_params, current)[0]

    expected = central_difference(after_steps, own)
    got = lookahead_gradient(values, own, opponent, rate, steps)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)


def test_lookahead_gradient_matches_a_differentiable_optimiser_on_a_network(coin_game):
    """One differentiable SGD step of the opponent's network with higher.innerloop_ctx must
    give the same outer gradient as the project's own look-ahead (DiCE objectives on fixed
    coin-game episodes as the differentiable value function)."""
    family = coin_game.default_family()
    seeds = 2
    own = family.init(seeds, generator(4))
    opponent = family.init(seeds, generator(5))
    policies = (family.build(own), family.build(opponent))
    with torch.no_grad():
        episodes = coin_game.rollout(policies, seeds, generator(6), batch=8, horizon=12)
    values = dice_values_on(coin_game, episodes, family, family, "batch_mean")
    rate = 0.5
    ours = lookahead_gradient(values, own, opponent, rate, steps=1)

    class OpponentParameters(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.flat = torch.nn.Parameter(opponent.clone())

        def forward(self) -> torch.Tensor:
            return self.flat

    module = OpponentParameters()
    optimiser = torch.optim.SGD(module.parameters(), lr=rate)
    own_leaf = own.clone().requires_grad_(True)
    with higher.innerloop_ctx(module, optimiser, copy_initial_weights=True) as (fmodel, diffopt):
        diffopt.step(-values(own_leaf, fmodel())[1].sum())  # ascent on V_opp
        (reference,) = torch.autograd.grad(values(own_leaf, fmodel())[0].sum(), own_leaf)
    assert ours.abs().max() > 1e-4  # a real signal, not two zeros
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-6)


def test_taylor_terms_are_the_gradient_of_the_first_order_expansion(ipd):
    """ξ + η (H_o ξ + χ) = ∇_own [V_own + η ⟨∇_opp V_opp, ∇_opp V_own⟩] (SOS paper, Sec. 3):
    the generic autograd terms of any value function agree with the closed form."""
    own, opponent = random_params(5, 7)
    generic = shaping_terms(lambda a, b: ipd.exact(a, b), own, opponent)
    closed = exact_terms(ipd, own, opponent, 0)
    for mine, reference in zip(
        generic.gradients + generic.lookahead + generic.shaping,
        closed.gradients + closed.lookahead + closed.shaping,
        strict=True,
    ):
        torch.testing.assert_close(mine, reference, rtol=1e-9, atol=1e-10)


def test_dice_estimates_of_the_terms_are_unbiased(ipd):
    """DiCE estimates of ξ, H_o ξ and χ on sampled episodes of a 4-step IPD against the exact
    finite-horizon terms: the mean over 24 replicate seeds is within 4.5 standard errors
    (plus a small slack for the O(1/B) product bias of one shared batch)."""
    horizon, replicates = 4, 24
    own = torch.randn(1, 5, generator=generator(8)).repeat(replicates, 1)
    opponent = torch.randn(1, 5, generator=generator(9)).repeat(replicates, 1)
    policies = (TabularPolicy(own), TabularPolicy(opponent))
    with torch.no_grad():
        episodes = ipd.rollout(policies, replicates, generator(10), batch=4096, horizon=horizon)
    family = ipd.default_family()
    estimates = shaping_terms(
        dice_values_on(ipd, episodes, family, family, "batch_mean"), own, opponent
    )
    # exact discounted finite-horizon values (the DiCE objectives sum γ^t r_t over T steps)
    exact = shaping_terms(
        lambda a, b: ipd.exact(a, b, horizon=horizon), own[:1].double(), opponent[:1].double()
    )
    for estimate, reference in zip(
        estimates.gradients + estimates.lookahead + estimates.shaping,
        exact.gradients + exact.lookahead + exact.shaping,
        strict=True,
    ):
        mean = estimate.mean(0)
        standard_error = estimate.std(0) / math.sqrt(replicates)
        error = (mean - reference[0].float()).abs()
        assert torch.all(error <= 4.5 * standard_error + 0.02 * reference.abs().max()), (
            mean,
            reference,
        )


def test_exact_terms_are_computed_once_per_iteration_for_two_white_box_learners(ipd):
    own, opponent = (p.float() for p in random_params(6, 11))
    family = ipd.default_family()
    outcome = Outcome(ipd, (family.build(own), family.build(opponent)), 6, generator(12))
    calls = []
    original = ipd.exact_analysis

    def counting(*args, **kwargs):
        calls.append(kwargs.get("second_order", False))
        return original(*args, **kwargs)

    ipd.exact_analysis = counting
    try:
        oracles = [
            ShapingOracle(
                MatchView(outcome, seat, 0, reveal_opponent=True),
                family,
                (own, opponent)[seat],
                OpponentModel(family),
            )
            for seat in (0, 1)
        ]
        terms = [oracle.terms() for oracle in oracles]
    finally:
        del ipd.exact_analysis
    assert calls == [True]
    assert all(oracle.estimator == "exact" for oracle in oracles)
    swapped = terms[1].swapped()
    for mine, theirs in zip(
        terms[0].gradients + terms[0].shaping,
        swapped.gradients + swapped.shaping,
        strict=True,
    ):
        torch.testing.assert_close(mine, theirs)


def test_terms_of_a_modelled_black_box_use_the_fitted_table(ipd):
    """Against a black box the oracle shapes the memory-one table fitted to its play, with the
    exact machinery: the terms are the exact terms at (own, fitted table)."""
    family = ipd.default_family()
    own = torch.randn(3, 5, generator=generator(13))
    black_box_logits = torch.tensor([[2.0, 2.0, -2.0, 2.0, -2.0]])

    from shaping.contracts.policies import FunctionPolicy

    def probabilities(observation: torch.Tensor) -> torch.Tensor:
        cooperate = torch.sigmoid(black_box_logits[0, observation])
        return torch.stack((cooperate, 1 - cooperate), dim=-1)

    outcome = Outcome(ipd, (family.build(own), FunctionPolicy(probabilities)), 3, generator(14))
    view = MatchView(outcome, 0, 0, reveal_opponent=True)
    model = OpponentModel(family)
    oracle = ShapingOracle(view, family, own, model)
    assert oracle.estimator == "exact" and not oracle.true_opponent
    fitted = oracle.opponent_params
    assert torch.allclose(torch.sigmoid(fitted), torch.sigmoid(black_box_logits), atol=0.08)
    expected = exact_terms(ipd, own, fitted, 0)
    assert isinstance(expected, ShapingTerms)
    torch.testing.assert_close(oracle.terms().shaping[0], expected.shaping[0])
