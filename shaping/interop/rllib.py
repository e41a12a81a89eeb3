"""RLlib's PPO learner behind the zoo's algorithm contract (Liang et al. 2018, RLlib; PPO:
Schulman et al. 2017).

How RLlib's pieces meet the zoo's match loop:

* One RLlib `Learner` (PPO, torch, built locally by `PPOConfig.build_learner`: no Ray cluster,
  no env runners) holds one RLModule per seed (module ids `seed_0` ... `seed_{S-1}`), each
  with its own optimiser: S independent PPO learners, one RLlib object. The modules are
  RLlib's default PPO actor-critic (`DefaultPPOTorchRLModule`, RLlib's catalog builds it from
  `fcnet_hiddens` / `fcnet_activation`).
* Acting (`RLlibPolicy`): each module's `forward_exploration` gives the action logits of its
  seed's episodes; actions are sampled with the zoo's generator, so a match is reproducible
  from its seed. To the co-player the policy is a black box.
* Learning: one zoo iteration = one RLlib training step (`Learner.update`: `num_epochs`
  passes of shuffled minibatches through PPO's clipped surrogate, value and entropy losses
  and the adaptive KL penalty, then RLlib's KL-coefficient update) on the B episodes per
  seed that the match rolled out in that iteration. The behaviour logits and log-probs, the
  values and GAE(γ, λ) advantages and value targets (standardised per seed, as RLlib's
  `GeneralAdvantageEstimation` connector does) are computed here on the whole [T, S, B]
  batch at once and handed to `update` as a batch: RLlib's learner connector would build the
  same columns one time step at a time in Python, which at the zoo's sizes (S x 64 episodes
  x 100 steps per iteration) costs more than the training itself. Episodes end by
  truncation at the game's horizon, bootstrapped from the value of the final observation.

Everything RLlib does with global random state (module initialisation, minibatch shuffling)
runs under seeds drawn from the player's generator, with the global state restored after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from shaping.contracts.errors import UnsupportedError
from shaping.contracts.game import Game, Trajectories
from shaping.contracts.policies import BlackBoxPolicy, sample_categorical
from shaping.interop.episode import GameEpisode
from shaping.numerics.rl import generalized_advantages, normalized


@dataclass(frozen=True)
class RLlibPPOSettings:
    """The RLlib `PPOConfig` values the zoo sets (names as in RLlib; algorithms/rllib_ppo.py's
    Config has the same fields, validated)."""

    lr: float
    num_epochs: int
    minibatch_size: int
    clip_param: float
    vf_clip_param: float
    lambda_: float
    entropy_coeff: float
    vf_loss_coeff: float
    kl_coeff: float
    kl_target: float
    grad_clip: float | None
    hidden: tuple[int, ...]
    activation: str


@contextlib.contextmanager
def seeded_global_rngs(seed: int) -> Iterator[None]:
    """torch's and numpy's global generators seeded with `seed`, restored afterwards."""
    numpy_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)


def _draw_seed(generator: torch.Generator) -> int:
    return int(torch.randint(2**31 - 1, (1,), generator=generator, device=generator.device))


class RLlibLearners:
    """S independent RLlib PPO learners (one module and optimiser per seed) for one seat."""

    def __init__(
        self, game: Game, seeds: int, settings: RLlibPPOSettings, generator: torch.Generator
    ) -> None:
        try:
            from ray.rllib.algorithms.ppo import PPOConfig
        except ImportError:
            raise UnsupportedError(
                "RLlib is not installed (pip install '.[rllib]'; make install does)"
            ) from None
        self.game = game
        self.seeds = seeds
        self.generator = generator
        self.spec = game.observation_spec()
        episode = GameEpisode(game, one_hot=True)
        spaces = (episode.observation_space(), episode.action_space())
        self.module_ids = [f"seed_{k}" for k in range(seeds)]
        config = (
            PPOConfig()
            .environment(observation_space=spaces[0], action_space=spaces[1])
            .framework("torch")
            .learners(num_learners=0)
            .env_runners(num_env_runners=0)
            .multi_agent(
                # a list, not a set: RLlib builds the modules in this order, and a set's
                # order varies by process (string hashing), which would swap seeds' networks
                policies=list(self.module_ids),
                policy_mapping_fn=lambda agent_id, episode, **kwargs: agent_id,
            )
            .rl_module(
                model_config={
                    "fcnet_hiddens": list(settings.hidden),
                    "fcnet_activation": settings.activation,
                }
            )
            .training(
                gamma=game.gamma,
                lr=settings.lr,
                num_epochs=settings.num_epochs,
                minibatch_size=settings.minibatch_size,
                clip_param=settings.clip_param,
                vf_clip_param=settings.vf_clip_param,
                lambda_=settings.lambda_,
                entropy_coeff=settings.entropy_coeff,
                vf_loss_coeff=settings.vf_loss_coeff,
                kl_coeff=settings.kl_coeff,
                kl_target=settings.kl_target,
                grad_clip=settings.grad_clip,
            )
        )
        self.config = config
        self.settings = settings
        with seeded_global_rngs(_draw_seed(generator)):
            self.learner = config.build_learner(
                spaces={module_id: spaces for module_id in self.module_ids}
            )
        self.modules = [self.learner.module[module_id] for module_id in self.module_ids]
        self.steps_sampled = 0

    def encode(self, observations: Tensor) -> Tensor:
        """Zoo observations [..., S, B(, features)] as RLlib inputs on the CPU (one-hot for
        index observations)."""
        observations = observations.cpu()
        if self.spec.categories is not None:
            return torch.nn.functional.one_hot(observations, self.spec.categories).float()
        return observations.float()

    @torch.no_grad()
    def logits(self, inputs: Tensor) -> Tensor:
        """Action logits [S, N, A] of inputs [S, N, features], one module per seed."""
        from ray.rllib.core.columns import Columns

        # `_forward_exploration` is what the public `forward_exploration` runs after switching
        # the module to eval mode and back, a walk over every submodule (about 1 ms) on each
        # call that changes nothing for RLlib's default MLPs (no dropout, no batch norm) and
        # would cost more than the rest of acting, which calls this once per time step
        return torch.stack(
            [
                module._forward_exploration({Columns.OBS: inputs[k]})[Columns.ACTION_DIST_INPUTS]
                for k, module in enumerate(self.modules)
            ]
        )

    @torch.no_grad()
    def values(self, inputs: Tensor) -> Tensor:
        """State values [S, N] of inputs [S, N, features]."""
        from ray.rllib.core.columns import Columns

        return torch.stack(
            [
                module.compute_values({Columns.OBS: inputs[k]})
                for k, module in enumerate(self.modules)
            ]
        )

    def policy(self) -> RLlibPolicy:
        return RLlibPolicy(self)

    def update(self, trajectories: Trajectories) -> dict[str, Any]:
        """One RLlib PPO training step per seed on this iteration's episodes (own view)."""
        from ray.rllib.core.columns import Columns
        from ray.rllib.evaluation.postprocessing import Postprocessing
        from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
        from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

        if trajectories.final_observations is None:
            raise UnsupportedError("rllib_ppo needs the episodes' final observations")
        steps, seeds, batch = trajectories.actions[0].shape
        # [S, B, T, ...]: each seed's episodes, time inside
        inputs = self.encode(trajectories.observations[0]).permute(1, 2, 0, 3)
        final = self.encode(trajectories.final_observations[0])
        actions = trajectories.actions[0].cpu().permute(1, 2, 0)
        rewards = trajectories.rewards[0].cpu().float()
        flat_inputs = inputs.reshape(seeds, batch * steps, -1)
        logits = self.logits(flat_inputs)
        log_probs = torch.log_softmax(logits, -1).gather(-1, actions.reshape(seeds, -1, 1))[..., 0]
        values = self.values(flat_inputs).reshape(seeds, batch, steps).permute(2, 0, 1)
        last_values = self.values(final)
        advantages, targets = generalized_advantages(
            rewards, values, self.game.gamma, self.settings.lambda_, last_value=last_values
        )
        advantages = normalized(advantages, dim=(0, 2))

        def per_seed(x: Tensor) -> Tensor:  # [T, S, B] -> [S, B * T], episodes in order
            return x.permute(1, 2, 0).reshape(seeds, -1)

        advantages, targets = per_seed(advantages), per_seed(targets)
        module_batches = {
            module_id: SampleBatch(
                {
                    Columns.OBS: flat_inputs[k].numpy(),
                    Columns.ACTIONS: actions[k].reshape(-1).numpy(),
                    Columns.ACTION_LOGP: log_probs[k].numpy(),
                    Columns.ACTION_DIST_INPUTS: logits[k].numpy(),
                    Postprocessing.ADVANTAGES: advantages[k].numpy(),
                    Postprocessing.VALUE_TARGETS: targets[k].numpy(),
                }
            )
            for k, module_id in enumerate(self.module_ids)
        }
        self.steps_sampled += steps * batch
        with seeded_global_rngs(_draw_seed(self.generator)):
            return self.learner.update(
                batch=MultiAgentBatch(module_batches, env_steps=steps * batch),
                timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: self.steps_sampled},
                num_epochs=self.settings.num_epochs,
                minibatch_size=self.settings.minibatch_size,
                shuffle_batch_per_epoch=self.config.shuffle_batch_per_epoch,
            )


class RLlibPolicy(BlackBoxPolicy):
    """Acts with the RLlib modules of `learners` (one per seed) as they are now.

    Where observations are indices (the matrix games' five own-view states) the modules'
    action probabilities are computed once for every index, [S, categories, A], and looked
    up at each step: the same numbers as a forward pass per step, without S module calls per
    time step."""

    def __init__(self, learners: RLlibLearners) -> None:
        self.learners = learners
        categories = learners.spec.categories
        self.table: Tensor | None = None
        if categories is not None:
            every_index = learners.encode(torch.arange(categories)).expand(learners.seeds, -1, -1)
            self.table = torch.softmax(learners.logits(every_index), -1)

    def act(self, observation: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        if self.table is None:
            probabilities = torch.softmax(
                self.learners.logits(self.learners.encode(observation)), -1
            )
        else:
            index = observation.cpu().unsqueeze(-1).expand(-1, -1, self.table.shape[-1])
            probabilities = self.table.gather(1, index)
        sampled = sample_categorical(probabilities.to(generator.device), generator)
        return sampled.to(observation.device), None
