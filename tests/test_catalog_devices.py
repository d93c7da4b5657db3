"""Device tables ET34, ET36, ET42, ET45, ET57, ET71, ET74: offsets, sizes, queues, captures."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from catalogutil import assert_decodes_within, offsets, random_bytes, settled_values

from mepshark.dissector.catalog import (
    DimensionContext,
    decode,
    devices,
    encode,
    layout,
    manufacturer,
    plan,
    spec_for,
    table_size,
)
from mepshark.dissector.catalog.devices import recurring_read_order
from mepshark.dissector.catalog.layout import CAPTURE, DEFAULT
from mepshark.dissector.catalog.registry import DIMENSION_SOURCES

D = devices


def et36_image(**overrides) -> bytes:
    """ET36 with the guide's defaults, table ids filled in, ``overrides`` on top."""
    values = {"count": 7}
    for t in D.ET36_LOGS:
        p = t.lower()
        values[f"{p}_tbl_proc_nbr"] = int(t[2:])
        values[f"{p}_std_vs_mfg_flag"] = True
        values[f"{p}_entry_size"] = D.ET36_ENTRY_SIZE[t].default
        values[f"{p}_max_entries"] = D.ET36_MAX_ENTRIES[t].default
        values[f"{p}_current_entries"] = D.ET36_CURRENT_ENTRIES[t].default
        values[f"{p}_length_included"] = True
    values.update(overrides)
    return encode(D.ET36, values)


# ------------------------------------------------------------- registry


def test_tables_are_registered_and_dimension_sources():
    for spec in D.TABLES:
        assert spec_for(spec.tag) is spec
    assert [s.tid for s in D.TABLES] == [2082, 2084, 2090, 2093, 2105, 2119, 2122]
    assert {"ET36", "ET42", "ET54"} <= DIMENSION_SOURCES


# ----------------------------------------------------------- round trips

LEARNED = {"ET11.nbr_devices": 6, "ET11.config_entry_2_size": 24, "ET11.et57_entry_count": 5,
           "ET11.mep_data_alert_sources": 3, "ET36.et45_current_entries": 3,
           "ET36.et45_entry_size": 40, "ET54.et74_entry_count": 2}


# ET42 as current firmware sends it: 41-byte fixed section, 7 logs, 8-byte required section
ET42_BASE = {"fixed_section_length": 41, "log_list_size": 7, "required_section_length": 8}
# ET42's own counts kept small and every optional part present
ET42_COUNTS = {"fixed_section_length": 43, "log_list_size": 8, "nbr_demands": 2,
               "nbr_coincident_values": 1, "nbr_channels": 3, "mdtt_current_entries": 2,
               "data_set_2_active": True, "data_set_3_active": False, "data_set_4_active": True,
               "data_set_2.nbr_channels": 2, "data_set_4.nbr_channels": 1,
               "required_section_length": 8}


@pytest.mark.parametrize("dims", [None, LEARNED], ids=["default", "learned"])
@pytest.mark.parametrize("spec", D.TABLES, ids=lambda s: s.tag)
def test_round_trip(spec, dims):
    values = settled_values(spec, dims, ET42_COUNTS if spec is D.ET42 else None)
    img = encode(spec, values, dims)
    d = decode(spec, img, 0, dims, full=True)
    assert d.problems == [] and d.size == len(img)
    got = d.values()
    assert got and all(got[k] == values[k] for k in got)
    assert set(got) == {s.path for s in plan(spec, dims, img).slots}
    assert encode(spec, got, dims) == img


def test_et42_round_trip_lays_out_every_optional_part():
    values = {"fixed_section_length": 43, "log_list_size": 8, "nbr_demands": 2,
              "nbr_coincident_values": 1, "nbr_channels": 3, "mdtt_current_entries": 2,
              "data_set_2_active": True, "data_set_4_active": True,
              "data_set_2.nbr_channels": 2, "data_set_4.nbr_channels": 1,
              "required_section_length": 8, "required_section.et74_entry_count": 300,
              "mdtt_entries[1].mdt": 7, "data_set_4.load_profile_extended_sources[0]": 0x4001,
              "log_list[7].entry_size": 99, "coincident_sources[0]": 19}
    img = encode(D.ET42, values)
    v = decode(D.ET42, img, full=True).values()
    assert all(v[k] == x for k, x in values.items())
    lists = 43 + 8 * 3
    # sources 2 + 1 + 2*3, MDTT count and 2 entries, bit mask, sets 2 and 4 (14 bytes and
    # 2 or 1 sources), the 8-byte required section
    assert len(img) == lists + 9 + 1 + 2 * 4 + 1 + (14 + 2 * 2) + (14 + 2 * 1) + 8


