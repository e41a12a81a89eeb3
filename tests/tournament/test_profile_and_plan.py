"""Tournament profiles (validated like every config) and the plan: who meets whom, match
identities, keys and seeds."""

from __future__ import annotations

import pytest
import yaml

from shaping.contracts.errors import ConfigError
from shaping.engine.registry import Registry
from shaping.tournament.plan import build_plan, match_seed
from shaping.tournament.profile import available_profiles, load_profile
from tests.tournament.helpers import zoo_copy

MATRIX_GAMES = {"ipd", "matching_pennies", "coin_game"}


def test_shipped_profiles_load_and_list_their_games_explicitly(registry):
    assert {"quick", "standard", "full"} <= set(available_profiles(registry))
    for name in available_profiles(registry):
        profile = load_profile(name, registry)
        assert set(profile.games) == MATRIX_GAMES, name
        for settings in profile.games.values():
            assert settings.seeds >= 1 and settings.iterations >= 1


def _error(tmp_path, profile_text: str, name: str = "broken") -> str:
    root = zoo_copy(tmp_path, profiles={name: profile_text})
    with pytest.raises(ConfigError) as error:
        load_profile(name, Registry.load(root))
    message = str(error.value)
    assert "\n" not in message and f"profiles/{name}.yaml" in message
    return message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("games: {ipd: {seeds: 0, iterations: 5}}", "games.ipd.seeds: must be an integer >= 1"),
        ("games: {ipd: {seeds: 2}}", "games.ipd.iterations: missing required field"),
        ("games: {pd: {seeds: 2, iterations: 5}}", "games.pd: unknown game (did you mean 'ipd'?)"),
        ("games: {ipd: {seeds: 2, iterations: 5, batch: 3}}", "games.ipd.batch: unknown field"),
        ("gams: {}", "profile.gams: unknown field"),
        ("games: {}", "games: must list at least one game"),
        ("seed: -1\ngames: {ipd: {seeds: 2, iterations: 5}}", "seed: must be an integer >= 0"),
        (
            "games: {ipd: {seeds: 2, iterations: 5}}\noverrides: {lolaa: {ipd: {lr: 1}}}",
            "overrides.lolaa: unknown algorithm",
        ),
        (
            "games: {ipd: {seeds: 2, iterations: 5}}\noverrides: {naive: {ipd: {lrr: 1}}}",
            "overrides.naive.ipd.lrr: unknown field",
        ),
        (
            "games: {ipd: {seeds: 2, iterations: 5}}\noverrides: {naive: {ipd: {lr: -1}}}",
            "overrides.naive.ipd.lr: must be >= 0, got -1",
        ),
        (
            "games: {ipd: {seeds: 2, iterations: 5}}\noverrides: {naive: {coin_game: {lr: 1}}}",
            "overrides.naive.coin_game: game not in this profile",
        ),
        ("games: [ipd", "invalid YAML"),
    ],
)
def test_bad_profiles_name_the_file_and_the_field(tmp_path, text, fragment):
    assert fragment in _error(tmp_path, text)


def test_unknown_profile_name_suggests_the_closest(registry):
    with pytest.raises(ConfigError, match=r"--profile: unknown profile 'quik' \(did you mean"):
        load_profile("quik", registry)


def test_every_pair_meets_in_both_seats_on_every_game(registry):
    names = ["naive", "tit_for_tat", "random"]
    plan = build_plan(registry, load_profile("quick", registry), algorithms=names, league=False)
    for game in plan.games:
        pairs = [(c.a, c.b) for c in plan.cells if c.game == game]
        assert sorted(pairs) == sorted((a, b) for a in names for b in names)
        for cell in plan.cells:
            assert cell.match.players[0].name == cell.a and cell.match.players[1].name == cell.b
    assert len({spec.key for spec in plan.matches}) == len(plan.matches) == 27
    assert [e["name"] for e in plan.entrants] == [n for n in registry.algorithms if n in names]


def test_unsupported_games_become_n_a_cells_with_the_reason(tmp_path):
    root = zoo_copy(tmp_path)
    fixed = root / "algorithms" / "fixed.yaml"
    entries = yaml.safe_load(fixed.read_text())
    entries["random"].setdefault("unsupported", {})["coin_game"] = "no coins in its world"
    fixed.write_text(yaml.safe_dump(entries))
    registry = Registry.load(root)
    plan = build_plan(registry, load_profile("quick", registry), algorithms=["naive", "random"])
    coin = {(c.a, c.b): c for c in plan.cells if c.game == "coin_game"}
    assert coin["naive", "naive"].match is not None
    for pair in (("naive", "random"), ("random", "naive"), ("random", "random")):
        assert coin[pair].match is None
        assert coin[pair].not_applicable == "random: no coins in its world"
    assert all(c.match is not None for c in plan.cells if c.game == "ipd")


