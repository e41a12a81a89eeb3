"""Axelrod strategies in the zoo: payoff conversion, equivalence with the zoo's fixed
strategies on the same episodes, exact memory-one tables, names and errors, tournaments."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from shaping.cli import main
from shaping.contracts.errors import ConfigError, UnsupportedError
from shaping.contracts.policies import Feedback, TabularFamily
from shaping.interop.axelrod import (
    AxelrodPolicy,
    axelrod_game,
    axelrod_rstp,
    import_axelrod,
    memory_one_logits,
    symmetric_rstp,
    zoo_payoffs,
)
from tests.conftest import generator

REPO = Path(__file__).resolve().parents[2]
INF = math.inf
#: zoo fixed strategy -> its Axelrod counterpart
COUNTERPARTS = {
    "tit_for_tat": "TitForTat",
    "always_cooperate": "Cooperator",
    "always_defect": "Defector",
}


@pytest.fixture(scope="module")
def axl():
    return import_axelrod()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def replay(game, policy, co_actions, seat):
    """`policy` plays `seat` against the recorded co-player actions [T, S, B]; returns its
    actions and both seats' rewards, [T, S, B] each, as the zoo's game computes them."""
    steps, seeds, batch = co_actions.shape
    rng = generator(1)
    policy.reset(seeds, batch, rng)
    state = game.reset(seeds, batch, rng)
    actions, rewards = [], []
    for step in range(steps):
        own, _ = policy.act(game.observe(state, seat), rng)
        joint = (own, co_actions[step]) if seat == 0 else (co_actions[step], own)
        state, reward, _ = game.step(state, joint, rng)
        policy.observe(
            Feedback(
                own_action=own,
                other_action=co_actions[step],
                own_reward=reward[seat],
                other_reward=reward[1 - seat],
                next_observation=game.observe(state, seat),
            )
        )
        actions.append(own)
        rewards.append(torch.stack(reward))
    return torch.stack(actions), torch.stack(rewards)


# --- payoffs -----------------------------------------------------------------------------------


def test_payoff_conversion_between_the_zoo_and_axelrod(axl, ipd, matching_pennies):
    payoffs = ipd.config.payoffs
    assert symmetric_rstp(payoffs) == (-1.0, -3.0, 0.0, -2.0)
    # Axelrod's convention puts the sucker's payoff at 0: a shift by +3
    assert axelrod_rstp(payoffs) == (2.0, 0.0, 3.0, 1.0)
    assert axelrod_game(payoffs).RPST() == (2, 1, 0, 3)
    assert zoo_payoffs(axelrod_game(payoffs)) == [
        [[c[0] + 3, c[1] + 3] for c in row] for row in payoffs
    ]
    # Axelrod's default game (R=3, S=0, T=5, P=1) as a zoo table, and back
    default = axl.Game()
    assert zoo_payoffs(default) == [[[3, 3], [0, 5]], [[5, 0], [1, 1]]]
    assert axelrod_rstp(zoo_payoffs(default)) == (3.0, 0.0, 5.0, 1.0)
    with pytest.raises(UnsupportedError, match="not symmetric"):
        symmetric_rstp(matching_pennies.config.payoffs)


def test_axelrod_scores_equal_zoo_rewards_on_the_same_episodes(axl, ipd):
    """Per episode, Axelrod's own scoring (converted game) = the zoo's rewards + 3 per round."""
    co_player = TabularFamily().init(2, generator(3)).requires_grad_(False)
    trajectories = ipd.rollout(
        (
            AxelrodPolicy("Grudger", ipd.horizon, ipd.config.payoffs, ipd.device),
            TabularFamily().build(co_player),
        ),
        2,
        generator(4),
        batch=8,
        horizon=30,
    )
    game = axelrod_game(ipd.config.payoffs)
    actions = (axl.Action.C, axl.Action.D)
    first, second = trajectories.actions
    for seed in range(2):
        for episode in range(8):
            rounds = [
                (actions[a], actions[b])
                for a, b in zip(
                    first[:, seed, episode].tolist(), second[:, seed, episode].tolist(), strict=True
                )
            ]
            scores = axl.interaction_utils.compute_final_score(rounds, game)
            for seat in (0, 1):
                zoo_total = float(trajectories.rewards[seat][:, seed, episode].sum())
                assert scores[seat] == pytest.approx(zoo_total + 3 * 30)


# --- the same strategies, the same episodes ------------------------------------------------------


@pytest.mark.parametrize("seat", [0, 1])
@pytest.mark.parametrize("fixed", list(COUNTERPARTS))
def test_fixed_strategies_and_their_axelrod_counterparts_play_the_same_episodes(ipd, fixed, seat):
    """Sample episodes of the zoo's fixed strategy against a random memory-one co-player, feed
    the co-player's moves to the Axelrod counterpart: same moves, same payoffs, every step."""
    seeds, batch = 3, 16
    co_player = TabularFamily().build(TabularFamily().init(seeds, generator(5)))
    zoo_policy = ipd.fixed_policy(fixed, seeds)
    seats = (zoo_policy, co_player) if seat == 0 else (co_player, zoo_policy)
    with torch.no_grad():
        trajectories = ipd.rollout(seats, seeds, generator(6), batch=batch, horizon=40)
    black_box = AxelrodPolicy(COUNTERPARTS[fixed], 40, ipd.config.payoffs, ipd.device)
    actions, rewards = replay(ipd, black_box, trajectories.actions[1 - seat], seat)
    assert torch.equal(actions, trajectories.actions[seat])
    assert torch.equal(rewards[:, 0], trajectories.rewards[0])
    assert torch.equal(rewards[:, 1], trajectories.rewards[1])
    # both kinds of co-player behaviour occurred, so the test could tell strategies apart
    assert 0 < trajectories.actions[1 - seat].float().mean() < 1