# -------------------------------------------------------------- offsets


def test_et34_offsets_and_sizes():
    o = offsets(D.ET34)
    e = "device_config[0]."
    for name, off in (("reserved", 0), ("group_mask", 2), ("reserved_3", 3),
                      ("load_profile_poll_rate", 4), ("control_mdt", 6),
                      ("command_monitor_mdt", 7), ("time_stamp_mdt", 8),
                      ("hour_locator_start_bit", 9), ("hour_locator_bit_count", 9),
                      ("minute_locator_start_bit", 10), ("load_profile_poll_wait", 11),
                      ("load_profile_poll_retry_attempts", 12),
                      ("load_profile_poll_retry_wait", 13), ("reserved_14", 14)):
        assert o[e + name] == off, name
    assert o["device_config[4].group_mask"] == 4 * 22 + 2
    assert table_size(D.ET34) == 5 * 22
    assert table_size(D.ET34, {"ET11.nbr_devices": 6}) == 6 * 22  # Gen 4: second MEP client
    assert table_size(D.ET34, {"ET11.config_entry_2_size": 30}) == 5 * 30
    # the guide's example time stamp locators: hour 17/5, minute 9/6
    img = encode(D.ET34, {e + "hour_locator_start_bit": 17, e + "hour_locator_bit_count": 5,
                          e + "minute_locator_start_bit": 9, e + "minute_locator_bit_count": 6,
                          e + "load_profile_poll_rate": 60})
    assert img[9] == 17 | 5 << 5 and img[10] == 9 | 6 << 5 and img[4:6] == b"\x3c\x00"


def test_et36_offsets_follow_the_17_byte_records():
    o = offsets(D.ET36)
    assert o["count"] == 0 and o["et31_tbl_proc_nbr"] == 1
    # the offsets ET42 quotes as the "root table fields" of its log list
    for path, off in (("et31_entry_size", 3), ("et31_current_entries", 7),
                      ("et32_entry_size", 20), ("et32_current_entries", 24),
                      ("et38_entry_size", 37), ("et38_current_entries", 41),
                      ("et41_entry_size", 54), ("et41_current_entries", 58),
                      ("et45_entry_size", 71), ("et45_current_entries", 75),
                      ("et75_entry_size", 88)):
        assert o[path] == off, path
    assert (o["et45_max_entries"], o["et45_length_included"], o["et45_spare"]) == (73, 77, 78)
    assert table_size(D.ET36) == 1 + 7 * 17 + 1
    assert table_size(D.ET36, {"ET42.unread_log_entries_bitmap_enabled": 0}) == 120


def test_et36_count_other_than_seven():
    img = encode(D.ET36, {"count": 9, "further_logs[1].entry_size": 77,
                          "unread_entries_bitmap": 0x0110})
    d = decode(D.ET36, img, full=True)
    assert d.size == 1 + 9 * 17 + 2 and d.problems == []
    assert d.get("further_logs[1].entry_size") == 77 and d.get("unread_entries_bitmap") == 0x110
    assert {f.slot.path: f.slot.offset for f in d.fields}["further_logs[1].entry_size"] == 139
    d = decode(D.ET36, bytes([2]) + bytes(35), full=True)  # two logs only
    assert d.size == 36 and "et38_entry_size" not in d.values() and d.problems == []


def test_et42_offsets():
    o = offsets(D.ET42)
    for path, off in (("table_length", 0), ("fixed_section_length", 2), ("log_list_size", 3),
                      ("ica_nak", 4), ("c12_19_compliance", 6), ("bidn", 8),
                      ("unread_log_entries_bitmap_enabled", 10), ("nbr_self_reads", 11),
                      ("nbr_present_values", 18), ("demand_sub_interval", 19), ("tier_size", 21),
                      ("block_size", 23), ("nbr_blocks", 27), ("nbr_channels", 29),
                      ("interval_duration", 30), ("interval_size", 31), ("options", 32),
                      ("intervals_per_block", 33), ("block_start_hour", 35),
                      ("block_start_minute", 36), ("event_number", 37),
                      ("history_log_count", 38), ("history_log_entry_size", 40)):
        assert o[path] == off, path
    fsl = 41  # the log list's fields at ET42.FSL + n
    for path, n in (("otr_log.log_count", 0), ("otr_log.entry_size", 1),
                    ("mbus_otr_log.log_count", 3), ("mbus_otr_log.entry_size", 4),
                    ("config_id_log.log_count", 6), ("demand_reset_log.entry_size", 10),
                    ("mbus_recurring_log.log_count", 12), ("mbus_recurring_log.entry_size", 13),
                    ("lp_change_log.log_count", 15), ("lp_change_log.entry_size", 16),
                    ("power_outage_log.log_count", 18), ("power_outage_log.entry_size", 19)):
        assert o[path] == fsl + n, path
    assert table_size(D.ET42) == fsl + 21 + 1 + 1 + 8


