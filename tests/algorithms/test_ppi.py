"""PPI (Weis et al. 2026): in-context co-player inference, in-context best response, the mixed
pool's cooperation and its ablation, and the pretrained artifact's life cycle."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from algorithms.ppi import PPI, Improvement, PPIConfig, PPIModel, PPIPolicy
from shaping.cli import main
from shaping.contracts.algorithm import TrainingContext
from shaping.contracts.config import build_config
from shaping.contracts.errors import ConfigError
from shaping.contracts.policies import BlackBoxPolicy, TabularPolicy
from shaping.engine.artifacts import ArtifactCache
from shaping.engine.match import run_match
from shaping.engine.registry import Registry
from shaping.families.sequence_model import (
    FitSettings,
    ObservationVocabulary,
    RandomTablePolicy,
    RewardScale,
    SequenceModel,
    SequenceModelShape,
    fit,
    histories_from,
)
from tests.conftest import generator

#: a model small enough to train in seconds; the life-cycle tests only need it to run
TINY = dict(
    embedding=8,
    hidden=8,
    lookahead=3,
    rollouts=2,
    beta=1.0,
    phases=1,
    pretraining_trajectories=64,
    pretraining_epochs=1,
    trajectories_per_phase=32,
    epochs=1,
    batch_size=32,
    lr=1e-2,
)


def ppi(config: dict, name: str = "ppi") -> PPI:
    return PPI(build_config(PPIConfig, config, "test"), name)


@pytest.fixture
def cache(tmp_path):
    return ArtifactCache(tmp_path / "zoo", log=lambda message: None)


# --- in-context inference and best response, CI size: three known strategies ---------------

#: P(cooperate | s0, CC, CD, DC, DD) in the player's own view
STRATEGIES = {
    "always_cooperate": [1.0, 1.0, 1.0, 1.0, 1.0],
    "always_defect": [0.0, 0.0, 0.0, 0.0, 0.0],
    "tit_for_tat": [1.0, 1.0, 0.0, 1.0, 0.0],
}
SHORT_HORIZON = 30


class StrategyPool(BlackBoxPolicy):
    """In every episode one of `tables` (memory-one, own view), drawn uniformly; which one is
    never revealed."""

    def __init__(self, tables: torch.Tensor) -> None:
        self.tables = tables

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> None:
        self.choice = torch.randint(len(self.tables), (seeds, batch), generator=generator)

    def act(self, observation: torch.Tensor, generator: torch.Generator):
        cooperate = self.tables[self.choice, observation]
        return (torch.rand(cooperate.shape, generator=generator) >= cooperate).long(), None


@pytest.fixture(scope="module")
def strategy_model(ipd) -> PPIModel:
    """A sequence model of a uniformly random player's episodes against the strategy pool."""
    vocabulary = ObservationVocabulary(torch.arange(5))
    pool = StrategyPool(torch.tensor(list(STRATEGIES.values())))
    uniform = RandomTablePolicy(vocabulary, 2, uniform=True)
    episodes = ipd.rollout((uniform, pool), 1, generator(40), batch=2048, horizon=SHORT_HORIZON)
    data = histories_from(episodes, 0, vocabulary)
    scale = RewardScale(float(data.rewards.mean()), float(data.rewards.std()))
    model = SequenceModel(SequenceModelShape(vocabulary.size, 2, embedding=16, hidden=32))
    model.reset_parameters(generator(41))
    fit(model, data, FitSettings(epochs=12, batch_size=128, lr=1e-2), scale, generator(42))
    return PPIModel(model.eval(), vocabulary, scale)


def test_a_known_strategy_is_identified_in_context(ipd, strategy_model):
    """Without any identity, the model's prediction of the co-player's next action goes from
    the pool average to the strategy actually played within a few rounds."""
    trained = strategy_model
    uniform = RandomTablePolicy(trained.vocabulary, 2, uniform=True)
    for name, table in STRATEGIES.items():
        coplayer = TabularPolicy(torch.logit(torch.tensor([table]), eps=1e-6))
        episodes = ipd.rollout(
            (uniform, coplayer), 1, generator(43), batch=128, horizon=SHORT_HORIZON
        )
        error = prediction_error(trained, episodes, torch.tensor(table))
        assert error[0] > 0.25, name  # the first move cannot be known
        assert error[5:].mean() < 0.08, (name, error)


