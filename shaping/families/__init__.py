"""The machinery of each algorithm family, shared by the algorithms of algorithms/.

shaping_learner.py      look-ahead learners: LOLA, LOLA-DiCE, LookAhead, SOS
joint_functions.py      learned functions of both players' parameters: COLA, MeVa
actor_critic.py         actor-critic learners of sampled games: LOQA, Advantage Alignment
metarl.py               the meta-games of M-FOS
simulated_coplayers.py  M-FOS's pool of simulated co-players (naive and LOLA learners)
sequence_model.py       PPI's history-conditioned sequence model
opponent_model.py       policies fitted to an opponent's observed play
"""
