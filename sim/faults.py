"""Deliberate misbehaviour, to test clients and dissectors against a bad line.

Counters (``drop``, ``corrupt``, ``garbage``) apply to that many
next responses; ``rate`` makes each response misbehave at random with that
probability (one of drop, corrupt or garbage, from a seeded generator, so a
run is repeatable); ``delay`` holds every response back that many seconds;
``hang`` leaves every request unanswered until a client resets the port by
dropping ENABLE.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

GARBAGE = bytes.fromhex("ff a5 5a 13")
"""Bytes injected before a response: they start no valid frame."""


@dataclass
class Faults:
    drop: int = 0
    """Drop the next N responses (the request was still executed)."""
    corrupt: int = 0
    """Flip a bit in the digest of the next N responses."""
    garbage: int = 0
    """Put line noise before the next N responses."""
    delay: float = 0.0
    """Seconds to wait before every response."""
    hang: bool = False
    """The port ignores everything until ENABLE is dropped (a stuck port; clients reset it)."""
    rate: float = 0.0
    """Probability that a response misbehaves at random."""
    seed: int = 1
    _rng: random.Random = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def pick(self) -> str | None:
        """The misbehaviour for the response about to go out, if any."""
        for name in ("drop", "corrupt", "garbage"):
            n = getattr(self, name)
            if n > 0:
                setattr(self, name, n - 1)
                return name
        if self.rate and self._rng.random() < self.rate:
            return self._rng.choice(("drop", "corrupt", "garbage"))
        return None

    @staticmethod
    def corrupted(frame: bytes) -> bytes:
        """The frame with one bit of its last byte (the digest) flipped."""
        return frame[:-1] + bytes([frame[-1] ^ 0x01])
