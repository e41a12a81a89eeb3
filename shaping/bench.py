"""`make bench`: throughput figures of the zoo's hot paths on this machine.

Each module of shaping/benchmarks/ contributes a `run(quick) -> list[Measurement]`; this
runner imports them all, prints one table, and can write JSON. Timings are the best of
several repeats after a warm-up (the minimum is the least noisy estimate on a shared box),
single-threaded as everywhere in the zoo.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

from shaping import benchmarks
from shaping.engine.runtime import configure_threads


@dataclass
class Measurement:
    """One printed figure: `value` `unit` for `name` at `setting`."""

    name: str
    setting: str
    value: float
    unit: str
    reference: str = ""


def best_seconds(work: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Minimum wall time of `work()` over `repeats` runs after `warmup` runs."""
    for _ in range(warmup):
        work()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def discover() -> dict[str, Callable[[bool], list[Measurement]]]:
    """name -> run function of every module in shaping/benchmarks/."""
    found = {}
    for module in pkgutil.iter_modules(benchmarks.__path__):
        loaded = importlib.import_module(f"{benchmarks.__name__}.{module.name}")
        found[module.name] = loaded.run
    return found


def format_value(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shaping.bench", description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="benchmark modules to run")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    configure_threads(1)
    suites = discover()
    chosen = args.only or sorted(suites)
    unknown = [name for name in chosen if name not in suites]
    if unknown:
        known = ", ".join(sorted(suites))
        print(f"unknown benchmark {unknown[0]!r}; known: {known}", file=sys.stderr)
        return 2
    print(f"torch {torch.__version__}, 1 thread, best of repeats")
    print(f"{'benchmark':<34}{'setting':<26}{'figure':>16}  unit")
    results: list[Measurement] = []
    for name in chosen:
        for measurement in suites[name](args.quick):
            results.append(measurement)
            line = (
                f"{measurement.name:<34}{measurement.setting:<26}"
                f"{format_value(measurement.value):>16}  {measurement.unit}"
            )
            if measurement.reference:
                line += f"   ({measurement.reference})"
            print(line, flush=True)
    if args.json:
        with open(args.json, "w") as stream:
            json.dump([asdict(m) for m in results], stream, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
