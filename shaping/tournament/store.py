"""The result store of a tournament: DIR/results.sqlite.

One row per match, keyed by the hash of the match's identity (see plan.MatchSpec), written in
its own transaction as soon as the match ends: a tournament killed at any moment (even with
kill -9) keeps every finished match and loses at most the ones in flight. A match is stored
as `done` with its per-iteration, per-seed arrays, or as `failed` with its error. The store
also keeps the plan of the last tournament run into it, so the report can be rebuilt from the
store alone, and the provenance of every run that played matches (command, commit, date, wall
time), so a report names the runs that computed its numbers.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shaping.contracts.errors import ConfigError

STORE_FILE = "results.sqlite"
SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS matches (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    game TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    identity TEXT NOT NULL,
    evaluation TEXT,
    arrays BLOB,
    error TEXT,
    wall_time REAL NOT NULL,
    attempts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    key TEXT PRIMARY KEY, game TEXT, a TEXT, b TEXT, reason TEXT NOT NULL
);
"""
#: a row's checksum covers everything the report reads from it
CHECKSUMMED = ("key", "status", "game", "a", "b", "identity", "evaluation", "arrays", "error")
RECOVERY = (
    "move it away and run the same command to recompute every match (or restore an intact "
    "copy); `shaping report` rebuilds a report from its results.summary.json without a store"
)


@dataclass
class MatchRecord:
    """What a match task returns: its arrays if it finished, else its error."""

    key: str
    status: str
    evaluation: str | None = None
    rewards: np.ndarray | None = None
    metrics: dict[str, np.ndarray] | None = None
    error: str | None = None
    wall_time: float = 0.0
    attempts: int = 1

    @property
    def done(self) -> bool:
        return self.status == "done"


def _pack(rewards: np.ndarray, metrics: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, rewards=rewards, **{f"metric.{name}": v for name, v in metrics.items()})
    return buffer.getvalue()


def _checksum(values: tuple[Any, ...]) -> str:
    """sha256 over a row's checksummed columns, each length-prefixed (None distinct from
    empty)."""
    digest = hashlib.sha256()
    for value in values:
        if value is None:
            digest.update(b"N")
            continue
        data = value if isinstance(value, bytes) else str(value).encode()
        digest.update(b"V%d:" % len(data) + data)
    return digest.hexdigest()


def damage(values: tuple[Any, ...], checksum: str | None) -> str | None:
    """Why a stored row (its CHECKSUMMED columns, then its checksum) cannot be trusted, or
    None. Rows from before checksums have none; their arrays are read back instead (the npz
    format carries a CRC per array)."""
    if checksum is not None:
        return "checksum mismatch" if checksum != _checksum(values) else None
    if values[1] == "done":
        try:
            _unpack(values[7])
        except Exception as error:  # any way the arrays fail to read
            return f"unreadable arrays ({type(error).__name__})"
    return None


def _unpack(blob: bytes) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        metrics = {
            name.removeprefix("metric."): arrays[name]
            for name in arrays.files
            if name.startswith("metric.")
        }
        return arrays["rewards"], metrics


