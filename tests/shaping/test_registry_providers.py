"""Registry providers: one YAML entry standing for a family of names `<provider>:<value>`."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from algorithms.fixed import FixedStrategy
from shaping.contracts.config import field
from shaping.contracts.errors import ConfigError
from shaping.engine.registry import Registry
from shaping.tournament.plan import build_plan
from shaping.tournament.profile import load_profile
from tests.tournament.helpers import zoo_copy

STRATEGIES = ("always_cooperate", "always_defect", "tit_for_tat", "random")


@dataclass(frozen=True)
class NamedConfig:
    strategy: str = field(doc="which fixed strategy, from the name fixed:<strategy>")


class NamedFixed(FixedStrategy):
    """A test-only provider: `fixed:<strategy>` plays that fixed strategy."""

    Config = NamedConfig

    @classmethod
    def check_parameter(cls, value: str) -> str | None:
        return None if value in STRATEGIES else f"not a fixed strategy (known: {STRATEGIES})"

    @classmethod
    def parameter_choices(cls) -> list[str]:
        return list(STRATEGIES)


PROVIDER = """
fixed:
  module: tests.shaping.test_registry_providers:NamedFixed
  parameter: strategy
  description: "any fixed strategy by name"
  unsupported: {coin_game: "test-only: matrix games"}
"""


def test_a_provider_resolves_names_and_is_not_an_entrant_itself(tmp_path):
    registry = Registry.load(zoo_copy(tmp_path, PROVIDER))
    assert "fixed" in registry.providers and "fixed" not in registry.algorithms
    entry = registry.algorithm("fixed:always_defect")
    assert entry.name == "fixed:always_defect"
    assert entry.config("ipd").strategy == "always_defect"
    assert entry.unsupported_reason("coin_game") == "test-only: matrix games"
    assert registry.algorithm("fixed:always_defect") is entry
    with pytest.raises(ConfigError, match=r"--a: 'fixed:never': not a fixed strategy"):
        registry.algorithm("fixed:never", "--a")
    with pytest.raises(ConfigError, match=r"unknown algorithm 'fixed' \(write fixed:<strategy>\)"):
        registry.algorithm("fixed")
    # planned like any entrant; the default field (every registered algorithm) excludes it
    quick = load_profile("quick", registry)
    plan = build_plan(registry, quick, games=["ipd", "coin_game"],
                      algorithms=["naive", "fixed:tit_for_tat"], league=False)  # fmt: skip
    assert [e["name"] for e in plan.entrants] == ["naive", "fixed:tit_for_tat"]
    assert sum(cell.match is None for cell in plan.cells) == 3  # n/a on the coin game
    assert all("fixed" not in e["name"] for e in build_plan(registry, quick).entrants)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (PROVIDER.replace("parameter: strategy", "parameter: strat"), "has no field 'strat'"),
        (
            PROVIDER.replace("NamedFixed", "FixedStrategy").replace(
                "tests.shaping.test_registry_providers", "algorithms.fixed"
            ),
            "must define the classmethod check_parameter",
        ),
        (
            PROVIDER + "  defaults: {strategy: random}\n",
            r"strategy is set by the name \(fixed:<strategy>\), not here",
        ),
    ],
)
def test_malformed_providers_are_one_line_errors(tmp_path, entry, message):
    with pytest.raises(ConfigError, match=message):
        Registry.load(zoo_copy(tmp_path, entry))
