"""Meta-RL machinery: returns, the Gaussian meta-policy, PPO on a bandit, the conditioned
recurrent inner policy and its episode encoder, and the training monitor."""

from __future__ import annotations

import math

import torch

from shaping.contracts.algorithm import TrainingContext
from shaping.engine.training_monitor import TrainingMonitor
from shaping.families.metarl import (
    ConditionedActorCritic,
    ConditionedFamily,
    EpisodeEncoder,
    GaussianActorCritic,
    MetaPPOSettings,
    normalized_returns,
    ppo_update,
)
from tests.conftest import generator


def test_normalized_returns_discount_then_standardise():
    rewards = torch.tensor([[1.0, 0.0], [2.0, 1.0], [3.0, -1.0]])
    gamma = 0.5
    raw = torch.tensor([[1 + 0.5 * 2 + 0.25 * 3, 0 + 0.5 * 1 - 0.25], [2 + 1.5, 1 - 0.5], [3, -1]])
    expected = (raw - raw.mean()) / (raw.std() + 1e-5)
    torch.testing.assert_close(normalized_returns(rewards, gamma), expected)


def test_gaussian_meta_policy_samples_score_and_spread():
    torch.manual_seed(0)
    network = GaussianActorCritic(3, 2, hidden=8)
    states = torch.rand(4000, 3, generator=generator(1))
    actions, log_probs = network.act(states, generator(2))
    evaluated, values, entropy = network.evaluate(states, actions)
    torch.testing.assert_close(evaluated, log_probs)
    assert values.shape == (4000,)
    mean, raw_variance = network.actor(states).detach().split(2, dim=-1)
    variance = torch.nn.functional.softplus(raw_variance)
    # the softplus output is the variance (M-FOS code: the covariance diagonal)
    standardised = (actions - mean) / variance.sqrt()
    assert abs(float(standardised.std()) - 1.0) < 0.05
    expected_entropy = (0.5 * torch.log(2 * math.pi * math.e * variance)).sum(-1)
    torch.testing.assert_close(entropy, expected_entropy.detach(), rtol=1e-5, atol=1e-5)


def test_ppo_moves_a_gaussian_bandit_to_the_rewarded_action():
    """One-step meta-game with reward -|a - target|²: PPO's mean action approaches target."""
    torch.manual_seed(0)
    network = GaussianActorCritic(1, 2, hidden=16)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-2)
    target = torch.tensor([1.5, -1.0])
    states = torch.zeros(1, 512, 1)
    gen = generator(3)

    def distance() -> float:
        return float((network.distribution(states[0, :1]).loc.detach() - target).norm())

    start = distance()
    for _ in range(60):
        actions, log_probs = network.act(states, gen)
        rewards = -(actions - target).pow(2).sum(-1)
        ppo_update(
            optimizer,
            lambda actions=actions: network.evaluate(states, actions),
            log_probs,
            normalized_returns(rewards, 0.99),
            MetaPPOSettings(epochs=4, clip=0.2, entropy_coef=0.0),
        )
    assert distance() < 0.25 * start


def rollout_features(seeds: int, batch: int, steps: int, observation: int, seed: int):
    gen = generator(seed)
    observations = torch.rand(steps, seeds, batch, observation, generator=gen)
    actions = torch.randint(4, (steps, seeds, batch), generator=gen)
    return observations, actions


def test_conditioned_policy_acts_and_scores_consistently():
    """The log-probabilities returned while acting step by step equal the ones recomputed
    over whole episodes (recurrent memory, per-seed conditioning), and the critic's evaluation
    scores actions like the policy."""
    torch.manual_seed(1)
    network = ConditionedActorCritic(6, 4, hidden=5)
    family = ConditionedFamily(network)
    conditioning = torch.rand(3, 5, generator=generator(4))
    policy = family.build(conditioning)
    gen = generator(5)
    observations, _ = rollout_features(3, 7, 9, 6, 6)
    policy.reset(3, 7, gen)
    acted = [policy.act(observations[t], gen) for t in range(9)]
    actions = torch.stack([a for a, _ in acted])
    log_probs = torch.stack([lp for _, lp in acted])
    torch.testing.assert_close(policy.log_prob(observations, actions), log_probs)
    scored, values, entropy = network.evaluate(
        observations.reshape(9, 21, 6), actions.reshape(9, 21), conditioning.repeat_interleave(7, 0)
    )
    torch.testing.assert_close(scored.reshape(9, 3, 7), log_probs)
    assert values.shape == entropy.shape == (9, 21)
    assert bool((entropy > 0).all()) and bool((entropy <= math.log(4) + 1e-6).all())
    assert family.init(2, gen).eq(1).all() and family.compatible(ConditionedFamily(network))


def test_episode_encoder_averages_over_a_games_episodes():
    torch.manual_seed(2)
    encoder = EpisodeEncoder(5, hidden=4)
    features = torch.rand(6, 2, 8, 5, generator=generator(7))
    conditioning = encoder(features)
    assert conditioning.shape == (2, 4)
    assert bool(((conditioning > 0) & (conditioning < 1)).all())
    shuffled = features[:, :, torch.randperm(8, generator=generator(8))]
    torch.testing.assert_close(encoder(shuffled), conditioning)
    # each game's conditioning depends on its own episodes only
    changed = features.clone()
    changed[:, 1] = torch.rand(6, 8, 5, generator=generator(9))
    torch.testing.assert_close(encoder(changed)[0], conditioning[0])


class Lines:
    def __init__(self) -> None:
        self.text: list[str] = []

    def write(self, text: str) -> None:
        self.text.append(text)

    def flush(self) -> None:
        pass


def test_training_monitor_reports_bar_status_and_curves(tmp_path):
    status: list[str] = []
    stream = Lines()
    context = TrainingContext(log_dir=tmp_path / "tb", progress=status.append)
    monitor = TrainingMonitor(context, total=20, label="toy", stream=stream)
    for done in range(1, 21):
        monitor.update(done, {"meta/return": -2.0 + 0.05 * done})
    monitor.close()
    assert len(status) == 11 and status[-1].startswith("toy |" + "#" * 24 + "| 20/20")
    assert "meta/return -1.000" in status[-1]
    assert "".join(stream.text).count("\n") == 11
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
