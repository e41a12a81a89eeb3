"""The predictive sequence model: tokens, step-by-step equivalence with whole sequences,
Monte-Carlo action values against brute-force enumeration, and learning on held-out data."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from shaping.contracts.errors import UnsupportedError
from shaping.families.sequence_model import (
    FitSettings,
    Histories,
    ObservationVocabulary,
    RandomTablePolicy,
    RewardScale,
    SequenceModel,
    SequenceModelShape,
    SteppedModel,
    fit,
    histories_from,
    observation_keys,
    prediction_losses,
    rollout_action_values,
    stack_parameters,
)
from tests.conftest import generator


def random_model(observations: int = 6, actions: int = 2, hidden: int = 16, seed: int = 0):
    model = SequenceModel(SequenceModelShape(observations, actions, embedding=8, hidden=hidden))
    model.reset_parameters(generator(seed))
    return model.eval()


def random_histories(count: int, rounds: int, observations: int, actions: int, seed: int = 0):
    g = generator(seed)
    return Histories(
        torch.randint(observations, (count, rounds), generator=g),
        torch.randint(actions, (count, rounds), generator=g),
        torch.randn(count, rounds, generator=g),
    )


def stepped_predictions(stepped: SteppedModel, histories: Histories, scale: RewardScale):
    """Teacher-forced predictions of the stepped model, shaped like SequenceModel.forward."""
    count, rounds = histories.actions.shape
    hidden = stepped.initial_hidden(count, "cpu")
    previous_action = torch.full((1, count), stepped.no_action)
    previous_reward = torch.zeros(1, count)
    rewards = scale.normalise(histories.rewards)
    action, observation, reward = [], [], []
    for t in range(rounds):
        tokens = histories.observations[:, t].unsqueeze(0)
        hidden = stepped.step(hidden, tokens, previous_action, previous_reward)
        action_logits, observation_logits, reward_means = stepped.heads(hidden)
        action.append(action_logits[0])
        taken = histories.actions[:, t]
        if t + 1 < rounds:
            observation.append(observation_logits[0, torch.arange(count), taken])
            following = histories.observations[:, t + 1]
            reward.append(reward_means[0, torch.arange(count), taken, following])
        previous_action, previous_reward = taken.unsqueeze(0), rewards[:, t].unsqueeze(0)
    return torch.stack(action, 1), torch.stack(observation, 1), torch.stack(reward, 1)


def test_stepping_reproduces_the_whole_sequence_forward():
    model = random_model(observations=7, actions=3)
    histories = random_histories(5, 9, observations=7, actions=3)
    scale = RewardScale(offset=-1.0, scale=2.0)
    with torch.no_grad():
        whole = model(histories.observations, histories.actions, scale.normalise(histories.rewards))
        action, observation, reward = stepped_predictions(
            SteppedModel(model.stacked()), histories, scale
        )
    torch.testing.assert_close(action, whole["action_logits"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(observation, whole["observation_logits"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(reward, whole["reward_mean"], atol=1e-5, rtol=1e-5)


def test_stacked_models_step_like_each_model_alone():
    models = [random_model(seed=1), random_model(seed=2)]
    histories = random_histories(4, 6, observations=6, actions=2, seed=3)
    together = SteppedModel(stack_parameters(models))
    tokens = histories.observations[:, :2].T.reshape(2, 1, 4)  # two rounds
    actions = histories.actions[:, 0].expand(2, -1)
    hidden = together.step(
        together.initial_hidden(4, "cpu"),
        tokens[0].expand(2, -1),
        torch.full((2, 4), 2),
        torch.zeros(2, 4),
    )
    hidden = together.step(hidden, tokens[1].expand(2, -1), actions, torch.ones(2, 4))
    heads = together.heads(hidden)
    for index, model in enumerate(models):
        alone = SteppedModel(model.stacked())
        single = alone.step(
            alone.initial_hidden(4, "cpu"), tokens[0], torch.full((1, 4), 2), torch.zeros(1, 4)
        )
        single = alone.step(single, tokens[1], actions[:1], torch.ones(1, 4))
        for together_head, alone_head in zip(heads, alone.heads(single), strict=True):
            torch.testing.assert_close(together_head[index], alone_head[0])


def exact_action_values(stepped, hidden, actions, observations, rounds, scale):
    """Mean and variance of the imagined return of each first action, by enumerating every
    future (observations and later own actions) with its probability."""
    means, variances = [], []
    for first in range(actions):
        mean = second_moment = 0.0
        for observed in itertools.product(range(observations), repeat=rounds):
            for later in itertools.product(range(actions), repeat=rounds - 1):
                state, probability, value, chosen = hidden, 1.0, 0.0, first
                for step in range(rounds):
                    action_logits, observation_logits, reward_means = stepped.heads(state)
                    if step > 0:
                        chosen = later[step - 1]
                        probability *= float(torch.softmax(action_logits, -1)[0, 0, chosen])
                    p_obs = torch.softmax(observation_logits[0, 0, chosen], -1)
                    probability *= float(p_obs[observed[step]])
                    reward = reward_means[0, 0, chosen, observed[step]].reshape(1, 1)
                    value += float(scale.restore(reward))
                    state = stepped.step(
                        state,
                        torch.tensor([[observed[step]]]),
                        torch.tensor([[chosen]]),
                        reward,
                    )
                mean += probability * value
                second_moment += probability * value**2
        means.append(mean)
        variances.append(second_moment - mean**2)
    return torch.tensor(means), torch.tensor(variances)


def test_monte_carlo_action_values_match_brute_force_enumeration():
    observations, actions, rounds = 3, 2, 3
    model = random_model(observations=observations, actions=actions, seed=4)
    with torch.no_grad():  # sharper heads, so that futures and their rewards differ a lot
        for head in (model.observation_head, model.action_head, model.reward_head):
            head.weight.mul_(8.0)
    stepped = SteppedModel(model.stacked())
    scale = RewardScale(offset=-1.5, scale=3.0)
    hidden = stepped.step(
        stepped.initial_hidden(1, "cpu"),
        torch.tensor([[1]]),
        torch.tensor([[0]]),
        torch.tensor([[0.4]]),
    )
    samples = 20000
    with torch.no_grad():
        mean, variance = exact_action_values(stepped, hidden, actions, observations, rounds, scale)
        estimate = rollout_action_values(
            stepped, hidden, actions, rounds, samples, generator(5), scale
        )[0, 0]
    assert variance.min() > 0.1  # the check below is not vacuous
    assert torch.all((estimate - mean).abs() < 4 * (variance / samples).sqrt()), (estimate, mean)
    # common random numbers only ever tighten the independent-sampling bound on differences
    difference_bound = 4 * (variance.sum() / samples).sqrt()
    assert ((estimate[1] - estimate[0]) - (mean[1] - mean[0])).abs() < difference_bound


def test_discount_weights_later_rounds_less():
    model = random_model(seed=6)
    stepped = SteppedModel(model.stacked())
    hidden = stepped.step(
        stepped.initial_hidden(2, "cpu"),
        torch.tensor([[0, 1]]),
        torch.full((1, 2), 2),
        torch.zeros(1, 2),
    )
    offset_only = RewardScale(offset=1.0, scale=1e-9)  # every imagined reward is 1
    values = rollout_action_values(stepped, hidden, 2, 4, 3, generator(7), offset_only, 0.5)
    torch.testing.assert_close(values, torch.full_like(values, 1 + 0.5 + 0.25 + 0.125))


def test_observation_tokens_for_integer_and_binary_observations():
    assert torch.equal(observation_keys(torch.tensor([[0, 4]])), torch.tensor([[0, 4]]))
    one_hot = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    assert torch.equal(observation_keys(one_hot), torch.tensor([5, 2]))
    vocabulary = ObservationVocabulary.discover([one_hot])
    assert vocabulary.size == 3
    unseen = torch.tensor([[1.0, 1.0, 1.0]])
    assert vocabulary.tokens(one_hot).tolist() == [1, 0]
    assert vocabulary.tokens(unseen).tolist() == [vocabulary.unknown]
    with pytest.raises(UnsupportedError, match="binary"):
        observation_keys(torch.tensor([[0.5, 0.0]]))
    with pytest.raises(UnsupportedError, match="at most 62"):
        observation_keys(torch.zeros(1, 63))


def test_coin_game_grid_configurations_form_a_small_vocabulary(coin_game):
    uniform = tuple(
        RandomTablePolicy(ObservationVocabulary(torch.zeros(1)), 4, uniform=True) for _ in (0, 1)
    )
    episodes = coin_game.rollout(uniform, 1, generator(8), batch=256)
    vocabulary = ObservationVocabulary.discover(list(episodes.observations))
    # the other player anywhere (9 cells); the coin on a free cell (8 if the other shares
    # the observer's cell, else 7) in either colour: 16 + 8 * 14 = 128 configurations
    assert vocabulary.size == 128 + 1
    state = ObservationVocabulary.from_state_dict(vocabulary.state_dict())
    assert torch.equal(
        state.tokens(episodes.observations[0]), vocabulary.tokens(episodes.observations[0])
    )


def test_random_tabular_agents_are_memory_one_with_uniform_probabilities(ipd):
    vocabulary = ObservationVocabulary(torch.arange(5))
    pool = RandomTablePolicy(vocabulary, 2)
    pool.reset(1, 4000, generator(9))
    cooperate = pool.table[0, :, :5, 0]  # P(action 0 | own-view state) per episode
    # U(0, 1): mean 1/2, variance 1/12, and a flat histogram
    assert cooperate.mean() == pytest.approx(0.5, abs=0.01)
    assert cooperate.var() == pytest.approx(1 / 12, abs=0.005)
    histogram = torch.histc(cooperate, bins=5, min=0, max=1) / cooperate.numel()
    assert torch.all((histogram - 0.2).abs() < 0.015)
    # the agent plays its own table in each episode's own-view state
    observation = torch.full((1, 4000), 3)
    frequency = (
        torch.stack([pool.act(observation, generator(10 + k))[0] == 0 for k in range(200)])
        .float()
        .mean(0)
    )
    assert (frequency - pool.table[0, :, 3, 0]).abs().mean() < 0.03


def test_prediction_losses_fall_on_held_out_trajectories(ipd):
    """Pretraining on random tabular agents (Weis et al. 2026, App. A.3.1) teaches the model
    to predict held-out episodes it never saw, in every modality."""
    vocabulary = ObservationVocabulary(torch.arange(5))
    pair = (RandomTablePolicy(vocabulary, 2), RandomTablePolicy(vocabulary, 2))

    def play(episodes: int, seed: int) -> Histories:
        trajectories = ipd.rollout(pair, 1, generator(seed), batch=episodes, horizon=30)
        return Histories.concatenate([histories_from(trajectories, s, vocabulary) for s in (0, 1)])

    train, held_out = play(512, 11), play(128, 12)
    scale = RewardScale(float(train.rewards.mean()), float(train.rewards.std()))
    model = SequenceModel(SequenceModelShape(vocabulary.size, 2, embedding=16, hidden=32))
    model.reset_parameters(generator(13))
    with torch.no_grad():
        before = prediction_losses(model, held_out, scale)
    history = fit(
        model, train, FitSettings(epochs=6, batch_size=128, lr=1e-2), scale, generator(14)
    )
    with torch.no_grad():
        after = prediction_losses(model, held_out, scale)
    assert history[-1]["total"] < history[0]["total"]
    for modality in ("action", "observation", "reward"):
        assert after[modality] < before[modality] - 0.01, (modality, before, after)
    # the joint action reveals the reward: the model reads it off almost exactly
    assert after["reward"] < 0.02
    # the co-player's next action is predicted better than by a coin flip (ln 2): in context
    assert after["observation"] < math.log(2) - 0.01
