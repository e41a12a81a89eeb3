"""MeVa (Cooijmans et al. 2023): the update rule (naive gradient plus the gradient of the
learned correction, checked against finite differences), the TD target against an unrolled
Bellman equation, TD learning shrinking the Bellman residual, the paper's IPD behaviour
(shaping a naive learner, cooperating in self-play), the artifact's round trip, corruption
and version checks, and the coin-game extension."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algorithms.meva import MetaValueTrainer, MeVa, MeVaConfig, correction_gradient
from algorithms.naive import NaiveConfig, NaiveLearner
from shaping.contracts.algorithm import MatchView, Outcome
from shaping.contracts.config import build_config
from shaping.contracts.errors import ConfigError
from shaping.contracts.policies import TabularPolicy
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.match import run_match
from shaping.families.joint_functions import JointNet, JointValueOracle, uniform_box
from shaping.tournament.profile import load_profile
from tests.algorithms.learned_artifacts import (
    configured,
    prepared,
    shared_cache,
)
from tests.conftest import generator

#: The IPD tests use the zoo's configuration (2000 steps, about 13 s per artifact; at 1000 steps
#: 3 of 12 (pretraining seed, seat) runs against a naive learner ended in plain mutual
#: cooperation, reward gap 0.12-0.17, instead of extortion). The behaviour tests average over
#: these pretraining runs: a property of MeVa, not of one initialisation.
PRETRAINING_SEEDS = (0, 1, 2)
#: the slow test's pretraining runs
SLOW_PRETRAINING_SEEDS = tuple(range(4))
COIN_CI = {"steps": 30, "trajectories": 8, "episodes": 4, "horizon": 10}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> ArtifactCache:
    return shared_cache(tmp_path_factory)


def meva_for(registry, game, cache, **overrides) -> MeVa:
    return prepared(configured(registry, "meva", game.name, **overrides), game, cache)


def random_networks(dim: int, seed: int, dtype=torch.float32) -> tuple[JointNet, JointNet]:
    torch.manual_seed(seed)
    return tuple(  # type: ignore[return-value]
        JointNet(dim, dim, 1, (8,), "tanh", 7.0, "tanh", zero_output=False).to(dtype)
        for _ in (0, 1)
    )


# --- the update rule --------------------------------------------------------------------------


def one_update(algorithm, state, ipd, opponent, player: int):
    policies = [algorithm.policy(state), TabularPolicy(opponent)]
    if player == 1:
        policies.reverse()
    outcome = Outcome(ipd, tuple(policies), opponent.shape[0], generator(1))
    return algorithm.update(state, MatchView(outcome, player, 0, reveal_opponent=True))


@pytest.mark.parametrize("player", [0, 1])
def test_untrained_meva_is_a_naive_learner(ipd, player):
    """With U ≡ 0 (the networks' initial state) V̂ = f: MeVa takes the naive learner's step."""
    meva = MeVa(MeVaConfig(lr=0.7))
    untrained = tuple(JointNet(5, 5, 1, (8,), "tanh", 7.0, "tanh") for _ in (0, 1))
    meva.install(meva.artifact(untrained, {}), ipd)
    naive = NaiveLearner(NaiveConfig(lr=0.7))
    state = meva.init(ipd, player, 4, generator(2))
    opponent = torch.randn(4, 5, generator=generator(3))
    expected = one_update(naive, naive.init(ipd, player, 4, generator(2)), ipd, opponent, player)
    torch.testing.assert_close(
        one_update(meva, state, ipd, opponent, player).params, expected.params
    )


@pytest.mark.parametrize("player", [0, 1])
def test_update_adds_the_meta_value_gradient(ipd, player):
    """θ' - θ = α (∇f + ∇U(own, opponent)), U = scale · the player's own network, fed its
    own view."""
    meva = MeVa(MeVaConfig(lr=0.5))
    meva.install(meva.artifact(random_networks(5, 4), {}), ipd)
    state = meva.init(ipd, player, 4, generator(5))
    opponent = torch.randn(4, 5, generator=generator(6))
    own = state.params.clone().requires_grad_(True)
    moved = (own, opponent) if player == 0 else (opponent, own)
    (naive,) = torch.autograd.grad(ipd.exact(*moved)[player].sum(), own)
    network = meva.networks[player]
    correction = correction_gradient(network, state.params, opponent, 1 / (1 - ipd.gamma))
    updated = one_update(meva, state, ipd, opponent, player).params
    torch.testing.assert_close(updated, state.params + 0.5 * (naive + correction))


def test_meta_value_gradient_matches_finite_differences():
    network = random_networks(5, 7, torch.float64)[0]
    own, opponent = (uniform_box(3, 5, 4.0, generator(s), torch.float64) for s in (8, 9))
    gradient = correction_gradient(network, own, opponent, scale=25.0)
    step = 1e-6
    numeric = torch.zeros_like(own)
    for index in range(5):
        shift = torch.zeros_like(own)
        shift[:, index] = step
        numeric[:, index] = (
            25.0 * (network(own + shift, opponent) - network(own - shift, opponent)).squeeze(-1)
        ) / (2 * step)
    torch.testing.assert_close(gradient, numeric, rtol=1e-6, atol=1e-8)


# --- temporal-difference learning -------------------------------------------------------------


def test_td_target_unrolls_the_bellman_equation(ipd):
    """Target of U_i(x) with n = 3 steps: (1-γ)Σ_{k<3} γ^k f_i(x_k) + γ³(f_i(x_3) +
    Ū_i(x_3)) - f_i(x), each x_k one noise-free step of MeVa seats (α(∇f + ∇Ū)) and
    naive seats (naive_lr ∇f), recomputed here by plain autograd."""
    config = MeVaConfig(lr=0.5, naive_lr=0.8, meta_gamma=0.8, target_steps=3)
    oracle = JointValueOracle(ipd, ipd.compact_family(), generator(10))
    trainer = MetaValueTrainer(oracle, 5, config, generator(11))
    trainer.targets = random_networks(5, 12)
    scale = 1 / (1 - ipd.gamma)
    joint = tuple(torch.randn(3, 5, generator=generator(s)) for s in (13, 14))
    follows = torch.tensor([[True, True], [True, False], [False, True]])
    values, gradients = oracle.values_and_gradients(*joint)
    targets = trainer.td_targets(joint, values, gradients, follows)

    def u(seat, first, second):
        own, other = (first, second) if seat == 0 else (second, first)
        return scale * trainer.targets[seat](own, other).squeeze(-1)

    def step(first, second):
        leaves = [first.clone().requires_grad_(True), second.clone().requires_grad_(True)]
        moved = []
        for seat in (0, 1):
            (naive,) = torch.autograd.grad(ipd.exact(*leaves)[seat].sum(), leaves[seat])
            (shaping,) = torch.autograd.grad(u(seat, *leaves).sum(), leaves[seat])
            meva_step = 0.5 * (naive + shaping)
            moved.append(
                leaves[seat] + torch.where(follows[:, seat : seat + 1], meva_step, 0.8 * naive)
            )
        return moved[0].detach(), moved[1].detach()

    x, gamma = joint, 0.8
    total = [(1 - gamma) * v for v in ipd.exact(*x)]
    for k in (1, 2, 3):
        x = step(*x)
        weight = (1 - gamma) * gamma**k if k < 3 else gamma**k
        total = [t + weight * v for t, v in zip(total, ipd.exact(*x), strict=True)]
    for seat in (0, 1):
        expected = total[seat] + gamma**3 * u(seat, *x).detach() - ipd.exact(*joint)[seat]
        torch.testing.assert_close(targets[seat], expected, rtol=1e-4, atol=1e-4)


def meta_value_errors(
    meva: MeVa, game, seed: int, runs: int = 256, replicates: int = 1
) -> tuple[float, float]:
    """How well the loaded meta-value predicts the discounted future values along the runs it
    induces: on states a few steps into fresh runs, the mean squared error (in units of f)
    of V̂ = f + U, and of f alone (U ≡ 0), against the Monte-Carlo meta-value
    (1-γ) Σ_k γ^k f(x_k) of 80 noise-free steps of the learned dynamics (γ^80 ≈ 2e-4).
    With sampled values, each state's f and Monte-Carlo value are means over `replicates`
    independent runs from it, so that sampling noise does not swamp the comparison."""
    config = meva.config
    family = game.compact_family()
    oracle = JointValueOracle(game, family, generator(seed), config.episodes, config.horizon)
    trainer = MetaValueTrainer(oracle, family.dim, config, generator(seed + 1))
    joint, follows = trainer.restart(runs)
    for _ in range(5):
        gradients = oracle.values_and_gradients(*joint)[1]
        joint = trainer.next_iterates(meva.networks, joint, gradients, follows)
    with torch.no_grad():
        corrections = trainer.corrections(meva.networks, *joint)
    joint = tuple(x.repeat_interleave(replicates, 0) for x in joint)
    replicated = follows.repeat_interleave(replicates, 0)

    def per_state(values: torch.Tensor) -> torch.Tensor:
        return values.reshape(runs, replicates).mean(1)

    gamma, discounted, current = config.meta_gamma, [0.0, 0.0], joint
    for k in range(80):
        current_values, current_gradients = oracle.values_and_gradients(*current)
        if k == 0:
            values = [per_state(v) for v in current_values]
        discounted = [
            d + (1 - gamma) * gamma**k * v for d, v in zip(discounted, current_values, strict=True)
        ]
        current = trainer.next_iterates(meva.networks, current, current_gradients, replicated)
    discounted = [per_state(d) for d in discounted]
    predicted = [v + u for v, u in zip(values, corrections, strict=True)]
    errors = []
    for estimate in (predicted, values):
        squared = [
            ((estimate[s] - discounted[s]) / trainer.scale).square()[follows[:, s]] for s in (0, 1)
        ]
        errors.append(float(torch.cat(squared).mean()))
    return errors[0], errors[1]


def test_meta_value_predicts_the_discounted_future_values(registry, ipd, cache):
    learned, myopic = meta_value_errors(meva_for(registry, ipd, cache), ipd, 15)
    assert learned < 0.5 * myopic


# --- the paper's IPD behaviour ----------------------------------------------------------------


def meva_runs(registry, ipd, cache) -> list[MeVa]:
    """MeVa with the zoo's IPD configuration, one per pretraining seed in PRETRAINING_SEEDS."""
    return [meva_for(registry, ipd, cache, seed=seed) for seed in PRETRAINING_SEEDS]


@pytest.mark.parametrize("seat", [0, 1])
def test_meva_shapes_a_naive_learner_in_the_ipd(registry, ipd, cache, seat):
    """MeVa vs a naive learner (the paper: MeVa extorts naive learners): the naive learner is
    led to cooperate (naive learners alone defect), and MeVa's reward is far above mutual
    defection (-2) and clearly above the naive learner's, seed by seed, over three pretraining
    runs. Measured for pretraining seeds 0-7 one by one: reward gap 0.37-1.44, MeVa ahead in
    83-100% of the seeds, the naive learner's cooperation 0.70-0.96."""
    finals, cooperation = [], []
    for learner in meva_runs(registry, ipd, cache):
        players = [learner, registry.algorithm("naive").build("ipd")]
        if seat == 1:
            players.reverse()
        result = run_match(ipd, tuple(players), seeds=64, iterations=200, artifacts=cache)
        finals.append(result.rewards[-1])
        cooperation.append(result.metrics["cooperation"][-1][:, 1 - seat].mean())
    final = np.concatenate(finals)
    meva, naive = final[:, seat], final[:, 1 - seat]
    assert meva.mean() > -1.5
    assert (meva - naive).mean() > 0.2
    assert (meva > naive).mean() > 0.8
    assert np.mean(cooperation) > 0.7, cooperation


def test_meva_self_play_cooperates_in_the_ipd(registry, ipd, cache):
    """MeVa vs MeVa is cooperative (the paper), over three pretraining runs. Measured for
    pretraining seeds 0-7 one by one: mean reward -1.06 to -1.21, the worse seat's -1.09 to
    -1.33, cooperation 0.79-0.94 (seeds 0 and 2 are the two least cooperative of the eight)."""
    finals, cooperation = [], []
    seats = (meva_runs(registry, ipd, cache), meva_runs(registry, ipd, cache))
    for players in zip(*seats, strict=True):
        result = run_match(ipd, players, seeds=64, iterations=200, artifacts=cache)
        finals.append(result.rewards[-1])
        cooperation.append(result.metrics["cooperation"][-1].mean())
    final = np.concatenate(finals).mean(0)
    assert final.mean() > -1.25 and final.min() > -1.3, final
    assert np.mean(cooperation) > 0.8, cooperation


@pytest.mark.slow
def test_full_profile_extorts_naive_learners_and_cooperates_with_itself(registry, ipd, cache):
    """The `full` profile's IPD configuration (10,000 pretraining steps instead of 2000), four
    pretraining runs: in every run the meta-value is far more accurate than f alone and MeVa
    extorts a naive learner by a wide margin; on average it cooperates with itself. Measured:
    error ratio (horizon 21) 0.20, 0.13, 0.07, 0.10; reward gap 1.53, 1.36, 1.26, 1.40;
    self-play -1.11, -1.10, -1.10, -1.13. At the zoo's 2000 steps the error ratio ranged
    0.16-0.45 over eight runs, so one run's 0.25 there was luck of the initialisation."""
    longer = load_profile("full", registry).override("meva", "ipd")
    errors, gaps, self_play = [], [], []
    for seed in SLOW_PRETRAINING_SEEDS:
        meva = meva_for(registry, ipd, cache, **longer, seed=seed)
        learned, myopic = meta_value_errors(meva, ipd, 21)
        errors.append(learned / myopic)
        naive = registry.algorithm("naive").build("ipd")
        final = run_match(ipd, (meva, naive), seeds=64, iterations=200, artifacts=cache)
        gaps.append(float((final.rewards[-1][:, 0] - final.rewards[-1][:, 1]).mean()))
        itself = (meva, meva_for(registry, ipd, cache, **longer, seed=seed))
        self_play.append(float(run_match(ipd, itself, seeds=64, iterations=200).rewards[-1].mean()))
    assert max(errors) < 0.25, errors
    assert min(gaps) > 0.5, gaps
    assert np.mean(self_play) > -1.2, self_play


# --- the artifact -----------------------------------------------------------------------------


def test_bad_configuration_names_the_field():
    with pytest.raises(ConfigError, match=r"meva: naive_share: must be in \[0, 1\]"):
        build_config(MeVaConfig, {"naive_share": 1.5}, "meva")
    with pytest.raises(ConfigError, match=r"meva\.meta_gamma: must be in \[0\.0, 1\.0\)"):
        build_config(MeVaConfig, {"meta_gamma": 1.0}, "meva")


# --- the coin-game extension --------------------------------------------------------------------


def test_coin_game_is_marked_as_an_extension(registry):
    assert "coin_game" in registry.algorithm("meva").extensions


def test_coin_game_match_against_a_network_learner(registry, coin_game, cache):
    """MeVa plays the compact coin-chasing family; a naive network learner is projected onto
    it by behaviour cloning; the match runs and MeVa's parameters stay two weights."""
    meva = meva_for(registry, coin_game, cache, **COIN_CI)
    assert meva.init(coin_game, 1, 2, generator(17)).params.shape == (2, 2)
    naive = registry.algorithm("naive").build("coin_game")
    result = run_match(coin_game, (naive, meva), seeds=2, iterations=3, artifacts=cache)
    assert result.evaluation == "sampled"
    assert np.isfinite(result.rewards).all()


@pytest.mark.slow
def test_coin_game_meta_value_stays_calibrated(registry, coin_game, cache):
    """The zoo's coin-game artifact (sampled values): the learned correction keeps V̂ as good
    a predictor of the Monte-Carlo meta-value as the myopic f (measured 0.93x its error), so a
    diverging or sign-flipped TD update is caught. Within the budget it does not predict
    measurably better: sampling noise dominates the targets (see the report)."""
    meva = meva_for(registry, coin_game, cache)
    learned, myopic = meta_value_errors(meva, coin_game, 18, runs=32, replicates=8)
    assert learned < 1.2 * myopic
