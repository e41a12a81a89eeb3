"""Predictive sequence models of interaction histories, and Monte-Carlo roll-outs inside them.

A player's history is x≤t = (o_0; a_0, r_0, o_1; ...; a_t-1, r_t-1, o_t) (Weis et al. 2026,
arXiv 2602.16301, Sec. 2 and App. A.3.1). Observations and actions are one-hot tokens, rewards
scalars; each modality has its own linear projection into one shared embedding space, and each
round enters a GRU as the sum of its embeddings, (o_t, a_t-1, r_t-1). Swish is applied to the
GRU's output z_t and three linear heads decode it into the paper's factorisation:

    p(a_t | x≤t)                     categorical over actions (the model of the player itself)
    p(o_t+1 | x≤t, a_t)              categorical over observations, one read-out per own action
    p(r_t | x≤t, a_t, o_t+1)         Gaussian with fixed variance, a mean per (a_t, o_t+1)

Reading a round in one GRU step and conditioning the observation and reward heads on the
action (and the observation) they follow gives exactly the conditionals of the paper's
interleaved token sequence with half the recurrent steps, which is most of the cost of PPI's
training and of its roll-outs.

Observations of any game with discrete observations are mapped to tokens by an
`ObservationVocabulary` discovered from play (IPD states 0..4, the coin game's egocentric grid
configurations), so the same model serves every game.

The model is a plain `torch.nn` module trained with the fused GRU on whole sequences; acting
and roll-outs run the same equations step by step on *stacked* parameters [M, ...] (M = 1 for
one shared model, M = seeds when every seed keeps its own fine-tuned copy), with every row of
[seeds x episodes x candidate actions x roll-outs] in one batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import Game, Trajectories
from shaping.contracts.policies import BlackBoxPolicy, FunctionPolicy

Params = dict[str, Tensor]

# --- observation tokens ---------------------------------------------------------------------

#: binary observation vectors are hashed into int64 keys, one bit per entry
MAX_BINARY_FEATURES = 62


def observation_keys(observation: Tensor) -> Tensor:
    """An int64 key per observation: the value of integer observations [...], or the bits of
    binary (one-hot / multi-hot) vectors [..., F] with F <= 62."""
    if not observation.dtype.is_floating_point:
        return observation.long()
    features = observation.shape[-1]
    if features > MAX_BINARY_FEATURES:
        raise UnsupportedError(
            f"observations of {features} features cannot be tokenised (at most "
            f"{MAX_BINARY_FEATURES} binary features)"
        )
    bits = observation.round().long()
    if bool(((bits != 0) & (bits != 1)).any()) or not torch.equal(
        bits.to(observation), observation
    ):
        raise UnsupportedError("only integer or binary (one-hot) observations can be tokenised")
    powers = 2 ** torch.arange(features, device=observation.device, dtype=torch.long)
    return (bits * powers).sum(-1)


class ObservationVocabulary:
    """Maps observations to tokens 0..size-1; token `size - 1` stands for any observation never
    seen while the vocabulary was built."""

    def __init__(self, keys: Tensor) -> None:
        self.keys = torch.unique(keys.flatten())  # sorted

    @classmethod
    def discover(cls, observations: list[Tensor]) -> ObservationVocabulary:
        """The vocabulary of every observation appearing in `observations`."""
        return cls(torch.cat([observation_keys(o).flatten() for o in observations]))

    @property
    def size(self) -> int:
        return len(self.keys) + 1

    @property
    def unknown(self) -> int:
        return len(self.keys)

    def tokens(self, observation: Tensor) -> Tensor:
        """Token of each observation, shape of the observation without its feature dim."""
        keys = observation_keys(observation)
        known = self.keys.to(keys.device)
        index = torch.searchsorted(known, keys).clamp_(max=len(known) - 1)
        return torch.where(known[index] == keys, index, torch.full_like(index, self.unknown))

    def state_dict(self) -> dict[str, Tensor]:
        return {"keys": self.keys.cpu()}

    @classmethod
    def from_state_dict(cls, state: dict[str, Tensor]) -> ObservationVocabulary:
        return cls(state["keys"])


def discover_vocabulary(
    game: Game, generator: torch.Generator, episodes: int = 256
) -> ObservationVocabulary:
    """Every observation that uniformly random play reaches in `episodes` episodes of `game`
    (both seats' views): with full-support play, every reachable observation."""

    def uniform(observation: Tensor) -> Tensor:
        shape = (*observation.shape[:2], game.num_actions)
        return torch.full(shape, 1.0 / game.num_actions, device=observation.device)

    with torch.no_grad():
        trajectories = game.rollout(
            (FunctionPolicy(uniform), FunctionPolicy(uniform)), 1, generator, batch=episodes
        )
    return ObservationVocabulary.discover(list(trajectories.observations))


class RandomTablePolicy(BlackBoxPolicy):
    """A co-player from the tabular pool: in each episode a fresh table maps every observation
    token to action probabilities drawn uniformly from the simplex (Dirichlet(1, ..., 1)).

    On the iterated matrix games the observation is the previous joint action in the player's
    own view, so these are exactly the memory-one agents of Weis et al. (2026, App. A.3.3) with
    P(cooperate | s0, CC, CD, DC, DD) ~ U(0, 1); on the coin game they are random reactive
    policies over its grid configurations. `uniform=True` plays uniformly random actions
    instead (the "no tabular agents" ablation's pretraining data, App. A.4.2).
    """

    def __init__(self, vocabulary: ObservationVocabulary, actions: int, uniform: bool = False):
        self.vocabulary = vocabulary
        self.actions = actions
        self.uniform = uniform
        self.table: Tensor | None = None

    def reset(self, seeds: int, batch: int, generator: torch.Generator) -> None:
        shape = (seeds, batch, self.vocabulary.size, self.actions)
        if self.uniform:
            self.table = torch.full(shape, 1.0 / self.actions, device=generator.device)
            return
        exponential = -torch.log1p(-torch.rand(shape, generator=generator, device=generator.device))
        self.table = exponential / exponential.sum(-1, keepdim=True)

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        tokens = self.vocabulary.tokens(observation)
        index = tokens[..., None, None].expand(*tokens.shape, 1, self.actions)
        probabilities = self.table.gather(-2, index).squeeze(-2)
        uniform = torch.rand((*tokens.shape, 1), generator=generator, device=tokens.device)
        return inverse_cdf(probabilities, uniform), None


def inverse_cdf(probabilities: Tensor, uniform: Tensor) -> Tensor:
    """Categorical samples from the last dim of `probabilities` given uniforms [..., 1]."""
    below = (probabilities.cumsum(-1) < uniform).sum(-1)
    return below.clamp_(max=probabilities.shape[-1] - 1)


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SequenceModelShape:
    observations: int  # vocabulary size
    actions: int
    embedding: int = 32
    hidden: int = 128


@dataclass
class RewardScale:
    """Rewards enter and leave the model standardised: (r - offset) / scale."""

    offset: float = 0.0
    scale: float = 1.0

    def normalise(self, reward: Tensor) -> Tensor:
        return (reward - self.offset) / self.scale

    def restore(self, normalised: Tensor) -> Tensor:
        return normalised * self.scale + self.offset


class SequenceModel(nn.Module):
    """Next-token predictor of (observation, action, reward) histories; see the module docs."""

    def __init__(self, shape: SequenceModelShape) -> None:
        super().__init__()
        self.shape = shape
        size, pairs = shape.embedding, shape.actions * shape.observations
        self.observation_projection = nn.Linear(shape.observations, size)
        self.action_projection = nn.Linear(shape.actions, size)
        self.reward_projection = nn.Linear(1, size)
        self.core = nn.GRU(size, shape.hidden, batch_first=True)
        self.action_head = nn.Linear(shape.hidden, shape.actions)
        self.observation_head = nn.Linear(shape.hidden, pairs)
        self.reward_head = nn.Linear(shape.hidden, pairs)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """PyTorch's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for linear
        layers and U(-1/sqrt(hidden), 1/sqrt(hidden)) for the GRU, drawn from `generator`."""
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    fan_in = module.in_features
                elif isinstance(module, nn.GRU):
                    fan_in = module.hidden_size
                else:
                    continue
                bound = 1.0 / math.sqrt(fan_in)
                for parameter in module.parameters(recurse=False):
                    noise = torch.rand(
                        parameter.shape, generator=generator, device=generator.device
                    )
                    parameter.copy_((2 * noise - 1) * bound)

    def forward(self, observations: Tensor, actions: Tensor, rewards: Tensor) -> dict[str, Tensor]:
        """Predictions along N episodes of T rounds: tokens [N, T], standardised rewards [N, T].

        Returns action_logits [N, T, A] (a_t), observation_logits [N, T-1, V] (o_t+1 given
        the a_t taken) and reward_mean [N, T-1] (r_t given a_t and o_t+1), for t < T-1 where
        the next observation is known.
        """
        shape = self.shape
        # a one-hot action through its projection; "no action yet" (t = 0) is the zero vector
        action_table = F.pad(self.action_projection.weight.T, (0, 0, 0, 1))
        previous_actions = F.pad(actions[:, :-1], (1, 0), value=shape.actions)
        previous_rewards = F.pad(rewards[:, :-1], (1, 0)).unsqueeze(-1)
        steps = (
            F.embedding(observations, self.observation_projection.weight.T)
            + F.embedding(previous_actions, action_table)
            + F.linear(previous_rewards, self.reward_projection.weight)
            + (
                self.observation_projection.bias
                + self.action_projection.bias
                + self.reward_projection.bias
            )
        )
        features = F.silu(self.core(steps)[0])
        known = features[:, :-1]
        taken = actions[:, :-1].unsqueeze(-1)
        observation_logits = self.observation_head(known).unflatten(-1, (shape.actions, -1))
        observation_logits = observation_logits.gather(
            2, taken.unsqueeze(-1).expand(-1, -1, 1, shape.observations)
        ).squeeze(2)
        pair = taken.squeeze(-1) * shape.observations + observations[:, 1:]
        reward_mean = (known * self.reward_head.weight[pair]).sum(-1) + self.reward_head.bias[pair]
        return {
            "action_logits": self.action_head(features),
            "observation_logits": observation_logits,
            "reward_mean": reward_mean,
        }

    def stacked(self) -> Params:
        """This model's parameters as a stack of one, [1, ...] (views, no copy)."""
        return {name: p.detach().unsqueeze(0) for name, p in self.named_parameters()}


def stack_parameters(models: list[SequenceModel]) -> Params:
    """Parameters of several models of one shape, stacked [M, ...] (detached)."""
    return {
        name: torch.stack([dict(m.named_parameters())[name].detach() for m in models])
        for name, _ in models[0].named_parameters()
    }


class SteppedModel:
    """The model run one round at a time on stacked parameters [M, ...], for acting and
    roll-outs over many rows at once: hidden states are [M, R, H].

    One-hot tokens through their linear projections and then through the GRU's input weights
    are table lookups, so the input half of every GRU gate is precomputed per token (and per
    unit of reward): a step costs one matrix product, with the hidden state. The three heads
    are one matrix product too.
    """

    def __init__(self, params: Params) -> None:
        input_weight = params["core.weight_ih_l0"].transpose(1, 2)  # [M, E, 3H]
        observation_rows = params["observation_projection.weight"].transpose(1, 2)  # [M, V, E]
        action_rows = F.pad(params["action_projection.weight"].transpose(1, 2), (0, 0, 0, 1))
        self.observation_gates = torch.bmm(observation_rows, input_weight)  # [M, V, 3H]
        self.action_gates = torch.bmm(action_rows, input_weight)  # [M, A + 1, 3H], last: none
        self.reward_gates = torch.bmm(
            params["reward_projection.weight"].transpose(1, 2), input_weight
        )  # [M, 1, 3H]
        biases = (
            params["observation_projection.bias"]
            + params["action_projection.bias"]
            + params["reward_projection.bias"]
        )
        self.constant_gates = torch.baddbmm(
            params["core.bias_ih_l0"].unsqueeze(1), biases.unsqueeze(1), input_weight
        )  # [M, 1, 3H]
        self.hidden_weight = params["core.weight_hh_l0"].transpose(1, 2)
        self.hidden_bias = params["core.bias_hh_l0"].unsqueeze(1)
        self.actions = params["action_head.weight"].shape[1]
        self.observations = observation_rows.shape[1]
        heads = ("action_head", "observation_head", "reward_head")
        self.head_weight = torch.cat([params[f"{h}.weight"] for h in heads], 1).transpose(1, 2)
        self.head_bias = torch.cat([params[f"{h}.bias"] for h in heads], 1).unsqueeze(1)
        self.models = input_weight.shape[0]
        self.hidden_size = self.hidden_weight.shape[1]

    @property
    def no_action(self) -> int:
        """The action token of round 0, before any action."""
        return self.actions

    def initial_hidden(self, rows: int, device: torch.device | str) -> Tensor:
        return torch.zeros(self.models, rows, self.hidden_size, device=device)

    @staticmethod
    def _lookup(table: Tensor, tokens: Tensor) -> Tensor:
        """table [M, K, 3H] at tokens [M, R] -> [M, R, 3H]."""
        if table.shape[0] == 1:
            return table[0].index_select(0, tokens[0].flatten()).view(*tokens.shape, -1)
        return table[torch.arange(table.shape[0], device=tokens.device).unsqueeze(1), tokens]

    def step(
        self, hidden: Tensor, observation: Tensor, previous_action: Tensor, previous_reward: Tensor
    ) -> Tensor:
        """Read one round (o_t, a_t-1, standardised r_t-1), each [M, R]: the GRU step of
        PyTorch's equations (as `nn.GRU`)."""
        gates_x = torch.baddbmm(
            self._lookup(self.observation_gates, observation)
            + self._lookup(self.action_gates, previous_action)
            + self.constant_gates,
            previous_reward.unsqueeze(-1),
            self.reward_gates,
        )
        size = self.hidden_size
        gates_h = torch.baddbmm(self.hidden_bias, hidden, self.hidden_weight)
        reset, update = torch.sigmoid(gates_x[..., : 2 * size] + gates_h[..., : 2 * size]).chunk(
            2, dim=-1
        )
        candidate = torch.tanh(
            torch.addcmul(gates_x[..., 2 * size :], reset, gates_h[..., 2 * size :])
        )
        return torch.lerp(candidate, hidden, update)

    def heads(self, hidden: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """From hidden states [M, R, H]: action logits [M, R, A], next-observation logits for
        every own action [M, R, A, V], and standardised mean rewards for every (action, next
        observation) [M, R, A, V]."""
        out = torch.baddbmm(self.head_bias, F.silu(hidden), self.head_weight)
        actions, pairs = self.actions, self.actions * self.observations
        action_logits = out[..., :actions]
        observation_logits = out[..., actions : actions + pairs]
        reward_means = out[..., actions + pairs :]
        split = (actions, self.observations)
        return (
            action_logits,
            observation_logits.unflatten(-1, split),
            reward_means.unflatten(-1, split),
        )


def sample_logits(logits: Tensor, uniform: Tensor) -> Tensor:
    """Categorical samples from unnormalised log-probabilities [..., K] given uniforms [..., 1]."""
    weights = torch.exp(logits - logits.amax(-1, keepdim=True)).cumsum_(-1)
    below = (weights < uniform * weights[..., -1:]).sum(-1)
    return below.clamp_(max=logits.shape[-1] - 1)


def _select(table: Tensor, index: Tensor) -> Tensor:
    """table [..., K, X] at index [...] -> [..., X]."""
    expanded = index[..., None, None].expand(*index.shape, 1, table.shape[-1])
    return table.gather(-2, expanded).squeeze(-2)


def rollout_action_values(
    model: SteppedModel,
    hidden: Tensor,
    actions: int,
    rounds: int,
    samples: int,
    generator: torch.Generator,
    reward_scale: RewardScale,
    discount: float = 1.0,
) -> Tensor:
    """Monte-Carlo action values inside the model, Q̂(x≤t, a) = mean over `samples` imagined
    futures of Σ_k<rounds discount^k r̂_t+k, for every candidate action a, [M, R, A].

    `hidden` [M, R, H] is the model state after reading x≤t. Each imagined round takes the
    action, samples the next observation from the model, reads the predicted mean reward of
    that (action, observation) (the Gaussian head's mean: an unbiased, lower-variance stand-in
    for a sampled reward), and the model reads the round and samples the player's next action
    from its own action head (the prior p, whose Q PPI estimates). All candidate actions and
    samples of all rows run in one batch, and every candidate action sees the same random
    numbers (common random numbers), so the differences between actions that the policy uses
    are estimated with less noise.
    """
    models, rows, size = hidden.shape
    device = hidden.device
    shape = (models, rows, actions, samples)
    # one uniform per (round, draw, row, sample), shared by every candidate action
    uniforms = torch.rand((rounds, 2, models, rows, 1, samples), generator=generator, device=device)
    uniforms = uniforms.expand(rounds, 2, *shape).reshape(rounds, 2, models, -1, 1)
    action = torch.arange(actions, device=device)[None, None, :, None].expand(shape)
    action = action.reshape(models, -1)
    # the first round's heads are the same for every copy of a row: read them once
    _, observation_logits, reward_means = model.heads(hidden)
    observation_logits = (
        observation_logits[:, :, :, None].expand(*shape, -1).reshape(models, -1, model.observations)
    )
    reward_means = (
        reward_means[:, :, :, None].expand(*shape, -1).reshape(models, -1, model.observations)
    )
    state = hidden[:, :, None, None, :].expand(*shape, size).reshape(models, -1, size)
    total = torch.zeros(models, rows * actions * samples, device=device)
    for step in range(rounds):
        if step > 0:
            action_logits, all_observations, all_rewards = model.heads(state)
            action = sample_logits(action_logits, uniforms[step - 1, 1])
            observation_logits = _select(all_observations, action)
            reward_means = _select(all_rewards, action)
        observation = sample_logits(observation_logits, uniforms[step, 0])
        reward = reward_means.gather(-1, observation.unsqueeze(-1)).squeeze(-1)
        total.add_(reward, alpha=discount**step)
        if step + 1 < rounds:
            state = model.step(state, observation, action, reward)
    weight_sum = sum(discount**step for step in range(rounds))
    values = total * reward_scale.scale + weight_sum * reward_scale.offset
    return values.reshape(shape).mean(-1)


# --- data and training ----------------------------------------------------------------------


@dataclass
class Histories:
    """Tokenised single-player histories: observations and actions [N, T] (int64), raw
    rewards [N, T] (float32)."""

    observations: Tensor
    actions: Tensor
    rewards: Tensor

    def __len__(self) -> int:
        return self.actions.shape[0]

    @staticmethod
    def concatenate(parts: list[Histories]) -> Histories:
        return Histories(
            torch.cat([p.observations for p in parts]),
            torch.cat([p.actions for p in parts]),
            torch.cat([p.rewards for p in parts]),
        )

    def subset(self, index: Tensor) -> Histories:
        return Histories(self.observations[index], self.actions[index], self.rewards[index])

    def batches(self, size: int, generator: torch.Generator) -> Iterator[Histories]:
        """Shuffled minibatches (the last one may be smaller)."""
        order = torch.randperm(len(self), generator=generator, device=generator.device)
        for start in range(0, len(self), size):
            yield self.subset(order[start : start + size].to(self.actions.device))


@dataclass(frozen=True)
class LossWeights:
    action: float = 1.0
    observation: float = 1.0
    reward: float = 1.0


def prediction_losses(
    model: SequenceModel, histories: Histories, reward_scale: RewardScale
) -> dict[str, Tensor]:
    """Mean negative log-likelihood per predicted token, by modality (the Gaussian reward NLL
    with unit variance on the standardised scale, up to its constant: ½ (r - r̂)²)."""
    rewards = reward_scale.normalise(histories.rewards)
    predicted = model(histories.observations, histories.actions, rewards)
    return {
        "action": F.cross_entropy(
            predicted["action_logits"].flatten(0, 1), histories.actions.flatten()
        ),
        "observation": F.cross_entropy(
            predicted["observation_logits"].flatten(0, 1), histories.observations[:, 1:].flatten()
        ),
        "reward": 0.5 * (predicted["reward_mean"] - rewards[:, :-1]).square().mean(),
    }


@dataclass(frozen=True)
class FitSettings:
    """AdamW on the weighted next-token NLL (Weis et al. 2026, App. A.3.1, Eq. 2)."""

    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-4
    weight_decay: float = 1e-2
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    weights: LossWeights = LossWeights()


def fit(
    model: SequenceModel,
    histories: Histories,
    settings: FitSettings,
    reward_scale: RewardScale,
    generator: torch.Generator,
) -> list[dict[str, float]]:
    """Train `model` in place on `histories`; returns the mean losses of every epoch."""
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        betas=settings.betas,
    )
    weights = settings.weights
    history = []
    for _ in range(settings.epochs):
        sums = {"action": 0.0, "observation": 0.0, "reward": 0.0, "total": 0.0}
        for batch in histories.batches(settings.batch_size, generator):
            losses = prediction_losses(model, batch, reward_scale)
            total = (
                weights.action * losses["action"]
                + weights.observation * losses["observation"]
                + weights.reward * losses["reward"]
            )
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            optimizer.step()
            share = len(batch) / len(histories)
            for name, value in (*losses.items(), ("total", total)):
                sums[name] += float(value.detach()) * share
        history.append(sums)
    return history


def histories_from(
    trajectories: Trajectories, seat: int, vocabulary: ObservationVocabulary
) -> Histories:
    """`seat`'s own view of sampled episodes [T, S, B, ...] as S·B tokenised histories."""

    def rows(x: Tensor) -> Tensor:
        return x.flatten(1, 2).transpose(0, 1).contiguous()

    return Histories(
        rows(vocabulary.tokens(trajectories.observations[seat])),
        rows(trajectories.actions[seat].long()),
        rows(trajectories.rewards[seat].float()),
    )
