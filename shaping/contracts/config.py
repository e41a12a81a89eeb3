"""Typed, validated configuration dataclasses built from YAML mappings.

Every algorithm and game declares its hyperparameters as a frozen dataclass whose fields carry
an optional `check` (see `positive`, `non_negative`, `in_range`, ...). `build_config` turns a
raw mapping into that dataclass and raises a one-line `ConfigError` naming the file and the
field for unknown fields, missing fields, values of the wrong type and values out of range.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from shaping.contracts.errors import ConfigError

T = TypeVar("T")
Check = Callable[[Any], "str | None"]


def field(default: Any = dataclasses.MISSING, *, check: Check | None = None, doc: str = "") -> Any:
    """A dataclass field with an optional value check and a one-line description."""
    metadata = {"check": check, "doc": doc}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: default, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def positive(value: float) -> str | None:
    """Check: strictly greater than zero."""
    return None if value > 0 else f"must be > 0, got {value!r}"


def non_negative(value: float) -> str | None:
    """Check: zero or more (learning rates, temperatures, coefficients)."""
    return None if value >= 0 else f"must be >= 0, got {value!r}"


def in_range(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Check:
    """Check: inside [low, high], with either end optionally open."""

    def check(value: float) -> str | None:
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            return f"must be in {left}{low}, {high}{right}, got {value!r}"
        return None

    return check


def discount(value: float) -> str | None:
    """Check: a discount factor in [0, 1)."""
    return in_range(0.0, 1.0, high_open=True)(value)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _finite_float(value: Any, where: str) -> float:
    """A finite number, from a YAML number or from any spelling Python's float() reads: YAML
    1.1 reads `1e-3` and `3e-4` (no dot) as strings, and researchers type them every day."""
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None:
        raise ConfigError(f"{where}: must be a number, got {value!r}")
    if not math.isfinite(number):
        raise ConfigError(f"{where}: must be a finite number, got {value!r}")
    return number


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a YAML value to the annotated type, or raise ConfigError naming `where`."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(
            errors[0] if len(errors) == 1 else f"{where}: {value!r} matches no allowed type"
        )
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where}: must be one of {list(allowed)}, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: must be an integer, got {value!r}")
        return value
    if tp is float:
        return _finite_float(value, where)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: must be a string, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: must be a list, got {value!r}")
        args = get_args(tp)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if origin is tuple:
            if len(value) != len(args):
                raise ConfigError(f"{where}: must have {len(args)} entries, got {len(value)}")
            return tuple(
                _coerce(v, a, f"{where}[{i}]")
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        item = args[0] if args else Any
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: must be a mapping, got {value!r}")
        key_type, value_type = get_args(tp) or (Any, Any)
        return {
            _coerce(k, key_type, f"{where}"): _coerce(v, value_type, f"{where}.{k}")
            for k, v in value.items()
        }
    if dataclasses.is_dataclass(tp):
        return build_config(tp, value, where)
    raise TypeError(f"unsupported config annotation {_type_name(tp)} at {where}")


def build_config(
    cls: type[T],
    raw: Mapping[str, Any] | None,
    where: str,
    field_paths: Mapping[str, str] | None = None,
) -> T:
    """Build and validate the dataclass `cls` from `raw`; errors name `where` and the field.

    `field_paths` optionally gives, per field, the full path to name in errors when a field
    was merged in from somewhere other than `where` (e.g. an algorithm's `defaults` block).
    """
    field_paths = field_paths or {}
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping of fields, got {raw!r}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(known))
    if unknown:
        path = field_paths.get(unknown[0], f"{where}.{unknown[0]}")
        raise ConfigError(f"{path}: unknown field (known fields: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for name, spec in known.items():
        path = field_paths.get(name, f"{where}.{name}")
        if name in raw:
            value = _coerce(raw[name], hints[name], path)
        elif spec.default is not dataclasses.MISSING:
            value = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            value = spec.default_factory()
        else:
            raise ConfigError(f"{path}: missing required field")
        check = spec.metadata.get("check")
        if check is not None and value is not None:
            problem = check(value)
            if problem:
                raise ConfigError(f"{path}: {problem}")
        values[name] = value
    config = cls(**values)
    validate = getattr(config, "validate", None)
    if validate is not None:
        problem = validate()
        if problem:
            raise ConfigError(f"{where}: {problem}")
    return config


def config_as_dict(config: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a config dataclass (tuples become lists)."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(config)


def describe_fields(cls: type) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, doc) for each field of a config dataclass, for `shaping list`."""
    hints = typing.get_type_hints(cls)
    rows = []
    for spec in dataclasses.fields(cls):
        if spec.default is not dataclasses.MISSING:
            default = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            default = spec.default_factory()
        else:
            default = "(required)"
        rows.append(
            (spec.name, _type_name(hints[spec.name]), default, spec.metadata.get("doc", ""))
        )
    return rows
