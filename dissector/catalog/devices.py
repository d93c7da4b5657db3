"""M-Bus/MEP device tables and the adjustable logs they feed (MEP guide, chapter 4).

ET36 publishes the size of every adjustable manufacturer log; its seven
records are spelled out as top-level fields (``et45_entry_size``,
``et45_current_entries``, ...) so that they can be :class:`Dim` sources for
ET45, ET74 and the other logs.  ET45/ET74 are circular queues (:mod:`.queues`):
:func:`recurring_read_order` gives their array elements oldest first.
Choices made where the guide is unclear are commented at the spec and held
by ``tests/test_catalog_devices.py`` (``test_note_*``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .basic import REGISTER_COUNTS, SOURCES
from .manufacturer import (
    ET11_CONFIG_ENTRY_2_SIZE,
    ET11_ET57_ENTRY_COUNT,
    ET11_MEP_DATA_ALERT_SOURCES,
    ET11_NBR_DEVICES,
    ET54_ET74_ENTRY_COUNT,
    ET54_MULTIPLE_LP_SETS,
    MBR_HEADER_SIZE,
    TELEGRAM_LENGTH,
    mbr_fields,
)
from .queues import LIST_FLAGS, SHORT_HEADER, entry_order, list_header
from .types import (
    Array,
    BitGroup,
    Bytes,
    Cmp,
    Dim,
    Field,
    Local,
    Record,
    Ref,
    Set,
    TableSpec,
    When,
    add,
    bits,
    flag,
    ni_fmat1,
    set_bytes,
    sub,
    uint8,
    uint16,
    uint32,
)

# ------------------------------------------------------------ dimensions


class AdjustableLog(NamedTuple):
    """One adjustable log: its table, the name and label of its ET42 log list
    record and its ET36 defaults."""

    tag: str
    name: str
    label: str
    entry_size: int
    max_entries: int
    current_entries: int


# The logs ET36 describes, in its record order, which is ET42's log list order.
# The guide never prints the list; ET42's "Adjustable Log Info" gives this order
# (and the offsets ET36.3, .7, .20, .24 ... of the first five), and chapter 3
# puts ET45 in the fifth entry.  Defaults from ET36's description column; ET41's
# entry size follows the demand configuration (EP32); it has no entries by default.
ADJUSTABLE_LOGS = tuple(AdjustableLog(*log) for log in (
    ("ET31", "otr_log", "OTR Log", 232, 255, 2),
    ("ET32", "mbus_otr_log", "M-Bus OTR Log", 525, 255, 8),
    ("ET38", "config_id_log", "Config ID Log", 35, 255, 10),
    ("ET41", "demand_reset_log", "Demand Reset Log", 0, 255, 0),
    ("ET45", "mbus_recurring_log", "M-Bus Recurring Log", 525, 253, 0),
    ("ET75", "lp_change_log", "LP Change Log", 143, 253, 0),
    ("ET81", "power_outage_log", "Power Outage Log", 12, 253, 0),
))
ET36_LOGS = tuple(log.tag for log in ADJUSTABLE_LOGS)
"""Tags of the logs ET36 describes, in its record order."""


def _et36_dims(what: str) -> dict[str, Dim]:
    return {log.tag: Dim("ET36", f"{log.tag.lower()}_{what}", getattr(log, what))
            for log in ADJUSTABLE_LOGS}


ET36_ENTRY_SIZE = _et36_dims("entry_size")
"""Log tag -> Dim of its entry size in bytes (e.g. ``ET36.et45_entry_size``)."""
ET36_MAX_ENTRIES = _et36_dims("max_entries")
"""Log tag -> Dim of its maximum number of entries."""
ET36_CURRENT_ENTRIES = _et36_dims("current_entries")
"""Log tag -> Dim of the number of entries currently configured (the array size)."""

ET36_ET45_ENTRY_SIZE = ET36_ENTRY_SIZE["ET45"]
ET36_ET45_CURRENT_ENTRIES = ET36_CURRENT_ENTRIES["ET45"]
# ET42 flag telling whether ET36 ends with the unread-entries bitmap (present on
# current firmware, hence the default).
ET42_UNREAD_BITMAP_ENABLED = Dim("ET42", "unread_log_entries_bitmap_enabled", 1)

# ------------------------------------------------------------------- ET34

ET34_ENTRY = Record("device", "Additional device configuration", (
    Bytes("reserved", "Reserved", 2),
    uint8("group_mask", "Group Mask", hex=True),
    Bytes("reserved_3", "Reserved", 1),
    uint16("load_profile_poll_rate", "Load Profile Poll Rate", unit="min"),
    uint8("control_mdt", "Control MDT"),
    uint8("command_monitor_mdt", "Command Monitor MDT", enum={0: "None"}),
    uint8("time_stamp_mdt", "Time Stamp MDT"),
    BitGroup(1, (
        bits("hour_locator_start_bit", "Hour Locator: Starting Bit (1-based)", 0, 4),
        bits("hour_locator_bit_count", "Hour Locator: Bit Count", 5, 7),
    )),
    BitGroup(1, (
        bits("minute_locator_start_bit", "Minute Locator: Starting Bit (1-based)", 0, 4),
        bits("minute_locator_bit_count", "Minute Locator: Bit Count", 5, 7),
    )),
    uint8("load_profile_poll_wait", "Load Profile Poll Wait", unit="s"),
    uint8("load_profile_poll_retry_attempts", "Load Profile Poll Retry Attempts"),
    uint8("load_profile_poll_retry_wait", "Load Profile Poll Retry Wait"),
    # Printed "ARRAY[7]" at 14-21: eight bytes, which the 22-byte entry (ET11.13) needs.
    Bytes("reserved_14", "Reserved", 8),
), size=ET11_CONFIG_ENTRY_2_SIZE)

ET34 = TableSpec("ET34", "Additional M-Bus/MEP Device Configuration", (
    Array("device_config", "Device Config", ET11_NBR_DEVICES, ET34_ENTRY),
))

# ------------------------------------------------------------------- ET36

_COUNT = Ref("count", len(ET36_LOGS))


def _table_idc(prefix: str, title: str) -> BitGroup:
    """TABLE_IDC: table number, basic/extended flag, procedure flag, reserved flags."""
    return BitGroup(2, (
        bits(f"{prefix}tbl_proc_nbr", f"{title}Tbl_Proc_Nbr", 0, 10),
        flag(f"{prefix}std_vs_mfg_flag", f"{title}Std_vs_MfgFlag (1 = extended)", 11),
        flag(f"{prefix}procedure_flag", f"{title}Procedure Flag", 12),
        bits(f"{prefix}flags", f"{title}Flags", 13, 15),
    ))


def _dimension_record(prefix: str, title: str) -> tuple:
    """One 17-byte "Actual Dimension List" record, its names prefixed."""
    return (
        _table_idc(prefix, title),
        uint16(f"{prefix}entry_size", f"{title}Entry Size", unit="bytes"),
        uint16(f"{prefix}max_entries", f"{title}Max Entries"),
        uint16(f"{prefix}current_entries", f"{title}Current Entries"),
        BitGroup(1, (flag(f"{prefix}length_included", f"{title}Length Included", 0),)),
        Bytes(f"{prefix}spare", f"{title}Spare", 8),
    )


ET36 = TableSpec("ET36", "Manufacturer (Extended) Table Actual Dimensions", (
    uint8("count", "Count"),
    # Record k exists while Count > k; flat names so the values are dimensions.
    *(When(Cmp(_COUNT, ">", k), _dimension_record(f"{t.lower()}_", f"{t} "))
      for k, t in enumerate(ET36_LOGS)),
    Array("further_logs", "Actual Dimension List (further logs)", sub(_COUNT, len(ET36_LOGS)),
          Record("log", "Actual Dimension", _dimension_record("", ""))),
    # Offset printed "(Count*10)+1"; the records are 17 bytes, so Count*17+1.
    When(ET42_UNREAD_BITMAP_ENABLED, (
        Set("unread_entries_bitmap", "Unread Entries Bitmap", set_bytes(_COUNT),
            flags=dict(enumerate(ET36_LOGS))),
    )),
))

# ------------------------------------------------------------------- ET57

MDT_ENTRY = Record("mdt_entry", "MdtEntry", (
    BitGroup(1, (
        bits("entry_type", "Entry Type", 0, 1, enum={
            0: "Empty", 1: "M-Bus base entry", 2: "MEP base entry",
            3: "Extension of previous entry"}),
        bits("mdt", "MDT", 2, 6),
        flag("special", "Special", 7),  # printed UINT(7): one bit
    )),
    Bytes("drh", "DRH", 3, desc="Data Record Header (MEP base: offset, length, command)"),
))

ET57 = TableSpec("ET57", "M-Bus Data Type Table", (
    Array("mdt_entries", "MDT Entry Array", ET11_ET57_ENTRY_COUNT, MDT_ENTRY),
))

# ------------------------------------------------------------------- ET42


def _log_info(name: str, label: str) -> Record:
    # The UINT24 of the log list: a UINT8 count then a UINT16 entry size (the
    # power outage log's "entry size" is described as a maximum count; the
    # field name and the other logs say entry size).
    return Record(name, label, (
        uint8("log_count", "Log Count"),
        uint16("entry_size", "Entry Size", unit="bytes"),
    ))


def _lp_set(prefix: str, sources: Any) -> tuple:
    """Load profile data set information (ET42.23..36 for set 1, repeated for sets 2..4)."""
    return (
        uint32(f"{prefix}block_size", "Block Size", unit="bytes"),
        uint16(f"{prefix}nbr_blocks", "Number of Blocks"),
        uint8(f"{prefix}nbr_channels", "Number of Channels"),
        uint8(f"{prefix}interval_duration", "Interval Duration",
              desc="1..60 minutes, 84 = 24 hours"),
        uint8(f"{prefix}interval_size", "Interval Size", unit="bytes"),
        uint8(f"{prefix}options", "Options", hex=True),
        uint16(f"{prefix}intervals_per_block", "Intervals Per Block"),
        uint8(f"{prefix}block_start_hour", "Block Start Hour"),
        uint8(f"{prefix}block_start_minute", "Block Start Minute"),
        *sources,
    )


def _data_set(n: int) -> When:
    # Only the sets flagged in the bit mask follow (the mask would be redundant
    # with "Number of Blocks" if inactive sets were present too).
    name = f"data_set_{n}"
    return When(Ref(f"data_set_{n}_active", 0), (
        Record(name, f"Data Set {n} Configuration", _lp_set("", (
            Array("load_profile_extended_sources", "Load Profile Extended Sources",
                  Ref(f"{name}.nbr_channels", 0), uint16("source_id", "Source ID", hex=True)),
        ))),
    ))


ET42 = TableSpec("ET42", "Interface Definition", (
    uint16("table_length", "Table Length", unit="bytes"),
    uint8("fixed_section_length", "Fixed Section Length (FSL)", unit="bytes"),
    uint8("log_list_size", "Log List Size (LLS)"),
    BitGroup(2, (
        flag("ica_nak", "ICS - ICA NAK", 0),
        flag("blg_lp_format_2", "ICS - Blg/LP Format 2", 1),
    )),
    uint16("c12_19_compliance", "C12.19 Compliance", hex=True),
    uint16("bidn", "Billing Interface Definition Number (BIDN)"),
    BitGroup(1, (
        flag("demand_reset_counter", "Demand Reset Counter", 0),
        flag("cumulative_demand", "Cumulative Demand", 1),
        flag("continuous_cumulative_demand", "Continuous Cumulative Demand", 2),
        flag("demand_configured", "Demand Configured", 3),
        flag("unread_log_entries_bitmap_enabled", "Unread Log Entries Bitmap Enabled", 4),
    )),
    *REGISTER_COUNTS,  # BT21's counts
    uint8("demand_sub_interval", "Demand Sub-interval", unit="min"),
    uint8("demand_multiplier", "Demand Multiplier", unit="min"),
    uint16("tier_size", "Tier Size", unit="bytes"),
    *_lp_set("", ()),
    BitGroup(1, (
        flag("event_number", "History Log Flags: Event Number", 0),
        flag("date_time", "History Log Flags: Date Time", 1),
        flag("sequence_nbr", "History Log Flags: Sequence Nbr", 2),
        flag("inhibit_overflow", "History Log Flags: Inhibit Overflow", 3),
        flag("event_log_inhibit_overflow", "History Log Flags: Event Log Inhibit Overflow", 4),
    )),
    uint16("history_log_count", "History Log Count"),
    uint8("history_log_entry_size", "History Log Entry Size", unit="bytes"),
    # Fields a later firmware adds to the fixed section: the log list starts at FSL.
    When(Cmp(Ref("fixed_section_length", 41), ">", 41), (
        Bytes("fixed_section_extension", "Fixed Section (later fields)",
              sub(Ref("fixed_section_length", 41), 41)),
    )),
    Array("log_list", "Log List", Ref("log_list_size", len(ET36_LOGS)), _log_info("log", "Log"),
          per_index=tuple(_log_info(log.name, log.label) for log in ADJUSTABLE_LOGS),
          flatten=True),
    Array("demand_sources", "Demand Sources (DmdSrcs)", Ref("nbr_demands", 0),
          uint8("source_id", "Source ID", enum=SOURCES)),
    Array("coincident_sources", "Coincident Sources (CoinSrcs)",
          Ref("nbr_coincident_values", 0), uint8("source_id", "Source ID", enum=SOURCES)),
    Array("load_profile_extended_sources", "Load Profile Extended Sources (Chans)",
          Ref("nbr_channels", 0), uint16("source_id", "Source ID", hex=True)),
    uint8("mdtt_current_entries", "MDTT Current Entries"),
    Array("mdtt_entries", "MDTT Entries", Ref("mdtt_current_entries", 0), MDT_ENTRY),
    When(ET54_MULTIPLE_LP_SETS, (
        BitGroup(1, (
            flag("data_set_2_active", "Load Profile Bit Mask: Data Set 2 Active", 0),
            flag("data_set_3_active", "Load Profile Bit Mask: Data Set 3 Active", 1),
            flag("data_set_4_active", "Load Profile Bit Mask: Data Set 4 Active", 2),
        )),
        *(_data_set(n) for n in (2, 3, 4)),
    )),
    # Firmware 3.60+ (ET74), 3.70+ (the rest): the section's length (its own byte
    # included) says which fields a meter sends; fields past it are dropped.
    uint8("required_section_length", "Required Section Length", unit="bytes"),
    Record("required_section", "Required Section", (
        uint16("et74_entry_count", "ET74 Entry Count"),
        uint8("et77_entry_count", "ET77 Entry Count"),
        uint16("et79_entry_count", "ET79 Entry Count"),
        uint8("energy_register_unit", "Energy Register Unit"),
        uint8("accumulator_rollover_digit", "Accumulator Rollover Digit"),
    ), size=sub(Ref("required_section_length", 8), 1)),
))

# ------------------------------------------------------------- ET45/ET74

EXECUTION_STATUS = {0: "Normal", 2: "Delayed (power-up backfill)"}
READ_RESULT = {4: "Success"}
ENTRY_HEADER_SIZE = 8
"""Length, identifier (ET45) or filler (ET74), handle, execution status, result."""


# The MBR's further telegrams run up to the entry's Length (the bytes in use,
# which chapter 3 reads); the rest of the ET36-sized entry is room.
_MBR = Record("data", "Data (MBR)", mbr_fields(
    sub(Local("length", 0), add(ENTRY_HEADER_SIZE + MBR_HEADER_SIZE, TELEGRAM_LENGTH))))


def _recurring_read(second: Field) -> Record:
    """An ET45/ET74 entry: Length, ``second`` (ET45's identifier, ET74's filler),
    handle, execution status, result and the MBR, ET45's entry size apart."""
    return Record("entry", "Log Entry", (
        uint16("length", "Length", unit="bytes"),
        second,
        uint16("handle", "Handle", hex=True),
        uint8("execution_status", "Execution Status", enum=EXECUTION_STATUS),
        uint8("result", "Result", enum=READ_RESULT),
        _MBR,
    ), size=ET36_ET45_ENTRY_SIZE)


