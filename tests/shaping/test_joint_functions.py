"""shaping/families/joint_functions.py: the networks of both players' parameters (payload
round trip, saturated and infinite inputs) and the joint value oracle (exact path equal to the
closed form; the sampled path, used on the coin game, unbiased against exact finite-horizon
values and gradients)."""

from __future__ import annotations

import io

import pytest
import torch

from shaping.families.joint_functions import JointNet, JointValueOracle, uniform_box
from tests.conftest import generator


@pytest.mark.parametrize("squash", ["clamp", "tanh"])
def test_payload_round_trip_is_bit_identical(squash):
    torch.manual_seed(0)
    network = JointNet(5, 5, 3, (8, 8), "tanh", 7.0, squash, zero_output=False)
    buffer = io.BytesIO()
    torch.save(network.payload(), buffer)
    rebuilt = JointNet.from_payload(torch.load(io.BytesIO(buffer.getvalue())))
    for a, b in zip(network.state_dict().values(), rebuilt.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    own, opponent = (uniform_box(16, 5, 9.0, generator(s)) for s in (1, 2))
    assert torch.equal(network(own, opponent), rebuilt(own, opponent))


def test_inputs_outside_the_region_are_squashed():
    """Clamp: beyond the region a logit counts as the region's edge (so infinite logits of
    fixed strategies are valid inputs); tanh: finite everywhere, infinite logits included."""
    torch.manual_seed(1)
    clamp = JointNet(2, 2, 2, (4,), "relu", 3.0, "clamp", zero_output=False)
    edge = torch.tensor([[3.0, -3.0]])
    beyond = torch.tensor([[float("inf"), -50.0]])
    torch.testing.assert_close(clamp(beyond, beyond), clamp(edge, edge))
    smooth = JointNet(2, 2, 1, (4,), "tanh", 3.0, "tanh", zero_output=False)
    assert torch.isfinite(smooth(beyond, beyond)).all()


def test_zero_output_starts_at_zero():
    network = JointNet(5, 5, 5, (8,), "tanh", 7.0, "clamp")
    own, opponent = (uniform_box(4, 5, 7.0, generator(s)) for s in (3, 4))
    assert torch.equal(network(own, opponent), torch.zeros(4, 5))


def test_uniform_box_covers_the_box():
    samples = uniform_box(20000, 3, 2.5, generator(5))
    assert samples.abs().max() <= 2.5
    assert samples.min() < -2.45 and samples.max() > 2.45
    assert samples.mean().abs() < 0.05


def test_exact_oracle_is_the_closed_form(ipd):
    oracle = JointValueOracle(ipd, ipd.compact_family(), generator(6))
    assert oracle.exact
    first, second = (torch.randn(8, 5, generator=generator(s)) for s in (7, 8))
    values, gradients = oracle.values_and_gradients(first, second)
    analysis = ipd.exact_analysis(first, second)
    torch.testing.assert_close(values, analysis.values)
    torch.testing.assert_close(gradients[0], analysis.gradients[0][0])
    torch.testing.assert_close(gradients[1], analysis.gradients[1][1])
    assert oracle.value_scale == pytest.approx(1 / (1 - ipd.gamma))


def test_sampled_oracle_is_unbiased(ipd):
    """The sampled path (the coin game's): over replicate roll-outs of one joint policy, the
    mean returns and DiCE gradients (leave-one-out baselines) match the exact values and
    gradients of the same 30-step game within 4 standard errors, for both seats."""
    replicates, horizon = 256, 30
    oracle = JointValueOracle(
        ipd, ipd.compact_family(), generator(9), episodes=8, horizon=horizon, force_sampled=True
    )
    assert not oracle.exact
    first, second = (torch.randn(1, 5, generator=generator(s)) for s in (10, 11))
    values, gradients = oracle.values_and_gradients(
        first.expand(replicates, -1), second.expand(replicates, -1)
    )
    leaves = (first.clone().requires_grad_(True), second.clone().requires_grad_(True))
    exact_values = ipd.exact(*leaves, horizon=horizon)
    for seat in (0, 1):
        (exact_gradient,) = torch.autograd.grad(
            exact_values[seat].sum(), leaves[seat], retain_graph=True
        )
        for estimate, truth in (
            (values[seat], exact_values[seat].detach()),
            (gradients[seat], exact_gradient[0]),
        ):
            error = estimate.std(0) / replicates**0.5
            assert torch.all((estimate.mean(0) - truth).abs() < 4 * error + 1e-6)
