"""The line's timing rules (MEP guide, chapter 2, "MEP Protocol Timing"), in seconds.

Each side keeps its share of them: the client waits for an answer and
spaces its requests, the meter abandons a stalled request, segments long
responses and paces its alerts, and the dissectors hold captures against
the same numbers.  They live here once, so the simulator, the client and
the generated Lua cannot drift apart.
"""

from __future__ import annotations

BITS_PER_BYTE = 10
"""A character on the line in 8N1: start bit, eight data bits, stop bit."""

RESPONSE_TIMEOUT = 0.500
"""Client response timeout: from the request's last byte to the response's length."""
MIN_REQUEST_SPACING = 0.100
"""The meter serves at most one request per 100 ms."""
INTRA_FRAME_TIMEOUT = 0.050
"""A request whose bytes stop for longer than this is abandoned by the meter."""
SEGMENT = 117
"""A long response goes out in segments of this many bytes ..."""
SEGMENT_PAUSE = 0.025
"""... with this pause after each one (a framer must not split a frame there)."""
ALERT_PERIOD = 1.0
"""While an alert condition lasts, the alert sequence repeats this often."""
ALERT_HOLDOFF = 1.0
"""No alert sequence goes out within this long after a frame was received."""


def byte_time(baud: int) -> float:
    """Seconds one character takes on the line at ``baud``."""
    return BITS_PER_BYTE / baud
