"""Any zoo game as a PettingZoo `ParallelEnv` (Terry et al. 2021, PettingZoo).

    from shaping.interop.parallel_env import ZooParallelEnv
    env = ZooParallelEnv("ipd")
    observations, infos = env.reset(seed=0)
    observations, rewards, terminations, truncations, infos = env.step(
        {"player_0": 0, "player_1": 1}
    )

Agents `player_0` and `player_1` are the game's seats 0 and 1, each observing in its own view
(matrix games: the own-view state index s0, CC, CD, DC, DD as `Discrete(5)`; coin game: the
egocentric planes as a `Box`). Rewards are the zoo's. Episodes last `game.horizon` steps and
end by truncation. Requires the `pettingzoo` extra.
"""

from __future__ import annotations

from typing import Any

from pettingzoo import ParallelEnv

from shaping.contracts.game import Game
from shaping.interop.episode import AGENTS, GameEpisode, make_game


class ZooParallelEnv(ParallelEnv):
    """A registered game (by name) or a `Game` instance, one episode at a time."""

    metadata = {"render_modes": [], "is_parallelizable": True}  # noqa: RUF012

    def __init__(self, game: Game | str = "ipd", device: str = "cpu", configs: str | None = None):
        self.episode = GameEpisode(make_game(game, device, configs))
        self.metadata = {**self.metadata, "name": f"shaping_{self.episode.game.name}_v0"}
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self.render_mode = None
        # the same space objects every time, as PettingZoo asks
        self._observation_space = self.episode.observation_space()
        self._action_space = self.episode.action_space()

    def observation_space(self, agent: str) -> Any:
        return self._observation_space

    def action_space(self, agent: str) -> Any:
        return self._action_space

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, Any], dict[str, dict]]:
        observations = self.episode.reset(seed)
        self.agents = list(AGENTS)
        return dict(zip(AGENTS, observations, strict=True)), {agent: {} for agent in AGENTS}

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        observations, rewards = self.episode.step(actions[AGENTS[0]], actions[AGENTS[1]])
        truncated = self.episode.truncated
        result = (
            dict(zip(AGENTS, observations, strict=True)),
            dict(zip(AGENTS, rewards, strict=True)),
            {agent: False for agent in AGENTS},
            {agent: truncated for agent in AGENTS},
            {agent: {} for agent in AGENTS},
        )
        if truncated:
            self.agents = []
        return result

    def state(self) -> Any:
        raise NotImplementedError("the zoo's games expose each player's view, not a global state")
