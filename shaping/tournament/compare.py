"""Does one report reproduce another? (`shaping compare REPORT REPORT`)

Bit-identical numbers need the same code, libraries and CPU kernels (see
docs/tournaments.md); across machines a reproduction is statistical. Two reports agree on a
head-to-head cell when the difference of their mean rewards lies inside the 95% interval of
that difference, sqrt(ci_a^2 + ci_b^2) for two independent Student-t half-widths: the
normal approximation of the difference of two independent means. The rankings agree when
every game's order and the overall order are the same.

Only the reports' JSON is read (`leaderboard.json`, or a directory holding it), so a fresh
clone can check its own run against the committed `results/leaderboard` without the store.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shaping.contracts.errors import ConfigError

REPORT_JSON = "leaderboard.json"


@dataclass
class CellDifference:
    """One head-to-head cell (game, row, column) whose two reports differ."""

    game: str
    row: str
    column: str
    first: dict[str, Any] | None
    second: dict[str, Any] | None

    @property
    def gap(self) -> float | None:
        """|mean_a - mean_b| over the difference's 95% half-width; None unless both are ok."""
        if not (_ok(self.first) and _ok(self.second)):
            return None
        first, second = self.first["reward"], self.second["reward"]
        spread = math.hypot(first["ci95"], second["ci95"])
        distance = abs(first["mean"] - second["mean"])
        if spread == 0.0:
            return math.inf if distance > 0 else 0.0
        return distance / spread

    def describe(self) -> str:
        def side(cell: dict[str, Any] | None) -> str:
            if cell is None:
                return "absent"
            if not _ok(cell):
                return cell.get("status", "?")
            return f"{cell['reward']['mean']:.6f} ± {cell['reward']['ci95']:.6f}"

        gap = self.gap
        beyond = "" if gap is None else f" ({gap:.1f}× the difference's 95% half-width)"
        sides = f"{side(self.first)} / {side(self.second)}"
        return f"{self.game} {self.row} vs {self.column}: {sides}{beyond}"


@dataclass
class Comparison:
    """What differs between two reports, cell by cell and ranking by ranking."""

    cells: int = 0
    identical: int = 0
    within: list[CellDifference] = field(default_factory=list)
    beyond: list[CellDifference] = field(default_factory=list)
    rankings: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    #: per game whose order differs: whether every pair that swapped is tied within the 95%
    #: interval of its field scores' difference in both reports (noise, not a changed verdict)
    swaps_within_noise: dict[str, bool] = field(default_factory=dict)

    @property
    def rankings_agree(self) -> bool:
        return all(first == second for first, second in self.rankings.values())

    @property
    def reproduced(self) -> bool:
        """No cell beyond its interval and every ranking in the same order."""
        return not self.beyond and self.rankings_agree

    def lines(self) -> list[str]:
        """The comparison as text, one finding per line."""
        out = [
            f"{self.cells} cells: {self.identical} identical, {len(self.within)} differ within "
            f"the 95% interval of their difference, {len(self.beyond)} beyond it"
        ]
        out += [f"  beyond: {difference.describe()}" for difference in self.beyond]
        for table, (first, second) in self.rankings.items():
            if first == second:
                out.append(f"ranking {table}: same order ({len(first)} entrants)")
                continue
            moved = [
                f"{name} {first.index(name) + 1}→{second.index(name) + 1}"
                for name in first
                if name in second and first.index(name) != second.index(name)
            ]
            only = sorted(set(first) ^ set(second))
            detail = ", ".join(moved) + (f"; in one report only: {', '.join(only)}" if only else "")
            if table in self.swaps_within_noise:
                detail += (
                    "; every swapped pair is tied within its intervals"
                    if self.swaps_within_noise[table]
                    else "; some swapped pair is apart beyond its intervals"
                )
            out.append(f"ranking {table}: differs ({detail})")
        verdict = "reproduced" if self.reproduced else "not reproduced"
        out.append(
            f"{verdict}: {len(self.beyond)} cells beyond their intervals, rankings "
            f"{'agree' if self.rankings_agree else 'differ'}"
        )
        return out

    def as_json(self) -> dict[str, Any]:
        def cell(difference: CellDifference) -> dict[str, Any]:
            return {
                "game": difference.game,
                "row": difference.row,
                "column": difference.column,
                "first": difference.first,
                "second": difference.second,
                "gap": difference.gap,
            }

        return {
            "cells": self.cells,
            "identical": self.identical,
            "within": [cell(difference) for difference in self.within],
            "beyond": [cell(difference) for difference in self.beyond],
            "rankings": {
                table: {"first": first, "second": second, "agree": first == second}
                for table, (first, second) in self.rankings.items()
            },
            "swaps_within_noise": self.swaps_within_noise,
            "rankings_agree": self.rankings_agree,
            "reproduced": self.reproduced,
        }


