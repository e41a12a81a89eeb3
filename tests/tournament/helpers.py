"""Test-only entrants and a private zoo_configs copy for tournament tests."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from shaping.contracts.algorithm import Algorithm, MatchView
from shaping.contracts.config import field
from shaping.contracts.game import Game
from shaping.contracts.policies import Policy
from shaping.engine.registry import DEFAULT_CONFIG_DIR

BASELINES = ["naive", "always_cooperate", "always_defect", "tit_for_tat", "random"]


def zoo_copy(tmp_path: Path, algorithms: str = "", profiles: dict[str, str] | None = None) -> Path:
    """A copy of zoo_configs/ with extra algorithm entries (YAML text) and profiles."""
    root = tmp_path / "zoo_configs"
    shutil.copytree(DEFAULT_CONFIG_DIR, root)
    if algorithms:
        (root / "algorithms" / "test_only.yaml").write_text(algorithms)
    for name, text in (profiles or {}).items():
        (root / "profiles" / f"{name}.yaml").write_text(text)
    return root


@dataclass(frozen=True)
class CountingConfig:
    log: str = field(doc="file that every training run appends one line to")
    strategy: str = field("always_cooperate", doc="the fixed strategy its artifact holds")


class CountingPretrained(Algorithm):
    """A fixed strategy that must be 'pretrained': training appends a line to `log`, and
    playing without the loaded artifact fails."""

    Config = CountingConfig
    pretrained = True
    assumptions = ("test-only pretrained fixed strategy",)

    def train(self, game: Game, context) -> dict[str, str]:
        with open(self.config.log, "a") as stream:
            stream.write(f"{game.name} {os.getpid()}\n")
        return {"strategy": self.config.strategy}

    def load(self, payload: dict[str, str], game: Game) -> None:
        self.strategy = payload["strategy"]

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> Policy:
        return game.fixed_policy(self.strategy, seeds)

    def policy(self, state: Policy) -> Policy:
        return state

    def update(self, state: Policy, view: MatchView) -> Policy:
        return state


def results_without_provenance(out: Path) -> dict[str, object]:
    """A report's results (leaderboard.json without the runs that computed it, the CSV, the
    heatmaps): what must agree between two runs that computed the same matches differently
    (resumed, another executor), whose provenance lines differ."""
    board = json.loads((out / "leaderboard.json").read_text())
    board["tournament"].pop("runs")
    files = {path.name: path.read_bytes() for path in sorted(out.glob("heatmap_*.png"))}
    return {
        "leaderboard.json": board,
        "leaderboard.csv": (out / "leaderboard.csv").read_bytes(),
    } | files