def play_short(trained: PPIModel, ipd, strategy: str, seat: int) -> torch.Tensor:
    improvement = Improvement(beta=4.0, lookahead=10, rollouts=8, discount=1.0)
    policy = PPIPolicy(
        trained.model.stacked(),
        trained.vocabulary,
        trained.reward_scale,
        improvement,
        2,
        SHORT_HORIZON,
    )
    coplayer = ipd.fixed_policy(strategy, 1)
    seats = (policy, coplayer) if seat == 0 else (coplayer, policy)
    with torch.no_grad():
        episodes = ipd.rollout(seats, 1, generator(44 + seat), batch=128, horizon=SHORT_HORIZON)
    return (episodes.actions[seat] == 0).float().mean(dim=(1, 2))


@pytest.mark.parametrize(
    ("strategy", "seat", "best_response"),
    [("always_cooperate", 0, 1), ("always_defect", 1, 1), ("tit_for_tat", 0, 0)],
)
def test_decision_time_improvement_best_responds_in_context(
    ipd, strategy_model, strategy, seat, best_response
):
    """π ∝ p·exp(βQ̂) on a model whose prior is a coin flip: once the co-player is identified,
    the roll-outs make PPI defect against always-cooperate and always-defect and cooperate
    with tit-for-tat (whose retaliation the roll-outs foresee), in either seat. (In the last
    rounds defection pays against tit-for-tat too: no retaliation is left to come.)"""
    cooperation = play_short(strategy_model, ipd, strategy, seat)
    best = cooperation if best_response == 0 else 1 - cooperation
    assert best[10:-3].mean() > 0.85, cooperation
    assert best[10:-3].mean() > best[0] + 0.2, cooperation


def prediction_error(trained: PPIModel, episodes, table: torch.Tensor) -> torch.Tensor:
    """|model's P(co-player cooperates) - the co-player's true probability| per round, for the
    seat-0 player's episodes against a memory-one co-player with P(C | own-view state) `table`."""
    own = histories_from(episodes, 0, trained.vocabulary)
    with torch.no_grad():
        predicted = trained.model(
            own.observations, own.actions, trained.reward_scale.normalise(own.rewards)
        )
    probabilities = torch.softmax(predicted["observation_logits"], -1)  # o_t+1 given a_t
    # own-view states: 1 + 2·(own action) + (co-player's action)
    cooperate_state = 1 + 2 * own.actions[:, :-1]
    p_cooperate = probabilities.gather(-1, cooperate_state.unsqueeze(-1)).squeeze(-1)
    p_defect = probabilities.gather(-1, (cooperate_state + 1).unsqueeze(-1)).squeeze(-1)
    predicted_cooperation = p_cooperate / (p_cooperate + p_defect)
    coplayer_state = episodes.observations[1][:-1, 0].T  # its own view, [N, T-1]
    return (predicted_cooperation - table[coplayer_state]).abs().mean(0)


# --- at the zoo's scale (slow): the IPD artifact a tournament trains, and its ablation ------

#: P(cooperate | s0, CC, CD, DC, DD) of a co-player the pretraining never saw, in its own view
KNOWN_COPLAYER = torch.tensor([0.85, 0.9, 0.15, 0.8, 0.1])


@pytest.fixture(scope="module")
def zoo_ppi(registry, ipd, tmp_path_factory) -> PPI:
    """PPI with the zoo's IPD configuration: pretraining on random tabular agents, then phases
    in the mixed pool (Weis et al. 2026, Sec. 2), at the zoo's reduced scale."""
    algorithm = registry.algorithm("ppi").build("ipd")
    algorithm.prepare(ipd, ArtifactCache(tmp_path_factory.mktemp("zoo"), log=lambda m: None))
    return algorithm


@pytest.fixture(scope="module")
def step_one_ppi(registry, ipd, tmp_path_factory) -> PPI:
    """The paper's Step 1 (Sec. 3.2) with the zoo's IPD configuration: every phase's episodes
    are against random tabular agents only."""
    config = dataclasses.replace(registry.algorithm("ppi").config("ipd"), tabular_fraction=1.0)
    algorithm = PPI(config, "ppi_step_one")
    algorithm.prepare(ipd, ArtifactCache(tmp_path_factory.mktemp("zoo"), log=lambda m: None))
    return algorithm


