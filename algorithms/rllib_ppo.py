"""Off-the-shelf deep RL: an independent PPO learner whose policy network and training step
are RLlib's (Schulman et al. 2017, PPO; Liang et al. 2018, RLlib).

It is the naive learner of deep RL practice: it treats the co-player as part of the
environment, sees only its own observations, actions and rewards, and never looks ahead.
Per seed it owns one RLlib RLModule (RLlib's default PPO actor-critic MLP) and optimiser.
One zoo iteration is one RLlib PPO training step (`Learner.update`, `num_epochs` epochs of
minibatches of the clipped-surrogate loss, Schulman et al. 2017 eq. 7, plus value and
entropy terms and RLlib's adaptive KL penalty) on the episodes the match rolled out in that
iteration; advantages are GAE(γ, λ) (Schulman et al. 2016) with the game's γ. The bridge is
shaping/interop/rllib.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from shaping.contracts.algorithm import Algorithm, MatchView
from shaping.contracts.config import field, in_range, non_negative, positive
from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import Game
from shaping.interop.rllib import RLlibLearners, RLlibPolicy, RLlibPPOSettings


@dataclass(frozen=True)
class RLlibPPOConfig:
    lr: float = field(3e-3, check=positive, doc="Adam learning rate of RLlib's PPO learner")
    num_epochs: int = field(1, check=positive, doc="passes over each iteration's episodes")
    minibatch_size: int = field(1600, check=positive, doc="time steps per minibatch and seed")
    clip_param: float = field(0.3, check=positive, doc="PPO clip ε")
    vf_clip_param: float = field(10.0, check=positive, doc="clip of the value loss")
    lambda_: float = field(0.95, check=in_range(0.0, 1.0), doc="GAE λ")
    entropy_coeff: float = field(0.0, check=non_negative, doc="entropy bonus")
    vf_loss_coeff: float = field(1.0, check=non_negative, doc="weight of the value loss")
    kl_coeff: float = field(0.2, check=non_negative, doc="initial adaptive KL coefficient")
    kl_target: float = field(0.01, check=positive, doc="KL target of the adaptive coefficient")
    grad_clip: float | None = field(None, doc="global gradient-norm clip (none if null)")
    hidden: tuple[int, ...] = field((32,), doc="hidden layers of the policy and value MLPs")
    activation: str = field("tanh", doc="activation of the MLPs (an RLlib activation name)")

    def validate(self) -> str | None:
        if any(size <= 0 for size in self.hidden):
            return f"hidden: every layer size must be > 0, got {list(self.hidden)}"
        if self.grad_clip is not None and self.grad_clip <= 0:
            return f"grad_clip: must be > 0 or null, got {self.grad_clip!r}"
        if self.activation not in ("tanh", "relu", "silu", "elu", "linear"):
            return (
                f"activation: must be one of tanh, relu, silu, elu, linear, got {self.activation!r}"
            )
        return None


class RLlibPPO(Algorithm):
    """Independent PPO from RLlib, one learner per seed, trained on the match's episodes."""

    Config = RLlibPPOConfig
    assumptions = ("RLlib PPO on its own sampled episodes; opponent treated as the environment",)
    #: RLlib's learners own their networks and optimiser state and step them in place
    updates_in_place = True

    def supports(self, game: Game) -> str | None:
        try:
            game.observation_spec()
        except UnsupportedError as error:  # RLlib's modules need the observation space
            return str(error)
        return None

    def init(
        self, game: Game, player: int, seeds: int, generator: torch.Generator
    ) -> RLlibLearners:
        return RLlibLearners(game, seeds, RLlibPPOSettings(**asdict(self.config)), generator)

    def policy(self, state: RLlibLearners) -> RLlibPolicy:
        return state.policy()

    def update(self, state: RLlibLearners, view: MatchView) -> RLlibLearners:
        state.update(view.trajectories)
        return state
