"""Student-t intervals over seeds: quantiles against tables, coverage by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from shaping.tournament.stats import mean_ci95, student_t_quantile


@pytest.mark.parametrize(
    ("dof", "table"),
    # two-sided 95% critical values of Student's t (any statistics table)
    [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (7, 2.365), (30, 2.042), (10**6, 1.960)],
)
def test_quantiles_match_the_tables(dof, table):
    assert student_t_quantile(0.975, dof) == pytest.approx(table, abs=5e-4)


def test_other_quantiles_and_bad_arguments():
    assert student_t_quantile(0.95, 10) == pytest.approx(1.812, abs=5e-4)
    with pytest.raises(ValueError):
        student_t_quantile(0.975, 0)


def test_interval_covers_the_true_mean_95_percent_of_the_time():
    samples = np.random.default_rng(0).normal(3.0, 2.0, size=(4000, 4))
    covered = 0
    for row in samples:
        mean, half_width = mean_ci95(row)
        covered += abs(mean - 3.0) <= half_width
    # binomial standard error at 4000 trials is 0.34%; the normal 1.96 would give ~87.8%
    assert covered / 4000 == pytest.approx(0.95, abs=0.012)


def test_single_sample_has_no_interval():
    assert mean_ci95(np.array([2.5])) == (2.5, None)
