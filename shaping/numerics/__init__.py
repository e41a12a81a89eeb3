"""Numerics shared by algorithm families: estimators and optimisation.

dice.py        DiCE objectives and loaded-DiCE returns
rl.py          discounted returns, GAE, normalisation, the PPO objective
estimators.py  exact or sampled own-value gradients
optim.py       gradient ascent with the zoo's optimisers, batched over seeds
nets.py        seed-batched networks
"""
