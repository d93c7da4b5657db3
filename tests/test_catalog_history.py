"""History tables (BT26, BT70, BT71, BT74, ET31, ET41, ET79, ET81) and their queue order."""

from __future__ import annotations

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
from mepshark.dissector.catalog import history as h
from mepshark.dissector.catalog.layout import CAPTURE, DEFAULT, plan
from mepshark.dissector.catalog.queues import entry_order
from mepshark.dissector.catalog.registry import DIMENSION_SOURCES, spec_for

# BT21 with demand configured (as in the guide's transaction example) and 3 self-reads.
BT21_DEMAND = {"BT21.nbr_self_reads": 3, "BT21.demand_reset_counter": 1,
               "BT21.nbr_summations": 15, "BT21.nbr_demands": 2, "BT21.nbr_occurrences": 1,
               "BT21.cumulative_demand": 1, "BT21.nbr_tiers": 4}

OTHER_DIMS = {
    **BT21_DEMAND,
    "BT71.nbr_history_entries": 7, "BT71.history_data_length": 4, "BT71.event_number": 1,
    "ET54.et79_entry_count": 5, "ET36.et31_current_entries": 3, "ET36.et31_entry_size": 400,
    "ET36.et41_current_entries": 2, "ET36.et81_current_entries": 4,
}


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("dims", [None, OTHER_DIMS], ids=["default", "other"])
@pytest.mark.parametrize("spec", h.TABLES, ids=lambda s: s.tag)
def test_round_trip(spec, dims):
    assert_round_trip(spec, random_values(spec, dims), dims)


def test_registry_and_dimension_sources():
    for spec in h.TABLES:
        assert spec_for(spec.tag) is spec
    assert spec_for(2127) is h.ET79 and spec_for(74) is h.BT74
    assert {"BT71", "BT21", "ET54"} <= DIMENSION_SOURCES


# ------------------------------------------------------------------- sizes


def test_total_sizes_under_default_dimensions():
    assert {s.tag: table_size(s) for s in h.TABLES} == {
        "BT26": 6,                  # no self-reads configured by default
        "BT70": 9, "BT71": 9,
        "BT74": 11 + 100 * (12 + 2),  # BT71.5 = 100, BT71.3 = 2
        "ET31": 6 + 2 * 232,        # ET36: 2 entries of 232 bytes
        "ET41": 6, "ET79": 11, "ET81": 6,  # logs empty/disabled by default
    }


def test_sizes_under_learned_dimensions():
    ctx = context({
        "BT71": {"nbr_history_entries": 5, "history_data_length": 4, "event_number": 1},
        "BT21": {"nbr_self_reads": 2, "nbr_summations": 11, "nbr_tiers": 4, "nbr_demands": 0},
        "ET54": {"et79_entry_count": 3},
        "ET36": {"et31_current_entries": 4, "et31_entry_size": 300,
                 "et41_current_entries": 1, "et81_current_entries": 253},
    })
    record = 6 + 2 + 2 + 2 + 2 + 4  # time, event number, sequence, user, event, argument
    assert table_size(h.BT74, ctx) == 11 + 5 * record
    assert table_size(h.ET79, ctx) == 11 + 3 * record
    assert table_size(h.BT26, ctx) == 6 + 2 * (5 + 1 + 11 * 4 * 5)
    assert table_size(h.ET31, ctx) == 6 + 4 * 300
    assert table_size(h.ET41, ctx) == 6 + 1 * (2 + 1 + 2 + 5 + 1 + 11 * 4 * 5)
    assert table_size(h.ET81, ctx) == 6 + 253 * 12
    d = decode(h.BT74, bytes(table_size(h.BT74, ctx)), 0, ctx)
    assert d.dims["BT71.nbr_history_entries"].source == CAPTURE
    assert "BT71.nbr_history_entries" not in d.defaults_used
    assert "BT71.history_date_time" in d.defaults_used  # not learned: the guide's TRUE