def test_et42_sources_offsets_from_its_own_counts():
    img = encode(D.ET42, {**ET42_BASE, "nbr_demands": 2,
                          "nbr_coincident_values": 4, "nbr_channels": 3,
                          "mdtt_current_entries": 1})
    o = {f.slot.path: f.slot.offset for f in decode(D.ET42, img).fields}
    base = 41 + 3 * 7  # ET42.FSL + 3*ET42.LLS
    assert o["demand_sources[0]"] == base
    assert o["coincident_sources[0]"] == base + 2
    assert o["load_profile_extended_sources[0]"] == base + 2 + 4
    assert o["mdtt_current_entries"] == base + 2 + 4 + 2 * 3
    assert o["mdtt_entries[0].drh"] == base + 2 + 4 + 2 * 3 + 1 + 1
    assert o["data_set_2_active"] == base + 2 + 4 + 6 + 1 + 4
    assert table_size(D.ET42, {"ET54.multiple_load_profile_data_set_support": 0}) == 71


def test_et45_offsets_and_sizes():
    dims = {"ET36.et45_current_entries": 3}
    o = offsets(D.ET45, dims)
    for path, off in (("order", 0), ("list_type", 0), ("nbr_valid_entries", 1),
                      ("last_entry_element", 2), ("last_entry_sequence_number", 3),
                      ("nbr_unread_entries", 5), ("log_entries[0].length", 6),
                      ("log_entries[0].identifier", 8), ("log_entries[0].namespace", 8),
                      ("log_entries[0].handle", 10), ("log_entries[0].execution_status", 12),
                      ("log_entries[0].result", 13), ("log_entries[0].data.timestamp", 14),
                      ("log_entries[0].data.data_order", 20),
                      ("log_entries[0].data.telegram_length", 21),
                      ("log_entries[2].handle", 6 + 2 * 525 + 4)):
        assert o[path] == off, path
    assert table_size(D.ET45) == 6  # ET36's default: no entries configured
    assert table_size(D.ET45, dims) == 6 + 3 * 525
    slots = {s.path: s for s in layout(D.ET45, dims)}
    # no data: the Length word is unknown, so no telegram is laid out, only room
    assert not any(p.startswith("log_entries[0].data.telegram.") for p in slots)
    assert table_size(D.ET45, {**dims, "ET36.et45_entry_size": 100}) == 6 + 300


def test_et74_offsets_and_sizes():
    dims = {"ET54.et74_entry_count": 2}
    o = offsets(D.ET74, dims)
    for path, off in (("order", 0), ("nbr_valid_entries", 1), ("last_entry_element", 3),
                      ("last_entry_sequence_number", 5), ("nbr_unread_entries", 7),
                      ("log_entries[0].length", 9), ("log_entries[0].filler", 11),
                      ("log_entries[0].handle", 13), ("log_entries[0].execution_status", 15),
                      ("log_entries[0].result", 16), ("log_entries[0].data.timestamp", 17),
                      ("log_entries[1].length", 9 + 525)):
        assert o[path] == off, path
    assert table_size(D.ET74) == 9
    assert table_size(D.ET74, dims) == 9 + 2 * 525


