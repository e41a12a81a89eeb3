"""SOS: Algorithm 1 of Letcher et al. 2019 against an independent implementation in the paper's
loss convention, and the paper's results on the IPD, the tandem game and matching pennies;
the DiCE estimates of the same terms on the coin game."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algorithms.sos import SosConfig, StableOpponentShaping
from shaping.contracts.algorithm import MatchView, Outcome
from shaping.engine.match import run_match
from shaping.families.opponent_model import OpponentModel
from shaping.families.shaping_learner import ShapingState
from tests.conftest import generator


def reference_sos(game, theta: list[torch.Tensor], alpha: float, a: float, b: float):
    """SOS in the notebook's form (aletcher/stable-opponent-shaping), losses L = -V, one seed,
    both players: returns both new parameter vectors and p."""
    theta = [t.clone().requires_grad_(True) for t in theta]
    losses = [-v.sum() for v in game.exact(theta[0].unsqueeze(0), theta[1].unsqueeze(0))]

    def grad(function, param):
        return torch.autograd.grad(function, param, create_graph=True)[0]

    grad_l = [[grad(losses[j], theta[i]) for j in range(2)] for i in range(2)]  # [i][j] = ∇_i L_j
    xi_0, chi = [], []
    for i in range(2):
        j = 1 - i
        lookahead = grad(torch.dot(grad_l[j][i], grad_l[j][j].detach()), theta[i])
        xi_0.append(grad_l[i][i] - alpha * lookahead)
        chi.append(grad(torch.dot(grad_l[j][i].detach(), grad_l[j][j]), theta[i]))
    dot = torch.dot(-alpha * torch.cat(chi), torch.cat(xi_0))
    dot = float(dot.detach())
    p1 = 1.0 if dot >= 0 else min(1.0, float(-a * torch.cat(xi_0).detach().norm() ** 2) / dot)
    xi_norm = float(torch.cat([grad_l[0][0], grad_l[1][1]]).detach().norm())
    p2 = xi_norm**2 if xi_norm < b else 1.0
    p = min(p1, p2)
    new = [(theta[i] - alpha * (xi_0[i] - p * alpha * chi[i])).detach() for i in range(2)]
    return new, p


def test_update_matches_the_papers_algorithm_in_both_seats(ipd):
    """Seeds at several scales exercise p1 < 1 (the shaping would oppose LookAhead) and p = 1;
    the last seeds sit near the mutual-defection fixed point, where ‖ξ‖ < b gives p2 < 1."""
    seeds, alpha = 24, 0.8
    scales = torch.linspace(0.3, 6.0, seeds, dtype=torch.float64).unsqueeze(1)
    params = [
        torch.randn(seeds, 5, generator=generator(k), dtype=torch.float64) * scales for k in (1, 2)
    ]
    for tensor in params:
        tensor[-4:] = tensor[-4:] / scales[-4:] * 0.3 - 7.0
    learner = StableOpponentShaping(SosConfig(lr=alpha, lookahead_rate=alpha))
    family = ipd.default_family()
    outcome = Outcome(ipd, (family.build(params[0]), family.build(params[1])), seeds, generator(3))
    updated = [
        learner.update(
            ShapingState(
                family, params[seat], learner.ascent.init(params[seat]), OpponentModel(family)
            ),
            MatchView(outcome, seat, 0, reveal_opponent=True),
        ).params
        for seat in (0, 1)
    ]
    ps = []
    for seed in range(seeds):
        expected, p = reference_sos(ipd, [params[0][seed], params[1][seed]], alpha, 0.5, 0.1)
        ps.append(p)
        for seat in (0, 1):
            torch.testing.assert_close(updated[seat][seed], expected[seat], rtol=1e-7, atol=1e-9)
    ps = np.array(ps)
    assert (ps == 1).any() and ((ps < 1) & (ps > 0.01)).any() and (ps < 0.01).any(), ps


def run(game, entry, seeds=64, iterations=200, seed=0):
    learners = (entry.build(game.name), entry.build(game.name))
    return run_match(game, learners, seeds=seeds, iterations=iterations, seed=seed)


def test_sos_cooperates_in_the_ipd(registry, ipd):
    """SOS paper, Sec. 5 (IPD, α = 1, θ ~ N(0, 1)): SOS vs SOS reaches about -1.0, mutual
    cooperation with retaliation; here 64 seeds, 200 updates."""
    result = run(ipd, registry.algorithm("sos"))
    final = result.rewards[-1].mean(1)
    assert np.median(final) == pytest.approx(-1.0, abs=0.02)
    assert final.mean() == pytest.approx(-1.0, abs=0.15)
    assert (final > -1.3).mean() > 0.75


@pytest.mark.parametrize("algorithm", ["sos", "lookahead"])
def test_sos_and_lookahead_do_not_overshoot_in_the_tandem_game(registry, algorithm):
    """SOS paper, Sec. 5: on the tandem game SOS (and LookAhead) converge to x + y = 1, where
    LOLA overshoots to 4/3 (tests/algorithms/test_lola.py)."""
    game = registry.game("tandem").build()
    result = run(game, registry.algorithm(algorithm), iterations=300)
    np.testing.assert_allclose(result.metrics["strategy"][-1].sum(-1), 1.0, atol=1e-3)


def test_sos_finds_the_mixed_equilibrium_of_matching_pennies(registry, matching_pennies):
    """One-shot (SOS notebook, α = 1) and iterated matching pennies: SOS pairs end at p = 1/2,
    reward 0, in every run."""
    one_shot = registry.game("one_shot_pennies").build()
    for game in (one_shot, matching_pennies):
        result = run(game, registry.algorithm("sos"))
        cooperation = result.metrics["cooperation"][-20:]
        assert (np.abs(cooperation - 0.5) < 0.01).all(axis=(0, 2)).mean() > 0.95, game.name
        assert np.abs(result.rewards[-1]).mean() < 0.01


def test_sos_uses_dice_estimates_on_the_coin_game(registry, coin_game):
    """Where the game has no exact values the same terms come from DiCE on the iteration's
    episodes: one update moves the parameters by a finite step, in both seats."""
    entry = registry.algorithm("sos")
    learners = (entry.build("coin_game"), entry.build("coin_game"))
    states = [
        learner.init(coin_game, seat, 2, generator(seat)) for seat, learner in enumerate(learners)
    ]
    outcome = Outcome(
        coin_game,
        tuple(a.policy(s) for a, s in zip(learners, states, strict=True)),
        2,
        generator(4),
    )
    for seat, (learner, state) in enumerate(zip(learners, states, strict=True)):
        updated = learner.update(state, MatchView(outcome, seat, 0, reveal_opponent=True))
        step = (updated.params - state.params).abs()
        assert torch.isfinite(updated.params).all() and step.max() > 0