@pytest.fixture(scope="module")
def ablation_ppi(registry, ipd, tmp_path_factory) -> PPI:
    """The paper's "no tabular opponents" ablation (App. A.4.2) of the zoo's configuration:
    only learning co-players, pretraining on uniformly random actions."""
    config = dataclasses.replace(
        registry.algorithm("ppi").config("ipd"), tabular_fraction=0.0, pretraining="uniform"
    )
    algorithm = PPI(config, "ppi_no_tabular")
    algorithm.prepare(ipd, ArtifactCache(tmp_path_factory.mktemp("zoo"), log=lambda m: None))
    return algorithm


def cooperation_per_round(algorithm: PPI, game, strategy: str, seat: int = 0) -> torch.Tensor:
    """PPI's cooperation rate in each round against a fixed strategy, as it plays matches."""
    policy = algorithm.policy(algorithm.init(game, seat, 1, generator(21 + seat)))
    coplayer = game.fixed_policy(strategy, 1)
    seats = (policy, coplayer) if seat == 0 else (coplayer, policy)
    with torch.no_grad():
        episodes = game.rollout(seats, 1, generator(22 + seat), batch=128)
    return (episodes.actions[seat] == 0).float().mean(dim=(1, 2))


@pytest.mark.slow
def test_coplayer_probabilities_are_inferred_in_context(step_one_ppi, ipd):
    """Weis et al. 2026, Sec. 3.2 (Step 1): trained on diverse co-players, the model infers a
    new co-player's probabilities from the episode so far (no identity, no weight update)."""
    trained = step_one_ppi.trained
    uniform = RandomTablePolicy(trained.vocabulary, 2, uniform=True)
    coplayer = TabularPolicy(torch.logit(KNOWN_COPLAYER).unsqueeze(0))
    episodes = ipd.rollout((uniform, coplayer), 1, generator(20), batch=256)
    error = prediction_error(trained, episodes, KNOWN_COPLAYER)
    early, late = error[:3].mean(), error[-20:].mean()
    assert late < 0.1, (early, late)
    assert late < 0.5 * early, (early, late)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("strategy", "seat", "best_response"),
    [("always_cooperate", 0, 1), ("always_defect", 1, 1), ("tit_for_tat", 0, 0)],
)
def test_in_context_best_response(step_one_ppi, ipd, strategy, seat, best_response):
    """Weis et al. 2026, Fig. 2 B (Step 1): within one episode PPI identifies the co-player and
    moves to the best response: it defects against always-cooperate and always-defect, and
    learns to cooperate with tit-for-tat (measured in rounds 50-95, as the last rounds pay
    defection). At the zoo's scale cooperation with tit-for-tat goes from ~0.15 to ~0.65 in
    rounds 50-95, short of the paper's ~0.97 after 30 phases: asserted here is that PPI ends
    up cooperating more often than not, having started out defecting."""
    cooperation = cooperation_per_round(step_one_ppi, ipd, strategy, seat)
    best = cooperation if best_response == 0 else 1 - cooperation
    late, early = best[50:95].mean(), best[:5].mean()
    if strategy == "tit_for_tat":
        assert late > 0.5 and late > early + 0.3, best
    else:
        assert late > 0.9, best


@pytest.mark.slow
def test_diverse_coplayers_make_ppi_an_in_context_learner_and_the_ablation_is_not(
    zoo_ppi, ablation_ppi, ipd
):
    """Weis et al. 2026, Sec. 3.1-3.2: the tabular agents' diversity is what makes PPI adapt
    within the episode. Against tit-for-tat the mixed-pool PPI learns to cooperate while the
    ablation trained only against learning agents keeps defecting."""
    mixed = cooperation_per_round(zoo_ppi, ipd, "tit_for_tat")
    ablation = cooperation_per_round(ablation_ppi, ipd, "tit_for_tat")
    assert mixed[50:95].mean() > mixed[:10].mean() + 0.2, mixed
    assert ablation[50:95].mean() < 0.2, ablation
    assert mixed[50:95].mean() > ablation[50:95].mean() + 0.4


# --- the paper's main result (slow: about an hour of one core per artifact) -----------------

#: the zoo's IPD configuration with ten times its data: 12 phases of 10,240 trajectories
#: (paper: 30 phases of 20k; the zoo's 2 phases of 1024 stay at mutual defection)
MAIN_RESULT_SCALE = dict(phases=12, trajectories_per_phase=10240)


