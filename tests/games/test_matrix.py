"""Iterated matrix games: exact values against hand-computed cases, brute-force sampling and
finite differences; the own-view remapping of player 2; configuration errors."""

from __future__ import annotations

import math

import pytest
import torch

from games.matrix import FIXED_LOGITS, IteratedMatrixGame, MatrixGameConfig
from shaping.contracts.config import build_config
from shaping.contracts.errors import ConfigError
from shaping.contracts.policies import TabularPolicy
from tests.conftest import generator

GAMMA = 0.96


def fixed(name: str, seeds: int = 1) -> torch.Tensor:
    return torch.tensor(FIXED_LOGITS[name]).expand(seeds, -1)


def per_step(game, a: str, b: str) -> tuple[float, float]:
    values = game.exact(fixed(a), fixed(b))
    return tuple(float(game.reward_per_step(v)[0]) for v in values)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # every step mutual cooperation / defection
        ("always_cooperate", "always_cooperate", (-1.0, -1.0)),
        ("always_defect", "always_defect", (-2.0, -2.0)),
        ("always_cooperate", "always_defect", (-3.0, 0.0)),
        ("tit_for_tat", "tit_for_tat", (-1.0, -1.0)),
        # TFT is exploited once, then both defect: (1-γ)(-3) + γ(-2) and (1-γ)·0 + γ(-2)
        ("tit_for_tat", "always_defect", ((1 - GAMMA) * -3 + GAMMA * -2, GAMMA * -2)),
        # uniformly random play: the average of the four payoffs
        ("random", "random", (-1.5, -1.5)),
        # TFT copies the always-cooperator: mutual cooperation
        ("tit_for_tat", "always_cooperate", (-1.0, -1.0)),
    ],
)
def test_ipd_fixed_strategies_have_their_known_values(ipd, a, b, expected):
    got = per_step(ipd, a, b)
    assert got == pytest.approx(expected, abs=1e-5)
    # the same pair in the other seats gives the swapped values (own-view policies)
    assert per_step(ipd, b, a) == pytest.approx(expected[::-1], abs=1e-5)


def test_tit_for_tat_alternates_against_its_mirror_image(ipd):
    """TFT against "suspicious" TFT (defects first) alternates CD, DC, ...: the row player's
    rewards are -3, 0, -3, 0, ... so its value is -3 / (1 - γ²)."""
    suspicious = torch.tensor([[-math.inf, math.inf, -math.inf, math.inf, -math.inf]])
    values = ipd.exact(fixed("tit_for_tat"), suspicious)
    assert float(values[0]) == pytest.approx(-3 / (1 - GAMMA**2), rel=1e-5)
    assert float(values[1]) == pytest.approx(-3 * GAMMA / (1 - GAMMA**2), rel=1e-5)


