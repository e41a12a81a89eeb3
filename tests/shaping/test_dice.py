"""DiCE surrogates on the sampled IPD against exact derivatives of the finite-horizon value.

Each of R replicate "seeds" shares the same policies but samples its own B episodes, so the R
per-seed DiCE estimates are independent draws of the same estimator. The tolerance is 4.5
standard errors of their mean (R = 32: a t-statistic beyond 4.5 has probability < 1e-4 per
component), plus 1e-9 for float round-off.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from shaping.contracts.policies import TabularPolicy
from shaping.numerics.dice import (
    batch_mean_baseline,
    dice_objective,
    magic_box,
    with_reward_baseline,
)
from tests.conftest import generator

REPLICATES, EPISODES, HORIZON = 32, 2048, 8


def assert_unbiased(estimates: torch.Tensor, exact: torch.Tensor, label: str) -> None:
    """estimates: [R, ...] independent replicates; exact: [...]."""
    mean = estimates.mean(0)
    standard_error = estimates.std(0) / math.sqrt(estimates.shape[0])
    excess = (mean - exact).abs() - (4.5 * standard_error + 1e-9)
    assert torch.all(excess <= 0), f"{label}: mean {mean} vs exact {exact} (SE {standard_error})"


@pytest.fixture(scope="module")
def setting(ipd):
    theta_a = torch.randn(1, 5, dtype=torch.float64, generator=generator(20))
    theta_b = torch.randn(1, 5, dtype=torch.float64, generator=generator(21))
    direction = torch.randn(1, 5, dtype=torch.float64, generator=generator(22))
    params_a = theta_a.repeat(REPLICATES, 1).requires_grad_(True)
    params_b = theta_b.repeat(REPLICATES, 1).requires_grad_(True)
    with torch.no_grad():
        episodes = ipd.rollout(
            (TabularPolicy(params_a), TabularPolicy(params_b)),
            seeds=REPLICATES,
            generator=generator(23),
            batch=EPISODES,
            horizon=HORIZON,
        )
    return theta_a, theta_b, direction, params_a, params_b, episodes


def with_log_probs(episodes, params_a, params_b):
    """The episodes with log-probabilities recomputed in a fresh graph of both parameters."""
    log_probs = tuple(
        TabularPolicy(params).log_prob(episodes.observations[seat], episodes.actions[seat])
        for seat, params in enumerate((params_a, params_b))
    )
    return replace(episodes, log_probs=log_probs)


def exact_terms(ipd, theta_a, theta_b, direction, seat):
    """∇a V, ∇b V and the mixed second-order term ∇a (∇b V · v) of the finite-horizon value."""
    a = theta_a.clone().requires_grad_(True)
    b = theta_b.clone().requires_grad_(True)
    value = ipd.exact(a, b, horizon=HORIZON)[seat].sum()
    grad_a, grad_b = torch.autograd.grad(value, (a, b), create_graph=True)
    (mixed,) = torch.autograd.grad((grad_b * direction).sum(), a, retain_graph=True)
    (own_second,) = torch.autograd.grad((grad_a * direction).sum(), a)
    return grad_a.detach()[0], grad_b.detach()[0], mixed[0], own_second[0]


@pytest.mark.parametrize("seat", [0, 1])
@pytest.mark.parametrize("with_baseline", [False, True])
def test_dice_first_and_second_derivatives_are_unbiased(ipd, setting, seat, with_baseline):
    theta_a, theta_b, direction, params_a, params_b, episodes = setting
    episodes = with_log_probs(episodes, params_a, params_b)
    baselines = None
    if with_baseline:
        baselines = tuple(batch_mean_baseline(episodes.discounted_returns(s)) for s in (0, 1))
    objective = ipd.dice_objectives(episodes, baselines)[seat]
    grad_a, grad_b = torch.autograd.grad(objective.sum(), (params_a, params_b), create_graph=True)
    (mixed,) = torch.autograd.grad((grad_b * direction).sum(), params_a, retain_graph=True)
    (own_second,) = torch.autograd.grad((grad_a * direction).sum(), params_a)
    exact = exact_terms(ipd, theta_a, theta_b, direction, seat)
    assert_unbiased(grad_a.detach(), exact[0], "first derivative, own seat a")
    assert_unbiased(grad_b.detach(), exact[1], "first derivative, seat b")
    assert_unbiased(mixed, exact[2], "mixed second derivative")
    assert_unbiased(own_second, exact[3], "second derivative in a")


def test_dice_value_is_the_mean_discounted_return(ipd, setting):
    *_, params_a, params_b, episodes = setting
    episodes = with_log_probs(episodes, params_a, params_b)
    for seat in (0, 1):
        objective = ipd.dice_objectives(episodes)[seat]
        returns = episodes.discounted_returns(seat)[0].mean(-1)
        torch.testing.assert_close(
            objective.detach(), returns.to(objective.dtype), rtol=1e-5, atol=1e-6
        )


def test_baseline_reduces_the_variance_of_the_gradient(ipd, setting):
    _, _, _, params_a, params_b, episodes = setting
    spreads = []
    for baselines in (
        None,
        tuple(batch_mean_baseline(episodes.discounted_returns(s)) for s in (0, 1)),
    ):
        objective = ipd.dice_objectives(with_log_probs(episodes, params_a, params_b), baselines)[0]
        (grad_a,) = torch.autograd.grad(objective.sum(), params_a)
        spreads.append(grad_a.std(0).mean())
    assert spreads[1] < spreads[0]


def test_magic_box_is_one_with_the_derivative_of_its_argument():
    x = torch.tensor([0.3, -1.2], requires_grad=True)
    boxed = magic_box(x * x)
    assert torch.equal(boxed.detach(), torch.ones(2))
    (gradient,) = torch.autograd.grad(boxed.sum(), x, create_graph=True)
    torch.testing.assert_close(gradient, 2 * x.detach())
    (second,) = torch.autograd.grad(gradient.sum(), x)
    # d/dx [□(x²)·2x] = □(x²)·(2x)² + 2
    torch.testing.assert_close(second, (2 * x.detach()) ** 2 + 2)


def test_dice_objective_needs_some_log_probabilities():
    with pytest.raises(ValueError, match="log-probabilities"):
        dice_objective(torch.zeros(3, 1, 2), None, None, 0.9)


#: few episodes per seed, so that the batch mean's 1 - 1/B shrinkage (0.75) is far outside
#: the sampling error; many seeds, so that the error is small
BASELINE_REPLICATES, BASELINE_EPISODES = 4096, 4


@pytest.fixture(scope="module")
def small_batches(ipd):
    theta_a = torch.randn(1, 5, dtype=torch.float64, generator=generator(30))
    theta_b = torch.randn(1, 5, dtype=torch.float64, generator=generator(31))
    direction = torch.randn(1, 5, dtype=torch.float64, generator=generator(32))
    params_a = theta_a.repeat(BASELINE_REPLICATES, 1).requires_grad_(True)
    params_b = theta_b.repeat(BASELINE_REPLICATES, 1).requires_grad_(True)
    with torch.no_grad():
        episodes = ipd.rollout(
            (TabularPolicy(params_a), TabularPolicy(params_b)),
            seeds=BASELINE_REPLICATES,
            generator=generator(33),
            batch=BASELINE_EPISODES,
            horizon=HORIZON,
        )
    return theta_a, theta_b, direction, params_a, params_b, episodes


def derivative_estimates(ipd, small_batches, baseline, seat):
    """Per-seed DiCE estimates of ∇a V, ∇b V, ∇a (∇b V · v) and ∇a (∇a V · v)."""
    _, _, direction, params_a, params_b, episodes = small_batches
    centred = with_reward_baseline(with_log_probs(episodes, params_a, params_b), baseline)
    objective = ipd.dice_objectives(centred)[seat]
    grad_a, grad_b = torch.autograd.grad(objective.sum(), (params_a, params_b), create_graph=True)
    (mixed,) = torch.autograd.grad((grad_b * direction).sum(), params_a, retain_graph=True)
    (own_second,) = torch.autograd.grad((grad_a * direction).sum(), params_a)
    return grad_a.detach(), grad_b.detach(), mixed, own_second


@pytest.mark.parametrize("seat", [0, 1])
@pytest.mark.parametrize(
    ("baseline", "scale"),
    [("none", 1.0), ("leave_one_out", 1.0), ("batch_mean", 1 - 1 / BASELINE_EPISODES)],
)
def test_every_reward_baseline_gives_its_stated_first_and_second_derivatives(
    ipd, small_batches, baseline, scale, seat
):
    """none and leave-one-out: unbiased in every derivative; the batch mean, which includes the
    episode itself, scales every derivative's expectation by exactly 1 - 1/B."""
    theta_a, theta_b, direction, *_ = small_batches
    exact = exact_terms(ipd, theta_a, theta_b, direction, seat)
    estimates = derivative_estimates(ipd, small_batches, baseline, seat)
    labels = ("∇a V", "∇b V", "∇a (∇b V · v)", "∇a (∇a V · v)")
    for estimate, value, label in zip(estimates, exact, labels, strict=True):
        assert_unbiased(estimate, scale * value, f"{baseline}, seat {seat}: {label}")


def test_the_batch_mean_shrinkage_is_resolved_by_the_sample(ipd, small_batches):
    """The test above can tell 1 - 1/B from 1: the batch mean's first derivative is not
    unbiased for the unscaled exact gradient."""
    theta_a, theta_b, direction, *_ = small_batches
    exact = exact_terms(ipd, theta_a, theta_b, direction, 0)[0]
    estimate = derivative_estimates(ipd, small_batches, "batch_mean", 0)[0]
    standard_error = estimate.std(0) / math.sqrt(estimate.shape[0])
    assert torch.any((estimate.mean(0) - exact).abs() > 4.5 * standard_error)


def test_a_single_episode_per_seed_is_not_centred(setting):
    *_, episodes = setting
    single = replace(
        episodes,
        rewards=tuple(r[..., :1] for r in episodes.rewards),
        observations=tuple(o[..., :1, :] for o in episodes.observations),
        actions=tuple(a[..., :1] for a in episodes.actions),
    )
    for baseline in ("batch_mean", "leave_one_out"):
        assert with_reward_baseline(single, baseline) is single
