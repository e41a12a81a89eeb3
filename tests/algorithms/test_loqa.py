"""LOQA (Aghajohari et al. 2024): the differentiable co-player model against values worked out
by hand, and the paper's results: reciprocity (TFT-like cooperation) in self-play on the IPD
and the coin game, no exploitation by always-defect, reproducibility."""

from __future__ import annotations

import math

import pytest
import torch

from algorithms.loqa import LOQA, LOQAState, modelled_opponent_log_probs, sarsa_targets
from shaping.contracts.game import Trajectories
from shaping.engine.match import run_match
from shaping.families.actor_critic import Critic, Exploring
from shaping.numerics.dice import loaded_dice_returns
from tests.algorithms.coin_checks import deficit_against_always_defect, self_play_own_coin_ratio
from tests.algorithms.shaping_matches import cooperation_by_state, play, with_config


def test_loaded_dice_returns_by_hand():
    """Value: the sampled returns; gradient: Σ_{k≥t} (γλ)^(k-t) (G_k - V_k) ∇log π_k."""
    rewards = torch.tensor([1.0, 0.0, 2.0])
    values = torch.tensor([0.5, 0.25, 1.0])
    log_probs = torch.zeros(3, requires_grad=True)
    returns = loaded_dice_returns(rewards, log_probs, values, gamma=0.5, lam=0.5)
    # G = [1 + 0.5·0 + 0.25·2, 0 + 0.5·2, 2] = [1.5, 1, 2];  G - V = [1, 0.75, 1];  γλ = 0.25
    torch.testing.assert_close(returns.detach(), torch.tensor([1.5, 1.0, 2.0]))
    expected = torch.tensor([[1.0, 0.25 * 0.75, 0.0625 * 1.0], [0.0, 0.75, 0.25], [0.0, 0.0, 1.0]])
    for t in range(3):
        (gradient,) = torch.autograd.grad(returns[t], log_probs, retain_graph=True)
        torch.testing.assert_close(gradient, expected[t])


def test_modelled_opponent_log_probs_by_hand():
    """Two steps, two actions. Q²(s_0) = [0, 1], Q²(s_1) = [2, 0]; the co-player played b = (0, 1)
    and got r² = (1, 3); γ = 0.5, λ = 1, T = 1.

    Q̃_0 = r²_0 + γ G_1 = 1 + 0.5·3 = 2.5, so log π̂(b_0) = log softmax([2.5, 1])[0]; the last
    step keeps Q̃_1 = r²_1 = 3: log π̂(b_1) = log softmax([2, 3])[1]. Only the agent's action at
    step 1 moves Q̃_0: ∂ log π̂(b_0) / ∂ log π¹_1 = (1 - π̂(b_0)) · γ · (G_1 - V²_1), with the
    model's value V²_1 = Σ softmax([2, 0]) · [2, 0] = 2 e² / (e² + 1)."""
    q = torch.tensor([[0.0, 1.0], [2.0, 0.0]]).reshape(2, 1, 1, 2)
    actions = torch.tensor([0, 1]).reshape(2, 1, 1)
    rewards = torch.tensor([1.0, 3.0]).reshape(2, 1, 1)
    own_log_probs = torch.full((2, 1, 1), math.log(0.5), requires_grad=True)
    log_probs = modelled_opponent_log_probs(q, actions, rewards, own_log_probs, 0.5, 1.0, 1.0)
    expected = torch.tensor([-math.log1p(math.exp(-1.5)), -math.log1p(math.exp(-1.0))])
    torch.testing.assert_close(log_probs.flatten().detach(), expected)
    (gradient,) = torch.autograd.grad(log_probs[0].sum(), own_log_probs)
    value_1 = 2 * math.exp(2) / (math.exp(2) + 1)
    slope = (1 - math.exp(expected[0].item())) * 0.5 * (3.0 - value_1)
    torch.testing.assert_close(gradient.flatten(), torch.tensor([0.0, slope]))


