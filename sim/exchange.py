"""What the simulated meter did with one request, for logs and tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Exchange:
    """What happened to one request (for logs and tests)."""

    kind: str
    """"read", "write", "procedure", "auth", "sequence", "error"."""
    code: int
    key: str | None = None
    table: int | None = None
    encrypted: bool = False
