"""PPI: predictive policy improvement, cooperation through in-context co-player inference.

Weis et al. 2026, "Multi-agent cooperation through in-context co-player inference",
arXiv 2602.16301 (Sec. 2, App. A.3.1, Algorithm 1).

A sequence model p_φ of the player's interaction history x≤t (observations, actions, rewards;
see shaping/families/sequence_model.py) is at once a world model, a model of the co-player
inferred in context from the history alone, and a prior over the player's own actions. PPI
acts with the prior improved at decision time (Sec. 2, Eq. 1; App. A.3.1, "Inference"):

    π(a | x≤t) ∝ p_φ(a | x≤t) · exp(β Q̂_p(x≤t, a)),

Q̂ being the mean return of Monte-Carlo roll-outs `lookahead` rounds ahead inside p_φ (the
paper: 15). Training (Algorithm 1) repeats for `phases` phases: play π against a mixed pool
(half of the learning agent's episodes against learning agents, here PPI with the current
model in both seats; half against tabular agents with probabilities drawn uniformly, and no
identity given to the model), add the episodes to everything gathered so far, re-initialise
p_φ and fit it to all of it (App. A.3.1, Eq. 2), which distils π into the prior (with
`reinitialise: false`, the zoo's CPU-sized default, the last phase's model is fitted further
instead). Phase 0 pretrains on episodes between random tabular agents. The final model is
the cached artifact; in a match its weights stay fixed (every seed in-context-infers its
co-player within each episode) unless `match_epochs` > 0, in which case every seed fine-tunes
its own copy on its own episodes after each iteration.

Payoffs: the paper's IPD pays (R, S, T, P) = (1, -1, 2, 0), the zoo's the same minus 2. This
changes nothing in π: all candidate actions' roll-outs sum the same number of rounds, so a
constant shift of the rewards shifts every Q̂(x, ·) equally and cancels when π is normalised;
β means the same on both scales.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from shaping.contracts.algorithm import Algorithm, MatchView, TrainingContext
from shaping.contracts.config import field, in_range, non_negative, positive
from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import Game, Trajectories
from shaping.contracts.policies import BlackBoxPolicy, Feedback
from shaping.engine.training_monitor import TrainingMonitor
from shaping.families.sequence_model import (
    FitSettings,
    Histories,
    LossWeights,
    ObservationVocabulary,
    Params,
    RandomTablePolicy,
    RewardScale,
    SequenceModel,
    SequenceModelShape,
    SteppedModel,
    discover_vocabulary,
    fit,
    histories_from,
    observation_keys,
    rollout_action_values,
    sample_logits,
    stack_parameters,
)


@dataclass(frozen=True)
class PPIConfig:
    # the sequence model (App. A.3.1)
    embedding: int = field(32, check=positive, doc="shared embedding size of all modalities")
    hidden: int = field(128, check=positive, doc="GRU hidden units")
    # decision-time policy improvement (Eq. 1)
    beta: float = field(0.01, check=non_negative, doc="inverse temperature β of π ∝ p·exp(βQ̂)")
    lookahead: int = field(15, check=non_negative, doc="rounds simulated per roll-out")
    rollouts: int = field(8, check=non_negative, doc="roll-outs per candidate action")
    discount: float = field(1.0, check=in_range(0.0, 1.0), doc="discount inside a roll-out")
    # training (Algorithm 1)
    phases: int = field(30, check=non_negative, doc="policy-improvement phases after pretraining")
    pretraining_trajectories: int = field(
        200_000, check=positive, doc="random-tabular pretraining set"
    )
    trajectories_per_phase: int = field(20_000, check=positive, doc="new trajectories per phase")
    tabular_fraction: float = field(
        0.5, check=in_range(0.0, 1.0), doc="share of trajectories against random tabular agents"
    )
    pretraining: Literal["tabular", "uniform"] = field(
        "tabular", doc="tabular: random tabular agents; uniform: random actions (ablation)"
    )
    pretraining_epochs: int = field(10, check=positive, doc="passes over the pretraining set")
    epochs: int = field(10, check=positive, doc="passes over all data per phase")
    reinitialise: bool = field(
        True, doc="fit a fresh model every phase (paper); false: continue the last one"
    )
    batch_size: int = field(256, check=positive, doc="histories per AdamW step")
    lr: float = field(1e-4, check=positive, doc="AdamW learning rate")
    weight_decay: float = field(1e-2, check=non_negative, doc="AdamW weight decay")
    adam_betas: tuple[float, float] = field((0.9, 0.98), doc="AdamW (β1, β2)")
    grad_clip: float = field(1.0, check=positive, doc="gradient-norm clip")
    action_weight: float = field(1.0, check=non_negative, doc="weight of the action NLL")
    observation_weight: float = field(1.0, check=non_negative, doc="weight of the observation NLL")
    reward_weight: float = field(1.0, check=non_negative, doc="weight of the reward NLL")
    collection_batch: int = field(
        1024, check=positive, doc="episodes played at once when collecting"
    )
    seed: int = field(0, check=non_negative, doc="seed of the training run")
    # in a match (these never change the trained artifact)
    match_rollouts: int | None = field(
        None, check=non_negative, doc="roll-outs per candidate action in matches (None: rollouts)"
    )
    match_lookahead: int | None = field(
        None, check=non_negative, doc="rounds per roll-out in matches (None: lookahead)"
    )
    match_epochs: int = field(0, check=non_negative, doc="fine-tuning epochs per match iteration")

    def validate(self) -> str | None:
        if not all(0.0 <= b < 1.0 for b in self.adam_betas):
            return f"adam_betas: both must be in [0, 1), got {list(self.adam_betas)}"
        return None

    def improvement(self, in_match: bool = False) -> Improvement:
        """Eq. 1's settings: those of training, or of matches where they are overridden."""
        rollouts, lookahead = self.rollouts, self.lookahead
        if in_match:
            rollouts = rollouts if self.match_rollouts is None else self.match_rollouts
            lookahead = lookahead if self.match_lookahead is None else self.match_lookahead
        return Improvement(self.beta, lookahead, rollouts, self.discount)

    def fit_settings(self, epochs: int | None = None) -> FitSettings:
        return FitSettings(
            epochs=self.epochs if epochs is None else epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            betas=self.adam_betas,
            grad_clip=self.grad_clip,
            weights=LossWeights(self.action_weight, self.observation_weight, self.reward_weight),
        )


