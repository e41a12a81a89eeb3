"""M-FOS: Model-Free Opponent Shaping (Lu, Willi, Schroeder de Witt & Foerster, ICML 2022).

M-FOS learns in a meta-game whose every step is one inner game, i.e. one learning iteration of
the opponent (paper, "Method"; code luchris429/model-free-opponent-shaping, cited as src/...):

    meta-state   s_t = the joint behaviour in inner game t
    meta-action  a_t = the agent's inner policy for inner game t + 1
    meta-reward  r_t = the agent's reward in inner game t
    objective    E[Σ_t γ_meta^t r_t] over meta-episodes of T inner games against a
                 distribution of learning opponents, maximised with PPO (Schulman et al. 2017).

Matrix games (paper, IPD / matching-pennies experiments; src/environments.py, src/ppo.py):
s_t = (σ(θ_t), σ(φ_t), seat): the cooperation probabilities of the agent's and the opponent's
memory-one policies, each in its own view (plus the agent's seat, a zoo addition so one
meta-policy plays both seats of asymmetric games); a_t = θ_{t+1} ~ N(μ(s_t), diag
softplus(ν(s_t))) over the 5 logits; r_t = (1 - γ) V_agent(θ_t, φ_t), exact; between inner
games the opponent learns, φ ← φ + δ ξ (naive) or φ + δ (ξ + η χ) (LOLA),
`shaping.families.simulated_coplayers`.

Coin game (paper, coin-game experiments; src/coin_game/): the inner policy is a recurrent
network acting at every step, its features multiplied by a conditioning vector c_t with
c_{t+1} = sigmoid(W · mean over the episodes of GRU(episodes of inner game t)) and c_0 = 1.
PPO trains the acting network and the episode encoder end to end on the per-step rewards; an
episode's last return is bootstrapped with the mean return of the next inner game.

Training pool: learners (naive and LOLA on the matrix games; naive policy-gradient learners on
the coin game), then meta-self-play: a share λ of the games faces a naive learner, the rest
another copy of the meta-policy, λ annealed from 1 to 0 (src/main_mfos_self.py). In a match
M-FOS adapts in context: `update` feeds what it saw to the meta-policy, which chooses the next
inner policy; its weights change only with `keep_training`.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn

from shaping.contracts.algorithm import Algorithm, MatchView, Outcome, TrainingContext
from shaping.contracts.config import discount, in_range, non_negative, positive
from shaping.contracts.config import field as config_field
from shaping.contracts.errors import ConfigError, UnsupportedError
from shaping.contracts.game import Game, Trajectories
from shaping.contracts.policies import NetworkFamily, Policy, PolicyFamily, TabularFamily
from shaping.engine.training_monitor import TrainingMonitor
from shaping.families.metarl import (
    ConditionedActorCritic,
    ConditionedFamily,
    EpisodeEncoder,
    GaussianActorCritic,
    MetaPPOSettings,
    normalized_returns,
    ppo_update,
)
from shaping.families.opponent_model import OpponentModel
from shaping.families.simulated_coplayers import (
    LEARNER_RULES,
    ExactLearner,
    LearnerPool,
    seated_terms,
)
from shaping.numerics.estimators import own_value_gradient
from shaping.numerics.optim import Ascent, OptimizerName
from shaping.numerics.rl import discounted_returns, normalized


def _learner_names(names: tuple[str, ...]) -> str | None:
    unknown = [name for name in names if name not in LEARNER_RULES]
    if not names or unknown:
        return f"must be a non-empty list of {list(LEARNER_RULES)}, got {list(names)}"
    return None


@dataclass(frozen=True)
class MFOSConfig:
    # meta-training: sizes
    games: int = config_field(4096, check=positive, doc="parallel inner games per meta-episode")
    meta_steps: int = config_field(100, check=positive, doc="inner games per meta-episode")
    meta_episodes: int = config_field(
        1024, check=positive, doc="meta-episodes against the learner pool"
    )
    self_play_episodes: int = config_field(
        0, check=non_negative, doc="meta-episodes of the self-play stage (0: none)"
    )
    anneal_fraction: float = config_field(
        0.65,
        check=in_range(0.0, 1.0, low_open=True),
        doc="share of the self-play stage over which λ falls from 1 to 0",
    )
    # meta-training: PPO
    lr: float = config_field(2e-3, check=positive, doc="Adam step size of the meta-policy")
    self_play_lr: float = config_field(2e-4, check=positive, doc="its step size in self-play")
    epochs: int = config_field(4, check=positive, doc="PPO epochs per meta-episode")
    clip: float = config_field(0.2, check=positive, doc="PPO clip ε")
    meta_gamma: float = config_field(0.99, check=discount, doc="discount of the meta-game")
    entropy: float = config_field(0.01, check=non_negative, doc="entropy bonus")
    value_coef: float = config_field(0.5, check=non_negative, doc="weight of the critic loss")
    hidden: int = config_field(256, check=positive, doc="hidden units of the meta-policy")
    # the opponents of meta-training
    pool: tuple[str, ...] = config_field(
        ("naive", "lola"), check=_learner_names, doc="learners faced first, in equal shares"
    )
    self_play_pool: tuple[str, ...] = config_field(
        ("naive",), check=_learner_names, doc="learners of the self-play stage's λ share"
    )
    opponent_lr: float = config_field(1.0, check=positive, doc="learning rate δ of the learners")
    opponent_lookahead: float = config_field(1.0, check=non_negative, doc="LOLA's look-ahead η")
    opponent_optimizer: OptimizerName = config_field(
        "sgd", doc="sgd or adam, on sampled games (exact learners take plain steps)"
    )
    # sampled games: size of the inner games simulated in meta-training (None: the game's)
    inner_batch: int | None = config_field(
        None, check=positive, doc="episodes per inner game in meta-training"
    )
    inner_horizon: int | None = config_field(
        None, check=positive, doc="steps per episode in meta-training"
    )
    # playing
    deterministic: bool = config_field(False, doc="play the meta-policy's mean, not a sample")
    keep_training: bool = config_field(
        False, doc="in a match, PPO on a private copy after every meta_steps iterations"
    )
    seed: int = config_field(0, check=non_negative, doc="seed of meta-training")

    def validate(self) -> str | None:
        if self.keep_training and self.deterministic:
            return "keep_training needs sampled meta-actions: set deterministic to false"
        return None

    @property
    def ppo(self) -> MetaPPOSettings:
        return MetaPPOSettings(self.epochs, self.clip, self.entropy, self.value_coef)


@dataclass
class MFOSState:
    """One match seat: each seed's inner policy for the coming iteration (5 logits, or the
    coin game's conditioning vector) and what in-context adaptation needs."""

    params: Tensor
    player: int
    generator: torch.Generator
    learner: MetaLearner
    model: OpponentModel | None = None
    optimizer: torch.optim.Optimizer | None = None  # keep_training only
    experience: Any = None  # keep_training only: the meta-steps since the last update


