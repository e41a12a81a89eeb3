"""The tournament's tasks and the executors that run them.

Two task functions, `play` (one match) and `prepare` (train or load one pretrained artifact),
run unchanged in-process, in a process pool and as Ray remote tasks, so every executor gives
the same numbers for the same seeds. Both catch every error of the work itself and return it
as a failed record, so one failing match never stops a tournament.

Executors keep a bounded number of tasks in flight (`slots`) and hand back results as they
finish; `run_tasks` drives them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shaping.contracts.algorithm import TrainingContext
from shaping.contracts.errors import ConfigError, ZooError
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.match import run_match
from shaping.engine.registry import import_object
from shaping.engine.runtime import configure_threads
from shaping.tournament.plan import MatchSpec, Player
from shaping.tournament.store import MatchRecord


def describe_error(error: BaseException) -> str:
    """One line: the exception, its message and where it was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}{where}"


def build_game(name: str, module: str, config: Any, device: str) -> Any:
    """The game a match or a pretraining task names, built from its module and config."""
    return import_object(module, f"game {name}")(name, config, device)


def _build_algorithm(player: Player) -> Any:
    return import_object(player.module, f"algorithm {player.name}")(player.config, player.name)


@dataclass(frozen=True)
class MatchTask:
    """Play one match; pretrained artifacts come from (or go to) `artifacts`."""

    spec: MatchSpec
    artifacts: str | None = None

    @property
    def label(self) -> str:
        return self.spec.label

    def failure(self, error: str, wall_time: float = 0.0) -> MatchRecord:
        return MatchRecord(self.spec.key, "failed", error=error, wall_time=wall_time)


@dataclass(frozen=True)
class PrepareTask:
    """Train (or load) one pretrained algorithm's artifact for one game."""

    player: Player
    game: str
    game_module: str
    game_config: Any
    device: str
    artifacts: str | None = None
    log_dir: str | None = None

    @property
    def label(self) -> str:
        return f"training {self.player.name} for {self.game}"

    def failure(self, error: str, wall_time: float = 0.0) -> str:
        return error


def play(task: MatchTask) -> MatchRecord:
    """Run one match (single-threaded, as every zoo worker); errors become failed records."""
    configure_threads(1)
    spec = task.spec
    start = time.perf_counter()
    try:
        game = build_game(spec.game, spec.game_module, spec.game_config, spec.device)
        result = run_match(
            game,
            (_build_algorithm(spec.players[0]), _build_algorithm(spec.players[1])),
            seeds=spec.seeds,
            iterations=spec.iterations,
            seed=spec.seed,
            artifacts=ArtifactCache(task.artifacts),
        )
    except Exception as error:  # a failing match is a result, recorded with its error
        return task.failure(describe_error(error), time.perf_counter() - start)
    return MatchRecord(
        spec.key,
        "done",
        evaluation=result.evaluation,
        rewards=result.rewards,
        metrics=result.metrics,
        wall_time=result.wall_time,
    )


def prepare(task: PrepareTask) -> str | None:
    """Make sure the artifact exists (training it if needed); None, or the error."""
    configure_threads(1)
    try:
        game = build_game(task.game, task.game_module, task.game_config, task.device)
        context = TrainingContext(log_dir=Path(task.log_dir) if task.log_dir else None)
        _build_algorithm(task.player).prepare(game, ArtifactCache(task.artifacts), context)
    except Exception as error:  # recorded against every match that needs this artifact
        return describe_error(error)
    return None


class Executor:
    """Runs tasks, at most `slots` at a time, and returns them as they finish."""

    #: tasks kept in flight, and tasks that actually run in parallel
    slots: int = 1
    workers: int = 1
    description: str = ""

    def start(self, function: Callable[[Any], Any], task: Any) -> None:
        raise NotImplementedError

    def next_finished(self) -> tuple[Any, Any]:
        """Block until a started task finishes; (task, result)."""
        raise NotImplementedError

    def running(self) -> list[Any]:
        """The started tasks that have not been returned yet, oldest first."""
        raise NotImplementedError

    def close(self, interrupted: bool = False) -> None:
        """Release workers; when `interrupted`, abandon unfinished tasks at once."""


