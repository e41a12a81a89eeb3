"""The coin game (Lerer & Peysakhovich 2017; LOLA, Foerster et al. 2018), vectorised in torch.

Rules, as in the POLA/LOQA version of the 3x3 game:
* an n x n torus (default 3 x 3), two players, one coin coloured like one of them;
* 4 moves: right, left, down, up (wrapping around the edges);
* whoever steps on the coin takes it and gets +1; if the coin has the *other* player's
  colour, that other player gets -2;
* ties are symmetric: if both players arrive on the coin at once, both take it, both get +1,
  and the coin's owner also gets -2 (the LOLA code lets red always win ties, a known bug);
* a taken coin respawns at once with the other colour, uniformly on a cell not occupied by a
  player; an episode starts with both players on uniformly random cells and the coin on a
  free cell with a random colour.

Observations are egocentric so one network can play either seat: 4 one-hot n x n planes
(own position, other's position, coin of own colour, coin of other's colour), rolled so that
the observer stands in the centre cell. Actions and the environment are batched over
[S seeds, B episodes]; one step is a handful of tensor operations on the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from shaping.contracts.config import discount, field, in_range, positive
from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import Game, ObservationSpec, Pair, Trajectories
from shaping.contracts.policies import (
    BlackBoxPolicy,
    Feedback,
    NetworkFamily,
    PolicyFamily,
    sample_categorical,
)
from shaping.numerics.nets import BatchedMLP, SeedBatchedModule

#: (row, column) displacement of each action
MOVES = ((0, 1), (0, -1), (1, 0), (-1, 0))
CHANNELS = 4


@dataclass(frozen=True)
class CoinGameConfig:
    grid_size: int = field(3, check=in_range(2, 32), doc="side of the square torus")
    horizon: int = field(50, check=positive, doc="steps per episode (POLA/LOQA: 50)")
    batch: int = field(64, check=positive, doc="episodes per seed per iteration")
    gamma: float = field(0.96, check=discount, doc="discount of the DiCE objectives")
    hidden: tuple[int, ...] = field((32,), doc="hidden layer sizes of the default policy MLP")
    activation: str = field("relu", doc="activation of the default policy MLP")

    def validate(self) -> str | None:
        if any(size <= 0 for size in self.hidden):
            return f"hidden: every layer size must be > 0, got {list(self.hidden)}"
        if self.activation not in ("relu", "tanh", "silu"):
            return f"activation: must be one of relu, tanh, silu, got {self.activation!r}"
        return None


@dataclass
class CoinState:
    """Positions are cell indices row * n + column; owner 0 means player 1's colour."""

    positions: Tensor  # [S, B, 2]
    coin: Tensor  # [S, B]
    owner: Tensor  # [S, B]


