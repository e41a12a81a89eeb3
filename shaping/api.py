"""The zoo from Python (a notebook, a script): play a match, run a tournament, and read a
report's tables as pandas data frames. Everything here is what the `shaping` command line
does, with the same checks and the same one-line errors (subclasses of
`shaping.contracts.errors.ZooError`).

    from shaping import api

    result = api.match("ipd", "lola", "naive", seeds=16, iterations=100)
    result.summary()["final_reward"]                  # [lola, naive], reward per step
    run = api.tournament("quick", algorithms=["naive", "tit_for_tat"], out="results/nb")
    report = api.load_report(run.out)                 # or api.load_report("results/leaderboard")
    report.overall                                    # one row per entrant
    report.head_to_head("ipd")                        # the row's reward per step vs the column
    report.rankings("coin_game", league=True)         # mean payoff, α-Rank, Nash, replicator
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shaping.contracts.errors import ConfigError

if TYPE_CHECKING:
    import pandas

    from shaping.engine.match import MatchResult
    from shaping.engine.registry import Registry
    from shaping.tournament.run import TournamentSummary

__all__ = ["Report", "load_report", "match", "tournament"]


@dataclass(frozen=True)
class MatchLabels:
    """How errors name the arguments of a match: the API's parameter names, or the command
    line's flags."""

    game: str = "game"
    a: str = "a"
    b: str = "b"
    set_a: str = "set_a"
    set_b: str = "set_b"


def build_players(
    registry: Registry,
    game: str,
    a: str,
    b: str,
    set_a: Mapping[str, Any],
    set_b: Mapping[str, Any],
    labels: MatchLabels,
) -> tuple[Any, tuple[Any, Any]]:
    """The game's registry entry and both seats' algorithm instances, each configuration
    validated; an entrant that cannot play the game is one line naming its argument."""
    game_entry = registry.game(game, labels.game)
    entries = (registry.algorithm(a, labels.a), registry.algorithm(b, labels.b))
    for label, entry in zip((labels.a, labels.b), entries, strict=True):
        reason = entry.unsupported_reason(game_entry.name)
        if reason:
            raise ConfigError(f"{label}: {entry.name} cannot play {game_entry.name}: {reason}")
    players = tuple(
        entry.build(game_entry.name, dict(overrides), label)
        for entry, overrides, label in zip(
            entries, (set_a, set_b), (labels.set_a, labels.set_b), strict=True
        )
    )
    return game_entry, players


def match(
    game: str,
    a: str,
    b: str,
    *,
    seeds: int | None = None,
    iterations: int | None = None,
    seed: int = 0,
    set_a: Mapping[str, Any] | None = None,
    set_b: Mapping[str, Any] | None = None,
    device: str = "cpu",
    artifacts: str | Path | None = None,
    configs: str | Path | None = None,
    progress: bool = True,
) -> MatchResult:
    """Play one match, as `shaping match`: `a` and `b` learn against each other on `game` for
    `iterations` learning iterations over `seeds` seeds batched into the same tensors (None:
    the game's registry defaults). `set_a` / `set_b` replace fields of a seat's zoo
    configuration (e.g. {"lr": 0.3}); pretrained entrants load or train their artifact under
    `artifacts` (default results/zoo). `progress` shows a bar on stderr.

    Returns the MatchResult: `rewards` [iterations, seeds, 2] (reward per step), `metrics`
    (name -> [iterations, seeds, 2]) and `summary()`, the JSON of `shaping match --json`."""
    from shaping.engine.artifacts import ArtifactCache
    from shaping.engine.registry import Registry
    from shaping.engine.runtime import check_fits, resolve_device

    registry = Registry.load(configs)
    game_entry, players = build_players(
        registry, game, a, b, set_a or {}, set_b or {}, MatchLabels()
    )
    built = game_entry.build(resolve_device(device))
    seeds = seeds or game_entry.seeds
    check_fits("seeds", built, seeds)
    return monitored_match(
        built,
        players,
        seeds,
        iterations or game_entry.iterations,
        seed,
        ArtifactCache(artifacts),
        f"{built.name} {a} vs {b}",
        progress,
    )


