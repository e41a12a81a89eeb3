"""The `shaping` command line: list the zoo, play a match, pretrain an artifact, run a
tournament and rebuild its report. Errors in names, configs or arguments print one line naming the
offending field and exit with status 2, writing nothing."""

from __future__ import annotations

import argparse
import errno
import json
import shlex
import signal
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import yaml

from shaping.api import MatchLabels, build_players, monitored_match
from shaping.contracts.errors import ConfigError, UnsupportedError, ZooError
from shaping.engine.paths import check_output_dir, check_output_file

EXIT_USAGE = 2


class _UsageError(Exception):
    """A command-line argument argparse refused, already phrased as one line."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse with errors in one line (not a usage block), like every other zoo error."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: error: {message} (see `{self.prog} --help`)")


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum` (argparse names the argument)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _field_assignment(text: str) -> tuple[str, Any]:
    """FIELD=VALUE with VALUE read as YAML, so numbers, booleans and lists keep their type."""
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        return name, yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"{name}: cannot read {value!r} as YAML") from None


def _load_registry(args: argparse.Namespace) -> Any:
    from shaping.engine.registry import Registry

    return Registry.load(args.configs)


def cmd_list(args: argparse.Namespace) -> int:
    """Print every registered game and algorithm with its paper and assumptions."""
    registry = _load_registry(args)
    if args.choices:
        provider = registry.providers.get(args.choices)
        if provider is None:
            raise ConfigError(
                f"--choices: {args.choices!r} is not a provider "
                f"(providers: {', '.join(registry.providers) or 'none'})"
            )
        for value in provider.cls.parameter_choices():
            print(f"{provider.name}:{value}")
        return 0
    if args.algorithm:
        _list_fields(registry, args.algorithm)
        return 0
    print("Games")
    for entry in registry.games.values():
        print(f"  {entry.name:<18} {entry.description}")
        if entry.paper:
            print(f"  {'':<18} paper: {entry.paper}")
    print("\nAlgorithms")
    for entry in registry.algorithms.values():
        print(f"  {entry.name:<18} {entry.description}")
        if entry.paper:
            print(f"  {'':<18} paper: {entry.paper}")
        if entry.assumptions:
            print(f"  {'':<18} assumes: {'; '.join(entry.assumptions)}")
        for game, reason in entry.unsupported.items():
            print(f"  {'':<18} n/a on {game}: {reason}")
        for game, note in entry.extensions.items():
            print(f"  {'':<18} extension on {game}: {note}")
    if registry.providers:
        print("\nProviders (one name per choice: PROVIDER:CHOICE)")
    for entry in registry.providers.values():
        print(f"  {entry.name + ':<' + entry.parameter + '>':<18} {entry.description}")
        if entry.paper:
            print(f"  {'':<18} paper: {entry.paper}")
        print(f"  {'':<18} choices: shaping list --choices {entry.name}")
        for game, reason in entry.unsupported.items():
            print(f"  {'':<18} n/a on {game}: {reason}")
    return 0


def _list_fields(registry: Any, name: str) -> None:
    """One algorithm's configuration: each field's type, default and doc, and the value each
    game's registered configuration gives it where that differs from the default."""
    from shaping.contracts.config import config_as_dict, describe_fields

    entry = registry.algorithm(name, "algorithm")
    print(f"{entry.name}: {entry.description}")
    if entry.paper:
        print(f"paper: {entry.paper}")
    print(f"module: {entry.module} (configured in {entry.source})")
    per_game = {game: config_as_dict(config) for game, config in entry.configs.items()}
    for field, type_name, default, doc in describe_fields(entry.cls.Config):
        print(f"  {field} ({type_name}, default {default!r}){': ' + doc if doc else ''}")
        for game, values in per_game.items():
            if values[field] != _as_shown(default):
                print(f"      {game}: {values[field]!r}")
    for game, reason in entry.unsupported.items():
        print(f"  n/a on {game}: {reason}")


def _as_shown(value: Any) -> Any:
    """A default as `config_as_dict` shows values (tuples as lists), for comparisons."""
    return list(value) if isinstance(value, tuple) else value


