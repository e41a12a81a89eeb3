"""Reporting of long pretraining runs: a progress bar on stderr, one-line status through
`TrainingContext.progress`, and TensorBoard curves under `TrainingContext.log_dir`."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from shaping.contracts.algorithm import TrainingContext


class TrainingMonitor:
    """monitor = TrainingMonitor(context, total=1024, label="mfos ipd")
    monitor.update(done, {"meta_return": ..., ...})   # after each unit of work
    monitor.close()

    The bar redraws in place on a terminal and prints a line every tenth of the run
    otherwise; `context.progress` receives the same line every tenth of the run; every
    scalar goes to TensorBoard (tag as given, step `done`) when `context.log_dir` is set.
    """

    def __init__(
        self,
        context: TrainingContext,
        total: int,
        label: str,
        stream: TextIO | None = None,
        width: int = 24,
        unit: str = "",
    ) -> None:
        self.context = context
        self.total = max(total, 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        #: what is counted, shown before `done/total` (e.g. "phase")
        self.unit = f"{unit} " if unit else ""
        self.start = time.perf_counter()
        self._tenth = -1
        self._writer = None
        if context.log_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            context.log_dir.mkdir(parents=True, exist_ok=True)
            self._writer = SummaryWriter(log_dir=str(context.log_dir))

    def line(self, done: int, scalars: dict[str, float]) -> str:
        """`label |####    | [unit ]done/total [elapsed<left] name value ...`."""
        fraction = min(done / self.total, 1.0)
        filled = round(fraction * self.width)
        elapsed = time.perf_counter() - self.start
        left = elapsed / fraction - elapsed if fraction > 0 else float("nan")
        shown = " ".join(f"{name} {value:.3f}" for name, value in scalars.items())
        bar = "#" * filled + " " * (self.width - filled)
        return (
            f"{self.label} |{bar}| {self.unit}{done}/{self.total} "
            f"[{elapsed:.0f}s<{left:.0f}s] {shown}"
        ).rstrip()

    def update(self, done: int, scalars: dict[str, float]) -> None:
        """Report that `done` units are finished, with the latest training scalars."""
        if self._writer is not None:
            for name, value in scalars.items():
                self._writer.add_scalar(name, value, done)
        text = self.line(done, scalars)
        tenth = (10 * done) // self.total
        on_terminal = getattr(self.stream, "isatty", lambda: False)()
        if on_terminal:
            self.stream.write("\r" + text)
            self.stream.flush()
        if tenth != self._tenth or done >= self.total:
            self._tenth = tenth
            if not on_terminal:
                self.stream.write(text + "\n")
                self.stream.flush()
            self.context.progress(text)

    def status(self, message: str) -> None:
        """Say what a long unit of work is doing now, on a line of its own (the bar moves only
        when a unit ends, which for PPI's phases is minutes apart)."""
        text = f"{self.label}: {message}"
        on_terminal = getattr(self.stream, "isatty", lambda: False)()
        self.stream.write(("\r\033[K" if on_terminal else "") + text + "\n")
        self.stream.flush()
        self.context.progress(text)

    def close(self) -> None:
        """End the bar's line and flush TensorBoard."""
        if getattr(self.stream, "isatty", lambda: False)():
            self.stream.write("\n")
        if self._writer is not None:
            self._writer.close()