def _ok(cell: dict[str, Any] | None) -> bool:
    return cell is not None and cell.get("status") == "ok" and "reward" in cell


def load_report(path: str | Path) -> dict[str, Any]:
    """A report's JSON: `path` itself, or `path/leaderboard.json` for a directory."""
    path = Path(path)
    file = path / REPORT_JSON if path.is_dir() else path
    try:
        board = json.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such report (expected a {REPORT_JSON} or its directory)"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{file}: not a report's JSON ({error})") from error
    if not isinstance(board, dict) or not isinstance(board.get("games"), dict):
        raise ConfigError(f"{file}: not a report's JSON (no 'games' table)")
    for name, game in board["games"].items():
        if not isinstance(game, dict) or not isinstance(game.get("head_to_head"), dict):
            raise ConfigError(f"{file}: games.{name}: no 'head_to_head' table")
    return board


def compare_reports(first: dict[str, Any], second: dict[str, Any]) -> Comparison:
    """Every cell of either report, matched by (game, row, column), and every ranking."""
    comparison = Comparison()
    for game in sorted(set(first["games"]) | set(second["games"])):
        cells_a = first["games"].get(game, {}).get("head_to_head", {})
        cells_b = second["games"].get(game, {}).get("head_to_head", {})
        pairs = {(row, column) for row, cells in cells_a.items() for column in cells}
        pairs |= {(row, column) for row, cells in cells_b.items() for column in cells}
        for row, column in sorted(pairs):
            cell_a = cells_a.get(row, {}).get(column)
            cell_b = cells_b.get(row, {}).get(column)
            comparison.cells += 1
            if _same_numbers(cell_a, cell_b):
                comparison.identical += 1
                continue
            difference = CellDifference(game, row, column, cell_a, cell_b)
            gap = difference.gap
            if gap is not None and gap <= 1.0:
                comparison.within.append(difference)
            else:
                comparison.beyond.append(difference)
        comparison.rankings[game] = (
            _order(first["games"].get(game)),
            _order(second["games"].get(game)),
        )
        if comparison.rankings[game][0] != comparison.rankings[game][1]:
            comparison.swaps_within_noise[game] = _swaps_within_noise(
                first["games"].get(game), second["games"].get(game)
            )
    comparison.rankings["overall"] = (
        [entry["algorithm"] for entry in first.get("overall", [])],
        [entry["algorithm"] for entry in second.get("overall", [])],
    )
    return comparison


def _same_numbers(first: dict[str, Any] | None, second: dict[str, Any] | None) -> bool:
    if first is None or second is None:
        return first is second
    return first.get("status") == second.get("status") and first.get("reward") == second.get(
        "reward"
    )


def _swaps_within_noise(first: dict[str, Any] | None, second: dict[str, Any] | None) -> bool:
    """Whether each pair of entrants ranked in opposite orders by the two reports has field
    scores within the 95% interval of their difference in both."""
    scores = [
        {entry["algorithm"]: entry for entry in (game or {}).get("ranking", [])}
        for game in (first, second)
    ]
    common = [name for name in _order(first) if name in scores[1]]
    position = [{name: i for i, name in enumerate(_order(game))} for game in (first, second)]
    for i, x in enumerate(common):
        for y in common[i + 1 :]:
            if (position[0][x] < position[0][y]) == (position[1][x] < position[1][y]):
                continue
            for ranking in scores:
                a, b = ranking[x], ranking[y]
                if abs(a["mean"] - b["mean"]) > math.hypot(a["ci95"], b["ci95"]):
                    return False
    return True


def _order(game: dict[str, Any] | None) -> list[str]:
    return [entry["algorithm"] for entry in (game or {}).get("ranking", [])]