@pytest.mark.parametrize("fixed", list(COUNTERPARTS))
def test_memory_one_counterparts_are_the_zoo_tables(ipd, fixed):
    from games.matrix import FIXED_LOGITS

    logits = memory_one_logits(COUNTERPARTS[fixed], ipd.horizon, ipd.config.payoffs)
    assert logits == list(FIXED_LOGITS[fixed])


def test_memory_one_tables_of_win_stay_lose_shift_and_gtft(axl, ipd):
    # Win-Stay Lose-Shift (Pavlov): cooperate first, then repeat after R or T, switch after S or P
    assert memory_one_logits("WinStayLoseShift", ipd.horizon, ipd.config.payoffs) == [
        INF,
        INF,
        -INF,
        -INF,
        INF,
    ]
    # GTFT forgives a defection with p = min(1 - (T-R)/(R-S), (R-P)/(T-P)); Axelrod computes p
    # when the player is created, from its default game (1/3), and keeps it when a match sets
    # another game: the zoo's table is what Axelrod's own Match plays
    match = axl.Match(
        (axl.GTFT(), axl.Cooperator()), turns=2, game=axelrod_game(ipd.config.payoffs)
    )
    match.play()
    forgiveness = match.players[0]._four_vector[(axl.Action.C, axl.Action.D)]
    assert forgiveness == pytest.approx(1 / 3)
    assert memory_one_logits("GTFT", ipd.horizon, ipd.config.payoffs) == pytest.approx(
        [INF, INF, math.log(0.5), INF, math.log(0.5)]
    )
    # not memory-one: a grudge, and a strategy reading the match length
    assert memory_one_logits("Grudger", ipd.horizon, ipd.config.payoffs) is None
    assert memory_one_logits("FirstByTidemanAndChieruzzi", ipd.horizon, ipd.config.payoffs) is None


def test_sampled_gtft_plays_its_exact_table_in_every_own_view_state(ipd):
    """The stochastic black box and the exact table agree on P(C | own-view state)."""
    seeds, batch, steps = 2, 64, 30
    co_player = TabularFamily().build(torch.zeros(seeds, 5))  # uniformly random
    black_box = AxelrodPolicy("GTFT", ipd.horizon, ipd.config.payoffs, ipd.device)
    for seat in (0, 1):
        seats = (black_box, co_player) if seat == 0 else (co_player, black_box)
        trajectories = ipd.rollout(seats, seeds, generator(7 + seat), batch=batch, horizon=steps)
        states, actions = trajectories.observations[seat], trajectories.actions[seat]
        table = torch.tensor([1.0, 1.0, 1 / 3, 1.0, 1 / 3])
        for state in range(5):
            chosen = actions[states == state]
            cooperation = (chosen == 0).float().mean()
            tolerance = 4 * math.sqrt(0.25 / chosen.numel()) + 1e-6
            assert abs(float(cooperation) - float(table[state])) <= tolerance


