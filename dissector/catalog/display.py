"""Display tables of the MEP guide, chapter 4: BT30 (dimensions) and BT33 (primary list).

The guide numbers BT30's fields by byte offset ("BT30.4" is the field at
offset 4, Number of Primary List Items; "BT30.6" the one at 6, Number of
Primary Lists), as it does for BT50.  Choices made where the guide is unclear
are listed in ``docs/guide-notes.md``.
"""

from __future__ import annotations

from .types import Array, BitGroup, Dim, Record, TableSpec, bits, flag, uint8, uint16

# ------------------------------------------------------------ dimensions
# Defaults: the guide's Value column of BT30.

BT30_NBR_PRIMARY_LIST_ITEMS = Dim("BT30", "nbr_primary_list_items", 30)
BT30_NBR_PRIMARY_LISTS = Dim("BT30", "nbr_primary_lists", 1)

# ------------------------------------------------------------------- BT30

BT30 = TableSpec("BT30", "Dimension Display", (
    BitGroup(1, (
        flag("on_time", "On time", 0),
        flag("off_time", "Off time", 1),
        flag("hold_time", "Hold time", 2),
    )),
    uint16("nbr_display_sources", "Number of Display Sources"),
    uint8("width_display_sources", "Width Display Sources", unit="bytes"),
    uint16("nbr_primary_list_items", "Number of Primary List Items"),
    uint8("nbr_primary_lists", "Number of Primary Lists"),
    uint16("nbr_secondary_list_items", "Number of Secondary List Items"),
    uint8("nbr_secondary_lists", "Number of Secondary Lists"),
))

# ------------------------------------------------------------------- BT33

DISP_LIST_DESC_RCD = Record("list", "DispListDescRcd", (
    BitGroup(1, (
        bits("on_time", "On Time", 0, 3, unit="s"),
        bits("off_time", "Off Time", 4, 7, unit="s"),
    )),
    BitGroup(1, (
        bits("hold_time", "Hold Time", 0, 3, unit="s"),
        bits("default_list", "Default List", 4, 7, enum={1: "Normal display"}),
    )),
    uint8("nbr_list_items", "Number List Items"),
))

BT33 = TableSpec("BT33", "Primary Display List", (
    Array("primary_display_list", "Primary Display List", BT30_NBR_PRIMARY_LISTS,
          DISP_LIST_DESC_RCD),
    # The guide prints Display Sources at offset 3, right after the one list
    # record; with several lists it follows all of them (C12.19's order).
    # Source ids are UINT16 as printed; BT30.3 (width, fixed at 2) would need
    # a UInt whose size is a Count to follow it.
    Array("display_sources", "Display Sources", BT30_NBR_PRIMARY_LIST_ITEMS,
          uint16("display_source", "Display Source", hex=True)),
))

TABLES = (BT30, BT33)
