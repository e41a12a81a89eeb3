"""Process-level settings shared by the CLI, workers, tests and benchmarks."""

from __future__ import annotations

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
