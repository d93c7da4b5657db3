"""Time-of-use tables of the MEP guide, chapter 4: BT50, BT54, ET47 and ET61.

BT54 is four arrays sized by BT50, whose fields the guide numbers by byte
offset (BT50.2 seasons, .3 non-recurring dates, .4 recurring dates, .5 tier
switches, BT50.1.1 Separate Week Days).  With the guide's defaults BT54 is
808 bytes, the Calendar Table Size BT50 reports.  Choices made where the
guide is unclear are listed in ``docs/guide-notes.md``.
"""

from __future__ import annotations

from .manufacturer import ET11_TIME_BASED_RELAY_SWITCHES
from .types import (
    AnsiDate,
    Array,
    BitGroup,
    Dim,
    LTimeDate,
    RDate,
    Record,
    TableSpec,
    When,
    bits,
    flag,
    uint8,
    uint16,
    uint32,
)

# ------------------------------------------------------------ dimensions
# Defaults: the guide's Value column of BT50 (firmware 3.50+ / modules 1.20+).

BT50_SEPARATE_WEEK_DAYS = Dim("BT50", "separate_week_days", 0)
BT50_NBR_SEASONS = Dim("BT50", "nbr_seasons", 12)
BT50_NBR_SPECIAL_SCHEDULES = Dim("BT50", "nbr_special_schedules", 2)
BT50_NBR_NON_RECURRING_DATES = Dim("BT50", "nbr_non_recurring_dates", 25)
BT50_NBR_RECURRING_DATES = Dim("BT50", "nbr_recurring_dates", 23)
BT50_NBR_TIER_SWITCHES = Dim("BT50", "nbr_tier_switches", 200)

# ------------------------------------------------------------------- BT50

BT50 = TableSpec("BT50", "Dimension Time and TOU", (
    BitGroup(1, (
        flag("tou_self_read", "TOU Self Read", 0),
        flag("season_self_read", "Season Self Read", 1),
        flag("season_demand_reset", "Season Demand Reset", 2),
        flag("season_change_armed", "Season Change Armed", 3),
        flag("sort_dates", "Sort Dates", 4),
        flag("anchor_date", "Anchor Date", 5),
    )),
    BitGroup(1, (
        flag("daylight_saving_time_auto", "Daylight Saving Time Auto", 0),
        flag("separate_week_days", "Separate Week Days", 1),
        flag("separate_summation_demands", "Separate Summation Demands", 2),
        flag("sort_tier_switches", "Sort Tier Switches", 3),
        flag("capable_of_time_zone_offset", "Capable Of Time Zone Offset", 4),
    )),
    BitGroup(1, (
        bits("nbr_seasons", "Number of Seasons", 0, 3),
        bits("nbr_special_schedules", "Number of Special Schedules", 4, 7),
    )),
    uint8("nbr_non_recurring_dates", "Number of Non-Recurring Dates"),
    uint8("nbr_recurring_dates", "Number of Recurring Dates"),
    uint16("nbr_tier_switches", "Number of Tier Switches"),
    uint16("calendar_table_size", "Calendar Table Size", unit="bytes"),
))

# ------------------------------------------------------------------- BT54

CALENDAR_ACTIONS = {0: "No action", 1: "Daylight savings time on",
                    2: "Daylight savings time off",
                    **{3 + s: f"Select season {s}" for s in range(12)},
                    19: "Special schedule 0", 20: "Special schedule 1"}
TOU_FORMATS = {0: "Before 3.50: 4 seasons, no non-recurring dates",
               1: "3.50+ (modules 1.20+): 12 seasons, 25 non-recurring dates"}


def _action_bitfield(first: bool = False) -> BitGroup:
    # CalendarAction Bitfield; bit 7 (FILL in the type column) carries the
    # TOU format in the first recurring date record only.
    tou = (bits("tou_format", "TOU Format", 7, 7, enum=TOU_FORMATS),) if first else ()
    return BitGroup(1, (
        bits("action", "Action", 0, 4, enum=CALENDAR_ACTIONS),
        flag("demand_reset", "Demand Reset", 5),
        flag("self_read", "Self read", 6),
        *tou,
    ))


