"""Game-theoretic rankings of a head-to-head payoff table: α-Rank, Nash averaging, replicator.

The meta-game treats each entrant as a pure strategy. `H[i, j]` is entrant i's mean reward per
step against entrant j, pooled over both seats, so the meta-game is symmetric (i meets j with
payoff H[i, j] to i and H[j, i] to j). The two-population form of α-Rank takes seat-specific
tables instead: `A[i, j]` and `B[i, j]` are the payoffs to seat 0 and seat 1 when entrant i sits in
seat 0 and entrant j in seat 1.

    alpha_rank                   α-Rank of H, one population (Omidshafiei et al. 2019)
    alpha_rank_two_population    α-Rank of (A, B), one population per seat
    nash_average                 maximum-entropy Nash averaging of H − Hᵀ (Balduzzi et al. 2018)
    replicator_dynamics          where the replicator flow on H takes the uniform population
    complete_subtable            the entrants whose pairwise entries are all finite

Every function takes the entrants' names in table order and refuses a table with a missing
(non-finite) entry, naming the pair: rank over `complete_subtable(...)` and report who was left
out. Results are dataclasses of plain floats, lists and name-keyed dicts; `to_json()` returns
one as a JSON-ready dict.

α-Rank is OpenSpiel's (`open_spiel.python.egt.alpharank`), the maximum-entropy equilibrium is
solved by cvxpy and the game value and equilibrium support by scipy's `linprog`; all three come
with the `metagame` extra (`pip install 'shaping-zoo[metagame]'`, included by `make install`) and
are imported only when a function needs them.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

#: masses within this of each other share an α-Rank rank
ALPHA_RANK_TIE_TOLERANCE = 1e-9
#: OpenSpiel's tie rule in its infinite-α chain: payoffs within np.isclose(atol=1e-14) tie
_OPENSPIEL_TIE_ATOL = 1e-14
#: Clarabel's gap and feasibility tolerances for the maximum-entropy equilibrium (default 1e-8)
_TIGHT_CLARABEL = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
#: how many missing pairs a refusal names before summarising the rest
_MISSING_PAIRS_SHOWN = 5


class MetagameDependencyError(ImportError):
    """An optional dependency of the meta-game rankings is not installed."""


def _require(module: str, package: str, purpose: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MetagameDependencyError(
            f"{purpose} needs {package}: pip install 'shaping-zoo[metagame]' (or make install)"
        ) from error


def _alpharank_module() -> ModuleType:
    return _require("open_spiel.python.egt.alpharank", "open-spiel", "α-Rank")


# ---------------------------------------------------------------------------------------------
# input checks and the complete sub-table


def _checked_names(names: Sequence[str]) -> list[str]:
    names = list(names)
    if not names:
        raise ValueError("no entrants to rank")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"entrant names must be unique; repeated: {', '.join(duplicated)}")
    return names


def _checked_table(names: list[str], table: npt.ArrayLike, label: str) -> np.ndarray:
    array = np.asarray(table, dtype=np.float64)
    if array.shape != (len(names), len(names)):
        raise ValueError(
            f"{label} has shape {array.shape}, expected {(len(names), len(names))} "
            f"for {len(names)} entrants"
        )
    missing = np.argwhere(~np.isfinite(array))
    if missing.size:
        pairs = ", ".join(
            f"({names[i]}, {names[j]}) = {array[i, j]}" for i, j in missing[:_MISSING_PAIRS_SHOWN]
        )
        more = len(missing) - _MISSING_PAIRS_SHOWN
        raise ValueError(
            f"{label} has no finite entry for {pairs}"
            + (f" and {more} more" if more > 0 else "")
            + "; rank over complete_subtable(names, table) instead"
        )
    return array


@dataclass(frozen=True)
class CompleteSubtable:
    """The entrants kept by `complete_subtable`, in table order, and those left out."""

    names: list[str]
    left_out: list[str]
    #: positions of `names` in the original table
    indices: list[int]

    def restrict(self, table: npt.ArrayLike) -> np.ndarray:
        """The kept entrants' rows and columns of `table` (any table in the original order)."""
        return np.asarray(table, dtype=np.float64)[np.ix_(self.indices, self.indices)]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def complete_subtable(
    names: Sequence[str], table: npt.ArrayLike, *more_tables: npt.ArrayLike
) -> CompleteSubtable:
    """A set of entrants whose pairwise entries (self-play included) are finite in every table.

    Greedy: while some pair is missing, drop the kept entrant involved in the most missing pairs
    (a pair (i, j) is missing when H[i, j] or H[j, i] is not finite); on a tie drop the one
    listed last, so earlier entrants are kept. The result is maximal but not always maximum
    (the largest such set is a maximum-clique problem).
    """
    names = _checked_names(names)
    missing = np.zeros((len(names), len(names)), dtype=bool)
    for position, each in enumerate((table, *more_tables)):
        array = np.asarray(each, dtype=np.float64)
        if array.shape != missing.shape:
            raise ValueError(f"table {position} has shape {array.shape}, expected {missing.shape}")
        missing |= ~np.isfinite(array)
    missing |= missing.T
    kept = list(range(len(names)))
    while kept:
        missing_pairs = missing[np.ix_(kept, kept)].sum(axis=1)
        if not missing_pairs.any():
            break
        del kept[len(kept) - 1 - int(np.argmax(missing_pairs[::-1]))]
    kept_set = set(kept)
    return CompleteSubtable(
        names=[names[i] for i in kept],
        left_out=[name for i, name in enumerate(names) if i not in kept_set],
        indices=kept,
    )


