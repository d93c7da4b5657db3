"""Counters of a capture and the live status line shown on a terminal."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND

from .serialport import ERROR_KINDS

_ERROR_NAMES = {"frame": "framing", "overrun": "overrun", "parity": "parity",
                "brk": "break", "buf_overrun": "buffer overrun"}


@dataclass
class Counters:
    """What a capture has seen so far; the status line and the final summary print these."""

    frames: dict[int, int] = field(default_factory=lambda: {EPB_INBOUND: 0, EPB_OUTBOUND: 0, 0: 0})
    """Frames and alerts written, by EPB direction (0 = not known)."""
    frame_bytes: dict[int, int] = field(
        default_factory=lambda: {EPB_INBOUND: 0, EPB_OUTBOUND: 0, 0: 0})
    bytes_read: int = 0
    unframed_bytes: int = 0
    unframed_packets: int = 0
    packets: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_KINDS, 0))
    gaps: int = 0

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())


def describe_errors(counts: dict[str, int]) -> str:
    """``{"frame": 2, "overrun": 1}`` -> ``"2 framing, 1 overrun"``."""
    return ", ".join(f"{n} {_ERROR_NAMES.get(k, k)}" for k, n in counts.items() if n)


def _size(n: int) -> str:
    if n < 10_000:
        return f"{n} B"
    if n < 10_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1e6:.1f} MB"


def _elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def status_text(c: Counters, elapsed: float) -> str:
    """One line: frames and bytes per direction, unframed bytes, errors, elapsed time."""
    parts = [
        f"meter→client {c.frames[EPB_INBOUND]} fr {_size(c.frame_bytes[EPB_INBOUND])}",
        f"client→meter {c.frames[EPB_OUTBOUND]} fr {_size(c.frame_bytes[EPB_OUTBOUND])}",
    ]
    if c.frames[0]:
        parts.append(f"unknown {c.frames[0]} fr {_size(c.frame_bytes[0])}")
    parts.append(f"unframed {_size(c.unframed_bytes)}")
    parts.append(f"errors {c.error_total}")
    if c.gaps:
        parts.append(f"gaps {c.gaps}")
    parts.append(_elapsed(elapsed))
    return " | ".join(parts)


class StatusLine:
    """Redraws one line on a terminal (``\\r``), at most a few times a second."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.25):
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._next = 0.0
        self._width = 0

    def update(self, counters: Counters, elapsed: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next:
            return
        self._next = now + self.interval
        text = status_text(counters, elapsed)
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def message(self, text: str) -> None:
        """Print a message line without mangling the status line."""
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
            self._next = 0.0
