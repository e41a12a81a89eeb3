"""The league's plan, settings and report: cells and seeds per section, one-line errors for
bad league settings, the league in the report and in the overall ranking, and the `shaping
train` / `shaping play` commands."""

from __future__ import annotations

import json
import shutil

import pytest

from shaping.cli import main
from shaping.contracts.errors import ConfigError
from shaping.engine.registry import DEFAULT_CONFIG_DIR, Registry
from shaping.league.plan import EXPLOITABILITY, EXPLOITER, LEAGUE
from shaping.tournament.plan import build_plan
from shaping.tournament.profile import load_profile
from shaping.tournament.report import build_leaderboard
from shaping.tournament.store import ResultStore

NAMES = ["naive", "always_cooperate", "always_defect"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_pair_of_league_agents_meets_and_the_exploiter_meets_each(registry):
    plan = build_plan(registry, load_profile("quick", registry), games=["ipd"], algorithms=NAMES)
    league = [c for c in plan.cells if c.section == LEAGUE]
    probes = [c for c in plan.cells if c.section == EXPLOITABILITY]
    assert {(c.a, c.b) for c in league} == {(a, b) for a in NAMES for b in NAMES}
    assert {(c.a, c.b) for c in probes} == {
        pair for name in NAMES for pair in ((EXPLOITER, name), (name, EXPLOITER))
    }
    agents = plan.league["ipd"]["entrants"]
    assert agents["naive"]["regime"] == "self_play" and agents["naive"]["agents"] == 2
    assert agents["always_defect"]["regime"] == "as_is"
    for cell in league:
        assert cell.match.seeds == agents[cell.a]["agents"] * agents[cell.b]["agents"]
    for cell in probes:
        agent = cell.b if cell.a == EXPLOITER else cell.a
        assert cell.match.seeds == agents[agent]["agents"]
        assert cell.match.iterations == 10  # the quick profile's exploiter budget
    # league matches are keyed apart from learning-together matches of the same names
    assert len({spec.key for spec in plan.matches}) == len(plan.matches)


def test_an_entrant_without_league_agents_is_not_applicable_with_its_reason(registry):
    plan = build_plan(
        registry, load_profile("quick", registry), games=["ipd"], algorithms=["naive", "rllib_ppo"]
    )
    assert "black box" in plan.league["ipd"]["not_applicable"]["rllib_ppo"]
    cells = [c for c in plan.cells if c.section == LEAGUE and "rllib_ppo" in (c.a, c.b)]
    assert cells and all(c.match is None and "rllib_ppo:" in c.not_applicable for c in cells)


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        (
            "algorithms/naive.yaml",
            "  league:\n    ipd: {agents: -1}\n",
            "naive.league.ipd.agents: must be > 0",
        ),
        (
            "algorithms/naive.yaml",
            "  league:\n    ipd: {config: {lr: -1.0}}\n",
            "naive.league.ipd.config.lr: must be >= 0",
        ),
        (
            "algorithms/naive.yaml",
            "  league:\n    ipd: {regime: frozen}\n",
            "naive.league.ipd.regime: must be one of",
        ),
        ("algorithms/naive.yaml", "  league:\n    pd: {}\n", "naive.league.pd: unknown game"),
    ],
)
def test_bad_league_settings_are_one_line_errors_naming_the_field(tmp_path, path, text, message):
    root = tmp_path / "zoo_configs"
    shutil.copytree(DEFAULT_CONFIG_DIR, root)
    target = root / path
    # the entrant's own league block (its last) gives way to the bad one
    own = target.read_text().split("\n  league:")[0].rstrip("\n") + "\n"
    target.write_text(own + text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")) as error:
        Registry.load(root)
    assert "\n" not in str(error.value) and "naive.yaml" in str(error.value)


def test_bad_profile_league_blocks_are_one_line_errors(tmp_path, registry):
    for block, message in (
        ("league:\n  games:\n    pd: {}\n", "league.games.pd: unknown game"),
        ("league:\n  ranked: [ipd]\n  games:\n    coin_game: {}\n", "'ipd' is not a game"),
        ("league:\n  games:\n    ipd: {exploiter: nave}\n", "unknown algorithm 'nave'"),
        ("league:\n  games:\n    ipd: {train_agents: 0}\n", "ipd.train_agents: must be"),
    ):
        path = tmp_path / "profile.yaml"
        path.write_text("games:\n  ipd: {seeds: 2, iterations: 2}\n" + block)
        with pytest.raises(ConfigError, match=message):
            load_profile(str(path), registry)


def test_the_report_has_the_league_and_ranks_the_coin_game_by_it(tmp_path, capsys):
    out = tmp_path / "quick"
    argv = ["tournament", "--profile", "quick", "--algorithms", *NAMES, "--out", str(out)]
    code, _, _ = run(capsys, *argv, "--artifacts", str(tmp_path / "zoo"))
    assert code == 0
    with ResultStore(out) as store:
        plan = store.load_plan()
        records = {c["key"]: store.load(c["key"]) for c in plan["cells"] if c["key"]}
    board = build_leaderboard(plan, records)
    assert set(board["league"]) == {"ipd", "coin_game"} and board["league_ranked"] == ["coin_game"]
    league = board["league"]["coin_game"]
    for entry in board["overall"]:
        ranked = next(e for e in league["ranking"] if e["algorithm"] == entry["algorithm"])
        assert entry["games"]["coin_game"] == ranked["standardised"]
    ipd = board["league"]["ipd"]
    # against a fresh learner: always-cooperate gives its reward away, always-defect does not
    cooperator = ipd["exploitability"]["always_cooperate"]
    assert cooperator["exploiter"]["mean"] > cooperator["agent"]["mean"] + 1.0
    defector = ipd["exploitability"]["always_defect"]
    assert defector["agent"]["mean"] >= defector["exploiter"]["mean"] - 0.05
    markdown = (out / "leaderboard.md").read_text()
    assert "## Two evaluations" in markdown and "## League: coin_game" in markdown
    assert "Exploitability: a fresh learner trained against each agent" in markdown
    assert board["overall_rule"] in markdown


def test_train_then_play_reuses_the_agents_and_writes_the_match_fields(tmp_path, capsys):
    artifacts = ["--artifacts", str(tmp_path / "zoo"), "--profile", "quick"]
    code, out, _ = run(capsys, "train", "--algorithm", "naive", "--game", "ipd", *artifacts)
    assert code == 0 and "2 league agents, self-play trained" in out
    path = tmp_path / "play.json"
    argv = ["play", "--game", "ipd", "--a", "naive", "--b", "always_cooperate", *artifacts]
    code, out, err = run(capsys, *argv, "--json", str(path))
    assert code == 0 and "training" not in err  # the trained agents are reused
    summary = json.loads(path.read_text())
    assert summary["seeds"] == 4
    assert [(s["entrant"], s["regime"], s["agents"]) for s in summary["league_agents"]] == [
        ("naive", "self_play", 2),
        ("always_cooperate", "as_is", 2),
    ]
    assert [s["training_iterations"] for s in summary["league_agents"]] == [10, None]
    assert len(summary["final_reward"]) == 2 and len(summary["final_reward_ci95"]) == 2
    assert set(summary["metrics"]) == {"cooperation"}
    # naive learners' self-play agents defect, so they exploit always-cooperate
    assert summary["final_reward"][0] > -0.5 and summary["final_reward"][1] < -2.5


def test_train_and_play_refuse_what_has_no_league_agent(tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--algorithm", "always_defect", "--game", "ipd")
    assert code == 0 and "nothing to train" in out
    code, _, err = run(capsys, "play", "--game", "ipd", "--a", "rllib_ppo", "--b", "naive")
    assert code == 2 and err.count("\n") == 1 and "--a: rllib_ppo has no league agent" in err


def test_league_agents_alone_make_the_artifact_cache_a_checked_output(tmp_path, capsys):
    """Neither naive nor tit_for_tat is pretrained, but naive's league agents are artifacts:
    an unusable --artifacts is one line and exit 2 before anything is written."""
    not_a_directory = tmp_path / "zoo"
    not_a_directory.write_text("")
    out = tmp_path / "out"
    argv = ["tournament", "--profile", "quick", "--games", "ipd", "--algorithms", "naive"]
    argv += ["tit_for_tat", "--out", str(out), "--artifacts", str(not_a_directory)]
    code, stdout, stderr = run(capsys, *argv)
    assert code == 2 and stdout == "" and not out.exists()
    assert (
        stderr.strip()
        == f"shaping: error: --artifacts: {not_a_directory} is a file, not a directory"
    )
