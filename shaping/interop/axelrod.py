"""Strategies of the Axelrod library (Knight et al. 2016, `axelrod` on PyPI) as zoo policies.

Importing axelrod takes seconds (it instantiates every strategy) and, as a side effect, sets
multiprocessing's start method to "spawn" for the whole process. `import_axelrod` imports it
on first use only and restores the start method the process had, so that importing the zoo
never imports axelrod and a process that plays Axelrod strategies keeps its own
multiprocessing settings (the tournament's pool asks for "spawn" explicitly anyway).

Actions: the zoo's action 0 is Axelrod's C and action 1 its D (`axelrod.Action.C.value == 0`).

Payoffs. The zoo's matrix games keep their own rewards; Axelrod strategies that read the game
(`makes_use_of` "game", e.g. GTFT) are told the zoo game's (R, S, T, P) shifted by -S, so that
the sucker's payoff is 0 as in Axelrod's convention (default R=3, S=0, T=5, P=1). A shift
changes no comparison between payoffs and no ratio of payoff differences, so it changes no
strategy's behaviour; the zoo's IPD (R=-1, S=-3, T=0, P=-2) becomes (2, 0, 3, 1).
`zoo_payoffs` goes the other way: the zoo table of an Axelrod game.

Two ways to play. Strategies that are memory-one in the zoo's sense (they see only the last
joint action) become exact tabular policies: deterministic ones with memory depth <= 1 that
read neither the match length nor the game are probed in each of the five own-view states,
and Axelrod's `MemoryOnePlayer`s give their four-vector. Every other strategy is a black box
(`AxelrodPolicy`): one Axelrod player per sampled episode, fed the co-player's actions.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Sequence
from functools import cache
from types import ModuleType
from typing import Any

import torch
from torch import Tensor

from shaping.contracts.errors import UnsupportedError
from shaping.contracts.policies import MEMORY_ONE_STATES, BlackBoxPolicy, Feedback

#: (R, S, T, P): reward, sucker's payoff, temptation, punishment (Axelrod's names)
RSTP = tuple[float, float, float, float]


@cache
def import_axelrod() -> ModuleType:
    """The axelrod module, imported once, with multiprocessing's start method left as it was
    (axelrod's tournament module forces "spawn" at import)."""
    previous = multiprocessing.get_start_method(allow_none=True)
    try:
        import axelrod
    except ImportError:
        raise UnsupportedError(
            "the Axelrod library is not installed (pip install '.[axelrod]'; make install does)"
        ) from None
    finally:
        multiprocessing.set_start_method(previous, force=True)
    return axelrod


# --- payoffs ---------------------------------------------------------------------------------


def symmetric_rstp(payoffs: Sequence[Sequence[Sequence[float]]]) -> RSTP:
    """(R, S, T, P) of a symmetric 2x2 zoo payoff table (payoffs[a1][a2] = [r1, r2], action 0
    = C); raises UnsupportedError when the game is not symmetric."""
    for a1 in (0, 1):
        for a2 in (0, 1):
            if payoffs[a1][a2][0] != payoffs[a2][a1][1]:
                raise UnsupportedError(
                    "Axelrod strategies play symmetric games (R, S, T, P); this payoff table "
                    f"is not symmetric: {[list(map(list, row)) for row in payoffs]}"
                )
    return (
        float(payoffs[0][0][0]),
        float(payoffs[0][1][0]),
        float(payoffs[1][0][0]),
        float(payoffs[1][1][0]),
    )


def axelrod_rstp(payoffs: Sequence[Sequence[Sequence[float]]]) -> RSTP:
    """The zoo game's (R, S, T, P) in Axelrod's convention: shifted so that S = 0."""
    reward, sucker, temptation, punishment = symmetric_rstp(payoffs)
    return reward - sucker, 0.0, temptation - sucker, punishment - sucker


def axelrod_game(payoffs: Sequence[Sequence[Sequence[float]]]) -> Any:
    """An `axelrod.Game` for a symmetric zoo payoff table (see `axelrod_rstp`)."""
    reward, sucker, temptation, punishment = axelrod_rstp(payoffs)
    return import_axelrod().Game(r=reward, s=sucker, t=temptation, p=punishment)


def zoo_payoffs(game: Any) -> list[list[list[float]]]:
    """The zoo payoff table (payoffs[a1][a2] = [r1, r2], action 0 = C) of an `axelrod.Game`."""
    reward, punishment, sucker, temptation = (float(v) for v in game.RPST())
    return [
        [[reward, reward], [sucker, temptation]],
        [[temptation, sucker], [punishment, punishment]],
    ]


# --- strategies ------------------------------------------------------------------------------


@cache
def strategy_classes() -> dict[str, type]:
    """Every strategy of the library by class name, cheaters included."""
    return {cls.__name__: cls for cls in import_axelrod().all_strategies}


@cache
def strategy_names() -> list[str]:
    """Class names of the strategies that can play in the zoo: Axelrod's ordinary strategies
    (`axelrod.strategies`), i.e. all but the cheaters, which inspect source code (e.g. who
    calls them) or manipulate source or state (e.g. remember across matches)."""
    return sorted(cls.__name__ for cls in import_axelrod().strategies)


def strategy_problem(name: str) -> str | None:
    """None if `name` is a strategy the zoo can play, else a one-line reason."""
    if name in strategy_names():
        return None
    if name in strategy_classes():
        return (
            f"{name} is a cheating strategy in Axelrod's classification (it inspects source "
            "code or manipulates source or state, e.g. keeps a memory across matches)"
        )
    from difflib import get_close_matches

    close = get_close_matches(name, strategy_names(), n=3)
    hint = (
        f"did you mean {' or '.join(repr(c) for c in close)}?"
        if close
        else "`shaping list --choices axelrod` lists them"
    )
    return f"unknown Axelrod strategy ({len(strategy_names())} strategies; {hint})"


def strategy_class(name: str) -> type:
    problem = strategy_problem(name)
    if problem:
        raise UnsupportedError(f"axelrod:{name}: {problem}")
    return strategy_classes()[name]


@cache
def co_player_class() -> type:
    """The stand-in Axelrod player for the zoo co-player: strategies read its history (and
    counts) through Axelrod's own `Player` API; its moves come from the zoo."""
    axelrod = import_axelrod()

    class ZooCoPlayer(axelrod.Player):
        name = "zoo co-player"

        def strategy(self, opponent: Any) -> Any:
            raise UnsupportedError("the zoo co-player's moves come from the zoo")

    return ZooCoPlayer


def _prepared(cls: type, horizon: int, payoffs: Sequence) -> Any:
    player = cls()
    player.set_match_attributes(length=horizon, game=axelrod_game(payoffs), noise=0)
    return player


def memory_one_logits(name: str, horizon: int, payoffs: Sequence) -> list[float] | None:
    """Logits of P(C) in the own-view states (s0, CC, CD, DC, DD) when the strategy is
    memory-one in the zoo's sense (see the module docstring), else None."""
    axelrod = import_axelrod()
    cls = strategy_class(name)
    player = _prepared(cls, horizon, payoffs)
    classify = axelrod.Classifiers
    if isinstance(player, axelrod.MemoryOnePlayer):
        if player._initial not in (axelrod.Action.C, axelrod.Action.D):
            return None
        probabilities = [1.0 if player._initial == axelrod.Action.C else 0.0]
        actions = (axelrod.Action.C, axelrod.Action.D)
        probabilities += [player._four_vector[(own, other)] for own in actions for other in actions]
        return [_logit(p) for p in probabilities]
    deterministic = not classify["stochastic"](player)
    if not (deterministic and classify["memory_depth"](player) <= 1):
        return None
    if classify["makes_use_of"](player):
        return None
    logits = []
    for state in MEMORY_ONE_STATES:
        probe = _prepared(cls, horizon, payoffs)
        co_player = co_player_class()()
        if state != "s0":
            own, other = (axelrod.Action.C if c == "C" else axelrod.Action.D for c in state)
            probe.update_history(own, other)
            co_player.update_history(other, own)
        logits.append(math.inf if probe.strategy(co_player) == axelrod.Action.C else -math.inf)
    return logits


def _logit(probability: float) -> float:
    if probability <= 0.0:
        return -math.inf
    if probability >= 1.0:
        return math.inf
    return math.log(probability / (1.0 - probability))


class AxelrodPolicy(BlackBoxPolicy):
    """An Axelrod strategy playing S x B sampled episodes, one Axelrod player per episode.

    Players are created once and `reset` (Axelrod's own reset) at every new episode, told the
    episode length and the game, and, when stochastic, seeded from the roll-out's generator,
    so a match is reproducible from its seed. The co-player's moves reach each player through
    `observe` and a stand-in co-player whose history Axelrod strategies read.
    """

    def __init__(self, name: str, horizon: int, payoffs: Sequence, device: torch.device) -> None:
        axelrod = import_axelrod()
        self.name = name
        self.cls = strategy_class(name)
        self.horizon = horizon
        self.game = axelrod_game(payoffs)
        self.device = device
        self.stochastic = axelrod.Classifiers["stochastic"](self.cls())
        self.actions = (axelrod.Action.C, axelrod.Action.D)
        self.players: list[Any] = []
        self.co_players: list[Any] = []
        self.shape: tuple[int, int] = (0, 0)

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> None:
        count = seeds * batch
        while len(self.players) < count:
            self.players.append(self.cls())
            self.co_players.append(co_player_class()())
        episode_seeds = (
            torch.randint(
                2**31 - 1, (count,), generator=generator, device=generator.device
            ).tolist()
            if self.stochastic
            else None
        )
        for index in range(count):
            player = self.players[index]
            player.reset()
            player.set_match_attributes(length=self.horizon, game=self.game, noise=0)
            if episode_seeds is not None:
                player.set_seed(episode_seeds[index])
            self.co_players[index].reset()
        self.shape = (seeds, batch)

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        count = self.shape[0] * self.shape[1]
        moves = [
            player.strategy(co_player).value
            for player, co_player in zip(self.players[:count], self.co_players, strict=False)
        ]
        return torch.tensor(moves, device=self.device).view(self.shape), None

    def observe(self, feedback: Feedback) -> None:
        actions = self.actions
        own_moves = feedback.own_action.flatten().tolist()
        other_moves = feedback.other_action.flatten().tolist()
        for player, co_player, own, other in zip(
            self.players, self.co_players, own_moves, other_moves, strict=False
        ):
            player.update_history(actions[own], actions[other])
            co_player.update_history(actions[other], actions[own])