def main_result_ppi(registry, ipd, tabular: bool) -> tuple[PPI, list[dict]]:
    """The mixed-pool PPI at MAIN_RESULT_SCALE (or its no-tabular ablation) and its phases'
    statistics. It lives in the default artifact cache (results/zoo), so the hour of training
    is paid once per code version."""
    config = dataclasses.replace(registry.algorithm("ppi").config("ipd"), **MAIN_RESULT_SCALE)
    name = "ppi"
    if not tabular:
        config = dataclasses.replace(config, tabular_fraction=0.0, pretraining="uniform")
        name = "ppi_no_tabular"
    algorithm = PPI(config, name)
    return algorithm, algorithm.prepare(ipd, ArtifactCache())["phases"]


def self_play_cooperation(algorithm: PPI, game, improvement: Improvement | None = None) -> dict:
    """PPI vs PPI (Eq. 1, by default with the training roll-outs) over 128 episodes: the rate
    of action 0 (C), and seat 1's rate of C after the co-player's C and after its D."""
    improvement = improvement or algorithm.config.improvement()
    seats = tuple(algorithm.trained.policy(improvement, game) for _ in range(2))
    with torch.no_grad():
        episodes = game.rollout(seats, 1, generator(23), batch=128)
    own, coplayer = (actions == 0 for actions in episodes.actions)
    after_coplayer_cooperated = coplayer[:-1]
    return {
        "cooperation": float(own.float().mean()),
        "after_c": float(own[1:][after_coplayer_cooperated].float().mean()),
        "after_d": float(own[1:][~after_coplayer_cooperated].float().mean()),
    }


@pytest.mark.slow
def test_mixed_pool_ppi_learns_to_cooperate_with_itself_and_the_ablation_does_not(registry, ipd):
    """Weis et al. 2026, Fig. 1A: in the mixed pool, PPI vs PPI starts out defecting and
    learns to cooperate over the phases, while the ablation without tabular co-players stays
    at mutual defection. Curves: each phase's self-play cooperation as it was collected, then
    the final model's. Measured: mixed 0.10, 0.04 (phase 2), then up every phase to 0.51
    (phase 12), final model 0.58 (paper: ≈0.1 → 0.9 over 30 phases of 20k); ablation
    0.11-0.25, final model 0.13. This is training seed 0: when cooperation takes off varies by
    seed (seeds 1 and 2 first pass 0.5 at phases 16 and 10, README "PPI"), so the thresholds
    hold for this seed at this scale, not for every seed."""
    curves = {}
    for tabular in (True, False):
        algorithm, phases = main_result_ppi(registry, ipd, tabular)
        curve = [phase["self_play_action0"] for phase in phases[1:]]
        curves[tabular] = [*curve, self_play_cooperation(algorithm, ipd)["cooperation"]]
    mixed, ablation = curves[True], curves[False]
    assert mixed[-1] > 0.5, mixed
    assert mixed[-1] > min(mixed) + 0.3, mixed
    assert ablation[-1] < 0.2, ablation


@pytest.mark.slow
def test_mixed_pool_cooperation_is_reciprocal_and_held_down_by_noise_in_q(registry, ipd):
    """Weis et al. 2026, Sec. 3: the co-players shape each other into reciprocity. The mixed
    pool's PPI plays like a noisy tit-for-tat (C after the co-player's C, D after its D); the
    ablation defects whatever the co-player did. Two noisy tit-for-tats cooperate at
    r / (1 - q + r) of the rounds (q, r: P(C) after C, after D), so the misreadings after C
    cost most. Those come from Q̂'s Monte-Carlo noise: with 32 roll-outs per action instead of
    the training's 4, the same model cooperates more. Measured (seed 0's artifact): mixed
    q 0.86, r 0.20, cooperation 0.58; with 32 roll-outs q 0.95, r 0.20, cooperation 0.76;
    ablation q 0.17, r 0.12 (seeds 1 and 2 at 20 phases: 0.71 → 0.78 and 0.68 → 0.74)."""
    mixed_algorithm, _ = main_result_ppi(registry, ipd, tabular=True)
    ablation_algorithm, _ = main_result_ppi(registry, ipd, tabular=False)
    mixed = self_play_cooperation(mixed_algorithm, ipd)
    ablation = self_play_cooperation(ablation_algorithm, ipd)
    assert mixed["after_c"] > mixed["after_d"] + 0.5, mixed
    assert ablation["after_c"] < ablation["after_d"] + 0.2, ablation
    training = mixed_algorithm.config.improvement()
    more_rollouts = dataclasses.replace(training, rollouts=8 * training.rollouts)
    steadier = self_play_cooperation(mixed_algorithm, ipd, more_rollouts)
    assert steadier["after_c"] > mixed["after_c"] + 0.05, (steadier, mixed)
    assert steadier["cooperation"] > mixed["cooperation"] + 0.05, (steadier, mixed)