def monitored_match(
    game: Any,
    players: Any,
    seeds: int,
    iterations: int,
    seed: int,
    artifacts: Any,
    label: str,
    progress: bool = True,
) -> MatchResult:
    """run_match with a progress bar of both players' reward per step on stderr (none when
    `progress` is False)."""
    from shaping.contracts.algorithm import TrainingContext
    from shaping.engine.match import run_match
    from shaping.engine.training_monitor import TrainingMonitor

    if not progress:
        return run_match(
            game, players, seeds=seeds, iterations=iterations, seed=seed, artifacts=artifacts
        )
    monitor = TrainingMonitor(TrainingContext(), total=iterations, label=label)

    def report(iteration: int, rewards: Any, metrics: Any) -> None:
        reward_a, reward_b = (float(reward.mean()) for reward in rewards)
        monitor.update(iteration + 1, {"reward_a": reward_a, "reward_b": reward_b})

    try:
        return run_match(
            game,
            players,
            seeds=seeds,
            iterations=iterations,
            seed=seed,
            artifacts=artifacts,
            on_iteration=report,
        )
    finally:
        monitor.close()


def tournament(profile: str = "quick", **options: Any) -> TournamentSummary:
    """Run (or resume) a tournament, as `shaping tournament --profile PROFILE`, and write its
    report. `options` are the fields of shaping.tournament.run.TournamentOptions (`out`,
    `algorithms`, `games`, `seeds`, `iterations`, `workers`, `league`, `artifacts`, ...).
    Returns the run's summary: `out` (the report's directory), `leaderboard`, `played`,
    `failed`, ... A run with failed matches still returns; its report marks them."""
    from shaping.tournament.run import TournamentOptions, run_tournament

    known = {f.name for f in dataclasses.fields(TournamentOptions)} - {"profile"}
    for name in options:
        if name not in known:
            raise ConfigError(
                f"{name}: not a tournament option (one of {', '.join(sorted(known))})"
            )
    return run_tournament(TournamentOptions(profile=profile, **options))