def test_bt71_read_sizes_bt74_through_the_capture_context():
    bt71 = encode(h.BT71, {"history_date_time": True, "history_sequence_number": True,
                           "nbr_standard_event_bytes": 8, "nbr_manufacturer_event_bytes": 19,
                           "history_data_length": 2, "event_data_length": 2,
                           "nbr_history_entries": 200})
    assert bt71.hex() == "06" "08" "13" "02" "02" "c800" "0000"
    ctx = DimensionContext()
    ctx.learn(decode(h.BT71, bt71), frame=4)
    assert table_size(h.BT74, ctx) == 11 + 200 * 14
    got = ctx.lookup(h.BT71_NBR_HISTORY_ENTRIES)
    assert (got.value, got.source, got.frame) == (200, CAPTURE, 4)


# ------------------------------------------------------- guide offsets


def test_bt74_offsets_match_the_guide():
    o = offsets(h.BT74)
    assert (o["order"], o["overflow"], o["list_type"], o["inhibit_overflow"]) == (0, 0, 0, 0)
    assert o["nbr_valid_entries"] == 1
    assert o["last_entry_element"] == 3
    assert o["last_entry_sequence_number"] == 5
    assert o["nbr_unread_entries"] == 9
    r = "history_records[0]."
    assert [o[r + n] for n in ("time", "sequence_number", "user_id", "event", "argument")] == \
        [11, 17, 19, 21, 23]
    assert o["history_records[1].time"] == 11 + 14
    assert o["history_records[99].argument"] == 11 + 99 * 14 + 12
    assert offsets(h.ET79, {"ET54.et79_entry_count": 1}) == \
        {k: v for k, v in o.items() if not k.startswith("history_records[") or k.startswith(r)}


def test_bt74_event_bits_and_user_id():
    img = encode(h.BT74, {"order": 0, "list_type": 1, "overflow": True,
                          "history_records[0].event": 0x80A, "history_records[0].user_id": 0xFFFD},
                 {"BT71.nbr_history_entries": 1})
    assert img[0] == 0b0110
    assert img[21:23] == bytes.fromhex("0A08")
    d = decode(h.BT74, img[:23], 0, {"BT71.nbr_history_entries": 1})
    text = {f.slot.path: f.text for f in d.fields}
    assert text["list_type"] == "Circular queue (1)" and text["order"].startswith("Ascending")
    assert text["history_records[0].user_id"] == "0xFFFD"
    # the filler bits 12..15 of the event word are not part of the event
    d = decode(h.BT74, bytes(21) + bytes.fromhex("FFFF"), 0, {"BT71.nbr_history_entries": 1})
    assert d.get("history_records[0].event") == 0xFFF


def test_bt70_bt71_offsets():
    for spec in (h.BT70, h.BT71):
        o = offsets(spec)
        assert o["history_data_length"] == 3 and o["event_data_length"] == 4
        assert o["nbr_history_entries"] == 5 and o["nbr_event_entries"] == 7
    assert offsets(h.BT70)["nbr_standard_events"] == 1
    assert offsets(h.BT71)["nbr_manufacturer_event_bytes"] == 2


def test_et41_offsets_match_the_guide():
    o = offsets(h.ET41, {"ET36.et41_current_entries": 2})
    e = "demand_reset_entries[0]."
    assert [o[e + n] for n in ("length", "reset_reason", "bidn", "time_and_date", "season")] == \
        [6, 8, 9, 11, 16]
    assert o[e + "demand_reset_data.fwd_active_wh_l1l2l3"] == 17
    assert o["demand_reset_entries[1].length"] == 17 + 220
    text = decode(h.ET41, bytes([2]), 8, {"ET36.et41_current_entries": 1}).fields[0].text
    assert text == "Push button (2)"


def test_et81_offsets_match_the_guide():
    o = offsets(h.ET81, {"ET36.et81_current_entries": 2})
    assert o["nbr_valid_entries"] == 1 and o["last_entry_element"] == 2
    assert o["last_entry_sequence_number"] == 3 and o["nbr_unread_entries"] == 5
    assert o["log_entries[0].start_timestamp"] == 6
    assert o["log_entries[0].end_timestamp"] == 12
    assert o["log_entries[1].start_timestamp"] == 18  # ET36: 12-byte entries