NON_RECURR_DATE_RCD = Record("non_recurring_date_record", "NonRecurrDateRcd", (
    AnsiDate("non_recurring_date", "Non-recurring Date"),
    _action_bitfield(),
))


def _recurr_date_rcd(first: bool = False) -> Record:
    return Record("recurring_date_record", "RecurrDateRcd", (
        RDate("recurring_date", "Recurring Date"),
        _action_bitfield(first),
    ))


TIER_SWITCH_RCD = Record("tier_switch", "TierSwitchRcd", (
    BitGroup(2, (
        bits("tier", "Tier", 0, 2),
        bits("minute", "Minute", 5, 10),
        bits("hour", "Hour", 11, 15),
    )),
    uint8("schedule", "Schedule"),
))

_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

SEA_SCHED_RCD = Record("season_schedule", "SeaSchedRcd", (
    # Separate Week Days: Saturday/Sunday/Weekday become Sunday..Saturday
    # ("expanded by 4"), so each record grows from 5 to 9 bytes.
    When(BT50_SEPARATE_WEEK_DAYS,
         tuple(uint8(d.lower(), d) for d in _WEEKDAYS),
         otherwise=(uint8("saturday", "Saturday"), uint8("sunday", "Sunday"),
                    uint8("weekday", "Weekday"))),
    # The guide names two special schedules; BT50.2 (bits 4..7) publishes how many.
    Array("special_schedules", "Special Schedules", BT50_NBR_SPECIAL_SCHEDULES,
          uint8("special_schedule", "Special Schedule"),
          per_index=(uint8("special_schedule_0", "Special Schedule 0"),
                     uint8("special_schedule_1", "Special Schedule 1")),
          flatten=True),
))

BT54 = TableSpec("BT54", "Calendar", (
    Array("non_recurring_date_records", "Non-Recurring Date Records",
          BT50_NBR_NON_RECURRING_DATES, NON_RECURR_DATE_RCD),
    Array("recurring_date_records", "Recurring Date Records", BT50_NBR_RECURRING_DATES,
          _recurr_date_rcd(), per_index=(_recurr_date_rcd(first=True),)),
    Array("tier_switches", "Tier Switches", BT50_NBR_TIER_SWITCHES, TIER_SWITCH_RCD),
    Array("season_schedules", "Season Schedules", BT50_NBR_SEASONS, SEA_SCHED_RCD),
    uint32("calendar_id", "Calendar ID", hex=True),
))

# ------------------------------------------------------------------- ET47

ET47 = TableSpec("ET47", "Calendar Override Settings", (
    uint8("tariff", "Tariff", enum={**{t: f"Tariff {t}" for t in range(8)},
                                    255: "Cancel the override in effect"}),
    uint8("cancellation", "Cancellation", enum={
        0: "At next calendar-driven tier switch", 1: "Indefinite",
        2: "After Override Duration", 3: "At Cancellation Time"}),
    uint32("override_duration", "Override Duration", unit="s"),
    LTimeDate("cancellation_time", "Cancellation Time"),
    uint32("calendar_id", "Calendar ID", hex=True),
))

# ------------------------------------------------------------------- ET61
# ET11.26 counts the 2-byte switch records of each relay (its text calls it
# the entry "size"; ET11 itself says the total number of switches per relay).

RELAY_CONTROL_RCD = BitGroup(2, (
    bits("relay_state", "Relay State", 0, 0, enum={0: "Open", 1: "Closed"}),
    bits("minute", "Minute", 5, 10),
    bits("hour", "Hour", 11, 15),
))

ET61 = TableSpec("ET61", "Time-Based Relay Control Calendar", (
    Array("relay_control", "Relay Control", 2, Record("relay", "Relay", (
        Array("relay_switches", "Relay Switches", ET11_TIME_BASED_RELAY_SWITCHES,
              RELAY_CONTROL_RCD),
    ))),
))

TABLES = (BT50, BT54, ET47, ET61)