class MetaLearner(ABC):
    """The meta-game of M-FOS on one kind of game: its networks, its simulated meta-episodes,
    its PPO update and its in-context step."""

    game: Game
    family: PolicyFamily
    config: MFOSConfig

    @abstractmethod
    def modules(self) -> list[nn.Module]:
        """The trained networks, in the order of the artifact."""

    @abstractmethod
    def meta_episode(
        self, rules: tuple[str, ...], pool_games: int, self_games: int, generator: torch.Generator
    ) -> tuple[Any, dict[str, float]]:
        """T inner games of `pool_games` games against learners of the `rules` (equal shares)
        and `self_games` games of the meta-policy against itself, batched; the experience and
        the meta-episode's scalars."""

    @abstractmethod
    def learn(self, experience: Any, optimizer: torch.optim.Optimizer) -> dict[str, float]:
        """One PPO update on a meta-episode; its statistics."""

    @abstractmethod
    def adapt(self, state: MFOSState, view: MatchView) -> Tensor:
        """The next inner policy of every seed from what this iteration showed (recording the
        meta-step into `state.experience` when keeping training)."""

    @abstractmethod
    def new_experience(self) -> Any:
        """An empty record of meta-steps."""


# --- the meta-game on matrix games --------------------------------------------------------


@dataclass
class MatrixExperience:
    """Meta-steps of the parameter-space meta-game: states [M, 11], actions [M, 5],
    log-probabilities and rewards [M] per step (a match records the reward of a step in the
    iteration after its action)."""

    states: list[Tensor] = field(default_factory=list)
    actions: list[Tensor] = field(default_factory=list)
    log_probs: list[Tensor] = field(default_factory=list)
    rewards: list[Tensor] = field(default_factory=list)

    def __len__(self) -> int:
        """Complete (rewarded) meta-steps."""
        return len(self.rewards)

    def split(self, steps: int) -> tuple[MatrixExperience, MatrixExperience]:
        """The first `steps` meta-steps and the rest."""
        head, tail = MatrixExperience(), MatrixExperience()
        for name in ("states", "actions", "log_probs", "rewards"):
            values = getattr(self, name)
            setattr(head, name, values[:steps])
            setattr(tail, name, values[steps:])
        return head, tail