def test_et57_entries_and_guide_example():
    o = offsets(D.ET57)
    assert (o["mdt_entries[0].entry_type"], o["mdt_entries[0].mdt"],
            o["mdt_entries[0].special"], o["mdt_entries[0].drh"]) == (0, 0, 0, 1)
    assert o["mdt_entries[15].drh"] == 15 * 4 + 1
    assert table_size(D.ET57) == 16 * 4
    # chapter 3: "MDT: 1 DRH: 0C 93 3A Special: False", an M-Bus base entry
    v = decode(D.ET57, bytes([1 | 1 << 2]) + bytes.fromhex("0C933A"), 0).values()
    assert v == {"mdt_entries[0].entry_type": 1, "mdt_entries[0].mdt": 1,
                 "mdt_entries[0].special": False, "mdt_entries[0].drh": b"\x0c\x93\x3a"}
    d = decode(D.ET57, bytes([0x85]), 4)
    assert [f.text for f in d.fields] == ["M-Bus base entry (1)", "1", "True"]


def test_et71_offsets_and_defaults():
    o = offsets(D.ET71)
    e = "delta_data[0]."
    assert {k[len(e):]: o[k] for k in o if k.startswith(e)} == {
        "delta_data_monitor_source": 0, "configured_delta": 2, "comparison_value": 4,
        "sampled_data_value": 8, "source_id_invalid": 12}
    assert o["delta_data[9].source_id_invalid"] == 9 * 13 + 12
    assert table_size(D.ET71) == 10 * 13  # ET11.27 default: 10 sources
    assert table_size(D.ET71, {"ET11.mep_data_alert_sources": 20}) == 260
    img = encode(D.ET71, {e + "delta_data_monitor_source": 255, e + "comparison_value": -5})
    d = {f.slot.path: f.text for f in decode(D.ET71, img).fields}
    assert d[e + "delta_data_monitor_source"] == "Entry not in use (255)"
    assert d[e + "configured_delta"] == "Disabled (0)" and d[e + "comparison_value"] == "-5"


# ------------------------------------------------------ the capture chain


def test_scheduled_read_chain_et14_et36_et45_et74():
    """Chapter 3: handle from ET14, ET45's shape from ET36, then the new entries."""
    ctx = DimensionContext()
    ctx.learn(decode(manufacturer.ET11, bytes.fromhex("054224050605020103F9")), frame=1)
    et14 = encode(manufacturer.ET14, {"device_1_occupied": True,
                                      "device_status[0].device_handle": 1001,
                                      "device_status[0].billing_read_length": 47}, ctx)
    handle = decode(manufacturer.ET14, et14, 0, ctx).get("device_status[0].device_handle")
    assert handle == 1001
    learned = ctx.learn(decode(D.ET36, et36_image(et45_current_entries=4,
                                                  et45_entry_size=64)), frame=2)
    assert "ET36.et45_current_entries" in learned and "ET36.et45_entry_size" in learned
    assert table_size(D.ET45, ctx) == 6 + 4 * 64
    # 4-entry queue, wrapped: elements 3, 0, 1 hold the reads, 1 is the newest
    values = {"list_type": True, "nbr_valid_entries": 3, "last_entry_element": 1,
              "last_entry_sequence_number": 812, "nbr_unread_entries": 2}
    for i, h in ((3, 1001), (0, 2000), (1, 1001)):
        values.update({f"log_entries[{i}].length": 30, f"log_entries[{i}].handle": h,
                       f"log_entries[{i}].result": 4,
                       f"log_entries[{i}].data.timestamp": dt.datetime(2024, 5, 1, 10 + i, 0)})
    img = encode(D.ET45, values, {"ET36.et45_current_entries": 4, "ET36.et45_entry_size": 64})
    d = decode(D.ET45, img, 0, ctx, full=True)
    assert d.problems == [] and d.defaults_used == []
    assert d.dims["ET36.et45_current_entries"].source == CAPTURE
    assert d.dims["ET36.et45_current_entries"].frame == 2
    assert recurring_read_order(d) == [3, 0, 1]
    assert recurring_read_order(d, unread_only=True) == [0, 1]
    mine = [i for i in recurring_read_order(d) if d.get(f"log_entries[{i}].handle") == handle]
    assert mine == [3, 1]
    assert d.get("log_entries[1].data.timestamp") == dt.datetime(2024, 5, 1, 11, 0)
    # Length 30: 8 entry header + 8 MBR header + L (0) + 14 bytes of further telegrams
    assert d.get("log_entries[1].data.further_telegrams") == bytes(30 - 16)
    # ET74: its count from ET54.69, its entry size from ET45's
    ctx.learn(decode(manufacturer.ET54, (2).to_bytes(2, "little"), 69), frame=3)
    assert table_size(D.ET74, ctx) == 9 + 2 * 64
    img = encode(D.ET74, {"nbr_valid_entries": 1, "last_entry_element": 1,
                          "nbr_unread_entries": 1, "log_entries[1].handle": 1001},
                 {"ET54.et74_entry_count": 2, "ET36.et45_entry_size": 64})
    d = decode(D.ET74, img, 0, ctx, full=True)
    assert d.problems == [] and recurring_read_order(d) == [1]
    assert d.get("log_entries[1].handle") == 1001