@dataclass(frozen=True)
class Improvement:
    """Decision-time policy improvement, Eq. 1: π ∝ p·exp(β Q̂), Q̂ from `rollouts` imagined
    futures of `lookahead` rounds per candidate action, discounted by `discount`."""

    beta: float
    lookahead: int
    rollouts: int
    discount: float


class PPIPolicy(BlackBoxPolicy):
    """π(a | x≤t) ∝ p(a | x≤t)·exp(β Q̂(x≤t, a)), keeping every episode's GRU state between
    steps. `params` are stacked [M, ...]: M = 1 (one model for every seed) or M = S."""

    def __init__(
        self,
        params: Params,
        vocabulary: ObservationVocabulary,
        reward_scale: RewardScale,
        improvement: Improvement,
        actions: int,
        horizon: int,
    ) -> None:
        self.model = SteppedModel(params)
        self.vocabulary = vocabulary
        self.reward_scale = reward_scale
        self.improvement = improvement
        self.actions = actions
        self.horizon = horizon

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> None:
        models = self.model.models
        if models not in (1, seeds):
            raise ValueError(f"{models} stacked models cannot play {seeds} seeds")
        rows = seeds * batch if models == 1 else batch
        device = generator.device
        self.hidden = self.model.initial_hidden(rows, device)
        self.previous_action = torch.full((models, rows), self.model.no_action, device=device)
        self.previous_reward = torch.zeros(models, rows, device=device)
        self.step = 0
        self.batch_shape = (seeds, batch)

    def lookahead_rounds(self) -> int:
        """Rounds to imagine: `lookahead`, cut at the end of an episode of the game's length."""
        lookahead, remaining = self.improvement.lookahead, self.horizon - self.step
        return min(lookahead, remaining) if remaining > 0 else lookahead

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        model, improvement = self.model, self.improvement
        tokens = self.vocabulary.tokens(observation).reshape(model.models, -1)
        self.hidden = model.step(self.hidden, tokens, self.previous_action, self.previous_reward)
        log_prior = torch.log_softmax(model.heads(self.hidden)[0], -1)
        logits, rounds = log_prior, self.lookahead_rounds()
        if improvement.beta > 0 and rounds > 0 and improvement.rollouts > 0:
            values = rollout_action_values(
                model,
                self.hidden,
                self.actions,
                rounds,
                improvement.rollouts,
                generator,
                self.reward_scale,
                improvement.discount,
            )
            logits = log_prior + improvement.beta * values  # Eq. 1: π ∝ p · exp(β Q̂)
        uniform = torch.rand((*logits.shape[:-1], 1), generator=generator, device=logits.device)
        return sample_logits(logits, uniform).reshape(self.batch_shape), None

    def observe(self, feedback: Feedback) -> None:
        models = self.model.models
        self.previous_action = feedback.own_action.reshape(models, -1)
        reward = feedback.own_reward.reshape(models, -1).float()
        self.previous_reward = self.reward_scale.normalise(reward)
        self.step += 1


