"""`shaping compare`: does one report reproduce another, cell by cell and ranking by ranking."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from shaping.cli import main
from shaping.tournament.compare import compare_reports

COMMITTED = Path(__file__).resolve().parents[2] / "results" / "leaderboard" / "leaderboard.json"


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(COMMITTED.read_text())


def write(tmp_path: Path, name: str, board: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(board))
    return path


def shifted(board: dict, game: str, row: str, column: str, by_half_widths: float) -> dict:
    """A copy of `board` whose (game, row, column) mean moved by a multiple of its ci95."""
    board = copy.deepcopy(board)
    reward = board["games"][game]["head_to_head"][row][column]["reward"]
    reward["mean"] += by_half_widths * reward["ci95"]
    return board


def test_a_report_reproduces_itself(committed, tmp_path, capsys):
    comparison = compare_reports(committed, copy.deepcopy(committed))
    cells = sum(
        len(row) for game in committed["games"].values() for row in game["head_to_head"].values()
    )
    assert comparison.cells == cells == comparison.identical
    assert comparison.reproduced and not comparison.within and not comparison.beyond

    assert (
        main(["compare", str(COMMITTED.parent), str(write(tmp_path, "same.json", committed))]) == 0
    )
    out = capsys.readouterr().out
    assert f"{cells} cells: {cells} identical" in out and "reproduced:" in out


def test_cells_are_judged_by_the_interval_of_their_difference(committed):
    game, row, column = "ipd", "lola", "naive"
    # both half-widths equal, so the difference's is sqrt(2) of one: 1.3 of them is inside it
    inside = compare_reports(committed, shifted(committed, game, row, column, 1.3))
    outside = compare_reports(committed, shifted(committed, game, row, column, 1.5))
    assert [(d.game, d.row, d.column) for d in inside.within] == [(game, row, column)]
    assert not inside.beyond and inside.reproduced
    (difference,) = outside.beyond
    assert difference.gap == pytest.approx(1.5 / math.sqrt(2))
    assert not outside.reproduced and outside.rankings_agree


def test_a_cell_that_failed_or_is_missing_in_one_report_is_beyond(committed):
    failed = copy.deepcopy(committed)
    failed["games"]["ipd"]["head_to_head"]["sos"]["lola"] = {"status": "failed"}
    missing = copy.deepcopy(committed)
    del missing["games"]["coin_game"]["head_to_head"]["naive"]["random"]
    for other, cell, shown in (
        (failed, ("ipd", "sos", "lola"), "failed"),
        (missing, ("coin_game", "naive", "random"), "absent"),
    ):
        comparison = compare_reports(committed, other)
        (difference,) = comparison.beyond
        assert (difference.game, difference.row, difference.column) == cell
        assert difference.gap is None and shown in difference.describe()


def test_a_ranking_that_moved_names_who_moved(committed, tmp_path, capsys):
    swapped = copy.deepcopy(committed)
    overall = swapped["overall"]
    overall[6], overall[7] = overall[7], overall[6]
    first, second = overall[7]["algorithm"], overall[6]["algorithm"]
    comparison = compare_reports(committed, swapped)
    assert comparison.identical == comparison.cells and not comparison.rankings_agree
    assert not comparison.reproduced

    code = main(["compare", str(COMMITTED), str(write(tmp_path, "swapped.json", swapped))])
    out = capsys.readouterr().out
    assert code == 1
    assert f"ranking overall: differs ({first} 7→8, {second} 8→7)" in out
    assert "not reproduced: 0 cells beyond their intervals, rankings differ" in out


def test_json_output_lists_what_differs(committed, tmp_path, capsys):
    other = write(tmp_path, "other.json", shifted(committed, "coin_game", "loqa", "loqa", 4.0))
    assert main(["compare", str(COMMITTED), str(other), "--json", "-"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert [(c["game"], c["row"], c["column"]) for c in result["beyond"]] == [
        ("coin_game", "loqa", "loqa")
    ]
    assert result["reproduced"] is False and result["rankings"]["overall"]["agree"] is True


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "no such report"),
        (b"\x00\xffnot json", "not a report's JSON"),
        (b"[1, 2]", "no 'games' table"),
        (b'{"games": {"ipd": {}}}', "games.ipd: no 'head_to_head' table"),
    ],
)
def test_bad_reports_exit_2_with_one_line_naming_the_file(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["compare", str(COMMITTED), str(path)]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert str(path) in line and fragment in line and not captured.out


def test_a_swap_says_whether_the_swapped_entrants_are_tied_within_their_intervals(committed):
    """A ranking that moved because two entrants are tied within noise is not the same
    finding as one where an entrant really moved: the comparison says which."""
    top, runner_up = committed["games"]["ipd"]["ranking"][:2]
    half_width = math.hypot(top["ci95"], runner_up["ci95"])
    for gap, tied in ((0.5 * half_width, True), (2.0 * half_width, False)):
        boards = []
        for swap in (False, True):
            board = copy.deepcopy(committed)
            ranking = board["games"]["ipd"]["ranking"]
            ranking[1]["mean"] = ranking[0]["mean"] - gap
            if swap:
                ranking[0], ranking[1] = ranking[1], ranking[0]
            boards.append(board)
        comparison = compare_reports(*boards)
        assert comparison.swaps_within_noise == {"ipd": tied}
        text = "\n".join(comparison.lines())
        moved = f"{top['algorithm']} 1→2, {runner_up['algorithm']} 2→1; "
        expected = "tied within its intervals" if tied else "apart beyond its intervals"
        assert f"ranking ipd: differs ({moved}" in text and expected in text