def test_partial_read_of_an_entry_header():
    """Step 6: read only the Length and Handle of a new ET45 entry."""
    dims = {"ET36.et45_current_entries": 10}
    off = 6 + 7 * 525
    raw = (33).to_bytes(2, "little") + (2 << 11 | 5).to_bytes(2, "little") + \
        (1002).to_bytes(2, "little")
    d = decode(D.ET45, raw, off, dims)
    assert d.values() == {"log_entries[7].length": 33, "log_entries[7].identifier": 5,
                          "log_entries[7].namespace": 2, "log_entries[7].handle": 1002}
    assert d.problems == []
    assert recurring_read_order(d) == []  # no header in this window
    texts = {f.slot.path: f.text for f in d.fields}
    assert texts["log_entries[7].namespace"] == "OSGP (2)"
    d = decode(D.ET45, raw[:5], off, dims)  # the handle cut by the window
    assert "log_entries[7].handle" not in d.values() and any("cut" in p for p in d.problems)


def test_defaults_without_et36_in_the_capture():
    d = decode(D.ET45, bytes(6), full=True)
    assert d.dims["ET36.et45_current_entries"].source == DEFAULT
    assert "ET36.et45_current_entries" in d.defaults_used and d.problems == []
    assert recurring_read_order(d) == []


@pytest.mark.parametrize("spec", D.TABLES, ids=lambda s: s.tag)
def test_short_and_garbage_data_never_raise(spec):
    rnd = random.Random(spec.tid)
    for n in (0, 1, 3, 17, 200, 700):
        raw = random_bytes(rnd, n)
        for off in (0, 5, 130):
            assert_decodes_within(spec, raw, off, LEARNED)
    d = decode(spec, b"\x01", 0, full=True)
    assert table_size(spec) <= 1 or any("short" in p for p in d.problems)


# --------------------------------------------------------- queue order


def test_et42_log_list_follows_the_et36_records():
    assert [(log.tag, log.name) for log in D.ADJUSTABLE_LOGS] == [
        ("ET31", "otr_log"), ("ET32", "mbus_otr_log"), ("ET38", "config_id_log"),
        ("ET41", "demand_reset_log"), ("ET45", "mbus_recurring_log"),
        ("ET75", "lp_change_log"), ("ET81", "power_outage_log")]
    assert D.ET36_LOGS == tuple(log.tag for log in D.ADJUSTABLE_LOGS)
    et45 = (D.ET36_ENTRY_SIZE["ET45"], D.ET36_MAX_ENTRIES["ET45"], D.ET36_CURRENT_ENTRIES["ET45"])
    assert [(d.key, d.default) for d in et45] == [
        ("ET36.et45_entry_size", 525), ("ET36.et45_max_entries", 253),
        ("ET36.et45_current_entries", 0)]


def test_recurring_read_order_from_values():
    header = {"nbr_valid_entries": 4, "last_entry_element": 0, "nbr_unread_entries": 9}
    assert recurring_read_order(header, capacity=5) == [2, 3, 4, 0]
    assert recurring_read_order(header, capacity=5, unread_only=True) == [2, 3, 4, 0]
    assert recurring_read_order({**header, "nbr_unread_entries": 0}, 5, True) == []
    assert recurring_read_order({"nbr_valid_entries": 1}, capacity=5) == []


# --------------------------------------------- guide ambiguities (test_note_*)


def test_note_et36_bitmap_after_count_times_17():
    img = et36_image(unread_entries_bitmap=0b10000)  # ET45 has unread entries
    d = decode(D.ET36, img, full=True)
    s = next(f.slot for f in d.fields if f.slot.path == "unread_entries_bitmap")
    assert (s.offset, s.size) == (7 * 17 + 1, 1) and img[120] == 0x10
    assert d.fields[-1].text == "ET45" and d.problems == []


