"""A damaged result store: a damaged match is set aside and played again, everything else is
kept; a file that is not a readable store is one line naming it and the recovery, exit 2."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from shaping.cli import main
from shaping.tournament.store import RECOVERY, STORE_FILE, ResultStore

ARGV = ["tournament", "--profile", "quick", "--games", "ipd", "--no-league", "--algorithms"]
ARGV += ["naive"]
ARGV += ["tit_for_tat", "--no-tensorboard"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def played(tmp_path, capsys) -> Path:
    out = tmp_path / "out"
    code, _, _ = run(capsys, *ARGV, "--out", str(out))
    assert code == 0
    return out


def games(out: Path) -> dict:
    return json.loads((out / "leaderboard.json").read_text())["games"]


def key_of(out: Path, a: str, b: str) -> str:
    with sqlite3.connect(out / STORE_FILE) as db:
        return db.execute("SELECT key FROM matches WHERE a = ? AND b = ?", (a, b)).fetchone()[0]


def flip_a_bit(out: Path, key: str) -> None:
    with sqlite3.connect(out / STORE_FILE) as db:
        (blob,) = db.execute("SELECT arrays FROM matches WHERE key = ?", (key,)).fetchone()
        damaged = bytearray(blob)
        damaged[len(damaged) // 2] ^= 0x10
        db.execute("UPDATE matches SET arrays = ? WHERE key = ?", (bytes(damaged), key))


def test_a_bit_flip_sets_one_match_aside_and_the_next_run_replays_only_it(played, capsys):
    before = games(played)
    key = key_of(played, "naive", "tit_for_tat")
    flip_a_bit(played, key)

    code, _, _ = run(capsys, "report", str(played))
    assert code == 0
    markdown = (played / "leaderboard.md").read_text()
    assert (
        "naive (a) vs tit_for_tat (b): its stored result was damaged (checksum mismatch)"
        in markdown
    )
    after_damage = games(played)["ipd"]["head_to_head"]
    assert after_damage["naive"]["tit_for_tat"]["status"] == "partial"
    assert after_damage["naive"]["naive"] == before["ipd"]["head_to_head"]["naive"]["naive"]

    # the dry run counts it as missing, and the next run plays exactly that match again
    code, out, _ = run(capsys, *ARGV, "--out", str(played), "--dry-run", "--json", "-")
    states = {(m["a"], m["b"]): m["state"] for m in json.loads(out)["matches"]}
    assert states.pop(("naive", "tit_for_tat")) == "missing"
    assert set(states.values()) == {"stored"}
    code, out, err = run(capsys, *ARGV, "--out", str(played))
    assert code == 0 and "4 matches (1 played, 3 from the store" in out
    assert "1 stored matches were damaged and are set aside" in err
    assert games(played) == before  # same seeds: the replay restores the identical numbers
    with ResultStore(played, create=False) as store:
        assert store.quarantined == {}


def test_an_edited_text_column_fails_its_checksum(played, capsys):
    key = key_of(played, "tit_for_tat", "naive")
    with sqlite3.connect(played / STORE_FILE) as db:
        db.execute("UPDATE matches SET status = 'failed', error = 'x' WHERE key = ?", (key,))
    with ResultStore(played, create=False) as store:
        assert store.quarantined == {key: "checksum mismatch"}
        assert store.load(key) is None and len(store.statuses()) == 3


def test_a_store_from_before_checksums_is_read_and_still_checked(played, capsys):
    with sqlite3.connect(played / STORE_FILE) as db:
        db.execute("ALTER TABLE matches DROP COLUMN checksum")
        db.execute("DROP TABLE quarantine")
    before = games(played)
    key = key_of(played, "naive", "naive")
    with ResultStore(played, create=False) as store:
        assert store.quarantined == {} and len(store.statuses()) == 4
    flip_a_bit(played, key)  # no checksum now: the arrays' own CRC catches it
    with ResultStore(played, create=False) as store:
        assert list(store.quarantined) == [key]
        assert store.quarantined[key].startswith("unreadable arrays")
    code, out, _ = run(capsys, *ARGV, "--out", str(played))
    assert code == 0 and "(1 played, 3 from the store" in out and games(played) == before


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_an_unreadable_store_file_is_one_line_with_the_recovery(played, capsys, damage):
    path = played / STORE_FILE
    data = path.read_bytes()
    path.write_bytes(
        b"\x13not a database" * 4096 if damage == "garbage" else data[: len(data) // 3]
    )
    for argv in (["report", str(played)], [*ARGV, "--out", str(played)]):
        code, out, err = run(capsys, *argv)
        (line,) = err.strip().splitlines()
        assert code == 2 and out == ""
        assert line.startswith(f"shaping: error: {path}: not a readable result store (")
        assert line.endswith(RECOVERY)
    code, _, err = run(capsys, *ARGV, "--out", str(played), "--dry-run")
    assert code == 2 and "not a readable result store" in err


@pytest.mark.parametrize(
    "target, error",
    [
        (
            "shaping.tournament.store.ResultStore.record",
            sqlite3.OperationalError("database or disk is full"),
        ),
        ("shaping.tournament.run.write_curves", OSError(28, "No space left on device", "/x/curve")),
    ],
)
def test_a_full_disk_is_one_line_and_keeps_what_finished(
    tmp_path, capsys, monkeypatch, target, error
):
    """SQLite and TensorBoard fail differently when the disk fills up; either way the user
    gets one line saying what is full and that finished matches are safe, and exit 1."""
    out = tmp_path / "out"
    argv = [arg for arg in ARGV if arg != "--no-tensorboard"]
    code, _, _ = run(capsys, *argv, "--out", str(out), "--seeds", "2")
    assert code == 0
    calls = []

    def fail(*args, **kwargs):
        calls.append(args)
        raise error

    monkeypatch.setattr(target, fail)
    code, _, err = run(capsys, *argv, "--out", str(out))  # other seeds: every match is new
    assert code == 1 and calls
    last = err.strip().splitlines()[-1]
    assert last.startswith("shaping: failed: the disk is full")
    assert "every match and artifact that finished is stored intact" in last
    if isinstance(error, OSError):
        assert "writing /x/curve" in last
    with ResultStore(out, create=False) as store:
        assert len(store.statuses()) >= 4  # the first run's matches are all still there


def test_provenance_ignores_what_runs_write_under_results(tmp_path):
    """A run rewrites the committed report under results/: that must not mark the code as
    modified; any other tracked change must."""
    from shaping.tournament.run import source_commit

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "leaderboard.md").write_text("old report\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    head = git("rev-parse", "HEAD")
    (tmp_path / "results" / "leaderboard.md").write_text("new report\n")
    assert source_commit(tmp_path) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert source_commit(tmp_path) == head + "+modified"
