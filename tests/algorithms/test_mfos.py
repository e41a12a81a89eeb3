"""M-FOS: the meta-game's bookkeeping against independent computations, in-context adaptation
in matches, cached artifacts, and (slow) the paper's results: extortion of naive learners and
cooperation in meta-self-play on the IPD, winning matching pennies, out-collecting a naive
learner on the coin game."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from algorithms.mfos import (
    MFOS,
    ConditionedMetaLearner,
    MFOSConfig,
    ParameterMetaLearner,
)
from shaping.contracts.algorithm import MatchView, Outcome, TrainingContext
from shaping.contracts.config import build_config
from shaping.contracts.errors import ConfigError
from shaping.contracts.policies import FunctionPolicy, TabularPolicy
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.match import run_match
from shaping.engine.registry import Registry
from shaping.families.metarl import ConditionedPolicy
from shaping.families.opponent_model import fit_memory_one
from shaping.families.simulated_coplayers import seated_terms
from tests.conftest import generator

TINY = {"games": 8, "meta_steps": 4, "hidden": 8, "meta_episodes": 1, "self_play_episodes": 1}


def mfos_config(registry: Registry, game: str, **overrides) -> MFOSConfig:
    return dataclasses.replace(registry.algorithm("mfos").config(game), **overrides)


@pytest.fixture
def cache(tmp_path):
    return ArtifactCache(tmp_path / "zoo", log=lambda message: None)


# --- the meta-game on matrix games ---------------------------------------------------------


def test_matrix_meta_episode_follows_the_meta_game(registry, ipd):
    """States are (σ(own), σ(opponent as played), seat); rewards are the exact (1 - γ)V of the
    agent's seat; each learner takes its naive or LOLA step; self-play agents see each other."""
    config = mfos_config(registry, "ipd", meta_steps=4, hidden=8)
    torch.manual_seed(0)
    learner = ParameterMetaLearner(config, ipd)
    pool_games, self_games = 6, 2
    experience, scalars = learner.meta_episode(
        ("naive", "lola"), pool_games, self_games, generator(1)
    )
    pool = learner.pool(("naive", "lola"))
    assert len(experience) == 4 and set(scalars) >= {"meta/return", "meta/self_play_return"}
    seats = torch.cat((torch.arange(pool_games) % 2, torch.zeros(2), torch.ones(2)))
    first, second = slice(pool_games, pool_games + 2), slice(pool_games + 2, None)
    for step in range(4):
        state, action = experience.states[step], experience.actions[step]
        torch.testing.assert_close(state[:, 10], seats)
        if step == 0:
            continue
        torch.testing.assert_close(state[:, :5], torch.sigmoid(experience.actions[step - 1]))
    for step in range(3):
        action, following = experience.actions[step], experience.states[step + 1]
        torch.testing.assert_close(following[first, 5:10], torch.sigmoid(action[second]))
        torch.testing.assert_close(following[second, 5:10], torch.sigmoid(action[first]))
        values = ipd.exact(action[first], action[second])
        reward = experience.rewards[step]
        torch.testing.assert_close(reward[first], 0.04 * values[0])
        torch.testing.assert_close(reward[second], 0.04 * values[1])
        # the learners: φ_t as seen in the next state, rewards in the agent's seat
        learners = torch.logit(following[:pool_games, 5:10].double()).float()
        agents = action[:pool_games]
        pool_seats = seats[:pool_games].long()
        seat_a = torch.where((pool_seats == 0).unsqueeze(-1), agents, learners)
        seat_b = torch.where((pool_seats == 0).unsqueeze(-1), learners, agents)
        analysis = ipd.exact_analysis(seat_a, seat_b, second_order=True)
        agent_values = torch.where(pool_seats == 0, analysis.values[0], analysis.values[1])
        torch.testing.assert_close(reward[:pool_games], 0.04 * agent_values, rtol=1e-3, atol=1e-4)
        if step < 2:
            terms = seated_terms(analysis, 1 - pool_seats)
            after = torch.sigmoid(
                torch.stack([rule.step(learners, terms) for rule in pool.learners])
            )
            seen = experience.states[step + 2][:pool_games, 5:10]
            error = (after - seen).abs().amax(-1)  # [rules, games]
            assert bool((error.min(0).values < 1e-3).all())
            assert sorted(error.argmin(0).tolist()) == [0, 0, 0, 1, 1, 1]


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"mfos\.pool: must be a non-empty list"):
        build_config(MFOSConfig, {"pool": ["naive", "sos"]}, "mfos")
    with pytest.raises(ConfigError, match="keep_training"):
        build_config(MFOSConfig, {"keep_training": True, "deterministic": True}, "mfos")
    with pytest.raises(ConfigError, match=r"mfos\.lr: must be > 0"):
        build_config(MFOSConfig, {"lr": -1.0}, "mfos")