def test_note_et36_records_for_lp_change_and_power_outage_logs():
    # ET42 quotes ET36.88/.90 and ET36.103/.107; 17-byte records put ET75 at 86..102
    # and ET81 at 103..119, their sizes at 88/105 and current entries at 92/109.
    o = offsets(D.ET36)
    assert (o["et75_tbl_proc_nbr"], o["et75_entry_size"], o["et75_current_entries"]) == (
        86, 88, 92)
    assert (o["et81_tbl_proc_nbr"], o["et81_entry_size"], o["et81_current_entries"]) == (
        103, 105, 109)
    v = decode(D.ET36, et36_image()).values()
    assert (v["et75_tbl_proc_nbr"], v["et75_entry_size"], v["et81_entry_size"]) == (75, 143, 12)


def test_note_et34_reserved_is_eight_bytes():
    slots = {s.path: s for s in layout(D.ET34)}
    r = slots["device_config[0].reserved_14"]
    assert (r.offset, r.size) == (14, 8) and slots["device_config[1].reserved"].offset == 22


def test_note_et45_entry_size_counts_the_length_word():
    slots = {s.path: s for s in layout(D.ET45, {"ET36.et45_current_entries": 2})}
    first, second = slots["log_entries[0].length"], slots["log_entries[1].length"]
    assert second.offset - first.offset == 525
    # a full entry: Length 525 = 8 header + 8 MBR header + L 20 + 489 further bytes,
    # the "509 bytes of device data" ending where the next entry starts
    dims = {"ET36.et45_current_entries": 2}
    img = encode(D.ET45, {"log_entries[0].length": 525, "log_entries[0].data.telegram_length": 20,
                          "log_entries[1].length": 16}, dims)
    d = {f.slot.path: f.slot for f in decode(D.ET45, img, 0, dims).fields}
    tel = d["log_entries[0].data.telegram.serial_nbr"]
    rest = d["log_entries[0].data.further_telegrams"]
    assert tel.offset == first.offset + 16 and rest.offset == tel.offset + 20
    assert rest.end == second.offset and rest.end - tel.offset == 509


def test_note_et45_identifier_is_an_eleven_bit_number():
    v = decode(D.ET45, bytes.fromhex("FF17"), 8, {"ET36.et45_current_entries": 1}).values()
    assert v == {"log_entries[0].identifier": 0x7FF, "log_entries[0].namespace": 2}


def test_note_et74_entries_take_the_et45_entry_size():
    dims = {"ET54.et74_entry_count": 1, "ET36.et45_entry_size": 100,
            "ET11.data_entry_size": 517}
    d = decode(D.ET74, bytes(9 + 100), 0, dims, full=True)
    assert d.problems == [] and d.dims["ET36.et45_entry_size"].value == 100
    assert "ET11.data_entry_size" not in d.dims


def test_note_et42_only_active_data_sets_follow_the_bit_mask():
    img = encode(D.ET42, {**ET42_BASE, "data_set_3_active": True, "data_set_3.nbr_channels": 2,
                          "data_set_3.load_profile_extended_sources[1]": 0x4001,
                          "required_section.et74_entry_count": 12})
    d = decode(D.ET42, img, full=True)
    v = d.values()
    assert not any(k.startswith(("data_set_2.", "data_set_4.")) for k in v)
    o = {f.slot.path: f.slot.offset for f in d.fields}
    assert o["data_set_3.block_size"] == 64
    assert o["data_set_3.load_profile_extended_sources[1]"] == 64 + 14 + 2
    assert o["required_section_length"] == 64 + 14 + 4
    assert v["required_section.et74_entry_count"] == 12 and d.problems == []


def test_note_et42_required_section_length_says_which_fields_exist():
    img = encode(D.ET42, {**ET42_BASE, "required_section_length": 3,
                          "required_section.et74_entry_count": 5})
    d = decode(D.ET42, img, full=True)  # a 3.60 meter: the ET74 count only
    assert len(img) == d.size == 67 and d.problems == []
    assert [k for k in d.values() if k.startswith("required")] == [
        "required_section_length", "required_section.et74_entry_count"]


def test_note_et42_fixed_section_longer_than_known():
    img = encode(D.ET42, {**ET42_BASE, "fixed_section_length": 45,
                          "fixed_section_extension": b"abcd", "otr_log.log_count": 2})
    d = decode(D.ET42, img)
    assert d.get("fixed_section_extension") == b"abcd" and d.get("otr_log.log_count") == 2
    assert {f.slot.path: f.slot.offset for f in d.fields}["otr_log.log_count"] == 45
