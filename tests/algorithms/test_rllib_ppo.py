"""rllib_ppo: RLlib's PPO learner driven by the zoo's match loop. It learns best responses to
fixed co-players, is reproducible from the match seed, plays every game, and takes its
place on a tournament's leaderboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from shaping.cli import main
from shaping.contracts.errors import ConfigError
from shaping.engine.match import run_match
from shaping.engine.registry import Registry
from tests.conftest import generator

pytest.importorskip("ray.rllib")


def play(registry, game_name, a, b, seeds=2, iterations=3, seed=0):
    game = registry.game(game_name).build()
    algorithms = (registry.algorithm(a).build(game_name), registry.algorithm(b).build(game_name))
    return run_match(game, algorithms, seeds=seeds, iterations=iterations, seed=seed)


def test_rollouts_keep_each_players_final_observation(ipd):
    """What rllib_ppo bootstraps its values from: the state after the last step, own view."""
    policies = (ipd.fixed_policy("random", 2), ipd.fixed_policy("random", 2))
    trajectories = ipd.rollout(policies, 2, generator(0), batch=5, horizon=7)
    last = 2 * trajectories.actions[0][-1] + trajectories.actions[1][-1] + 1
    assert torch.equal(trajectories.final_observations[0], last)
    assert torch.equal(trajectories.final_observations[1], ipd.observe(last, 1))
    assert torch.equal(trajectories.swapped().final_observations[0], ipd.observe(last, 1))


def test_rllib_ppo_learns_to_defect_against_an_unconditional_cooperator(registry):
    result = play(registry, "ipd", "rllib_ppo", "always_cooperate", iterations=10)
    cooperation = result.metrics["cooperation"][:, :, 0].mean(axis=1)
    assert 0.3 < cooperation[0] < 0.7  # a fresh network plays about uniformly
    assert cooperation[-1] < 0.25  # defection is the best response: T = 0 > R = -1
    assert result.rewards[-1, :, 0].mean() > result.rewards[0, :, 0].mean() + 0.2


def test_rllib_ppo_is_reproducible_from_the_match_seed_on_the_coin_game(registry):
    runs = [
        play(registry, "coin_game", "rllib_ppo", "always_defect", iterations=2, seed=seed)
        for seed in (4, 4, 5)
    ]
    np.testing.assert_array_equal(runs[0].rewards, runs[1].rewards)
    assert not np.array_equal(runs[0].rewards, runs[2].rewards)
    assert runs[0].evaluation == "sampled"


MODULE_WEIGHT_DIGESTS = """
import hashlib
from dataclasses import asdict
import torch
from algorithms.rllib_ppo import RLlibPPOConfig
from shaping.interop.rllib import RLlibPPOSettings, RLlibLearners
from shaping.engine.registry import Registry
torch.set_num_threads(1)
game = Registry.load().game("ipd").build()
learners = RLlibLearners(
    game, 4, RLlibPPOSettings(**asdict(RLlibPPOConfig())), torch.Generator().manual_seed(3)
)
for module in learners.modules:
    weights = b"".join(p.detach().numpy().tobytes() for p in module.parameters())
    print(hashlib.sha256(weights).hexdigest())
"""


def test_rllib_ppo_seeds_get_the_same_networks_in_every_process():
    """Each seed's initial network depends on the match seed only, not on the process's
    string-hash seed (module ids once went to RLlib as a set, whose order varies by process,
    so seeds swapped networks between tournament runs)."""
    digests = []
    for hash_seed in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", MODULE_WEIGHT_DIGESTS],
            capture_output=True,
            text=True,
            env=environment,
            check=True,
        )
        digests.append(done.stdout.split()[-4:])
    assert len(set(digests[0])) == 4  # four distinct networks
    assert digests[0] == digests[1]


def test_rllib_ppo_configuration_errors_name_the_field(tmp_path):
    root = tmp_path / "zoo_configs"
    import shutil

    from shaping.engine.registry import DEFAULT_CONFIG_DIR

    shutil.copytree(DEFAULT_CONFIG_DIR, root)
    path = root / "algorithms" / "rllib_ppo.yaml"
    path.write_text(path.read_text().replace("grad_clip: null", "grad_clip: -1.0"))
    with pytest.raises(ConfigError, match=r"rllib_ppo.yaml: rllib_ppo.games.ipd: grad_clip"):
        Registry.load(root)


def test_rllib_ppo_against_naive_on_the_ipd_is_played_and_reported(tmp_path, capsys):
    out = tmp_path / "rllib"
    code = main(
        [
            "tournament", "--profile", "quick", "--games", "ipd",
            "--algorithms", "rllib_ppo", "naive",
            "--seeds", "2", "--iterations", "3", "--out", str(out),
            "--no-tensorboard", "--no-league",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["tournament"]["done"] == 4 and not board["failures"]
    assert [e["algorithm"] for e in board["overall"]].count("rllib_ppo") == 1
    head_to_head = board["games"]["ipd"]["head_to_head"]
    assert -3.0 <= head_to_head["rllib_ppo"]["naive"]["reward"]["mean"] <= 0.0
    assert "RLlib PPO" in (out / "leaderboard.md").read_text()
