"""`shaping tournament` and `shaping report` end to end: the quick profile on the baselines,
the report files, TensorBoard curves, resumption after SIGTERM and kill -9, failing matches,
and one-line errors."""

from __future__ import annotations

import csv
import json
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

from shaping.cli import main
from shaping.tournament.run import LOCK_FILE
from shaping.tournament.store import STORE_FILE, ResultStore
from tests.tournament.browser import chromium, probe_page
from tests.tournament.helpers import BASELINES, results_without_provenance, zoo_copy

REPORT = ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "index.html")
REPO = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def report_bytes(out: Path) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in sorted(out.iterdir())
        if path.is_file() and path.name not in (STORE_FILE, LOCK_FILE)
    }


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        self.tables += tag == "table"


def assert_page_reads_well(page: Path, board: dict) -> None:
    """The report page in a real browser: no script error, the results first and every
    section there, every figure loaded and within the window, nothing wider than the window,
    and a click on a column heading sorts its table."""
    seen = probe_page(page)
    assert seen["errors"] == []
    expected = ["Overall ranking", "Two evaluations", *board["games"]]
    expected += [f"League: {game}" for game in board["league"]]
    assert seen["headings"] == [*expected, "How to read it", "Entrants"]
    assert [src for src, _, _ in seen["images"]] == [
        f["file"] for files in board["figures"].values() for f in files
    ]
    assert all(loaded for _, loaded, _ in seen["images"])
    assert all(0 < width <= seen["clientWidth"] for _, _, width in seen["images"])
    assert seen["scrollWidth"] <= seen["clientWidth"]
    # the overall table (best first) sorted by its score column, lowest first
    scores = [float(text.split()[0]) for text in seen["sortedAfter"]]
    assert sorted(seen["sortedBefore"]) == sorted(seen["sortedAfter"])
    assert scores == sorted(scores) and seen["sortedAfter"] != seen["sortedBefore"]