class CoinGame(Game):
    Config = CoinGameConfig
    metric_names: ClassVar[tuple[str, ...]] = ("own_coin_ratio",)
    num_actions = len(MOVES)

    def __init__(self, name: str, config: CoinGameConfig, device: torch.device | str = "cpu"):
        super().__init__(name, config, device)
        n = config.grid_size
        self.cells = n * n
        self.centre = (n // 2) * n + n // 2
        rows = torch.arange(self.cells, device=self.device) // n
        cols = torch.arange(self.cells, device=self.device) % n
        moves = torch.tensor(MOVES, device=self.device)
        # destination of each (cell, move)
        self.move_table = ((rows[:, None] + moves[:, 0]) % n) * n + (
            cols[:, None] + moves[:, 1]
        ) % n
        # egocentric cell of `cell` seen from `origin`: relative[origin, cell]
        centre_row, centre_col = n // 2, n // 2
        rel_rows = (rows[None, :] - rows[:, None] + centre_row) % n
        rel_cols = (cols[None, :] - cols[:, None] + centre_col) % n
        self.relative = rel_rows * n + rel_cols
        # whether a move from the centre lands on each egocentric cell: [cell, move]
        self.lands_on = (
            self.move_table[self.centre][None, :]
            == torch.arange(self.cells, device=self.device)[:, None]
        )
        # first step from the centre towards each egocentric cell (shortest torus path)
        offsets_row = torch.arange(self.cells, device=self.device) // n - centre_row
        offsets_col = torch.arange(self.cells, device=self.device) % n - centre_col
        towards = torch.where(
            offsets_row != 0,
            torch.where(offsets_row > 0, 2, 3),
            torch.where(offsets_col > 0, 0, 1),
        )
        self.towards = towards
        module = BatchedMLP(
            (CHANNELS * self.cells, *config.hidden, self.num_actions), config.activation
        )
        self._family = NetworkFamily(module, tag=f"coin_mlp_{n}")

        # whether a move from the centre brings the observer closer (torus distance) to each
        # egocentric cell: [cell, move]
        def torus_distance(a: Tensor, b: Tensor) -> Tensor:
            row_gap = (rows[a] - rows[b]).abs()
            col_gap = (cols[a] - cols[b]).abs()
            return torch.minimum(row_gap, n - row_gap) + torch.minimum(col_gap, n - col_gap)

        every_cell = torch.arange(self.cells, device=self.device)
        here = torus_distance(torch.full_like(every_cell, self.centre), every_cell)
        after = torus_distance(self.move_table[self.centre][None, :], every_cell[:, None])
        self._compact_family = NetworkFamily(
            CoinChaseNet((after < here[:, None]).float()), tag=f"coin_chase_{n}"
        )

    # --- policies -------------------------------------------------------------------------

    def default_family(self) -> PolicyFamily:
        return self._family

    def compact_family(self) -> PolicyFamily:
        """Two-parameter coin-chasing policies (`CoinChaseNet`): how strongly to step towards
        a coin of one's own colour and towards a coin of the other's colour."""
        return self._compact_family

    def fixed_policy(self, strategy: str, seeds: int) -> ScriptedCoinPolicy:
        if strategy not in ScriptedCoinPolicy.STRATEGIES:
            raise UnsupportedError(
                f"unknown fixed strategy {strategy!r}; known: {list(ScriptedCoinPolicy.STRATEGIES)}"
            )
        return ScriptedCoinPolicy(self, strategy)

    # --- environment ----------------------------------------------------------------------

    def _free_cell(self, positions: Tensor, generator: torch.Generator) -> Tensor:
        """A uniformly random cell not occupied by either player, [S, B]."""
        scores = torch.rand(
            (*positions.shape[:2], self.cells), generator=generator, device=self.device
        )
        scores.scatter_(-1, positions, -1.0)
        return scores.argmax(-1)

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> CoinState:
        positions = torch.randint(
            self.cells, (seeds, batch, 2), generator=generator, device=self.device
        )
        owner = torch.randint(2, (seeds, batch), generator=generator, device=self.device)
        return CoinState(positions, self._free_cell(positions, generator), owner)

    def step(self, state: CoinState, actions: Pair, generator: torch.Generator):
        moves = torch.stack(actions, dim=-1)
        positions = self.move_table[state.positions, moves]
        takes = positions == state.coin.unsqueeze(-1)
        take_0, take_1 = takes[..., 0], takes[..., 1]
        mine_0 = state.owner == 0
        own_0, other_0 = take_0 & mine_0, take_0 & ~mine_0
        own_1, other_1 = take_1 & ~mine_0, take_1 & mine_0
        reward_0 = take_0.float() - 2.0 * other_1.float()
        reward_1 = take_1.float() - 2.0 * other_0.float()
        taken = take_0 | take_1
        coin = torch.where(taken, self._free_cell(positions, generator), state.coin)
        owner = torch.where(taken, 1 - state.owner, state.owner)
        events = {"own_coin": (own_0, own_1), "other_coin": (other_0, other_1)}
        return CoinState(positions, coin, owner), (reward_0, reward_1), events

    def observe(self, state: CoinState, player: int) -> Tensor:
        own = state.positions[..., player]
        other = state.positions[..., 1 - player]
        coin_channel = 2 + (state.owner != player).long()
        cells = self.cells
        index = torch.stack(
            (
                torch.full_like(own, self.centre),
                cells + self.relative[own, other],
                coin_channel * cells + self.relative[own, state.coin],
            ),
            dim=-1,
        )
        observation = torch.zeros((*own.shape, CHANNELS * cells), device=self.device)
        return observation.scatter_(-1, index, 1.0)

    def observation_spec(self) -> ObservationSpec:
        """Four egocentric one-hot planes of the grid, flattened."""
        return ObservationSpec(shape=(CHANNELS * self.cells,), low=0.0, high=1.0)

    def sampled_metrics(self, trajectories: Trajectories) -> dict[str, Pair]:
        """Own-coin ratio: own-colour coins taken / all coins taken (0.5 when none taken)."""
        own, other = trajectories.events["own_coin"], trajectories.events["other_coin"]

        def ratio(seat: int) -> Tensor:
            own_count = own[seat].float().sum(dim=(0, 2))
            total = own_count + other[seat].float().sum(dim=(0, 2))
            return torch.where(
                total > 0, own_count / total.clamp(min=1), torch.full_like(total, 0.5)
            )

        return {"own_coin_ratio": (ratio(0), ratio(1))}


class CoinChaseNet(SeedBatchedModule):
    """The coin game's compact policy family: logits[a] = w_own·[a steps towards a coin of
    the observer's colour] + w_other·[a steps towards a coin of the other's colour], with
    w = (w_own, w_other) per seed. It spans the game's dilemma with two numbers: w_own > 0
    collects one's own coins, w_other > 0 defects (takes the other's), w_other < 0 leaves
    them alone; w = 0 moves at random."""

    def __init__(self, closer: Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(2))
        self.register_buffer("closer", closer)  # [cell, move]: the move nears that cell

    def fan_in(self, name: str) -> int:
        return 1

    def forward(self, observation: Tensor) -> Tensor:
        cells = self.closer.shape[0]
        own_coin = observation[..., 2 * cells : 3 * cells]
        other_coin = observation[..., 3 * cells :]
        towards_own, towards_other = own_coin @ self.closer, other_coin @ self.closer
        return towards_own * self.weight[:, None, :1] + towards_other * self.weight[:, None, 1:]


class ScriptedCoinPolicy(BlackBoxPolicy):
    """Fixed coin-game strategies acting on the egocentric observation.

    always_cooperate: go for a coin of your own colour; otherwise move anywhere but onto the
    other's coin. always_defect: go for the coin, whatever its colour. tit_for_tat: mirror the
    co-player's last pickup (defect after it took your coin, cooperate after it took its
    own; cooperate at the start). random: uniform moves.
    """

    STRATEGIES = ("always_cooperate", "always_defect", "tit_for_tat", "random")

    def __init__(self, game: CoinGame, strategy: str) -> None:
        self.game = game
        self.strategy = strategy
        self.punishing: Tensor | None = None

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> None:
        self.punishing = torch.zeros(seeds, batch, dtype=torch.bool, device=self.game.device)

    def _probabilities(self, observation: Tensor) -> Tensor:
        game = self.game
        cells = game.cells
        coin_planes = observation[..., 2 * cells :].reshape(*observation.shape[:-1], 2, cells)
        coin_cell = coin_planes.sum(-2).argmax(-1)
        coin_is_mine = coin_planes[..., 0, :].sum(-1) > 0
        uniform = torch.full(
            (*observation.shape[:-1], game.num_actions),
            1.0 / game.num_actions,
            device=observation.device,
        )
        if self.strategy == "random":
            return uniform
        chase = torch.nn.functional.one_hot(game.towards[coin_cell], game.num_actions).float()
        safe = (~game.lands_on[coin_cell]).float()
        avoid = safe / safe.sum(-1, keepdim=True)
        cooperate = torch.where(coin_is_mine.unsqueeze(-1), chase, avoid)
        if self.strategy == "always_defect":
            return chase
        if self.strategy == "always_cooperate":
            return cooperate
        return torch.where(self.punishing.unsqueeze(-1), chase, cooperate)

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        return sample_categorical(self._probabilities(observation), generator), None

    def observe(self, feedback: Feedback) -> None:
        if self.strategy != "tit_for_tat":
            return
        took_mine = feedback.other_events["other_coin"]
        took_own = feedback.other_events["own_coin"]
        self.punishing = torch.where(took_mine, True, torch.where(took_own, False, self.punishing))