@dataclass
class PPIModel:
    """A trained predictive model with what it needs to read observations and rewards."""

    model: SequenceModel
    vocabulary: ObservationVocabulary
    reward_scale: RewardScale

    def policy(
        self, improvement: Improvement, game: Game, params: Params | None = None
    ) -> PPIPolicy:
        return PPIPolicy(
            self.model.stacked() if params is None else params,
            self.vocabulary,
            self.reward_scale,
            improvement,
            game.num_actions,
            game.horizon,
        )

    def payload(self, phases: list[dict[str, float]]) -> dict[str, Any]:
        return {
            "shape": asdict(self.model.shape),
            "state_dict": {k: v.cpu() for k, v in self.model.state_dict().items()},
            "vocabulary": self.vocabulary.state_dict(),
            "reward_scale": asdict(self.reward_scale),
            "phases": phases,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any], device: torch.device) -> PPIModel:
        model = SequenceModel(SequenceModelShape(**payload["shape"])).to(device)
        model.load_state_dict(payload["state_dict"])
        return cls(
            model.eval(),
            ObservationVocabulary.from_state_dict(payload["vocabulary"]),
            RewardScale(**payload["reward_scale"]),
        )


@dataclass
class PPIState:
    """A match in one seat: the game, the stacked parameters every seed plays with, and, when
    training continues in the match, each seed's own copy of the model."""

    game: Game
    params: Params
    copies: list[SequenceModel] | None
    generator: torch.Generator


