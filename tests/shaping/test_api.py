"""The public Python API (shaping.api): a match gives what `shaping match` gives, a
tournament writes the report the CLI writes, and a report reads back as data frames that
hold the leaderboard's numbers; bad names and files are one clear error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shaping import api
from shaping.cli import main
from shaping.contracts.errors import ConfigError


def test_a_match_is_the_command_line_s_match(tmp_path, capsys):
    result = api.match("ipd", "naive", "always_defect", seeds=4, iterations=30, progress=False)
    summary = result.summary()
    assert result.rewards.shape == (30, 4, 2)
    # a naive learner facing a defector learns to defect: mutual defection's -2 per step
    assert summary["final_reward"][0] == pytest.approx(-2.0, abs=0.05)
    out = tmp_path / "match.json"
    argv = ["match", "--game", "ipd", "--a", "naive", "--b", "always_defect", "--seeds", "4"]
    assert main([*argv, "--iterations", "30", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["final_reward"] == summary["final_reward"]


def test_a_match_names_the_bad_argument():
    with pytest.raises(ConfigError, match=r"^b: unknown algorithm 'lol'"):
        api.match("ipd", "naive", "lol", progress=False)
    with pytest.raises(ConfigError, match="set_a"):
        api.match("ipd", "naive", "naive", set_a={"lr": -1.0}, progress=False)


def test_report_tables_hold_the_leaderboard_s_numbers(tmp_path):
    run = api.tournament(
        "quick",
        algorithms=["naive", "always_defect", "tit_for_tat"],
        games=["ipd"],
        out=str(tmp_path / "nb"),
        workers=1,
        tensorboard=False,
    )
    assert run.failed == 0
    report = api.load_report(run.out)
    board = json.loads((run.out / "leaderboard.json").read_text())
    assert report.games == ["ipd"] and report.league_games == ["ipd"]
    overall = report.overall
    assert list(overall.index) == [entry["algorithm"] for entry in board["overall"]]
    assert list(overall["score"]) == [entry["score"] for entry in board["overall"]]
    matrix = report.head_to_head("ipd")
    order = board["games"]["ipd"]["order"]
    assert list(matrix.index) == order and list(matrix.columns) == order
    for x in order:
        for y in order:
            cell = board["games"]["ipd"]["head_to_head"][x][y]
            assert matrix.loc[x, y] == cell["reward"]["mean"]
    # always-defect against tit-for-tat: one temptation, then mutual defection
    cooperation = report.head_to_head("ipd", "cooperation")
    assert cooperation.loc["always_defect", "tit_for_tat"] == 0.0
    assert np.isfinite(report.head_to_head("ipd", "reward_ci95").to_numpy()).all()
    league = report.head_to_head("ipd", league=True)
    assert league.loc["always_defect", "always_defect"] == pytest.approx(-2.0, abs=1e-4)
    side_by_side = report.rankings("ipd")
    assert side_by_side["alpharank_mass"].sum() == pytest.approx(1.0, abs=1e-6)
    assert side_by_side["nash_mass"].sum() == pytest.approx(1.0, abs=1e-4)
    assert side_by_side["replicator_share"].sum() == pytest.approx(1.0, abs=1e-4)
    assert list(report.ranking("ipd")["mean"]) == [
        entry["mean"] for entry in board["games"]["ipd"]["ranking"]
    ]
    probes = report.exploitability("ipd")
    assert set(probes.index) == set(board["league"]["ipd"]["exploitability"])
    with pytest.raises(ConfigError, match="value: 'own_coin_ratio' is not one of"):
        report.head_to_head("ipd", "own_coin_ratio")
    with pytest.raises(ConfigError, match="game: 'coin_game' is not among"):
        report.cells("coin_game")


def test_an_unknown_tournament_option_is_named():
    with pytest.raises(ConfigError, match=r"^seats: not a tournament option \(one of "):
        api.tournament("quick", seats=4)


def test_the_committed_leaderboard_loads():
    report = api.load_report()
    assert set(report.games) >= {"ipd", "matching_pennies", "coin_game"}
    assert report.overall["score"].notna().any()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no report here"), (b"{not json", "not a readable report"), (b"[]", "not a leader")],
)
def test_a_missing_or_corrupt_report_is_one_clear_error(tmp_path, content, message):
    if content is not None:
        (tmp_path / "leaderboard.json").write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        api.load_report(tmp_path)
