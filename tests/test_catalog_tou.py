"""Display, time-of-use and load control tables: BT30, BT33, BT50, BT54, ET46, ET47, ET61, ET80."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from catalogutil import (
    assert_decodes_within,
    assert_round_trip,
    context,
    offsets,
    random_bytes,
    random_values,
)

from mepshark.dissector.catalog import DimensionContext, decode, encode, layout, table_size
from mepshark.dissector.catalog import control as c
from mepshark.dissector.catalog import display as d
from mepshark.dissector.catalog import timeofuse as t
from mepshark.dissector.catalog.layout import CAPTURE, DEFAULT, plan
from mepshark.dissector.catalog.registry import CATALOG, DIMENSION_SOURCES, spec_for

ALL = (*d.TABLES, *t.TABLES, *c.TABLES)

# BT50 and BT30 with the guide's Value columns, as a meter would return them.
BT50_GUIDE = bytes.fromhex("03182C1917C8002803")
BT30_GUIDE = bytes.fromhex("01C203021E0001000000")

# Learned dimensions other than the defaults: an older TOU format (4 seasons,
# no non-recurring dates), separate week days, 3 special schedules; two
# display lists of 5 items; 10 relay switches per relay.
OTHER = {
    "BT50": {"nbr_seasons": 4, "nbr_special_schedules": 3, "nbr_non_recurring_dates": 0,
             "nbr_recurring_dates": 6, "nbr_tier_switches": 20, "separate_week_days": 1},
    "BT30": {"nbr_primary_list_items": 5, "nbr_primary_lists": 2},
    "ET11": {"time_based_relay_switches": 10},
}


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("learned", [None, OTHER], ids=["default", "learned"])
@pytest.mark.parametrize("spec", ALL, ids=lambda s: s.tag)
def test_round_trip(spec, learned):
    dims = context(learned)
    assert_round_trip(spec, random_values(spec, dims, seed=spec.tid), dims)


def test_registered_and_dimension_sources():
    for spec in ALL:
        assert spec_for(spec.tag) is spec and CATALOG[spec.tid] is spec
    assert spec_for("ET46").tid == 2094 and spec_for("ET47").tid == 2095
    assert spec_for("ET61").tid == 2109 and spec_for("ET80").tid == 2128
    assert {"BT30", "BT50", "ET11"} <= DIMENSION_SOURCES


# ------------------------------------------------------------ sizes and offsets


def test_fixed_sizes():
    assert [table_size(s) for s in (d.BT30, t.BT50, t.ET47, c.ET46, c.ET80)] == [
        10, 9, 16, 23, 8]


def test_bt30_offsets_and_guide_values():
    assert offsets(d.BT30) == {
        "on_time": 0, "off_time": 0, "hold_time": 0, "nbr_display_sources": 1,
        "width_display_sources": 3, "nbr_primary_list_items": 4, "nbr_primary_lists": 6,
        "nbr_secondary_list_items": 7, "nbr_secondary_lists": 9}
    v = decode(d.BT30, BT30_GUIDE, full=True).values()
    assert v["on_time"] and not v["off_time"] and not v["hold_time"]
    assert (v["nbr_display_sources"], v["width_display_sources"]) == (962, 2)
    assert (v["nbr_primary_list_items"], v["nbr_primary_lists"]) == (30, 1)


def test_bt33_guide_values_and_sizes():
    img = bytes.fromhex("061003" "00200120" "0000") + bytes(54)
    got = decode(d.BT33, img, full=True)
    assert got.problems == [] and got.size == 3 + 2 * 30
    v = got.values()
    p = "primary_display_list[0]."
    assert (v[p + "on_time"], v[p + "off_time"], v[p + "hold_time"]) == (6, 0, 0)
    assert v[p + "default_list"] == 1 and v[p + "nbr_list_items"] == 3
    assert [v[f"display_sources[{i}]"] for i in range(3)] == [0x2000, 0x2001, 0]
    texts = {f.slot.path: f.text for f in got.fields}
    assert texts[p + "on_time"] == "6 s" and texts["display_sources[1]"] == "0x2001"
    assert texts[p + "default_list"] == "Normal display (1)"
    assert got.defaults_used == ["BT30.nbr_primary_lists", "BT30.nbr_primary_list_items"]
    ctx = DimensionContext()
    ctx.learn(decode(d.BT30, BT30_GUIDE))
    assert table_size(d.BT33, ctx) == 63
    assert table_size(d.BT33, context(OTHER)) == 2 * 3 + 5 * 2


def test_bt50_guide_values():
    got = decode(t.BT50, BT50_GUIDE, full=True)
    v = got.values()
    assert got.problems == [] and v["tou_self_read"] and v["season_self_read"]
    assert not v["season_demand_reset"] and not v["anchor_date"]
    assert not v["separate_week_days"] and v["sort_tier_switches"]
    assert v["capable_of_time_zone_offset"] and not v["daylight_saving_time_auto"]
    assert (v["nbr_seasons"], v["nbr_special_schedules"]) == (12, 2)
    assert (v["nbr_non_recurring_dates"], v["nbr_recurring_dates"]) == (25, 23)
    assert (v["nbr_tier_switches"], v["calendar_table_size"]) == (200, 808)
    assert {f.slot.path: f.slot.offset for f in got.fields}["calendar_table_size"] == 7


def test_bt54_offsets_match_the_guide_formulas():
    o = offsets(t.BT54)
    # NonRecurrDateRcd and RecurrDateRcd: 3 bytes, TierSwitchRcd: 3, SeaSchedRcd: 5
    assert o["non_recurring_date_records[0].non_recurring_date"] == 0
    assert o["non_recurring_date_records[0].action"] == 2
    assert o["non_recurring_date_records[24].self_read"] == 74
    assert o["recurring_date_records[0].recurring_date"] == 25 * 3
    assert o["recurring_date_records[22].action"] == 75 + 22 * 3 + 2
    assert o["tier_switches[0].tier"] == o["tier_switches[0].hour"] == 75 + 69
    assert o["tier_switches[0].schedule"] == 144 + 2
    assert o["tier_switches[199].minute"] == 144 + 199 * 3
    assert o["season_schedules[0].saturday"] == 144 + 600
    assert o["season_schedules[0].special_schedule_1"] == 744 + 4
    assert o["season_schedules[11].sunday"] == 744 + 55 + 1
    assert o["calendar_id"] == 744 + 60
    assert table_size(t.BT54) == 808


def test_bt54_sized_by_learned_bt50():
    ctx = DimensionContext()
    ctx.learn(decode(t.BT50, BT50_GUIDE), frame=4)
    got = decode(t.BT54, bytes(808), 0, ctx, full=True)
    assert got.problems == [] and got.defaults_used == []
    assert got.dims["BT50.nbr_tier_switches"].source == CAPTURE
    assert got.dims["BT50.nbr_tier_switches"].frame == 4
    # the pre-3.50 format: 4 seasons, no non-recurring dates
    old = encode(t.BT50, {"nbr_seasons": 4, "nbr_special_schedules": 2,
                          "nbr_recurring_dates": 23, "nbr_tier_switches": 200})
    ctx.learn(decode(t.BT50, old), frame=9)
    assert table_size(t.BT54, ctx) == 0 + 69 + 600 + 4 * 5 + 4
    o = offsets(t.BT54, ctx)
    assert o["recurring_date_records[0].recurring_date"] == 0
    assert o["calendar_id"] == 689
    assert table_size(t.BT54, context(OTHER)) == 6 * 3 + 20 * 3 + 4 * (7 + 3) + 4


def test_bt54_values_and_rendering():
    img = encode(t.BT54, {
        "non_recurring_date_records[0].non_recurring_date": dt.date(2024, 12, 25),
        "non_recurring_date_records[0].action": 19,
        "recurring_date_records[0].recurring_date": {"month": 3, "offset": 0, "weekday": 0,
                                                     "day": 31},
        "recurring_date_records[0].action": 1, "recurring_date_records[0].tou_format": 1,
        "recurring_date_records[1].action": 14, "recurring_date_records[1].self_read": True,
        "tier_switches[1].tier": 2, "tier_switches[1].hour": 7, "tier_switches[1].minute": 30,
        "season_schedules[0].weekday": 5, "calendar_id": 0xCAFE0001})
    assert img[144 + 3 : 144 + 5] == (2 | 30 << 5 | 7 << 11).to_bytes(2, "little")
    texts = {f.slot.path: f.text for f in decode(t.BT54, img).fields}
    assert texts["non_recurring_date_records[0].non_recurring_date"] == "2024-12-25"
    assert texts["non_recurring_date_records[0].action"] == "Special schedule 0 (19)"
    assert texts["recurring_date_records[0].action"] == "Daylight savings time on (1)"
    assert texts["recurring_date_records[1].action"] == "Select season 11 (14)"
    assert texts["recurring_date_records[1].self_read"] == "True"
    assert texts["recurring_date_records[0].recurring_date"].startswith("month=3")
    assert texts["calendar_id"] == "0xCAFE0001"
    assert texts["season_schedules[0].weekday"] == "5"


def test_et46_et47_et80_offsets():
    assert offsets(c.ET46) == {
        "reserved": 0, "disconnect_control_type": 11, "reserved_12": 12,
        "prepay_negative_credit": 13,
        "maximum_power_current_average_power_disconnect_open_time": 17}
    assert offsets(t.ET47) == {"tariff": 0, "cancellation": 1, "override_duration": 2,
                                "cancellation_time": 6, "calendar_id": 12}
    assert offsets(c.ET80) == {
        "average_power_enabled": 0, "average_power_control_sub_interval": 1,
        "average_power_control_interval_multiplier": 3,
        "average_power_disconnect_threshold": 4}


def test_et46_et47_values():
    img = bytes(11) + b"\x01\x00" + (-1500).to_bytes(4, "little", signed=True) + bytes(
        (24, 6, 1, 13, 45, 10))
    texts = {f.slot.path: f.text for f in decode(c.ET46, img, full=True).fields}
    assert texts["disconnect_control_type"] == "Current measurements (1)"
    assert texts["prepay_negative_credit"] == "-1500 Wh"
    assert texts["maximum_power_current_average_power_disconnect_open_time"] == (
        "2024-06-01 13:45:10")
    # a meter before 3.70 ends ET46 after offset 12
    got = decode(c.ET46, img[:13], full=True)
    assert got.get("disconnect_control_type") == 1 and any("short" in p for p in got.problems)
    img = encode(t.ET47, {"tariff": 255, "cancellation": 2, "override_duration": 3600,
                          "calendar_id": 7})
    texts = {f.slot.path: f.text for f in decode(t.ET47, img).fields}
    assert texts["tariff"] == "Cancel the override in effect (255)"
    assert texts["cancellation"] == "After Override Duration (2)"
    assert texts["override_duration"] == "3600 s"


def test_et61_offsets_and_sizes():
    o = offsets(t.ET61)
    assert o["relay_control[0].relay_switches[0].relay_state"] == 0
    assert o["relay_control[0].relay_switches[0].hour"] == 0
    assert o["relay_control[0].relay_switches[79].minute"] == 158
    assert o["relay_control[1].relay_switches[0].relay_state"] == 160
    assert table_size(t.ET61) == 320
    assert table_size(t.ET61, context(OTHER)) == 40
    img = encode(t.ET61, {"relay_control[1].relay_switches[2].relay_state": 1,
                          "relay_control[1].relay_switches[2].hour": 23,
                          "relay_control[1].relay_switches[2].minute": 59})
    assert img[164:166] == (1 | 59 << 5 | 23 << 11).to_bytes(2, "little")
    texts = {f.slot.path: f.text for f in decode(t.ET61, img[164:166], 164).fields}
    assert texts == {"relay_control[1].relay_switches[2].relay_state": "Closed (1)",
                     "relay_control[1].relay_switches[2].minute": "59",
                     "relay_control[1].relay_switches[2].hour": "23"}


# --------------------------------------------------------------- windows, garbage


def test_partial_window_of_bt54():
    values = random_values(t.BT54, seed=5)
    image = encode(t.BT54, values)
    got = decode(t.BT54, image[745:790], 745)
    paths = {f.slot.path for f in got.fields}
    assert "season_schedules[0].saturday" not in paths  # offset 744, outside
    assert "season_schedules[0].sunday" in paths and "season_schedules[8].sunday" in paths
    assert "season_schedules[9].sunday" not in paths  # 790, one past the window
    assert all(values[f.slot.path] == f.value for f in got.fields)
    assert not any("cut" in p for p in got.problems)
    # a window that splits a tier switch bit field reports it
    got = decode(t.BT54, image[145:150], 145)
    assert any("tier_switches[0].tier" in p and "cut" in p for p in got.problems)
    assert {f.slot.path for f in got.fields} == {
        "tier_switches[0].schedule", "tier_switches[1].tier", "tier_switches[1].minute",
        "tier_switches[1].hour", "tier_switches[1].schedule"}


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s.tag)
def test_short_and_garbage_data_never_raise(spec):
    rng = random.Random(spec.tid)
    for learned in (None, OTHER):
        dims = context(learned)
        for _ in range(40):
            raw = random_bytes(rng, rng.randrange(0, 60))
            assert_decodes_within(spec, raw, rng.choice([0, rng.randrange(1000)]), dims)
        got = decode(spec, b"\x01", 0, dims, full=True)
        if table_size(spec, dims) > 1:
            assert any("short" in p for p in got.problems)


def test_invalid_dates_and_corrupt_dimensions():
    got = decode(t.BT54, b"\xff\xff\x00", 0)
    assert got.fields[0].value is None and got.fields[0].note
    got = decode(c.ET46, bytes(17) + b"\x63\x0d\x20\x30\x70\x70", 0)
    assert got.get("maximum_power_current_average_power_disconnect_open_time") is None
    big = {"BT50.nbr_tier_switches": 65535, "BT50.nbr_non_recurring_dates": 255}
    p = plan(t.BT54, big)
    assert len(p.slots) <= 20000 and p.problems


# ------------------------------------------- guide ambiguities (docs/guide-notes.md)


def test_note_bt30_bt50_fields_numbered_by_offset():
    # BT33 is ARRAY[BT30.6] then ARRAY[BT30.4]: the fields at offsets 6 and 4.
    ctx = DimensionContext()
    ctx.learn(decode(d.BT30, encode(d.BT30, {"nbr_primary_list_items": 7,
                                             "nbr_primary_lists": 1, "nbr_display_sources": 99,
                                             "width_display_sources": 2})))
    assert table_size(d.BT33, ctx) == 3 + 2 * 7
    # BT54's BT50.3 / .4 / .5 / .2 are the fields at offsets 3, 4, 5 and 2.
    dims = {"BT50.nbr_non_recurring_dates": 1, "BT50.nbr_recurring_dates": 2,
            "BT50.nbr_tier_switches": 3, "BT50.nbr_seasons": 4}
    o = offsets(t.BT54, dims)
    assert o["recurring_date_records[0].recurring_date"] == 3
    assert o["tier_switches[0].tier"] == 3 + 6
    assert o["season_schedules[0].saturday"] == 9 + 9
    assert o["calendar_id"] == 18 + 20


def test_note_bt33_display_sources_follow_all_list_records():
    o = offsets(d.BT33, {"BT30.nbr_primary_lists": 2, "BT30.nbr_primary_list_items": 4})
    assert o["primary_display_list[1].nbr_list_items"] == 5
    assert o["display_sources[0]"] == 6 and o["display_sources[3]"] == 12
    assert offsets(d.BT33)["display_sources[0]"] == 3  # the guide's single-list offset


def test_note_bt54_tier_switches_are_the_whole_array():
    # BT50.5 says "per day", but 200 records of 3 bytes are what gives 808.
    v = decode(t.BT50, BT50_GUIDE).values()
    assert table_size(t.BT54) == v["calendar_table_size"] == 808
    assert len([s for s in layout(t.BT54) if s.path.endswith(".schedule")]) == 200


def test_note_bt54_tou_format_bit_in_first_recurring_record():
    img = encode(t.BT54, {"recurring_date_records[0].tou_format": 1,
                          "recurring_date_records[0].action": 3})
    assert img[75 + 2] == 0x83
    v = decode(t.BT54, img).values()
    assert v["recurring_date_records[0].tou_format"] == 1
    assert "recurring_date_records[1].tou_format" not in v
    assert "non_recurring_date_records[0].tou_format" not in v
    text = next(f.text for f in decode(t.BT54, img).fields
                if f.slot.path == "recurring_date_records[0].tou_format")
    assert text.startswith("3.50+")


def test_note_bt54_separate_week_days_expands_season_record():
    dims = {"BT50.separate_week_days": 1}
    o = offsets(t.BT54, dims)
    days = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
            "special_schedule_0", "special_schedule_1")
    assert [o[f"season_schedules[1].{n}"] for n in days] == list(range(753, 762))
    assert "season_schedules[0].weekday" not in o
    assert table_size(t.BT54, dims) == 808 + 12 * 4
    d0 = offsets(t.BT54)
    assert [d0[f"season_schedules[0].{n}"] for n in ("saturday", "sunday", "weekday")] == [
        744, 745, 746]
    # BT50's special-schedule count sizes the rest of each record
    o = offsets(t.BT54, {"BT50.nbr_special_schedules": 3})
    assert o["season_schedules[0].special_schedules[2]"] == 744 + 5
    assert o["season_schedules[1].saturday"] == 744 + 6


def test_note_et61_et11_26_counts_switches_per_relay():
    got = decode(t.ET61, bytes(320), full=True)
    assert got.problems == [] and got.dims["ET11.time_based_relay_switches"].source == DEFAULT
    assert all(s.size == 2 for s in layout(t.ET61))
    ctx = context({
        "ET11": {"time_based_relay_switches": 20},
    })
    assert table_size(t.ET61, ctx) == 2 * 20 * 2


def test_note_et80_sub_interval_in_seconds():
    img = bytes.fromhex("01" "8403" "0F" "E8030000")  # 900 s x 15, 1000 W
    texts = {f.slot.path: f.text for f in decode(c.ET80, img, full=True).fields}
    assert texts == {"average_power_enabled": "Enabled (1)",
                     "average_power_control_sub_interval": "900 s",
                     "average_power_control_interval_multiplier": "15",
                     "average_power_disconnect_threshold": "1000 W"}
