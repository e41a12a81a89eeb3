"""Opponent models recover the co-player's policy from its behaviour."""

from __future__ import annotations

import torch

from shaping.contracts.algorithm import MatchView, Outcome
from shaping.contracts.policies import FunctionPolicy, TabularPolicy
from shaping.families.opponent_model import OpponentModel, OpponentModelConfig, fit_memory_one
from tests.conftest import generator


def test_memory_one_fit_recovers_the_opponents_table(ipd):
    opponent = torch.tensor([[1.5, -0.5, 0.0, 2.0, -1.0]])
    episodes = ipd.rollout(
        (TabularPolicy(torch.zeros(1, 5)), TabularPolicy(opponent)),
        seeds=1,
        generator=generator(1),
        batch=2000,
        horizon=20,
    )
    # the opponent's own-view observations are what the model is fitted on
    fitted = fit_memory_one(episodes.observations[1], episodes.actions[1])
    torch.testing.assert_close(torch.sigmoid(fitted), torch.sigmoid(opponent), atol=0.03, rtol=0)


def test_unvisited_states_get_the_prior():
    observations = torch.zeros(3, 1, 4, dtype=torch.long)  # only s0 ever seen
    actions = torch.zeros(3, 1, 4, dtype=torch.long)
    fitted = fit_memory_one(observations, actions, prior=1.0)
    assert torch.all(fitted[0, 1:] == 0)
    assert torch.isclose(torch.sigmoid(fitted[0, 0]), torch.tensor(13 / 14))


def test_visible_opponents_are_used_exactly_and_black_boxes_are_fitted(ipd):
    table = torch.tensor([[3.0, 3.0, -3.0, 3.0, -3.0]])  # nearly tit-for-tat
    model = OpponentModel(ipd.default_family())
    visible = Outcome(
        ipd, (TabularPolicy(torch.zeros(1, 5)), TabularPolicy(table)), 1, generator(2)
    )
    family, params, _ = model.estimate(MatchView(visible, 0, 0, reveal_opponent=True))
    assert family == ipd.default_family()
    assert torch.equal(params, table)
    hidden = Outcome(
        ipd,
        (
            TabularPolicy(torch.zeros(1, 5)),
            FunctionPolicy(
                lambda obs: torch.stack(
                    (torch.sigmoid(table[0, obs]), 1 - torch.sigmoid(table[0, obs])), -1
                )
            ),
        ),
        1,
        generator(3),
    )
    fitted = model.estimate(MatchView(hidden, 0, 0, reveal_opponent=True)).params
    # tit-for-tat's visited states (s0, CC, CD, DC, DD against a random player) are recovered
    assert torch.all((torch.sigmoid(fitted) - torch.sigmoid(table)).abs() < 0.1)


def test_behaviour_cloning_recovers_a_scripted_coin_game_policy(coin_game):
    defector = coin_game.fixed_policy("always_defect", 2)
    episodes = coin_game.rollout(
        (coin_game.fixed_policy("random", 2), defector), seeds=2, generator=generator(4), batch=64
    )
    model = OpponentModel(
        coin_game.default_family(), OpponentModelConfig(cloning_steps=150, cloning_lr=0.03)
    )
    params = model.fit(episodes).params
    policy = coin_game.default_family().build(params)
    predicted = policy.action_log_probs(episodes.observations[1]).argmax(-1)
    accuracy = (predicted == episodes.actions[1]).float().mean()
    assert accuracy > 0.95


def test_fitting_returns_a_successor_and_leaves_the_model_as_it_was(coin_game):
    """A learner's state is never mutated by `update`: the fit warm-starts the successor model
    it returns, while the model it was called on keeps its own starting point, so fitting the
    same model twice gives the same estimate."""
    episodes = coin_game.rollout(
        (coin_game.fixed_policy("random", 2), coin_game.fixed_policy("always_defect", 2)),
        seeds=2,
        generator=generator(5),
        batch=8,
    )
    model = OpponentModel(coin_game.default_family(), OpponentModelConfig(cloning_steps=3))
    first = model.fit(episodes)
    again = model.fit(episodes)
    assert model.warm_start is None
    assert torch.equal(first.params, again.params)
    assert torch.equal(first.model.warm_start, first.params)
    warm = first.model.fit(episodes)  # starts from the first estimate: three more steps
    assert not torch.equal(warm.params, first.params)
    assert torch.equal(first.model.warm_start, first.params)


def test_a_modelling_learners_update_is_a_function_of_its_state(registry, coin_game):
    """LOLA-OM on the coin game fits its opponent every update; updating the same state twice
    gives the same next state, and the state it was given is left as it was."""
    lola = registry.algorithm("lola").build(
        "coin_game", {"opponent_model": True, "dice_batch": 4, "dice_horizon": 10}
    )
    state = lola.init(coin_game, 0, 2, generator(6))
    policies = (lola.policy(state), coin_game.fixed_policy("always_defect", 2))
    outcome = Outcome(coin_game, policies, 2, generator(7))
    view = MatchView(outcome, 0, 0, reveal_opponent=False)
    before = state.params.clone()
    first = lola.update(state, view)
    second = lola.update(state, MatchView(outcome, 0, 0, reveal_opponent=False))
    assert torch.equal(state.params, before) and state.model.warm_start is None
    assert torch.equal(first.model.warm_start, second.model.warm_start)
