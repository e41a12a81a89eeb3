"""The round-robin tournament: profiles, the result store, executors, the leaderboard.

    profile.py   zoo_configs/profiles/*.yaml: games, seeds, iterations, hyperparameter overrides
    plan.py      which matches a tournament plays, their identities, keys and seeds
    store.py     the SQLite result store (one transaction per finished match)
    execute.py   the match task and the local / process-pool / Ray executors
    run.py       the tournament loop: plan, skip what is stored, play the rest, report
    report.py    the leaderboard (Markdown, CSV, JSON, PNG heatmaps, HTML) from the store alone
    rankings.py  the overall score (standardised, bootstrap interval, ties); meta-game rankings
    metagame.py  α-Rank (OpenSpiel), Nash averaging (scipy + cvxpy), replicator dynamics
    pictures.py  which figures each report section shows, from the board and stored curves
    figures.py   the figures themselves: heatmaps, strip plots, response graphs
    curves.py    TensorBoard learning curves of every match
    stats.py     means and Student-t intervals over seeds

No algorithm or game imports these modules (the match loop uses only `stats`), so editing the
tournament or the report leaves every code version (`shaping.engine.sources`), and so every stored
match and pretrained artifact, valid.
"""