class ParameterMetaLearner(MetaLearner):
    """Matrix games: meta-state (σ(own), σ(opponent), seat) -> next 5 logits."""

    def __init__(self, config: MFOSConfig, game: Game) -> None:
        self.config = config
        self.game = game
        self.family = game.default_family()
        dim = self.family.dim
        self.network = GaussianActorCritic(2 * dim + 1, dim, config.hidden).to(game.device)

    def modules(self) -> list[nn.Module]:
        return [self.network]

    def new_experience(self) -> MatrixExperience:
        return MatrixExperience()

    @staticmethod
    def meta_state(own: Tensor, opponent: Tensor, seats: Tensor) -> Tensor:
        """s = (σ(θ_own), σ(θ_opponent), seat), each policy in its own view, [M, 11]."""
        seats = seats.to(own.dtype).reshape(-1, 1).expand(own.shape[0], 1)
        return torch.cat((torch.sigmoid(own), torch.sigmoid(opponent), seats), dim=-1)

    def pool(self, rules: tuple[str, ...]) -> LearnerPool:
        """Exact learners stepping once per inner game (src/environments.py: lr = η = 1)."""
        config = self.config
        return LearnerPool(
            [
                ExactLearner(rule, config.opponent_lr, config.opponent_lookahead)  # type: ignore[arg-type]
                for rule in rules
            ]
        )

    def meta_episode(
        self, rules: tuple[str, ...], pool_games: int, self_games: int, generator: torch.Generator
    ) -> tuple[MatrixExperience, dict[str, float]]:
        """The agent plays seat g % 2 of pool game g; self-play agents come in pairs."""
        game, device = self.game, self.game.device
        pool = self.pool(rules)
        seats = torch.arange(pool_games, device=device) % 2
        zeros = torch.zeros(self_games, dtype=torch.long, device=device)
        agent_seats = torch.cat((seats, zeros, zeros + 1))
        learner_rules = pool.sample(pool_games, generator)
        second_order = pool_games > 0 and pool.second_order(learner_rules)
        learners = self.family.init(pool_games, generator)
        agents = self.family.init(pool_games + 2 * self_games, generator)

        def play(agents: Tensor, learners: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
            """One inner game everywhere: the agents' and learners' rewards per step, the
            learners' next parameters, each agent's opponent's parameters as played."""
            pooled, first, second = agents.split((pool_games, self_games, self_games))
            values, learner_values, learners_next = [], learners[:, 0], learners
            if pool_games:
                agent_first = (seats == 0).unsqueeze(-1)
                analysis = game.exact_analysis(
                    torch.where(agent_first, pooled, learners),
                    torch.where(agent_first, learners, pooled),
                    second_order=second_order,
                )
                values.append(torch.where(seats == 0, *analysis.values))
                learner_values = torch.where(seats == 0, *analysis.values[::-1])
                terms = seated_terms(analysis, 1 - seats)
                learners_next = pool.step(learners, terms, learner_rules)
            if self_games:
                values.extend(game.exact(first, second))
            return (
                game.reward_per_step(torch.cat(values)),
                game.reward_per_step(learner_values),
                learners_next,
                torch.cat((learners, second, first)),
            )

        experience = MatrixExperience()
        learner_rewards = []
        with torch.no_grad():
            # src/environments.py, reset: a first, unrewarded inner game with random policies
            _, _, next_learners, opponents = play(agents, learners)
            for _ in range(self.config.meta_steps):
                states = self.meta_state(agents, opponents, agent_seats)
                learners = next_learners
                agents, log_probs = self.network.act(states, generator)
                rewards, learner_reward, next_learners, opponents = play(agents, learners)
                experience.states.append(states)
                experience.actions.append(agents)
                experience.log_probs.append(log_probs)
                experience.rewards.append(rewards)
                learner_rewards.append(learner_reward)
        rewards = torch.stack(experience.rewards)
        scalars = {}
        if pool_games:
            scalars["meta/return"] = float(rewards[:, :pool_games].mean())
            scalars["meta/final_return"] = float(rewards[-1, :pool_games].mean())
            scalars["meta/opponent_return"] = float(torch.stack(learner_rewards).mean())
            if len(set(rules)) > 1:
                for index, rule in enumerate(pool.learners):
                    mine = learner_rules == index
                    scalars[f"meta/return_vs_{rule.rule}"] = float(
                        rewards[:, :pool_games][:, mine].mean()
                    )
        if self_games:
            scalars["meta/self_play_return"] = float(rewards[:, pool_games:].mean())
        return experience, scalars

    def learn(
        self, experience: MatrixExperience, optimizer: torch.optim.Optimizer
    ) -> dict[str, float]:
        """PPO on normalised Monte-Carlo returns with the critic as baseline (src/ppo.py)."""
        states = torch.stack(experience.states)
        actions = torch.stack(experience.actions)
        returns = normalized_returns(torch.stack(experience.rewards), self.config.meta_gamma)
        return ppo_update(
            optimizer,
            lambda: self.network.evaluate(states, actions),
            torch.stack(experience.log_probs),
            returns,
            self.config.ppo,
        )

    def adapt(self, state: MFOSState, view: MatchView) -> Tensor:
        """θ_{t+1} ~ π(σ(θ_t), σ(φ_t), seat): φ_t exact when visible, else the memory-one
        model fitted to the opponent's play this iteration."""
        opponent = state.model.estimate(view).params  # type: ignore[union-attr]
        seat = torch.tensor(view.player, device=state.params.device)
        meta_state = self.meta_state(state.params, opponent, seat)
        with torch.no_grad():
            if self.config.deterministic:
                return self.network.distribution(meta_state).loc
            params, log_probs = self.network.act(meta_state, state.generator)
        experience: MatrixExperience | None = state.experience
        if experience is not None:
            if len(experience.states) > len(experience):  # this iteration rewards the last step
                experience.rewards.append(view.rewards()[0])
            experience.states.append(meta_state)
            experience.actions.append(params)
            experience.log_probs.append(log_probs)
        return params


# --- the meta-game on the coin game -------------------------------------------------------


@dataclass
class EpisodeExperience:
    """Meta-steps of the conditioned meta-game: each inner game's own-view episodes, agents
    as the seeds."""

    episodes: list[Trajectories] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.episodes)

    def split(self, steps: int) -> tuple[EpisodeExperience, EpisodeExperience]:
        return EpisodeExperience(self.episodes[:steps]), EpisodeExperience(self.episodes[steps:])