def _format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['game']}: {summary['a']} (a) vs {summary['b']} (b), {summary['seeds']} seeds x "
        f"{summary['iterations']} iterations, {summary['evaluation']} evaluation, "
        f"{summary['wall_time_s']:.2f} s",
        f"  {'player':<24}{'mean reward/step':>18}{'final reward/step':>20}{'95% CI':>10}",
    ]
    for seat, label in enumerate(("a", "b")):
        lines.append(
            f"  {label + '  ' + summary[label]:<24}{summary['mean_reward'][seat]:>18.3f}"
            f"{summary['final_reward'][seat]:>20.3f}{summary['final_reward_ci95'][seat]:>9.3f}"
        )
    for name, values in summary["metrics"].items():
        lines.append(f"  final {name}: a {values[0]:.3f}, b {values[1]:.3f}")
    return "\n".join(lines)


def _save_json(path: str, document: Any, what: str) -> None:
    """Write a command's JSON result to `path` (checked before the work) and say so."""
    Path(path).write_text(json.dumps(document, indent=2) + "\n")
    print(f"{what} written to {path}")


def cmd_match(args: argparse.Namespace) -> int:
    """Run one match and print (or write) its summary."""
    from shaping.engine.artifacts import ArtifactCache
    from shaping.engine.runtime import check_fits, resolve_device

    registry = _load_registry(args)
    labels = MatchLabels("--game", "--a", "--b", "--set-a", "--set-b")
    game_entry, players = build_players(
        registry, args.game, args.a, args.b, args.set_a, args.set_b, labels
    )
    device = resolve_device(args.device)
    if args.json not in (None, "-"):
        check_output_file("--json", args.json)
    if any(player.pretrained for player in players):
        check_output_dir("--artifacts", ArtifactCache(args.artifacts).root)
    game = game_entry.build(device)
    seeds = args.seeds or game_entry.seeds
    check_fits(
        "--seeds" if args.seeds else f"{game_entry.source}: {game_entry.name}.match.seeds",
        game,
        seeds,
    )
    iterations = args.iterations or game_entry.iterations
    result = monitored_match(
        game,
        players,
        seeds,
        iterations,
        args.seed,
        ArtifactCache(args.artifacts),
        f"{game.name} {args.a} vs {args.b}",
    )
    summary = result.summary()
    _print_summary(summary, _format_summary(summary), args.json)
    return 0


def _print_summary(summary: dict[str, Any], text: str, json_path: str | None) -> None:
    """The summary line on stdout (stderr when the JSON goes to stdout), the JSON if asked."""
    if json_path == "-":
        print(text, file=sys.stderr)
        print(json.dumps(summary, indent=2))
    else:
        print(text)
        if json_path:
            _save_json(json_path, summary, "summary")


class _League(NamedTuple):
    """What `shaping train` and `shaping play` read once: the registry, the profile and its
    league on the game (shaping.tournament.plan.LeagueGame)."""

    registry: Any
    profile: Any
    game: Any


def _league(args: argparse.Namespace) -> _League:
    from shaping.tournament.plan import league_game
    from shaping.tournament.profile import load_profile

    registry = _load_registry(args)
    profile = load_profile(args.profile, registry)
    return _League(registry, profile, league_game(registry, profile, args.game, args.device))


def _league_seat(
    args: argparse.Namespace, league: _League, name: str, flag: str, overrides: Any
) -> Any:
    """The league seat and agents of `name` in `league` (see _league), with the command's
    overrides and sizes."""
    import dataclasses

    from shaping.league.agent import LeagueAgent
    from shaping.tournament.plan import league_entrant

    registry, profile, chosen = league
    entry = registry.algorithm(name, flag)
    if overrides:  # named as the user typed them, before they meet the YAML's values
        entry.config(chosen.entry.name, overrides, "--set")
    seat = league_entrant(chosen, entry, {**profile.override(entry.name, args.game), **overrides})
    if isinstance(seat, str):
        raise ConfigError(f"{flag}: {entry.name} has no league agent on {args.game}: {seat}")
    sizes = {"agents": getattr(args, "seeds", None) or getattr(args, "agents", None)}
    sizes["iterations"] = getattr(args, "iterations", None)
    sizes = {field: value for field, value in sizes.items() if value}
    if sizes:
        config = dataclasses.replace(seat.config, **sizes)
        seat = dataclasses.replace(seat, config=config, agents=config.agents)
    return seat, LeagueAgent(seat.config)


