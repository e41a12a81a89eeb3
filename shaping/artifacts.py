"""Cached artifacts of pretrained agents (M-FOS meta-policies, PPI models, COLA update
functions, MeVa meta-values) under results/zoo/.

An artifact is keyed by a hash of everything that determines it: the algorithm, the game, both
configurations and the code version (the algorithm's and game's source files, the shaping/
core and the versions of torch and numpy). It is written atomically (temporary file + rename)
with a checksum of its payload; an artifact that is corrupt, or whose stored key does not
match, is detected, reported and retrained, never silently used.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

import shaping

DEFAULT_ARTIFACT_DIR = Path(__file__).resolve().parents[1] / "results" / "zoo"
CORE_DIR = Path(__file__).resolve().parent
#: core modules that only present results (command line, benchmark printing): editing them
#: must not invalidate stored matches and artifacts
PRESENTATION_MODULES = frozenset({"cli.py", "bench.py"})
#: libraries whose numerics decide every result: another version may change a stored number
NUMERIC_LIBRARIES = ("numpy", "torch")


def file_digest(paths: Iterable[Path]) -> str:
    """SHA-256 over the contents of `paths` (sorted), hex."""
    digest = hashlib.sha256()
    for path in sorted({Path(p).resolve() for p in paths}):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def library_versions(libraries: Iterable[str] = ()) -> str:
    """`name==version` of the numeric libraries and of `libraries` (distribution names),
    sorted and `;`-joined; a library that is not installed reads `name==absent`."""
    versions = []
    for name in sorted({*NUMERIC_LIBRARIES, *libraries}):
        try:
            versions.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}==absent")
    return ";".join(versions)


def code_version(extra_files: Iterable[Path] = (), libraries: Iterable[str] = ()) -> str:
    """A short hash of the shaping/ core, `extra_files` (e.g. an algorithm's module) and the
    versions of the numeric libraries and of `libraries` (e.g. a library an algorithm wraps)."""
    core = [p for p in CORE_DIR.glob("*.py") if p.name not in PRESENTATION_MODULES]
    digest = key_digest(
        {"files": file_digest([*core, *extra_files]), "libraries": library_versions(libraries)}
    )
    return f"{shaping.__version__}+{digest[:16]}"


def key_digest(key: dict[str, Any]) -> str:
    """Stable hash of a JSON-serialisable key."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


class ArtifactCache:
    """load-or-train for named artifacts; payloads are anything `torch.save` can write."""

    def __init__(
        self, root: str | os.PathLike | None = None, log: Callable[[str], None] | None = None
    ):
        self.root = Path(root) if root is not None else DEFAULT_ARTIFACT_DIR
        self.log = log or (lambda message: print(message, file=sys.stderr))

    def path(self, algorithm: str, game: str, key: dict[str, Any]) -> Path:
        return self.root / algorithm / game / f"{key_digest(key)[:20]}.pt"

    def load(self, algorithm: str, game: str, key: dict[str, Any]) -> Any | None:
        """The cached payload, or None if missing, corrupt or keyed differently."""
        path = self.path(algorithm, game, key)
        if not path.exists():
            return None
        try:
            record = torch.load(path, map_location="cpu", weights_only=False)
            payload_bytes = record["payload"]
            if hashlib.sha256(payload_bytes).hexdigest() != record["checksum"]:
                raise ValueError("checksum mismatch")
            if record["key"] != json.loads(json.dumps(key, sort_keys=True, default=str)):
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
            "key": json.loads(json.dumps(key, sort_keys=True, default=str)),
            "checksum": hashlib.sha256(payload_bytes).hexdigest(),
            "payload": payload_bytes,
        }
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
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
