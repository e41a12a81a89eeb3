"""`shaping tournament --dry-run`: the plan of a run, without playing or writing anything.

Every match of the plan with its section (learning_together, league, exploitability), its
key and its state in the result store:

- `stored`: done under this key, will be reused;
- `failed`: stored as failed under this key (played again only with --retry-failed);
- `stale`: not stored under this key, but the store holds the same match (same game, seats,
  configurations, seeds, iterations, seed and device) under another code version: an edit
  invalidated it;
- `missing`: never played into this store.

Every artifact the plan's matches need, with its state in the artifact cache (`stored`,
`stale` when the cache holds it under another code version, `corrupt`, `missing`) and whether
the run would train it (a match that needs it will be played). And a cost estimate: a stale or
failed match costs what it cost when it was stored (measured); a match never played costs the
profile's `cost` model (seconds per learning iteration per entrant and game), where it has one
(league matches have none until played: the model is of learning-together entrants).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shaping.contracts.errors import ConfigError
from shaping.engine import pinned
from shaping.engine.artifacts import ArtifactCache, without_code
from shaping.tournament.plan import LEARNING_TOGETHER, MatchSpec, Plan
from shaping.tournament.progress import format_duration
from shaping.tournament.run import artifact_needs
from shaping.tournament.store import CHECKSUMMED, RECOVERY, STORE_FILE, damage


def _identity_but_code(identity: dict[str, Any]) -> str:
    """A match's identity but its code version, as the store writes identities (JSON)."""
    return json.dumps(without_code(identity), sort_keys=True, default=str)


@dataclass(frozen=True)
class StoredRow:
    key: str
    status: str
    identity: dict[str, Any]
    wall_time: float


def read_store(directory: Path) -> list[StoredRow]:
    """The rows of `directory`'s result store, read-only (nothing is created); [] if none."""
    path = directory / STORE_FILE
    if not path.is_file():
        return []
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(matches)")}
        checksum = "checksum" if "checksum" in columns else "NULL"
        rows = connection.execute(
            f"SELECT {', '.join(CHECKSUMMED)}, {checksum}, wall_time FROM matches"
        ).fetchall()
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{path}: not a readable result store ({error}); {RECOVERY}") from error
    finally:
        connection.close()
    # a damaged row is set aside and played again by the next run: it counts as missing
    return [
        StoredRow(row[0], row[1], json.loads(row[5]), row[-1])
        for row in rows
        if damage(row[: len(CHECKSUMMED)], row[len(CHECKSUMMED)]) is None
    ]


def match_cost(spec: MatchSpec, cost: dict[str, dict[str, float]]) -> float | None:
    """Seconds of `spec` under the profile's cost model, None where it has none."""
    per_game = cost.get(spec.game)
    if not per_game:
        return None
    rates = [per_game.get(player.name, per_game.get("default")) for player in spec.players]
    if any(rate is None for rate in rates):
        return None
    return spec.iterations * sum(rates)  # type: ignore[arg-type]


def dry_run(plan: Plan, out: Path, artifacts: str | None, retry_failed: bool) -> dict[str, Any]:
    """The JSON-friendly plan of a run into `out` (see the module docstring)."""
    rows = read_store(out)
    by_key = {row.key: row for row in rows}
    by_match = {_identity_but_code(row.identity): row for row in rows}
    specs = list({spec.key: spec for spec in plan.matches}.values())
    sections = {cell.match.key: cell.section for cell in plan.cells if cell.match is not None}
    matches, to_play, estimates = [], [], []
    for spec in specs:
        row = by_key.get(spec.key)
        earlier = by_match.get(_identity_but_code(spec.identity()))
        if row is not None:
            state = "stored" if row.status == "done" else "failed"
        else:
            state = "stale" if earlier is not None else "missing"
        measured = row or earlier
        estimate = None if state == "stored" else _estimate(spec, measured, plan)
        if state in ("missing", "stale") or (state == "failed" and retry_failed):
            to_play.append(spec)
            estimates.append(estimate)
        matches.append(
            {
                "game": spec.game,
                "section": sections[spec.key],
                "a": spec.players[0].name,
                "b": spec.players[1].name,
                "seeds": spec.seeds,
                "iterations": spec.iterations,
                "key": spec.key,
                "state": state,
                "estimate_s": estimate,
            }
        )
    artifact_list = _artifacts(specs, to_play, artifacts)
    known = [estimate for estimate in estimates if estimate is not None]
    return {
        "profile": plan.profile.name,
        "out": str(out),
        "matches": matches,
        "artifacts": artifact_list,
        "summary": {
            "matches": len(matches),
            "states": dict(Counter(m["state"] for m in matches)),
            "to_play": len(to_play),
            "artifacts_to_train": sum(a["to_train"] for a in artifact_list),
            "estimated_match_cpu_s": round(sum(known), 1),
            "matches_without_estimate": len(estimates) - len(known),
        },
    }


