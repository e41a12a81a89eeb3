"""Tournament throughput: wall time and matches per minute of the quick profile on the five
baselines, with the local executor in-process (1 worker) and with a 2-process pool.

The whole run is timed, as a user sees it: planning, every match, the result store,
TensorBoard curves and the report (a fresh directory each time, so nothing is reused).
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from shaping.bench import Measurement
from shaping.tournament.run import TournamentOptions, run_tournament

BASELINES = ["naive", "always_cooperate", "always_defect", "tit_for_tat", "random"]


def run(quick: bool) -> list[Measurement]:
    measurements = []
    for workers in (1, 2):
        best, matches = float("inf"), 0
        for _ in range(1 if quick else 2):
            with tempfile.TemporaryDirectory(prefix="shaping-bench-") as directory:
                start = time.perf_counter()
                summary = run_tournament(
                    TournamentOptions(
                        profile="quick",
                        algorithms=BASELINES,
                        workers=workers,
                        out=Path(directory) / "tournament",
                        artifacts=str(Path(directory) / "artifacts"),
                    ),
                    stream=io.StringIO(),
                )
                best = min(best, time.perf_counter() - start)
                matches = summary.played
        setting = f"5 baselines, {workers} worker" + ("s" if workers > 1 else "")
        measurements.append(Measurement("quick tournament wall time", setting, best, "s"))
        measurements.append(
            Measurement("quick tournament throughput", setting, 60 * matches / best, "matches/min")
        )
    return measurements
