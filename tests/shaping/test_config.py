"""Config values as researchers type them: every float spelling Python reads, nothing
non-finite."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shaping.cli import main
from shaping.contracts.config import build_config, field, positive
from shaping.contracts.errors import ConfigError


@dataclass(frozen=True)
class Rates:
    lr: float = field(1.0, check=positive)
    clip: float | None = None


@pytest.mark.parametrize(
    ("typed", "value"),
    [("1e-3", 1e-3), ("3E-4", 3e-4), (" 2.5 ", 2.5), ("1_000.0", 1000.0), (5, 5.0), (0.1, 0.1)],
)
def test_every_float_spelling_python_reads_is_accepted(typed, value):
    assert build_config(Rates, {"lr": typed}, "test").lr == value
    assert build_config(Rates, {"clip": typed}, "test").clip == value


@pytest.mark.parametrize(
    "typed", [float("inf"), float("-inf"), float("nan"), "inf", "nan", "1e999"]
)
def test_non_finite_values_are_refused_naming_the_field(typed):
    with pytest.raises(ConfigError, match=r"^test\.lr: must be a finite number, got"):
        build_config(Rates, {"lr": typed}, "test")


@pytest.mark.parametrize("typed", ["fast", True, [1.0], "1e-3x"])
def test_non_numbers_are_still_refused(typed):
    with pytest.raises(ConfigError, match=r"^test\.lr: must be a number, got"):
        build_config(Rates, {"lr": typed}, "test")


def test_set_accepts_exponent_floats_and_refuses_inf_before_any_work(capsys, tmp_path):
    """YAML 1.1 reads `1e-3` as a string and `.inf` as infinity: both reach validation."""
    argv = ["match", "--game", "ipd", "--a", "naive", "--b", "naive", "--seeds", "2"]
    assert main([*argv, "--iterations", "2", "--set-a", "lr=1e-3", "--json", "-"]) == 0
    capsys.readouterr()
    assert main([*argv, "--iterations", "2", "--set-a", "lr=.inf"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("lr: must be a finite number, got inf") and "\n" not in err
