"""LookAhead (Zhang & Lesser 2010, as in the SOS paper): the update rule against double
backpropagation, and the SOS paper's IPD result (LookAhead does not shape: it defects)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algorithms.lookahead import LookAhead
from shaping.contracts.algorithm import MatchView, Outcome
from shaping.contracts.policies import TabularPolicy
from shaping.engine.match import run_match
from shaping.families.shaping_learner import ShapingConfig
from tests.conftest import generator


@pytest.mark.parametrize("player", [0, 1])
def test_update_is_the_naive_gradient_plus_the_lookahead_term(ipd, player):
    """θ1 + δ [∇1 V1 + η (∇1∇2 V1) ∇2 V2], the opponent's step held fixed (no shaping)."""
    learner = LookAhead(ShapingConfig(lr=0.6, lookahead_rate=0.9))
    state = learner.init(ipd, player, 3, generator(1))
    opponent = torch.randn(3, 5, generator=generator(2))
    policies = [learner.policy(state), TabularPolicy(opponent)]
    if player == 1:
        policies.reverse()
    outcome = Outcome(ipd, tuple(policies), 3, generator(3))
    updated = learner.update(state, MatchView(outcome, player, 0, reveal_opponent=True))

    own = state.params.clone().requires_grad_(True)
    other = opponent.clone().requires_grad_(True)
    values = ipd.exact(own, other) if player == 0 else ipd.exact(other, own)[::-1]
    (naive,) = torch.autograd.grad(values[0].sum(), own, retain_graph=True)
    (own_cross,) = torch.autograd.grad(values[0].sum(), other, create_graph=True)
    (other_cross,) = torch.autograd.grad(values[1].sum(), other, retain_graph=True)
    (lookahead,) = torch.autograd.grad((own_cross * other_cross).sum(), own)
    expected = state.params + 0.6 * (naive + 0.9 * lookahead)
    torch.testing.assert_close(updated.params, expected, rtol=1e-4, atol=1e-5)


def test_lookahead_defects_in_the_ipd(registry, ipd):
    """SOS paper, Sec. 5 (IPD, α = 1): LookAhead pairs end near -2.0 like naive learners;
    anticipating the opponent's step without shaping it does not create reciprocity."""
    entry = registry.algorithm("lookahead")
    result = run_match(ipd, (entry.build("ipd"), entry.build("ipd")), seeds=64, iterations=200)
    final = result.rewards[-1].mean(1)
    assert final.mean() < -1.85
    assert np.median(final) == pytest.approx(-2.0, abs=0.02)
