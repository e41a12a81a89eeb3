"""The league: every entrant trained to its paper's behaviour, then frozen.

A league agent (`shaping.league.agent.LeagueAgent`) is an ordinary algorithm of the match
loop, so that training a league (one pretraining task per entrant and game), playing it
(cross-play matches between frozen agents) and probing it (a fresh learner trained against
each frozen agent) reuse the tournament's tasks, executors, store, report and provenance.
How much each entrant trains is declared in its YAML's `league:` block, and how a game's league
is played in games.yaml's `league:` block, so adding an entrant or a game changes no code here.
"""