def _competition_ranks(scores: Sequence[float], tolerance: float) -> tuple[list[int], list[int]]:
    """Positions by score, best first, and each position's competition rank (1, 2, 2, 4): a
    score within `tolerance` of the best of its tie group shares that group's rank."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    ranks = [0] * len(scores)
    group_best, group_rank = math.inf, 0
    for place, i in enumerate(order):
        if group_best - scores[i] > tolerance:
            group_best, group_rank = scores[i], place + 1
        ranks[i] = group_rank
    return order, ranks


def _ranked(
    names: list[str], scores: Sequence[float], tolerance: float
) -> tuple[list[str], dict[str, int]]:
    """Names by score, best first, and their competition ranks."""
    order, ranks = _competition_ranks(scores, tolerance)
    return [names[i] for i in order], {names[i]: ranks[i] for i in order}


def _masses(stationary: np.ndarray) -> np.ndarray:
    # the eigenvector solver leaves round-off of either sign (~1e-17) on zero masses
    clipped = np.clip(np.asarray(stationary, dtype=np.float64), 0.0, None)
    return clipped / clipped.sum()


# ---------------------------------------------------------------------------------------------
# α-Rank


@dataclass(frozen=True)
class ResponseEdge:
    """An edge of the α-Rank response graph: a `mutant` entrant fixates in a population of
    `resident`s with probability above the neutral one (the edge points resident → mutant)."""

    resident: str
    mutant: str
    fixation_probability: float


@dataclass(frozen=True)
class AlphaRankResult:
    """Single-population α-Rank of a symmetric head-to-head table."""

    names: list[str]
    #: stationary mass of each entrant's monomorphic population (sums to 1)
    mass: dict[str, float]
    #: entrants by mass, highest first
    ranking: list[str]
    #: competition rank (1 = best); masses within ALPHA_RANK_TIE_TOLERANCE share one
    rank: dict[str, int]
    #: selection intensity in the table's payoff units; None in the α → ∞ limit
    alpha: float | None
    infinite_alpha: bool
    #: the infinite-α chain's perturbation ε (None at finite α)
    inf_alpha_eps: float | None
    #: population size
    m: int
    #: a neutral mutant's fixation probability, 1/m
    neutral_fixation: float
    response_graph: list[ResponseEdge]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProfileMass:
    """One joint profile of the two-population chain: who sits in each seat, and its mass."""

    seat_0: str
    seat_1: str
    mass: float
    rank: int


@dataclass(frozen=True)
class ProfileEdge:
    """An edge of the two-population response graph: the population in `seat` switches to the
    mutant strategy that takes `resident_profile` to `mutant_profile`."""

    resident_profile: list[str]
    mutant_profile: list[str]
    seat: int
    fixation_probability: float


@dataclass(frozen=True)
class TwoPopulationAlphaRankResult:
    """Two-population α-Rank of seat-specific tables (one population per seat)."""

    names: list[str]
    #: each seat's marginal mass per entrant (each sums to 1)
    seat_0_mass: dict[str, float]
    seat_1_mass: dict[str, float]
    seat_0_ranking: list[str]
    seat_0_rank: dict[str, int]
    seat_1_ranking: list[str]
    seat_1_rank: dict[str, int]
    #: every joint profile's stationary mass, highest first
    profiles: list[ProfileMass]
    alpha: float | None
    infinite_alpha: bool
    inf_alpha_eps: float | None
    m: int
    neutral_fixation: float
    response_graph: list[ProfileEdge]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@contextlib.contextmanager
def _quiet_openspiel() -> Iterator[None]:
    # OpenSpiel's sweeps raise α (or lower ε) until the chain breaks numerically: the exp
    # overflows and the errors it prints there are expected, and handled by the sweep itself.
    with (
        np.errstate(over="ignore", invalid="ignore", divide="ignore"),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        yield


@dataclass(frozen=True)
class _Chain:
    stationary: np.ndarray
    #: OpenSpiel's rhos[resident, mutant] over the chain's states (entrants, or profiles
    #: i·n + j); None in the infinite-α limit, which has none
    fixation: np.ndarray | None
    alpha: float | None
    inf_alpha_eps: float | None


def _solve_chain(
    tables: list[np.ndarray], alpha: float | None, m: int, inf_alpha_eps: float | None
) -> _Chain:
    if m < 2:
        raise ValueError(f"population size m must be at least 2, got {m}")
    infinite = alpha == math.inf
    if inf_alpha_eps is not None and not (infinite and 0 < inf_alpha_eps < 1):
        raise ValueError(
            "inf_alpha_eps, in (0, 1), applies only to the α → ∞ limit (alpha=math.inf); "
            f"got {inf_alpha_eps} with alpha={alpha}"
        )
    alpharank = _alpharank_module()
    if alpha is None:
        return _swept_chain(alpharank, tables, m)
    if infinite:
        with _quiet_openspiel():
            if inf_alpha_eps is None:
                stationary, eps = alpharank.sweep_pi_vs_epsilon(tables, return_epsilon=True)
            else:
                eps = inf_alpha_eps
                _, _, stationary, _, _ = alpharank.compute(
                    tables, m=m, use_inf_alpha=True, inf_alpha_eps=eps
                )
        return _Chain(_masses(stationary), None, None, float(eps))
    if not alpha > 0:
        raise ValueError(f"alpha must be positive (or math.inf, or None to sweep), got {alpha}")
    try:
        with _quiet_openspiel():
            fixation, _, stationary, _, _ = alpharank.compute(tables, m=m, alpha=alpha)
    except ValueError as error:
        raise ValueError(
            f"α-Rank has no unique stationary distribution at alpha={alpha} ({error}); "
            "the chain breaks numerically at large α: use a smaller alpha, or math.inf"
        ) from error
    return _Chain(_masses(stationary), np.asarray(fixation), float(alpha), None)


def _swept_chain(alpharank: ModuleType, tables: list[np.ndarray], m: int) -> _Chain:
    # The sweep doubles α from 1e-4 until π stops changing; it starts from the same relative
    # intensity only if the payoffs are in comparable units, so it runs on the tables divided
    # by their range, and the α it settles on is reported back in the tables' own units.
    payoff_range = max(t.max() for t in tables) - min(t.min() for t in tables)
    scale = payoff_range if payoff_range > 0 else 1.0
    unit_tables = [t / scale for t in tables]
    with _quiet_openspiel():
        _, unit_alpha = alpharank.sweep_pi_vs_alpha(unit_tables, m=m, return_alpha=True)
        # When the sweep stops on a numerical failure it can return the α that failed; π had
        # converged below it, so back off until the chain solves.
        while True:
            try:
                fixation, _, stationary, _, _ = alpharank.compute(
                    unit_tables, m=m, alpha=unit_alpha
                )
                break
            except ValueError:
                unit_alpha /= 2
    return _Chain(_masses(stationary), np.asarray(fixation), float(unit_alpha / scale), None)


def _strictly_fitter(mutant_payoff: float, resident_payoff: float) -> bool:
    return mutant_payoff > resident_payoff and not np.isclose(
        mutant_payoff, resident_payoff, atol=_OPENSPIEL_TIE_ATOL
    )


def _fixates(fixation_probability: float, neutral: float) -> bool:
    # a tie gives exactly 1/m, a near-tie float noise around it; neither is an edge
    return fixation_probability > neutral and not math.isclose(
        fixation_probability, neutral, rel_tol=1e-9
    )


def alpha_rank(
    names: Sequence[str],
    head_to_head: npt.ArrayLike,
    *,
    alpha: float | None = None,
    m: int = 50,
    inf_alpha_eps: float | None = None,
) -> AlphaRankResult:
    """Single-population α-Rank (Omidshafiei et al. 2019, "α-Rank: Multi-Agent Evaluation by
    Evolution", Sci. Rep. 9:9937) of the symmetric head-to-head table, by OpenSpiel.

    A population of m agents is monomorphic (all play entrant s) between rare mutations; a
    mutant r fixates with the Fermi-process probability (the paper's finite-population model, in
    OpenSpiel's local selection form where fitness is the payoff against the other strategy)

        ρ(s → r) = (1 − exp(−α·Δ)) / (1 − exp(−m·α·Δ)),   Δ = H[r, s] − H[s, r],

    (1/m when Δ = 0), the chain moves s → r with probability ρ/(n − 1), and an entrant's mass is
    its share of the chain's stationary distribution. The response graph has an edge s → r
    wherever ρ(s → r) > 1/m, i.e. wherever r beats s head to head.

    `alpha`: None (default) runs OpenSpiel's `sweep_pi_vs_alpha` on the table divided by its
    payoff range (max − min), which doubles α from 1e-4 until the stationary distribution stops
    changing (the paper's advice: sweep α and read the ranking where it has settled); dividing by
    the range makes the result independent of the reward's units, and the α found is reported
    in the table's own units. Where the masses do not depend on α at all (rock-paper-scissors)
    the sweep stops at its second step, α = 2e-4 / range. A number is used as is, in the table's
    units. `math.inf` takes the α → ∞ limit (OpenSpiel's `use_inf_alpha`): the chain
    moves to a strictly fitter mutant with probability 1 − ε, to a tie with 1/2 and to a worse
    one with ε; with `inf_alpha_eps=None` ε is lowered by OpenSpiel's `sweep_pi_vs_epsilon`
    until the masses converge, so the mass settles on the response graph's sink components. The
    infinite-α chain has no fixation probabilities; its edges are those to strictly fitter
    mutants, with their α → ∞ fixation probability, 1.

    `m` is the population size (default 50, OpenSpiel's); larger m, like larger α, sharpens
    selection. Masses within ALPHA_RANK_TIE_TOLERANCE (1e-9) of the best of their tie group share
    a rank.
    """
    names = _checked_names(names)
    table = _checked_table(names, head_to_head, "head-to-head table")
    chain = _solve_chain([table], alpha, m, inf_alpha_eps)
    edges = []
    for resident in range(len(names)):
        for mutant in range(len(names)):
            if mutant == resident:
                continue
            if chain.fixation is None:
                fitter = _strictly_fitter(table[mutant, resident], table[resident, mutant])
                probability = 1.0
            else:
                probability = float(chain.fixation[resident, mutant])
                fitter = _fixates(probability, 1 / m)
            if fitter:
                edges.append(ResponseEdge(names[resident], names[mutant], probability))
    mass = [float(x) for x in chain.stationary]
    ranking, rank = _ranked(names, mass, ALPHA_RANK_TIE_TOLERANCE)
    return AlphaRankResult(
        names=names,
        mass=dict(zip(names, mass, strict=True)),
        ranking=ranking,
        rank=rank,
        alpha=chain.alpha,
        infinite_alpha=chain.fixation is None,
        inf_alpha_eps=chain.inf_alpha_eps,
        m=m,
        neutral_fixation=1 / m,
        response_graph=edges,
    )


def alpha_rank_two_population(
    names: Sequence[str],
    seat_0_payoffs: npt.ArrayLike,
    seat_1_payoffs: npt.ArrayLike,
    *,
    alpha: float | None = None,
    m: int = 50,
    inf_alpha_eps: float | None = None,
) -> TwoPopulationAlphaRankResult:
    """Two-population α-Rank (Omidshafiei et al. 2019, Sci. Rep. 9:9937, the multi-population
    model) of seat-specific tables, by OpenSpiel.

    `seat_0_payoffs[i, j]` and `seat_1_payoffs[i, j]` are the payoffs to seat 0 and seat 1 when
    entrant i sits in seat 0 and entrant j in seat 1. Each seat has its own population of m; the
    chain's states are the joint profiles (i, j), and a mutant of one seat's population fixates
    with

        ρ = (1 − exp(−α·Δ)) / (1 − exp(−m·α·Δ)),   Δ = that seat's payoff gain from the switch,

    the chain moving to that profile with probability ρ / (2(n − 1)). A seat's marginal mass of
    an entrant sums its profiles' masses. `alpha`, `m` and `inf_alpha_eps` are as in
    `alpha_rank` (the sweep divides both tables by their joint payoff range). OpenSpiel's loops
    are over n² profiles × 2(n − 1) mutants per α: about a second per α at 12 entrants, and the
    sweep tries some 20-30 values; pass a fixed `alpha` or `math.inf` to go faster.
    """
    names = _checked_names(names)
    seat_0 = _checked_table(names, seat_0_payoffs, "seat 0 table")
    seat_1 = _checked_table(names, seat_1_payoffs, "seat 1 table")
    chain = _solve_chain([seat_0, seat_1], alpha, m, inf_alpha_eps)
    n = len(names)
    # OpenSpiel numbers the profile (i, j) as i·n + j
    joint = chain.stationary.reshape(n, n)
    edges = []
    for i in range(n):
        for j in range(n):
            for seat, seat_table in ((0, seat_0), (1, seat_1)):
                for other in range(n):
                    mutant_profile = (other, j) if seat == 0 else (i, other)
                    if mutant_profile == (i, j):
                        continue
                    if chain.fixation is None:
                        fitter = _strictly_fitter(seat_table[mutant_profile], seat_table[i, j])
                        probability = 1.0
                    else:
                        probability = float(
                            chain.fixation[i * n + j, mutant_profile[0] * n + mutant_profile[1]]
                        )
                        fitter = _fixates(probability, 1 / m)
                    if fitter:
                        edges.append(
                            ProfileEdge(
                                [names[i], names[j]],
                                [names[mutant_profile[0]], names[mutant_profile[1]]],
                                seat,
                                probability,
                            )
                        )
    seat_0_mass = [float(x) for x in joint.sum(axis=1)]
    seat_1_mass = [float(x) for x in joint.sum(axis=0)]
    seat_0_ranking, seat_0_rank = _ranked(names, seat_0_mass, ALPHA_RANK_TIE_TOLERANCE)
    seat_1_ranking, seat_1_rank = _ranked(names, seat_1_mass, ALPHA_RANK_TIE_TOLERANCE)
    profile_mass = [float(x) for x in chain.stationary]
    profile_order, profile_rank = _competition_ranks(profile_mass, ALPHA_RANK_TIE_TOLERANCE)
    profiles = [
        ProfileMass(names[k // n], names[k % n], profile_mass[k], profile_rank[k])
        for k in profile_order
    ]
    return TwoPopulationAlphaRankResult(
        names=names,
        seat_0_mass=dict(zip(names, seat_0_mass, strict=True)),
        seat_1_mass=dict(zip(names, seat_1_mass, strict=True)),
        seat_0_ranking=seat_0_ranking,
        seat_0_rank=seat_0_rank,
        seat_1_ranking=seat_1_ranking,
        seat_1_rank=seat_1_rank,
        profiles=profiles,
        alpha=chain.alpha,
        infinite_alpha=chain.fixation is None,
        inf_alpha_eps=chain.inf_alpha_eps,
        m=m,
        neutral_fixation=1 / m,
        response_graph=edges,
    )


# ---------------------------------------------------------------------------------------------
# Nash averaging


@dataclass(frozen=True)
class NashAverageResult:
    """Maximum-entropy Nash averaging of the antisymmetric meta-game H − Hᵀ."""

    names: list[str]
    #: the maximum-entropy equilibrium p* (sums to 1)
    equilibrium: dict[str, float]
    #: (A p*)_i: ≤ 0 for every entrant, 0 on the support of p*
    nash_average: dict[str, float]
    #: entrants by Nash average, highest first
    ranking: list[str]
    #: competition rank (1 = best); Nash averages within `tolerance` share one
    rank: dict[str, int]
    #: entrants with positive equilibrium mass
    support: list[str]
    #: value of the meta-game by linear programming: 0 up to solver tolerance
    game_value: float
    #: absolute tie tolerance, in the table's payoff units (relative tolerance × max |A|)
    tolerance: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _copies(antisymmetric: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Representatives of the groups of entrants whose rows of A are identical, and each
    entrant's group number (an index into the representatives)."""
    representatives: list[int] = []
    group = np.empty(len(antisymmetric), dtype=int)
    for i, row in enumerate(antisymmetric):
        for number, representative in enumerate(representatives):
            if np.array_equal(row, antisymmetric[representative]):
                group[i] = number
                break
        else:
            group[i] = len(representatives)
            representatives.append(i)
    return representatives, group


def nash_average(
    names: Sequence[str], head_to_head: npt.ArrayLike, *, tolerance: float = 1e-6
) -> NashAverageResult:
    """Nash averaging (Balduzzi et al. 2018, "Re-evaluating Evaluation", NeurIPS, Sec. 3).

    The meta-game is the antisymmetric A = H − Hᵀ (A[i, j] is i's margin over j), a symmetric
    zero-sum game of value 0. Its equilibria are the p in the simplex with pᵀA ≥ 0, i.e. A p ≤ 0
    (no entrant beats p on average); p* is the one of maximum entropy, which is unique, and the
    Nash average of entrant i is n_i = (A p*)_i. Since A p* ≤ 0, every n_i ≤ 0, with n_i = 0 on
    the support of p* (and possibly off it, for entrants that tie p*). The paper's key property:
    copying an entrant splits its mass between the copies and leaves every Nash average
    unchanged. That holds exactly when the equilibrium is unique up to such splits (generic
    tables); where the equilibrium set is larger, the maximum-entropy choice within it can move
    when copies are added.

    How it is solved: entrants with identical rows of A (exact copies) are merged, since the
    maximum-entropy equilibrium splits a group's mass evenly and solving the merged game avoids
    the solver's slack along that split; A is divided by max |A| for the solvers. scipy's
    `linprog` (HiGHS) checks the game value and finds the equilibrium set's support (the entrants
    each of which has positive mass in some equilibrium: one LP per entrant, maximising its
    mass); cvxpy (Clarabel, an exponential-cone solver, at gap and feasibility tolerances 1e-12,
    falling back to its defaults if those stall) maximises Σ_g P_g·(log size_g − log P_g) over
    the merged groups' equilibria on that support. Masses come out to about 1e-9.

    `tolerance` (default 1e-6) is relative to max |A|, the payoff scale: a mass that cannot
    exceed it is outside the support, A p* may exceed 0 by at most it (else RuntimeError), and
    Nash averages within it of the best of their tie group share a rank. It sits well above the
    solvers' accuracy and well below any payoff difference a tournament resolves.
    """
    optimize = _require("scipy.optimize", "scipy", "Nash averaging")
    cp = _require("cvxpy", "cvxpy", "Nash averaging")
    names = _checked_names(names)
    table = _checked_table(names, head_to_head, "head-to-head table")
    antisymmetric = table - table.T
    payoff_scale = float(np.abs(antisymmetric).max()) or 1.0
    representatives, group = _copies(antisymmetric)
    game = antisymmetric[np.ix_(representatives, representatives)] / payoff_scale
    group_size = np.bincount(group)
    count = len(representatives)

    # value: maximise v subject to (qᵀ game)_j ≥ v for all j, q in the simplex
    value_solution = optimize.linprog(
        c=np.r_[np.zeros(count), -1.0],
        A_ub=np.c_[-game.T, np.ones(count)],
        b_ub=np.zeros(count),
        A_eq=np.r_[np.ones(count), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * count + [(None, None)],
        method="highs",
    )
    if not value_solution.success or abs(value_solution.x[-1]) > tolerance:
        raise RuntimeError(f"the meta-game's value is not 0: {value_solution.message}")

    in_support = np.zeros(count, dtype=bool)
    for i in range(count):
        most = optimize.linprog(
            c=-np.eye(count)[i],
            A_ub=game,
            b_ub=np.zeros(count),
            A_eq=np.ones((1, count)),
            b_eq=[1.0],
            bounds=(0, None),
            method="highs",
        )
        if not most.success:
            raise RuntimeError(f"no equilibrium found: {most.message}")
        in_support[i] = -most.fun > tolerance
    support = np.flatnonzero(in_support)

    outside = np.flatnonzero(~in_support)

    # Every equilibrium gives each support entrant exactly the value, (A p)_i = 0 (any two
    # optimal strategies of a zero-sum game are best responses to each other), so those rows
    # are equalities; as inequalities they would have no strictly feasible point, which slows
    # the interior-point solver.
    group_mass = cp.Variable(len(support))
    entropy = cp.sum(cp.entr(group_mass)) + group_mass @ np.log(group_size[support])
    constraints = [cp.sum(group_mass) == 1, game[np.ix_(support, support)] @ group_mass == 0]
    if outside.size:
        constraints.append(game[np.ix_(outside, support)] @ group_mass <= 0)
    problem = cp.Problem(cp.Maximize(entropy), constraints)
    # The entropy is flat to second order along the equilibrium set, so a duality gap g leaves
    # the masses off by about √g there: tight tolerances first, Clarabel's defaults if they stall.
    for settings in (_TIGHT_CLARABEL, {}):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            try:
                problem.solve(solver=cp.CLARABEL, **settings)
            except cp.error.SolverError:
                continue
        if problem.status == cp.OPTIMAL:
            break
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise RuntimeError(f"maximum-entropy equilibrium not found: cvxpy status {problem.status}")
    merged = np.zeros(count)
    merged[support] = np.clip(group_mass.value, 0.0, None)
    merged /= merged.sum()
    equilibrium = merged[group] / group_size[group]
    averages = antisymmetric @ equilibrium
    if averages.max() > tolerance * payoff_scale:
        raise RuntimeError(f"the solved p* is not an equilibrium: max (A p*) = {averages.max()}")

    average_list = [float(x) for x in averages]
    ranking, rank = _ranked(names, average_list, tolerance * payoff_scale)
    return NashAverageResult(
        names=names,
        equilibrium=dict(zip(names, (float(x) for x in equilibrium), strict=True)),
        nash_average=dict(zip(names, average_list, strict=True)),
        ranking=ranking,
        rank=rank,
        support=[names[i] for i in range(len(names)) if in_support[group[i]]],
        game_value=float(value_solution.x[-1] * payoff_scale),
        tolerance=tolerance * payoff_scale,
    )


# ---------------------------------------------------------------------------------------------
# replicator dynamics


@dataclass(frozen=True)
class ReplicatorResult:
    """Where the replicator flow on the head-to-head table takes the uniform population."""

    names: list[str]
    #: each entrant's share of the population at the horizon (sums to 1)
    share: dict[str, float]
    #: entrants whose final share exceeds `survival_threshold`, by share, highest first
    survivors: list[str]
    #: integration time, in units of 1 / payoff range
    horizon: float
    #: max(H) − min(H), the time unit's scale
    payoff_range: float
    survival_threshold: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def replicator_dynamics(
    names: Sequence[str],
    head_to_head: npt.ArrayLike,
    *,
    horizon: float = 1000.0,
    survival_threshold: float = 1e-3,
) -> ReplicatorResult:
    """Replicator dynamics (Taylor & Jonker 1978; Hofbauer & Sigmund 1998, Ch. 7) on H,

        ẋ_i = x_i·((H x)_i − xᵀ H x),

    integrated by scipy's `solve_ivp` (RK45) from the uniform population x_i = 1/n.

    Units: adding a constant to H leaves the flow unchanged and multiplying H by c runs it c times
    faster, so H is divided by its range max(H) − min(H) and `horizon` counts time in units of
    1/range; the result does not depend on the reward's units or offset. The default, 1000, takes
    an entrant strictly dominated by a margin δ (as a fraction of the range) from 1/n to below
    the survival threshold 1e-3 whenever δ > ln(1000)/1000 ≈ 0.7%. Flows that cycle (e.g.
    rock-paper-scissors from off its centre) never converge; the shares are those at the horizon.

    The flow is integrated in log-shares, d(log x_i)/dt = (H x)_i − xᵀ H x with x the softmax of
    the log-shares: the same ODE, in which shares stay positive and sum to 1 however small they
    get.
    """
    integrate = _require("scipy.integrate", "scipy", "replicator dynamics")
    special = _require("scipy.special", "scipy", "replicator dynamics")
    names = _checked_names(names)
    table = _checked_table(names, head_to_head, "head-to-head table")
    if not horizon > 0:
        raise ValueError(f"horizon must be positive, got {horizon}")
    payoff_range = float(table.max() - table.min())
    unit_table = (table - table.min()) / payoff_range if payoff_range > 0 else table * 0.0

    def log_share_velocity(_time: float, log_shares: np.ndarray) -> np.ndarray:
        shares = special.softmax(log_shares)
        fitness = unit_table @ shares
        return fitness - shares @ fitness

    solution = integrate.solve_ivp(
        log_share_velocity, (0.0, horizon), np.zeros(len(names)), rtol=1e-8, atol=1e-10
    )
    if not solution.success:
        raise RuntimeError(f"replicator integration failed: {solution.message}")
    shares = [float(x) for x in special.softmax(solution.y[:, -1])]
    order = sorted(range(len(names)), key=lambda i: (-shares[i], i))
    return ReplicatorResult(
        names=names,
        share=dict(zip(names, shares, strict=True)),
        survivors=[names[i] for i in order if shares[i] > survival_threshold],
        horizon=float(horizon),
        payoff_range=payoff_range,
        survival_threshold=survival_threshold,
    )
