"""`shaping tournament`: plan, skip what the store holds, play the rest, write the report.

Order of work: (1) validate the profile and plan every cell; (2) save the plan in the store;
(3) train the pretrained artifacts the pending matches need, each exactly once, before any
match is dispatched (so two workers never train the same artifact); (4) play the pending
matches on the executor, storing each one in its own transaction the moment it returns,
then its TensorBoard curves; (5) write the report from the store. Interrupting at any point
loses only the matches in flight; the same command resumes.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import platform
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch

from shaping.contracts.errors import ConfigError
from shaping.engine import pinned
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.paths import check_output_dir
from shaping.engine.registry import Registry, import_object
from shaping.engine.runtime import check_fits
from shaping.tournament.curves import (
    has_curves,
    path_part,
    remove_stale_staging,
    write_curves,
)
from shaping.tournament.execute import (
    Executor,
    MatchTask,
    PrepareTask,
    build_game,
    make_executor,
    play,
    prepare,
    run_tasks,
)
from shaping.tournament.plan import LEARNING_TOGETHER, MatchSpec, Plan, Player, build_plan
from shaping.tournament.profile import load_profile
from shaping.tournament.progress import Progress, format_duration
from shaping.tournament.report import write_report
from shaping.tournament.store import ResultStore

DEFAULT_OUT = Path("results") / "tournaments"


@dataclass
class TournamentOptions:
    """Everything `shaping tournament` accepts (None = the profile's value)."""

    profile: str = "standard"
    games: list[str] | None = None
    algorithms: list[str] | None = None
    seeds: int | None = None
    iterations: int | None = None
    seed: int | None = None
    device: str = "cpu"
    executor: str = "local"
    ray_address: str | None = None
    workers: int | None = None
    out: str | Path | None = None
    retry_failed: bool = False
    artifacts: str | None = None
    configs: str | None = None
    tensorboard: bool = True
    league: bool = True  # False: the learning-together matches only
    command: str | None = None  # how the run was started, for the report's provenance


@dataclass
class TournamentSummary:
    """What a run did, for the closing line."""

    out: Path
    leaderboard: Path
    matches: int
    played: int
    reused: int
    failed: int
    not_applicable: int
    seconds: float
    report_files: list[Path] = field(default_factory=list)

    def line(self, profile: str) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"tournament {profile}: {self.matches} matches ({self.played} played, "
            f"{self.reused} from the store{failed}, {self.not_applicable} n/a cells) in "
            f"{format_duration(self.seconds)}; leaderboard: {self.leaderboard}"
        )


class Interrupted(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop, keep what is stored."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into an exception in the main thread (only there can a handler be set)."""

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def source_commit(root: Path | None = None) -> str | None:
    """The git commit of the zoo's checkout, suffixed `+modified` when tracked files other
    than results/ differ from it (results/ is what runs write: a tournament rewrites the
    committed leaderboard, which does not change what the next run computes); None outside a
    git checkout. `root`: the checkout (default the zoo's)."""
    root = root or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!results"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+modified" if changes else "")


LOCK_FILE = ".tournament.lock"