class Report:
    """A tournament report's tables as pandas data frames, read from its leaderboard.json
    (what `make tournament` and `shaping report` write; the committed one is
    results/leaderboard). `board` is the whole document."""

    def __init__(self, board: dict[str, Any], directory: Path) -> None:
        self.board = board
        self.directory = directory

    @property
    def games(self) -> list[str]:
        """The games of the learning-together evaluation."""
        return list(self.board["games"])

    @property
    def league_games(self) -> list[str]:
        """The games with a league."""
        return list(self.board.get("league", {}))

    def section(self, game: str, league: bool = False) -> dict[str, Any]:
        """One game's section of the document (league=True: its league's)."""
        sections = self.board.get("league", {}) if league else self.board["games"]
        if game not in sections:
            where = "league games" if league else "games"
            raise ConfigError(
                f"game: {game!r} is not among this report's {where} "
                f"({', '.join(sections) or 'none'}) in {self.directory}"
            )
        return sections[game]

    @property
    def overall(self) -> pandas.DataFrame:
        """The overall ranking: rank (None: unranked), score and its 95% bootstrap interval,
        and each game's standardised score."""
        import pandas

        rows = []
        for entry in self.board["overall"]:
            low, high = entry.get("ci95") or (None, None)
            rows.append(
                {
                    "rank": entry["rank"],
                    "algorithm": entry["algorithm"],
                    "score": entry["score"],
                    "ci95_low": low,
                    "ci95_high": high,
                    **{game: entry["games"].get(game) for game in self.games},
                }
            )
        return pandas.DataFrame(rows).set_index("algorithm")

    def ranking(self, game: str, league: bool = False) -> pandas.DataFrame:
        """A game's ranking against the field: mean reward per step against every entrant,
        its 95% interval, and the normalised score."""
        import pandas

        columns = ["rank", "algorithm", "mean", "ci95", "normalised", "opponents"]
        rows = [
            {c: entry.get(c) for c in columns} for entry in self.section(game, league)["ranking"]
        ]
        return pandas.DataFrame(rows, columns=columns).set_index("algorithm")

    def cells(self, game: str, league: bool = False) -> pandas.DataFrame:
        """Every head-to-head cell, one row per (row, column) pair: the row's reward per step
        and the pair's welfare with their 95% half-widths, each behaviour metric, status."""
        import pandas

        section = self.section(game, league)
        rows = []
        for row, cells in section["head_to_head"].items():
            for column, cell in cells.items():
                entry = {"row": row, "column": column, "status": cell["status"]}
                for name in ("reward", "welfare"):
                    stat = cell.get(name) or {}
                    entry[name] = stat.get("mean")
                    entry[f"{name}_ci95"] = stat.get("ci95")
                for metric in section["metrics"]:
                    stat = cell.get("metrics", {}).get(metric) or {}
                    entry[metric] = stat.get("mean")
                    entry[f"{metric}_ci95"] = stat.get("ci95")
                rows.append(entry)
        return pandas.DataFrame(rows)

    def head_to_head(
        self, game: str, value: str = "reward", league: bool = False
    ) -> pandas.DataFrame:
        """A game's head-to-head matrix, rows and columns in ranking order: `value` is
        "reward" (the row's reward per step against the column), "welfare", a behaviour
        metric ("cooperation", "own_coin_ratio"), or any of these with "_ci95"."""
        cells = self.cells(game, league)
        if value not in cells.columns or value in ("row", "column", "status"):
            choices = [c for c in cells.columns if c not in ("row", "column", "status")]
            raise ConfigError(f"value: {value!r} is not one of {', '.join(choices)}")
        order = self.section(game, league)["order"]
        table = cells.pivot(index="row", columns="column", values=value)
        return table.reindex(index=order, columns=order)

    def rankings(self, game: str, league: bool = False) -> pandas.DataFrame:
        """The rankings side by side: mean payoff against the field, α-Rank mass, Nash
        averaging (equilibrium mass and Nash average) and the replicator's final share."""
        import pandas

        section = self.section(game, league)
        metagame = section.get("metagame", {})
        alpharank = (metagame.get("alpharank") or {}).get("mass", {})
        nash = metagame.get("nash_averaging") or {}
        replicator = metagame.get("replicator") or {}
        rows = [
            {
                "algorithm": entry["algorithm"],
                "mean_payoff": entry["mean"],
                "alpharank_mass": alpharank.get(entry["algorithm"]),
                "nash_mass": (nash.get(entry["algorithm"]) or {}).get("mass"),
                "nash_average": (nash.get(entry["algorithm"]) or {}).get("nash_average"),
                "replicator_share": replicator.get(entry["algorithm"]),
            }
            for entry in section["ranking"]
        ]
        return pandas.DataFrame(rows).set_index("algorithm")

    def exploitability(self, game: str) -> pandas.DataFrame:
        """The league's exploitability probe on `game`: each entrant's agents' and the fresh
        exploiter's reward per step after the exploiter's budget, with 95% half-widths."""
        import pandas

        rows = []
        for name, entry in self.section(game, league=True)["exploitability"].items():
            agent, exploiter = entry.get("agent") or {}, entry.get("exploiter") or {}
            rows.append(
                {
                    "algorithm": name,
                    "agent": agent.get("mean"),
                    "agent_ci95": agent.get("ci95"),
                    "exploiter": exploiter.get("mean"),
                    "exploiter_ci95": exploiter.get("ci95"),
                    "status": entry["status"],
                }
            )
        return pandas.DataFrame(rows).set_index("algorithm")


def load_report(directory: str | Path = "results/leaderboard") -> Report:
    """The report in `directory` (its leaderboard.json). A directory with a result store or a
    report summary but no leaderboard.json needs `shaping report DIR` first: say so."""
    directory = Path(directory)
    path = directory / "leaderboard.json"
    if not path.is_file():
        raise ConfigError(
            f"{path}: no report here (`shaping report {directory}` writes it from the "
            "directory's result store or results.summary.json)"
        )
    try:
        board = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: not a readable report ({error})") from None
    if not isinstance(board, dict) or not {"games", "overall"} <= set(board):
        raise ConfigError(f"{path}: not a leaderboard.json (no games and overall ranking)")
    return Report(board, directory)