def test_quick_profile_end_to_end_on_the_baselines(tmp_path, capsys):
    out = tmp_path / "quick"
    argv = ["tournament", "--profile", "quick", "--algorithms", *BASELINES, "--out", str(out)]
    code, stdout, stderr = run(capsys, *argv)
    assert code == 0, stderr
    summary = stdout.strip().splitlines()[-1]
    # learning together: 5 x 5 x 3 games; quick's league (IPD and coin game): 5 x 5 league
    # cells and the exploiter against each entrant in both seats, per game
    assert "145 matches (145 played, 0 from the store" in summary
    assert summary.endswith(f"leaderboard: {out / 'leaderboard.md'}")
    assert "145/145 matches" in stderr  # the progress bar

    board = json.loads((out / "leaderboard.json").read_text())
    assert list(board["games"]) == ["ipd", "matching_pennies", "coin_game"]
    assert board["tournament"]["done"] == 145 and not board["failures"]
    assert list(board["league"]) == ["ipd", "coin_game"] and board["league_ranked"] == ["coin_game"]
    league = board["league"]["ipd"]
    sucker = league["head_to_head"]["always_cooperate"]["always_defect"]["reward"]["mean"]
    assert sucker == pytest.approx(-3.0, abs=1e-5)
    # even quick's 10-iteration exploiter takes an unconditional cooperator's payoff
    # and cooperates with tit-for-tat
    exploited = league["exploitability"]["always_cooperate"]
    assert exploited["agent"]["mean"] < -2.5 and exploited["exploiter"]["mean"] > -0.5
    assert league["exploitability"]["tit_for_tat"]["exploiter"]["mean"] > -1.2
    assert {e["algorithm"] for e in board["overall"]} == set(BASELINES)
    ipd = board["games"]["ipd"]["head_to_head"]
    # seats are handled right: the sucker's payoff and the temptation, exactly
    assert ipd["always_cooperate"]["always_defect"]["reward"]["mean"] == pytest.approx(
        -3.0, abs=1e-5
    )
    assert ipd["always_defect"]["always_cooperate"]["reward"]["mean"] == pytest.approx(
        0.0, abs=1e-5
    )
    assert ipd["always_defect"]["tit_for_tat"]["metrics"]["cooperation"]["mean"] == 0.0
    assert ipd["tit_for_tat"]["always_cooperate"]["metrics"]["cooperation"][
        "mean"
    ] == pytest.approx(1.0)
    # the naive learner exploits unconditional cooperators in the IPD
    assert ipd["naive"]["always_cooperate"]["metrics"]["cooperation"]["mean"] < 0.1
    coin = board["games"]["coin_game"]["head_to_head"]
    for opponent in BASELINES:
        assert coin["always_cooperate"][opponent]["metrics"]["own_coin_ratio"]["mean"] == 1.0
    pennies = board["games"]["matching_pennies"]["head_to_head"]
    assert all(
        cell["welfare"]["mean"] == pytest.approx(0.0, abs=1e-5)
        for row in pennies.values()
        for cell in row.values()
    )

    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert sum(r["table"] == "head_to_head" for r in rows) == 75
    assert sum(r["table"] == "ranking" for r in rows) == 15
    # the league's tables too: 5 x 5 cells on each of its 2 games, both sides of each probe
    assert sum(r["table"] == "league_head_to_head" for r in rows) == 50
    assert sum(r["table"] == "league_ranking" for r in rows) == 10
    probes = [r for r in rows if r["table"] == "exploitability"]
    assert len(probes) == 5 * 2 * 2
    sucker = next(
        r
        for r in rows
        if r["table"] == "league_head_to_head"
        and (r["game"], r["algorithm"], r["opponent"])
        == ("ipd", "always_cooperate", "always_defect")
    )
    assert float(sucker["reward_mean"]) == pytest.approx(-3.0, abs=1e-5)
    taken = next(p for p in probes if (p["game"], p["opponent"]) == ("ipd", "always_cooperate"))
    assert float(taken["reward_mean"]) == exploited["exploiter"]["mean"]
    assert [r["algorithm"] for r in rows if r["table"] == "overall"] == [
        e["algorithm"] for e in board["overall"]
    ]
    markdown = (out / "leaderboard.md").read_text()
    for game in ("ipd", "matching_pennies", "coin_game"):
        assert f"## {game}" in markdown and f"](heatmap_{game}.png)" in markdown
        # every figure of the game and of its league is written and shown on both pages
        for figure in board["figures"][game] + board["figures"].get(f"league:{game}", []):
            png = (out / figure["file"]).read_bytes()
            assert png.startswith(b"\x89PNG\r\n\x1a\n")
            assert f"]({figure['file']})" in markdown
        assert board["figures"][game][0]["file"] == f"heatmap_{game}.png"
        import matplotlib.image

        assert matplotlib.image.imread(out / f"heatmap_{game}.png").ndim == 3
    header = "| rank | algorithm | score [95% bootstrap] | ipd | matching_pennies | coin_game |"
    assert header in markdown
    assert markdown.count("### Rankings side by side") == 3 + len(board["league"])
    for section in [*board["games"].values(), *board["league"].values()]:
        assert {"alpharank", "nash_averaging", "replicator"} <= set(section["metagame"])
    assert "does not learn" in markdown  # what each entrant assumes, in the entrants table
    page = _Page()
    page.feed((out / "index.html").read_text())
    figures = [f["file"] for files in board["figures"].values() for f in files]
    assert sorted(page.images) == sorted(figures)
    assert page.tables >= 2 + 3 * 4
    if chromium() is not None:
        assert_page_reads_well(out / "index.html", board)

    # TensorBoard: one run per match and seed, holding the stored per-iteration numbers
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    runs = sorted((out / "tensorboard" / "ipd").iterdir())
    assert len(runs) == 25
    assert len(list((out / "tensorboard" / "league" / "ipd").iterdir())) == 25
    assert len(list((out / "tensorboard" / "exploitability" / "ipd").iterdir())) == 10
    seed_dirs = sorted((out / "tensorboard" / "ipd" / "naive_vs_tit_for_tat").glob("seed_*"))
    assert [d.name for d in seed_dirs] == ["seed_0", "seed_1", "seed_2", "seed_3"]
    events = list(EventFileLoader(str(next(seed_dirs[2].iterdir()))).Load())
    curve = [
        (e.step, value.tensor.float_val[0])
        for e in events
        for value in e.summary.value
        if value.tag == "reward/a_naive"
    ]
    with ResultStore(out) as store:
        key = next(
            c["key"]
            for c in store.load_plan()["cells"]
            if (c["game"], c["a"], c["b"]) == ("ipd", "naive", "tit_for_tat")
        )
        stored = store.load(key).rewards[:, 2, 0]
    assert [step for step, _ in curve] == list(range(40))
    np.testing.assert_allclose([value for _, value in curve], stored, rtol=1e-6)

    # the report names the run that computed it: command, commit, date, wall time
    (run_record,) = board["tournament"]["runs"]
    assert run_record["command"] == shlex.join(["shaping", *argv])
    assert run_record["played"] == 145 and run_record["wall_time_s"] > 0
    assert run_record["commit"] is None or len(run_record["commit"].split("+")[0]) == 40
    assert f"Computed by `{run_record['command']}` at commit" in markdown
    assert run_record["in_report"] == 145 and "145 of them in this report" in markdown
    # the instruction set torch's CPU kernels were chosen for: their last bits differ
    kernels = torch.backends.cpu.get_cpu_capability()
    assert run_record["cpu_kernels"] == kernels and f"torch CPU kernels {kernels}" in markdown
    assert run_record["cpu"] and f"CPUs ({run_record['cpu']}), torch CPU kernels" in markdown
    assert "keys" not in run_record

    # a second run recomputes nothing and rewrites the identical report
    first = report_bytes(out)
    code, stdout, stderr = run(capsys, *argv)
    assert code == 0, stderr
    assert "145 matches (0 played, 145 from the store" in stdout
    assert report_bytes(out) == first

    # `shaping report` rebuilds the same files from the store alone
    for name in (*REPORT, "heatmap_ipd.png"):
        (out / name).unlink()
    code, stdout, _ = run(capsys, "report", str(out))
    assert code == 0 and str(out / "leaderboard.md") in stdout
    assert report_bytes(out) == first

    # a fresh clone has the report and its summary, not the store: `shaping report` rebuilds
    # the identical files from the summary alone, which holds no learning curves
    summary = (out / "results.summary.json").read_bytes()
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "results.summary.json").write_bytes(summary)
    code, stdout, _ = run(capsys, "report", str(clone))
    assert code == 0 and str(clone / "leaderboard.md") in stdout
    assert report_bytes(clone) == first
    assert (clone / "heatmap_ipd.png").read_bytes() == (out / "heatmap_ipd.png").read_bytes()
    # final windows and 25-point learning curves: compact beside the store's full arrays
    assert len(summary) < (out / STORE_FILE).stat().st_size / 2
    document = json.loads(summary)
    assert len(document["matches"]) == 145 and document["runs"][0]["played"] == 145

    # a damaged summary, or a directory with neither, is one line and exit 2
    (clone / "results.summary.json").write_bytes(summary[: len(summary) // 2])
    code, _, stderr = run(capsys, "report", str(clone))
    (line,) = stderr.strip().splitlines()
    assert code == 2
    assert line.startswith(f"shaping: error: {clone / 'results.summary.json'}: not a readable")
    code, _, stderr = run(capsys, "report", str(tmp_path / "empty"))
    assert code == 2 and "neither a result store (results.sqlite) nor a report summary" in stderr


RESUME_PROFILE = """
description: resumption test
games:
  ipd: {seeds: 4, iterations: 40}
  coin_game: {seeds: 2, iterations: 8}
"""


def _stored(out: Path) -> int:
    try:
        with sqlite3.connect(f"file:{out / STORE_FILE}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM matches").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or no table yet
        return 0


def test_interrupted_tournament_resumes_to_the_identical_report(tmp_path, capsys):
    root = zoo_copy(tmp_path, profiles={"resume": RESUME_PROFILE})
    argv = [
        "--configs",
        str(root),
        "tournament",
        "--profile",
        "resume",
        "--algorithms",
        "naive",
        "tit_for_tat",
        "always_defect",
    ]
    total = 18
    killed = tmp_path / "killed"
    for signum, at_least in ((signal.SIGTERM, 2), (signal.SIGKILL, 10)):
        log = tmp_path / f"stderr-{signum}.txt"
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "shaping.cli", *argv, "--out", str(killed)],
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            deadline = time.monotonic() + 120
            while _stored(killed) < at_least and process.poll() is None:
                assert time.monotonic() < deadline, "the tournament made no progress"
                time.sleep(0.01)
            process.send_signal(signum)
            returncode = process.wait(timeout=60)
        stored = _stored(killed)
        assert at_least <= stored < total, "killed too late to test resumption"
        if signum == signal.SIGTERM:
            assert returncode == 128 + signal.SIGTERM
            assert "interrupted; every finished match is stored" in log.read_text()
        else:
            assert returncode == -signal.SIGKILL
    code, stdout, _ = run(capsys, *argv, "--out", str(killed))
    assert code == 0 and f"({total - stored} played, {stored} from the store" in stdout
    reference = tmp_path / "reference"
    code, _, _ = run(capsys, *argv, "--out", str(reference))
    assert code == 0
    assert results_without_provenance(killed) == results_without_provenance(reference)
    # the killed runs keep the provenance of the matches they stored
    runs = json.loads((killed / "leaderboard.json").read_text())["tournament"]["runs"]
    assert [run["finished"] for run in runs] == [False, False, True]
    assert (
        sum(run["in_report"] for run in runs) == total and runs[-1]["in_report"] == total - stored
    )
    assert all(run["in_report"] > 0 for run in runs)
    markdown = (killed / "leaderboard.md").read_text()
    assert markdown.count("and stopped before it finished (interrupted or killed)") == 2
    with ResultStore(killed) as resumed, ResultStore(reference) as uninterrupted:
        for key in uninterrupted.statuses():
            np.testing.assert_array_equal(
                resumed.load(key).rewards, uninterrupted.load(key).rewards
            )
    assert len(list((killed / "tensorboard" / "coin_game").iterdir())) == 9


FAILING_ALGORITHM = """
exploding:
  module: tests.shaping.test_match:ExplodingLearner
  description: "test-only: plays NaN logits from its third iteration on"
"""
FAILING_PROFILE = """
games:
  ipd: {seeds: 2, iterations: 8}
  coin_game: {seeds: 1, iterations: 2}
"""


def test_failing_matches_are_recorded_and_the_others_still_play(tmp_path, capsys):
    root = zoo_copy(tmp_path, algorithms=FAILING_ALGORITHM, profiles={"failing": FAILING_PROFILE})
    out = tmp_path / "out"
    argv = [
        "--configs",
        str(root),
        "tournament",
        "--profile",
        "failing",
        "--algorithms",
        "exploding",
        "naive",
        "tit_for_tat",
        "--out",
        str(out),
    ]
    code, stdout, stderr = run(capsys, *argv)
    # failed matches make the run fail (exit 1), after every other match is stored
    assert code == 1 and "18 matches (18 played, 0 from the store, 10 failed" in stdout
    assert "failed: ipd exploding vs naive: MatchDiverged" in stderr
    assert stderr.strip().splitlines()[-1] == (
        "shaping: 10 matches failed (listed in the report, their cells marked failed); every "
        "other match is stored; --retry-failed plays them again"
    )
    board = json.loads((out / "leaderboard.json").read_text())
    failures = {(f["game"], f["a"], f["b"]): f for f in board["failures"]}
    assert len(failures) == 10 and all("exploding" in pair for pair in failures)
    for pair in (("ipd", "exploding", "naive"), ("ipd", "tit_for_tat", "exploding")):
        assert "MatchDiverged" in failures[pair]["error"]
        assert "non-finite reward at iteration 3" in failures[pair]["error"]
    assert failures["coin_game", "naive", "exploding"]["error"]  # raised, with its message
    ipd = board["games"]["ipd"]
    assert [e["algorithm"] for e in ipd["ranking"]] == ["tit_for_tat", "naive"]
    assert ipd["head_to_head"]["naive"]["tit_for_tat"]["status"] == "ok"
    assert ipd["head_to_head"]["exploding"]["naive"]["status"] == "failed"
    # the ranking says it rests on partial data, and who has none; n/a is kept for cells
    # that cannot be played
    assert not ipd["complete"] and ipd["unranked"] == ["exploding"]
    assert ipd["incomplete_cells"] == 1 + 2 + 2  # exploding's 3 cells, one each for the others
    overall = {entry["algorithm"]: entry for entry in board["overall"]}
    assert not any(entry["complete"] for entry in overall.values())
    assert overall["exploding"]["rank"] is None
    markdown = (out / "leaderboard.md").read_text()
    assert "### Failed matches" in markdown and "non-finite reward at iteration 3" in markdown
    assert "**Partial ranking on ipd: 5 cells failed or not played yet" in markdown
    assert "unranked (no finished match): exploding." in markdown
    overall_section = markdown.split("## Overall ranking")[1].split("\n## ")[0]
    rows = {
        row.split(" | ")[1]: row.strip("| ").split(" | ")
        for row in overall_section.splitlines()
        if row.startswith("| ") and not row.startswith("| rank")
    }
    assert rows["exploding"][2:5] == ["—", "failed", "failed"]
    assert rows["naive"][2].endswith("(partial)") and rows["naive"][3].endswith("(partial)")

    # re-running recomputes nothing (failed matches included) and reports the same
    first = report_bytes(out)
    code, stdout, _ = run(capsys, *argv)
    assert code == 1 and "(0 played, 18 from the store, 10 failed" in stdout
    assert report_bytes(out) == first
    code, stdout, _ = run(capsys, *argv, "--retry-failed")
    assert code == 1 and "(10 played, 8 from the store, 10 failed" in stdout
    board = json.loads((out / "leaderboard.json").read_text())
    assert {f["attempts"] for f in board["failures"]} == {2}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--profile", "quik"], "--profile: unknown profile 'quik' (did you mean 'quick'?)"),
        (["--algorithms", "naive", "lolaa"], "--algorithms: unknown algorithm 'lolaa'"),
        (["--games", "pd"], "--games: unknown game 'pd' (did you mean 'ipd'?)"),
        (["--ray-address", "127.0.0.1:1"], "--ray-address: only with --executor ray"),
        (["--device", "tpu"], "--device"),
        (["--profile", "missing/profile.yaml"], "--profile: no such profile file"),
    ],
)
def test_bad_names_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, argv, fragment):
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "tournament", "--profile", "quick", *argv, "--out", str(out))
    assert code == 2 and stdout == ""
    assert fragment in stderr and stderr.count("\n") == 1
    assert not out.exists()


