"""Logs kept as circular queues: their list header and the order of their entries.

The log tables (BT26, BT74, ET31, ET41, ET45, ET74, ET75, ET79, ET81) and the
load profile data sets (BT63) keep a fixed array of entries whose valid ones
end at the "last entry element" and wrap around the end of the array.  The
header in front of the array and the oldest-first order of its elements are
defined once here (:func:`entry_order` reads that order from a decoded header);
``history``, ``devices`` and ``loadprofile`` build on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .types import BitGroup, Dim, Field, flag, uint8, uint16, uint32

if TYPE_CHECKING:
    from .layout import TableDecode

_UINT = {1: uint8, 2: uint16, 4: uint32}

ORDER = {0: "Ascending (N is older than N+1)", 1: "Descending"}
"""The list flags' Order bit."""
LIST_TYPE = {0: "FIFO", 1: "Circular queue"}
"""The list flags' List Type bit."""

LIST_FLAGS = BitGroup(1, (
    flag("order", "Order (1 = descending)", 0),
    flag("overflow", "Overflow", 1),
    flag("list_type", "List Type (1 = circular queue)", 2),
    flag("inhibit_overflow", "Inhibit Overflow", 3),
))
"""BOOL(0..3) list flags as the self-read style headers print them."""


def list_header(flags: BitGroup, count_size: int = 1,
                sequence_size: int = 2) -> tuple[Field, ...]:
    """``flags``, then the number of valid entries, last entry element, last
    entry sequence number and number of unread entries (counts ``count_size``
    bytes wide, the sequence number ``sequence_size``)."""
    count = _UINT[count_size]
    return (
        flags,
        count("nbr_valid_entries", "Number of Valid Entries"),
        count("last_entry_element", "Last Entry Element"),
        _UINT[sequence_size]("last_entry_sequence_number", "Last Entry Sequence Number"),
        count("nbr_unread_entries", "Number of Unread Entries"),
    )


SHORT_HEADER = list_header(LIST_FLAGS)
"""The 6-byte header of BT26, ET31, ET41, ET75 and ET81 (entries start at offset 6)."""


def queue_order(n_entries: int, last_entry: int, nbr_valid: int,
                descending: bool = False) -> list[int]:
    """Physical element indices of the valid entries, oldest first.

    The newest entry is ``last_entry`` and the ``nbr_valid`` valid ones end
    there, wrapping around the ``n_entries`` elements of the circular queue
    (at most ``n_entries`` of them).  In the guides' ascending order element N
    is older than N+1; ``descending`` reverses that.  An inconsistent header
    (last element outside the array) gives no entries.
    """
    if n_entries <= 0 or nbr_valid <= 0 or not 0 <= last_entry < n_entries:
        return []
    valid = min(nbr_valid, n_entries)
    step = -1 if descending else 1
    return [(last_entry - step * (valid - 1 - k)) % n_entries for k in range(valid)]


def entry_order(decoded: TableDecode | Mapping[str, Any], capacity: Dim | int,
                unread_only: bool = False) -> list[int]:
    """:func:`queue_order` of a log from a decode holding its list header.

    ``decoded`` is a :class:`~.layout.TableDecode` or a ``{path: value}``
    mapping of the header; ``capacity`` the number of array elements, or the
    :class:`Dim` counting them, whose value the decode was laid out with
    (:meth:`~.layout.TableDecode.dim`; a mapping needs a number).  The Order
    flag is honoured; ``unread_only`` keeps the newest "Number of Unread
    Entries" elements.  Without the header in the decode: ``[]``.
    """
    if isinstance(decoded, Mapping):
        if isinstance(capacity, Dim):
            raise TypeError("a {path: value} mapping needs the capacity as a number")
        values: Mapping[str, Any] = decoded
    else:
        values = decoded.values()
        if isinstance(capacity, Dim):
            capacity = decoded.dim(capacity)
    try:
        n, last = int(values["nbr_valid_entries"]), int(values["last_entry_element"])
    except (KeyError, TypeError, ValueError):
        return []
    order = queue_order(capacity, last, n, bool(values.get("order", False)))
    if unread_only:
        unread = max(0, int(values.get("nbr_unread_entries", 0)))
        order = order[len(order) - min(unread, len(order)):]
    return order


__all__ = ["LIST_FLAGS", "SHORT_HEADER", "entry_order", "list_header", "queue_order"]
