"""ANSI C12.18 application layer: service request codes, response codes, baud rates.

The optical port (and, on Gen 2/3 meters, the UART it shares with MEP) speaks
C12.18 services inside link-layer packets (:mod:`.c1218link`).  These tables are
the one place the codes are named; the dissectors, the optical simulator and the
client all read them from here.
"""

from __future__ import annotations

IDENTIFY = 0x20
TERMINATE = 0x21
READ_FULL = 0x30
READ_INDEX_FIRST, READ_INDEX_LAST = 0x31, 0x39
"""Partial reads by index: the low nibble counts the index elements that follow."""
READ_OFFSET = 0x3F
WRITE_FULL = 0x40
WRITE_INDEX_FIRST, WRITE_INDEX_LAST = 0x41, 0x49
WRITE_OFFSET = 0x4F
LOGON = 0x50
SECURITY = 0x51
LOGOFF = 0x52
NEGOTIATE_FIRST, NEGOTIATE_LAST = 0x60, 0x6B
"""Negotiate: the low nibble counts the baud-rate codes the request proposes."""
WAIT = 0x70


def service_name(code: int) -> str:
    """A request code's service, e.g. ``0x3F`` -> ``"Partial Read (offset)"``."""
    if code in SERVICES:
        return SERVICES[code]
    if READ_INDEX_FIRST <= code <= READ_INDEX_LAST:
        return f"Partial Read (index, {code & 0x0F} elements)"
    if WRITE_INDEX_FIRST <= code <= WRITE_INDEX_LAST:
        return f"Partial Write (index, {code & 0x0F} elements)"
    if NEGOTIATE_FIRST <= code <= NEGOTIATE_LAST:
        return f"Negotiate ({code & 0x0F} baud rates)"
    return f"Unknown service 0x{code:02X}"


SERVICES: dict[int, str] = {
    IDENTIFY: "Identify",
    TERMINATE: "Terminate",
    READ_FULL: "Full Read",
    READ_OFFSET: "Partial Read (offset)",
    WRITE_FULL: "Full Write",
    WRITE_OFFSET: "Partial Write (offset)",
    LOGON: "Logon",
    SECURITY: "Security",
    LOGOFF: "Logoff",
    WAIT: "Wait",
}
"""Services with a fixed code; the index reads/writes and negotiate are ranges."""

RESPONSES: dict[int, tuple[str, str]] = {
    0x00: ("ok", "Acknowledge"),
    0x01: ("err", "Error"),
    0x02: ("sns", "Service Not Supported"),
    0x03: ("isc", "Insufficient Security Clearance"),
    0x04: ("onp", "Operation Not Possible"),
    0x05: ("iar", "Inappropriate Action Requested"),
    0x06: ("bsy", "Device Busy"),
    0x07: ("dnr", "Data Not Ready"),
    0x08: ("dlk", "Data Locked"),
    0x09: ("rno", "Renegotiate Request"),
    0x0A: ("isss", "Invalid Service Sequence State"),
}
"""Response code -> (C12.18 mnemonic, meaning)."""
OK = 0x00
ERR = 0x01
SNS = 0x02
ISC = 0x03
ONP = 0x04
IAR = 0x05
ISSS = 0x0A

BAUD_RATES: dict[int, int | None] = {
    0x00: None,  # set by means outside the protocol
    0x01: 300,
    0x02: 600,
    0x03: 1200,
    0x04: 2400,
    0x05: 4800,
    0x06: 9600,
    0x07: 14400,
    0x08: 19200,
    0x09: 28800,
    0x0A: 57600,
    0x0B: 38400,
    0x0C: 115200,
    0x0D: 128000,
    0x0E: 256000,
}
"""Negotiate's baud-rate codes -> bits per second."""

PASSWORD_LEN = 20
"""The security service's password field: 20 bytes (shorter keys are padded)."""
LOGON_USER_LEN = 10
"""The logon service's user name field, after the 2-byte user id."""