class ResultStore:
    """The SQLite store under a tournament directory; one connection per process."""

    def __init__(self, directory: str | Path, create: bool = True) -> None:
        self.directory = Path(directory)
        self.path = self.directory / STORE_FILE
        if not create and not self.path.is_file():
            raise ConfigError(f"{self.directory}: no tournament result store ({STORE_FILE}) here")
        self.directory.mkdir(parents=True, exist_ok=True)
        # a generous timeout: a report or a test may read while a tournament writes
        self.connection = sqlite3.connect(self.path, timeout=60)
        try:
            self._open()
        except sqlite3.DatabaseError as error:
            self.connection.close()
            raise ConfigError(
                f"{self.path}: not a readable result store ({error}); {RECOVERY}"
            ) from error
        #: the run (index into runs()) that matches stored now belong to, once started
        self.current_run: int | None = None
        #: key -> why, for every match set aside because its row was damaged
        self.quarantined = self._quarantine_damaged()

    def _open(self) -> None:
        (check,) = self.connection.execute("PRAGMA quick_check").fetchone()
        if check != "ok":
            raise sqlite3.DatabaseError(f"integrity check: {check}")
        with self.connection:
            self.connection.executescript(_SCHEMA)
            columns = {row[1] for row in self.connection.execute("PRAGMA table_info(matches)")}
            if "checksum" not in columns:  # stores written before rows carried checksums
                self.connection.execute("ALTER TABLE matches ADD COLUMN checksum TEXT")
            if "run" not in columns:  # ... and before each row named the run that stored it
                self.connection.execute("ALTER TABLE matches ADD COLUMN run INTEGER")
            self.connection.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )
        (schema,) = self.connection.execute(
            "SELECT value FROM meta WHERE name = 'schema'"
        ).fetchone()
        if schema != SCHEMA_VERSION:
            raise ConfigError(f"{self.path}: store schema {schema}, expected {SCHEMA_VERSION}")

    def _quarantine_damaged(self) -> dict[str, str]:
        """Move every match whose checksum or arrays do not hold up into the quarantine table,
        so that it is reported and played again while every other match is kept."""
        columns = ", ".join(CHECKSUMMED)
        damaged = []
        for row in self.connection.execute(f"SELECT {columns}, checksum FROM matches"):
            reason = damage(row[:-1], row[-1])
            if reason:
                damaged.append((row[:-1], reason))
        with self.connection:
            for values, reason in damaged:
                key, _, game, a, b = values[:5]
                self.connection.execute(
                    "INSERT OR REPLACE INTO quarantine VALUES (?, ?, ?, ?, ?)",
                    (key, game, a, b, reason),
                )
                self.connection.execute("DELETE FROM matches WHERE key = ?", (key,))
        return dict(self.connection.execute("SELECT key, reason FROM quarantine ORDER BY key"))

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the plan -------------------------------------------------------------------------

    def save_plan(self, plan: dict[str, Any]) -> None:
        with self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO meta VALUES ('plan', ?)", (json.dumps(plan),)
            )

    def load_plan(self) -> dict[str, Any]:
        row = self.connection.execute("SELECT value FROM meta WHERE name = 'plan'").fetchone()
        if row is None:
            raise ConfigError(f"{self.path}: holds no tournament plan")
        return json.loads(row[0])

    # --- provenance ----------------------------------------------------------------------

    def start_run(self, run: dict[str, Any]) -> None:
        """Record a run's provenance before it plays: every match stored from now on names it,
        so a run that is killed keeps its matches' provenance (`finished` stays false)."""
        runs = self._stored_runs()
        self.current_run = len(runs)
        self._save_runs([*runs, run | {"id": self.current_run, "finished": False}])

    def finish_run(self, fields: dict[str, Any]) -> None:
        """Complete the current run's provenance (wall time, matches played)."""
        runs = self._stored_runs()
        runs[self.current_run] |= fields | {"finished": True}
        self._save_runs(runs)

    def runs(self) -> list[dict[str, Any]]:
        """The provenance of every run that played matches into this store, oldest first,
        each with the keys of the stored matches it computed last (`keys`)."""
        owned: dict[int, list[str]] = {}
        for key, run in self.connection.execute(
            "SELECT key, run FROM matches WHERE run IS NOT NULL ORDER BY key"
        ):
            owned.setdefault(run, []).append(key)
        return [
            run | {"keys": owned.get(run["id"], [])} if "id" in run else run
            for run in self._stored_runs()
        ]

    def _stored_runs(self) -> list[dict[str, Any]]:
        row = self.connection.execute("SELECT value FROM meta WHERE name = 'runs'").fetchone()
        return json.loads(row[0]) if row else []

    def _save_runs(self, runs: list[dict[str, Any]]) -> None:
        with self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO meta VALUES ('runs', ?)", (json.dumps(runs),)
            )

    # --- matches --------------------------------------------------------------------------

    def record(self, identity: dict[str, Any], game: str, a: str, b: str, result: MatchRecord):
        """Write one finished (or failed) match in one transaction, replacing an earlier
        attempt; returns the number of attempts so far."""
        with self.connection:
            row = self.connection.execute(
                "SELECT attempts FROM matches WHERE key = ?", (result.key,)
            ).fetchone()
            attempts = 1 + (row[0] if row else 0)
            arrays = (
                _pack(result.rewards, result.metrics or {})
                if result.done and result.rewards is not None
                else None
            )
            values = (
                result.key,
                result.status,
                game,
                a,
                b,
                json.dumps(identity, sort_keys=True),
                result.evaluation,
                arrays,
                result.error,
            )
            self.connection.execute(
                f"INSERT OR REPLACE INTO matches ({', '.join(CHECKSUMMED)}, wall_time, "
                "attempts, checksum, run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, result.wall_time, attempts, _checksum(values), self.current_run),
            )
            self.connection.execute("DELETE FROM quarantine WHERE key = ?", (result.key,))
        return attempts

    def statuses(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        """key -> 'done' or 'failed' for the stored matches among `keys` (all if None)."""
        rows = self.connection.execute("SELECT key, status FROM matches").fetchall()
        wanted = None if keys is None else set(keys)
        return {key: status for key, status in rows if wanted is None or key in wanted}

    def load(self, key: str) -> MatchRecord | None:
        """The stored match `key` with its arrays, or None."""
        row = self.connection.execute(
            "SELECT status, evaluation, arrays, error, wall_time, attempts "
            "FROM matches WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        status, evaluation, blob, error, wall_time, attempts = row
        rewards, metrics = _unpack(blob) if blob is not None else (None, None)
        return MatchRecord(key, status, evaluation, rewards, metrics, error, wall_time, attempts)
