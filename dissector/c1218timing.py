"""ANSI C12.18 link-layer timing and retry limits (the optical port's counterpart of timing.py).

Both ends keep them: the simulator when it waits for the client's ACK, the
client when it waits for the meter's ACK and answer.
"""

from __future__ import annotations

RESPONSE_TIMEOUT = 2.0
"""Seconds a sender waits for the ACK (or NAK) of a packet before sending it again."""
RETRIES = 3
"""Times a packet is sent again (after a NAK or a response timeout) before giving up."""
INTER_CHARACTER_TIMEOUT = 0.5
"""Silence inside a packet after which the receiver drops what it has of it."""
CHANNEL_TRAFFIC_TIMEOUT = 6.0
"""Silence after which the meter ends the session (back to its base state)."""