@contextmanager
def exclusive_use(out: Path) -> Iterator[None]:
    """Hold `out` for one tournament at a time on this machine: a second run on the same
    directory would play every match again. The lock is the kernel's (flock), so a run that
    dies, even by SIGKILL, leaves nothing to clean up."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"--out: {out} is in use by another running tournament (it holds "
                f"{out / LOCK_FILE}); wait for it to finish or use another --out"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_memory(specs: list[MatchSpec], options: TournamentOptions, plan: Plan) -> None:
    """Refuse, before any work, a game whose matches cannot fit in memory (a lower bound,
    times the matches that run at once)."""
    checked = set()
    parallel = options.workers or 1 if options.executor == "local" else 1
    for spec in specs:
        if spec.game in checked:
            continue
        checked.add(spec.game)
        game = build_game(spec.game, spec.game_module, spec.game_config, spec.device)
        field = "--seeds" if options.seeds else f"{plan.profile.source}: games.{spec.game}.seeds"
        check_fits(field, game, spec.seeds, parallel)


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else the platform's answer, else unknown)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def plan_tournament(options: TournamentOptions, registry: Registry | None = None) -> Plan:
    registry = registry or Registry.load(options.configs)
    profile = load_profile(options.profile, registry)
    return build_plan(
        registry,
        profile,
        games=options.games,
        algorithms=options.algorithms,
        seeds=options.seeds,
        iterations=options.iterations,
        seed=options.seed,
        device=options.device,
        league=options.league,
    )


@dataclass(frozen=True)
class ArtifactNeed:
    """One seat of a match that needs an artifact: where it is filed and under which key."""

    spec: MatchSpec
    player: Player
    name: str
    key: dict[str, Any]
    path: Path


def artifact_needs(specs: Iterable[MatchSpec], cache: ArtifactCache) -> Iterator[ArtifactNeed]:
    """Every seat of `specs` that needs an artifact; a path recurs wherever the same artifact
    is needed again (a league agent of an as-is entrant needs the entrant's own)."""
    games: dict[str, Any] = {}
    for spec in specs:
        for player in spec.players:
            cls = import_object(player.module, f"algorithm {player.name}")
            algorithm = cls(player.config, player.name)
            if not algorithm.pretrained:
                continue
            if spec.game not in games:
                games[spec.game] = build_game(
                    spec.game, spec.game_module, spec.game_config, spec.device
                )
            key = algorithm.artifact_key(games[spec.game])
            name = algorithm.artifact_name
            yield ArtifactNeed(spec, player, name, key, cache.path(name, spec.game, key))


def _artifact_tasks(
    pending: list[MatchSpec], options: TournamentOptions, out: Path
) -> list[PrepareTask]:
    """One task per artifact (algorithm, config, game) that is not cached yet."""
    cache = ArtifactCache(options.artifacts)
    tasks: dict[Path, PrepareTask] = {}
    checked: set[Path] = set()
    for need in artifact_needs(pending, cache):
        if need.path in checked:
            continue
        checked.add(need.path)
        pinned.provide(cache, need.name, need.spec.game, need.key)
        # load, not just look: a corrupt or stale artifact must be retrained here, once
        if cache.load(need.name, need.spec.game, need.key) is not None:
            continue
        spec = need.spec
        tasks[need.path] = PrepareTask(
            player=need.player,
            game=spec.game,
            game_module=spec.game_module,
            game_config=spec.game_config,
            device=spec.device,
            artifacts=options.artifacts,
            log_dir=str(out / "tensorboard" / "pretraining" / path_part(need.name) / spec.game),
        )
    return list(tasks.values())


def _names(spec: MatchSpec) -> tuple[str, str]:
    return spec.players[0].name, spec.players[1].name


def _prepare_artifacts(
    pending: list[MatchSpec],
    options: TournamentOptions,
    out: Path,
    executor: Executor,
    progress: Progress,
) -> dict[tuple[str, str, str], str]:
    """Train the missing artifacts; (class, algorithm, game) -> error for those that failed."""
    tasks = _artifact_tasks(pending, options, out)
    broken = {}

    def show(running: list[PrepareTask]) -> None:
        progress.started([task.label for task in running])

    for count, (task, error) in enumerate(run_tasks(executor, prepare, tasks, show), start=1):
        progress.message(f"artifact {count}/{len(tasks)}: {task.label}: {error or 'ready'}")
        if error is not None:
            broken[task.player.module, task.player.name, task.game] = (
                f"artifact training failed: {error}"
            )
    return broken


def _play(
    pending: list[MatchSpec],
    broken: dict[tuple[str, str, str], str],
    store: ResultStore,
    executor: Executor,
    progress: Progress,
    options: TournamentOptions,
    curve_roots: dict[str, Path],
) -> None:
    """Play `pending`, storing each match (and its curves) the moment it returns."""
    tasks = []
    for spec in pending:
        seats = [(p.module, p.name, spec.game) for p in spec.players]
        reasons = [broken[seat] for seat in seats if seat in broken]
        task = MatchTask(spec, options.artifacts)
        if not reasons:
            tasks.append(task)
            continue
        store.record(spec.identity(), spec.game, *_names(spec), task.failure(reasons[0]))
        progress.finished(spec.game, spec.label, 0.0, reasons[0])

    def show(running: list[MatchTask]) -> None:
        progress.started([task.label for task in running])

    for task, record in run_tasks(executor, play, tasks, show):
        spec = task.spec
        store.record(spec.identity(), spec.game, *_names(spec), record)
        if record.done and options.tensorboard:
            write_curves(
                curve_roots[spec.key],
                spec.game,
                *_names(spec),
                spec.key,
                record.rewards,
                record.metrics,
            )
        progress.finished(spec.game, spec.label, record.wall_time, record.error)


def _curve_roots(plan: Plan, out: Path) -> dict[str, Path]:
    """Where each match's curves go, by match key: DIR/tensorboard for learning together,
    DIR/tensorboard/<section> for the league's cross-play and exploitability matches (the
    same pair of names plays in every section)."""
    base = out / "tensorboard"
    return {
        cell.match.key: base if cell.section == LEARNING_TOGETHER else base / cell.section
        for cell in plan.cells
        if cell.match is not None
    }


def _complete_curves(store: ResultStore, specs: list[MatchSpec], roots: dict[str, Path]) -> None:
    """Curves of stored matches that have none yet (the run that played them was stopped
    between storing the match and writing its curves)."""
    statuses = store.statuses(spec.key for spec in specs)
    for spec in specs:
        root = roots[spec.key]
        if statuses.get(spec.key) != "done" or has_curves(root, spec.game, *_names(spec), spec.key):
            continue
        record = store.load(spec.key)
        write_curves(root, spec.game, *_names(spec), spec.key, record.rewards, record.metrics)


def run_tournament(
    options: TournamentOptions, stream: TextIO | None = None, interactive: bool | None = None
) -> TournamentSummary:
    """Run (or resume) a tournament and write its report; see the module docstring."""
    start = time.perf_counter()
    stream = stream or sys.stderr
    if options.workers is not None and options.workers < 1:
        raise ConfigError(f"--workers: must be >= 1, got {options.workers}")
    if options.ray_address and options.executor != "ray":
        raise ConfigError("--ray-address: only with --executor ray")
    plan = plan_tournament(options)
    out = check_output_dir(
        "--out", Path(options.out) if options.out else DEFAULT_OUT / plan.profile.name
    )
    specs = list({spec.key: spec for spec in plan.matches}.values())
    _check_memory(specs, options, plan)
    cache = ArtifactCache(options.artifacts)
    # by instance, not class: a league agent needs an artifact where its entrant may not
    if next(artifact_needs(specs, cache), None) is not None:
        check_output_dir("--artifacts", cache.root)
    curve_roots = _curve_roots(plan, out)
    with exclusive_use(out), ResultStore(out) as store:
        if store.quarantined:
            print(
                f"shaping: {len(store.quarantined)} stored matches were damaged and are set "
                "aside (the report lists them); a run plays those it plans again",
                file=stream,
            )
        store.save_plan(plan.to_json())
        stored = store.statuses(spec.key for spec in specs)
        pending = [
            spec
            for spec in specs
            if spec.key not in stored or (options.retry_failed and stored[spec.key] == "failed")
        ]
        if options.tensorboard:
            for root in set(curve_roots.values()):
                remove_stale_staging(root)
        if pending:
            progress = Progress(
                total=len(specs),
                stored=len(specs) - len(pending),
                remaining=Counter(spec.game for spec in pending),
                parallel=1,
                stream=stream,
                interactive=interactive,
            )
            executor = make_executor(options.executor, options.workers, options.ray_address)
            progress.parallel = executor.workers
            progress.message(
                f"tournament {plan.profile.name}: playing {len(pending)} of {len(specs)} matches "
                f"({len(specs) - len(pending)} already stored) on {executor.description}, "
                f"into {out}"
            )
            interrupted = True
            started = datetime.datetime.now(datetime.timezone.utc)
            store.start_run(
                {
                    "command": options.command or "run_tournament (Python API)",
                    # the code that plays, before anyone edits the checkout
                    "commit": source_commit(),
                    "started_utc": started.strftime("%Y-%m-%d %H:%M"),
                    "executor": executor.description,
                    "cpus": os.cpu_count(),
                    "cpu": cpu_model(),
                    "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
                }
            )
            try:
                broken = _prepare_artifacts(pending, options, out, executor, progress)
                pretraining = time.perf_counter() - start
                _play(pending, broken, store, executor, progress, options, curve_roots)
                interrupted = False
            finally:
                executor.close(interrupted=interrupted)
                progress.close()
            store.finish_run(
                {
                    "wall_time_s": round(time.perf_counter() - start, 1),
                    "pretraining_s": round(pretraining, 1),
                    "played": len(pending),
                }
            )
        if options.tensorboard:
            _complete_curves(store, specs, curve_roots)
        files = write_report(store, out)
        statuses = store.statuses(spec.key for spec in specs)
    return TournamentSummary(
        out=out,
        leaderboard=out / "leaderboard.md",
        matches=len(specs),
        played=len(pending),
        reused=len(specs) - len(pending),
        failed=sum(status == "failed" for status in statuses.values()),
        not_applicable=sum(cell.match is None for cell in plan.cells),
        seconds=time.perf_counter() - start,
        report_files=files,
    )
