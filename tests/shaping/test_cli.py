"""The `shaping` command line: `list`, `match`, its JSON summary and its errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from shaping.cli import main
from shaping.engine.registry import DEFAULT_CONFIG_DIR


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_games_algorithms_and_papers(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in ("ipd", "matching_pennies", "coin_game", "naive", "tit_for_tat"):
        assert name in out
    assert "Foerster et al. 2018" in out


def test_match_json_has_the_documented_fields(capsys, tmp_path):
    path = tmp_path / "summary.json"
    code, out, _ = run(
        capsys,
        "match",
        "--game",
        "ipd",
        "--a",
        "naive",
        "--b",
        "naive",
        "--seeds",
        "32",
        "--iterations",
        "100",
        "--json",
        str(path),
    )
    assert code == 0 and "naive (a) vs naive (b)" in out
    summary = json.loads(path.read_text())
    assert summary["game"] == "ipd" and summary["a"] == "naive" and summary["b"] == "naive"
    assert summary["seeds"] == 32 and summary["iterations"] == 100
    assert len(summary["mean_reward"]) == 2 and len(summary["final_reward"]) == 2
    assert len(summary["final_reward_per_seed"]) == 32
    assert all(len(row) == 2 for row in summary["final_reward_per_seed"])
    assert set(summary["metrics"]) == {"cooperation"}
    # the acceptance criterion of the foundation issue: naive learners end in mutual defection
    assert summary["final_reward"] == pytest.approx([-2.0, -2.0], abs=0.05)
    assert summary["metrics"]["cooperation"][0] < 0.05


def test_match_overrides_each_seats_configuration(capsys):
    """--set-a lr=0 freezes seat a's naive learner at its initial policy while seat b learns
    to defect against it (without overrides both seats end in mutual defection, above)."""
    argv = ["match", "--game", "ipd", "--a", "naive", "--b", "naive", "--seeds", "16"]
    code, out, _ = run(capsys, *argv, "--iterations", "50", "--set-a", "lr=0", "--json", "-")
    summary = json.loads(out)
    assert code == 0
    cooperation = summary["metrics"]["cooperation"]
    assert cooperation[0] > 0.3 and cooperation[1] < 0.05, cooperation
    assert summary["final_reward"][1] > summary["final_reward"][0] + 0.5
    code, out, err = run(capsys, *argv, "--set-b", "lr=-1")
    assert code == 2 and out == "" and "--set-b.lr" in err


def test_match_shows_its_progress_on_stderr(capsys):
    """Every tenth of the iterations (a line each when stderr is not a terminal), with the
    seats' mean rewards of that iteration; the summary on stdout is unchanged."""
    argv = ["match", "--game", "ipd", "--a", "always_cooperate", "--b", "always_defect"]
    code, out, err = run(capsys, *argv, "--seeds", "2", "--iterations", "20")
    assert code == 0 and "|" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 11 and all(
        line.startswith("ipd always_cooperate vs always_defect |") for line in lines
    )
    assert "| 20/20 [" in lines[-1] and "reward_a -3.000 reward_b 0.000" in lines[-1]


