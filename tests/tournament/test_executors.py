"""Executors agree: in-process, a process pool and Ray give bit-identical results for the same
seeds, and pretrained artifacts are trained exactly once, before the matches."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from shaping.tournament.run import TournamentOptions, run_tournament
from shaping.tournament.store import ResultStore
from tests.tournament.helpers import zoo_copy

SMALL_PROFILE = """
games:
  ipd: {seeds: 3, iterations: 12}
  coin_game: {seeds: 1, iterations: 2}
"""
COUNTING = """
counting:
  module: tests.tournament.helpers:CountingPretrained
  description: "test-only pretrained fixed strategy"
  defaults: {{log: {log}, strategy: tit_for_tat}}
"""


def assert_same_results(first: Path, second: Path) -> None:
    assert (first / "leaderboard.json").read_bytes() == (second / "leaderboard.json").read_bytes()
    with ResultStore(first) as one, ResultStore(second) as other:
        keys = one.statuses()
        assert keys == other.statuses() and set(keys.values()) == {"done"}
        for key in keys:
            a, b = one.load(key), other.load(key)
            np.testing.assert_array_equal(a.rewards, b.rewards)
            for name in a.metrics:
                np.testing.assert_array_equal(a.metrics[name], b.metrics[name])


def test_process_pool_matches_in_process_and_trains_each_artifact_once(tmp_path):
    log = tmp_path / "trainings.log"
    root = zoo_copy(
        tmp_path, algorithms=COUNTING.format(log=log), profiles={"small": SMALL_PROFILE}
    )
    outs = {}
    for label, workers in (("in_process", None), ("pool", 2)):
        outs[label] = tmp_path / label
        summary = run_tournament(
            TournamentOptions(
                profile="small",
                algorithms=["counting", "naive", "always_defect"],
                workers=workers,
                out=outs[label],
                artifacts=str(tmp_path / f"artifacts_{label}"),
                configs=str(root),
                tensorboard=False,
            )
        )
        assert summary.played == 18 and summary.failed == 0
        trainings = log.read_text().split()[::2]
        assert sorted(trainings) == ["coin_game", "ipd"], label  # once per game, not per match
        log.unlink()
    assert_same_results(outs["in_process"], outs["pool"])
    board = json.loads((outs["pool"] / "leaderboard.json").read_text())
    counting = next(e for e in board["entrants"] if e["name"] == "counting")
    assert counting["pretrained"] and not counting["white_box"]
    # the artifact really was played: the counting entrant plays tit-for-tat in the IPD
    h2h = board["games"]["ipd"]["head_to_head"]
    assert h2h["counting"]["always_defect"]["metrics"]["cooperation"]["mean"] == pytest.approx(0.04)


def test_ray_executor_matches_local(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    # a local 2-CPU cluster that writes only under /tmp: no auth token in $HOME, short temp
    # path (Ray's socket paths must stay under 108 characters)
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_TMPDIR", str(ray_tmp))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = zoo_copy(tmp_path, profiles={"small": SMALL_PROFILE})
    common = {
        "profile": "small",
        "algorithms": ["naive", "tit_for_tat", "random"],
        "configs": str(root),
        "tensorboard": False,
    }
    try:
        ray_run = run_tournament(
            TournamentOptions(executor="ray", workers=2, out=tmp_path / "ray", **common)
        )
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    local_run = run_tournament(TournamentOptions(out=tmp_path / "local", **common))
    assert ray_run.played == local_run.played == 18
    assert_same_results(tmp_path / "ray", tmp_path / "local")