def test_own_view_remap_makes_the_symmetric_game_symmetric(ipd):
    """V1(θa, θb) = V2(θb, θa) for every pair: fails if player 2's CD/DC are not swapped."""
    params_a = torch.randn(256, 5, generator=generator(1))
    params_b = torch.randn(256, 5, generator=generator(2))
    v1_ab, v2_ab = ipd.exact(params_a, params_b)
    v1_ba, v2_ba = ipd.exact(params_b, params_a)
    torch.testing.assert_close(v1_ab, v2_ba, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(v2_ab, v1_ba, rtol=1e-4, atol=1e-4)


def test_player_two_policy_is_read_in_its_own_view(ipd):
    """Player 2 cooperates at the start and after own-view CD (it cooperated, the other
    defected), and defects otherwise. Against always-defect it sees CD every round and so
    cooperates forever; reading the state in player 1's view (DC) would make it defect."""
    only_after_cd = torch.tensor([[math.inf, -math.inf, math.inf, -math.inf, -math.inf]])
    values = ipd.exact(fixed("always_defect"), only_after_cd)
    # player 2 cooperates forever (CD in its view every round): row player gets 0, it gets -3
    assert float(ipd.reward_per_step(values[0])[0]) == pytest.approx(0.0, abs=1e-5)
    assert float(ipd.reward_per_step(values[1])[0]) == pytest.approx(-3.0, abs=1e-5)


def test_sampled_observations_are_in_each_players_own_view(ipd):
    policies = (ipd.fixed_policy("always_defect", 1), ipd.fixed_policy("always_cooperate", 1))
    episodes = ipd.rollout(policies, seeds=1, generator=generator(), batch=3, horizon=4)
    # index 0 is s0; then the joint action (D, C): row sees DC (3), column sees CD (2)
    assert episodes.observations[0][1:].unique().tolist() == [3]
    assert episodes.observations[1][1:].unique().tolist() == [2]
    assert episodes.rewards[0].unique().tolist() == [0.0]
    assert episodes.rewards[1].unique().tolist() == [-3.0]


@pytest.mark.parametrize("horizon", [6, 40])
def test_exact_values_match_brute_force_sampled_returns(ipd, horizon):
    """Mean discounted return of 16384 sampled episodes per seed vs the exact finite-horizon
    value, within 5 standard errors, for random memory-one policies. (One step more or less
    shifts the value by γ^T·|r| ≈ 0.2-1.5, many standard errors.)"""
    seeds, episodes_per_seed = 4, 16384
    params_a = torch.randn(seeds, 5, generator=generator(3))
    params_b = torch.randn(seeds, 5, generator=generator(4))
    episodes = ipd.rollout(
        (TabularPolicy(params_a), TabularPolicy(params_b)),
        seeds=seeds,
        generator=generator(5),
        batch=episodes_per_seed,
        horizon=horizon,
    )
    exact = ipd.exact(params_a, params_b, horizon=horizon)
    for seat in (0, 1):
        returns = episodes.discounted_returns(seat)[0]  # [S, B]
        mean = returns.mean(-1)
        standard_error = returns.std(-1) / math.sqrt(episodes_per_seed)
        assert torch.all((mean - exact[seat]).abs() < 5 * standard_error), (mean, exact[seat])


def test_infinite_horizon_value_is_the_limit_of_finite_horizons(ipd):
    params_a = torch.randn(8, 5, generator=generator(6), dtype=torch.float64)
    params_b = torch.randn(8, 5, generator=generator(7), dtype=torch.float64)
    infinite = ipd.exact(params_a, params_b)
    finite = ipd.exact(params_a, params_b, horizon=800)
    # the tail beyond 800 steps is at most γ^800 · 3 / (1 - γ) < 1e-12
    for seat in (0, 1):
        torch.testing.assert_close(infinite[seat], finite[seat], rtol=0, atol=1e-9)


def test_exact_gradients_match_finite_differences(ipd):
    torch.manual_seed(0)
    params_a = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    params_b = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    for seat in (0, 1):
        value = ipd.exact(params_a, params_b)[seat]
        grad_a, grad_b = torch.autograd.grad(value.sum(), (params_a, params_b))
        step = 1e-6
        for index in range(5):
            shift = torch.zeros(3, 5, dtype=torch.float64)
            shift[:, index] = step
            numeric_a = (
                ipd.exact(params_a + shift, params_b)[seat]
                - ipd.exact(params_a - shift, params_b)[seat]
            ) / (2 * step)
            numeric_b = (
                ipd.exact(params_a, params_b + shift)[seat]
                - ipd.exact(params_a, params_b - shift)[seat]
            ) / (2 * step)
            torch.testing.assert_close(grad_a[:, index], numeric_a, rtol=1e-6, atol=1e-7)
            torch.testing.assert_close(grad_b[:, index], numeric_b, rtol=1e-6, atol=1e-7)


def test_second_derivatives_exist_and_are_symmetric(ipd):
    """Mixed partials ∂²V/∂θa∂θb are equal in either order (needed by LOLA's shaping term)."""
    params_a = torch.randn(1, 5, dtype=torch.float64, generator=generator(8))
    params_b = torch.randn(1, 5, dtype=torch.float64, generator=generator(9))
    hessian = torch.autograd.functional.hessian(
        lambda a, b: ipd.exact(a, b)[1].sum(), (params_a, params_b)
    )
    mixed_ab = hessian[0][1].reshape(5, 5)
    mixed_ba = hessian[1][0].reshape(5, 5)
    torch.testing.assert_close(mixed_ab, mixed_ba.T, rtol=1e-8, atol=1e-10)
    assert mixed_ab.abs().max() > 1e-3


def test_matching_pennies_is_zero_sum_with_value_zero_at_the_mixed_equilibrium(matching_pennies):
    params_a = torch.randn(64, 5, generator=generator(10))
    params_b = torch.randn(64, 5, generator=generator(11))
    first, second = matching_pennies.exact(params_a, params_b)
    torch.testing.assert_close(first, -second)
    uniform = torch.zeros(1, 5)
    assert float(matching_pennies.exact(uniform, params_b[:1])[0][0]) == pytest.approx(0, abs=1e-6)


def test_cooperation_metric_is_the_discounted_share_of_action_zero(ipd):
    metrics = ipd.exact_metrics(fixed("tit_for_tat"), fixed("always_defect"))["cooperation"]
    # TFT cooperates in the first round only: (1 - γ) of the discounted time
    assert float(metrics[0][0]) == pytest.approx(1 - GAMMA, abs=1e-6)
    assert float(metrics[1][0]) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("payoffs", "fragment"),
    [
        ([[1, 2], [3, 4]], "payoffs"),
        ([[[1, 1], [1, 1]]], "payoffs"),
        ([[[1, 1], [1, 1]], [[1, 1], [1, "x"]]], "payoffs[1][1][1]"),
    ],
)
def test_malformed_payoffs_are_rejected_naming_the_field(payoffs, fragment):
    with pytest.raises(ConfigError) as error:
        build_config(MatrixGameConfig, {"payoffs": payoffs}, "games.yaml: ipd.config")
    assert fragment in str(error.value)
    assert "games.yaml" in str(error.value)
    assert "\n" not in str(error.value)