def test_bt26_register_data_is_bt23():
    o = offsets(h.BT26, BT21_DEMAND)
    e = "self_read_entries[0]."
    assert o[e + "register_data.nbr_demand_resets"] == 14
    assert o[e + "register_data.fwd_active_wh_l1l2l3"] == 15
    from mepshark.dissector.catalog import basic
    bt23 = table_size(basic.BT23, BT21_DEMAND)
    assert o["self_read_entries[1].blg_iface_def_nbr"] == 6 + (2 + 5 + 1 + bt23)
    assert table_size(h.BT26, BT21_DEMAND) == 6 + 3 * (8 + bt23)


# ------------------------------------------------------ windows and bad data


def test_partial_window_decodes_whole_fields_only():
    dims = {"BT71.nbr_history_entries": 10}
    values = random_values(h.BT74, dims, seed=5)
    image = encode(h.BT74, values, dims)
    lo, hi = 11 + 3 * 14 + 4, 11 + 5 * 14 + 9  # mid record 3 .. mid record 5
    d = decode(h.BT74, image[lo:hi], lo, dims)
    got = d.values()
    assert "history_records[3].time" not in got  # cut at its start
    assert got["history_records[3].sequence_number"] == values["history_records[3].sequence_number"]
    assert got["history_records[4].argument"] == values["history_records[4].argument"]
    assert got["history_records[5].time"] == values["history_records[5].time"]
    assert "history_records[5].user_id" not in got
    assert any("history_records[3].time" in p for p in d.problems)
    assert "history_records[5].sequence_number" in got
    assert any("history_records[5].user_id" in p for p in d.problems)


@pytest.mark.parametrize("spec", h.TABLES, ids=lambda s: s.tag)
def test_short_and_garbage_data_never_raise(spec):
    rng = random.Random(spec.tid)
    d = decode(spec, b"\x05", 0, full=True)
    assert any("short" in p for p in d.problems) or table_size(spec) <= 1
    for _ in range(40):
        raw = random_bytes(rng, rng.randrange(300))
        off = rng.choice([0, 1, 5, 11, rng.randrange(5000)])
        dims = {k: rng.randrange(256) for k in OTHER_DIMS}
        d = assert_decodes_within(spec, raw, off, dims)
        if spec.tag in h.COUNTS:
            h.log_entries(d)


# ------------------------------------------------------------ queue order


# One implementation (queues.queue_order) serves the logs here, ET45/ET74
# (devices.recurring_read_order) and the load profile blocks.
@pytest.mark.parametrize(("n", "last", "valid", "expect"), [
    # wrapped 100-entry log: newest at element 4, so element 5 is the oldest
    (100, 4, 100, [*range(5, 100), *range(0, 5)]),
    (100, 9, 10, list(range(10))),           # not yet full
    (5, 0, 1, [0]),
    (8, 1, 3, [7, 0, 1]),                    # partly valid after a wrap (log reset mid-array)
    (8, 2, 8, [3, 4, 5, 6, 7, 0, 1, 2]),     # full, wrapped: the oldest follows the newest
    (8, 7, 8, list(range(8))),               # full, newest at the end
    (4, 3, 9, [0, 1, 2, 3]),                 # more valid than elements: clamped
    (100, 0, 0, []),                         # empty
    (0, 0, 3, []),                           # no entries configured
    (5, 5, 2, []),                           # last element outside the array
])
def test_queue_order(n, last, valid, expect):
    assert h.queue_order(n, last, valid) == expect


def test_queue_order_descending():
    assert h.queue_order(8, 6, 3, descending=True) == [0, 7, 6]
    assert h.queue_order(4, 0, 2, descending=True) == [1, 0]


def test_queue_entries_sequence_numbers():
    got = h.queue_entries(5, 1, 5, last_sequence=2)
    assert [(e.index, e.sequence) for e in got] == [(2, 65534), (3, 65535), (4, 0), (0, 1), (1, 2)]
    assert [e.sequence for e in h.queue_entries(3, 2, 3)] == [None, None, None]
    assert h.queue_entries(3, 0, 0, last_sequence=7) == []


