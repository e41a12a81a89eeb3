"""Output paths checked before any work starts, so a bad path costs one line, not a result.

A match, a training run or a tournament writes its results at the end; a path that cannot
be written would lose them. Every command checks its output files and directories first.
"""

from __future__ import annotations

import os
from pathlib import Path

from shaping.contracts.errors import ConfigError


def _nearest_existing(path: Path) -> Path:
    """`path` or the closest ancestor of it that exists."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path.cwd()


def check_output_dir(field: str, directory: str | os.PathLike) -> Path:
    """`directory` is, or can be created as, a writable directory; else ConfigError naming
    `field`. Creates nothing."""
    path = Path(directory)
    existing = _nearest_existing(path)
    if not existing.is_dir():
        where = "is a file" if existing == path else f"is under a file ({existing})"
        raise ConfigError(f"{field}: {path} {where}, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "directory" if existing == path else f"directory {existing} (to create {path})"
        raise ConfigError(f"{field}: cannot write to the {what}: permission denied")
    return path


def check_output_file(field: str, file: str | os.PathLike) -> Path:
    """`file` can be written: not a directory, in an existing writable directory, and
    writable if it exists; else ConfigError naming `field`. Creates nothing."""
    path = Path(file)
    if path.is_dir():
        raise ConfigError(f"{field}: {path} is a directory, not a file")
    parent = path.parent
    if not parent.is_dir():
        existing = _nearest_existing(parent)
        reason = "does not exist" if existing.is_dir() else f"is under a file ({existing})"
        raise ConfigError(f"{field}: directory {parent} {reason}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{field}: cannot write {path}: permission denied")
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{field}: cannot write in directory {parent}: permission denied")
    return path
