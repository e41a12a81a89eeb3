"""Exceptions the zoo raises on purpose, each with a message a user can act on."""

from __future__ import annotations


class ZooError(Exception):
    """Base class of the zoo's own errors."""


class ConfigError(ZooError, ValueError):
    """A configuration value, name or file is wrong.

    The message always names the file (when there is one) and the offending field, on one
    line, so that the CLI can print it as is and exit with status 2.
    """


class UnsupportedError(ZooError):
    """An algorithm cannot play a game, or a policy kind is not supported by an operation."""


class MatchDiverged(ZooError, FloatingPointError):
    """A match produced a non-finite reward or parameter."""
