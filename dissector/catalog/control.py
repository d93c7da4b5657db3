"""Load control tables of the MEP guide, chapter 4: ET46 and ET80.

Both are fixed layouts.  ET46 gained its fields from offset 13 with meter
firmware 3.70 (modules 1.20): an older meter's 13-byte table decodes what it
holds and reports a short table.  Choices made where the guide is unclear are
listed in ``docs/guide-notes.md``.
"""

from __future__ import annotations

from .types import Bytes, LTimeDate, TableSpec, int32, uint8, uint16, uint32

# ------------------------------------------------------------------- ET46

ET46 = TableSpec("ET46", "Control Output Read-Only Data", (
    Bytes("reserved", "Reserved", 11),
    uint8("disconnect_control_type", "Disconnect Control Type",
          enum={0: "Power measurements", 1: "Current measurements"}),
    Bytes("reserved_12", "Reserved", 1),
    int32("prepay_negative_credit", "Prepay Negative Credit", unit="Wh"),
    LTimeDate("maximum_power_current_average_power_disconnect_open_time",
              "Maximum Power/Current/Average Power Disconnect Open Time"),
))

# ------------------------------------------------------------------- ET80
# The guide's column heads are swapped here (the "VCI" column holds the
# values); the sub-interval is in seconds as its field says, although the
# introduction speaks of a 1-60 minute range.

ET80 = TableSpec("ET80", "Average Power Settings", (
    uint8("average_power_enabled", "Average Power Enabled", enum={0: "Disabled", 1: "Enabled"}),
    uint16("average_power_control_sub_interval", "Average Power Control Sub-interval",
           unit="s"),
    uint8("average_power_control_interval_multiplier",
          "Average Power Control Interval Multiplier"),
    uint32("average_power_disconnect_threshold", "Average Power Disconnect Threshold",
           unit="W"),
))

TABLES = (ET46, ET80)
