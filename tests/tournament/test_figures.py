"""The report's figures: the pure helpers (number formatting, text contrast, cell sizes, strip
points, layout) exactly, and each figure as a valid, non-blank, byte-reproducible PNG,
including the degenerate inputs (no entrant, one entrant, missing cells)."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from shaping.tournament import figures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = [
    "lola",
    "lola_dice",
    "sos",
    "cola",
    "meva",
    "mfos",
    "ppi",
    "loqa",
    "advantage_alignment",
    "naive",
    "lookahead",
    "rllib_ppo",
    "always_cooperate",
    "always_defect",
    "tit_for_tat",
    "axelrod:TitForTat",
]


def read_png(path) -> np.ndarray:
    """The image at `path`, after checking that it is a PNG that is not one flat colour."""
    with open(path, "rb") as file:
        assert file.read(8) == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert image.shape[0] > 50 and image.shape[1] > 50
    assert image[..., :3].var() > 0
    return image


def assert_reproducible(tmp_path, draw) -> np.ndarray:
    """Draw twice with `draw(path)`: both files must be identical, valid PNGs."""
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    draw(first)
    draw(second)
    assert first.read_bytes() == second.read_bytes()
    return read_png(first)


def heatmap_data(n: int) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    rng = np.random.default_rng(0)
    values = rng.uniform(-3, 0, (n, n))
    half_widths = rng.uniform(0, 0.3, (n, n))
    statuses = [["done"] * n for _ in range(n)]
    if n > 1:
        values[0, 1] = np.nan
        statuses[0][1] = "failed"
        values[1, 0] = -0.001
    return values, half_widths, statuses


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (0.3149, 2, "0.31"),
        (-1.234, 2, "-1.23"),
        (2.0, 2, "2.00"),
        (0.0, 2, "0.00"),
        (-0.0, 2, "0.00"),
        (-0.001, 2, "0.00"),
        (-0.00499, 2, "0.00"),
        (-0.006, 2, "-0.01"),
        (0.25, 1, "0.2"),  # an exact binary tie rounds to even
        (-0.4, 0, "0"),
        (-0.0004, 3, "0.000"),
        (12.3456, 3, "12.346"),
        (float("nan"), 2, "nan"),
        (float("-inf"), 2, "-inf"),
    ],
)
def test_format_value(value, digits, expected):
    assert figures.format_value(value, digits) == expected


def test_format_value_never_prints_negative_zero():
    for digits in range(4):
        for value in np.linspace(-0.02, 0.02, 4001):
            text = figures.format_value(float(value), digits)
            assert float(text) == round(float(value), digits)
            assert not (text.startswith("-") and float(text) == 0.0), (value, digits, text)
    assert figures.format_value(np.float32(-1e-7)) == "0.00"
    assert figures.format_value(-1e-300) == "0.00"


def test_text_colour_contrasts_with_the_cell():
    assert figures.text_colour((1.0, 1.0, 1.0)) == "black"
    assert figures.text_colour((0.0, 0.0, 0.0, 1.0)) == "white"
    viridis = matplotlib.colormaps["viridis"]
    assert figures.text_colour(viridis(0.0)) == "white"  # dark purple
    assert figures.text_colour(viridis(1.0)) == "black"  # yellow
    assert figures.text_colour(matplotlib.colormaps["RdBu"](0.5)) == "black"  # near white


def test_heatmap_cell_lines():
    assert figures.heatmap_cell_lines(-0.001, 0.05, "done", True) == [
        ("0.00", -0.12, 8.0),
        ("±0.05", 0.22, 7.0),
    ]
    assert figures.heatmap_cell_lines(0.314, float("nan"), None, True) == [("0.31", 0.0, 8.0)]
    assert figures.heatmap_cell_lines(0.314, 0.05, None, False) == [("0.31", 0.0, 7.0)]
    assert figures.heatmap_cell_lines(float("nan"), 0.05, "n/a", True) == [("n/a", 0.0, 7.0)]
    assert figures.heatmap_cell_lines(float("nan"), float("nan"), None, True) == []


def test_heatmap_cells_hold_two_lines_up_to_16_entrants_and_one_beyond():
    for n in (1, 2, 8, 16):
        assert figures.heatmap_cell_inches(n) >= figures.HEATMAP_TWO_LINE_CELL_INCHES
    assert figures.heatmap_cell_inches(1) * 1 >= figures.HEATMAP_MIN_GRID_INCHES
    assert figures.heatmap_cell_inches(16) * 16 <= figures.HEATMAP_GRID_INCHES
    assert figures.heatmap_cell_inches(20) < figures.HEATMAP_TWO_LINE_CELL_INCHES
    assert figures.heatmap_cell_inches(60) == figures.HEATMAP_SMALLEST_CELL_INCHES


def test_value_range():
    values = np.array([[np.nan, -3.0], [-1.0, -2.0]])
    assert figures.value_range(values, None) == (-3.0, -1.0)
    assert figures.value_range(values, 0.0) == (-3.0, 3.0)
    assert figures.value_range(np.full((2, 2), np.nan), None) == (0.0, 1.0)
    assert figures.value_range(np.full((2, 2), 0.5), None) == (0.0, 1.0)
    assert figures.value_range(np.zeros((2, 2)), 0.0) == (-1.0, 1.0)


def test_opponent_styles_are_distinct_and_stable():
    styles = figures.opponent_styles(NAMES)
    assert len(set(styles.values())) == len(NAMES)
    assert len({colour for colour, _ in styles.values()}) == len(NAMES)  # 16 colours, no repeat
    assert figures.opponent_styles(NAMES) == styles
    many = figures.opponent_styles([f"entrant_{k}" for k in range(45)])
    assert len(set(many.values())) == 45  # past tab20's colours, line styles differ


def test_heatmap_at_16_entrants_fits_the_page_unscaled(tmp_path):
    values, half_widths, statuses = heatmap_data(16)
    image = assert_reproducible(
        tmp_path,
        lambda path: figures.heatmap_png(
            path, "ipd: reward per step", NAMES, values, half_widths, "reward", statuses
        ),
    )
    height, width = image.shape[:2]
    assert 1000 <= width <= 1400
    assert 1000 <= height <= 1400


@pytest.mark.parametrize("center", [None, 0.0])
def test_heatmap_small_and_degenerate(tmp_path, center):
    values, half_widths, statuses = heatmap_data(3)
    figures.heatmap_png(
        tmp_path / "three.png", "t", NAMES[:3], values, half_widths, "v", statuses, center
    )
    read_png(tmp_path / "three.png")
    figures.heatmap_png(tmp_path / "one.png", "t", ["lola"], [[0.5]], [[np.nan]], "v")
    read_png(tmp_path / "one.png")
    missing = np.full((2, 2), np.nan)
    figures.heatmap_png(tmp_path / "nan.png", "t", NAMES[:2], missing, missing, "v", center=center)
    read_png(tmp_path / "nan.png")
    figures.heatmap_png(tmp_path / "empty.png", "t", [], np.zeros((0, 0)), np.zeros((0, 0)), "v")
    read_png(tmp_path / "empty.png")


def test_heatmap_rejects_mismatched_shapes(tmp_path):
    with pytest.raises(ValueError, match="must both be"):
        figures.heatmap_png(
            tmp_path / "x.png", "t", NAMES[:2], np.zeros((3, 3)), np.zeros((2, 2)), "v"
        )
    with pytest.raises(ValueError, match="statuses"):
        figures.heatmap_png(
            tmp_path / "x.png", "t", NAMES[:2], np.zeros((2, 2)), np.zeros((2, 2)), "v", [["a"]]
        )


def test_strip_points_show_a_bimodal_cell_as_two_clusters():
    split = np.array([1.0, 0.0] * 8) + np.linspace(-0.02, 0.02, 16)
    per_seed = {("a", "b"): split, ("b", "a"): np.array([0.5, np.nan, 0.7]), ("b", "b"): []}
    cells = figures.strip_points(["a", "b"], per_seed, jitter=0.3)
    assert [(c.row, c.column, c.column_index) for c in cells] == [
        ("a", "b", 1),
        ("b", "a", 0),
        ("b", "b", 1),
    ]
    bimodal = cells[0]
    assert np.all(np.abs(bimodal.x - 1) <= 0.3 + 1e-12)
    assert len(np.unique(bimodal.x)) == 16  # no two seeds share a position
    assert np.array_equal(bimodal.y, split)
    # two clusters of 8 seeds, far apart relative to their spread, the mean between them
    heights = np.sort(bimodal.y)
    gaps = np.diff(heights)
    assert np.argmax(gaps) == 7 and gaps.max() > 10 * np.delete(gaps, 7).max()
    assert heights[7] < bimodal.mean < heights[8]
    # failed (NaN) seeds are left out; an empty cell has no mean
    assert np.array_equal(cells[1].y, [0.5, 0.7]) and cells[1].mean == pytest.approx(0.6)
    assert cells[2].x.size == 0 and np.isnan(cells[2].mean)


def test_strip_points_are_deterministic_and_independent_of_other_cells():
    per_seed = {("a", "a"): np.arange(10.0), ("a", "b"): np.arange(10.0)}
    first = figures.strip_points(["a", "b"], per_seed)
    again = figures.strip_points(["a", "b"], per_seed)
    alone = figures.strip_points(["a", "b"], {("a", "b"): np.arange(10.0)})
    assert all(np.array_equal(x.x, y.x) for x, y in zip(first, again, strict=True))
    assert np.array_equal(first[1].x, alone[0].x)
    # cells are shuffled independently: not one shared pattern of offsets
    assert not np.array_equal(first[0].x, first[1].x - 1)
    other_seed = figures.strip_points(["a", "b"], per_seed, seed=1)
    assert not np.array_equal(first[0].x, other_seed[0].x)


def test_strip_plot(tmp_path):
    rng = np.random.default_rng(0)
    per_seed = {(a, b): rng.normal(-1, 0.2, 8) for a in NAMES[:6] for b in NAMES[:6]}
    per_seed[NAMES[0], NAMES[1]] = np.array([-1.0] * 4 + [-3.0] * 4)
    image = assert_reproducible(
        tmp_path,
        lambda path: figures.strip_plot_png(path, "ipd", NAMES[:6], per_seed, "reward"),
    )
    assert image.shape[1] <= 1400


def test_strip_plot_degenerate(tmp_path):
    figures.strip_plot_png(tmp_path / "one.png", "t", ["x"], {("x", "x"): [0.5]}, "v")
    read_png(tmp_path / "one.png")
    figures.strip_plot_png(tmp_path / "nan.png", "t", ["x"], {("x", "x"): [np.nan]}, "v")
    read_png(tmp_path / "nan.png")
    figures.strip_plot_png(tmp_path / "empty.png", "t", ["x", "y"], {}, "v")
    read_png(tmp_path / "empty.png")


def test_circle_layout():
    positions = figures.circle_layout(4)
    assert np.allclose(np.linalg.norm(positions, axis=1), 1)
    assert np.allclose(positions, [[0, 1], [1, 0], [0, -1], [-1, 0]], atol=1e-12)  # clockwise
    assert np.array_equal(figures.circle_layout(1), [[0.0, 0.0]])
    assert figures.circle_layout(0).shape == (0, 2)


def test_response_graph(tmp_path):
    order = NAMES[:8]
    masses = {name: (k + 1) / 36 for k, name in enumerate(order)}
    masses[order[2]] = float("nan")
    edges = [(order[k], order[(k + 1) % 8], k / 7) for k in range(8)]
    edges += [(order[1], order[0], 0.3), (order[3], order[3], 0.9), (order[4], order[5], np.nan)]
    image = assert_reproducible(
        tmp_path,
        lambda path: figures.response_graph_png(path, "ipd: α-Rank", order, masses, edges),
    )
    assert image.shape[1] <= 1400


def test_response_graph_degenerate_and_invalid(tmp_path):
    figures.response_graph_png(tmp_path / "one.png", "t", ["lola"], {"lola": 1.0}, [])
    read_png(tmp_path / "one.png")
    figures.response_graph_png(tmp_path / "no_mass.png", "t", ["a", "b"], {}, [("a", "b", 1.0)])
    read_png(tmp_path / "no_mass.png")
    figures.response_graph_png(tmp_path / "empty.png", "t", [], {}, [])
    read_png(tmp_path / "empty.png")
    with pytest.raises(ValueError, match="not in the order"):
        figures.response_graph_png(tmp_path / "x.png", "t", ["a"], {}, [("a", "zzz", 0.5)])


def test_learning_curves(tmp_path):
    rng = np.random.default_rng(0)
    iterations = np.arange(1, 26) * 4
    curves = {
        (a, b): figures.Curve(
            iterations, np.cumsum(rng.normal(0, 0.1, 25)) - 1, rng.uniform(0, 0.2, 25)
        )
        for a in NAMES
        for b in NAMES
    }
    curves[NAMES[0], NAMES[1]] = figures.Curve(iterations, np.full(25, -2.0), np.full(25, np.nan))
    image = assert_reproducible(
        tmp_path,
        lambda path: figures.learning_curves_png(path, "ipd", NAMES, curves, "reward per step"),
    )
    # 16 panels, 4 to a line, and a legend of 16 opponents: at page width, unscaled
    assert image.shape[1] <= 1400


def test_learning_curves_degenerate(tmp_path):
    one = {("x", "x"): figures.Curve(np.array([1.0]), np.array([0.5]), np.array([0.0]))}
    figures.learning_curves_png(tmp_path / "one.png", "t", ["x"], one, "v")
    read_png(tmp_path / "one.png")
    figures.learning_curves_png(tmp_path / "empty.png", "t", ["x", "y"], {}, "v")
    read_png(tmp_path / "empty.png")
