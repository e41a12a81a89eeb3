"""Any zoo game as an RLlib `MultiAgentEnv` (Liang et al. 2018, RLlib).

    from ray.rllib.algorithms.ppo import PPOConfig
    from shaping.interop.rllib_env import ZooMultiAgentEnv
    config = (
        PPOConfig()
        .environment(ZooMultiAgentEnv, env_config={"game": "ipd"})
        .multi_agent(
            policies={"player_0", "player_1"},
            policy_mapping_fn=lambda agent_id, episode, **kwargs: agent_id,
        )
    )

env_config: `game` (a registered name, default "ipd"), `device` (default "cpu"), `configs`
(a zoo_configs directory), `one_hot` (default true: index observations, such as the matrix
games' own-view state, become one-hot vectors, which RLlib's default models take).
Agents, rewards and episode ends are those of `shaping.interop.parallel_env`. Requires the
`rllib` extra.
"""

from __future__ import annotations

from typing import Any

from ray.rllib.env.multi_agent_env import MultiAgentEnv

from shaping.interop.episode import AGENTS, GameEpisode, make_game

ALL = "__all__"


class ZooMultiAgentEnv(MultiAgentEnv):
    """A registered zoo game, one episode at a time, for RLlib's env runners."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        config = dict(config or {})
        game = make_game(
            config.get("game", "ipd"), config.get("device", "cpu"), config.get("configs")
        )
        self.episode = GameEpisode(game, one_hot=bool(config.get("one_hot", True)))
        self.possible_agents = list(AGENTS)
        self.agents = list(AGENTS)
        self.observation_spaces = {agent: self.episode.observation_space() for agent in AGENTS}
        self.action_spaces = {agent: self.episode.action_space() for agent in AGENTS}

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, Any], dict[str, dict]]:
        observations = self.episode.reset(seed)
        self.agents = list(AGENTS)
        return dict(zip(AGENTS, observations, strict=True)), {agent: {} for agent in AGENTS}

    def step(self, action_dict: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        observations, rewards = self.episode.step(action_dict[AGENTS[0]], action_dict[AGENTS[1]])
        truncated = self.episode.truncated
        if truncated:
            self.agents = []
        return (
            dict(zip(AGENTS, observations, strict=True)),
            dict(zip(AGENTS, rewards, strict=True)),
            {agent: False for agent in (*AGENTS, ALL)},
            {agent: truncated for agent in (*AGENTS, ALL)},
            {},
        )