def episode_features(episodes: Trajectories, num_actions: int) -> Tensor:
    """What the episode encoder reads at each step, [T, S, B, f]: the own-view observation,
    both rewards and both actions (one-hot: an egocentric view hides absolute moves)."""
    observation = episodes.observations[0].to(torch.float32)
    own_action, other_action = (
        torch.nn.functional.one_hot(actions, num_actions).to(observation.dtype)
        for actions in episodes.actions
    )
    rewards = torch.stack(episodes.rewards, dim=-1).to(observation.dtype)
    return torch.cat((observation, rewards, own_action, other_action), dim=-1)


def concatenated_games(parts: list[Trajectories]) -> Trajectories:
    """Episodes of several groups of games as one, the groups' seeds concatenated."""
    if len(parts) == 1:
        return parts[0]

    def cat(pairs: list[tuple]) -> tuple:
        return tuple(
            None if pairs[0][seat] is None else torch.cat([p[seat] for p in pairs], dim=1)
            for seat in (0, 1)
        )

    return Trajectories(
        observations=cat([p.observations for p in parts]),
        actions=cat([p.actions for p in parts]),
        rewards=cat([p.rewards for p in parts]),
        log_probs=cat([p.log_probs for p in parts]),
        gamma=parts[0].gamma,
        events={name: cat([p.events[name] for p in parts]) for name in parts[0].events},
    )


