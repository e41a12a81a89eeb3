"""Meta-game rankings: properties from the α-Rank and Nash-averaging papers and from the maths of
the replicator flow, on games whose answers are known by hand."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

from shaping.tournament.metagame import (
    MetagameDependencyError,
    alpha_rank,
    alpha_rank_two_population,
    complete_subtable,
    nash_average,
    replicator_dynamics,
)

RPS_NAMES = ["rock", "paper", "scissors"]
RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])

# "top" beats both others head to head (H[top, j] > H[j, top]); "mid" and "low" tie each other
DOMINANCE_NAMES = ["top", "mid", "low"]
DOMINANCE = np.array([[0.5, 1.0, 1.0], [0.0, 0.5, 0.5], [0.0, 0.5, 0.5]])


def edge_set(result) -> set[tuple[str, str]]:
    return {(edge.resident, edge.mutant) for edge in result.response_graph}


# ---------------------------------------------------------------------------------------------
# α-Rank


@pytest.mark.parametrize("alpha", [None, 0.5, 20.0, math.inf])
def test_alpha_rank_of_rock_paper_scissors_is_uniform_on_its_cycle(alpha):
    result = alpha_rank(RPS_NAMES, RPS, alpha=alpha)
    assert list(result.mass.values()) == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert set(result.rank.values()) == {1}
    # each mutant that beats the resident fixates: rock → paper → scissors → rock
    assert edge_set(result) == {("rock", "paper"), ("paper", "scissors"), ("scissors", "rock")}
    assert all(e.fixation_probability > result.neutral_fixation for e in result.response_graph)


def test_a_strictly_dominant_entrant_takes_the_mass_as_alpha_grows():
    finite = [
        alpha_rank(DOMINANCE_NAMES, DOMINANCE, alpha=a).mass["top"]
        for a in (0.003, 0.01, 0.03, 0.1)
    ]
    assert finite[0] < finite[1] < finite[2] < finite[3]
    assert finite[0] > 1 / 3
    assert alpha_rank(DOMINANCE_NAMES, DOMINANCE).mass["top"] > 1 - 1e-6  # the default sweep
    limit = alpha_rank(DOMINANCE_NAMES, DOMINANCE, alpha=math.inf)
    assert limit.infinite_alpha and limit.alpha is None
    assert limit.mass["top"] == pytest.approx(1.0, abs=1e-7)
    assert limit.ranking[0] == "top" and limit.rank == {"top": 1, "mid": 2, "low": 2}


@pytest.mark.parametrize("alpha", [None, 5.0, math.inf])
def test_response_graph_points_from_the_dominated_to_the_dominant(alpha):
    result = alpha_rank(DOMINANCE_NAMES, DOMINANCE, alpha=alpha)
    # mid and low tie head to head (fixation exactly 1/m), so neither invades the other
    assert edge_set(result) == {("mid", "top"), ("low", "top")}


def test_a_fixed_epsilon_leaves_mass_of_order_epsilon_off_the_sink():
    result = alpha_rank(DOMINANCE_NAMES, DOMINANCE, alpha=math.inf, inf_alpha_eps=0.01)
    assert result.inf_alpha_eps == 0.01
    assert 0.9 < result.mass["top"] < 1 - 1e-3


def test_the_default_sweep_does_not_depend_on_the_payoff_units():
    table = np.random.default_rng(4).normal(size=(5, 5))
    names = list("abcde")
    reference = alpha_rank(names, table)
    rescaled = alpha_rank(names, 1e-3 * table + 7.0)
    assert list(rescaled.mass.values()) == pytest.approx(list(reference.mass.values()), abs=1e-9)
    assert rescaled.alpha == pytest.approx(1e3 * reference.alpha)
    assert edge_set(rescaled) == edge_set(reference)


def test_a_sweep_ending_on_a_failing_alpha_backs_off(monkeypatch):
    # α = 1e6 on a unit-range table overflows exp(α·Δ): OpenSpiel's compute then refuses
    alpharank = pytest.importorskip("open_spiel.python.egt.alpharank")
    monkeypatch.setattr(alpharank, "sweep_pi_vs_alpha", lambda *args, **kwargs: (None, 1e6))
    result = alpha_rank(DOMINANCE_NAMES, DOMINANCE)
    assert result.alpha < 1e6
    assert sum(result.mass.values()) == pytest.approx(1.0)
    assert result.mass["top"] > 1 - 1e-6


def test_alpha_rank_refuses_bad_settings():
    with pytest.raises(ValueError, match="smaller alpha"):
        alpha_rank(DOMINANCE_NAMES, DOMINANCE, alpha=1e6)
    with pytest.raises(ValueError, match="inf_alpha_eps"):
        alpha_rank(DOMINANCE_NAMES, DOMINANCE, alpha=10.0, inf_alpha_eps=0.01)
    with pytest.raises(ValueError, match="alpha must be positive"):
        alpha_rank(DOMINANCE_NAMES, DOMINANCE, alpha=-1.0)
    with pytest.raises(ValueError, match="at least 2"):
        alpha_rank(DOMINANCE_NAMES, DOMINANCE, m=1)


# A bimatrix game whose unique pure Nash equilibrium is (seat 0: "c", seat 1: "a"): "c" strictly
# dominates the other rows for seat 0 and "a" the other columns for seat 1, so every profile has
# an improving path to (c, a) and (c, a) is the response graph's only sink.
BIMATRIX_NAMES = ["a", "b", "c"]
SEAT_0 = np.array([[1.0, 0.0, 2.0], [2.0, 1.0, 3.0], [4.0, 2.0, 5.0]])
SEAT_1 = np.array([[3.0, 1.0, 0.0], [2.0, 0.0, 1.0], [4.0, 3.0, 2.0]])


@pytest.mark.parametrize("alpha", [None, math.inf])
def test_two_population_mass_goes_to_the_unique_pure_equilibrium(alpha):
    result = alpha_rank_two_population(BIMATRIX_NAMES, SEAT_0, SEAT_1, alpha=alpha)
    best = result.profiles[0]
    assert (best.seat_0, best.seat_1, best.rank) == ("c", "a", 1)
    assert best.mass == pytest.approx(1.0, abs=1e-6)
    assert result.seat_0_mass["c"] == pytest.approx(1.0, abs=1e-6)
    assert result.seat_1_mass["a"] == pytest.approx(1.0, abs=1e-6)
    assert result.seat_0_ranking[0] == "c" and result.seat_1_ranking[0] == "a"
    assert sum(p.mass for p in result.profiles) == pytest.approx(1.0)
    assert len(result.profiles) == 9


def test_two_population_edges_are_strict_improvements_of_the_switching_seat():
    result = alpha_rank_two_population(BIMATRIX_NAMES, SEAT_0, SEAT_1, alpha=3.0)
    index = {name: i for i, name in enumerate(BIMATRIX_NAMES)}
    tables = (SEAT_0, SEAT_1)
    improvements = 0
    for i in range(3):
        for j in range(3):
            for k in range(3):
                improvements += int(SEAT_0[k, j] > SEAT_0[i, j]) + int(SEAT_1[i, k] > SEAT_1[i, j])
    assert len(result.response_graph) == improvements
    for edge in result.response_graph:
        resident = tuple(index[name] for name in edge.resident_profile)
        mutant = tuple(index[name] for name in edge.mutant_profile)
        other_seat = 1 - edge.seat
        assert resident[other_seat] == mutant[other_seat]
        assert tables[edge.seat][mutant] > tables[edge.seat][resident]
        assert edge.fixation_probability > result.neutral_fixation
    assert not [e for e in result.response_graph if e.resident_profile == ["c", "a"]]


# ---------------------------------------------------------------------------------------------
# Nash averaging


def test_nash_average_of_rock_paper_scissors():
    result = nash_average(RPS_NAMES, RPS)
    assert list(result.equilibrium.values()) == pytest.approx([1 / 3] * 3, abs=1e-8)
    assert list(result.nash_average.values()) == pytest.approx([0.0] * 3, abs=1e-8)
    assert result.support == RPS_NAMES
    assert set(result.rank.values()) == {1}
    assert result.game_value == pytest.approx(0.0, abs=1e-9)


def test_a_dominant_entrant_takes_the_equilibrium():
    result = nash_average(DOMINANCE_NAMES, DOMINANCE)
    assert result.equilibrium == pytest.approx({"top": 1.0, "mid": 0.0, "low": 0.0}, abs=1e-8)
    # A = H − Hᵀ: mid and low lose 1 to top
    assert result.nash_average == pytest.approx({"top": 0.0, "mid": -1.0, "low": -1.0}, abs=1e-8)
    assert result.support == ["top"]
    assert result.rank == {"top": 1, "mid": 2, "low": 2}


# Solved by hand. Among r, p, s the margins are a weighted rock-paper-scissors: p beats r by 1,
# r beats s by 2, s beats p by 3. With q = (3, 2, 1)/6, A q = 0 on r, p, s (row r: −1·2/6 + 2·1/6;
# row p: 1·3/6 − 3·1/6; row s: −2·3/6 + 3·2/6), and x, which loses 1 to r and 2 to s and beats p
# by 1, has (A q)_x = (−3 + 2 − 2)/6 = −1/2. q is the only equilibrium: for any equilibrium p*,
# qᵀ A p* = −p*ᵀ A q = p*_x / 2, and qᵀ A p* ≤ 0 since A p* ≤ 0, so p*_x = 0; on r, p, s the
# q-weighted sum of the three constraints (A p*)_i ≤ 0 is 0, so all three hold with equality,
# a linear system whose only solution in the simplex is q.
HAND_NAMES = ["r", "p", "s", "x"]
HAND_MARGINS = np.array(
    [[0.0, -1.0, 2.0, 1.0], [1.0, 0.0, -3.0, -1.0], [-2.0, 3.0, 0.0, 2.0], [-1.0, 1.0, -2.0, 0.0]]
)


def test_a_hand_solved_game_with_a_non_uniform_equilibrium():
    # only H − Hᵀ counts: a symmetric part (here a constant) changes nothing
    head_to_head = HAND_MARGINS / 2 + 3.0
    result = nash_average(HAND_NAMES, head_to_head)
    assert list(result.equilibrium.values()) == pytest.approx([1 / 2, 1 / 3, 1 / 6, 0], abs=1e-8)
    assert list(result.nash_average.values()) == pytest.approx([0, 0, 0, -1 / 2], abs=1e-8)
    assert result.support == ["r", "p", "s"]
    assert result.rank == {"r": 1, "p": 1, "s": 1, "x": 4}
    assert result.ranking[-1] == "x"


def _with_copy(table: np.ndarray, entrant: int) -> np.ndarray:
    order = [*range(len(table)), entrant]
    return table[np.ix_(order, order)]


def test_nash_averages_are_invariant_to_copies():
    # a generic random table: its equilibrium is unique (support of odd size)
    table = np.random.default_rng(3).normal(size=(7, 7))
    names = [f"e{i}" for i in range(7)]
    original = nash_average(names, table)
    in_support = names.index(original.support[0])
    outside = next(i for i, name in enumerate(names) if name not in original.support)
    assert 1 < len(original.support) < 7
    for copied in (in_support, outside):
        with_copy = nash_average([*names, "copy"], _with_copy(table, copied))
        for name in names:
            assert with_copy.nash_average[name] == pytest.approx(
                original.nash_average[name], abs=1e-6
            )
        assert with_copy.nash_average["copy"] == pytest.approx(
            original.nash_average[names[copied]], abs=1e-6
        )
        # the copied entrant's mass is split evenly between the two copies
        half = original.equilibrium[names[copied]] / 2
        assert with_copy.equilibrium[names[copied]] == pytest.approx(half, abs=1e-9)
        assert with_copy.equilibrium["copy"] == pytest.approx(half, abs=1e-9)
        others = [name for name in names if name != names[copied]]
        for name in others:
            assert with_copy.equilibrium[name] == pytest.approx(
                original.equilibrium[name], abs=1e-6
            )


def test_maximum_entropy_picks_the_centre_of_a_non_trivial_equilibrium_set():
    # two identical entrants beating a third: every (t, 1 − t, 0) is an equilibrium
    twins = nash_average(["a", "b", "c"], np.array([[0, 0, 1], [0, 0, 1], [-1, -1, 0.0]]))
    assert list(twins.equilibrium.values()) == pytest.approx([0.5, 0.5, 0.0], abs=1e-9)
    # rock-paper-scissors with two rocks: the rocks share rock's 1/3
    two_rocks = nash_average([*RPS_NAMES, "rock2"], _with_copy(RPS, 0))
    assert list(two_rocks.equilibrium.values()) == pytest.approx([1 / 6, 1 / 3, 1 / 3, 1 / 6])
    # a and b tie each other but beat c by different margins, so they are not copies: the set of
    # equilibria is still every (t, 1 − t, 0), and maximum entropy is its midpoint t = 1/2
    unequal = nash_average(["a", "b", "c"], np.array([[0, 0, 1], [0, 0, 2], [-1, -2, 0.0]]) / 2)
    assert list(unequal.equilibrium.values()) == pytest.approx([0.5, 0.5, 0.0], abs=1e-8)
    assert unequal.nash_average["c"] == pytest.approx(-1.5, abs=1e-8)
    # all ties: every mixture is an equilibrium, and the uniform one has maximum entropy
    flat = nash_average(list("abcd"), np.full((4, 4), 0.25))
    assert list(flat.equilibrium.values()) == pytest.approx([0.25] * 4, abs=1e-9)


def test_copies_can_move_the_maximum_entropy_choice_when_equilibria_are_not_unique():
    # the documented limit of the invariance: in the game above, a copy of a turns the set of
    # equilibria into every (t_a, t_a', t_b, 0), whose centre gives c −(2/3)·1 − (1/3)·2 = −4/3
    table = np.array([[0, 0, 1], [0, 0, 2], [-1, -2, 0.0]]) / 2
    with_copy = nash_average(["a", "b", "c", "a2"], _with_copy(table, 0))
    assert with_copy.nash_average["c"] == pytest.approx(-4 / 3, abs=1e-8)


# ---------------------------------------------------------------------------------------------
# replicator dynamics

# "top" strictly dominates: H[top, j] > H[i, j] for every other i and every j
STRICT_DOMINANCE = np.array([[3.0, 5.0, 4.0], [2.0, 4.0, 3.5], [1.0, 2.0, 3.0]])


def test_a_strictly_dominant_entrant_survives_alone():
    result = replicator_dynamics(DOMINANCE_NAMES, STRICT_DOMINANCE)
    assert result.survivors == ["top"]
    assert result.share["top"] > 1 - 1e-6
    assert sum(result.share.values()) == pytest.approx(1.0, abs=1e-12)


def test_replicator_shares_do_not_depend_on_the_payoff_units():
    reference = replicator_dynamics(DOMINANCE_NAMES, STRICT_DOMINANCE, horizon=3.0)
    rescaled = replicator_dynamics(DOMINANCE_NAMES, 250 * STRICT_DOMINANCE - 7, horizon=3.0)
    assert list(rescaled.share.values()) == pytest.approx(list(reference.share.values()), rel=1e-6)
    # early on, the dominated entrants are still there
    assert 0.4 < reference.share["top"] < 0.99 and len(reference.survivors) == 3


def test_replicator_reaches_the_mixed_hawk_dove_equilibrium():
    # hawk-dove with value V = 2 and cost C = 6: the stable mixture has V/C = 1/3 hawks
    hawk_dove = np.array([[(2 - 6) / 2, 2.0], [0.0, 1.0]])
    result = replicator_dynamics(["hawk", "dove"], hawk_dove)
    assert result.share["hawk"] == pytest.approx(1 / 3, abs=1e-6)
    assert result.survivors == ["dove", "hawk"]


def test_replicator_stays_at_the_centre_of_rock_paper_scissors():
    result = replicator_dynamics(RPS_NAMES, RPS)
    assert list(result.share.values()) == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert sorted(result.survivors) == sorted(RPS_NAMES)


# ---------------------------------------------------------------------------------------------
# missing entries, names, dependencies, JSON


def test_every_ranking_refuses_a_missing_entry_and_names_the_pair():
    table = RPS.copy()
    table[0, 2] = np.nan
    for rank in (alpha_rank, nash_average, replicator_dynamics):
        with pytest.raises(ValueError, match=r"\(rock, scissors\)"):
            rank(RPS_NAMES, table)
    with pytest.raises(ValueError, match=r"seat 1 table .*\(rock, scissors\)"):
        alpha_rank_two_population(RPS_NAMES, RPS, table)


def test_tables_and_names_must_match():
    with pytest.raises(ValueError, match="shape"):
        nash_average(RPS_NAMES[:2], RPS)
    with pytest.raises(ValueError, match="unique"):
        nash_average(["rock", "rock", "paper"], RPS)


def test_complete_subtable_drops_the_entrant_with_missing_entries():
    table = np.arange(16.0).reshape(4, 4)
    table[3, 0] = np.nan  # d vs a
    table[1, 3] = np.nan  # b vs d
    subtable = complete_subtable(list("abcd"), table)
    assert (subtable.names, subtable.left_out, subtable.indices) == (list("abc"), ["d"], [0, 1, 2])
    assert np.isfinite(subtable.restrict(table)).all()
    assert subtable.restrict(table).shape == (3, 3)
    # a missing self-play entry drops that entrant; a tie drops the entrant listed last
    table = np.ones((3, 3))
    table[1, 1] = np.nan
    assert complete_subtable(list("abc"), table).left_out == ["b"]
    table = np.ones((3, 3))
    table[0, 2] = np.nan
    assert complete_subtable(list("abc"), table).left_out == ["c"]
    # every table given counts
    other = np.ones((3, 3))
    other[1, 0] = np.inf
    # (a, b) and (a, c) missing: dropping a alone completes the table
    assert complete_subtable(list("abc"), table, other).names == ["b", "c"]


def test_missing_dependencies_say_how_to_install_them(monkeypatch):
    monkeypatch.setitem(sys.modules, "cvxpy", None)
    with pytest.raises(MetagameDependencyError, match=r"shaping-zoo\[metagame\]"):
        nash_average(RPS_NAMES, RPS)
    monkeypatch.setitem(sys.modules, "open_spiel.python.egt.alpharank", None)
    with pytest.raises(ImportError, match="make install"):
        alpha_rank(RPS_NAMES, RPS)


def test_results_serialise_to_strict_json():
    results = [
        alpha_rank(DOMINANCE_NAMES, DOMINANCE),
        alpha_rank(DOMINANCE_NAMES, DOMINANCE, alpha=math.inf),
        alpha_rank_two_population(BIMATRIX_NAMES, SEAT_0, SEAT_1, alpha=math.inf),
        nash_average(RPS_NAMES, RPS),
        replicator_dynamics(RPS_NAMES, RPS),
        complete_subtable(RPS_NAMES, RPS),
    ]
    for result in results:
        encoded = json.loads(json.dumps(result.to_json(), allow_nan=False))
        assert encoded["names"] == result.names
    edge = results[0].to_json()["response_graph"][0]
    assert edge.keys() == {"resident", "mutant", "fixation_probability"}