# --- the artifact's life cycle -------------------------------------------------------------


def test_artifacts_reload_and_play_identically(ipd, cache):
    first = ppi(TINY)
    first.prepare(ipd, cache)
    path = cache.path("ppi", ipd.name, first.artifact_key(ipd))
    assert path.exists()
    stamp = path.stat().st_mtime_ns
    second = ppi(TINY)
    second.prepare(ipd, cache)
    assert path.stat().st_mtime_ns == stamp  # loaded, not retrained
    results = [
        run_match(ipd, (algorithm, ipd_fixed(ipd)), seeds=3, iterations=2, seed=4, artifacts=cache)
        for algorithm in (first, second)
    ]
    assert results[0].rewards.tobytes() == results[1].rewards.tobytes()
    assert (
        results[0].metrics["cooperation"].tobytes() == results[1].metrics["cooperation"].tobytes()
    )


def ipd_fixed(ipd):
    registry = Registry.load()
    return registry.algorithm("tit_for_tat").build(ipd.name)


def test_weights_stay_fixed_in_a_match_unless_asked_to_keep_training(ipd, cache):
    fixed = ppi(TINY)
    fixed.prepare(ipd, cache)
    state = fixed.init(ipd, 0, 2, generator(30))
    before = {name: value.clone() for name, value in state.params.items()}
    result = run_match(ipd, (fixed, ipd_fixed(ipd)), seeds=2, iterations=2, artifacts=cache)
    assert result.iterations == 2
    after = fixed.init(ipd, 0, 2, generator(30)).params
    assert all(torch.equal(before[name], after[name]) for name in before)

    learning = ppi({**TINY, "match_epochs": 1})
    learning.prepare(ipd, cache)
    from shaping.contracts.algorithm import MatchView, Outcome

    state = learning.init(ipd, 0, 2, generator(31))
    opponent = TabularPolicy(torch.tensor([[3.0] * 5, [-3.0] * 5]))
    outcome = Outcome(ipd, (learning.policy(state), opponent), 2, generator(32))
    updated = learning.update(state, MatchView(outcome, 0, 0, reveal_opponent=False))
    # each seed fine-tunes its own copy on its own episodes: the two copies now differ
    weights = updated.params["core.weight_hh_l0"]
    assert weights.shape[0] == 2
    assert not torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], state.params["core.weight_hh_l0"][0])
    # and the updated models play the next iteration, one per seed
    trajectories = Outcome(ipd, (learning.policy(updated), opponent), 2, generator(33)).trajectories
    assert trajectories.actions[0].shape == (ipd.horizon, 2, ipd.batch)


@pytest.mark.parametrize("game_name", ["ipd", "matching_pennies", "coin_game"])
def test_ppi_plays_every_game_in_both_seats(registry, game_name, cache):
    game = registry.game(game_name).build()
    algorithm = ppi(TINY)
    assert algorithm.supports(game) is None
    opponent = registry.algorithm("random").build(game_name)
    for seats in ((algorithm, opponent), (opponent, algorithm)):
        result = run_match(game, seats, seeds=2, iterations=1, artifacts=cache)
        assert result.evaluation == "sampled"
        assert torch.isfinite(torch.as_tensor(result.rewards)).all()


def test_how_a_match_is_played_does_not_change_the_artifact(ipd):
    base = ppi(TINY)
    for change in ({"match_rollouts": 0}, {"match_lookahead": 1}, {"match_epochs": 2}):
        assert ppi({**TINY, **change}).artifact_key(ipd) == base.artifact_key(ipd)
    assert ppi({**TINY, "rollouts": 3}).artifact_key(ipd) != base.artifact_key(ipd)
    played = ppi({**TINY, "match_rollouts": 0, "match_lookahead": 5}).config
    assert played.improvement(in_match=True) == Improvement(1.0, 5, 0, 1.0)
    assert played.improvement() == Improvement(1.0, 3, 2, 1.0)


def test_registry_entry_covers_every_game_with_episodes(registry):
    """PPI plays every game that has episodes; the exact-only test games it declines."""
    entry = registry.algorithm("ppi")
    assert entry.cls is PPI and PPI.pretrained
    for name, game_entry in registry.games.items():
        if name in ("tandem", "one_shot_pennies"):
            assert "no episodes" in entry.unsupported_reason(name)
            continue
        assert entry.unsupported_reason(name) is None
        assert isinstance(entry.config(name), PPIConfig)
        assert entry.build(name).supports(game_entry.build()) is None