def test_match_json_to_stdout_is_pure_json(capsys):
    code, out, err = run(
        capsys,
        "match",
        "--game",
        "matching_pennies",
        "--a",
        "always_cooperate",
        "--b",
        "always_defect",
        "--seeds",
        "2",
        "--iterations",
        "3",
        "--json",
        "-",
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["final_reward"] == pytest.approx([-1.0, 1.0], abs=1e-5)
    assert "always_cooperate" in err


def test_coin_game_match_reports_own_coin_ratio(capsys):
    code, out, _ = run(
        capsys,
        "match",
        "--game",
        "coin_game",
        "--a",
        "always_cooperate",
        "--b",
        "always_cooperate",
        "--seeds",
        "2",
        "--iterations",
        "2",
        "--json",
        "-",
    )
    summary = json.loads(out)
    assert code == 0 and summary["metrics"]["own_coin_ratio"] == [1.0, 1.0]
    assert summary["evaluation"] == "sampled"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--game", "ipd", "--a", "lolaa", "--b", "naive"], "--a: unknown algorithm 'lolaa'"),
        (["--game", "pd", "--a", "naive", "--b", "naive"], "--game: unknown game 'pd'"),
        (["--game", "ipd", "--a", "naive", "--b", "naive", "--device", "tpu"], "--device"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(capsys, tmp_path, argv, fragment):
    path = tmp_path / "out.json"
    code, out, err = run(capsys, "match", *argv, "--json", str(path))
    assert code == 2 and out == ""
    assert fragment in err and err.count("\n") == 1
    assert not path.exists()


@pytest.mark.parametrize(
    ("assignment", "fragment"),
    [
        ("nonsense=1", "--set.nonsense: unknown field"),
        ("lr=-1", "--set.lr: must be > 0"),
        ("phases", "expected FIELD=VALUE, got 'phases'"),
        ("phases=[1", "phases: cannot read '[1' as YAML"),
    ],
)
def test_train_overrides_are_validated_before_anything_is_trained(
    capsys, tmp_path, assignment, fragment
):
    """A malformed assignment is a usage error (exit 2); a bad field or value is a
    ConfigError naming it (exit 2). Either way nothing is trained or written."""
    argv = ["train", "--algorithm", "ppi", "--game", "ipd", "--artifacts", str(tmp_path)]
    argv += ["--set", "phases=3", "--set", assignment]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert fragment in captured.err
    assert not any(tmp_path.iterdir())


def test_bad_config_file_exits_2_naming_file_and_field(capsys, tmp_path):
    root = tmp_path / "zoo_configs"
    shutil.copytree(DEFAULT_CONFIG_DIR, root)
    naive = root / "algorithms" / "naive.yaml"
    naive.write_text(naive.read_text().replace("ipd: {lr: 1.0}", "ipd: {lr: -0.5}"))
    path = tmp_path / "out.json"
    code, _, err = run(
        capsys,
        "--configs",
        str(root),
        "match",
        "--game",
        "ipd",
        "--a",
        "naive",
        "--b",
        "naive",
        "--json",
        str(path),
    )
    assert code == 2
    assert "algorithms/naive.yaml: naive.games.ipd.lr: must be >= 0, got -0.5" in err
    assert not path.exists()


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (
            ["match", "--game", "ipd", "--a", "naive", "--b", "naive", "--seeds", "0"],
            "shaping match: error: argument --seeds: must be >= 1, got 0",
        ),
        (
            ["tournament", "--iterations", "ten"],
            "shaping tournament: error: argument --iterations: must be an integer, got 'ten'",
        ),
        (
            ["match", "--game", "ipd", "--a", "naive", "--b", "naive", "--seed", "-1"],
            "argument --seed: must be >= 0, got -1",
        ),
        (["match", "--game", "ipd"], "the following arguments are required: --a, --b"),
        (["tournament", "--executor", "slurm"], "argument --executor: invalid choice: 'slurm'"),
        (["nonsense"], "argument COMMAND: invalid choice: 'nonsense'"),
        (
            ["train", "--algorithm", "ppi", "--game", "ipd", "--set", "phases"],
            "argument --set: expected FIELD=VALUE, got 'phases'",
        ),
    ],
)
def test_argument_errors_are_one_line_naming_the_argument_once(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert fragment in line and "usage:" not in line and "--help" in line
    name = fragment.split("argument ")[-1].split(":")[0]
    assert line.count(f"{name}:") <= 1


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "shaping"
    completed = subprocess.run([str(script), "list"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0 and "coin_game" in completed.stdout


def test_list_algorithm_prints_its_fields_docs_defaults_and_per_game_values(capsys):
    assert main(["list", "lola"]) == 0
    out = capsys.readouterr().out
    assert "  lr (float, default 1.0): learning rate δ\n      coin_game: 0.01\n" in out
    assert "  optimizer (Literal, default 'sgd')" in out and "      coin_game: 'adam'\n" in out
    assert "      ipd:" not in out  # the IPD uses every default


def test_a_wrong_case_name_gets_a_suggestion(capsys):
    assert main(["list", "LOLA"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("unknown algorithm 'LOLA' (did you mean 'lola'?)") and "\n" not in err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (
            ["match", "--game", "ipd", "--a", "naive", "--b", "naive", "--seeds", "1000000000"],
            "--seeds: 1000000000 seeds of ipd need at least 119.2 GiB",
        ),
        (
            [
                "match",
                "--game",
                "coin_game",
                "--a",
                "random",
                "--b",
                "random",
                "--seeds",
                "10000000",
            ],
            "--seeds: 10000000 seeds of coin_game need at least",
        ),
        (
            [
                "tournament",
                "--profile",
                "quick",
                "--games",
                "ipd",
                "--algorithms",
                "naive",
                "--seeds",
                "400000000",
                "--workers",
                "2",
            ],
            "--seeds: 400000000 seeds of ipd x 2 matches at once need at least 95.4 GiB",
        ),
    ],
)
def test_a_match_that_cannot_fit_in_memory_is_refused_before_it_starts(
    capsys, tmp_path, monkeypatch, argv, fragment
):
    """The game's lower bound (Game.min_bytes_per_seed) against the memory available: one
    line, exit 2, nothing written, instead of an allocation traceback or hours of swapping."""
    from shaping.engine import runtime

    monkeypatch.setattr(runtime, "available_memory", lambda: 64 * 2**30)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    (line,) = err.strip().splitlines()
    assert code == 2 and out == "" and fragment in line
    assert line.endswith("more than the 64.0 GiB this machine has available; use fewer seeds")
    assert not any(tmp_path.iterdir())


def test_the_memory_lower_bound_is_what_a_roll_out_must_hold():
    """IPD: the exact evaluation's two 4 x 4 float32 matrices per seed; the coin game: one
    iteration's observations, actions and rewards of both players for every episode step."""
    from shaping.engine.registry import Registry

    registry = Registry.load(None)
    ipd = registry.game("ipd", "--game").build("cpu")
    coin = registry.game("coin_game", "--game").build("cpu")
    assert ipd.min_bytes_per_seed() == 128
    observation = coin.observation_spec().shape[0]
    assert coin.min_bytes_per_seed() == coin.horizon * coin.batch * 2 * (observation + 2) * 4
    generator = torch.Generator().manual_seed(0)
    state = coin.reset(1, coin.batch, generator)
    one_step = coin.observe(state, 0)
    assert (
        one_step.numel() * one_step.element_size() * 2 * coin.horizon <= coin.min_bytes_per_seed()
    )
