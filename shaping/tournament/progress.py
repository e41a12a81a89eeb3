"""A progress bar on stderr: matches done / total, ETA, and the match being played.

On a terminal the bar redraws in place; otherwise (CI logs, files) it prints a line at most
every few seconds, plus one for every failure. The ETA sums, over the matches left, the mean
compute time of the matches of the same game finished in this run, divided by the number of
parallel workers.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import defaultdict
from typing import TextIO


def format_duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class Progress:
    """Tracks a tournament's matches; `remaining` maps game -> matches still to play."""

    def __init__(
        self,
        total: int,
        stored: int,
        remaining: dict[str, int],
        parallel: int,
        stream: TextIO | None = None,
        interactive: bool | None = None,
        log_interval: float = 5.0,
    ) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.total = total
        self.done = stored
        self.failed = 0
        self.remaining = dict(remaining)
        self.parallel = max(1, parallel)
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.current = ""
        self.log_interval = log_interval
        self._last_log = float("-inf")
        self._drawn = False

    def eta(self) -> float | None:
        """Seconds left, or None before the first match of this run has finished."""
        finished = [s for values in self.seconds.values() for s in values]
        if not finished:
            return None
        overall = sum(finished) / len(finished)
        left = sum(
            count * (sum(self.seconds[g]) / len(self.seconds[g]) if self.seconds[g] else overall)
            for g, count in self.remaining.items()
        )
        return left / self.parallel

    def line(self) -> str:
        eta = self.eta()
        share = self.done / self.total if self.total else 1.0
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"{self.done}/{self.total} matches{failed}  {100 * share:3.0f}%  "
            f"ETA {format_duration(eta) if eta is not None else '?'}"
            + (f"  now: {self.current}" if self.current else "")
        )

    def started(self, labels: list[str]) -> None:
        """The tasks in flight changed; the oldest is shown as the current one."""
        more = f" (+{len(labels) - 1} more)" if len(labels) > 1 else ""
        self.current = labels[0] + more if labels else ""
        self._draw()

    def finished(self, game: str, label: str, seconds: float, error: str | None) -> None:
        self.done += 1
        self.remaining[game] = max(0, self.remaining.get(game, 0) - 1)
        self.seconds[game].append(seconds)
        if self.current.startswith(label):
            self.current = ""
        if error is not None:
            self.failed += 1
            self.message(f"failed: {label}: {error}")
        self._draw(force=self.done == self.total)

    def message(self, text: str) -> None:
        """A line of its own, above the bar."""
        self._clear()
        print(text, file=self.stream, flush=True)
        self._draw(force=True)

    def close(self) -> None:
        self._clear()

    def _draw(self, force: bool = False) -> None:
        if self.interactive:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            filled = int(24 * (self.done / self.total if self.total else 1))
            text = f"[{'#' * filled}{'.' * (24 - filled)}] {self.line()}"
            print(f"\r{text[:width]:<{width}}", end="", file=self.stream, flush=True)
            self._drawn = True
            return
        now = time.monotonic()
        if force or now - self._last_log >= self.log_interval:
            print(self.line(), file=self.stream, flush=True)
            self._last_log = now

    def _clear(self) -> None:
        if self.interactive and self._drawn:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            print(f"\r{'':<{width}}\r", end="", file=self.stream, flush=True)
            self._drawn = False