def _estimate(spec: MatchSpec, measured: StoredRow | None, plan: Plan) -> float | None:
    if measured is not None and measured.status == "done":
        return round(measured.wall_time, 2)
    modelled = match_cost(spec, plan.profile.cost)
    return None if modelled is None else round(modelled, 2)


def _artifact_state(cache: ArtifactCache, name: str, game: str, key: dict[str, Any]) -> str:
    """The cache's state of an artifact, or `pinned` when the cache lacks it and a committed
    pinned copy would be used (shaping.engine.pinned)."""
    state = cache.state(name, game, key)
    if state != "stored" and pinned.available(cache, name, game, key):
        return "pinned"
    return state


def _artifacts(
    specs: list[MatchSpec], to_play: list[MatchSpec], artifacts: str | None
) -> list[dict[str, Any]]:
    cache = ArtifactCache(artifacts)
    playing = {spec.key for spec in to_play}
    found: dict[Path, dict[str, Any]] = {}
    for need in artifact_needs(specs, cache):
        if need.path not in found:
            found[need.path] = {
                "algorithm": need.name,
                "game": need.spec.game,
                "key": need.path.stem,
                "path": str(need.path),
                "state": _artifact_state(cache, need.name, need.spec.game, need.key),
                "to_train": False,
            }
        entry = found[need.path]
        entry["to_train"] |= entry["state"] not in ("stored", "pinned") and need.spec.key in playing
    return list(found.values())


def format_dry_run(result: dict[str, Any]) -> str:
    """The dry run as lines for a terminal."""
    lines = []
    for match in result["matches"]:
        estimate = match["estimate_s"]
        cost = "" if estimate is None else f"  ~{format_duration(estimate)}"
        section = "" if match["section"] == LEARNING_TOGETHER else f" [{match['section']}]"
        lines.append(
            f"{match['state']:<8} {match['game']}{section} {match['a']} vs {match['b']} "
            f"({match['seeds']} seeds x {match['iterations']} iterations) "
            f"{match['key'][:12]}{cost}"
        )
    for artifact in result["artifacts"]:
        action = (
            "train"
            if artifact["to_train"]
            else "keep"
            if artifact["state"] in ("stored", "pinned")
            else "unused"
        )
        lines.append(
            f"artifact {artifact['state']:<8} {artifact['algorithm']} {artifact['game']} "
            f"{artifact['key']} ({action})"
        )
    summary = result["summary"]
    states = ", ".join(f"{count} {state}" for state, count in sorted(summary["states"].items()))
    unknown = summary["matches_without_estimate"]
    lines.append(
        f"dry run {result['profile']} into {result['out']}: {summary['matches']} matches "
        f"({states}); would play {summary['to_play']} and train "
        f"{summary['artifacts_to_train']} artifacts; estimated match time "
        f"{format_duration(summary['estimated_match_cpu_s'])} on one core"
        + (f", {unknown} matches without an estimate" if unknown else "")
        + "; nothing was played or written"
    )
    return "\n".join(lines)
