"""Opponent modelling: a parametric estimate of the co-player's policy.

When the opponent's parameters are visible (white-box algorithm, parametric opponent) the
estimate is exact. Otherwise it is fitted from the opponent's observed behaviour, as in the
LOLA paper's opponent-modelling variant (LOLA-OM, Foerster et al. 2018, Sec. 3.3):

* memory-one policies (matrix games): the maximum a-posteriori table under a Beta(α, α) prior
  on P(action 0 | state), from action counts in the opponent's own-view states;
* network policies (coin game): behaviour cloning, i.e. maximising the log-likelihood of the
  opponent's actions given its observations, warm-started from the previous estimate.

The estimate is a policy of a family the learner knows, so shaping algorithms can look ahead
on it exactly as on a white-box opponent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import Tensor

from shaping.contracts.algorithm import MatchView
from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import Trajectories
from shaping.contracts.policies import MEMORY_ONE_STATES, NetworkFamily, PolicyFamily, TabularFamily
from shaping.numerics.optim import Ascent


def fit_memory_one(observations: Tensor, actions: Tensor, prior: float = 1.0) -> Tensor:
    """MAP memory-one logits [S, 5] from own-view states and actions [T, S, B].

    P(action 0 | s) = (n0(s) + α) / (n(s) + 2α); unvisited states get P = 1/2 (logit 0).
    """
    states = len(MEMORY_ONE_STATES)
    one_hot = torch.nn.functional.one_hot(observations, states).to(torch.float32)  # [T,S,B,5]
    visits = one_hot.sum(dim=(0, 2))  # [S, 5]
    zeros = (one_hot * (actions == 0).unsqueeze(-1)).sum(dim=(0, 2))
    probability = (zeros + prior) / (visits + 2 * prior)
    return torch.log(probability) - torch.log1p(-probability)


def fit_by_behaviour_cloning(
    family: NetworkFamily,
    observations: Tensor,
    actions: Tensor,
    start: Tensor,
    steps: int = 50,
    lr: float = 0.01,
) -> Tensor:
    """Network parameters [S, d] maximising log π(actions | observations) [T, S, B, ...],
    by `steps` Adam steps from `start` (each seed fitted independently)."""
    ascent = Ascent("adam", lr)
    params = start.detach()
    optimizer = ascent.init(params)
    for _ in range(steps):
        leaf = params.requires_grad_(True)
        likelihood = family.build(leaf).log_prob(observations, actions).mean(dim=(0, 2))
        (gradient,) = torch.autograd.grad(likelihood.sum(), leaf)
        params, optimizer = ascent.step(leaf, gradient, optimizer)
    return params


@dataclass(frozen=True)
class OpponentModelConfig:
    """How to fit the opponent when it is a black box."""

    prior: float = 1.0  # Beta(α, α) pseudo-counts of the memory-one estimate
    cloning_steps: int = 50  # Adam steps of behaviour cloning per iteration
    cloning_lr: float = 0.01


class OpponentEstimate(NamedTuple):
    """The opponent as a learner sees it this iteration, and the model to keep for the next."""

    family: PolicyFamily
    params: Tensor
    #: the successor model (behaviour cloning warm-starts from this estimate next iteration)
    model: OpponentModel


@dataclass(frozen=True)
class OpponentModel:
    """A learner's current estimate of its opponent: a value kept in the algorithm's match
    state and replaced, never changed, every iteration (a state is never mutated by `update`).

    model = OpponentModel(game.default_family())
    estimate = model.estimate(view)   # exact when visible, fitted otherwise
    state = State(..., estimate.model)
    """

    family: PolicyFamily
    config: OpponentModelConfig = OpponentModelConfig()
    #: the last fitted network parameters [S, d], the next fit's starting point
    warm_start: Tensor | None = None

    def estimate(self, view: MatchView) -> OpponentEstimate:
        """The opponent's own parameters when visible and compatible with this model's
        family, else the fit to this iteration's episodes."""
        if view.sees_opponent and view.opponent_family.compatible(self.family):
            return OpponentEstimate(view.opponent_family, view.opponent_params, self)
        return self.fit(view.trajectories)

    def fit(self, trajectories: Trajectories) -> OpponentEstimate:
        """Fit the opponent's policy from episodes seen from this player's side (own first)."""
        observations, actions = trajectories.observations[1], trajectories.actions[1]
        if isinstance(self.family, TabularFamily):
            params = fit_memory_one(observations, actions, self.config.prior)
        elif isinstance(self.family, NetworkFamily):
            start = self.warm_start
            if start is None or start.shape[0] != actions.shape[1]:
                generator = torch.Generator(device=actions.device).manual_seed(0)
                start = self.family.init(actions.shape[1], generator)
            params = fit_by_behaviour_cloning(
                self.family,
                observations,
                actions,
                start,
                self.config.cloning_steps,
                self.config.cloning_lr,
            )
        else:
            raise UnsupportedError(f"cannot fit an opponent model of family {self.family!r}")
        params = params.detach()
        warm_start = params if isinstance(self.family, NetworkFamily) else None
        return OpponentEstimate(self.family, params, replace(self, warm_start=warm_start))