def test_sarsa_targets_by_hand():
    """y_t = r_t + γ ((1 - λ) Q(s_t+1, a_t+1) + λ y_t+1), γ = 0.5, nothing after the last step."""
    rewards = torch.tensor([1.0, 2.0, 3.0])
    taken_q = torch.tensor([10.0, 20.0, 30.0])
    torch.testing.assert_close(
        sarsa_targets(rewards, taken_q, 0.5, 0.0), torch.tensor([11.0, 17.0, 3.0])
    )
    torch.testing.assert_close(
        sarsa_targets(rewards, taken_q, 0.5, 1.0), torch.tensor([2.75, 3.5, 3.0])
    )
    # λ = 1/2: y_1 = 2 + 0.5 (15 + 1.5) = 10.25, y_0 = 1 + 0.5 (10 + 5.125) = 8.5625
    half = sarsa_targets(rewards, taken_q, 0.5, 0.5)
    torch.testing.assert_close(half, torch.tensor([8.5625, 10.25, 3.0]))


def test_objective_by_hand(ipd):
    """The full LOQA objective on a hand-made two-step IPD episode, with zero Q-networks:
    own advantages are the rewards, centred and scaled (r¹ = (-1, -3) -> (1/√2, -1/√2)), the
    co-player model is the softmax of Q² = 0 except Q̃ at its taken actions."""
    learner = LOQA(LOQA.Config(entropy=0.0, shaping_weight=1.0, temperature=1.0))
    generator = torch.Generator().manual_seed(0)
    state = learner.init(ipd, 0, 1, generator)
    zero = [
        Critic(
            c.family,
            torch.zeros_like(c.params),
            torch.zeros_like(c.params),
            c.optimizer,
            c.scale,
            c.horizon,
        )
        for c in (state.own_q, state.opponent_q)
    ]
    state = LOQAState(
        state.family,
        torch.tensor([[0.3, -0.2, 0.5, 1.0, -1.0]]),
        state.optimizer,
        *zero,
        state.replay,
        generator,
    )
    # step 0 from s0: I cooperate, the co-player defects (my view CD); step 1: both defect
    own_obs, other_obs = torch.tensor([0, 2]), torch.tensor([0, 3])
    own_act, other_act = torch.tensor([0, 1]), torch.tensor([1, 1])
    own_rew, other_rew = torch.tensor([-3.0, -2.0]), torch.tensor([0.0, -2.0])
    shape = (2, 1, 1)
    episodes = Trajectories(
        observations=(own_obs.reshape(shape), other_obs.reshape(shape)),
        actions=(own_act.reshape(shape), other_act.reshape(shape)),
        rewards=(own_rew.reshape(shape), other_rew.reshape(shape)),
        log_probs=(None, None),
        gamma=0.96,
    )
    params = state.params.clone().requires_grad_(True)
    objective = learner.objective(state, params, episodes, state.opponent_q)
    # by hand: A = normalised rewards (-3, -2) -> (-1/√2, 1/√2)
    advantages = torch.tensor([-1.0, 1.0]) / math.sqrt(2)
    p_cooperate = torch.sigmoid(params[0, own_obs])
    own_log_probs = torch.log(torch.where(own_act == 0, p_cooperate, 1 - p_cooperate))
    # Q̃_0 = r²_0 + γ G̃_1 = 0 + 0.96·(-2); Q̃_1 = r²_1 = -2; the other action has Q² = 0
    q_taken = torch.tensor([0.96 * -2.0, -2.0])
    opponent_log_probs = q_taken - torch.logaddexp(q_taken, torch.zeros(2))
    expected = (advantages * (own_log_probs + opponent_log_probs)).mean()
    torch.testing.assert_close(objective, expected.reshape(1))
    (gradient,) = torch.autograd.grad(objective.sum(), params)
    (naive,) = torch.autograd.grad(expected, params)  # the model's log-probs held constant
    # the shaping path: only Q̃_0 depends on the agent's policy, through its defection in CD at
    # step 1: ∂J/∂θ_CD = (1/2) A_0 (1 - π̂(b_0)) γ (G²_1 - V²_1) ∂log(1 - σ(θ_CD))/∂θ_CD, V²_1 = 0
    shaping = torch.zeros(1, 5)
    shaping[0, 2] = (
        0.5 * advantages[0] * (1 - opponent_log_probs[0].exp()) * 0.96 * -2.0
    ) * -torch.sigmoid(params[0, 2].detach())
    torch.testing.assert_close(gradient, naive + shaping)


