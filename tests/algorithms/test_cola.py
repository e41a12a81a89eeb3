"""COLA (Willi et al. 2022): the consistency losses against their definition, learned update
functions orders of magnitude more consistent than LOLA's (the paper's tandem-game figure),
COLA self-play cooperating on the IPD and approaching the mixed equilibrium of matching
pennies, gradients against finite differences, the artifact's round trip, corruption and
version checks, and the coin-game extension."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import torch

from algorithms.cola import (
    COLA,
    COLAConfig,
    consistency_losses,
    held_out_consistency,
    network_updates,
    train_update_functions,
)
from shaping.contracts.algorithm import TrainingContext
from shaping.contracts.config import build_config
from shaping.contracts.errors import ConfigError
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.match import run_match
from shaping.engine.training_monitor import TrainingMonitor
from shaping.families.joint_functions import JointNet, JointValueOracle, uniform_box
from shaping.families.shaping_learner import lookahead_gradient, opponent_after_steps
from tests.algorithms.learned_artifacts import (
    configured,
    prepared,
    shared_cache,
    tiny,
)
from tests.conftest import generator

#: CI-scale pretraining (the zoo defaults and the paper's values are in zoo_configs/)
IPD_CI = {"steps": 800}
PENNIES_CI = {"steps": 800}
TANDEM_CI = COLAConfig(
    lookahead_rate=1.0, region=1.0, hidden=(8,), activation="relu", batch=64, steps=1000, lr=0.03
)


def tandem(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The tandem game (Letcher et al. 2019), values V = -L: L_1 = (x+y)² - 2x,
    L_2 = (x+y)² - 2y, with one parameter per player ([N, 1])."""
    total = (x + y).sum(-1)
    return -total * total + 2 * x.sum(-1), -total * total + 2 * y.sum(-1)


def seat_view(values, seat: int):
    """(own, opponent) -> (V_own, V_opponent) for `seat`, from seat-ordered values."""
    if seat == 0:
        return values
    return lambda own, opponent: values(opponent, own)[::-1]


def lola_updates(values, rate: float):
    """LOLA's update functions for both seats through shaping/families/shaping_learner.py,
    h_i = α ∇_i V_i(θ_i, θ_j + α ∇_j V_j(θ)), differentiable in both players' parameters."""

    def updates(first, second):
        steps = []
        for seat, (own, opponent) in enumerate(((first, second), (second, first))):
            view = seat_view(values, seat)
            future = opponent_after_steps(view, own, opponent, rate, 1)
            (gradient,) = torch.autograd.grad(view(own, future)[0].sum(), own, create_graph=True)
            steps.append(rate * gradient)
        return tuple(steps)

    return updates


def quiet_log() -> TrainingMonitor:
    return TrainingMonitor(TrainingContext(), total=1, label="test", stream=io.StringIO())


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> ArtifactCache:
    return shared_cache(tmp_path_factory)


# --- the consistency losses -------------------------------------------------------------------


def test_consistency_losses_follow_the_definition_on_the_tandem_game():
    """For linear updates h_i = c_i + k_i s (s = x + y) the target of h_1 is
    α(2 - 2(1 + k_2)((1 + k_2)s + c_2)): the total derivative runs through h_2."""
    rate, (c1, k1, c2, k2) = 0.7, (0.3, -0.4, -1.1, 0.25)
    x, y = (uniform_box(32, 1, 2.0, generator(seed), torch.float64) for seed in (1, 2))

    def linear(first, second):
        total = first + second
        return c1 + k1 * total, c2 + k2 * total

    losses = consistency_losses(tandem, linear, rate, x, y)
    total = (x + y).squeeze(-1)
    target_1 = rate * (2 - 2 * (1 + k2) * ((1 + k2) * total + c2))
    target_2 = rate * (2 - 2 * (1 + k1) * ((1 + k1) * total + c1))
    torch.testing.assert_close(losses[0], (c1 + k1 * total - target_1) ** 2)
    torch.testing.assert_close(losses[1], (c2 + k2 * total - target_2) ** 2)


def test_tandem_figures_in_closed_form():
    """At α = 1, h = 1 - s/2 for both players is consistent (loss 0), while LOLA's
    h = 6 - 2s misses its target by 8 for each player: loss 128 (the paper's LOLA ≈ 1e2)."""
    x, y = (uniform_box(64, 1, 1.0, generator(seed), torch.float64) for seed in (3, 4))
    consistent = consistency_losses(
        tandem, lambda a, b: (1 - (a + b) / 2, 1 - (a + b) / 2), 1.0, x, y
    )
    assert float(torch.stack(consistent).abs().max()) < 1e-24
    lola = consistency_losses(tandem, lola_updates(tandem, 1.0), 1.0, x, y)
    torch.testing.assert_close(lola[0] + lola[1], torch.full((64,), 128.0, dtype=torch.float64))


