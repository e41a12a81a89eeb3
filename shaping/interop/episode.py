"""One episode of a zoo game at a time, in numpy: the core that the PettingZoo and RLlib
environments share.

A zoo game is batched over [S seeds, B episodes]; environment APIs step one episode. Here
S = B = 1: observations come back as numpy values of the game's `observation_spec` (an
index, optionally one-hot encoded, or a float vector) and an episode lasts `game.horizon`
steps, after which it is truncated (the zoo's sampled episodes have that length; the matrix
games' exact values are for the infinitely repeated game, hence truncation, not termination).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from shaping.contracts.errors import ConfigError
from shaping.contracts.game import Game

#: agent names of seats 0 and 1
AGENTS = ("player_0", "player_1")


def make_game(game: Game | str, device: str = "cpu", configs: str | None = None) -> Game:
    """`game` itself, or the registered game of that name (zoo_configs/games.yaml)."""
    if isinstance(game, Game):
        return game
    from shaping.engine.registry import Registry

    return Registry.load(configs).game(game, "game").build(device)


class GameEpisode:
    """Steps one episode of `game`; with `one_hot`, index observations become one-hot float
    vectors (RLlib's default models take vectors)."""

    def __init__(self, game: Game, one_hot: bool = False) -> None:
        self.game = game
        self.spec = game.observation_spec()
        self.one_hot = one_hot and self.spec.categories is not None
        self.generator = torch.Generator(device=game.device)
        self.generator.seed()
        self.state: Any = None
        self.steps = 0

    @property
    def horizon(self) -> int:
        return self.game.horizon

    def observation_space(self) -> Any:
        import gymnasium

        spec = self.spec
        if spec.categories is None:
            return gymnasium.spaces.Box(spec.low, spec.high, spec.shape, np.float32)
        if self.one_hot:
            return gymnasium.spaces.Box(0.0, 1.0, (spec.categories,), np.float32)
        return gymnasium.spaces.Discrete(spec.categories)

    def action_space(self) -> Any:
        import gymnasium

        return gymnasium.spaces.Discrete(self.game.num_actions)

    def reset(self, seed: int | None = None) -> tuple[Any, Any]:
        """A new episode; `seed` reseeds the environment's generator."""
        if seed is not None:
            if not isinstance(seed, int) or seed < 0:
                raise ConfigError(f"seed: must be an integer >= 0, got {seed!r}")
            self.generator.manual_seed(seed)
        self.state = self.game.reset(1, 1, self.generator)
        self.steps = 0
        return self._observations()

    def step(self, action_0: int, action_1: int) -> tuple[tuple[Any, Any], tuple[float, float]]:
        """Both players act at once; their next observations and rewards."""
        if self.state is None:
            raise RuntimeError("step() before reset()")
        if self.steps >= self.horizon:
            raise RuntimeError("the episode is over: call reset()")
        space = self.action_space()
        for agent, action in zip(AGENTS, (action_0, action_1), strict=True):
            if not space.contains(action):
                raise ConfigError(f"{agent}: action must be in {space}, got {action!r}")
        device = self.game.device
        joint = tuple(torch.tensor([[int(a)]], device=device) for a in (action_0, action_1))
        self.state, rewards, _ = self.game.step(self.state, joint, self.generator)
        self.steps += 1
        return self._observations(), (float(rewards[0]), float(rewards[1]))

    @property
    def truncated(self) -> bool:
        return self.steps >= self.horizon

    def _observations(self) -> tuple[Any, Any]:
        return self._convert(self.game.observe(self.state, 0)), self._convert(
            self.game.observe(self.state, 1)
        )

    def _convert(self, observation: torch.Tensor) -> Any:
        value = observation[0, 0].cpu()
        if self.spec.categories is None:
            return value.numpy().astype(np.float32)
        if self.one_hot:
            encoded = np.zeros(self.spec.categories, dtype=np.float32)
            encoded[int(value)] = 1.0
            return encoded
        return np.int64(value)
