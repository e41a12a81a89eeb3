"""Process-level settings shared by the CLI, workers, tests and benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from shaping.contracts.errors import ConfigError


def configure_threads(threads: int = 1) -> None:
    """Use `threads` intra-op threads: the default pool stalls badly on small shared machines,
    and the zoo parallelises over seeds inside tensors and over matches across processes."""
    torch.set_num_threads(threads)


def resolve_device(name: str, field: str = "--device") -> torch.device:
    """`cpu`, `cuda` or `cuda:N`, checked to exist on this machine."""
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ConfigError(f"{field}: not a device name: {name!r}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{field}: CUDA is not available on this machine (use --device cpu)")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"{field}: must be cpu or cuda, got {name!r}")
    return device


def available_memory() -> int | None:
    """Bytes the kernel reports as available to new allocations (Linux), else None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_fits(field: str, game: Any, seeds: int, parallel: int = 1) -> None:
    """Refuse `parallel` matches of `seeds` seeds on `game` whose lower-bound memory
    (`Game.min_bytes_per_seed`) exceeds what this machine has available, naming `field`."""
    need = seeds * game.min_bytes_per_seed() * parallel
    available = available_memory()
    if available is not None and need > available:
        running = f" x {parallel} matches at once" if parallel > 1 else ""
        raise ConfigError(
            f"{field}: {seeds} seeds of {game.name}{running} need at least {need / 2**30:.1f} "
            f"GiB, more than the {available / 2**30:.1f} GiB this machine has available; "
            "use fewer seeds"
        )
