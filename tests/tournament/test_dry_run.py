"""`shaping tournament --dry-run`: every match's and artifact's state, a cost estimate, and
nothing played or written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import shaping.tournament.plan as plan_module
from shaping.cli import main
from shaping.contracts.errors import ConfigError
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.registry import Registry
from shaping.tournament.dry_run import dry_run, match_cost
from shaping.tournament.plan import build_plan
from shaping.tournament.profile import load_profile
from shaping.tournament.store import ResultStore

ENTRANTS = ["naive", "tit_for_tat"]


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def dry(capsys, *argv: str, league: bool = False) -> tuple[int, dict, str]:
    """The dry run's JSON: the learning-together matches only unless `league`."""
    code = main(
        ["tournament", "--profile", "quick", "--games", "ipd", *argv, "--dry-run", "--json", "-"]
        + ([] if league else ["--no-league"])
    )
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else {}, captured.err


@pytest.fixture(scope="module")
def played(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dry") / "quick"
    argv = ["tournament", "--profile", "quick", "--games", "ipd", "--algorithms", *ENTRANTS]
    assert main([*argv, "--out", str(out), "--no-tensorboard", "--no-league"]) == 0
    return out


def test_a_fresh_directory_lists_every_match_as_missing_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "fresh"
    code, result, err = dry(capsys, "--algorithms", *ENTRANTS, "--out", str(out))
    assert code == 0, err
    assert not out.exists()
    assert sorted((m["a"], m["b"]) for m in result["matches"]) == [
        (a, b) for a in ENTRANTS for b in ENTRANTS
    ]
    assert {m["state"] for m in result["matches"]} == {"missing"}
    assert result["summary"]["to_play"] == 4
    for match in result["matches"]:
        assert set(match) >= {"game", "a", "b", "key", "state"} and len(match["key"]) == 64


def test_stored_matches_are_listed_as_stored_and_nothing_is_written(played, capsys):
    before = tree(played)
    code, result, err = dry(capsys, "--algorithms", *ENTRANTS, "--out", str(played))
    assert code == 0, err
    assert tree(played) == before
    with ResultStore(played, create=False) as store:
        assert {m["key"] for m in result["matches"]} == set(store.statuses())
    assert {m["state"] for m in result["matches"]} == {"stored"}
    assert result["summary"]["to_play"] == 0 and result["summary"]["estimated_match_cpu_s"] == 0


def test_an_edit_to_what_a_match_imports_makes_exactly_its_matches_stale(
    played, capsys, monkeypatch
):
    """tit_for_tat's module changed: its three matches are stale, estimated at the measured
    wall time of their stored versions; naive's self-play stays stored."""
    real = plan_module.match_code_version

    def edited(a_module: str, b_module: str, game_module: str) -> str:
        version = real(a_module, b_module, game_module)
        return version + "-edited" if "algorithms.fixed" in (a_module, b_module) else version

    monkeypatch.setattr(plan_module, "match_code_version", edited)
    code, result, err = dry(capsys, "--algorithms", *ENTRANTS, "--out", str(played))
    assert code == 0, err
    states = {(m["a"], m["b"]): m["state"] for m in result["matches"]}
    assert states == {
        ("naive", "naive"): "stored",
        ("naive", "tit_for_tat"): "stale",
        ("tit_for_tat", "naive"): "stale",
        ("tit_for_tat", "tit_for_tat"): "stale",
    }
    with ResultStore(played, create=False) as store:
        measured = {store.load(key).wall_time for key in store.statuses()}
    stale = [m["estimate_s"] for m in result["matches"] if m["state"] == "stale"]
    assert all(estimate in {round(w, 2) for w in measured} for estimate in stale)
    assert result["summary"]["estimated_match_cpu_s"] == pytest.approx(sum(stale), abs=0.05)


def test_the_profile_cost_model_estimates_matches_never_played(tmp_path):
    registry = Registry.load()
    profile_file = tmp_path / "costed.yaml"
    profile_file.write_text(
        "games:\n  ipd: {seeds: 2, iterations: 10}\n"
        "cost:\n  ipd: {default: 0.5, tit_for_tat: 0.25}\n"
    )
    plan = build_plan(registry, load_profile(str(profile_file), registry), algorithms=ENTRANTS)
    result = dry_run(plan, tmp_path / "out", None, retry_failed=False)
    estimates = {(m["a"], m["b"]): m["estimate_s"] for m in result["matches"]}
    assert estimates == {
        ("naive", "naive"): 10.0,
        ("naive", "tit_for_tat"): 7.5,
        ("tit_for_tat", "naive"): 7.5,
        ("tit_for_tat", "tit_for_tat"): 5.0,
    }
    assert result["summary"]["estimated_match_cpu_s"] == 30.0
    assert match_cost(plan.matches[0], {}) is None


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        ("{ipd: {naive: -1}}", "cost.ipd.naive: must be a finite number of seconds >= 0"),
        ("{ipd: {naive: .inf}}", "cost.ipd.naive: must be a finite number"),
        ("{ipd: {nieve: 1}}", "did you mean 'naive'"),
        ("{coin_game: {naive: 1}}", "cost.coin_game: game not in this profile"),
    ],
)
def test_a_bad_cost_model_is_one_error_naming_the_field(tmp_path, cost, message):
    registry = Registry.load()
    profile_file = tmp_path / "bad.yaml"
    profile_file.write_text(f"games:\n  ipd: {{seeds: 2, iterations: 10}}\ncost: {cost}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_profile(str(profile_file), registry)


def test_artifact_states_stored_stale_corrupt_missing(tmp_path):
    cache = ArtifactCache(tmp_path, log=lambda message: None)
    key = {"algorithm": "toy", "config": {"lr": 1.0}, "code": "0.1.0+aaaa"}
    assert cache.state("toy", "ipd", key) == "missing"
    path = cache.save("toy", "ipd", {**key, "code": "0.1.0+bbbb"}, payload=[1, 2, 3])
    assert cache.state("toy", "ipd", key) == "stale"
    assert cache.state("toy", "ipd", {**key, "config": {"lr": 2.0}}) == "missing"
    path.rename(cache.path("toy", "ipd", key))
    assert cache.state("toy", "ipd", key) == "corrupt"  # a file under this name, another key
    cache.save("toy", "ipd", key, payload=[1, 2, 3])
    assert cache.state("toy", "ipd", key) == "stored"
    stored = cache.path("toy", "ipd", key)
    stored.write_bytes(stored.read_bytes()[:-20])
    assert cache.state("toy", "ipd", key) == "corrupt"


def test_pretrained_entrants_artifacts_are_listed_with_their_keys(tmp_path, capsys):
    code, result, err = dry(
        capsys,
        "--algorithms",
        "naive",
        "mfos",
        "--out",
        str(tmp_path / "o"),
        "--artifacts",
        str(tmp_path / "zoo"),
    )
    assert code == 0, err
    assert not (tmp_path / "zoo").exists()
    (artifact,) = result["artifacts"]
    assert (artifact["algorithm"], artifact["game"], artifact["state"]) == (
        "mfos",
        "ipd",
        "missing",
    )
    assert artifact["to_train"] and len(artifact["key"]) == 20


def test_the_league_lists_its_matches_by_section_and_its_agents_as_artifacts(tmp_path, capsys):
    """quick on the IPD: naive and tit_for_tat's 2 x 2 league cells and the exploiter against
    each in both seats; naive's self-play league agents must be trained, tit_for_tat plays
    as it is."""
    code, result, err = dry(
        capsys, "--algorithms", *ENTRANTS, "--out", str(tmp_path / "o"),
        "--artifacts", str(tmp_path / "zoo"), league=True,
    )  # fmt: skip
    assert code == 0, err
    by_section: dict[str, list[tuple[str, str]]] = {}
    for match in result["matches"]:
        by_section.setdefault(match["section"], []).append((match["a"], match["b"]))
    pairs = sorted((a, b) for a in ENTRANTS for b in ENTRANTS)
    assert sorted(by_section["learning_together"]) == pairs
    assert sorted(by_section["league"]) == pairs
    assert sorted(by_section["exploitability"]) == sorted(
        [("exploiter", name) for name in ENTRANTS] + [(name, "exploiter") for name in ENTRANTS]
    )
    league_cells = [m for m in result["matches"] if m["section"] == "league"]
    assert {m["seeds"] for m in league_cells} == {4}  # 2 agents x 2 agents (quick's sizes)
    (agents,) = [a for a in result["artifacts"] if a["algorithm"] == "league/naive"]
    assert agents["state"] == "missing" and agents["to_train"]
    assert not (tmp_path / "zoo").exists()


def test_json_without_dry_run_or_at_a_directory_is_refused(tmp_path, capsys):
    code = main(["tournament", "--profile", "quick", "--json", str(tmp_path / "p.json")])
    assert code == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("--json: only with --dry-run (a run's results are in its report)")
    )
    code = main(["tournament", "--profile", "quick", "--dry-run", "--json", str(tmp_path)])
    assert code == 2
    assert f"--json: {tmp_path} is a directory, not a file" in capsys.readouterr().err


def test_the_terminal_listing_ends_with_a_summary(tmp_path, capsys):
    argv = ["tournament", "--profile", "quick", "--games", "ipd", "--algorithms", *ENTRANTS]
    assert main([*argv, "--out", str(tmp_path / "o"), "--dry-run", "--no-league"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("missing  ipd ") for line in lines[:4])
    assert "would play 4 and train 0 artifacts" in lines[-1]
    assert lines[-1].endswith("nothing was played or written")