def test_discount_outside_unit_interval_is_rejected():
    with pytest.raises(ConfigError, match=r"ipd.config.gamma: must be in \[0.0, 1.0\)"):
        build_config(
            MatrixGameConfig,
            {"payoffs": [[[1, 1], [1, 1]], [[1, 1], [1, 1]]], "gamma": 1.0},
            "ipd.config",
        )


def test_game_works_in_double_precision():
    config = MatrixGameConfig(payoffs=[[[-1, -1], [-3, 0]], [[0, -3], [-2, -2]]])
    game = IteratedMatrixGame("ipd", config)
    value = game.exact(
        torch.zeros(1, 5, dtype=torch.float64), torch.zeros(1, 5, dtype=torch.float64)
    )
    assert value[0].dtype == torch.float64


def test_closed_form_analysis_matches_autograd_to_second_order(ipd):
    """The matrix game's closed-form gradients equal the generic autograd ones, and their own
    derivatives (what LOLA differentiates) equal autograd's second derivatives."""
    from shaping.contracts.game import Game

    params_a = torch.randn(6, 5, dtype=torch.float64, generator=generator(30)).requires_grad_(True)
    params_b = torch.randn(6, 5, dtype=torch.float64, generator=generator(31)).requires_grad_(True)
    closed = ipd.exact_analysis(params_a, params_b)
    generic = Game.exact_analysis(ipd, params_a, params_b)
    direction = torch.randn(6, 5, dtype=torch.float64, generator=generator(32))
    for k in (0, 1):
        torch.testing.assert_close(closed.values[k], generic.values[k])
        for seat in (0, 1):
            torch.testing.assert_close(closed.gradients[k][seat], generic.gradients[k][seat])
            mixed = [
                torch.autograd.grad((g[k][seat] * direction).sum(), params_a, retain_graph=True)[0]
                for g in (closed.gradients, generic.gradients)
            ]
            torch.testing.assert_close(mixed[0], mixed[1])
    for name in ("cooperation",):
        for seat in (0, 1):
            torch.testing.assert_close(closed.metrics[name][seat], generic.metrics[name][seat])