# Entry Size counts the Length word: 525 = 8 header bytes + a 517-byte MBR whose
# telegram part is the "509 bytes of actual device data" ET36 mentions.
ET45_ENTRY = _recurring_read(BitGroup(2, (
    bits("identifier", "Identifier", 0, 10),  # printed BOOL(0..10): an 11-bit number
    bits("namespace", "Namespace", 11, 15, enum={
        0: "Manufacturer specific", 1: "DLMS", 2: "OSGP"}),
)))

ET45 = TableSpec("ET45", "MEP Recurring Read Log", (
    *SHORT_HEADER,
    Array("log_entries", "Log Entries", ET36_ET45_CURRENT_ENTRIES, ET45_ENTRY),
))

# ET74's entries move into ET45, and ET54.69 says ET45 controls their size: the
# ET45 entry size applies (not ET11's ET16 entry size, though ET74 calls its
# entries "identical to ET16").
ET74_ENTRY = _recurring_read(uint16("filler", "Filler"))

ET74 = TableSpec("ET74", "MEP Recurring Read Extended Log", (
    *list_header(LIST_FLAGS, 2),
    Array("log_entries", "Log Entries", ET54_ET74_ENTRY_COUNT, ET74_ENTRY),
))

# ------------------------------------------------------------------- ET71

