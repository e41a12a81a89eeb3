"""Cached artifacts of pretrained agents (M-FOS meta-policies, PPI models, COLA update
functions, MeVa meta-values) under results/zoo/.

An artifact is keyed by a hash of everything that determines it: the algorithm, the game, both
configurations and the code version (`shaping.engine.sources.code_version`: the source of every
module the algorithm and the game import, and the versions of the libraries they use). It is
written atomically (temporary file + rename) with a checksum of its payload; an artifact that
is corrupt, or whose stored key does not match, is detected, reported and retrained, never
silently used.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

DEFAULT_ARTIFACT_DIR = Path(__file__).resolve().parents[2] / "results" / "zoo"


def key_digest(key: dict[str, Any]) -> str:
    """Stable hash of a JSON-serialisable key."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def without_code(key: dict[str, Any]) -> dict[str, Any]:
    """`key` (of an artifact or a match) but its code version: what a stale entry shares."""
    return {name: value for name, value in key.items() if name != "code"}


def stored_form(key: dict[str, Any]) -> Any:
    """`key` as a record stores it (JSON types: tuples become lists), for comparisons."""
    return json.loads(json.dumps(key, sort_keys=True, default=str))


def _read_record(path: Path) -> dict[str, Any]:
    """The record at `path` (key, checksum, payload bytes); raises if it is unreadable or its
    payload does not match its checksum."""
    record = torch.load(path, map_location="cpu", weights_only=False)
    if hashlib.sha256(record["payload"]).hexdigest() != record["checksum"]:
        raise ValueError("checksum mismatch")
    return record


def _current_umask() -> int:
    """The process's umask (only readable by setting it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class ArtifactCache:
    """load-or-train for named artifacts; payloads are anything `torch.save` can write."""

    def __init__(
        self, root: str | os.PathLike | None = None, log: Callable[[str], None] | None = None
    ):
        self.root = Path(root) if root is not None else DEFAULT_ARTIFACT_DIR
        self.log = log or (lambda message: print(message, file=sys.stderr))

    def path(self, algorithm: str, game: str, key: dict[str, Any]) -> Path:
        return self.root / algorithm / game / f"{key_digest(key)[:20]}.pt"

    def state(self, algorithm: str, game: str, key: dict[str, Any]) -> str:
        """`stored` (intact, under `key`), `corrupt`, `stale` (absent, but held under another
        code version) or `missing`; reads records without unpickling their payloads."""
        path = self.path(algorithm, game, key)
        wanted = stored_form(key)
        if path.exists():
            try:
                return "stored" if _read_record(path)["key"] == wanted else "corrupt"
            except Exception:  # unreadable in any way
                return "corrupt"
        for other in path.parent.glob("*.pt"):
            try:
                if without_code(_read_record(other)["key"]) == without_code(wanted):
                    return "stale"
            except Exception:  # another artifact's damage is not this one's state
                continue
        return "missing"

    def load(self, algorithm: str, game: str, key: dict[str, Any]) -> Any | None:
        """The cached payload, or None if missing, corrupt or keyed differently."""
        path = self.path(algorithm, game, key)
        if not path.exists():
            return None
        try:
            record = _read_record(path)
            payload_bytes = record["payload"]
            if record["key"] != stored_form(key):
                raise ValueError("stored key differs (version or configuration mismatch)")
            return torch.load(io.BytesIO(payload_bytes), map_location="cpu", weights_only=False)
        except Exception as error:  # any unreadable artifact is retrained, never used
            self.log(f"artifact {path} is unusable ({error}); it will be retrained")
            return None

    def save(self, algorithm: str, game: str, key: dict[str, Any], payload: Any) -> Path:
        """Write `payload` atomically; returns its path."""
        path = self.path(algorithm, game, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        payload_bytes = buffer.getvalue()
        record = {
            "key": stored_form(key),
            "checksum": hashlib.sha256(payload_bytes).hexdigest(),
            "payload": payload_bytes,
        }
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            # mkstemp makes the file private (0600); a shared cache needs the umask's mode
            os.chmod(temporary, 0o666 & ~_current_umask())
            with os.fdopen(handle, "wb") as stream:
                torch.save(record, stream)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    def load_or_train(
        self, algorithm: str, game: str, key: dict[str, Any], train: Callable[[], Any]
    ) -> Any:
        """The cached payload for `key`, training and saving it first if needed."""
        cached = self.load(algorithm, game, key)
        if cached is not None:
            return cached
        self.log(f"training {algorithm} for {game} (artifact not cached yet)")
        payload = train()
        self.save(algorithm, game, key, payload)
        return payload
