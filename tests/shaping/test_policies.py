"""Policies: sampling matches probabilities, log-probabilities recompute exactly, seeds are
independent inside one batched tensor, and gradients reach the flat parameters."""

from __future__ import annotations

import pytest
import torch

from shaping.contracts.policies import NetworkFamily, TabularPolicy, sample_categorical
from shaping.numerics.nets import BatchedMLP, RecurrentPolicyNet
from tests.conftest import generator


def test_sample_categorical_follows_the_probabilities():
    probs = (
        torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 0.0]]).unsqueeze(1).expand(2, 50000, 4)
    )
    samples = sample_categorical(probs, generator(0))
    frequencies = torch.stack([torch.bincount(row, minlength=4) for row in samples]).float() / 50000
    torch.testing.assert_close(frequencies[0], probs[0, 0], atol=0.01, rtol=0)
    assert torch.equal(frequencies[1], probs[1, 0])


def test_tabular_policy_samples_sigmoid_probabilities_and_recomputes_log_probs():
    params = torch.tensor([[2.0, -1.0, 0.0, 0.5, -3.0]])
    policy = TabularPolicy(params)
    states = torch.arange(5).repeat(20000).unsqueeze(0)
    actions, log_probs = policy.act(states, generator(1))
    cooperation = torch.stack([(actions[0, states[0] == s] == 0).float().mean() for s in range(5)])
    torch.testing.assert_close(cooperation, torch.sigmoid(params[0]), atol=0.015, rtol=0)
    recomputed = policy.log_prob(states.unsqueeze(0), actions.unsqueeze(0))[0]
    torch.testing.assert_close(recomputed, log_probs)


def test_tabular_log_probs_are_exact_at_infinite_logits():
    policy = TabularPolicy(torch.tensor([[float("inf")] * 5]))
    states = torch.zeros(1, 4, dtype=torch.long)
    actions, log_probs = policy.act(states, generator(2))
    assert torch.all(actions == 0) and torch.all(log_probs == 0)


def mlp_family() -> NetworkFamily:
    return NetworkFamily(BatchedMLP((6, 8, 3)))


def test_network_family_layout_and_per_seed_initialisation():
    family = mlp_family()
    assert family.dim == 6 * 8 + 8 + 8 * 3 + 3
    params = family.init(4, generator(3))
    assert params.shape == (4, family.dim)
    assert not torch.allclose(params[0], params[1])
    # weights of the first layer lie within PyTorch's default bound 1/sqrt(fan_in)
    first_layer = family.unflatten(params)["layers.0.weight"]
    assert first_layer.abs().max() <= 1 / 6**0.5


def test_seeds_are_independent_inside_one_batched_policy():
    family = mlp_family()
    params = family.init(3, generator(4))
    observations = torch.randn(1, 3, 5, 6, generator=generator(5))
    before = family.build(params).action_log_probs(observations)
    changed = params.clone()
    changed[0] += 1.0
    after = family.build(changed).action_log_probs(observations)
    assert not torch.allclose(before[:, 0], after[:, 0])
    torch.testing.assert_close(before[:, 1:], after[:, 1:])


def test_network_log_probs_recompute_exactly_and_carry_gradients():
    family = mlp_family()
    params = family.init(2, generator(6)).requires_grad_(True)
    policy = family.build(params)
    observations = torch.randn(4, 2, 7, 6, generator=generator(7))
    policy.reset(2, 7, generator(8))
    sampled = [policy.act(observations[t], generator(9 + t)) for t in range(4)]
    actions = torch.stack([a for a, _ in sampled])
    log_probs = torch.stack([lp for _, lp in sampled])
    torch.testing.assert_close(policy.log_prob(observations, actions), log_probs)
    (gradient,) = torch.autograd.grad(log_probs.sum(), params)
    assert gradient.shape == params.shape and gradient.abs().sum() > 0


def test_recurrent_policy_log_probs_recompute_exactly():
    family = NetworkFamily(RecurrentPolicyNet(6, 8, 3), recurrent=True)
    params = family.init(2, generator(10))
    policy = family.build(params)
    observations = torch.randn(5, 2, 3, 6, generator=generator(11))
    policy.reset(2, 3, generator(12))
    sampled = [policy.act(observations[t], generator(13 + t)) for t in range(5)]
    actions = torch.stack([a for a, _ in sampled])
    log_probs = torch.stack([lp for _, lp in sampled])
    torch.testing.assert_close(policy.log_prob(observations, actions), log_probs)
    # memory matters: the same observation at step 0 and step 4 gives different log-probs
    repeated = observations[0].expand(5, -1, -1, -1)
    distributions = policy.action_log_probs(repeated)
    assert not torch.allclose(distributions[0], distributions[4])


def test_functional_call_matches_an_ordinary_module_for_one_seed():
    family = mlp_family()
    params = family.init(1, generator(14))
    named = family.unflatten(params)
    reference = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        reference[0].weight.copy_(named["layers.0.weight"][0].T)
        reference[0].bias.copy_(named["layers.0.bias"][0])
        reference[2].weight.copy_(named["layers.1.weight"][0].T)
        reference[2].bias.copy_(named["layers.1.bias"][0])
    inputs = torch.randn(1, 10, 6, generator=generator(15))
    torch.testing.assert_close(family.forward(params, (inputs,))[0], reference(inputs[0]))


def test_one_stateful_policy_object_cannot_play_both_seats(ipd):
    """A stateful policy's memory is per object (here: the episode's random table): in both
    seats it would mix the two players. Stateless policies may be shared; one per seat is fine."""
    from shaping.families.sequence_model import ObservationVocabulary, RandomTablePolicy

    vocabulary = ObservationVocabulary(torch.arange(5))
    memory_one = RandomTablePolicy(vocabulary, 2)
    with pytest.raises(ValueError, match="policies: one stateful policy object is in both seats"):
        ipd.rollout((memory_one, memory_one), 1, generator(15), batch=2, horizon=3)
    ipd.rollout((memory_one, RandomTablePolicy(vocabulary, 2)), 1, generator(15), batch=2)
    recurrent = NetworkFamily(RecurrentPolicyNet(6, 8, 3), recurrent=True)
    feedforward = NetworkFamily(BatchedMLP((6, 8, 3)))
    assert memory_one.stateful and recurrent.build(recurrent.init(1, generator(16))).stateful
    assert not feedforward.build(feedforward.init(1, generator(17))).stateful
    tabular = TabularPolicy(torch.zeros(1, 5))
    assert not tabular.stateful
    ipd.rollout((tabular, tabular), 1, generator(15), batch=2, horizon=3)
