"""History tables: self-reads, event logs, outage, demand-reset and one-time-read logs.

Every table here is a C12.19-style list: a small header (flags, number of
valid entries, last entry element, last sequence number, unread entries)
followed by a circular queue of entries (:mod:`.queues`).  :func:`queue_order`
and :func:`log_entries` put the physical entries in time order from that header
(the latter through :func:`.queues.entry_order`, as ET45/ET74's reader does).

Register snapshots (BT26, ET31, ET41) repeat BT23's layout, so they reuse
:data:`.basic.REGISTER_DATA` and follow the BT21 dimensions; the event logs
(BT74, ET79) are sized by BT71 and ET54; the manufacturer logs by ET36.
Choices made where the guides are unclear are listed in ``docs/guide-notes.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .basic import BT21_NBR_DEMANDS, BT21_NBR_SELF_READS, REGISTER_DATA
from .devices import ET36_CURRENT_ENTRIES, ET36_ENTRY_SIZE
from .layout import TableDecode
from .manufacturer import ET54_ET79_ENTRY_COUNT
from .queues import LIST_TYPE, ORDER, SHORT_HEADER, entry_order, list_header, queue_order
from .types import (
    Array,
    BitGroup,
    Bytes,
    Count,
    Dim,
    Field,
    LTimeDate,
    Record,
    STimeDate,
    TableSpec,
    When,
    bits,
    flag,
    uint8,
    uint16,
)

# ------------------------------------------------------------ dimensions

# BT71 (Actual Log) sizes BT74 and ET79; defaults are its Value column.
BT71_EVENT_NUMBER = Dim("BT71", "event_number", 0)
BT71_HISTORY_DATE_TIME = Dim("BT71", "history_date_time", 1)
BT71_HISTORY_SEQUENCE_NUMBER = Dim("BT71", "history_sequence_number", 1)
BT71_HISTORY_DATA_LENGTH = Dim("BT71", "history_data_length", 2)
BT71_NBR_HISTORY_ENTRIES = Dim("BT71", "nbr_history_entries", 100)

# ET36 (Manufacturer Table Actual Dimensions, in devices.py) sizes the
# manufacturer logs: ET31 2 entries of 232 bytes; ET41's entry size is
# "variable" (default 0: entries laid out from BT21 alone); ET81 empty.
ET36_ET31_ENTRY_SIZE = ET36_ENTRY_SIZE["ET31"]
ET36_ET31_CURRENT_ENTRIES = ET36_CURRENT_ENTRIES["ET31"]
ET36_ET41_ENTRY_SIZE = ET36_ENTRY_SIZE["ET41"]
ET36_ET41_CURRENT_ENTRIES = ET36_CURRENT_ENTRIES["ET41"]
ET36_ET81_CURRENT_ENTRIES = ET36_CURRENT_ENTRIES["ET81"]

# ----------------------------------------------------------- list headers
# BT26, ET31, ET41 and ET81 start with the 6-byte :data:`.queues.SHORT_HEADER`.

HISTORY_HEADER = list_header(BitGroup(1, (
    bits("order", "Order", 0, 0, enum=ORDER),
    flag("overflow", "Overflow", 1),
    bits("list_type", "List Type", 2, 2, enum=LIST_TYPE),
    flag("inhibit_overflow", "Inhibit Overflow", 3),
)), count_size=2, sequence_size=4)
"""The 11-byte header of BT74 and ET79 (the optical guide's "bytes 0...9" ends
one byte early: Number of Unread Entries is a UINT16 at 9)."""

# ----------------------------------------------------------- BT26 / ET31

_SNAPSHOT = (
    # "IF BT21.4 != 0": the BIDN exists only with demand configured; the BT26
    # offsets (time at 8) are the with-BIDN case, ET31 prints them as "6 (+2)".
    When(BT21_NBR_DEMANDS, (
        uint16("blg_iface_def_nbr", "Blg Iface Def Nbr (BIDN)", hex=True),
    )),
    STimeDate("time_and_date", "Time and Date"),
    uint8("season", "Season"),
    Record("register_data", "Register Data Received", REGISTER_DATA),
)

BT26 = TableSpec("BT26", "Self-Read Data", (
    *SHORT_HEADER,
    Array("self_read_entries", "Self Read Entries", BT21_NBR_SELF_READS,
          Record("self_read_entry", "Self Read Data Record", _SNAPSHOT)),
))


def _sized_entries(name: str, label: str, count: Count, entry_size: Dim, elt_label: str,
                   fields: tuple[Field, ...]) -> When:
    """``count`` entries placed ``entry_size`` bytes apart (ET36's Entry Size) when
    that size is known (non-zero), else back to back as their fields lie."""
    return When(
        entry_size,
        (Array(name, label, count, Record("entry", elt_label, fields, size=entry_size)),),
        (Array(name, label, count, Record("entry", elt_label, fields)),),
    )


# The ET31 table prints ARRAY[BT21.2] (copied from BT26), but ET36 and ET42
# ("OTR Log Count") dimension the one-time-read log: ET36 wins.
ET31 = TableSpec("ET31", "Meter One-time-read Log", (
    *SHORT_HEADER,
    _sized_entries("one_time_read_entries", "One-time Read Entries",
                   ET36_ET31_CURRENT_ENTRIES, ET36_ET31_ENTRY_SIZE,
                   "One-time Read Data Record", _SNAPSHOT),
))

# ------------------------------------------------------------------ ET41

RESET_REASONS = {0: "Scheduled", 1: "Procedural (MP33, MP34 executed)", 2: "Push button",
                 3: "Pending table activation"}

ET41 = TableSpec("ET41", "Historical Demand Reset Log", (
    *SHORT_HEADER,
    _sized_entries("demand_reset_entries", "Demand Reset Entries",
                   ET36_ET41_CURRENT_ENTRIES, ET36_ET41_ENTRY_SIZE, "Demand reset entry", (
                       uint16("length", "Length", unit="bytes"),
                       uint8("reset_reason", "Reset Reason", enum=RESET_REASONS),
                       uint16("bidn", "BIDN", hex=True),
                       STimeDate("time_and_date", "Time and Date"),
                       uint8("season", "Season"),
                       Record("demand_reset_data", "Demand Reset Data", REGISTER_DATA),
                   )),
))

# ------------------------------------------------------------------ ET81

ET81 = TableSpec("ET81", "Power Outage Log", (
    *SHORT_HEADER,
    Array("log_entries", "Log Entries", ET36_ET81_CURRENT_ENTRIES,
          Record("log_entry", "Power outage", (
              LTimeDate("start_timestamp", "Start Timestamp"),
              LTimeDate("end_timestamp", "End Timestamp"),
          ))),
))

# ------------------------------------------------------------- BT70/BT71


def _log_dims(tag: str, name: str, events: str) -> TableSpec:
    # BT70 counts events where BT71 counts event *bytes* (8 and 19: 64 and 152
    # events as bit sets); both are one UINT8, only the guide's names differ.
    unit = "bytes" if events.endswith("Bytes") else None
    return TableSpec(tag, name, (
        BitGroup(1, (
            flag("event_number", "Event Number", 0),
            flag("history_date_time", "History Date/time", 1),
            flag("history_sequence_number", "History Sequence Number", 2),
            flag("history_inhibit_overflow", "History Inhibit Overflow", 3),
            flag("event_inhibit_overflow", "Event Inhibit Overflow", 4),
        )),
        uint8(f"nbr_standard_{events.lower().replace(' ', '_')}",
              f"Number of Standard {events}", unit=unit),
        uint8(f"nbr_manufacturer_{events.lower().replace(' ', '_')}",
              f"Number of Manufacturer {events}", unit=unit),
        uint8("history_data_length", "History Data Length", unit="bytes"),
        uint8("event_data_length", "Event Data Length", unit="bytes"),
        uint16("nbr_history_entries", "Number of History Entries"),
        uint16("nbr_event_entries", "Number of Event Entries"),
    ))


BT70 = _log_dims("BT70", "Dimension Log", "Events")
BT71 = _log_dims("BT71", "Actual Log", "Event Bytes")

# ------------------------------------------------------------- BT74/ET79

USER_ID_DESC = ("0xFFFF: no user logged in; 0xFFFE: PLC, G3 or P2P message; "
                "0xFFFD: MEP client operation")

HISTORY_RECORD = Record("history_record", "History record", (
    # The guide prints the 12+BT71.3-byte record of its default flags (date/time
    # and sequence number on, event number off); each part follows its BT71 flag,
    # the event number (C12.19) between the two.
    When(BT71_HISTORY_DATE_TIME, (LTimeDate("time", "Time"),)),
    When(BT71_EVENT_NUMBER, (uint16("event_number", "Event Number"),)),
    When(BT71_HISTORY_SEQUENCE_NUMBER, (uint16("sequence_number", "Sequence Number"),)),
    uint16("user_id", "User ID", hex=True, desc=USER_ID_DESC),
    BitGroup(2, (bits("event", "Event", 0, 11),)),
    # ARRAY[BT71.3] OF UINT8 whose meaning depends on the event: shown as bytes.
    Bytes("argument", "Argument", BT71_HISTORY_DATA_LENGTH),
))

BT74 = TableSpec("BT74", "History Log Data (Primary Event Log)", (
    *HISTORY_HEADER,
    Array("history_records", "History Record Array", BT71_NBR_HISTORY_ENTRIES, HISTORY_RECORD),
))

# ET79 prints ARRAY[BT71.5] (copied from BT74), but its text sizes the
# alternate log by ET54.80 ("ET79 Entry Count"): that count is used.
ET79 = TableSpec("ET79", "History Log Data (Alternate Event Log)", (
    *HISTORY_HEADER,
    Array("history_records", "History Record Array", ET54_ET79_ENTRY_COUNT, HISTORY_RECORD),
))

TABLES = (BT26, BT70, BT71, BT74, ET31, ET41, ET79, ET81)

# ----------------------------------------------------------- queue order


@dataclass(frozen=True)
class QueueEntry:
    """One valid entry of a log: its physical array element and sequence number."""

    index: int
    sequence: int | None


def queue_entries(n_entries: int, last_entry: int, nbr_valid: int,
                  last_sequence: int | None = None, modulus: int = 1 << 16,
                  descending: bool = False) -> list[QueueEntry]:
    """:func:`queue_order` with sequence numbers counting up to ``last_sequence``.

    Consecutive numbering holds for the self-read style logs; BT74/ET79 share
    their numbers with each other, so :func:`log_entries` prefers the numbers
    the entries carry.
    """
    return _numbered(queue_order(n_entries, last_entry, nbr_valid, descending),
                     last_sequence, modulus)


def _numbered(order: list[int], last_sequence: int | None, modulus: int) -> list[QueueEntry]:
    """The elements of ``order`` (oldest first) numbered up to ``last_sequence``."""
    newest = len(order) - 1
    return [QueueEntry(i, None if last_sequence is None
                       else (last_sequence - (newest - k)) % modulus)
            for k, i in enumerate(order)]


COUNTS: Mapping[str, tuple[str, Dim]] = {
    "BT26": ("self_read_entries", BT21_NBR_SELF_READS),
    "ET31": ("one_time_read_entries", ET36_ET31_CURRENT_ENTRIES),
    "ET41": ("demand_reset_entries", ET36_ET41_CURRENT_ENTRIES),
    "ET81": ("log_entries", ET36_ET81_CURRENT_ENTRIES),
    "BT74": ("history_records", BT71_NBR_HISTORY_ENTRIES),
    "ET79": ("history_records", ET54_ET79_ENTRY_COUNT),
}
"""Per table: the entry array's name and the dimension counting its elements."""


def log_entries(decoded: TableDecode) -> list[QueueEntry]:
    """The valid entries of a decoded log table, oldest first.

    Needs the header in the decode; the array size is the dimension the
    decode used.  For BT74/ET79 an entry's own 2-byte sequence number, when
    decoded, is widened with the high bytes of the 4-byte last sequence number.
    """
    array, dim = COUNTS[decoded.tag]
    v = decoded.values()
    last_seq = v.get("last_entry_sequence_number")
    width = next((f.slot.size for f in decoded.fields
                  if f.slot.path == "last_entry_sequence_number"), 2)
    out = _numbered(entry_order(decoded, dim), last_seq, 1 << (8 * width))
    if last_seq is None or array != "history_records":
        return out
    fixed = []
    for e in out:
        own = v.get(f"{array}[{e.index}].sequence_number")
        if own is not None:  # the newest number at or below last_seq with these low bytes
            e = QueueEntry(e.index, (last_seq - ((last_seq - own) & 0xFFFF)) % (1 << 32))
        fixed.append(e)
    return fixed


__all__ = [
    "BT26", "BT70", "BT71", "BT74", "ET31", "ET41", "ET79", "ET81", "TABLES",
    "QueueEntry", "log_entries", "queue_entries", "queue_order",
]