class PPI(Algorithm):
    """Predictive policy improvement with a sequence model pretrained on a mixed pool."""

    Config = PPIConfig
    pretrained = True
    # the paper evaluates the pretrained model inferring its co-player from the history
    league_regime = "as_is"
    #: how the trained model plays matches does not change it
    play_fields = ("match_rollouts", "match_lookahead", "match_epochs")
    assumptions = (
        "pretrained sequence model (mixed pool: itself and random tabular agents)",
        "infers the co-player in context",
    )

    def __init__(self, config: PPIConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        self.trained: PPIModel | None = None

    def supports(self, game: Game) -> str | None:
        generator = torch.Generator(device=game.device).manual_seed(0)
        try:
            observation_keys(game.observe(game.reset(1, 1, generator), 0))
        except UnsupportedError as error:
            return f"PPI needs discrete observations: {error}"
        return None

    # --- pretraining (Algorithm 1) ------------------------------------------------------------

    def train(self, game: Game, context: TrainingContext) -> dict[str, Any]:
        config = self.config
        generator = torch.Generator(device=game.device).manual_seed(config.seed)
        monitor = TrainingMonitor(context, config.phases, f"{self.name} {game.name}", unit="phase")
        start = time.perf_counter()
        vocabulary = discover_vocabulary(game, generator)
        uniform = config.pretraining == "uniform"
        monitor.status(f"collecting {config.pretraining_trajectories} pretraining histories")
        # two independent co-players: each seat draws its own table every episode
        pair = tuple(RandomTablePolicy(vocabulary, game.num_actions, uniform) for _ in range(2))
        data = self._play(
            game, vocabulary, pair, (0, 1), config.pretraining_trajectories // 2, generator
        )
        rewards = data.rewards
        reward_scale = RewardScale(float(rewards.mean()), float(rewards.std().clamp(min=1e-3)))
        shape = SequenceModelShape(
            vocabulary.size, game.num_actions, config.embedding, config.hidden
        )
        monitor.status(f"fitting the sequence model ({config.pretraining_epochs} epochs)")
        model, losses = self._fit(
            None, shape, data, reward_scale, config.pretraining_epochs, generator
        )
        current = PPIModel(model, vocabulary, reward_scale)
        phases = [
            {
                "phase": 0,
                "trajectories": len(data),
                "seconds": time.perf_counter() - start,
                **losses,
            }
        ]
        monitor.status(f"pretrained on {len(data)} histories, losses {_format_losses(losses)}")
        tabular = RandomTablePolicy(vocabulary, game.num_actions)
        for phase in range(1, config.phases + 1):
            started = time.perf_counter()
            monitor.status(
                f"phase {phase}/{config.phases}: collecting {config.trajectories_per_phase} "
                "trajectories in the mixed pool"
            )
            new, stats = self._collect_phase(game, current, tabular, generator)
            data = Histories.concatenate([data, new])
            collected = time.perf_counter()
            # Algorithm 1, lines 2-5: a fresh model (or the last one, continued) fitted to all data
            previous = None if config.reinitialise else current.model
            monitor.status(
                f"phase {phase}/{config.phases}: fitting on {len(data)} histories "
                f"({config.epochs} epochs)"
            )
            model, losses = self._fit(previous, shape, data, reward_scale, config.epochs, generator)
            current = PPIModel(model, vocabulary, reward_scale)
            fitted = time.perf_counter()
            stats.update(
                phase=phase,
                trajectories=len(data),
                collect_seconds=collected - started,
                fit_seconds=fitted - collected,
                seconds=fitted - started,
                **losses,
            )
            phases.append(stats)
            monitor.update(phase, {f"ppi/{k}": v for k, v in stats.items() if k != "phase"})
        monitor.close()
        return current.payload(phases)

    def _fit(
        self,
        model: SequenceModel | None,
        shape: SequenceModelShape,
        data: Histories,
        reward_scale: RewardScale,
        epochs: int,
        generator: torch.Generator,
    ) -> tuple[SequenceModel, dict[str, float]]:
        """Fit `model` (a freshly initialised one if None) to `data` for `epochs` epochs;
        returns it with the last epoch's mean losses."""
        if model is None:
            model = SequenceModel(shape).to(generator.device)
            model.reset_parameters(generator)
        model.train()
        history = fit(model, data, self.config.fit_settings(epochs), reward_scale, generator)
        return model.eval(), {f"loss_{name}": value for name, value in history[-1].items()}

    def _collect_phase(
        self, game: Game, current: PPIModel, tabular: RandomTablePolicy, generator: torch.Generator
    ) -> tuple[Histories, dict[str, float]]:
        """Algorithm 1, lines 6-12, in the mixed pool: the learning agent's trajectories are
        `tabular_fraction` against random tabular agents (half in each seat), the rest against
        learning agents (PPI with the current model in both seats; both views are kept)."""
        config = self.config
        total = config.trajectories_per_phase
        against_tabular = round(total * config.tabular_fraction)
        self_play_episodes = (total - against_tabular + 1) // 2
        parts, stats = [], {}
        with torch.no_grad():
            if self_play_episodes:
                improvement = config.improvement()
                seats = (current.policy(improvement, game), current.policy(improvement, game))
                self_play = self._play(
                    game, current.vocabulary, seats, (0, 1), self_play_episodes, generator
                )
                parts.append(self_play)
                stats["self_play_action0"] = float((self_play.actions == 0).float().mean())
                stats["self_play_reward"] = float(self_play.rewards.mean())
            tabular_parts = []
            for seat, episodes in enumerate(
                (against_tabular - against_tabular // 2, against_tabular // 2)
            ):
                if episodes:
                    seats = (current.policy(config.improvement(), game), tabular)
                    seats = seats if seat == 0 else seats[::-1]
                    tabular_parts.append(
                        self._play(game, current.vocabulary, seats, (seat,), episodes, generator)
                    )
            if tabular_parts:
                against = Histories.concatenate(tabular_parts)
                parts.append(against)
                stats["tabular_action0"] = float((against.actions == 0).float().mean())
                stats["tabular_reward"] = float(against.rewards.mean())
        stats.setdefault("self_play_action0", float("nan"))
        stats.setdefault("self_play_reward", float("nan"))
        stats.setdefault("tabular_action0", float("nan"))
        stats.setdefault("tabular_reward", float("nan"))
        return Histories.concatenate(parts), stats

    def _play(
        self,
        game: Game,
        vocabulary: ObservationVocabulary,
        seats: tuple,
        recorded: tuple[int, ...],
        episodes: int,
        generator: torch.Generator,
    ) -> Histories:
        """`episodes` episodes between `seats`, in chunks; the histories of the seats in
        `recorded`, each in its own view."""
        parts = []
        for start in range(0, episodes, self.config.collection_batch):
            batch = min(self.config.collection_batch, episodes - start)
            with torch.no_grad():
                trajectories: Trajectories = game.rollout(seats, 1, generator, batch=batch)
            parts.extend(histories_from(trajectories, seat, vocabulary) for seat in recorded)
        return Histories.concatenate(parts)

    def load(self, payload: dict[str, Any], game: Game) -> None:
        self.trained = PPIModel.from_payload(payload, game.device)

    # --- in a match ---------------------------------------------------------------------------

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> PPIState:
        self.require_artifact(game)
        seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
        local = torch.Generator(device=generator.device).manual_seed(seed)
        return PPIState(game, self.trained.model.stacked(), None, local)

    def policy(self, state: PPIState) -> PPIPolicy:
        improvement = self.config.improvement(in_match=True)
        return self.trained.policy(improvement, state.game, state.params)

    def update(self, state: PPIState, view: MatchView) -> PPIState:
        """Fixed weights (the co-player is inferred in context), unless `match_epochs` > 0:
        then each seed's own copy of the model is fitted further to that seed's episodes."""
        epochs = self.config.match_epochs
        if epochs == 0:
            return state
        trained = self.trained
        histories = histories_from(view.trajectories, 0, trained.vocabulary)
        seeds, batch = view.trajectories.seeds, view.trajectories.batch
        copies = state.copies or [copy.deepcopy(trained.model) for _ in range(seeds)]
        settings = self.config.fit_settings(epochs)
        for seed, model in enumerate(copies):
            rows = torch.arange(seed * batch, (seed + 1) * batch, device=histories.actions.device)
            model.train()
            fit(model, histories.subset(rows), settings, trained.reward_scale, state.generator)
            model.eval()
        return PPIState(state.game, stack_parameters(copies), copies, state.generator)


def _format_losses(losses: dict[str, float]) -> str:
    return " ".join(f"{name[5:]} {value:.3f}" for name, value in losses.items())