def test_bad_configuration_names_the_field():
    with pytest.raises(ConfigError, match=r"test\.beta: must be >= 0"):
        ppi({"beta": -1.0})
    with pytest.raises(ConfigError, match=r"test\.tabular_fraction: must be in"):
        ppi({"tabular_fraction": 1.5})
    with pytest.raises(ConfigError, match="pretraining: must be one of"):
        ppi({"pretraining": "random"})


@pytest.fixture
def tiny_configs(tmp_path) -> Path:
    """A zoo_configs directory whose PPI defaults are TINY on every game."""
    source = Path(__file__).resolve().parents[2] / "zoo_configs"
    configs = tmp_path / "zoo_configs"
    (configs / "algorithms").mkdir(parents=True)
    shutil.copy(source / "games.yaml", configs / "games.yaml")
    # `shaping train` reads the standard profile's league: one with no overrides
    (configs / "profiles").mkdir()
    (configs / "profiles" / "standard.yaml").write_text(
        "games:\n  ipd: {seeds: 2, iterations: 2}\n"
    )
    entry = yaml.safe_load((source / "algorithms" / "ppi.yaml").read_text())
    entry["ppi"]["defaults"] = TINY
    entry["ppi"].pop("games", None)
    entry["ppi"].pop("league", None)  # the league's IPD agent is the main result's scale
    (configs / "algorithms" / "ppi.yaml").write_text(yaml.safe_dump(entry))
    return configs


def test_train_command_trains_and_then_reuses_the_artifact(tiny_configs, tmp_path, capsys):
    arguments = ["--configs", str(tiny_configs), "train", "--algorithm", "ppi", "--game", "ipd"]
    arguments += ["--artifacts", str(tmp_path / "zoo"), "--log-dir", str(tmp_path / "tb")]
    assert main(arguments) == 0
    captured = capsys.readouterr()
    assert "phase 1/1" in captured.err and "artifact at" in captured.out
    # minutes-long stretches say what they do, once each, before the bar moves
    lines = captured.err.splitlines()
    statuses = [line for line in lines if line.startswith("ppi ipd: ")]
    assert [line.split(": ", 1)[1].split(" ")[0] for line in statuses] == [
        "collecting",
        "fitting",
        "pretrained",
        "phase",
        "phase",
    ]
    assert statuses[3].startswith("ppi ipd: phase 1/1: collecting")
    assert statuses[4].startswith("ppi ipd: phase 1/1: fitting on")
    bar = [i for i, line in enumerate(lines) if line.startswith("ppi ipd |")]
    assert (
        bar and lines.index(statuses[-1]) < bar[0] and len(bar) == len(set(lines[i] for i in bar))
    )
    assert any((tmp_path / "tb").iterdir())  # TensorBoard curves of the training run
    assert main(arguments) == 0
    assert "phase 1/1" not in capsys.readouterr().err  # cached: not trained again


def test_train_command_overrides_fields_and_caches_under_the_new_key(
    tiny_configs, tmp_path, capsys
):
    """`--set` is how the README's longer PPI runs are reproduced (e.g. --set phases=20)."""
    arguments = ["--configs", str(tiny_configs), "train", "--algorithm", "ppi", "--game", "ipd"]
    arguments += ["--artifacts", str(tmp_path / "zoo")]
    paths = []
    for extra in ([], ["--set", "phases=2", "--set", "seed=5"]):
        assert main([*arguments, *extra]) == 0
        captured = capsys.readouterr()
        paths.append(captured.out.split("artifact at ")[1].strip())
    assert "phase 2/2" in captured.err
    assert paths[0] != paths[1]
    config = torch.load(paths[1], weights_only=False)["key"]["config"]
    assert (config["phases"], config["seed"], config["hidden"]) == (2, 5, TINY["hidden"])


def test_training_history_is_kept_in_the_artifact(ipd):
    algorithm = ppi({**TINY, "phases": 2})
    payload = algorithm.train(ipd, TrainingContext())
    phases = payload["phases"]
    assert [p["phase"] for p in phases] == [0, 1, 2]
    assert phases[2]["trajectories"] == 64 + 2 * 32
    assert dataclasses.asdict(algorithm.config)["phases"] == 2
