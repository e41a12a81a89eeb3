"""The coin game's compact policy family (two coin-chasing weights), used by COLA and MeVa's
coin-game extension: features on crafted states, and the behaviour the weights mean."""

from __future__ import annotations

import torch

from games.coin_game import CoinState
from shaping.contracts.policies import TabularFamily
from tests.conftest import generator

RIGHT, LEFT, DOWN, UP = range(4)
RED, BLUE = 0, 1


def logits(game, weights, p1: int, p2: int, coin: int, owner: int, seat: int = 0):
    current = CoinState(torch.tensor([[[p1, p2]]]), torch.tensor([[coin]]), torch.tensor([[owner]]))
    policy = game.compact_family().build(torch.tensor([weights]))
    return policy.action_log_probs(game.observe(current, seat).unsqueeze(0))[0, 0, 0]


def test_own_coin_weight_steps_towards_own_coins(coin_game):
    # player 1 on the centre (4), its red coin one step to the right (5)
    log_probs = logits(coin_game, [3.0, -5.0], p1=4, p2=0, coin=5, owner=RED)
    probabilities = log_probs.exp()
    assert probabilities.argmax() == RIGHT
    torch.testing.assert_close(probabilities[RIGHT] / probabilities[LEFT], torch.tensor(3.0).exp())


def test_diagonal_coin_is_approached_by_both_shortest_moves(coin_game):
    # coin at cell 0 = one row up and one column left of the centre
    probabilities = logits(coin_game, [2.0, 0.0], p1=4, p2=8, coin=0, owner=RED).exp()
    torch.testing.assert_close(probabilities[LEFT], probabilities[UP])
    torch.testing.assert_close(probabilities[RIGHT], probabilities[DOWN])
    assert probabilities[LEFT] > 2 * probabilities[RIGHT]


def test_other_coin_weight_applies_to_the_other_players_coin_in_each_seat(coin_game):
    # a blue coin is player 1's "other" coin and player 2's own coin
    seen_by_first = logits(coin_game, [0.0, -4.0], p1=4, p2=0, coin=5, owner=BLUE, seat=0).exp()
    assert seen_by_first[RIGHT] < seen_by_first[LEFT] / 50
    # player 2 on cell 4 too is impossible, so put it on 3 with the blue coin to its right (4)
    seen_by_second = logits(coin_game, [4.0, 0.0], p1=0, p2=3, coin=4, owner=BLUE, seat=1).exp()
    assert seen_by_second.argmax() == RIGHT


def test_weights_span_the_dilemma(coin_game):
    """(w_own, w_other) = (4, -4): takes only its own coins; (4, 4): takes any coin."""
    family = coin_game.compact_family()

    def own_coin_ratio(weights):
        params = torch.tensor([weights]).expand(2, -1)
        episodes = coin_game.rollout(
            (family.build(params), family.build(params)), 2, generator(3), batch=32
        )
        return coin_game.sampled_metrics(episodes)["own_coin_ratio"][0].mean()

    assert own_coin_ratio([4.0, -4.0]) > 0.97
    assert 0.35 < own_coin_ratio([4.0, 4.0]) < 0.65


def test_matrix_games_keep_their_tabular_family(ipd):
    assert isinstance(ipd.compact_family(), TabularFamily)
    assert ipd.compact_family() is ipd.default_family()
