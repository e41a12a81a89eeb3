"""Every output path is checked before any work starts: one line naming the flag, exit 2,
nothing written (a match's result is not lost to a --json that cannot be written)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shaping.cli import main

NAIVE_MATCH = ["match", "--game", "ipd", "--a", "naive", "--b", "naive", "--iterations", "2"]


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*")}


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a directory")
    return path


def cases(tmp_path: Path, a_file: Path) -> list[tuple[list[str], str]]:
    return [
        ([*NAIVE_MATCH, "--json", str(tmp_path)], f"--json: {tmp_path} is a directory, not a file"),
        (
            [*NAIVE_MATCH, "--json", str(a_file / "out.json")],
            f"--json: directory {a_file} is under a file ({a_file})",
        ),
        (
            [*NAIVE_MATCH, "--json", str(tmp_path / "missing" / "out.json")],
            f"--json: directory {tmp_path / 'missing'} does not exist",
        ),
        (
            ["tournament", "--profile", "quick", "--algorithms", "naive", "--out", str(a_file)],
            f"--out: {a_file} is a file, not a directory",
        ),
        (
            [
                "tournament",
                "--profile",
                "quick",
                "--algorithms",
                "naive",
                "--out",
                str(a_file / "t"),
            ],
            f"--out: {a_file / 't'} is under a file ({a_file}), not a directory",
        ),
        (
            [
                "tournament",
                "--profile",
                "quick",
                "--algorithms",
                "cola",
                "--games",
                "ipd",
                "--out",
                str(tmp_path / "t"),
                "--artifacts",
                str(a_file / "zoo"),
            ],
            f"--artifacts: {a_file / 'zoo'} is under a file ({a_file}), not a directory",
        ),
        (
            ["train", "--algorithm", "cola", "--game", "ipd", "--artifacts", str(a_file)],
            f"--artifacts: {a_file} is a file, not a directory",
        ),
        (
            [
                "train",
                "--algorithm",
                "cola",
                "--game",
                "ipd",
                "--artifacts",
                str(tmp_path / "zoo"),
                "--log-dir",
                str(a_file),
            ],
            f"--log-dir: {a_file} is a file, not a directory",
        ),
        (
            ["compare", "results/leaderboard", "results/leaderboard", "--json", str(tmp_path)],
            f"--json: {tmp_path} is a directory, not a file",
        ),
    ]


@pytest.mark.parametrize("case", range(9))
def test_a_bad_output_path_is_one_line_before_any_work(tmp_path, a_file, capsys, case):
    argv, message = cases(tmp_path, a_file)[case]
    before = files_under(tmp_path)
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line == f"shaping: error: {message}"
    assert files_under(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission")
def test_an_unwritable_directory_is_refused(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code = main(
        ["tournament", "--profile", "quick", "--algorithms", "naive", "--out", str(locked / "t")]
    )
    assert code == 2
    assert "--out: cannot write to the directory" in capsys.readouterr().err
    code = main([*NAIVE_MATCH, "--json", str(locked / "out.json")])
    assert code == 2
    assert (
        f"--json: cannot write in directory {locked}: permission denied" in capsys.readouterr().err
    )
