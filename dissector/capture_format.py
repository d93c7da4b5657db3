"""How a MEP capture file is laid out: link type, direction flags, unframed comment.

These are conventions shared by whoever writes a capture (``mep-capture``,
the client's recorder, the sample generators) and whoever reads one (the
scapy side, the Lua dissector, tshark filters), so they live on the reading
side, in ``dissector/``; the writers import them from here.
"""

from __future__ import annotations

DLT_USER0 = 147
"""LINKTYPE_USER0, the link type MEP captures use unless told otherwise."""
DLT_USER_RANGE = range(147, 163)
"""LINKTYPE_USER0..15: MEP has no link type of its own, any user DLT may carry it."""

# Enhanced Packet Block flags, bits 0-1: the direction of the packet.
EPB_INBOUND = 1
"""meter -> client"""
EPB_OUTBOUND = 2
"""client -> meter"""

UNFRAMED_COMMENT = "mep-capture: unframed: "
"""Start of the comment on a packet that holds bytes forming no MEP frame.

A capture writes such bytes as their own packet (nothing read is lost); the
dissectors show them as unframed and keep them out of pairing.
"""


def check_dlt(dlt: int) -> int:
    """Accept only the user DLTs 147..162 (LINKTYPE_USER0..15)."""
    if dlt not in DLT_USER_RANGE:
        raise ValueError(f"DLT {dlt} is not a user DLT; use 147..162")
    return dlt
