"""Table identifiers and names (C12.19 standard tables BTxx, manufacturer
tables ETxx = 2048 + xx).

This is the one list of table ids and guide names; frame summaries, the Lua
generator and the catalog of table layouts all read it.  Ids are computed
from the tag rather than copied from the guide's headings, some of which
carry typos (ET46 is listed as 2046/0x07FE, ET79 as 0x0849; both contradict
the 2048 + xx rule that every other heading follows).
"""

from __future__ import annotations

MANUFACTURER_BASE = 2048

# tag: guide name.  Sources: MEP guide chapter 4, optical port guide
# (BT03, BT04, BT07, BT08, BT20, BT70, BT71).
_NAMES = {
    "BT00": "General Configuration",
    "BT01": "General Manufacturer Information",
    "BT03": "End Device Mode Status",
    "BT04": "Pending Status",
    "BT07": "Procedure Initiate",
    "BT08": "Procedure Response",
    "BT15": "Constants",
    "BT20": "Dimension Register",
    "BT21": "Actual Register",
    "BT22": "Data Selection",
    "BT23": "Current Register Data",
    "BT24": "Previous Season Data",
    "BT25": "Previous Demand Reset Data",
    "BT26": "Self-Read Data",
    "BT27": "Present Register Selection",
    "BT28": "Present Register Data",
    "BT30": "Dimension Display",
    "BT33": "Primary Display List",
    "BT50": "Dimension Time and TOU",
    "BT52": "UTC Clock",
    "BT53": "Time Offset",
    "BT54": "Calendar",
    "BT55": "Local Clock State",
    "BT60": "Dimension Load Profile",
    "BT61": "Actual Load Profile",
    "BT62": "Load Profile Control",
    "BT63": "Load Profile Status",
    "BT64": "Load Profile Data Set 1",
    "BT65": "Load Profile Data Set 2",
    "BT66": "Load Profile Data Set 3",
    "BT67": "Load Profile Data Set 4",
    "BT70": "Dimension Log",
    "BT71": "Actual Log",
    "BT74": "History Log Data",
    "ET03": "Utility Information",
    "ET04": "System Information",
    "ET09": "Power Quality",
    "ET11": "MFG Dimension Table",
    "ET13": "MEP/M-Bus Device Configuration",
    "ET14": "MEP/M-Bus Device Status",
    "ET15": "MEP/M-Bus On-demand Requests",
    "ET16": "MEP/M-Bus Device Data",
    "ET21": "Load Profile Internal Configuration",
    "ET23": "Miscellaneous Information",
    "ET29": "Hardware Configuration",
    "ET31": "Meter One-time-read Log",
    "ET34": "Additional M-Bus/MEP Device Configuration",
    "ET36": "Manufacturer Table Actual Dimensions",
    "ET41": "Historical Demand Reset Log",
    "ET42": "Interface Definition",
    "ET45": "MEP Recurring Read Log",
    "ET46": "Control Output Read-Only Data",
    "ET47": "Calendar Override Settings",
    "ET50": "MEP Inbound Data Space",
    "ET51": "MEP Device Configuration",
    "ET52": "MEP Transaction Request",
    "ET53": "MEP Transaction Response",
    "ET54": "Meter Status",
    "ET55": "Meter Configuration",
    "ET57": "M-Bus Data Type Table",
    "ET58": "M-Bus/MEP Status Extension",
    "ET59": "MEP Procedure Response",
    "ET61": "Time-Based Relay Control Calendar",
    "ET62": "Load Profile Display Configuration",
    "ET66": "Load Profile Source ID Mapping",
    "ET70": "RAM Only Status",
    "ET71": "Delta Data Alerts",
    "ET74": "MEP Recurring Read Extended Log",
    "ET75": "Primary Load Profile Channel Change Log",
    "ET79": "History Log Data (Alternate Event Log)",
    "ET80": "Average Power Settings",
    "ET81": "Power Outage Log",
    "ET85": "MEP Procedure Response (MEP2)",
    "ET89": "Meter LN Status",
    "ET90": "Dimension LN",
    "ET97": "Meter Configuration LN",
}


def table_id(tag: str) -> int:
    """``"BT23"`` -> 23, ``"ET50"`` -> 2098."""
    kind, num = tag[:2].upper(), int(tag[2:])
    if kind == "BT":
        return num
    if kind == "ET":
        return MANUFACTURER_BASE + num
    raise ValueError(f"not a table tag: {tag!r}")


def table_tag(tid: int) -> str:
    """23 -> ``"BT23"``, 2098 -> ``"ET50"``; other ids as ``"T<id>"``."""
    if 0 <= tid < MANUFACTURER_BASE:
        return f"BT{tid:02d}"
    if MANUFACTURER_BASE <= tid < MANUFACTURER_BASE + 2048:
        return f"ET{tid - MANUFACTURER_BASE:02d}"
    return f"T{tid}"


TABLES: dict[int, tuple[str, str]] = {table_id(t): (t, n) for t, n in _NAMES.items()}
"""Table id -> (tag, guide name)."""


def table_label(tid: int) -> str:
    """``"BT23 Current Register Data"``; unknown ids as their tag alone."""
    entry = TABLES.get(tid)
    return f"{entry[0]} {entry[1]}" if entry else table_tag(tid)
