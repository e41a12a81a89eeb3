"""The contracts a new algorithm or game implements, and what they exchange.

algorithm.py   Algorithm (init, policy, update), MatchView, Outcome, TrainingContext
game.py        Game (exact values, roll-outs, DiCE objectives), Trajectories
policies.py    tabular, network and black-box policies and their families
config.py      validated configuration dataclasses built from YAML
errors.py      the one-line errors every command prints
"""