def test_lola_updates_here_are_the_look_ahead_gradients_of_shaping_lookahead(ipd):
    first, second = (uniform_box(8, 5, 3.0, generator(seed), torch.float64) for seed in (5, 6))
    with torch.enable_grad():
        mine = lola_updates(ipd.exact, 1.0)(
            first.clone().requires_grad_(True), second.clone().requires_grad_(True)
        )
    torch.testing.assert_close(mine[0], lookahead_gradient(ipd.exact, first, second, 1.0, 1))


def test_sampled_consistency_loss_is_unbiased(ipd):
    """The DiCE path (two independent residuals, leave-one-out reward baselines) estimates
    the exact loss without bias: over many replicate evaluations of one θ, the mean matches
    the exact loss of the same finite-horizon game, while the squared norm of a single
    residual overestimates it by the estimator's variance."""
    torch.manual_seed(1)
    oracle = JointValueOracle(
        ipd, ipd.compact_family(), generator(7), episodes=16, horizon=60, force_sampled=True
    )
    networks = tuple(
        JointNet(5, 5, 5, (8,), "tanh", 7.0, "clamp", zero_output=False) for _ in (0, 1)
    )
    updates = network_updates(networks)
    first, second = (uniform_box(1, 5, 1.0, generator(seed)) for seed in (8, 9))
    replicates = 192
    first, second = first.expand(replicates, -1), second.expand(replicates, -1)
    exact = consistency_losses(
        lambda a, b: ipd.exact(a, b, horizon=60), updates, 1.0, first[:1], second[:1]
    )
    paired = consistency_losses(oracle.values, updates, 1.0, first, second, sampled=True)
    single = consistency_losses(oracle.values, updates, 1.0, first, second, sampled=False)
    for exact_loss, estimates, squared in zip(exact, paired, single, strict=True):
        error = float(estimates.std()) / replicates**0.5
        assert abs(float(estimates.mean() - exact_loss)) < 4 * error
        assert float(squared.mean() - exact_loss) > 4 * float(squared.std()) / replicates**0.5


# --- gradients against finite differences -----------------------------------------------------


def test_learned_function_and_training_gradients_match_finite_differences(ipd):
    """The update function's Jacobian in θ (inside the total derivative) and the loss's
    gradient in the networks' weights (through second-order exact values), both by
    torch.autograd.gradcheck's central differences, in float64."""
    torch.manual_seed(0)
    networks = tuple(
        JointNet(5, 5, 5, (6,), "tanh", 7.0, "clamp", zero_output=False).double() for _ in (0, 1)
    )
    first, second = (uniform_box(3, 5, 4.0, generator(seed), torch.float64) for seed in (10, 11))
    assert torch.autograd.gradcheck(
        lambda a, b: networks[0](a, b), (first.requires_grad_(True), second.requires_grad_(True))
    )
    names = [name for name, _ in networks[1].named_parameters()]
    weights = tuple(p.detach().clone().requires_grad_(True) for p in networks[1].parameters())

    def loss(*flat):
        functional = dict(zip(names, flat, strict=True))

        def updates(a, b):
            other = torch.func.functional_call(networks[1], functional, (b, a))
            return networks[0](a, b), other

        losses = consistency_losses(ipd.exact, updates, 1.0, first, second, create_graph=True)
        return (losses[0] + losses[1]).sum()

    assert torch.autograd.gradcheck(loss, weights, eps=1e-6, atol=1e-5)


# --- learned update functions -----------------------------------------------------------------


def test_cola_is_orders_of_magnitude_more_consistent_than_lola_on_the_tandem_game():
    """The paper's tandem figure at α = 1: LOLA ≈ 1e2, COLA orders of magnitude below."""
    _, metrics = train_update_functions(
        tandem, (1, 1), TANDEM_CI, generator(12), quiet_log(), dtype=torch.float64
    )
    lola = held_out_consistency(
        tandem, lola_updates(tandem, 1.0), TANDEM_CI, (1, 1), generator(13), dtype=torch.float64
    )
    assert lola == pytest.approx(128.0)
    assert metrics["held_out_consistency_loss"] < 1e-5 * lola  # measured ~1e-4: 6 orders


@pytest.mark.slow
def test_cola_reaches_the_papers_tandem_consistency():
    """Paper scale: the paper reports COLA ≈ 1e-13 at α = 1 on the tandem game, LOLA ≈ 1e2.
    After 20k steps training seed 0 reaches 3.4e-13. The figure depends on the seed: seed 14
    stopped at 3.9e-9 (README), still ten orders of magnitude below LOLA's 128."""
    config = dataclasses.replace(TANDEM_CI, steps=20000)
    _, metrics = train_update_functions(
        tandem, (1, 1), config, generator(0), quiet_log(), dtype=torch.float64
    )
    assert metrics["held_out_consistency_loss"] < 1e-11