class ConditionedMetaLearner(MetaLearner):
    """Sampled games: inner episodes -> conditioning of a recurrent inner policy."""

    def __init__(self, config: MFOSConfig, game: Game) -> None:
        self.config = config
        self.game = game
        probe = game.observe(game.reset(1, 1, torch.Generator(device=game.device)), 0)
        observation_size = probe.shape[-1]
        self.network = ConditionedActorCritic(observation_size, game.num_actions, config.hidden).to(
            game.device
        )
        self.encoder = EpisodeEncoder(
            observation_size + 2 + 2 * game.num_actions, config.hidden
        ).to(game.device)
        self.family = ConditionedFamily(self.network)
        sizes = {"batch": config.inner_batch, "horizon": config.inner_horizon}
        sizes = {name: size for name, size in sizes.items() if size is not None}
        #: the inner games of meta-training, optionally smaller than a match's
        self.simulated = type(game)(game.name, replace(game.config, **sizes), game.device)

    def modules(self) -> list[nn.Module]:
        return [self.network, self.encoder]

    def new_experience(self) -> EpisodeExperience:
        return EpisodeExperience()

    def conditioning(self, episodes: Trajectories) -> Tensor:
        """c for the next inner game from this one's own-view episodes, [S, h]."""
        return self.encoder(episode_features(episodes, self.game.num_actions))

    def meta_episode(
        self, rules: tuple[str, ...], pool_games: int, self_games: int, generator: torch.Generator
    ) -> tuple[EpisodeExperience, dict[str, float]]:
        """Learners are the zoo's naive learner on sampled games (REINFORCE with a baseline,
        `shaping.numerics.estimators`); the agent sits in seat 0 against them (the coin game is
        symmetric in egocentric views)."""
        if set(rules) != {"naive"}:
            raise UnsupportedError("on sampled games the training pool holds naive learners only")
        config, game, simulated = self.config, self.game, self.simulated
        learner_family = game.default_family()
        learners = learner_family.init(pool_games, generator)
        ascent = Ascent(config.opponent_optimizer, config.opponent_lr)
        learner_optimizer = ascent.init(learners)
        conditioning = self.encoder.initial(pool_games + 2 * self_games, game.device)
        experience = EpisodeExperience()
        learner_rewards: list[Tensor] = []
        metrics: list[dict[str, tuple[Tensor, Tensor]]] = []
        for step in range(config.meta_steps):
            pooled, first, second = conditioning.split((pool_games, self_games, self_games))
            parts = []
            if pool_games:
                policies = (self.family.build(pooled), learner_family.build(learners))
                outcome = Outcome(simulated, policies, pool_games, generator)
                view = MatchView(outcome, 1, step, reveal_opponent=False)
                gradient = own_value_gradient(view, learner_family, learners)
                learners, learner_optimizer = ascent.step(learners, gradient, learner_optimizer)
                parts.append(outcome.trajectories)
                learner_rewards.append(outcome.trajectories.rewards[1].mean())
                metrics.append(simulated.sampled_metrics(outcome.trajectories))
            if self_games:
                policies = (self.family.build(first), self.family.build(second))
                with torch.no_grad():
                    episodes = simulated.rollout(policies, self_games, generator)
                parts += [episodes, episodes.swapped()]
            played = concatenated_games(parts)
            experience.episodes.append(played)
            with torch.no_grad():
                conditioning = self.conditioning(played)
        rewards = torch.stack([episodes.rewards[0] for episodes in experience.episodes])
        scalars = {}
        if pool_games:
            scalars["meta/return"] = float(rewards[:, :, :pool_games].mean())
            scalars["meta/final_return"] = float(rewards[-1, :, :pool_games].mean())
            scalars["meta/opponent_return"] = float(torch.stack(learner_rewards).mean())
            for name in metrics[0]:
                for seat, prefix in enumerate(("meta/", "meta/opponent_")):
                    values = torch.stack([metric[name][seat] for metric in metrics])
                    scalars[prefix + name] = float(values.mean())
        if self_games:
            scalars["meta/self_play_return"] = float(rewards[:, :, pool_games:].mean())
        return experience, scalars

    def learn(
        self, experience: EpisodeExperience, optimizer: torch.optim.Optimizer
    ) -> dict[str, float]:
        """PPO on every step of every inner game, end to end through the episode encoder
        (src/coin_game/coin_game_mfos_agent.py, PPOMFOS.update)."""
        episodes = experience.episodes
        iterations, steps = len(episodes), episodes[0].horizon
        games, batch = episodes[0].seeds, episodes[0].batch

        def rows(tensors: list[Tensor]) -> Tensor:  # K x [T, S, B, ...] -> [T, K * S * B, ...]
            stacked = torch.stack(tensors, dim=1)
            return stacked.reshape(steps, iterations * games * batch, *stacked.shape[4:])

        observations = rows([e.observations[0].to(torch.float32) for e in episodes])
        actions = rows([e.actions[0] for e in episodes])
        old_log_probs = rows([e.log_probs[0] for e in episodes])
        features = [episode_features(e, self.game.num_actions) for e in episodes[:-1]]
        returns = self.returns([e.rewards[0] for e in episodes])

        def evaluate() -> tuple[Tensor, Tensor, Tensor]:
            conditioning = self.encoder.initial(games, self.game.device).unsqueeze(0)
            if features:  # c_1 .. c_{K-1} from the episodes of inner games 0 .. K-2
                stacked = torch.stack(features, dim=1)  # [T, K - 1, S, B, f]
                later = self.encoder(stacked.reshape(steps, (iterations - 1) * games, batch, -1))
                conditioning = torch.cat((conditioning, later.reshape(iterations - 1, games, -1)))
            conditioning = conditioning.repeat_interleave(batch, dim=1).flatten(0, 1)
            return self.network.evaluate(observations, actions, conditioning)

        return ppo_update(optimizer, evaluate, old_log_probs, returns, self.config.ppo)

    def returns(self, rewards: list[Tensor]) -> Tensor:
        """Normalised returns-to-go [T, K * S * B] of K inner games' rewards [T, S, B]: within
        an episode discounted per step; the last step bootstrapped with the mean, over the
        game's episodes, of the next inner game's first return (src/coin_game: the 'global'
        discounted return)."""
        gamma = self.config.meta_gamma
        following: Tensor | None = None
        per_game = []
        for reward in reversed(rewards):
            bootstrap = None
            if following is not None:
                bootstrap = following[0].mean(-1, keepdim=True).expand_as(reward[0])
            following = discounted_returns(reward, gamma, bootstrap)
            per_game.append(following)
        returns = torch.stack(per_game[::-1], dim=1)  # [T, K, S, B]
        return normalized(returns.reshape(returns.shape[0], -1), eps=1e-5)

    def adapt(self, state: MFOSState, view: MatchView) -> Tensor:
        """c_{t+1} from the episodes this iteration played (the shared roll-out)."""
        with torch.no_grad():
            params = self.conditioning(view.trajectories)
        if state.experience is not None:
            state.experience.episodes.append(view.trajectories)
        return params