def test_entry_order_reads_the_header_of_a_decode_or_mapping():
    header = {"order": 1, "nbr_valid_entries": 3, "last_entry_element": 2, "nbr_unread_entries": 2}
    assert entry_order(header, 8) == h.queue_order(8, 2, 3, descending=True) == [4, 3, 2]
    assert entry_order(header, 8, unread_only=True) == [3, 2]
    assert entry_order({"nbr_valid_entries": 3}, 8) == []
    with pytest.raises(TypeError):
        entry_order(header, h.BT21_NBR_SELF_READS)
    dims = {"BT21.nbr_self_reads": 4}
    img = encode(h.BT26, {"nbr_valid_entries": 4, "last_entry_element": 1}, dims)
    d = decode(h.BT26, img, 0, dims)
    assert entry_order(d, h.BT21_NBR_SELF_READS) == entry_order(d.values(), 4) == [2, 3, 0, 1]


def test_log_entries_of_a_self_read_table():
    dims = {"BT21.nbr_self_reads": 4}
    img = encode(h.BT26, {"nbr_valid_entries": 4, "last_entry_element": 1,
                          "last_entry_sequence_number": 1000}, dims)
    got = h.log_entries(decode(h.BT26, img, 0, dims))
    assert [(e.index, e.sequence) for e in got] == [(2, 997), (3, 998), (0, 999), (1, 1000)]
    assert h.log_entries(decode(h.BT26, img[3:], 3, dims)) == []  # header not read


def test_log_entries_follow_a_descending_order_flag():
    """Order = 1: element N+1 is older than N, so the valid run goes the other way."""
    dims = {"BT21.nbr_self_reads": 4}
    img = encode(h.BT26, {"order": 1, "nbr_valid_entries": 3, "last_entry_element": 2,
                          "last_entry_sequence_number": 50}, dims)
    got = h.log_entries(decode(h.BT26, img, 0, dims))
    assert [(e.index, e.sequence) for e in got] == [(0, 48), (3, 49), (2, 50)]


def test_log_entries_of_bt74_use_the_shared_sequence_numbers():
    # Primary log holds events 0x1FFFE, 0x1FFFF, 0x20003 (0x20000..2 went to ET79).
    dims = {"BT71.nbr_history_entries": 4}
    img = encode(h.BT74, {
        "nbr_valid_entries": 3, "last_entry_element": 0, "last_entry_sequence_number": 0x20003,
        "history_records[2].sequence_number": 0xFFFE, "history_records[3].sequence_number": 0xFFFF,
        "history_records[0].sequence_number": 0x0003}, dims)
    got = h.log_entries(decode(h.BT74, img, 0, dims))
    assert [(e.index, e.sequence) for e in got] == [(2, 0x1FFFE), (3, 0x1FFFF), (0, 0x20003)]
    # without the entries: consecutive numbers from the header
    got = h.log_entries(decode(h.BT74, img[:11], 0, dims))
    assert [e.sequence for e in got] == [0x20001, 0x20002, 0x20003]


# ------------------------------------------------ guide ambiguities (notes)


def test_note_bt26_bidn_only_with_demand():
    # BT26 prints Time and Date at 8 (BIDN present); ET31 prints "6 (+2)".
    for spec, arr, dims in ((h.BT26, "self_read_entries", {"BT21.nbr_self_reads": 1}),
                            (h.ET31, "one_time_read_entries", {})):
        with_demand = offsets(spec, {**dims, "BT21.nbr_demands": 1})
        assert with_demand[f"{arr}[0].blg_iface_def_nbr"] == 6
        assert with_demand[f"{arr}[0].time_and_date"] == 8
        assert with_demand[f"{arr}[0].season"] == 13
        without = offsets(spec, {**dims, "BT21.nbr_demands": 0})
        assert f"{arr}[0].blg_iface_def_nbr" not in without
        assert without[f"{arr}[0].time_and_date"] == 6
        assert without[f"{arr}[0].season"] == 11
        assert without[f"{arr}[0].register_data.fwd_active_wh_l1l2l3"] == 12