def test_self_play_in_the_ipd_is_reciprocal(registry, ipd):
    """LOQA paper (IPD experiments): LOQA agents find tit-for-tat-like policies. Reward per
    step well above mutual defection (-2), cooperation after mutual cooperation, retaliation
    after being exploited (own-view state CD)."""
    learners = (registry.algorithm("loqa").build("ipd"), registry.algorithm("loqa").build("ipd"))
    states, rewards, _ = play(ipd, learners, seeds=8, iterations=150)
    final = torch.stack(rewards[-1])
    assert final.mean() > -1.5, final
    for state in states:
        cooperation = cooperation_by_state(state)
        assert cooperation["CC"].mean() > 0.8, cooperation
        assert cooperation["CD"].mean() < 0.2, cooperation
        assert cooperation["DD"].mean() < 0.2, cooperation


def test_does_not_keep_cooperating_with_always_defect_in_the_ipd(registry, ipd):
    """Against always-defect the reward approaches mutual defection (-2), not the sucker's -3."""
    players = (
        registry.algorithm("loqa").build("ipd"),
        registry.algorithm("always_defect").build("ipd"),
    )
    result = run_match(ipd, players, seeds=8, iterations=60)
    assert result.rewards[-1, :, 0].mean() > -2.1
    assert result.metrics["cooperation"][-1, :, 0].mean() < 0.1


def test_self_play_in_the_coin_game_beats_naive_learners(registry, coin_game):
    """Reduced CI scale (64 episodes, GRU 32, 80 iterations, 2 seeds): the own-coin ratio
    rises clearly above the 0.5 of naive learners (measured ≈ 0.7 here, 0.9 by 120 iterations)."""
    assert self_play_own_coin_ratio(registry, coin_game, "loqa", iterations=80) > 0.62


@pytest.mark.slow
def test_self_play_in_the_coin_game_reaches_the_paper_ratio(registry, coin_game):
    """LOQA paper (coin-game league): own-coin ratio ≈ 0.9-0.95 in self-play on the 3x3 game."""
    assert self_play_own_coin_ratio(registry, coin_game, "loqa", iterations=200, seeds=4) >= 0.8


@pytest.mark.slow
def test_always_defect_does_not_exploit_it_in_the_coin_game(registry, coin_game):
    """Its reward per step is within 0.1 of always-defect's (a cooperator trails by 0.87)."""
    assert deficit_against_always_defect(registry, coin_game, "loqa", iterations=250) < 0.1


def test_self_play_episodes_against_past_selves(registry, ipd):
    """The paper's training regime: extra ε-greedy episodes against snapshots of
    itself from a replay buffer; the buffer keeps the last `replay_capacity` snapshots."""
    learner = with_config(
        registry, "loqa", "ipd", self_play_batch=8, explore=0.2, replay_capacity=2, replay_every=1
    )
    states, _, _ = play(ipd, (learner, registry.algorithm("naive").build("ipd")), 2, 4)
    assert len(states[0].replay) == 2
    assert torch.isfinite(states[0].params).all()


def test_exploring_policy_mixes_in_uniform_actions(ipd):
    always_defect = ipd.fixed_policy("always_defect", 1)
    generator = torch.Generator().manual_seed(0)
    states = torch.zeros(1, 20000, dtype=torch.long)
    greedy, _ = Exploring(always_defect, 0.0, 2).act(states, generator)
    assert (greedy == 1).all()
    mixed, _ = Exploring(always_defect, 0.5, 2).act(states, generator)
    assert abs((mixed == 0).float().mean().item() - 0.25) < 0.02  # ε/2 of the actions flip
