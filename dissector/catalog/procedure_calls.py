"""Calling a procedure: the BT07 image that starts one, the response image
that reports it, the ANSI result codes by name, and EP39's posting types.

The client builds the first, the simulated meter the second; decoding both
is :mod:`.procedures`' job.  Keeping the images here, next to the layouts
they must match, lets neither side carry its own copy.

EP39 "Post MEP Data": our copy of the MEP guide names its posting types
("Scheduled Read Data", "... + Alarms", "Clear M-Bus Alert", "Clear Delta
Data Alert") but gives no parameter table and a number only for the last
(12).  Client and simulator therefore agree on this assumption: the first
parameter byte carries the posting type as numbered in :data:`EP39_TYPES`
(the guide's 12, our 0..2 for the others), the posted data follows.  The
dissectors keep EP39's parameters opaque, since the guide does not lay
them out (see docs/guide-notes.md).
"""

from __future__ import annotations

from ..tables import MANUFACTURER_BASE
from .procedures import EP39_TYPES as GUIDE_EP39_TYPES
from .procedures import NUMBER_MASK


def procedure_id(tag: str) -> int:
    """``"EP39"`` -> 2087, ``"BP05"`` -> 5 (the inverse of ``procedure_tag``)."""
    kind, num = tag[:2].upper(), int(tag[2:])
    if kind == "BP":
        return num
    if kind == "EP":
        return MANUFACTURER_BASE + num
    raise ValueError(f"not a procedure tag: {tag!r}")


POST_MEP_DATA = procedure_id("EP39")
"""EP39, the procedure a client runs when the alert flags ask for data or a clear."""

# Names for the keys of procedures.RESULT_CODES (BT08/ET59 "Result Code").
COMPLETED, NOT_COMPLETED, INVALID_PARAMETER, CONFLICT, TIMING, NO_AUTH, UNRECOGNIZED = range(7)

# EP39 posting types: the guide numbers only Clear Delta Data Alert; the others are ours.
SCHEDULED_READ, SCHEDULED_READ_ALARMS, CLEAR_MBUS_ALERT = range(3)
(CLEAR_DELTA_ALERT,) = (k for k, v in GUIDE_EP39_TYPES.items() if v == "Clear Delta Data Alert")
EP39_TYPES = {
    SCHEDULED_READ: "Scheduled Read Data",
    SCHEDULED_READ_ALARMS: "Scheduled Read Data + Alarms",
    CLEAR_MBUS_ALERT: "Clear M-Bus Alert",
    CLEAR_DELTA_ALERT: "Clear Delta Data Alert",
}
"""EP39 posting type (first parameter byte) -> its name in the guide."""


def ep39_params(post_type: int, data: bytes = b"") -> bytes:
    """EP39 parameters: the posting type, then the posted data."""
    return bytes([post_type]) + data


def _word(number: int) -> bytes:
    """The procedure word: number bits only, response handling 0 (post on completion)."""
    return (number & NUMBER_MASK).to_bytes(2, "little")


def bt07_image(number: int, sequence: int, params: bytes = b"") -> bytes:
    """The bytes a client writes to BT07 to start procedure ``number``."""
    return _word(number) + bytes([sequence & 0xFF]) + params


def response_image(number: int, sequence: int, result: int, data: bytes = b"") -> bytes:
    """A procedure's outcome as BT08/ET59/ET85 hold it: word, sequence, result, data."""
    return _word(number) + bytes([sequence & 0xFF, result]) + data
