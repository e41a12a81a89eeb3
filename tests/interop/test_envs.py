"""Every zoo game with roll-outs as a PettingZoo ParallelEnv (PettingZoo's own API and seed
tests) and as an RLlib MultiAgentEnv (RLlib builds PPO on it and trains one iteration)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from shaping.contracts.errors import UnsupportedError
from shaping.engine.registry import Registry


def _has_episodes(entry) -> bool:
    try:
        entry.build().observation_spec()
    except UnsupportedError:
        return False
    return True


_ENTRIES = Registry.load().games
#: games with episodes, which the environment APIs wrap; the exact-only test games have none
GAMES = [name for name, entry in _ENTRIES.items() if _has_episodes(entry)]
EXACT_ONLY = [name for name in _ENTRIES if name not in GAMES]


def test_the_matrix_and_coin_games_are_wrapped_and_the_exact_only_games_refused():
    from shaping.interop.parallel_env import ZooParallelEnv

    assert {"ipd", "matching_pennies", "coin_game"} <= set(GAMES)
    assert set(EXACT_ONLY) == {"tandem", "one_shot_pennies"}
    for game in EXACT_ONLY:
        with pytest.raises(UnsupportedError, match=f"game '{game}' does not describe"):
            ZooParallelEnv(game)


@pytest.mark.parametrize("game", GAMES)
def test_pettingzoo_parallel_api_and_seed_tests_pass(game):
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    from shaping.interop.parallel_env import ZooParallelEnv

    parallel_api_test(ZooParallelEnv(game), num_cycles=300)
    parallel_seed_test(lambda: ZooParallelEnv(game))


def test_parallel_env_plays_the_zoo_game_in_each_players_own_view():
    from shaping.interop.parallel_env import ZooParallelEnv

    env = ZooParallelEnv("ipd")
    observations, _ = env.reset(seed=0)
    assert observations == {"player_0": 0, "player_1": 0}  # s0
    # player_0 cooperates, player_1 defects: the sucker's payoff and the temptation
    observations, rewards, terminations, truncations, _ = env.step({"player_0": 0, "player_1": 1})
    assert rewards == {"player_0": -3.0, "player_1": 0.0}
    # each player sees the joint action own action first: CD for player_0, DC for player_1
    assert observations == {"player_0": 2, "player_1": 3}
    assert not any(terminations.values()) and not any(truncations.values())
    for _ in range(98):
        env.step({"player_0": 1, "player_1": 1})
    _, rewards, _, truncations, _ = env.step({"player_0": 1, "player_1": 1})
    assert rewards == {"player_0": -2.0, "player_1": -2.0}
    assert all(truncations.values()) and env.agents == []  # 100 steps, as the zoo samples


def test_coin_game_env_observations_are_the_zoo_egocentric_planes():
    from shaping.interop.parallel_env import ZooParallelEnv

    env = ZooParallelEnv("coin_game")
    observations, _ = env.reset(seed=3)
    for observation in observations.values():
        assert observation.shape == (36,) and observation.dtype == np.float32
        planes = observation.reshape(4, 9)
        assert planes[0, 4] == 1.0 and planes[0].sum() == 1  # oneself in the centre
        assert planes[1].sum() == 1 and planes[2:].sum() == 1  # the other, one coin
    assert env.observation_space("player_0").contains(observations["player_0"])


@pytest.fixture(scope="module")
def local_ray():
    """A private local Ray instance (RLlib's algorithms start one), shut down afterwards."""
    ray = pytest.importorskip("ray")
    temporary = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_AUTH_MODE", "disabled")
    patch.setenv("RAY_TMPDIR", str(temporary))
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, _temp_dir=str(temporary))
    yield ray
    ray.shutdown()
    patch.undo()
    shutil.rmtree(temporary, ignore_errors=True)


def test_rllib_builds_ppo_on_every_games_multi_agent_env_and_trains_one_iteration(local_ray):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    from shaping.interop.rllib_env import ZooMultiAgentEnv

    for game in GAMES:
        check_multiagent_environments(ZooMultiAgentEnv({"game": game}))
        config = (
            PPOConfig()
            .environment(ZooMultiAgentEnv, env_config={"game": game})
            .multi_agent(
                policies={"player_0", "player_1"},
                policy_mapping_fn=lambda agent_id, episode, **kwargs: agent_id,
            )
            .env_runners(num_env_runners=0)
            .learners(num_learners=0)
            .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
            .rl_module(model_config={"fcnet_hiddens": [16]})
            .debugging(seed=0)
        )
        algorithm = config.build_algo()
        try:
            before = {
                agent: algorithm.get_module(agent).state_dict()
                for agent in ("player_0", "player_1")
            }
            before = {a: {k: v.clone() for k, v in s.items()} for a, s in before.items()}
            result = algorithm.train()
            assert result["env_runners"]["num_env_steps_sampled_lifetime"] >= 200, game
            for agent in ("player_0", "player_1"):
                after = algorithm.get_module(agent).state_dict()
                assert any(not np.array_equal(before[agent][k], after[k]) for k in after), game
        finally:
            algorithm.stop()
