"""What the command-line tools share: one-line usage errors, option values, keys.

mep-sim and mep-client print every error as a single line with the fix
(docs/architecture.md, "Command-line tools"); argparse's own exit on a usage error is
turned into :class:`UsageError` so that the same printing applies.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from .security import Key, load_keys


class UsageError(Exception):
    """A mistake in the command line or its inputs; printed as one line."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises :class:`UsageError` instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def keys_or_usage_error(key_file: str | os.PathLike | None) -> list[Key]:
    """:func:`~.security.load_keys` from ``key_file`` and the environment, MAK first;
    an unreadable or malformed key file is a :class:`UsageError`."""
    try:
        return load_keys(key_file=key_file)
    except (OSError, ValueError) as exc:
        raise UsageError(f"keys: {exc}") from None


def baud_warning(baud: int) -> str | None:
    """Why ``baud`` is unusual on a MEP port, or None when ET13 can set the port to it.

    The rates come from the catalog's ET13/ET14 baud rate codes (300 to
    9600, up to 115200 on newer meters); another rate is tried, with this
    warning, since adapters and serial servers may still run it.
    """
    from .catalog.manufacturer import BAUD_RATES  # imported here: the catalog is big

    rates = sorted({int(label.split()[0]) for label in BAUD_RATES.values()})
    if baud in rates:
        return None
    return (f"{baud} baud is not a rate a MEP port is set to "
            f"({', '.join(map(str, rates))}); trying it anyway")


def _positive_number(text: str, what: str, integer: bool) -> float | int:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise UsageError(f"{what} needs a number, not {text!r}") from None
    if value <= 0:
        raise UsageError(f"{what} must be positive")
    return value


def parse_conditions(items: Sequence[str], allowed: dict[str, bool], flag: str) -> dict:
    """``["duration:10", "files:3"]`` -> ``{"duration": 10.0, "files": 3}``."""
    out: dict[str, float | int] = {}
    for item in items:
        key, sep, val = item.partition(":")
        if not sep or key not in allowed:
            keys = ", ".join(f"{k}:N" for k in allowed)
            raise UsageError(f"{flag} {item!r} not understood; use {keys}")
        out[key] = _positive_number(val, f"{flag} {key}", allowed[key])
    return out