ET71 = TableSpec("ET71", "Delta Data Alerts", (
    Array("delta_data", "Delta Data", ET11_MEP_DATA_ALERT_SOURCES, Record("source", "Delta Data", (
        uint16("delta_data_monitor_source", "Delta Data Monitor Source", hex=True,
               enum={255: "Entry not in use"}),
        uint16("configured_delta", "Configured Delta", enum={0: "Disabled"}),
        ni_fmat1("comparison_value", "Comparison Value"),
        ni_fmat1("sampled_data_value", "Sampled Data Value"),
        BitGroup(1, (flag("source_id_invalid", "Status: Source ID Invalid", 0),)),
    ))),
))

# --------------------------------------------------------- queue reading

_CAPACITY = {"ET45": ET36_ET45_CURRENT_ENTRIES, "ET74": ET54_ET74_ENTRY_COUNT}


def recurring_read_order(decoded: Any, capacity: int | None = None,
                         unread_only: bool = False) -> list[int]:
    """ET45/ET74 elements oldest first from a decode holding the queue header.

    :func:`.queues.entry_order` with the capacity of the decode's table: a
    :class:`~.layout.TableDecode` of ET45 or ET74 brings the dimension it was
    laid out with, a ``{path: value}`` mapping needs ``capacity``.
    ``unread_only`` keeps the newest "Number of Unread Entries" elements.
    Without the header or a capacity: ``[]``.
    """
    size = _CAPACITY.get(getattr(decoded, "tag", "")) if capacity is None else capacity
    return [] if size is None else entry_order(decoded, size, unread_only)


TABLES = (ET34, ET36, ET42, ET45, ET57, ET71, ET74)