def test_bad_profile_file_exits_2_naming_file_and_field(tmp_path, capsys):
    root = zoo_copy(tmp_path)
    quick = root / "profiles" / "quick.yaml"
    quick.write_text(quick.read_text().replace("coin_game: {seeds: 2", "coin_game: {seeds: -2"))
    out = tmp_path / "out"
    code, _, stderr = run(
        capsys, "--configs", str(root), "tournament", "--profile", "quick", "--out", str(out)
    )
    assert code == 2 and stderr.count("\n") == 1
    assert (
        "zoo_configs/profiles/quick.yaml: games.coin_game.seeds: must be an integer >= 1" in stderr
    )
    assert not out.exists()


def test_report_of_a_directory_without_a_store_exits_2(tmp_path, capsys):
    code, _, stderr = run(capsys, "report", str(tmp_path))
    assert code == 2 and "neither a result store" in stderr and stderr.count("\n") == 1


def test_curve_directories_are_portable_names(tmp_path):
    """Entrant names such as `axelrod:TitForTat` hold characters Windows refuses in paths."""
    from shaping.tournament.curves import curves_dir

    path = curves_dir(tmp_path, "ipd", "axelrod:TitForTat", "naive")
    assert path == tmp_path / "ipd" / "axelrod_TitForTat_vs_naive"


def test_a_second_tournament_on_the_same_directory_is_refused_while_the_first_runs(
    tmp_path, capsys
):
    """Two runs on one --out would both play every match: the second gets one line and
    exit 2, writes nothing; the lock goes with its holder (here: released), so the next run
    proceeds. Across machines the Ray executor shares the work, not a shared directory."""
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    argv = ["tournament", "--profile", "quick", "--games", "ipd", "--algorithms", "naive"]
    argv += ["tit_for_tat", "--out", str(out), "--no-tensorboard", "--no-league"]
    with open(out / LOCK_FILE, "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, stdout, stderr = run(capsys, *argv)
        assert code == 2 and stdout == ""
        (line,) = stderr.strip().splitlines()
        assert line == (
            f"shaping: error: --out: {out} is in use by another running tournament (it holds "
            f"{out / LOCK_FILE}); wait for it to finish or use another --out"
        )
        assert sorted(path.name for path in out.iterdir()) == [LOCK_FILE]
    code, stdout, _ = run(capsys, *argv)
    assert code == 0 and "4 matches (4 played" in stdout
