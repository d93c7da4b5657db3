"""Access rights of the two keys (MEP guide, chapter 2 "Access Levels" and Appendix C).

Every table can be read with either key.  The MBK may write only a handful
of tables and start a few procedures; the MAK may write the tables marked
writable in Appendix C and start every procedure.  Tables marked read-only
there cannot be written by either key.  The simulated meter enforces these
rights; a client or a test can ask the same questions before it tries.
"""

from __future__ import annotations

from ..tables import table_id
from .procedure_calls import procedure_id

MBK_WRITABLE = frozenset(table_id(t) for t in ("BT07", "ET50", "ET51", "ET52"))
"""Tables the basic key may write."""

MAK_WRITABLE = MBK_WRITABLE | frozenset(table_id(t) for t in (
    "BT15", "BT23", "BT24", "BT33", "BT54", "ET02", "ET03", "ET04", "ET05", "ET06", "ET07",
    "ET09", "ET13", "ET23", "ET34", "ET40", "ET47", "ET55", "ET57", "ET67", "ET76", "ET77",
    "ET80",
))
"""Tables the advanced key may write (Appendix C, "MAK Has Write Access")."""

MBK_PROCEDURES = frozenset(procedure_id(t) for t in ("EP16", "EP17", "EP39", "EP61"))
"""Procedures the basic key may start."""


def may_write(key_name: str, tid: int) -> bool:
    """Whether a request verified by ``key_name`` ("MBK"/"MAK") may write table ``tid``."""
    return tid in (MAK_WRITABLE if key_name == "MAK" else MBK_WRITABLE)


def may_call(key_name: str, number: int) -> bool:
    """Whether ``key_name`` may start procedure ``number`` (12-bit, EPxx = 2048 + xx)."""
    return key_name == "MAK" or number in MBK_PROCEDURES


# --- the optical port (optical guide, "Security and Keys" and each table's access line) --------

OPTICAL_KEYS = ("MK", "PK", "RK")
"""The optical port's passwords: unique (MK), provisioning (PK) and read-only (RK) key."""

OPTICAL_OPEN = frozenset(table_id(t) for t in ("BT00", "BT01", "ET03"))
"""Tables the optical port lets anyone read, before or without a password."""

OPTICAL_NOT_RK = frozenset(table_id(t) for t in ("BT04", "ET21", "ET51"))
"""Tables whose read access the optical guide gives to MK and PK only."""
