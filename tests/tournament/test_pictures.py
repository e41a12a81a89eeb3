"""The report's learning curves read each head-to-head cell as the cell does: the row's mean
over its two seatings (its own seat in each), with the half-widths of independent matches
combined in quadrature, and a self-play match's two seats averaged."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shaping.tournament.pictures import pair_curves


def stored_curve(iterations, reward_a, reward_b, half_a, half_b, cooperation=None):
    """A match_curve as the report summary stores it: [points][seat] lists."""
    curve = {
        "iterations": iterations,
        "reward": {
            "mean": [[a, b] for a, b in zip(reward_a, reward_b, strict=True)],
            "ci95": [[a, b] for a, b in zip(half_a, half_b, strict=True)],
        },
        "metrics": {},
    }
    if cooperation is not None:
        curve["metrics"]["cooperation"] = {
            "mean": [[c, 1 - c] for c in cooperation],
            "ci95": [[0.0, 0.0] for _ in cooperation],
        }
    return curve


KEYS = {("x", "y"): "xy", ("y", "x"): "yx", ("x", "x"): "xx"}
CURVES = {
    # x in seat a against y, then y in seat a against x
    "xy": stored_curve(
        [1, 5, 10],
        [-1.0, -1.5, -2.0],
        [-3.0, -2.5, -2.0],
        [0.3, 0.3, 0.3],
        [0.1, 0.1, 0.1],
        cooperation=[0.9, 0.5, 0.1],
    ),
    "yx": stored_curve(
        [1, 5, 10],
        [-0.5, -0.5, -0.5],
        [-1.5, -1.7, -1.9],
        [0.2, 0.2, 0.2],
        [0.4, 0.4, 0.4],
        cooperation=[0.2, 0.2, 0.2],
    ),
    "xx": stored_curve(
        [1, 5, 10], [-1.0, -1.0, -1.0], [-2.0, -2.0, -2.0], [0.1, 0.1, 0.1], [0.3, 0.3, 0.3]
    ),
}


def test_a_cell_curve_is_the_row_s_mean_over_its_two_seatings():
    pairs = pair_curves(KEYS, CURVES, ["x", "y"], None)
    x_vs_y = pairs["x", "y"]
    assert list(x_vs_y.iterations) == [1, 5, 10]
    # x's seat a in "xy" and seat b in "yx"
    np.testing.assert_allclose(x_vs_y.mean, [(-1.0 - 1.5) / 2, (-1.5 - 1.7) / 2, (-2.0 - 1.9) / 2])
    np.testing.assert_allclose(x_vs_y.half_width, math.hypot(0.3, 0.4) / 2)
    y_vs_x = pairs["y", "x"]
    np.testing.assert_allclose(y_vs_x.mean, [(-3.0 - 0.5) / 2, (-2.5 - 0.5) / 2, (-2.0 - 0.5) / 2])
    np.testing.assert_allclose(y_vs_x.half_width, math.hypot(0.1, 0.2) / 2)


def test_self_play_averages_both_seats_of_its_one_match():
    pairs = pair_curves(KEYS, CURVES, ["x", "y"], None)
    np.testing.assert_allclose(pairs["x", "x"].mean, -1.5)
    np.testing.assert_allclose(pairs["x", "x"].half_width, 0.2)
    assert ("y", "y") not in pairs  # no stored match


def test_metric_curves_read_the_row_s_own_metric():
    pairs = pair_curves(KEYS, CURVES, ["x", "y"], "cooperation")
    # x: seat a of "xy" (0.9, 0.5, 0.1) and seat b of "yx" (1 - 0.2)
    np.testing.assert_allclose(pairs["x", "y"].mean, [(0.9 + 0.8) / 2, (0.5 + 0.8) / 2, 0.45])
    assert ("x", "x") not in pairs  # that match stored no cooperation


@pytest.mark.parametrize("dropped", ["yx", "xy"])
def test_a_missing_seating_leaves_the_other(dropped):
    curves = {key: curve for key, curve in CURVES.items() if key != dropped}
    pairs = pair_curves(KEYS, curves, ["x", "y"], None)
    expected = [-1.0, -1.5, -2.0] if dropped == "yx" else [-1.5, -1.7, -1.9]
    np.testing.assert_allclose(pairs["x", "y"].mean, expected)
    np.testing.assert_allclose(pairs["x", "y"].half_width, 0.3 if dropped == "yx" else 0.4)


def test_seatings_at_other_iterations_are_not_averaged_together():
    curves = dict(CURVES)
    curves["yx"] = stored_curve([1, 2], [0.0, 0.0], [5.0, 5.0], [0, 0], [0, 0])
    pairs = pair_curves(KEYS, curves, ["x", "y"], None)
    np.testing.assert_allclose(pairs["x", "y"].mean, [-1.0, -1.5, -2.0])