def cola_for(registry, game, cache, **overrides) -> COLA:
    return prepared(configured(registry, "cola", game.name, **overrides), game, cache)


def test_cola_self_play_cooperates_in_the_ipd(registry, ipd, cache):
    """The paper's IPD at α = 1: COLA vs COLA is cooperative (near the -1 of mutual
    cooperation), unlike naive learners (-2)."""
    result = run_match(
        ipd,
        (cola_for(registry, ipd, cache, **IPD_CI), cola_for(registry, ipd, cache, **IPD_CI)),
        seeds=64,
        iterations=200,
        artifacts=cache,
    )
    final = result.rewards[-1].mean(0)
    assert final.min() > -1.1
    assert result.metrics["cooperation"][-1].mean() > 0.9


def test_cola_is_more_consistent_than_lola_in_the_ipd(registry, ipd, cache):
    cola = cola_for(registry, ipd, cache, **IPD_CI)
    config = cola.config
    lola = held_out_consistency(
        ipd.exact, lola_updates(ipd.exact, config.lookahead_rate), config, (5, 5), generator(15)
    )
    mine = held_out_consistency(ipd.exact, cola.update_functions(), config, (5, 5), generator(15))
    assert mine < lola / 5


def test_cola_approaches_the_mixed_equilibrium_of_matching_pennies(
    registry, matching_pennies, cache
):
    cola = cola_for(registry, matching_pennies, cache, **PENNIES_CI)
    updates = cola.update_functions()
    first, second = (torch.randn(64, 5, generator=generator(seed)) for seed in (16, 17))
    start = torch.stack((first, second)).sigmoid().sub(0.5).abs().mean()
    with torch.no_grad():
        for _ in range(200):
            steps = updates(first, second)
            first, second = first + steps[0], second + steps[1]
    distance = torch.stack((first, second)).sigmoid().sub(0.5).abs()
    assert distance.mean() < 0.03 and start > 0.05
    assert distance.max() < 0.1


# --- the artifact -----------------------------------------------------------------------------


def test_playing_without_an_artifact_is_refused(registry, ipd):
    with pytest.raises(Exception, match="cola has no artifact installed for ipd: call prepare"):
        tiny(registry, "cola", "ipd").init(ipd, 0, 2, generator())


def test_bad_configuration_names_the_field():
    with pytest.raises(ConfigError, match=r"cola\.lookahead_rate: must be > 0"):
        build_config(COLAConfig, {"lookahead_rate": -1.0}, "cola")
    with pytest.raises(ConfigError, match="activation"):
        build_config(COLAConfig, {"activation": "sine"}, "cola")


# --- the coin-game extension --------------------------------------------------------------------

COIN_CI = {"steps": 80, "batch": 8, "episodes": 4, "horizon": 12, "evaluation_samples": 96}


def test_coin_game_is_marked_as_an_extension(registry):
    assert "coin_game" in registry.algorithm("cola").extensions


def coin_consistency(cola: COLA, coin_game, seed: int) -> tuple[float, float]:
    """Held-out (unbiased, DiCE) consistency loss of the loaded pair, and that of h ≡ 0
    (which is ‖α∇V‖², the naive gradient's size), on the same fresh joint parameters."""
    config = cola.config
    losses = []
    for updates in (cola.update_functions(), lambda a, b: (0 * a, 0 * b)):
        oracle = JointValueOracle(
            coin_game, coin_game.compact_family(), generator(seed), config.episodes, config.horizon
        )
        losses.append(
            held_out_consistency(
                oracle.values, updates, config, (2, 2), generator(seed + 1), sampled=True
            )
        )
    return losses[0], losses[1]


def test_coin_game_update_functions_become_more_consistent(registry, coin_game, cache):
    """In the compact coin-chasing family, with DiCE values: the trained pair's held-out
    consistency loss is well below that of h ≡ 0."""
    trained, untrained = coin_consistency(
        cola_for(registry, coin_game, cache, **COIN_CI), coin_game, 18
    )
    assert trained < 0.6 * untrained


@pytest.mark.slow
def test_coin_game_zoo_artifact_is_consistent(registry, coin_game, cache):
    trained, untrained = coin_consistency(cola_for(registry, coin_game, cache), coin_game, 21)
    assert trained < 0.4 * untrained


def test_coin_game_match_against_a_network_learner(registry, coin_game, cache):
    """COLA plays the compact family; a naive network learner is projected onto it by
    behaviour cloning; the match runs and COLA's parameters stay two coin-chasing weights."""
    cola = cola_for(registry, coin_game, cache, **COIN_CI)
    naive = registry.algorithm("naive").build("coin_game")
    state = cola.init(coin_game, 0, 2, generator(20))
    assert state.params.shape == (2, 2)
    result = run_match(coin_game, (cola, naive), seeds=2, iterations=3, artifacts=cache)
    assert result.evaluation == "sampled"
    assert np.isfinite(result.rewards).all()