def _describe_agents(agent: Any, game: str) -> str:
    frozen = agent.frozen
    if frozen is None:
        return f"{agent.name} plays as is on {game} (its own artifact, in-context adaptation)"
    rewards = ", ".join(f"{sum(r) / 2:.3f}" for r in frozen.final_reward)
    metrics = "; ".join(
        f"{name} " + ", ".join(f"{sum(v) / 2:.3f}" for v in values)
        for name, values in frozen.final_metrics.items()
    )
    return (
        f"{agent.name} on {game}: {len(frozen.final_reward)} league agents, self-play trained "
        f"in {frozen.wall_time_s:.1f} s; final reward/step per agent {rewards}; {metrics}"
    )


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or load) an entrant's league agents for a game: self-play for learners, the
    pretrained artifact for entrants that play as is."""
    from shaping.contracts.algorithm import TrainingContext
    from shaping.engine import pinned
    from shaping.engine.artifacts import ArtifactCache
    from shaping.engine.runtime import resolve_device

    args.device = str(resolve_device(args.device))
    if args.pin and (args.set or args.agents or args.iterations or args.device != "cpu"):
        raise ConfigError(
            "--pin: pins the league's own agent, trained on the CPU: drop --set, --agents, "
            "--iterations and --device"
        )
    league = _league(args)
    _, agent = _league_seat(args, league, args.algorithm, "--algorithm", dict(args.set))
    game = league.game.game
    if not agent.pretrained:
        print(f"{agent.name} plays as is on {game.name} ({agent.assumptions[0]}): nothing to train")
        return 0
    artifacts = ArtifactCache(args.artifacts)
    check_output_dir("--artifacts", artifacts.root)
    if args.log_dir:
        check_output_dir("--log-dir", args.log_dir)
    key = agent.artifact_key(game)
    path = artifacts.path(agent.artifact_name, game.name, key)
    log_dir = Path(args.log_dir) if args.log_dir else path.parent / "tensorboard" / path.stem
    # the training monitor draws its bar and status lines on stderr itself
    context = TrainingContext(log_dir=log_dir)
    if args.force:
        trainer = agent if not agent.as_is else agent.entrant
        artifacts.save(agent.artifact_name, game.name, key, trainer.train_artifact(game, context))
    else:
        pinned.provide(artifacts, agent.artifact_name, game.name, key)
    agent.prepare(game, artifacts, context)
    print(_describe_agents(agent, game.name))
    print(f"{agent.name} for {game.name}: artifact at {path}")
    if args.pin:
        command = f"shaping train --algorithm {args.algorithm} --game {args.game}"
        if args.profile != "standard":
            command += f" --profile {args.profile}"
        entry = pinned.pin(
            artifacts,
            agent.artifact_name,
            game.name,
            key,
            entrant=agent.name,
            profile=args.profile,
            command=command,
        )
        print(
            f"pinned {entry.artifact} ({entry.bytes / 1024:.0f} KiB, fingerprint "
            f"{entry.fingerprint[:12]}) in {pinned.PINNED_DIR}; commit it with the manifest"
        )
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    """League agents of A and B play each other with no parameter updates (trained first
    if missing); print (or write) the summary over all pairs of their training seeds."""
    import math

    from shaping.contracts.algorithm import TrainingContext
    from shaping.engine import pinned
    from shaping.engine.artifacts import ArtifactCache
    from shaping.engine.runtime import check_fits, resolve_device

    args.device = str(resolve_device(args.device))
    league = _league(args)
    seat_a, agent_a = _league_seat(args, league, args.a, "--a", {})
    seat_b, agent_b = _league_seat(args, league, args.b, "--b", {})
    if args.json not in (None, "-"):
        check_output_file("--json", args.json)
    artifacts = ArtifactCache(args.artifacts)
    if agent_a.pretrained or agent_b.pretrained:
        check_output_dir("--artifacts", artifacts.root)
    game = league.game.game
    pairings = seat_a.agents * seat_b.agents
    check_fits("--seeds", game, pairings)
    batch = getattr(game.config, "batch", 1)
    iterations = max(seat_a.play_iterations, seat_b.play_iterations)
    if args.episodes:
        iterations = max(iterations, math.ceil(args.episodes / batch))
    for agent in (agent_a, agent_b):
        if agent.pretrained:
            pinned.provide(artifacts, agent.artifact_name, game.name, agent.artifact_key(game))
        agent.prepare(game, artifacts, TrainingContext())
    result = monitored_match(
        game,
        (agent_a, agent_b),
        pairings,
        iterations,
        args.seed,
        artifacts,
        f"{game.name} {args.a} vs {args.b} (league)",
    )
    summary = result.summary() | {
        "league_agents": [
            {
                "entrant": seat.name,
                "regime": seat.config.regime,
                "agents": seat.agents,
                "training_iterations": (
                    None if seat.config.regime == "as_is" else seat.config.iterations
                ),
            }
            for seat in (seat_a, seat_b)
        ],
        "episodes_per_pairing": iterations * batch if result.evaluation == "sampled" else None,
        "profile": args.profile,
    }
    text = _format_summary(summary).replace(" seeds x ", " seed pairings x ", 1)
    _print_summary(summary, text, args.json)
    return 0


def cmd_tournament(args: argparse.Namespace) -> int:
    """Run (or resume) a round-robin tournament and write its leaderboard."""
    from shaping.engine.runtime import resolve_device
    from shaping.tournament.run import TournamentOptions, run_tournament, terminate_as_interrupt

    resolve_device(args.device)
    options = TournamentOptions(
        profile=args.profile,
        games=args.games,
        algorithms=args.algorithms,
        seeds=args.seeds,
        iterations=args.iterations,
        seed=args.seed,
        device=args.device,
        executor=args.executor,
        ray_address=args.ray_address,
        workers=args.workers,
        out=args.out,
        retry_failed=args.retry_failed,
        artifacts=args.artifacts,
        configs=args.configs,
        tensorboard=not args.no_tensorboard,
        league=not args.no_league,
        command=args.command_line,
    )
    if args.dry_run:
        return _dry_run(options, args.json)
    if args.json is not None:
        raise ConfigError("--json: only with --dry-run (a run's results are in its report)")
    with terminate_as_interrupt():
        try:
            summary = run_tournament(options)
        except KeyboardInterrupt as interrupt:
            print(
                "shaping: interrupted; every finished match is stored, run the same command "
                "again to resume",
                file=sys.stderr,
            )
            return 128 + getattr(interrupt, "signum", signal.SIGINT)
    print(summary.line(args.profile))
    if summary.failed:
        print(
            f"shaping: {summary.failed} matches failed (listed in the report, their cells marked "
            "failed); every other match is stored; --retry-failed plays them again",
            file=sys.stderr,
        )
        return 1
    return 0


def _dry_run(options: Any, json_path: str | None) -> int:
    """Print (or write as JSON) what the tournament would play and train; run nothing."""
    from shaping.tournament.dry_run import dry_run, format_dry_run
    from shaping.tournament.run import DEFAULT_OUT, plan_tournament

    if json_path not in (None, "-"):
        check_output_file("--json", json_path)
    plan = plan_tournament(options)
    out = Path(options.out) if options.out else DEFAULT_OUT / plan.profile.name
    result = dry_run(plan, out, options.artifacts, options.retry_failed)
    if json_path == "-":
        print(json.dumps(result, indent=2))
        return 0
    print(format_dry_run(result))
    if json_path is not None:
        _save_json(json_path, result, "plan")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild a tournament's report from its result store, or without one from its summary."""
    from shaping.tournament.report import SUMMARY_FILE, write_report
    from shaping.tournament.store import STORE_FILE, ResultStore

    directory = Path(args.directory)
    if (directory / STORE_FILE).is_file():
        with ResultStore(directory, create=False) as store:
            files = write_report(store, directory)
    elif (directory / SUMMARY_FILE).is_file():
        files = write_report(None, directory, summary=directory / SUMMARY_FILE)
    else:
        raise ConfigError(
            f"{directory}: neither a result store ({STORE_FILE}) nor a report summary "
            f"({SUMMARY_FILE}) here"
        )
    leaderboard = Path(args.directory) / "leaderboard.md"
    print(f"report: {', '.join(path.name for path in files)}; leaderboard: {leaderboard}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two reports: cells beyond their intervals and ranking order (0 = reproduced)."""
    from shaping.tournament.compare import compare_reports, load_report

    if args.json not in (None, "-"):
        check_output_file("--json", args.json)
    comparison = compare_reports(load_report(args.first), load_report(args.second))
    if args.json == "-":
        print(json.dumps(comparison.as_json(), indent=2))
    else:
        print(f"comparing {args.first} (first) with {args.second} (second)")
        print("\n".join(comparison.lines()))
        if args.json is not None:
            _save_json(args.json, comparison.as_json(), "comparison")
    return 0 if comparison.reproduced else 1


def _add_overrides(parser: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    """A repeatable FIELD=VALUE option (see `_field_assignment`)."""
    parser.add_argument(
        flag,
        type=_field_assignment,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help=help_text,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="shaping",
        description="The opponent-shaping zoo: every opponent-shaping algorithm, one interface.",
    )
    parser.add_argument(
        "--configs", default=None, help="zoo_configs directory (default: the repository's)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list games and algorithms")
    listing.add_argument(
        "--choices",
        default=None,
        metavar="PROVIDER",
        help="list the names a provider offers (e.g. axelrod: axelrod:TitForTat, ...)",
    )
    listing.add_argument(
        "algorithm",
        nargs="?",
        default=None,
        help="an algorithm: its config fields, their docs, defaults and per-game values",
    )
    listing.set_defaults(run=cmd_list)

    match = commands.add_parser("match", help="play one match between two algorithms")
    match.add_argument("--game", required=True, help="game name (see `shaping list`)")
    match.add_argument("--a", required=True, help="algorithm in seat a (row player)")
    match.add_argument("--b", required=True, help="algorithm in seat b (column player)")
    match.add_argument(
        "--seeds",
        type=_positive_int,
        default=None,
        help="independent runs, batched (default: the game's)",
    )
    match.add_argument(
        "--iterations",
        type=_positive_int,
        default=None,
        help="learning iterations (default: the game's)",
    )
    for seat in ("a", "b"):
        _add_overrides(
            match,
            f"--set-{seat}",
            f"replace a field of seat {seat}'s zoo configuration for this game, e.g. "
            f"--set-{seat} lr=0.3 (repeatable)",
        )
    match.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    match.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    match.add_argument(
        "--json",
        default=None,
        metavar="PATH|-",
        help="write the JSON summary to PATH, or to stdout with -",
    )
    match.add_argument(
        "--artifacts", default=None, help="cache of pretrained artifacts (default results/zoo)"
    )
    match.set_defaults(run=cmd_match)

    train = commands.add_parser(
        "train",
        help="train an entrant's league agents for a game (self-play, or its pretrained artifact)",
    )
    train.add_argument("--algorithm", required=True, help="an entrant (see `shaping list`)")
    train.add_argument("--game", required=True, help="game name")
    train.add_argument(
        "--profile", default="standard", help="whose league sizes to use (default standard)"
    )
    train.add_argument(
        "--agents",
        type=_positive_int,
        default=None,
        help="league agents, i.e. training seeds (default: the league's for the game)",
    )
    train.add_argument(
        "--iterations",
        type=_positive_int,
        default=None,
        help="self-play training iterations (default: the entrant's league setting)",
    )
    train.add_argument("--force", action="store_true", help="retrain even if cached")
    train.add_argument(
        "--pin",
        action="store_true",
        help="commit-ready: copy the artifact into results/pinned and list it in its manifest "
        "(the league's own agent: no --set, --agents or --iterations; CPU only)",
    )
    train.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    train.add_argument("--artifacts", default=None, help="artifact cache (default results/zoo)")
    train.add_argument("--log-dir", default=None, help="TensorBoard directory of the training run")
    _add_overrides(
        train,
        "--set",
        "replace a field of the entrant's league configuration for this game, e.g. "
        "--set phases=20 --set seed=1 (repeatable; the artifact is cached under the new key)",
    )
    train.set_defaults(run=cmd_train)

    play = commands.add_parser(
        "play", help="league agents of two entrants against each other, no parameter updates"
    )
    play.add_argument("--game", required=True, help="game name (see `shaping list`)")
    play.add_argument("--a", required=True, help="entrant in seat a (row player)")
    play.add_argument("--b", required=True, help="entrant in seat b (column player)")
    play.add_argument(
        "--seeds",
        type=_positive_int,
        default=None,
        help="league agents (training seeds) per entrant; all S x S pairings play "
        "(default: the league's for the game)",
    )
    play.add_argument(
        "--episodes",
        type=_positive_int,
        default=None,
        help="at least N episodes per seed pairing on sampled games (default: the league's "
        "play iterations x the game's batch)",
    )
    play.add_argument(
        "--profile", default="standard", help="whose league to play (default standard)"
    )
    play.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    play.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    play.add_argument(
        "--json",
        default=None,
        metavar="PATH|-",
        help="write the JSON summary to PATH, or - for stdout",
    )
    play.add_argument("--artifacts", default=None, help="artifact cache (default results/zoo)")
    play.set_defaults(run=cmd_play)

    tournament = commands.add_parser(
        "tournament",
        help="every algorithm against every algorithm on every game of a profile",
    )
    tournament.add_argument(
        "--profile",
        default="standard",
        help="quick, standard, full (zoo_configs/profiles/) or a profile YAML path",
    )
    tournament.add_argument(
        "--games", nargs="+", default=None, help="games to play (default: the profile's)"
    )
    tournament.add_argument(
        "--algorithms",
        nargs="+",
        default=None,
        help="entrants (default: every registered algorithm)",
    )
    tournament.add_argument(
        "--seeds", type=_positive_int, default=None, help="seeds of every match"
    )
    tournament.add_argument(
        "--iterations",
        type=_positive_int,
        default=None,
        help="learning iterations of every match",
    )
    tournament.add_argument(
        "--seed", type=_non_negative_int, default=None, help="tournament seed (default: profile's)"
    )
    tournament.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    tournament.add_argument(
        "--executor", choices=("local", "ray"), default="local", help="where matches run"
    )
    tournament.add_argument(
        "--ray-address", default=None, help="address of an existing Ray cluster"
    )
    tournament.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="local: worker processes (default 1, in-process); ray: CPUs of a new local cluster",
    )
    tournament.add_argument(
        "--out", default=None, help="tournament directory (default results/tournaments/PROFILE)"
    )
    tournament.add_argument(
        "--retry-failed", action="store_true", help="play again the matches that failed"
    )
    tournament.add_argument(
        "--artifacts", default=None, help="cache of pretrained artifacts (default results/zoo)"
    )
    tournament.add_argument(
        "--no-tensorboard", action="store_true", help="do not write TensorBoard curves"
    )
    tournament.add_argument(
        "--no-league",
        action="store_true",
        help="the learning-together matches only: no league agents, cross-play or exploiters",
    )
    tournament.add_argument(
        "--dry-run",
        action="store_true",
        help="print every match and artifact with its state and a cost estimate; play nothing",
    )
    tournament.add_argument(
        "--json", default=None, metavar="PATH", help="with --dry-run: the plan as JSON (- = stdout)"
    )
    tournament.set_defaults(run=cmd_tournament)

    report = commands.add_parser(
        "report",
        help="rebuild a tournament's report from its store, or from its committed summary",
    )
    report.add_argument(
        "directory",
        help="the tournament directory (holds results.sqlite, or results.summary.json)",
    )
    report.set_defaults(run=cmd_report)

    compare = commands.add_parser(
        "compare",
        help="does one report reproduce another? cells beyond their intervals, ranking order",
    )
    compare.add_argument("first", help="a report: its directory or its leaderboard.json")
    compare.add_argument("second", help="the other report")
    compare.add_argument(
        "--json", default=None, metavar="PATH|-", help="the comparison as JSON (- = stdout)"
    )
    compare.set_defaults(run=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `shaping` console script."""
    from shaping.engine.runtime import configure_threads

    configure_threads(1)
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except _UsageError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    args.command_line = shlex.join(["shaping", *argv])
    try:
        return args.run(args)
    except (ConfigError, UnsupportedError) as error:
        print(f"shaping: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ZooError as error:
        print(f"shaping: failed: {error}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.OperationalError) as error:
        if not _disk_full(error):
            raise
        where = f" writing {error.filename}" if getattr(error, "filename", None) else ""
        print(
            f"shaping: failed: the disk is full{where} ({error}); every match and artifact "
            "that finished is stored intact: free some space and run the same command again",
            file=sys.stderr,
        )
        return 1


def _disk_full(error: BaseException) -> bool:
    """ENOSPC from the OS (TensorBoard, artifacts, report files), or SQLite's own wording."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return "disk is full" in str(error)


if __name__ == "__main__":
    sys.exit(main())
