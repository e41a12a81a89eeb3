"""Time to train each league agent: the self-play learners' league agents at the standard
profile's league sizes (all training seeds batched in one run), on each game.

This is what `make tournament` spends on league training before cross-play (entrants that
play as is, and COLA and MeVa's pretrained update rules, are timed by their own benchmarks).
Papers' wall times for comparison: LOQA under about 300 s per run on an accelerator, POLA
1,600-24,000 s (LOQA paper, Sec. 5.3). Quick: the coin game's two costliest learners for a
tenth of their iterations, as seconds per training iteration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import time

from shaping.bench import Measurement
from shaping.contracts.algorithm import TrainingContext
from shaping.engine.registry import Registry
from shaping.league.agent import LeagueAgent
from shaping.tournament.plan import league_entrant, league_game
from shaping.tournament.profile import load_profile

PAPER_TIMES = {"loqa": "LOQA paper: under ~300 s (accelerator)"}


def run(quick: bool) -> list[Measurement]:
    registry = Registry.load()
    profile = load_profile("standard", registry)
    games = ["coin_game"] if quick else list(profile.league.games if profile.league else [])
    measurements = []
    for game_name in games:
        league = league_game(registry, profile, game_name, "cpu")
        for name, entry in registry.algorithms.items():
            if entry.cls.pretrained or (quick and name not in ("loqa", "advantage_alignment")):
                continue
            seat = league_entrant(league, entry, profile.override(name, game_name))
            if isinstance(seat, str) or seat.config.regime != "self_play":
                continue
            config = seat.config
            iterations = max(1, config.iterations // 10) if quick else config.iterations
            agent = LeagueAgent(dataclasses.replace(config, iterations=iterations))
            start = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()):  # the training bar: not the table's
                agent.train(league.game, TrainingContext())
            seconds = time.perf_counter() - start
            setting = f"{game_name}, {config.agents} agents x {iterations} it"
            if quick:
                measurements.append(
                    Measurement(f"league {name}", setting, seconds / iterations, "s/iteration")
                )
            else:
                measurements.append(
                    Measurement(f"league {name}", setting, seconds, "s", PAPER_TIMES.get(name, ""))
                )
    return measurements