def run_tasks(
    executor: Executor,
    function: Callable[[Any], Any],
    tasks: Iterable[Any],
    on_change: Callable[[list[Any]], None] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """(task, result) pairs, in order of completion; `on_change` sees the tasks in flight
    whenever they change (a finished task leaves them before its result is handed on)."""
    waiting = deque(tasks)
    in_flight = 0
    while waiting or in_flight:
        started = False
        while waiting and in_flight < executor.slots:
            executor.start(function, waiting.popleft())
            in_flight += 1
            started = True
        if started and on_change is not None:
            on_change(executor.running())
        task, result = executor.next_finished()
        in_flight -= 1
        if on_change is not None:
            on_change(executor.running())
        yield task, result


class InProcessExecutor(Executor):
    """Sequential, in this process: the default, and the reference the others must match."""

    description = "in-process"

    def __init__(self) -> None:
        self._started: deque[tuple[Callable[[Any], Any], Any]] = deque()

    def start(self, function: Callable[[Any], Any], task: Any) -> None:
        self._started.append((function, task))

    def next_finished(self) -> tuple[Any, Any]:
        function, task = self._started[0]
        result = function(task)
        self._started.popleft()
        return task, result

    def running(self) -> list[Any]:
        return [task for _, task in self._started]

    def close(self, interrupted: bool = False) -> None:
        self._started.clear()


def _exit_with_parent(parent: int) -> None:
    """A pool worker outlives a parent killed with SIGKILL (nothing closes its task queue):
    watch the parent and leave with it."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _init_pool_worker() -> None:
    configure_threads(1)
    # Ctrl-C reaches the whole process group: only the parent reacts (it stops the workers)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


class PoolExecutor(Executor):
    """`workers` spawned processes, each single-threaded."""

    def __init__(self, workers: int) -> None:
        self.slots = self.workers = workers
        self.description = f"{workers} worker processes"
        self._children_before = set(multiprocessing.active_children())
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_pool_worker,
        )
        self._futures: dict[Future, Any] = {}

    def start(self, function: Callable[[Any], Any], task: Any) -> None:
        self._futures[self._pool.submit(function, task)] = task

    def next_finished(self) -> tuple[Any, Any]:
        done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
        future = min(done, key=list(self._futures).index)
        task = self._futures.pop(future)
        try:
            return task, future.result()
        except BrokenProcessPool as error:
            raise ZooError(
                f"a worker process died while playing {task.label} (out of memory?); "
                "finished matches are stored, run the same command again to resume"
            ) from error

    def running(self) -> list[Any]:
        return list(self._futures.values())

    def close(self, interrupted: bool = False) -> None:
        if interrupted:
            self._pool.shutdown(wait=False, cancel_futures=True)
            # the workers are the children this executor spawned; stop their current match
            for child in set(multiprocessing.active_children()) - self._children_before:
                child.terminate()
        self._pool.shutdown(wait=True, cancel_futures=interrupted)


class RayExecutor(Executor):
    """The same task functions as Ray remote tasks (one CPU each) on a new local cluster of
    `workers` CPUs (all CPUs if None), or on the cluster at `address`."""

    def __init__(self, address: str | None, workers: int | None) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "--executor ray: Ray is not installed (pip install '.[ray]'; make install does)"
            ) from None
        self._ray = ray
        self._owns_cluster = not ray.is_initialized()
        if self._owns_cluster:
            options: dict[str, Any] = {
                "include_dashboard": False,
                "logging_level": logging.WARNING,
                "log_to_driver": False,
            }
            if address:
                ray.init(address=address, **options)
            else:
                ray.init(num_cpus=workers, **options)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # twice the CPUs in flight keeps every worker busy between completions
        self.workers = max(1, cpus)
        self.slots = 2 * self.workers
        self.description = f"Ray cluster of {cpus} CPUs" + (f" at {address}" if address else "")
        self._remote: dict[Callable[[Any], Any], Any] = {}
        self._refs: dict[Any, Any] = {}

    def start(self, function: Callable[[Any], Any], task: Any) -> None:
        if function not in self._remote:
            self._remote[function] = self._ray.remote(num_cpus=1, max_retries=0)(function)
        self._refs[self._remote[function].remote(task)] = task

    def next_finished(self) -> tuple[Any, Any]:
        ready, _ = self._ray.wait(list(self._refs), num_returns=1)
        task = self._refs.pop(ready[0])
        try:
            return task, self._ray.get(ready[0])
        except self._ray.exceptions.RayError as error:  # the worker died, not the match
            return task, task.failure(describe_error(error))

    def running(self) -> list[Any]:
        return list(self._refs.values())

    def close(self, interrupted: bool = False) -> None:
        if interrupted:
            for ref in self._refs:
                self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._owns_cluster:
            self._ray.shutdown()


def make_executor(kind: str, workers: int | None, address: str | None) -> Executor:
    """local (in-process, or a process pool with `workers` > 1) or ray."""
    if kind == "local":
        if address:
            raise ConfigError("--ray-address: only with --executor ray")
        return PoolExecutor(workers) if workers and workers > 1 else InProcessExecutor()
    if kind == "ray":
        return RayExecutor(address, workers)
    raise ConfigError(f"--executor: must be local or ray, got {kind!r}")