# --- artifacts and matches -----------------------------------------------------------------


def test_cached_artifact_reloads_and_plays_identically(registry, ipd, cache, monkeypatch):
    config = mfos_config(registry, "ipd", **TINY)
    trained = MFOS(config, "mfos")
    trained.prepare(ipd, cache)

    def refuse(*args, **kwargs):
        raise AssertionError("the cached artifact should have been reused")

    reloaded = MFOS(config, "mfos")
    monkeypatch.setattr(reloaded, "train", refuse)
    reloaded.prepare(ipd, cache)
    for mine, theirs in zip(
        trained.learner.network.state_dict().values(),
        reloaded.learner.network.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(mine, theirs)
    naive = registry.algorithm("naive")
    results = [
        run_match(ipd, (player, naive.build("ipd")), seeds=4, iterations=6, seed=3, artifacts=cache)
        for player in (trained, reloaded)
    ]
    assert (results[0].rewards == results[1].rewards).all()


def test_how_it_plays_does_not_change_the_artifact(registry, ipd):
    config = mfos_config(registry, "ipd")
    keys = [
        MFOS(dataclasses.replace(config, **change), "mfos").artifact_key(ipd)
        for change in ({}, {"deterministic": True}, {"keep_training": True}, {"lr": 1e-3})
    ]
    assert keys[0] == keys[1] == keys[2] != keys[3]


def test_in_context_adaptation_reads_the_opponent(registry, ipd, cache):
    """update() maps (σ(own), σ(opponent), seat) through the meta-policy: the opponent's true
    parameters when visible, the memory-one model fitted to its play when it is a black box;
    the meta-policy's weights do not change."""
    config = mfos_config(registry, "ipd", **TINY, deterministic=True)
    mfos = MFOS(config, "mfos")
    mfos.prepare(ipd, cache)
    weights = {k: v.clone() for k, v in mfos.learner.network.state_dict().items()}
    state = mfos.init(ipd, 1, 3, generator(1))
    opponent = torch.randn(3, 5, generator=generator(2))
    outcome = Outcome(ipd, (TabularPolicy(opponent), mfos.policy(state)), 3, generator(3))
    updated = mfos.update(state, MatchView(outcome, 1, 0, reveal_opponent=True))
    meta_state = torch.cat(
        (torch.sigmoid(state.params), torch.sigmoid(opponent), torch.ones(3, 1)), dim=-1
    )
    expected = mfos.learner.network.distribution(meta_state).loc
    torch.testing.assert_close(updated.params, expected)

    table = torch.tensor([0.9, 0.8, 0.1, 0.7, 0.2])
    black_box = FunctionPolicy(lambda obs: torch.stack((table[obs], 1 - table[obs]), dim=-1))
    outcome = Outcome(ipd, (black_box, mfos.policy(state)), 3, generator(4))
    view = MatchView(outcome, 1, 0, reveal_opponent=True)
    assert not view.sees_opponent
    updated = mfos.update(state, view)
    episodes = view.trajectories
    fitted = fit_memory_one(episodes.observations[1], episodes.actions[1])
    meta_state = torch.cat(
        (torch.sigmoid(state.params), torch.sigmoid(fitted), torch.ones(3, 1)), dim=-1
    )
    torch.testing.assert_close(updated.params, mfos.learner.network.distribution(meta_state).loc)
    for name, value in mfos.learner.network.state_dict().items():
        assert torch.equal(value, weights[name])


def test_keep_training_updates_a_private_copy_every_meta_episode(registry, ipd, cache):
    config = mfos_config(registry, "ipd", **TINY)
    learning = dataclasses.replace(config, keep_training=True)
    frozen = MFOS(config, "mfos")
    frozen.prepare(ipd, cache)
    player = MFOS(learning, "mfos")
    player.learner = frozen.learner  # the same trained meta-policy, now allowed to learn
    player.prepared_for = frozen.prepared_for
    shared = {k: v.clone() for k, v in frozen.learner.network.state_dict().items()}
    state = player.init(ipd, 0, 4, generator(5))
    naive = registry.algorithm("naive").build("ipd")
    opponent = naive.init(ipd, 1, 4, generator(6))
    for iteration in range(config.meta_steps + 1):
        outcome = Outcome(ipd, (player.policy(state), naive.policy(opponent)), 4, generator(7))
        new_state = player.update(state, MatchView(outcome, 0, iteration, True))
        opponent = naive.update(opponent, MatchView(outcome, 1, iteration, False))
        if iteration < config.meta_steps:
            assert new_state.learner.network.state_dict().keys() == shared.keys()
            assert all(
                torch.equal(v, shared[k]) for k, v in new_state.learner.network.state_dict().items()
            )
        state = new_state
    changed = state.learner.network.state_dict()
    assert any(not torch.equal(v, shared[k]) for k, v in changed.items())
    assert all(torch.equal(v, shared[k]) for k, v in frozen.learner.network.state_dict().items())


def test_ci_scale_training_raises_the_meta_return(registry, ipd):
    """At CI scale (64 games, 50 meta-steps, 80 meta-episodes against naive learners, about
    8 s on one core) the meta-return climbs from the ~-2.4 of a random meta-policy to about
    -1: the meta-policy has found how to shape its naive co-players."""
    config = mfos_config(
        registry,
        "ipd",
        games=64,
        hidden=32,
        meta_steps=50,
        meta_episodes=80,
        self_play_episodes=0,
        pool=("naive",),
    )
    history = MFOS(config, "mfos").train(ipd, TrainingContext())["history"]
    returns = torch.tensor([h["meta/return"] for h in history])
    assert returns[:8].mean() < -2.2
    assert returns[-8:].mean() > returns[:8].mean() + 1.0


# --- the coin game -------------------------------------------------------------------------


def test_coin_game_returns_bootstrap_on_the_next_inner_game(registry, coin_game):
    config = mfos_config(registry, "coin_game", meta_gamma=0.5, hidden=4)
    learner = ConditionedMetaLearner(config, coin_game)
    rewards = [
        torch.tensor([[[1.0, 0.0]], [[0.0, 2.0]]]),  # inner game 0: T = 2, S = 1, B = 2
        torch.tensor([[[4.0, 0.0]], [[0.0, 0.0]]]),  # inner game 1
    ]
    later = torch.tensor([[4.0, 0.0], [0.0, 0.0]])
    start_mean = later[0].mean()  # 2.0: the mean return of inner game 1's episodes
    earlier = torch.tensor(
        [
            [1.0 + 0.5 * (0 + 0.5 * start_mean), 0.0 + 0.5 * (2 + 0.5 * start_mean)],
            [0.0 + 0.5 * start_mean, 2.0 + 0.5 * start_mean],
        ]
    )
    raw = torch.stack((earlier, later), dim=1).reshape(2, -1)
    expected = (raw - raw.mean()) / (raw.std() + 1e-5)
    torch.testing.assert_close(learner.returns(rewards), expected)


def test_coin_game_meta_training_and_play_run_end_to_end(registry, coin_game, cache):
    config = mfos_config(
        registry,
        "coin_game",
        games=4,
        meta_steps=3,
        inner_batch=4,
        inner_horizon=6,
        meta_episodes=1,
        self_play_episodes=2,
        anneal_fraction=1.0,
    )
    mfos = MFOS(config, "mfos")
    mfos.prepare(coin_game, cache)
    history = cache.load("mfos", "coin_game", mfos.artifact_key(coin_game))["history"]
    assert [h["meta/lambda"] for h in history] == [1.0, 1.0, 0.5]
    assert "meta/own_coin_ratio" in history[0] and "meta/self_play_return" in history[2]
    naive = registry.algorithm("naive").build("coin_game")
    result = run_match(coin_game, (naive, mfos), seeds=2, iterations=3, artifacts=cache)
    assert result.rewards.shape == (3, 2, 2) and result.evaluation == "sampled"
    state = mfos.init(coin_game, 1, 2, generator(1))
    assert isinstance(mfos.policy(state), ConditionedPolicy)
    assert torch.equal(state.params, torch.ones(2, 16))


def test_unsupported_games_are_named(registry):
    mfos = MFOS(mfos_config(registry, "ipd"), "mfos")

    class Scalar:
        name = "scalar"

        def default_family(self):
            return object()

    assert "memory-one" in mfos.supports(Scalar())  # type: ignore[arg-type]


# --- paper results (artifacts trained once into results/zoo, as the tournament's) --------
#
# The paper trains one meta-policy per experiment: against naive learners (the extortion
# result), in meta-self-play (cooperation). The zoo's default artifact is trained against
# naive learners and LOLA, then in meta-self-play; the extortion test trains against naive
# learners only, as the paper does, at the zoo's scale.


def play(registry, game_name: str, opponent: str, seeds: int = 64, **overrides):
    game = registry.game(game_name).build()

    def mfos() -> MFOS:
        return MFOS(mfos_config(registry, game_name, **overrides), "mfos")

    other = mfos() if opponent == "mfos" else registry.algorithm(opponent).build(game_name)
    return run_match(game, (mfos(), other), seeds=seeds, iterations=100, seed=11)


@pytest.mark.slow
def test_mfos_extorts_a_naive_learner_in_the_ipd(registry):
    """Paper, IPD, M-FOS trained against naive learners: it gets more than mutual
    cooperation's -1 while the naive learner it shapes gets less than M-FOS (the
    zero-determinant extortion it discovers)."""
    result = play(registry, "ipd", "naive", pool=("naive",), self_play_episodes=0)
    mfos, naive = result.rewards[-20:].mean(axis=(0, 1))
    assert mfos > -1.0
    assert naive < mfos


@pytest.mark.slow
def test_mfos_cooperates_with_itself_after_meta_self_play(registry):
    """Paper, IPD meta-self-play (the zoo-default artifact): two M-FOS agents reach
    near-mutual cooperation."""
    result = play(registry, "ipd", "mfos")
    final = result.rewards[-20:].mean(axis=(0, 1))
    assert (final > -1.25).all()
    assert (result.metrics["cooperation"][-20:].mean(axis=(0, 1)) > 0.75).all()


@pytest.mark.slow
def test_mfos_wins_matching_pennies_against_a_naive_learner(registry):
    result = play(registry, "matching_pennies", "naive")
    assert result.rewards.mean(axis=(0, 1))[0] > 0.0


@pytest.mark.slow
def test_mfos_out_collects_a_naive_learner_in_the_coin_game(registry):
    """Paper, coin game: over the inner games of a meta-episode (16), M-FOS takes more than
    its share of the coins from a naive learner (here the zoo's, in the zoo's 3x3 game of
    50-step episodes, 64 per iteration). Over longer matches the naive learner, once it has
    learnt to chase coins, overtakes the zoo-scale meta-policy (README, M-FOS)."""
    game = registry.game("coin_game").build()
    mfos = registry.algorithm("mfos").build("coin_game")
    naive = registry.algorithm("naive").build("coin_game")
    mfos.prepare(game, ArtifactCache())
    seeds, environment = 8, generator(12)
    states = [mfos.init(game, 0, seeds, generator(13)), naive.init(game, 1, seeds, generator(14))]
    taken = torch.zeros(2)
    for iteration in range(mfos.config.meta_steps):
        policies = (mfos.policy(states[0]), naive.policy(states[1]))
        outcome = Outcome(game, policies, seeds, environment)
        events = outcome.trajectories.events
        for seat in (0, 1):
            taken[seat] += events["own_coin"][seat].sum() + events["other_coin"][seat].sum()
        states = [
            mfos.update(states[0], MatchView(outcome, 0, iteration, True)),
            naive.update(states[1], MatchView(outcome, 1, iteration, False)),
        ]
    assert taken[0] / taken.sum() > 0.55


@pytest.mark.slow
def test_paper_scale_meta_training_extorts_naive_learners(registry, ipd):
    """The paper's IPD meta-training scale (src/main_mfos_ppo.py): 4096 parallel games, 100
    meta-steps, 1024 meta-episodes, PPO lr 2e-3, against naive learners; with the zoo's
    64-unit networks (the paper's 256 units cost 5-9x more per meta-episode on a CPU).
    Measured: passes in 77 min on one shared core, meta-return −0.48 against the naive
    learner's −2.17 at meta-episode 922."""
    config = mfos_config(
        registry,
        "ipd",
        games=4096,
        meta_episodes=1024,
        self_play_episodes=0,
        pool=("naive",),
    )
    history = MFOS(config, "mfos").train(ipd, TrainingContext())["history"]
    assert history[-1]["meta/return"] > -1.0
    assert history[-1]["meta/opponent_return"] < history[-1]["meta/return"]
