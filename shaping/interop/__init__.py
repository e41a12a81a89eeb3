"""Bridges between the zoo and the wider ecosystem.

* `shaping.interop.axelrod`: strategies of the Axelrod library as zoo policies, and payoff
  conversion between the zoo's and Axelrod's conventions.
* `shaping.interop.envs`: any zoo game as a PettingZoo `ParallelEnv` and an RLlib
  `MultiAgentEnv`.
* `shaping.interop.rllib`: RLlib's PPO learner (module, loss, optimiser) behind the zoo's
  algorithm contract (used by algorithms/rllib_ppo.py).

Each module imports its library lazily, inside functions: importing the zoo imports none of
them, and each is an optional extra (`pip install '.[axelrod]'`, `'.[pettingzoo]'`,
`'.[rllib]'`; `make install` installs all three).
"""
