"""TensorBoard learning curves of every match: DIR/tensorboard/<game>/<a>_vs_<b>/seed_<k>
(learning together), DIR/tensorboard/league/... and DIR/tensorboard/exploitability/... (the
league's cross-play, one seed per pair of agents, and its exploiters).

Curves are written from the stored arrays after a match is stored, by the process that owns
the store (so Ray and pool workers need no shared filesystem for them). Each match's
directory is written under a temporary name and renamed into place, with the match key in a
marker file: a re-run skips matches whose curves exist, replaces curves of an older
configuration, and never leaves a half-written directory where TensorBoard looks.

Tags: reward/a_<name>, reward/b_<name>, reward/welfare (sum of both), and
<metric>/a_<name>, <metric>/b_<name> for each behaviour metric (cooperation, own_coin_ratio).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np

MARKER = "MATCH_KEY"


def path_part(name: str) -> str:
    """`name` as a portable directory name: every character other than a letter, digit, '.',
    '-' or '_' becomes '_' (e.g. the colon of `axelrod:TitForTat`, invalid on Windows)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def curves_dir(root: Path, game: str, a: str, b: str) -> Path:
    return Path(root) / path_part(game) / f"{path_part(a)}_vs_{path_part(b)}"


def has_curves(root: Path, game: str, a: str, b: str, key: str) -> bool:
    """Whether the curves of match `key` are in place."""
    marker = curves_dir(root, game, a, b) / MARKER
    return marker.is_file() and marker.read_text().strip() == key


def write_curves(
    root: Path,
    game: str,
    a: str,
    b: str,
    key: str,
    rewards: np.ndarray,
    metrics: dict[str, np.ndarray],
) -> Path:
    """Write one event file per seed from `rewards` [iterations, seeds, 2] and `metrics`."""
    # imported here: TensorBoard takes seconds to import and only tournaments need it
    from tensorboard.compat.proto.summary_pb2 import Summary
    from torch.utils.tensorboard import SummaryWriter

    final = curves_dir(root, game, a, b)
    staging = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    series = {
        f"reward/a_{a}": rewards[..., 0],
        f"reward/b_{b}": rewards[..., 1],
        "reward/welfare": rewards.sum(-1),
    }
    for name, values in metrics.items():
        series[f"{name}/a_{a}"] = values[..., 0]
        series[f"{name}/b_{b}"] = values[..., 1]
    tags = list(series)
    stacked = np.stack([series[tag] for tag in tags], axis=-1).astype(float)  # [I, S, tags]
    for seed in range(stacked.shape[1]):
        # one event per iteration with every tag: several times faster than add_scalar
        writer = SummaryWriter(str(staging / f"seed_{seed}"), max_queue=1000)
        for iteration, row in enumerate(stacked[:, seed].tolist()):
            values = [Summary.Value(tag=t, simple_value=v) for t, v in zip(tags, row, strict=True)]
            writer.file_writer.add_summary(Summary(value=values), iteration)
        writer.close()
    (staging / MARKER).write_text(key + "\n")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    return final


def remove_stale_staging(root: Path) -> None:
    """Delete half-written curve directories left by an interrupted run."""
    for staging in Path(root).glob("*/.*.tmp"):
        shutil.rmtree(staging, ignore_errors=True)