def test_stochastic_strategies_are_reproducible_from_the_generator(ipd):
    co_player = TabularFamily().build(torch.zeros(2, 5))
    runs = [
        ipd.rollout(
            (AxelrodPolicy("Random", ipd.horizon, ipd.config.payoffs, ipd.device), co_player),
            2,
            generator(seed),
            batch=8,
            horizon=20,
        ).actions[0]
        for seed in (11, 11, 12)
    ]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


# --- names, errors, games ---------------------------------------------------------------------


def test_importing_and_planning_with_the_zoo_does_not_import_axelrod():
    script = (
        "import sys, multiprocessing\n"
        "from shaping.engine.registry import Registry\n"
        "import algorithms.axelrod, shaping.cli, shaping.tournament.run\n"
        "registry = Registry.load()\n"
        "assert 'axelrod' in registry.providers, registry.providers\n"
        "assert 'axelrod' not in sys.modules, 'axelrod was imported'\n"
        "assert multiprocessing.get_start_method(allow_none=True) is None\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, timeout=120)


def test_unknown_strategies_are_one_line_errors_with_near_names(capsys, registry):
    code, out, err = run(
        capsys, "match", "--game", "ipd", "--a", "axelrod:TitForTatt", "--b", "naive"
    )
    assert code == 2 and not out
    assert err.strip().count("\n") == 0
    assert "--a: 'axelrod:TitForTatt': unknown Axelrod strategy" in err
    assert "did you mean 'TitForTat'" in err
    with pytest.raises(ConfigError, match=r"cheating strategy in Axelrod's classification"):
        registry.algorithm("axelrod:Darwin")
    with pytest.raises(ConfigError, match=r"no provider 'axelrd' \(did you mean 'axelrod'\?\)"):
        registry.algorithm("axelrd:TitForTat")
    with pytest.raises(ConfigError, match=r"write axelrod:<strategy>"):
        registry.algorithm("axelrod")
    code, out, _ = run(capsys, "list", "--choices", "axelrod")
    assert code == 0 and "axelrod:TitForTat\n" in out and len(out.splitlines()) > 200


def test_axelrod_strategies_declare_the_games_they_cannot_play(capsys, registry, coin_game):
    entry = registry.algorithm("axelrod:TitForTat")
    assert "not symmetric" in entry.unsupported_reason("matching_pennies")
    assert "four moves" in entry.unsupported_reason("coin_game")
    assert "2x2 matrix game" in entry.build("ipd").supports(coin_game)
    code, _, err = run(
        capsys, "match", "--game", "matching_pennies", "--a", "axelrod:Grudger", "--b", "naive"
    )
    assert code == 2 and "cannot play matching_pennies" in err


def test_axelrod_match_from_the_command_line(capsys):
    code, out, err = run(
        capsys,
        "match",
        "--game",
        "ipd",
        "--a",
        "axelrod:Grudger",
        "--b",
        "always_defect",
        "--seeds",
        "2",
        "--iterations",
        "2",
        "--json",
        "-",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["evaluation"] == "sampled"
    # Grudger cooperates once, then punishes for ever: (S + 99 P) / 100 and (T + 99 P) / 100
    assert summary["final_reward"] == pytest.approx([-2.01, -1.98], abs=1e-6)


def test_guarded_import_keeps_the_start_method_and_the_pool_works(tmp_path):
    """In a fresh process with another start method: importing axelrod through the zoo keeps
    it, and a pool tournament still runs after axelrod was imported."""
    script = (
        "import multiprocessing, sys\n"
        "multiprocessing.set_start_method('forkserver')\n"
        "from shaping.interop.axelrod import import_axelrod\n"
        "import_axelrod()\n"
        "assert 'axelrod' in sys.modules\n"
        "assert multiprocessing.get_start_method() == 'forkserver'\n"
        "from shaping.cli import main\n"
        f"code = main(['tournament', '--profile', 'quick', '--games', 'ipd', '--algorithms', "
        f"'naive', 'tit_for_tat', '--iterations', '3', '--workers', '2', "
        f"'--no-tensorboard', '--no-league', '--out', {str(tmp_path / 'pool')!r}])\n"
        "assert code == 0\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, timeout=300)
    board = json.loads((tmp_path / "pool" / "leaderboard.json").read_text())
    assert board["tournament"]["done"] == 4


# --- tournaments ------------------------------------------------------------------------------

MIXED = ["naive", "always_defect", "tit_for_tat", "axelrod:TitForTat", "axelrod:Grudger"]


def check_mixed_leaderboard(out: Path, entrants: list[str]) -> dict:
    board = json.loads((out / "leaderboard.json").read_text())
    assert not board["failures"]
    assert {e["algorithm"] for e in board["overall"]} == set(entrants)
    assert board["tournament"]["done"] == len(entrants) ** 2
    ipd = board["games"]["ipd"]["head_to_head"]
    # the exact memory-one Axelrod TFT is the zoo's TFT: the same values against everyone
    for other in entrants:
        if other not in ("naive",):
            assert ipd["axelrod:TitForTat"][other]["reward"]["mean"] == pytest.approx(
                ipd["tit_for_tat"][other]["reward"]["mean"], abs=1e-5
            )
    # sampled Grudger against always-defect: one sucker's payoff, then mutual defection, over
    # the episode length the report records for the IPD
    rounds = board["games"]["ipd"]["config"]["horizon"]
    assert ipd["axelrod:Grudger"]["always_defect"]["reward"]["mean"] == pytest.approx(
        (-3 - 2 * (rounds - 1)) / rounds
    )
    assert ipd["always_defect"]["axelrod:Grudger"]["reward"]["mean"] == pytest.approx(
        (0 - 2 * (rounds - 1)) / rounds
    )
    # TFT against Grudger: mutual cooperation throughout
    assert ipd["axelrod:TitForTat"]["axelrod:Grudger"]["reward"]["mean"] == pytest.approx(-1.0)
    markdown = (out / "leaderboard.md").read_text()
    assert "axelrod:Grudger" in markdown and "Axelrod library strategy" in markdown
    return board


def test_ipd_tournament_mixing_zoo_algorithms_and_axelrod_strategies(tmp_path, capsys):
    """The quick profile on the IPD, its iterations cut to 4 to stay within make test's budget
    (the full quick size runs in the slow test below)."""
    out = tmp_path / "mixed"
    code, stdout, stderr = run(
        capsys,
        "tournament",
        "--profile",
        "quick",
        "--games",
        "ipd",
        "--algorithms",
        *MIXED,
        "--iterations",
        "4",
        "--out",
        str(out),
        "--no-tensorboard",
        "--no-league",
    )
    assert code == 0, stderr
    assert "25 matches (25 played" in stdout
    check_mixed_leaderboard(out, MIXED)
    code, stdout, _ = run(capsys, "report", str(out))
    assert code == 0 and "leaderboard.md" in stdout


@pytest.mark.slow
def test_quick_profile_ipd_tournament_with_more_axelrod_strategies(tmp_path, capsys):
    entrants = [*MIXED, "axelrod:WinStayLoseShift", "axelrod:GTFT", "axelrod:FirstByDavis"]
    out = tmp_path / "mixed"
    code, _, stderr = run(
        capsys,
        "tournament",
        "--profile",
        "quick",
        "--games",
        "ipd",
        "--algorithms",
        *entrants,
        "--workers",
        "2",
        "--out",
        str(out),
    )
    assert code == 0, stderr
    board = check_mixed_leaderboard(out, entrants)
    ipd = board["games"]["ipd"]["head_to_head"]
    # the naive learner, playing sampled episodes against Grudger, learns not to provoke it
    assert ipd["naive"]["axelrod:Grudger"]["reward"]["mean"] > -1.5


@pytest.mark.slow
def test_pool_tournament_of_axelrod_strategies_after_a_plain_axelrod_import(tmp_path):
    """axelrod imported first, unguarded (the start method becomes spawn), then the zoo: a
    pool tournament whose workers play Axelrod strategies runs and matches in-process play."""
    out = {kind: tmp_path / kind for kind in ("pool", "local")}
    script = (
        "import axelrod, multiprocessing\n"
        "assert multiprocessing.get_start_method() == 'spawn'\n"
        "from shaping.cli import main\n"
        "common = ['tournament', '--profile', 'quick', '--games', 'ipd', '--algorithms', "
        "'naive', 'axelrod:TitForTat', 'axelrod:Grudger', '--seeds', '2', '--iterations', '3', "
        "'--no-tensorboard']\n"
        f"assert main([*common, '--workers', '2', '--out', {str(out['pool'])!r}]) == 0\n"
        f"assert main([*common, '--out', {str(out['local'])!r}]) == 0\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, timeout=600)
    boards = {k: json.loads((v / "leaderboard.json").read_text()) for k, v in out.items()}
    assert boards["pool"]["tournament"]["done"] == 9 and not boards["pool"]["failures"]
    assert (
        boards["pool"]["games"]["ipd"]["head_to_head"]
        == boards["local"]["games"]["ipd"]["head_to_head"]
    )