# --- the algorithm ------------------------------------------------------------------------


class MFOS(Algorithm):
    """Model-free opponent shaping: a meta-policy pretrained by PPO in the meta-game."""

    Config = MFOSConfig
    white_box = True
    pretrained = True
    # the paper evaluates the meta-policy shaping its co-player across iterations, in context
    league_regime = "as_is"
    #: the meta-learner's recurrent context and its experience buffer advance in place
    updates_in_place = True
    #: how the meta-policy is played does not change it
    play_fields = ("deterministic", "keep_training")
    assumptions = (
        "pretrained meta-policy (PPO against naive/LOLA learners, then meta-self-play)",
        "matrix games: the opponent's policy parameters when visible, else a memory-one "
        "model fitted to its play",
        "coin game: only the episodes played",
    )

    def __init__(self, config: MFOSConfig, name: str | None = None) -> None:
        super().__init__(config, name)
        self.learner: MetaLearner | None = None

    def supports(self, game: Game) -> str | None:
        family = game.default_family()
        if isinstance(family, TabularFamily) and game.has_exact(family, family):
            return None
        if isinstance(family, NetworkFamily) and not family.recurrent:
            if {*self.config.pool, *self.config.self_play_pool} != {"naive"}:
                return "on sampled games the training pool holds naive learners only"
            return None
        return "M-FOS needs memory-one policies with exact values, or a game with episodes"

    def build_meta_learner(self, game: Game) -> MetaLearner:
        """The untrained meta-game of this configuration on `game`."""
        reason = self.supports(game)
        if reason:
            raise UnsupportedError(f"{self.name} cannot play {game.name}: {reason}")
        if isinstance(game.default_family(), TabularFamily):
            return ParameterMetaLearner(self.config, game)
        return ConditionedMetaLearner(self.config, game)

    # --- pretraining ----------------------------------------------------------------------

    def stage(self, episode: int) -> tuple[float, tuple[str, ...], float]:
        """(λ, learner rules, step size) of meta-episode `episode`: λ = 1 against the pool,
        then falling linearly to 0 over `anneal_fraction` of the self-play stage."""
        config = self.config
        if episode < config.meta_episodes:
            return 1.0, config.pool, config.lr
        progress = (episode - config.meta_episodes) / config.self_play_episodes
        share = max(0.0, 1.0 - progress / config.anneal_fraction)
        return share, config.self_play_pool, config.self_play_lr

    def train(self, game: Game, context: TrainingContext) -> dict[str, Any]:
        """PPO over meta-episodes (src/main_mfos_ppo.py, then src/main_mfos_self.py)."""
        config = self.config
        generator = torch.Generator(device=game.device).manual_seed(config.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)  # the meta-policy's initial weights
            learner = self.build_meta_learner(game)
        parameters = [p for module in learner.modules() for p in module.parameters()]
        optimizer = torch.optim.Adam(parameters, lr=config.lr)
        total = config.meta_episodes + config.self_play_episodes
        monitor = TrainingMonitor(context, total, f"{self.name} {game.name}")
        history: list[dict[str, float]] = []
        try:
            for episode in range(total):
                share, rules, lr = self.stage(episode)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                pool_games = round(share * config.games)
                experience, scalars = learner.meta_episode(
                    rules, pool_games, config.games - pool_games, generator
                )
                statistics = learner.learn(experience, optimizer)
                scalars["meta/lambda"] = share
                scalars.update({f"ppo/{name}": value for name, value in statistics.items()})
                history.append(scalars)
                monitor.update(episode + 1, scalars)
        finally:
            monitor.close()
        self.learner = learner
        modules = [
            {name: value.detach().cpu() for name, value in module.state_dict().items()}
            for module in learner.modules()
        ]
        return {"learner": type(learner).__name__, "modules": modules, "history": history}

    def load(self, payload: dict[str, Any], game: Game) -> None:
        learner = self.build_meta_learner(game)
        if payload.get("learner") != type(learner).__name__:
            raise ConfigError(f"{self.name}: the artifact is not a meta-policy for {game.name}")
        for module, weights in zip(learner.modules(), payload["modules"], strict=True):
            module.load_state_dict(weights)
        self.learner = learner

    # --- playing --------------------------------------------------------------------------

    def init(self, game: Game, player: int, seeds: int, generator: torch.Generator) -> MFOSState:
        self.require_artifact(game)
        learner, optimizer, experience = self.learner, None, None
        if self.config.keep_training:  # a private copy, so other matches see the artifact
            learner = copy.deepcopy(learner)
            parameters = [p for module in learner.modules() for p in module.parameters()]
            optimizer = torch.optim.Adam(parameters, lr=self.config.lr)
            experience = learner.new_experience()
        model = OpponentModel(game.default_family())
        params = learner.family.init(seeds, generator)
        return MFOSState(params, player, generator, learner, model, optimizer, experience)

    def policy(self, state: MFOSState) -> Policy:
        return state.learner.family.build(state.params)

    def update(self, state: MFOSState, view: MatchView) -> MFOSState:
        """In-context adaptation; with `keep_training`, PPO on the last `meta_steps`
        iterations of this match each time they are complete."""
        params = state.learner.adapt(state, view)
        experience = state.experience
        if state.optimizer is not None and len(experience) >= self.config.meta_steps:
            episode, experience = experience.split(self.config.meta_steps)
            state.learner.learn(episode, state.optimizer)
        return replace(state, params=params, experience=experience)
