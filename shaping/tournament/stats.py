"""Means and 95% intervals over independent seeds.

The interval is the Student-t one, mean ± t(0.975, S − 1)·sd/√S, because tournaments run few
seeds per match (2-8 on the coin game) where the normal 1.96 would be far too narrow: with 4
seeds t is 3.18.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


def _student_t_density(x: np.ndarray, dof: int) -> np.ndarray:
    log_norm = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    return np.exp(log_norm - (dof + 1) / 2 * np.log1p(x * x / dof))


def _student_t_cdf(x: float, dof: int) -> float:
    """P(T <= x) for x >= 0 by Simpson's rule on [0, x] (smooth integrand, 4096 panels)."""
    grid = np.linspace(0.0, x, 4097)
    density = _student_t_density(grid, dof)
    weights = np.ones_like(grid)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return 0.5 + float((weights * density).sum()) * (x / 4096) / 3


@lru_cache(maxsize=256)
def student_t_quantile(probability: float, dof: int) -> float:
    """The `probability` quantile (> 0.5) of Student's t with `dof` degrees of freedom,
    by Newton's method on the CDF starting from the normal quantile."""
    if not 0.5 < probability < 1 or dof < 1:
        raise ValueError(f"need 0.5 < probability < 1 and dof >= 1, got {probability}, {dof}")
    x = 1.959963984540054 if probability == 0.975 else 1.0
    for _ in range(100):
        step = (_student_t_cdf(x, dof) - probability) / float(_student_t_density(np.array(x), dof))
        x = max(x - step, x / 2)  # never jump to or past zero on the heavy-tailed side
        if abs(step) < 1e-10 * max(1.0, x):
            break
    return x


def mean_ci95(samples: np.ndarray) -> tuple[float, float | None]:
    """Mean of independent samples and the half-width of its 95% Student-t interval
    (None with a single sample)."""
    samples = np.asarray(samples, dtype=np.float64)
    mean = float(samples.mean())
    if samples.size < 2:
        return mean, None
    spread = float(samples.std(ddof=1)) / math.sqrt(samples.size)
    return mean, student_t_quantile(0.975, samples.size - 1) * spread
