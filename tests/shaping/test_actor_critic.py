"""The actor-critic machinery shared by LOQA and Advantage Alignment."""

from __future__ import annotations

import torch

from shaping.contracts.policies import Feedback, FunctionPolicy, TabularPolicy
from shaping.families.actor_critic import (
    Critic,
    Exploring,
    PolicyReplay,
    actor_family,
    clip_by_norm,
    huber,
    timed,
)
from shaping.numerics.optim import Ascent
from tests.conftest import generator


def test_recomputed_log_probs_match_the_roll_out(coin_game):
    """A GRU policy's log-probabilities recomputed along the episodes (in one scan) equal those
    it reported while acting: the learners may recompute them in a graph."""
    family = actor_family(coin_game, 8)
    params = family.init(2, generator(0))
    policy = family.build(params)  # each seat needs its own object: the memory lives in it
    episodes = coin_game.rollout((policy, family.build(params)), 2, generator(1), 5, 7)
    recomputed = policy.log_prob(episodes.observations[0], episodes.actions[0])
    torch.testing.assert_close(recomputed, episodes.log_probs[0])


def test_tabular_action_log_probs_match_log_prob(ipd):
    policy = ipd.default_family().build(torch.randn(3, 5, generator=generator(2)))
    states = torch.randint(5, (4, 3, 6), generator=generator(3))
    actions = torch.randint(2, (4, 3, 6), generator=generator(4))
    every = policy.action_log_probs(states)
    torch.testing.assert_close(every.exp().sum(-1), torch.ones(4, 3, 6))
    taken = every.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(taken, policy.log_prob(states, actions))


def test_critic_inputs_carry_the_time_step():
    states = torch.tensor([[[0, 4]], [[1, 2]], [[3, 3]]])  # [T=3, S=1, B=2]
    torch.testing.assert_close(timed(states, 10), states + 5 * torch.arange(3).reshape(3, 1, 1))
    features = torch.ones(3, 1, 2, 4)
    stamped = timed(features, 10)
    assert stamped.shape == (3, 1, 2, 5)
    torch.testing.assert_close(stamped[:, 0, 0, -1], torch.tensor([0.0, 0.1, 0.2]))


def test_critic_regression_converges_to_its_targets(ipd, coin_game):
    ascent = Ascent("adam", 0.05)
    for game in (ipd, coin_game):
        critic = Critic.create(game, 1, 16, 2, generator(5), ascent)
        episodes = game.rollout(
            (game.fixed_policy("random", 2), game.fixed_policy("random", 2)), 2, generator(6), 8, 6
        )
        targets = torch.full((6, 2, 8), -3.0)
        assert critic.outputs(episodes.observations[0]).abs().max() == 0  # zero output layer
        for _ in range(300):
            critic, _ = critic.fit(episodes.observations[0], targets, ascent, 0.5)
        values = critic.outputs(episodes.observations[0]).squeeze(-1)
        torch.testing.assert_close(values, targets, atol=0.1, rtol=0)
        target_values = critic.outputs(episodes.observations[0], target=True).squeeze(-1)
        torch.testing.assert_close(target_values, targets, atol=0.2, rtol=0)


def test_clip_by_norm_and_huber():
    gradient = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    torch.testing.assert_close(clip_by_norm(gradient, 1.0), torch.tensor([[0.6, 0.8], [0.3, 0.4]]))
    torch.testing.assert_close(huber(torch.tensor([0.5, -3.0])), torch.tensor([0.125, 2.5]))


def test_policy_replay_keeps_the_last_snapshots_and_samples_per_seed():
    replay = PolicyReplay(capacity=2)
    for value in (1.0, 2.0, 3.0):
        replay.push(torch.full((50, 1), value))
    assert len(replay) == 2
    sample = replay.sample(generator(7))
    assert set(sample.flatten().tolist()) == {2.0, 3.0}


def test_exploration_keeps_a_stateful_policy_informed(ipd):
    """ε-greedy around a black box must pass on what happened, or the box's memory of the
    episode goes stale (its taken actions are the explored ones)."""

    class Recording(FunctionPolicy):
        def __init__(self) -> None:
            super().__init__(lambda observation: torch.full((*observation.shape[:2], 2), 0.5))
            self.own_actions: list[torch.Tensor] = []

        def observe(self, feedback: Feedback) -> None:
            self.own_actions.append(feedback.own_action)

    inner = Recording()
    exploring = Exploring(inner, 0.5, 2)
    assert exploring.stateful
    episodes = ipd.rollout(
        (exploring, TabularPolicy(torch.zeros(1, 5))), 1, generator(3), batch=4, horizon=6
    )
    torch.testing.assert_close(torch.stack(inner.own_actions), episodes.actions[0])