def test_match_identity_covers_what_determines_it(registry):
    quick = load_profile("quick", registry)

    def keys(**changes):
        options = {"games": ["ipd"], "algorithms": ["naive", "tit_for_tat"], "league": False}
        options |= changes
        return {
            (s.players[0].name, s.players[1].name): s
            for s in build_plan(registry, quick, **options).matches
        }

    base = keys()
    spec = base["naive", "tit_for_tat"]
    identity = spec.identity()
    assert identity["players"][0]["name"] == "naive"
    assert identity["players"][0]["config"] == {
        "lr": 1.0,
        "optimizer": "sgd",
        "policy": "default",
        "policy_hidden": 32,
    }
    assert identity["game_config"]["gamma"] == 0.96 and identity["code"].startswith("0.1.0+")
    assert identity["seed"] == match_seed(quick.seed, "ipd", "naive", "tit_for_tat")
    # seeds are per pair and seat, independent of what else is in the tournament
    swapped = base["tit_for_tat", "naive"]
    assert swapped.seed != spec.seed and swapped.key != spec.key
    assert keys(algorithms=["naive", "tit_for_tat", "random"])["naive", "tit_for_tat"] == spec
    for changed in ({"iterations": 7}, {"seeds": 3}, {"seed": 1}):
        assert keys(**changed)["naive", "tit_for_tat"].key != spec.key


def test_library_versions_are_part_of_the_match_key(registry, monkeypatch):
    """A new torch may change every number, a new axelrod only its strategies' matches."""
    from importlib import metadata

    def keys():
        options = {"games": ["ipd"], "algorithms": ["naive", "axelrod:Grudger"]}
        plan = build_plan(registry, load_profile("quick", registry), **options)
        return {(s.players[0].name, s.players[1].name): s.key for s in plan.matches}

    def installed_as(library, version):
        real = metadata.version
        monkeypatch.setattr(
            metadata, "version", lambda name: version if name == library else real(name)
        )

    base = keys()
    installed_as("axelrod", "0.0.1")
    new_axelrod = keys()
    assert new_axelrod["naive", "naive"] == base["naive", "naive"]
    assert new_axelrod["naive", "axelrod:Grudger"] != base["naive", "axelrod:Grudger"]
    installed_as("torch", "0.0.1")
    assert keys()["naive", "naive"] != base["naive", "naive"]


def test_overrides_change_the_config_and_the_key(tmp_path):
    text = (
        "games: {ipd: {seeds: 2, iterations: 5}}\n"
        "overrides: {naive: {ipd: {lr: 0.5, optimizer: adam}}}\n"
    )
    root = zoo_copy(
        tmp_path, profiles={"tuned": text, "plain": "games: {ipd: {seeds: 2, iterations: 5}}"}
    )
    registry = Registry.load(root)
    tuned = build_plan(registry, load_profile("tuned", registry), algorithms=["naive"])
    plain = build_plan(registry, load_profile("plain", registry), algorithms=["naive"])
    (tuned_spec,), (plain_spec,) = tuned.matches, plain.matches
    assert (
        tuned_spec.players[0].config.lr == 0.5 and tuned_spec.players[0].config.optimizer == "adam"
    )
    assert plain_spec.players[0].config.lr == 1.0
    assert tuned_spec.key != plain_spec.key
    assert tuned.entrants[0]["overrides"] == {"ipd": {"lr": 0.5, "optimizer": "adam"}}


def test_a_profile_sets_the_game_configuration(tmp_path):
    """`config` under a game is merged over games.yaml's, reaches the match and its key."""
    root = zoo_copy(
        tmp_path,
        profiles={
            "small": "games: {ipd: {seeds: 2, iterations: 5, config: {batch: 8}}}",
            "plain": "games: {ipd: {seeds: 2, iterations: 5}}",
            "bad": "games: {ipd: {seeds: 2, iterations: 5, config: {batch: -1}}}",
            "unknown": "games: {ipd: {seeds: 2, iterations: 5, config: {batches: 8}}}",
        },
    )
    registry = Registry.load(root)
    small = build_plan(registry, load_profile("small", registry), algorithms=["naive"])
    plain = build_plan(registry, load_profile("plain", registry), algorithms=["naive"])
    (small_spec,), (plain_spec,) = small.matches, plain.matches
    assert small_spec.game_config.batch == 8 and small.games["ipd"]["config"]["batch"] == 8
    assert small_spec.game_config.horizon == registry.game("ipd").config.horizon
    assert plain_spec.game_config == registry.game("ipd").config
    assert small_spec.key != plain_spec.key
    with pytest.raises(ConfigError, match=r"bad.yaml: games.ipd.config.*batch"):
        load_profile("bad", registry)
    with pytest.raises(ConfigError, match=r"unknown.yaml: games.ipd.config.*batches"):
        load_profile("unknown", registry)


def test_bad_names_on_the_command_line(registry):
    quick = load_profile("quick", registry)
    with pytest.raises(ConfigError, match="--algorithms: unknown algorithm 'lolaa'"):
        build_plan(registry, quick, algorithms=["naive", "lolaa"])
    with pytest.raises(ConfigError, match="--games: unknown game 'pd'"):
        build_plan(registry, quick, games=["pd"])


def test_reference_payoffs_anchor_the_normalisation(registry):
    plan = build_plan(registry, load_profile("quick", registry), algorithms=["naive"])
    ipd = plan.games["ipd"]["reference"]
    assert ipd["mutual_cooperation"] == pytest.approx(-1.0, abs=1e-5)
    assert ipd["mutual_defection"] == pytest.approx(-2.0, abs=1e-5)
    pennies = plan.games["matching_pennies"]["reference"]
    assert pennies["mutual_cooperation"] == pytest.approx(pennies["mutual_defection"], abs=1e-6)
    coin = plan.games["coin_game"]["reference"]
    # own-coin collectors share the coins (≈1/3 per step each on 3x3); coin grabbers net ~0
    assert coin["mutual_cooperation"] > 0.2 and abs(coin["mutual_defection"]) < 0.05
