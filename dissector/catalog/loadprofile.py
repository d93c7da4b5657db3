"""Load profile tables: BT60..BT67 and ET21, ET62, ET66, ET75 (MEP and optical guides).

A meter keeps up to four load profile data sets.  BT60 (maxima) and BT61
(actual configuration) give each set's number of blocks, intervals per
block and channels; BT62 its channel sources and interval data format; BT63
where the valid blocks lie; BT64..BT67 hold the blocks of sets 1..4.  The
guides print the per-set parts of BT60/BT61/BT62 as an array of one element
per data set; here they are spelled out as top-level fields with a ``_setN``
suffix (``nbr_blks_set1``) so that the capture context learns them and they
size BT64..BT67 (:class:`Dim`).

:func:`data_set_blocks` puts a decoded data set's blocks oldest first and
gives every interval its end time; :func:`geometry` and the two window
functions reproduce chapter 3's offset/count formulas for reading the newest
block or interval.  Choices made where the guides are unclear are commented
at the spec and held by ``tests/test_catalog_loadprofile.py`` (``test_note_*``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .basic import BT00_TIME_FORMAT, SOURCES
from .devices import ET36_CURRENT_ENTRIES
from .layout import DimSource, TableDecode, as_dims, plan
from .manufacturer import ET54_ID_CODE_5_DIGITS, ET54_MULTIPLE_LP_SETS
from .queues import LIST_TYPE, ORDER, SHORT_HEADER, queue_order
from .types import (
    Array,
    BitGroup,
    Bytes,
    Chars,
    Cmp,
    Dim,
    Field,
    Int,
    LTimeDate,
    Record,
    Set,
    STimeDate,
    TableSpec,
    UInt,
    When,
    add,
    bits,
    div,
    flag,
    int32,
    mul,
    ni_fmat1,
    set_bytes,
    uint8,
    uint16,
    uint32,
)

SETS = (1, 2, 3, 4)
"""Load profile data set numbers (BT64 holds set 1 ... BT67 set 4)."""

# ------------------------------------------------------------ dimensions

# The guides say the per-set arrays have one element on devices without
# multiple data sets and one per set (four) otherwise, but name no count:
# ET54's flag says which.
NBR_DATA_SETS = add(1, mul(3, ET54_MULTIPLE_LP_SETS))
"""Elements of the per-set arrays (BT63, ET21): 4, or 1 without multiple data sets."""

# ET62/ET75 "X" (ET54's 5-digit flag): ID codes of 5 characters on Gen 4 meters, else 4.
ID_CODE_LEN = add(4, ET54_ID_CODE_5_DIGITS)

# BT20.4 (maximum number of demands) sizes ET75's demand sources: 8 per its offsets 43..51.
BT20_NBR_DEMANDS = Dim("BT20", "nbr_demands", 8)
# BT60.11: "Number of Channels in Set 1" (maximum, Value column 16) sizes ET62/ET66/ET75.
BT60_NBR_CHNS_SET1 = Dim("BT60", "nbr_chns_set1", 16)
# ET36 "ET75 Current Entries" (devices.py lays ET36 out flat); default 0 per ET36.
ET36_ET75_CURRENT_ENTRIES = ET36_CURRENT_ENTRIES["ET75"]

# BT61 flags deciding which parts of a BT64..BT67 block exist (Value column).
BT61_END_READING = Dim("BT61", "end_reading_supported", 0)
BT61_EXTENDED_STATUS = Dim("BT61", "extended_interval_status", 1)
BT61_SIMPLE_STATUS = Dim("BT61", "simple_interval_status", 1)
BT61_SCALAR_DIVISOR = {n: Dim("BT61", f"set{n}_scalar_divisor_enable", 0) for n in SETS}

# BT61 per-set dimensions.  The guide documents no values (VCI M/H), so the
# defaults are the chapter 3 example - 30-minute intervals in 1-day blocks (48
# per block) - kept to one block of one channel: without BT61 in the capture the
# layout is a guess either way, and a small one leaves later windows undecoded
# ("past the end") instead of decoding them with made-up block boundaries.
DEFAULT_NBR_BLKS, DEFAULT_NBR_BLK_INTS, DEFAULT_NBR_CHNS = 1, 48, 1
BT61_NBR_BLKS = {n: Dim("BT61", f"nbr_blks_set{n}", DEFAULT_NBR_BLKS) for n in SETS}
BT61_NBR_BLK_INTS = {n: Dim("BT61", f"nbr_blk_ints_set{n}", DEFAULT_NBR_BLK_INTS) for n in SETS}
BT61_NBR_CHNS = {n: Dim("BT61", f"nbr_chns_set{n}", DEFAULT_NBR_CHNS) for n in SETS}
# BT62 "Format" per set (Value column 32 = INT32).
BT62_FORMAT = {n: Dim("BT62", f"format_set{n}", 32) for n in SETS}

# ------------------------------------------------------------- value lists

# Interval data formats in the bit order of BT60/BT61's "... Supported" flags
# (LP_FMATS at offset 6), with the integer type and size of their values (none
# laid out for the NI formats).  BT62 Format holds the C12.19 code 1 << bit;
# the guide itself lists only 32 (INT32).
_FORMAT_BITS: tuple[tuple[str, type[UInt] | type[Int] | None, int], ...] = (
    ("UINT8", UInt, 1), ("UINT16", UInt, 2), ("UINT32", UInt, 4),
    ("INT8", Int, 1), ("INT16", Int, 2), ("INT32", Int, 4),
    ("NI_FMAT1", None, 0), ("NI_FMAT2", None, 0),
)
FORMATS = {1 << bit: name for bit, (name, _, _) in enumerate(_FORMAT_BITS)}
"""BT62 Format code -> format name."""

CHANNEL_STATUS = {
    0: "No status flag", 1: "Overflow", 2: "Partial interval due to common state",
    3: "Long interval due to common state", 4: "Skipped", 5: "Test mode data",
    8: "M-Bus/MEP decryption failure", 9: "Clock error", 10: "M-Bus/MEP device missing",
    11: "Not current (MDT time stamp invalid)", 12: "Skipped due to load profile opt out",
    15: "M-Bus channel placeholder in effect",
}
"""Channel nibble of the extended interval status (BT64..BT67)."""

INTERVAL_DAY = 84
"""Interval time meaning 24 hours (BT60/BT61) unless ANSI load profile compliance is on."""

# ------------------------------------------------------------------- BT60/BT61


def _lp_flags() -> tuple[Field, ...]:
    """Offsets 4..6 of BT60 and BT61: LP_FLAGS (2 bytes) and LP_FMATS (1 byte)."""
    return (
        BitGroup(2, (
            *(flag(f"set{n}_inhibit_overflow", f"Set {n} Inhibit Overflow", n - 1)
              for n in SETS),
            flag("end_reading_supported", "End Reading Supported", 4),
            flag("end_pulse_supported", "End Pulse Supported", 5),
            *(flag(f"set{n}_scalar_divisor_enable", f"Set {n} Scalar Divisor Enable", n + 5)
              for n in SETS),
            flag("extended_interval_status", "Extended Interval Status", 10),
            flag("simple_interval_status", "Simple Interval Status", 11),
        )),
        BitGroup(1, tuple(flag(f"{name.lower()}_supported", f"{name} Supported", bit)
                          for bit, (name, _, _) in enumerate(_FORMAT_BITS))),
    )


def _set_dims(n: int, what: str) -> tuple[Field, ...]:
    return (
        uint16(f"nbr_blks_set{n}", f"Number of Blocks in Set {n}{what}"),
        uint16(f"nbr_blk_ints_set{n}", f"Number of Intervals in Set {n}{what}"),
        uint8(f"nbr_chns_set{n}", f"Number of Channels in Set {n}{what}"),
        uint8(f"max_int_time_set{n}", f"Maximum Interval Time in Set {n}{what}", unit="min",
              desc="1..60 minutes; 84 = 24 hours"),
    )


def _dims_table(tag: str, name: str, what: str) -> TableSpec:
    return TableSpec(tag, name, (
        uint32("memory_length", "Memory Length", unit="bytes"),
        *_lp_flags(),
        *_set_dims(1, what),
        # Sets 2..4 exist only where multiple data sets are supported.
        When(ET54_MULTIPLE_LP_SETS, tuple(f for n in SETS[1:] for f in _set_dims(n, what))),
    ))


BT60 = _dims_table("BT60", "Dimension Load Profile", " (maximum)")
BT61 = _dims_table("BT61", "Actual Load Profile", "")

# ------------------------------------------------------------------- BT62


def _control(n: int) -> tuple[Field, ...]:
    nch = BT61_NBR_CHNS[n]
    return (
        Array(f"channel_settings_set{n}", f"Channel Settings (Set {n})", nch,
              Record("channel", "Channel", (
                  BitGroup(1, (flag("end_reading", "End Reading", 0),)),
                  uint8("interval_source", "Interval Source", enum=SOURCES),
                  uint8("end_reading_source", "End Reading Source", enum=SOURCES),
              ))),
        uint8(f"format_set{n}", f"Format (Set {n})", enum=FORMATS),
        # The guide conditions these on BT60.4.(5+n), the *maximum* capability;
        # the actual flag of BT61 is what decides (as C12.19's LP_CTRL_TBL does).
        When(BT61_SCALAR_DIVISOR[n], (
            Array(f"scalars_set{n}", f"Scalars (Set {n})", nch, uint16("scalar", "Scalar")),
            Array(f"divisors_set{n}", f"Divisors (Set {n})", nch, uint16("divisor", "Divisor")),
        )),
    )


BT62 = TableSpec("BT62", "Load Profile Control", (
    *_control(1),
    When(ET54_MULTIPLE_LP_SETS, tuple(f for n in SETS[1:] for f in _control(n))),
))

# ------------------------------------------------------------------- BT63

BT63 = TableSpec("BT63", "Load Profile Status", (
    Array("data_set_status", "Data Set Status", NBR_DATA_SETS, Record("status", "Data Set Status", (
        BitGroup(1, (
            bits("block_order", "Block Order", 0, 0, enum=ORDER),
            flag("overflow", "Overflow", 1),
            bits("list_type", "List Type", 2, 2, enum=LIST_TYPE),
            flag("block_inhibit_overflow", "Block Inhibit Overflow", 3),
            bits("interval_order", "Interval Order", 4, 4, enum=ORDER),
            flag("active_mode", "Active Mode", 5),
            flag("test_mode", "Test Mode", 6),
        )),
        uint16("nbr_valid_blocks", "Number of Valid Blocks"),
        uint16("last_block", "Last Block"),
        uint32("last_block_sequence_number", "Last Block Sequence Number"),
        uint16("nbr_unread_blocks", "Number of Unread Blocks"),
        uint16("nbr_valid_intervals", "Number of Valid Intervals"),
    ))),
))

# ------------------------------------------------------------- BT64..BT67

# Interval data per BT62's format; INT32 (the only format the guide lists) and
# anything unknown take the guide's 4-byte layout.
_OTHER_FORMATS = tuple((1 << bit, name.lower(), kind, size)
                       for bit, (name, kind, size) in enumerate(_FORMAT_BITS)
                       if kind is not None and name != "INT32")


def _channel_data(n: int) -> tuple[Field, ...]:
    nch = BT61_NBR_CHNS[n]
    chosen: tuple[Field, ...] = (
        Array("interval_channel_data", "Interval Channel Data", nch,
              int32("interval_channel_value", "Interval Channel Value")),
    )
    for code, suffix, kind, size in reversed(_OTHER_FORMATS):
        label = suffix.upper()
        leaf = kind(f"interval_channel_value_{suffix}", f"Interval Channel Value ({label})",
                    size, guide_type=label)
        chosen = (When(Cmp(BT62_FORMAT[n], "==", code), (
            Array(f"interval_channel_data_{suffix}", f"Interval Channel Data ({label})",
                  nch, leaf),
        ), chosen),)
    return chosen


def _interval(n: int) -> Record:
    nch = BT61_NBR_CHNS[n]
    return Record("interval", "Interval", (
        # (nch/2)+1 bytes: byte 0 = common status (high nibble; its bits 0..3
        # are the guide's flags 0..3) and channel 0; then two channels per byte,
        # high nibble first.
        When(BT61_EXTENDED_STATUS, (
            BitGroup(1, (
                bits("channel_0_status", "Channel 0 Status", 0, 3, enum=CHANNEL_STATUS),
                flag("dst_in_effect", "Common: Daylight Saving Time in Effect", 4),
                flag("power_fail", "Common: Power Fail Within Interval", 5),
                flag("clock_reset_forward", "Common: Clock Reset Forward", 6),
                flag("clock_reset_backward", "Common: Clock Reset Backward", 7),
            )),
            Array("extended_status", "Extended Status (channels 1..)", div(nch, 2), BitGroup(1, (
                bits("odd_channel_status", "Channel 2k+1 Status (high nibble)", 4, 7,
                     enum=CHANNEL_STATUS),
                bits("even_channel_status", "Channel 2k+2 Status (low nibble)", 0, 3,
                     enum=CHANNEL_STATUS),
            ))),
        )),
        *_channel_data(n),
    ))


def block_record(n: int) -> Record:
    """One block of data set ``n`` (BT63+n): end time, end readings, simple status, intervals."""
    nch, nints = BT61_NBR_CHNS[n], BT61_NBR_BLK_INTS[n]
    return Record("block", "Block", (
        When(Cmp(BT00_TIME_FORMAT, "!=", 0), (STimeDate("end_time", "End Time"),)),
        # Printed offsets (simple status at 5+4*nch) count the end readings even
        # though they exist only IF BT61.4.4; later fields move up without them.
        When(BT61_END_READING, (
            Array("end_readings", "End Readings", nch, ni_fmat1("end_reading", "End Reading")),
        )),
        When(BT61_SIMPLE_STATUS, (Set("simple_status", "Simple Status", set_bytes(nints)),)),
        Array("intervals", "Intervals", nints, _interval(n)),
    ))


BLOCKS = {n: block_record(n) for n in SETS}


def _data_set_table(n: int) -> TableSpec:
    return TableSpec(f"BT{63 + n}", f"Load Profile Data, Data Set {n}", (
        Array("blocks", "Block Data", BT61_NBR_BLKS[n], BLOCKS[n]),
    ))


BT64, BT65, BT66, BT67 = (_data_set_table(n) for n in SETS)
DATA_SETS = {n: t for n, t in zip(SETS, (BT64, BT65, BT66, BT67), strict=True)}

# ------------------------------------------------------------------- ET21
# One 131-byte element per data set; the printed offsets are element 0's.

ET21 = TableSpec("ET21", "Load Profile Internal Configuration", (
    Array("data_set_internal_configuration", "Data Set Internal Configuration", NBR_DATA_SETS,
          Record("data_set", "Data Set Internal Configuration", (
              uint32("current_block_address", "Current Block Address", hex=True),
              uint32("current_interval_address", "Current Interval Address", hex=True),
              uint32("block_size", "Block Size", unit="bytes"),
              uint16("block_header_size", "Block Header Size", unit="bytes"),
              uint16("nbr_valid_blocks", "Number of Valid Blocks"),
              uint16("nbr_valid_intervals", "Number of Valid Intervals"),
              uint16("last_block_index", "Last Block Index"),
              uint16("last_interval_number", "Last Interval Number"),
              uint8("simple_status_offset_from_block", "Simple Status Offset from Block",
                    unit="bytes"),
              uint8("simple_status_size", "Simple Status Size", unit="bytes"),
              uint8("interval_0_offset_from_block", "Interval 0 Offset from Block", unit="bytes"),
              uint8("interval_size", "Interval Size", unit="bytes"),
              uint8("channel_0_offset_from_interval", "Channel 0 Offset from Interval",
                    unit="bytes"),
              uint8("extended_status_common", "Extended Status Common", hex=True),
              uint8("nbr_channels", "Number of Channels"),
              uint8("interval_time", "Interval Time", unit="min"),
              Array("sources", "Sources", 8, uint8("source", "Source", enum=SOURCES)),
              Array("placeholders", "Placeholders", 8, int32("placeholder", "Placeholder")),
              Array("sources_expansion", "Sources Expansion", 8,
                    uint8("source", "Source", enum=SOURCES)),
              uint32("load_profile_configuration_id", "Load Profile Configuration ID", hex=True),
              uint8("mep_billing_start_channel", "MEP Billing Start Channel"),
              LTimeDate("block_start_time", "Block Start Time"),
              uint8("block_start_hour", "Block Start Hour"),
              uint8("block_start_minute", "Block Start Minute"),
              uint16("interval_in_progress", "Interval In Progress"),
              BitGroup(1, (
                  flag("lpo_end_readings", "LPO - End Readings", 0),
                  flag("lpo_scalar_divisor", "LPO - Scalar Divisor", 1),
                  flag("lpo_data_reference", "LPO - Data Reference", 2),
                  flag("lpo_ansi_compliance", "LPO - ANSI Compliance", 3),
              )),
              LTimeDate("interval_end_time_utc", "Interval End Time (UTC)"),
              # Both guides print the local time at 101, seven bytes after the
              # 6-byte LTIME_DATE at 94 (and Max Memory Length at 107 agrees).
              Bytes("undocumented_100", "Undocumented", 1),
              LTimeDate("interval_end_time_local", "Interval End Time (local)"),
              uint32("max_memory_length", "Max Memory Length", unit="bytes"),
              BitGroup(1, (flag("nvmf_occurred", "NVMF Occurred", 0),)),
              Bytes("reserved", "Reserved", 19),
          ))),
))

# ------------------------------------------------------------------- ET62
# Offsets: 3.X column with X = 0, Gen 4 (4.0+) column with X = 1.


def _id_code(name: str, label: str) -> tuple[Field, ...]:
    return (
        Chars(f"{name}_id_code", f"{label} ID Code", ID_CODE_LEN),
        uint8(f"{name}_id_dp_state", f"{label} ID DP State", hex=True),
    )


DATA_FORMAT = BitGroup(1, (
    bits("fields_after_dp", "Fields After DP", 0, 2),
    bits("fields_before_dp", "Fields Before DP", 3, 6),
    flag("zero_suppression", "Zero Suppression", 7),
))

CODE_WORD = Record("code_word", "Code Word", (
    *_id_code("channel", "Channel"),
    DATA_FORMAT,
))

ET62 = TableSpec("ET62", "Load Profile Display Configuration", (
    BitGroup(1, (
        flag("display_local_time", "Display Local Time", 0),
        flag("use_all_channel_id_characters", "Use All Channel ID Characters", 1),
        flag("disable_load_profile_display", "Disable Load Profile Display", 2),
    )),
    *_id_code("load_profile_list", "Load Profile List"),
    *_id_code("load_profile_date", "Load Profile Date"),
    *_id_code("interval_time", "Interval Time"),
    *_id_code("extended_status", "Extended Status"),
    Array("code_words", "Code Word", BT60_NBR_CHNS_SET1, CODE_WORD),
    *_id_code("power_outage_list", "Power Outage List"),
    *_id_code("power_outage_number", "Power Outage Number"),
))

# ------------------------------------------------------------------- ET66
# "ARRAY[4][BT60.11] of UINT16" read row-major: entry i (offset 2*i) is the
# extended source ID of mapped source 112 + i, as the guide's own example says.

ET66 = TableSpec("ET66", "Load Profile Source ID Mapping Table", (
    Array("extended_source_ids", "Extended Source IDs", mul(4, BT60_NBR_CHNS_SET1),
          uint16("extended_source_id", "Extended Source ID", hex=True)),
))


def mapped_source_path(source_id: int) -> str:
    """ET66 path of the extended source ID behind mapped source 112..163."""
    return f"extended_source_ids[{source_id - 112}]"


# ------------------------------------------------------------------- ET75
# Entries: 5+32+8+2+16*6 = 143 bytes with X = 0 (ET36's "ET75: 143 bytes"),
# 159 with X = 1 on Gen 4 meters; laid out field by field, not from ET36's size.

ET75_ENTRY = Record("entry", "Log Entry", (
    STimeDate("timestamp", "Timestamp"),
    Array("extended_source_ids", "Extended Source IDs", BT60_NBR_CHNS_SET1,
          uint16("extended_source_id", "Extended Source ID", hex=True)),
    Array("demand_sources", "Demand Sources", BT20_NBR_DEMANDS,
          uint8("demand_source", "Demand Source", enum=SOURCES)),
    uint8("demand_sub_interval", "Demand Sub Interval", unit="min"),
    uint8("demand_interval_multiplier", "Demand Interval Multiplier"),
    # A copy of ET62's code words for the channels.
    Array("lp_display_config", "LP Display Config", BT60_NBR_CHNS_SET1, Record(
        "display", "LP Display Config", (
            Chars("id_code", "ID Code", ID_CODE_LEN),
            uint8("id_dp_state", "ID DP State", hex=True),
            DATA_FORMAT,
        ))),
))

ET75 = TableSpec("ET75", "Primary Load Profile Channel Change Log", (
    *SHORT_HEADER,
    Array("log_entries", "Log Entries", ET36_ET75_CURRENT_ENTRIES, ET75_ENTRY),
))

TABLES = (BT60, BT61, BT62, BT63, BT64, BT65, BT66, BT67, ET21, ET62, ET66, ET75)

# ------------------------------------------------------------ reading data


def interval_length(max_int_time: int, ansi_compliance: bool = False) -> dt.timedelta:
    """BT61 "Maximum Interval Time" as a duration: minutes, 84 = 24 hours (not under ANSI)."""
    if max_int_time == INTERVAL_DAY and not ansi_compliance:
        return dt.timedelta(days=1)
    return dt.timedelta(minutes=max_int_time)


@dataclass(frozen=True)
class Geometry:
    """Sizes of data set ``n`` as the layout puts them (ET21's names)."""

    nbr_blocks: int
    intervals_per_block: int
    nbr_channels: int
    block_size: int
    block_header_size: int
    interval_size: int


def geometry(n: int, dims: DimSource | Mapping[str, int] | None = None) -> Geometry:
    """Block, header and interval sizes of data set ``n`` under ``dims`` (ET21.8/.12/.25)."""
    src = as_dims(dims)
    nb, ni, nc = (int(src.lookup(d).value) for d in
                  (BT61_NBR_BLKS[n], BT61_NBR_BLK_INTS[n], BT61_NBR_CHNS[n]))
    p = plan((BLOCKS[n],), src)
    first = [s.offset for s in p.slots if s.path.startswith("block.intervals[0]")]
    header = min(first) if first else p.size
    interval = (p.size - header) // ni if ni > 0 else 0
    return Geometry(nb, max(ni, 0), max(nc, 0), p.size, header, interval)


def newest_block_window(last_block: int, g: Geometry) -> tuple[int, int]:
    """Chapter 3 step 5: (offset, count) of the most recent *full* block.

    ``((BT63.3 - 1) mod BT61.7) * ET21.8``, count ``ET21.8``.
    """
    if g.nbr_blocks <= 0:
        return 0, 0
    return ((last_block - 1) % g.nbr_blocks) * g.block_size, g.block_size


def newest_interval_window(last_block: int, last_interval: int, g: Geometry) -> tuple[int, int]:
    """Chapter 3 step 6: (offset, count) of the most recent interval.

    ``BT63.3 * ET21.8 + ET21.12 + ET21.20 * ET21.25``, count ``ET21.25``.
    """
    return (last_block * g.block_size + g.block_header_size + last_interval * g.interval_size,
            g.interval_size)


@dataclass(frozen=True)
class Interval:
    """One interval of a block: its end time, validity, channel values and status."""

    index: int
    end_time: dt.datetime | None
    valid: bool
    values: tuple[int | None, ...]
    channel_status: tuple[int | None, ...]
    common: dict[str, bool]


@dataclass(frozen=True)
class Block:
    """One block: its array index in BT64..BT67, end time and intervals."""

    index: int
    end_time: dt.datetime | None
    newest: bool
    intervals: tuple[Interval, ...]


_COMMON = ("dst_in_effect", "power_fail", "clock_reset_forward", "clock_reset_backward")


def block_order(last_block: int, nbr_valid_blocks: int, nbr_blocks: int) -> list[int]:
    """Array indices of the valid blocks, oldest first (a circular list, ascending order).

    Unlike the logs' :func:`.queues.queue_order`, a last block past the array wraps.
    """
    if nbr_blocks <= 0:
        return []
    return queue_order(nbr_blocks, last_block % nbr_blocks, nbr_valid_blocks)


def data_set_blocks(
    data: TableDecode,
    *,
    last_block: int,
    nbr_valid_blocks: int,
    nbr_valid_intervals: int,
    interval: dt.timedelta,
    data_set: int | None = None,
) -> list[Block]:
    """The valid blocks of a decoded BT64..BT67 (full or partial), oldest first.

    ``last_block``, ``nbr_valid_blocks`` and ``nbr_valid_intervals`` are BT63's
    (or ET21's) values for the set, ``interval`` its interval length
    (:func:`interval_length` of BT61's ``max_int_time_setN``).  A block's end
    time is that of its most recent interval: the end of the block once it
    is complete, the last recorded interval in the newest block, which holds
    ``nbr_valid_intervals`` intervals.  So interval ``i`` of a block ends at
    ``end_time - (last - i) * interval`` with ``last`` the block's last
    recorded interval.  An interval is valid where the block's simple status
    bit says so (when that field is present), else when it is recorded.
    Fields outside the decoded window are ``None``.
    """
    n = data_set if data_set is not None else int(data.tag[2:]) - 63
    nb, ni, nc = (data.dim(d[n]) for d in (BT61_NBR_BLKS, BT61_NBR_BLK_INTS, BT61_NBR_CHNS))
    values: dict[str, Any] = data.values()
    order = block_order(last_block, nbr_valid_blocks, nb)
    out = []
    for b in order:
        newest = b == order[-1]
        last = (nbr_valid_intervals if newest else ni) - 1
        pre = f"blocks[{b}]"
        end = values.get(f"{pre}.end_time")
        status = values.get(f"{pre}.simple_status")
        ints = []
        for i in range(max(ni, 0)):
            ip = f"{pre}.intervals[{i}]"
            t = end - (last - i) * interval if isinstance(end, dt.datetime) else None
            valid = bool(status >> i & 1) if isinstance(status, int) else i <= last
            vals = tuple(_channel_value(values, ip, c) for c in range(nc))
            chst = tuple(values.get(f"{ip}.channel_0_status") if c == 0 else values.get(
                f"{ip}.extended_status[{(c - 1) // 2}]."
                f"{'odd' if c % 2 else 'even'}_channel_status") for c in range(nc))
            common = {k: values[f"{ip}.{k}"] for k in _COMMON if f"{ip}.{k}" in values}
            ints.append(Interval(i, t, valid, vals, chst, common))
        out.append(Block(b, end if isinstance(end, dt.datetime) else None, newest, tuple(ints)))
    return out


def _channel_value(values: Mapping[str, Any], ip: str, c: int) -> int | None:
    for suffix in ("", *(f"_{s}" for _, s, _, _ in _OTHER_FORMATS)):
        v = values.get(f"{ip}.interval_channel_data{suffix}[{c}]")
        if v is not None:
            return v
    return None


def set_status(bt63: TableDecode, n: int) -> dict[str, int]:
    """BT63's values for data set ``n`` (``last_block``, ``nbr_valid_intervals`` ...)."""
    pre = f"data_set_status[{n - 1}]."
    return {k[len(pre):]: v for k, v in bt63.values().items() if k.startswith(pre)}


__all__ = [
    "BLOCKS",
    "DATA_SETS",
    "TABLES",
    "Block",
    "Geometry",
    "Interval",
    "block_order",
    "data_set_blocks",
    "geometry",
    "interval_length",
    "mapped_source_path",
    "newest_block_window",
    "newest_interval_window",
    "set_status",
]
