"""Pinned artifacts: small trained artifacts committed under results/pinned, for agents whose
training costs more than `make tournament`'s hour here (PPI's main result, about an hour of
one core).

A pinned artifact is a copy of an artifact-cache file, at the cache's own relative path
(`<artifact name>/<game>/<key digest>.pt`), listed in `results/pinned/manifest.json` with the
command that trains it, the commit it was trained at, its key digest, its file checksum and
the fingerprint of what it learned (`fingerprint`: its tensors and numbers bit for bit, its
timings left out). When a cache lacks an artifact whose key a pinned one carries, `provide`
copies the pinned file in (checksums verified), so the tournament, `shaping train` and
`shaping play` train nothing. The key carries the code version, so a pinned artifact is used
only at the code it was trained with: a change to that code makes it stale, `make test`
says so (tests/league/test_pinned.py) and `make pinned` retrains and re-pins it.

    shaping train --algorithm ppi --game ipd --pin     # train (or load) and pin it
    provide(cache, name, game, key)                    # copy in a pinned artifact, if any
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tempfile
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import torch

from shaping.contracts.errors import ConfigError
from shaping.engine.artifacts import ArtifactCache, key_digest
from shaping.engine.sources import PROJECT_ROOT

PINNED_DIR = PROJECT_ROOT / "results" / "pinned"
MANIFEST_NAME = "manifest.json"
#: the product card's limit on a committed artifact
MAX_PINNED_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class PinnedEntry:
    """One pinned artifact, as the manifest lists it."""

    entrant: str
    game: str
    profile: str
    #: the file, relative to the pinned directory (the cache's relative path)
    artifact: str
    key_digest: str
    #: the code version in its key (shaping.engine.sources.code_version)
    code: str
    commit: str
    command: str
    file_sha256: str
    fingerprint: str
    bytes: int
    train_seconds: float


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_timing(name: str) -> bool:
    """A payload field that measures time, not learning (PPI's phase `seconds`, a league
    artifact's `wall_time_s`): it differs between runs of the same training."""
    return name.endswith(("seconds", "_s"))


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"tensor{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    elif is_dataclass(value) and not isinstance(value, type):
        digest.update(type(value).__qualname__.encode())
        for item in fields(value):
            if not _is_timing(item.name):
                digest.update(item.name.encode())
                _feed(digest, getattr(value, item.name))
    elif isinstance(value, dict):
        for name in sorted(value, key=str):
            if not _is_timing(str(name)):
                digest.update(repr(name).encode())
                _feed(digest, value[name])
    elif isinstance(value, list | tuple):
        digest.update(f"seq{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    elif hasattr(value, "signature"):  # a policy family: what makes parameters interchangeable
        _feed(digest, value.signature())
    elif hasattr(value, "state_dict"):  # a module
        _feed(digest, value.state_dict())
    elif hasattr(value, "__dict__"):
        digest.update(type(value).__qualname__.encode())
        _feed(digest, vars(value))
    else:
        digest.update(repr(value).encode())


def recorded_seconds(payload: Any) -> float:
    """The training time a payload records of itself: the sum of its fields named `seconds`
    (PPI: pretraining, then each phase) or `wall_time_s` (a league artifact)."""
    if is_dataclass(payload) and not isinstance(payload, type):
        payload = {item.name: getattr(payload, item.name) for item in fields(payload)}
    if isinstance(payload, dict):
        return sum(
            float(value) if name in ("seconds", "wall_time_s") else recorded_seconds(value)
            for name, value in payload.items()
        )
    if isinstance(payload, list | tuple):
        return sum(recorded_seconds(item) for item in payload)
    return 0.0


def fingerprint(payload: Any) -> str:
    """sha256 of what an artifact's payload learned: every tensor's bytes, number and name,
    its timings left out, so two trainings of the same key compare bit for bit."""
    digest = hashlib.sha256()
    _feed(digest, payload)
    return digest.hexdigest()


def read_manifest(root: Path = PINNED_DIR) -> list[PinnedEntry]:
    """The manifest's entries ([] if there is none); ConfigError naming the file and field
    when it is malformed."""
    path = root / MANIFEST_NAME
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: not a readable JSON manifest ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("artifacts"), list):
        raise ConfigError(f"{path}: artifacts: the manifest needs a list of artifacts")
    names = {item.name for item in fields(PinnedEntry)}
    entries = []
    for index, item in enumerate(document["artifacts"]):
        if not isinstance(item, dict) or set(item) != names:
            given = set(item) if isinstance(item, dict) else set()
            raise ConfigError(
                f"{path}: artifacts[{index}]: needs exactly the fields {sorted(names)} "
                f"(missing {sorted(names - given)}, unknown {sorted(given - names)})"
            )
        entries.append(PinnedEntry(**item))
    return entries


def _write_manifest(root: Path, entries: list[PinnedEntry]) -> None:
    document = {
        "about": "Pinned artifacts (shaping/engine/pinned.py, docs/league.md 'Pinned artifacts'): "
        "`command` at `commit` reproduces each file's `fingerprint` bit for bit on this "
        "project's CPU machine; `make pinned` retrains the stale ones.",
        "artifacts": [asdict(entry) for entry in sorted(entries, key=lambda e: e.artifact)],
    }
    _atomic_write(root / MANIFEST_NAME, (json.dumps(document, indent=2) + "\n").encode())


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _pinned_copy(
    cache: ArtifactCache, name: str, game: str, key: dict[str, Any], root: Path
) -> tuple[PinnedEntry, Path] | None:
    """The manifest entry and file of the pinned artifact of (`name`, `game`, `key`), if the
    manifest lists one; a listed file that is damaged or holds another key is reported."""
    relative = cache.path(name, game, key).relative_to(cache.root).as_posix()
    entry = next((e for e in read_manifest(root) if e.artifact == relative), None)
    if entry is None:
        return None
    source = root / relative
    if not source.exists() or file_sha256(source) != entry.file_sha256:
        cache.log(f"pinned artifact {source} is missing or damaged (checksum); it is not used")
        return None
    if ArtifactCache(root, log=cache.log).state(name, game, key) != "stored":
        cache.log(f"pinned artifact {source} does not hold this key; it is not used")
        return None
    return entry, source


def available(
    cache: ArtifactCache, name: str, game: str, key: dict[str, Any], root: Path = PINNED_DIR
) -> bool:
    """Whether an intact pinned artifact of (`name`, `game`, `key`) exists (reads only)."""
    return _pinned_copy(cache, name, game, key, root) is not None


def provide(
    cache: ArtifactCache, name: str, game: str, key: dict[str, Any], root: Path = PINNED_DIR
) -> bool:
    """Copy the pinned artifact of (`name`, `game`, `key`) into `cache` when the cache has no
    intact one and the pinned directory does (its manifest checksum and its record's key and
    payload checksum verified); whether it copied. A damaged pinned file is reported and left
    alone: the cache then trains as usual."""
    if cache.state(name, game, key) == "stored":
        return False
    found = _pinned_copy(cache, name, game, key, root)
    if found is None:
        return False
    entry, source = found
    _atomic_write(cache.path(name, game, key), source.read_bytes())
    cache.log(
        f"{name} for {game}: pinned artifact from {root} (trained at commit "
        f"{entry.commit[:12]} by `{entry.command}`)"
    )
    return True


def _commit() -> str:
    """HEAD's commit, with `+uncommitted` when tracked files differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+uncommitted" if dirty else "")


def pin(
    cache: ArtifactCache,
    name: str,
    game: str,
    key: dict[str, Any],
    *,
    entrant: str,
    profile: str,
    command: str,
    root: Path = PINNED_DIR,
) -> PinnedEntry:
    """Copy the cached artifact of (`name`, `game`, `key`) into the pinned directory and list
    it in the manifest (replacing any entry of the same entrant, game and profile)."""
    source = cache.path(name, game, key)
    if cache.state(name, game, key) != "stored":
        raise ConfigError(f"--pin: no intact artifact at {source} to pin")
    size = source.stat().st_size
    if size > MAX_PINNED_BYTES:
        raise ConfigError(
            f"--pin: {source} is {size / 2**20:.1f} MiB; committed artifacts stay under 2 MiB"
        )
    payload = torch.load(io.BytesIO(_payload_bytes(source)), map_location="cpu", weights_only=False)
    relative = source.relative_to(cache.root).as_posix()
    entry = PinnedEntry(
        entrant=entrant,
        game=game,
        profile=profile,
        artifact=relative,
        key_digest=key_digest(key),
        code=str(key.get("code", "")),
        commit=_commit(),
        command=command,
        file_sha256=file_sha256(source),
        fingerprint=fingerprint(payload),
        bytes=size,
        train_seconds=round(recorded_seconds(payload), 1),
    )
    kept = [
        e for e in read_manifest(root) if (e.entrant, e.game, e.profile) != (entrant, game, profile)
    ]
    for stale in {e.artifact for e in read_manifest(root)} - {e.artifact for e in kept}:
        (root / stale).unlink(missing_ok=True)
    target = root / relative
    _atomic_write(target, source.read_bytes())
    _write_manifest(root, [*kept, entry])
    return entry


def _payload_bytes(path: Path) -> bytes:
    return torch.load(path, map_location="cpu", weights_only=False)["payload"]


def payload_fingerprint(path: Path) -> str:
    """The fingerprint of the payload of the artifact file at `path`."""
    return fingerprint(torch.load(io.BytesIO(_payload_bytes(path)), weights_only=False))
