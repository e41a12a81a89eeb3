"""Batched exact learners: the naive and LOLA steps against automatic differentiation of their
definitions, per-game seats, and pools that give each game its own rule."""

from __future__ import annotations

import pytest
import torch

from shaping.families.shaping_learner import ShapingTerms
from shaping.families.simulated_coplayers import ExactLearner, LearnerPool, seated_terms
from tests.conftest import generator


def random_params(seeds: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = generator(seed)
    return (
        torch.randn(seeds, 5, generator=gen, dtype=torch.float64),
        torch.randn(seeds, 5, generator=gen, dtype=torch.float64),
    )


def lola_by_autograd(game, learner: torch.Tensor, other: torch.Tensor, rate: float, full: bool):
    """∇_j of V_j + η ⟨∇_i V_j, ∇_i V_i⟩ (the whole first-order Taylor expansion of
    V_j(θ_j, θ_i + η ∇_i V_i), as the M-FOS code's LOLA opponent), or with ∇_i V_j held fixed
    (the LOLA paper's eq. 4 shaping term only); the learner j sits in seat 0 here."""
    leaf = learner.clone().requires_grad_(True)
    other_leaf = other.clone().requires_grad_(True)
    learner_value, other_value = game.exact(leaf, other_leaf)
    (own_cross,) = torch.autograd.grad(learner_value.sum(), other_leaf, create_graph=True)
    (other_own,) = torch.autograd.grad(other_value.sum(), other_leaf, create_graph=True)
    coupling = own_cross if full else own_cross.detach()
    objective = learner_value.sum() + rate * (coupling * other_own).sum()
    (gradient,) = torch.autograd.grad(objective, leaf)
    return gradient


@pytest.mark.parametrize("full", [False, True])
def test_lola_step_is_the_gradient_of_its_first_order_objective(ipd, full):
    learner, other = random_params(8, 1)
    with torch.no_grad():
        analysis = ipd.exact_analysis(learner, other, second_order=True)
    terms = ShapingTerms.from_analysis(analysis, 0)
    rule = ExactLearner("lola", lr=0.5, lookahead_rate=0.7, include_lookahead=full)
    expected = learner + 0.5 * lola_by_autograd(ipd, learner, other, 0.7, full)
    torch.testing.assert_close(rule.step(learner, terms), expected, rtol=1e-9, atol=1e-9)


def test_naive_step_is_gradient_ascent(matching_pennies):
    learner, other = random_params(8, 2)
    leaf = learner.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(matching_pennies.exact(other, leaf)[1].sum(), leaf)
    analysis = matching_pennies.exact_analysis(other, learner)
    terms = seated_terms(analysis, torch.ones(8, dtype=torch.long))
    updated = ExactLearner("naive", lr=0.3).step(learner, terms)
    torch.testing.assert_close(updated, learner + 0.3 * gradient)


def test_seated_terms_pick_each_games_seat(ipd):
    params_a, params_b = random_params(6, 3)
    analysis = ipd.exact_analysis(params_a, params_b, second_order=True)
    seats = torch.tensor([0, 1, 1, 0, 1, 0])
    terms = seated_terms(analysis, seats)
    by_seat = [ShapingTerms.from_analysis(analysis, seat) for seat in (0, 1)]
    for game, seat in enumerate(seats.tolist()):
        for name in ("gradients", "lookahead", "shaping"):
            for index in (0, 1):
                torch.testing.assert_close(
                    getattr(terms, name)[index][game], getattr(by_seat[seat], name)[index][game]
                )


def test_first_order_analysis_gives_zero_second_order_terms(ipd):
    params_a, params_b = random_params(4, 4)
    terms = seated_terms(ipd.exact_analysis(params_a, params_b), torch.zeros(4, dtype=torch.long))
    assert torch.all(terms.shaping[0] == 0) and torch.all(terms.lookahead[1] == 0)


def test_pool_steps_each_game_with_its_own_rule(ipd):
    learners, others = random_params(10, 5)
    pool = LearnerPool([ExactLearner("naive"), ExactLearner("lola", lookahead_rate=0.5)])
    rules = pool.sample(10, generator(6))
    assert sorted(rules.tolist()) == [0] * 5 + [1] * 5
    assert pool.second_order(rules) and not pool.second_order(torch.zeros(3, dtype=torch.long))
    terms = ShapingTerms.from_analysis(ipd.exact_analysis(learners, others, second_order=True), 0)
    stepped = pool.step(learners, terms, rules)
    for index, learner in enumerate(pool.learners):
        chosen = rules == index
        torch.testing.assert_close(stepped[chosen], learner.step(learners, terms)[chosen])


def test_bad_learners_are_refused():
    with pytest.raises(ValueError, match="rule"):
        ExactLearner("sos")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lr"):
        ExactLearner("naive", lr=-1.0)
    with pytest.raises(ValueError, match="at least one"):
        LearnerPool([])