def test_note_bt26_default_no_self_reads():
    d = decode(h.BT26, bytes(6 + 226), full=True)
    assert d.dims["BT21.nbr_self_reads"].value == 0
    assert d.dims["BT21.nbr_self_reads"].source == DEFAULT
    assert any("past the end" in p for p in d.problems)
    assert table_size(h.BT26, {"BT21.nbr_self_reads": 1}) == 6 + 226


def test_note_et31_sized_by_et36():
    # ET31's own table says ARRAY[BT21.2]; ET36 (2 entries of 232 bytes) is used.
    assert table_size(h.ET31, {"BT21.nbr_self_reads": 9}) == 6 + 2 * 232
    o = offsets(h.ET31)
    assert o["one_time_read_entries[1].time_and_date"] == 6 + 232
    # the 226 bytes of fields fit the 232-byte entry; the rest is filler
    last = max(s.end for s in layout(h.ET31) if s.path.startswith("one_time_read_entries[0]"))
    assert last == 6 + 226


def test_note_et41_entry_size_unknown_lays_out_from_bt21():
    dims = {"ET36.et41_current_entries": 2}
    assert offsets(h.ET41, dims)["demand_reset_entries[1].length"] == 6 + 231
    sized = {**dims, "ET36.et41_entry_size": 240}
    assert offsets(h.ET41, sized)["demand_reset_entries[1].length"] == 6 + 240
    assert table_size(h.ET41, sized) == 6 + 2 * 240


def test_note_et79_sized_by_et54():
    # ET79 prints ARRAY[BT71.5]; its text sizes the alternate log by ET54.80.
    assert table_size(h.ET79, {"BT71.nbr_history_entries": 50}) == 11
    assert table_size(h.ET79, {"ET54.et79_entry_count": 50}) == 11 + 50 * 14


def test_note_bt74_header_is_11_bytes():
    # The optical guide says the header is bytes 0..9; Unread Entries is a UINT16 at 9.
    s = {s.path: s for s in layout(h.BT74)}["nbr_unread_entries"]
    assert (s.offset, s.size) == (9, 2)
    assert plan(h.BT74, {"BT71.nbr_history_entries": 0}).size == 11


def test_note_bt74_record_follows_bt71_flags():
    # Default flags reproduce the guide's 12+BT71.3 bytes; others drop or add parts.
    assert table_size(h.BT74, {"BT71.nbr_history_entries": 1}) == 11 + 12 + 2
    no_time = {"BT71.nbr_history_entries": 1, "BT71.history_date_time": 0}
    assert offsets(h.BT74, no_time)["history_records[0].sequence_number"] == 11
    o = offsets(h.BT74, {"BT71.nbr_history_entries": 1, "BT71.event_number": 1})
    assert o["history_records[0].event_number"] == 17
    assert o["history_records[0].sequence_number"] == 19
    assert o["history_records[0].argument"] == 25


def test_note_bt70_counts_events_bt71_counts_bytes():
    names70 = {s.path for s in layout(h.BT70)}
    names71 = {s.path for s in layout(h.BT71)}
    assert {"nbr_standard_events", "nbr_manufacturer_events"} <= names70
    assert {"nbr_standard_event_bytes", "nbr_manufacturer_event_bytes"} <= names71
    img = bytes.fromhex("06 08 13 02 02 6400 0000")
    assert decode(h.BT71, img).get("nbr_manufacturer_event_bytes") == 19


def test_et36_read_sizes_et31_et41_et81_through_the_capture_context():
    from mepshark.dissector.catalog import devices
    et36 = encode(devices.ET36, {"count": 7, "et31_entry_size": 240, "et31_current_entries": 3,
                                 "et41_entry_size": 250, "et41_current_entries": 2,
                                 "et81_entry_size": 12, "et81_current_entries": 10})
    ctx = DimensionContext()
    ctx.learn(decode(devices.ET36, et36), frame=2)
    assert table_size(h.ET31, ctx) == 6 + 3 * 240
    assert table_size(h.ET41, ctx) == 6 + 2 * 250
    assert table_size(h.ET81, ctx) == 6 + 10 * 12
    assert decode(h.ET81, bytes(126), 0, ctx, full=True).problems == []
