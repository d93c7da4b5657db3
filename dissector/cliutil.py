"""What the command-line tools share: one-line usage errors.

mep-sim and mep-client print every error as a single line with the fix
(DESIGN.md, "Packaging and CLIs"); argparse's own exit on a usage error is
turned into :class:`UsageError` so that the same printing applies.
"""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """A mistake in the command line or its inputs; printed as one line."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises :class:`UsageError` instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")
