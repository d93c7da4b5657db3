"""Load profile tables (BT60..BT67, ET21, ET62, ET66, ET75) and data set reading."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from catalogutil import (
    assert_decodes_within,
    assert_round_trip,
    assert_window,
    context,
    offsets,
    random_bytes,
    random_values,
)

from mepshark.dissector.catalog import DimensionContext, decode, encode, layout, table_size
from mepshark.dissector.catalog import loadprofile as lp
from mepshark.dissector.catalog.layout import CAPTURE, DEFAULT, plan
from mepshark.dissector.catalog.registry import CATALOG, DIMENSION_SOURCES, spec_for
from mepshark.dissector.catalog.types import (
    Bits,
    Bool,
    Int,
    UInt,
)
from mepshark.dissector.tables import table_id

MIN = dt.timedelta(minutes=1)

# The chapter 3 example: 30-minute intervals, 1-day blocks, 30 blocks; two channels.
EXAMPLE = {"BT61.nbr_blks_set1": 30, "BT61.nbr_blk_ints_set1": 48, "BT61.nbr_chns_set1": 2,
           "BT61.max_int_time_set1": 30}
# Other configurations the round trips run under.
CONFIGS = [
    {},
    {"ET54.multiple_load_profile_data_set_support": 0, "ET54.lcd_value_id_code_5_digit_support": 0,
     "BT61.nbr_blks_set1": 3, "BT61.nbr_blk_ints_set1": 5, "BT61.nbr_chns_set1": 3},
    {"BT61.end_reading_supported": 1, "BT61.set2_scalar_divisor_enable": 1,
     "BT61.nbr_blks_set2": 2, "BT61.nbr_blk_ints_set2": 9, "BT61.nbr_chns_set2": 4,
     "BT62.format_set2": 16, "BT62.format_set3": 1, "BT61.nbr_chns_set3": 5,
     "BT61.nbr_blks_set4": 0, "ET36.et75_current_entries": 2, "BT60.nbr_chns_set1": 3,
     "BT20.nbr_demands": 2},
    {"BT61.extended_interval_status": 0, "BT61.simple_interval_status": 0, "BT00.time_format": 0,
     "BT61.nbr_blks_set1": 2, "BT61.nbr_blk_ints_set1": 7, "BT61.nbr_chns_set1": 2,
     "BT62.format_set1": 4, "BT62.format_set4": 8, "BT62.format_set2": 2},
]


# -------------------------------------------------------------- registry


def test_tables_are_registered_and_size_each_other():
    for spec in lp.TABLES:
        assert CATALOG[table_id(spec.tag)] is spec
        assert spec_for(spec.tag) is spec
    assert {"BT60", "BT61", "BT62", "ET54", "BT00", "BT20", "ET36"} <= DIMENSION_SOURCES
    assert [lp.DATA_SETS[n].tag for n in lp.SETS] == ["BT64", "BT65", "BT66", "BT67"]


def test_dimensions_defined_once_where_their_table_is():
    from mepshark.dissector.catalog import devices, manufacturer

    assert lp.ET54_MULTIPLE_LP_SETS is manufacturer.ET54_MULTIPLE_LP_SETS
    assert devices.ET54_MULTIPLE_LP_SETS is manufacturer.ET54_MULTIPLE_LP_SETS
    assert lp.ET36_ET75_CURRENT_ENTRIES is devices.ET36_CURRENT_ENTRIES["ET75"]


def test_every_dim_is_a_top_level_scalar_of_its_table():
    for spec in lp.TABLES:
        for key in plan(spec, {**EXAMPLE, "BT61.end_reading_supported": 1,
                               "BT61.set1_scalar_divisor_enable": 1}).dims:
            tag, name = key.split(".")
            src = spec_for(tag)
            slots = {s.path: s for s in layout(src)}
            assert name in slots, key
            assert isinstance(slots[name].field, (UInt, Int, Bool, Bits)), key


# ------------------------------------------------------------ round trips


@pytest.mark.parametrize("dims", CONFIGS, ids=range(len(CONFIGS)))
@pytest.mark.parametrize("spec", lp.TABLES, ids=lambda s: s.tag)
def test_round_trip(spec, dims):
    values = random_values(spec, dims)
    image = assert_round_trip(spec, values, dims)
    # any window decodes the fields lying wholly inside it, with the same values
    rng = random.Random(len(image))
    for _ in range(5):
        o = rng.randrange(len(image) + 1)
        assert_window(spec, image, values, o, rng.randrange(len(image) - o + 1), dims)


@pytest.mark.parametrize("spec", lp.TABLES, ids=lambda s: s.tag)
def test_garbage_and_short_data_never_raise(spec):
    rng = random.Random(7)
    for dims in CONFIGS:
        for _ in range(10):
            raw = random_bytes(rng, rng.randrange(300))
            assert_decodes_within(spec, raw, rng.randrange(600), dims)
    size = table_size(spec)
    d = decode(spec, bytes(max(0, size - 1)), 0, full=True)
    assert any("short" in p for p in d.problems) or size == 0


# ------------------------------------------------------ offsets and sizes


def test_default_sizes():
    sizes = {s.tag: table_size(s) for s in lp.TABLES}
    assert sizes == {"BT60": 31, "BT61": 31, "BT62": 16, "BT63": 52, "BT64": 251, "BT65": 251,
                     "BT66": 251, "BT67": 251, "ET21": 524, "ET62": 149, "ET66": 128, "ET75": 6}
    d = decode(lp.BT64, bytes(251))
    assert {"BT61.nbr_blks_set1", "BT61.nbr_blk_ints_set1",
            "BT61.nbr_chns_set1"} <= set(d.defaults_used)


@pytest.mark.parametrize("spec", [lp.BT60, lp.BT61], ids=lambda s: s.tag)
def test_bt60_bt61_offsets(spec):
    o = offsets(spec)
    assert (o["memory_length"], o["set1_inhibit_overflow"], o["simple_interval_status"],
            o["uint8_supported"], o["ni_fmat2_supported"]) == (0, 4, 4, 6, 6)
    assert [o[f"{f}_set1"] for f in ("nbr_blks", "nbr_blk_ints", "nbr_chns",
                                     "max_int_time")] == [7, 9, 11, 12]
    assert [o[f"nbr_blks_set{n}"] for n in lp.SETS] == [7, 13, 19, 25]
    # flag bits as printed: BOOL(0..11) at offset 4, formats BOOL(0..7) at 6
    img = bytearray(31)
    img[4:6] = (1 << 4 | 1 << 10 | 1 << 11).to_bytes(2, "little")
    img[6] = 1 << 5
    v = decode(spec, bytes(img)).values()
    assert v["end_reading_supported"] and v["extended_interval_status"]
    assert v["simple_interval_status"] and v["int32_supported"]
    assert not v["end_pulse_supported"] and not v["int16_supported"]


def test_bt62_offsets():
    nch = 4
    dims = {"BT61.nbr_chns_set1": nch, "BT61.set1_scalar_divisor_enable": 1,
            "ET54.multiple_load_profile_data_set_support": 0}
    o = offsets(lp.BT62, dims)
    ch = "channel_settings_set1[0]."
    assert (o[ch + "end_reading"], o[ch + "interval_source"],
            o[ch + "end_reading_source"]) == (0, 1, 2)
    assert o["channel_settings_set1[2].interval_source"] == 7
    assert o["format_set1"] == nch * 3
    assert o["scalars_set1[0]"] == nch * 3 + 1
    assert o["divisors_set1[0]"] == nch * 3 + 1 + 2 * nch
    assert table_size(lp.BT62, dims) == nch * 3 + 1 + 4 * nch
    d = decode(lp.BT62, bytes([0, 112, 0]) + bytes(9) + bytes([32]) + bytes(16), 0, dims)
    assert d.get("channel_settings_set1[0].interval_source") == 112
    assert d.fields[1].text == "Mapped Source 112 (112)"
    assert d.get("format_set1") == 32 and "INT32" in [f.text for f in d.fields
                                                     if f.slot.path == "format_set1"][0]


def test_bt63_offsets():
    o = offsets(lp.BT63)
    assert [o[f"data_set_status[0].{f}"] for f in (
        "block_order", "test_mode", "nbr_valid_blocks", "last_block",
        "last_block_sequence_number", "nbr_unread_blocks", "nbr_valid_intervals")] == [
        0, 0, 1, 3, 5, 9, 11]
    assert o["data_set_status[3].nbr_valid_intervals"] == 3 * 13 + 11
    img = bytes([0b100110]) + (7).to_bytes(2, "little") + (6).to_bytes(2, "little") \
        + (99).to_bytes(4, "little") + (1).to_bytes(2, "little") + (20).to_bytes(2, "little")
    st = lp.set_status(decode(lp.BT63, img + bytes(39)), 1)
    assert st["last_block"] == 6 and st["nbr_valid_blocks"] == 7 and st["nbr_valid_intervals"] == 20
    assert st["overflow"] and st["list_type"] == 1 and st["active_mode"]


def test_bt64_offsets_against_the_guide():
    nch, nints = 4, 48
    dims = {**EXAMPLE, "BT61.nbr_chns_set1": nch, "BT61.end_reading_supported": 1}
    o = offsets(lp.BT64, dims)
    simple = 5 + 4 * nch
    ext = simple + (nints + 7) // 8
    value0 = ext + nch // 2 + 1
    assert o["blocks[0].end_time"] == 0
    assert o["blocks[0].end_readings[0]"] == 5 and o["blocks[0].end_readings[3]"] == 17
    assert o["blocks[0].simple_status"] == simple
    assert o["blocks[0].intervals[0].channel_0_status"] == ext
    assert o["blocks[0].intervals[0].power_fail"] == ext
    assert o["blocks[0].intervals[0].extended_status[1].even_channel_status"] == ext + 2
    assert o["blocks[0].intervals[0].interval_channel_data[0]"] == value0
    interval = (nch // 2 + 1) + 4 * nch
    assert o["blocks[0].intervals[1].interval_channel_data[0]"] == value0 + interval
    g = lp.geometry(1, dims)
    assert (g.block_header_size, g.interval_size) == (ext, interval)
    assert g.block_size == ext + nints * interval
    assert o["blocks[1].end_time"] == g.block_size
    assert table_size(lp.BT64, dims) == 30 * g.block_size


def test_bt65_to_bt67_follow_their_own_set():
    dims = {"BT61.nbr_blks_set3": 2, "BT61.nbr_blk_ints_set3": 3, "BT61.nbr_chns_set3": 2,
            "BT62.format_set3": 16}
    # 5 + SET(1) + 3 * (2 + 2*2) per block
    assert table_size(lp.BT66, dims) == 2 * (5 + 1 + 3 * (2 + 2 * 2))
    assert table_size(lp.BT65, dims) == table_size(lp.BT64) == 251
    assert "blocks[1].intervals[2].interval_channel_data_int16[1]" in offsets(lp.BT66, dims)


def test_et21_offsets():
    o = offsets(lp.ET21)
    e = "data_set_internal_configuration[0]."
    expect = {"current_block_address": 0, "current_interval_address": 4, "block_size": 8,
              "block_header_size": 12, "nbr_valid_blocks": 14, "nbr_valid_intervals": 16,
              "last_block_index": 18, "last_interval_number": 20,
              "simple_status_offset_from_block": 22, "simple_status_size": 23,
              "interval_0_offset_from_block": 24, "interval_size": 25,
              "channel_0_offset_from_interval": 26, "extended_status_common": 27,
              "nbr_channels": 28, "interval_time": 29, "sources[0]": 30, "placeholders[0]": 38,
              "sources_expansion[0]": 70, "load_profile_configuration_id": 78,
              "mep_billing_start_channel": 82, "block_start_time": 83, "block_start_hour": 89,
              "block_start_minute": 90, "interval_in_progress": 91, "lpo_ansi_compliance": 93,
              "interval_end_time_utc": 94, "interval_end_time_local": 101,
              "max_memory_length": 107, "nvmf_occurred": 111, "reserved": 112}
    assert {k: o[e + k] for k in expect} == expect
    assert o["data_set_internal_configuration[1].block_size"] == 131 + 8
    assert table_size(lp.ET21, {"ET54.multiple_load_profile_data_set_support": 0}) == 131


def test_sizes_under_learned_dimensions():
    ctx = context({
        "BT61": {"nbr_blks_set1": 30, "nbr_blk_ints_set1": 48, "nbr_chns_set1": 4,
                 "end_reading_supported": 0},
        "ET54": {"multiple_load_profile_data_set_support": 0,
                 "lcd_value_id_code_5_digit_support": 0},
        "BT60": {"nbr_chns_set1": 8},
        "ET36": {"et75_current_entries": 3},
    })
    interval = 3 + 16
    assert table_size(lp.BT64, ctx) == 30 * (5 + 6 + 48 * interval) == 27690
    assert table_size(lp.BT61, ctx) == 13 and table_size(lp.BT63, ctx) == 13
    assert table_size(lp.BT62, ctx) == 4 * 3 + 1
    assert table_size(lp.ET62, ctx) == 21 + 8 * 6 + 10
    assert table_size(lp.ET66, ctx) == 4 * 8 * 2
    assert table_size(lp.ET75, ctx) == 6 + 3 * (5 + 16 + 8 + 2 + 8 * 6)
    d = decode(lp.BT64, bytes(40), 0, ctx)
    assert d.dims["BT61.nbr_chns_set1"].source == CAPTURE
    assert d.dims["BT61.extended_interval_status"].source == DEFAULT


def test_large_data_sets_hit_the_layout_cap_but_geometry_holds():
    """15-minute intervals for 30 days on 4 channels: 2880 intervals of 13 fields
    each exceed the interpreter's MAX_SLOTS, so windows deep in BT64 go undecoded
    (a strided array construct would lift this); one block's geometry still holds."""
    dims = {"BT61.nbr_blks_set1": 30, "BT61.nbr_blk_ints_set1": 96, "BT61.nbr_chns_set1": 4}
    p = plan(lp.BT64, dims)
    assert any("layout stopped" in m for m in p.problems)
    g = lp.geometry(1, dims)
    assert (g.block_size, g.block_header_size, g.interval_size) == (17 + 96 * 19, 17, 19)
    assert lp.newest_block_window(3, g) == (2 * g.block_size, g.block_size)
    d = decode(lp.BT64, bytes(g.block_size), 2 * g.block_size, dims)
    assert d.fields and d.fields[0].slot.path == "blocks[2].end_time"


# ---------------------------------------------------- a capture's sequence


def test_capture_reads_bt61_bt62_then_bt64():
    """Chapter 3: BT61 and BT62 read first size the BT64..BT67 reads that follow."""
    bt61 = dict.fromkeys(("extended_interval_status", "simple_interval_status"), True)
    bt61.update({"memory_length": 104832, "int32_supported": True,
                 "nbr_blks_set1": 30, "nbr_blk_ints_set1": 48, "nbr_chns_set1": 2,
                 "max_int_time_set1": 30, "nbr_blks_set2": 2, "nbr_blk_ints_set2": 24,
                 "nbr_chns_set2": 1, "max_int_time_set2": 60})
    bt62 = {"channel_settings_set1[0].interval_source": 0,
            "channel_settings_set1[1].interval_source": 112, "format_set1": 32,
            "channel_settings_set2[0].interval_source": 15, "format_set2": 16}
    ctx = DimensionContext()
    for frame, (spec, values) in enumerate(((lp.BT61, bt61), (lp.BT62, bt62)), 1):
        d = decode(spec, encode(spec, values, ctx.view()), 0, ctx.view(), full=True)
        assert d.problems == []
        ctx.learn(d, frame)
    assert ctx.get("BT61", "nbr_blk_ints_set1") == 48 and ctx.get("BT62", "format_set2") == 16
    g = lp.geometry(1, ctx.view())
    assert (g.block_size, g.block_header_size, g.interval_size) == (11 + 48 * 10, 11, 10)
    # step 6: the newest interval of block 5, interval 19, by a partial read
    img = encode(lp.BT64, {"blocks[5].intervals[19].interval_channel_data[1]": -7,
                           "blocks[5].end_time": dt.datetime(2024, 3, 1, 10, 0)}, ctx.view())
    off, cnt = lp.newest_interval_window(5, 19, g)
    d = decode(lp.BT64, img[off:off + cnt], off, ctx.view())
    assert d.problems == [] and len(d.fields) == 2 + 5 + 2
    assert d.get("blocks[5].intervals[19].interval_channel_data[1]") == -7
    assert d.dims["BT61.nbr_chns_set1"] == ctx.lookup(lp.BT61_NBR_CHNS[1])
    # set 2 uses its own sizes and BT62's INT16 format
    assert table_size(lp.BT65, ctx.view()) == 2 * (5 + 3 + 24 * (1 + 2))


# ------------------------------------------------- reading a data set


def _data_set(dims, blocks: dict[int, tuple[dt.datetime, int]], nints: int):
    """A BT64 image: block index -> (end time, intervals recorded); value = interval index."""
    values = {}
    for b, (end, n) in blocks.items():
        values[f"blocks[{b}].end_time"] = end
        values[f"blocks[{b}].simple_status"] = (1 << n) - 1
        for i in range(nints):
            values[f"blocks[{b}].intervals[{i}].interval_channel_data[0]"] = 1000 * b + i
    return encode(lp.BT64, values, dims)


def test_blocks_oldest_first_with_interval_end_times():
    """The chapter 3 example: 30-minute intervals, daily blocks, 30 of them, wrapped.

    The newest block (index 2) covers 30 March and holds 20 intervals: its end
    time 10:00 is that of its 20th interval.  Complete blocks end at midnight of
    the following day, so the oldest (index 3) covers 1 March.
    """
    dims = EXAMPLE
    day = dt.datetime(2024, 3, 1)
    order = [3 + k for k in range(27)] + [0, 1, 2]
    blocks = {b: (day + dt.timedelta(days=k + 1), 48) for k, b in enumerate(order)}
    blocks[2] = (dt.datetime(2024, 3, 30, 10, 0), 20)
    image = _data_set(dims, blocks, 48)
    got = lp.data_set_blocks(decode(lp.BT64, image, 0, dims), last_block=2, nbr_valid_blocks=30,
                             nbr_valid_intervals=20, interval=lp.interval_length(30))
    assert [b.index for b in got] == order
    oldest, newest = got[0], got[-1]
    assert oldest.intervals[0].end_time == dt.datetime(2024, 3, 1, 0, 30)
    assert oldest.intervals[47].end_time == dt.datetime(2024, 3, 2, 0, 0)
    assert all(i.valid for i in oldest.intervals) and not oldest.newest
    assert oldest.intervals[5].values == (3005, 0)
    assert got[-2].end_time == dt.datetime(2024, 3, 30)  # block 1 ends at midnight
    assert newest.newest and newest.end_time == dt.datetime(2024, 3, 30, 10, 0)
    assert newest.intervals[0].end_time == dt.datetime(2024, 3, 30, 0, 30)
    assert newest.intervals[19].end_time == dt.datetime(2024, 3, 30, 10, 0)
    assert [i.valid for i in newest.intervals] == [True] * 20 + [False] * 28
    assert newest.intervals[20].end_time == dt.datetime(2024, 3, 30, 10, 30)
    # chapter 3 step 5: the newest *full* block is the one before the last
    g = lp.geometry(1, dims)
    assert lp.newest_block_window(2, g) == (1 * g.block_size, g.block_size)
    assert lp.newest_block_window(0, g) == (29 * g.block_size, g.block_size)
    off, cnt = lp.newest_block_window(2, g)
    part = decode(lp.BT64, image[off:off + cnt], off, dims)
    assert part.problems == [] and part.fields[0].slot.path == "blocks[1].end_time"
    assert part.fields[-1].slot.path == "blocks[1].intervals[47].interval_channel_data[1]"


def test_block_start_times_rotate_with_18_hour_blocks():
    """The guide's rotation: start 00:00, 18-hour blocks start 00:00, 18:00, 12:00, 06:00."""
    dims = {"BT61.nbr_blks_set1": 4, "BT61.nbr_blk_ints_set1": 36, "BT61.nbr_chns_set1": 1}
    d0 = dt.datetime(2024, 1, 1)
    ends = {b: (d0 + dt.timedelta(hours=18 * (b + 1)), 36) for b in range(4)}
    image = _data_set(dims, ends, 36)
    got = lp.data_set_blocks(decode(lp.BT64, image, 0, dims), last_block=3, nbr_valid_blocks=4,
                             nbr_valid_intervals=36, interval=30 * MIN)
    starts = [b.intervals[0].end_time - 30 * MIN for b in got]
    assert [s.strftime("%H:%M") for s in starts] == ["00:00", "18:00", "12:00", "06:00"]
    assert [b.end_time for b in got] == [dt.datetime(2024, 1, 1, 18), dt.datetime(2024, 1, 2, 12),
                                         dt.datetime(2024, 1, 3, 6), dt.datetime(2024, 1, 4)]


def test_blocks_before_the_list_wraps_and_partial_windows():
    dims = {"BT61.nbr_blks_set1": 10, "BT61.nbr_blk_ints_set1": 4, "BT61.nbr_chns_set1": 1}
    assert lp.block_order(4, 5, 10) == [0, 1, 2, 3, 4]
    assert lp.block_order(1, 10, 10) == [2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert lp.block_order(0, 0, 10) == [] and lp.block_order(3, 3, 0) == []
    end = dt.datetime(2024, 5, 5, 1, 0)
    image = _data_set(dims, {b: (end + dt.timedelta(hours=b), 4) for b in range(5)}, 4)
    g = lp.geometry(1, dims)
    window = image[4 * g.block_size:5 * g.block_size]  # only the newest block read
    got = lp.data_set_blocks(decode(lp.BT64, window, 4 * g.block_size, dims), last_block=4,
                             nbr_valid_blocks=5, nbr_valid_intervals=3, interval=15 * MIN)
    assert [b.index for b in got] == [0, 1, 2, 3, 4]
    assert got[0].end_time is None and got[0].intervals[0].values == (None,)
    assert got[0].intervals[0].end_time is None
    newest = got[-1]
    assert [i.end_time for i in newest.intervals[:3]] == [
        dt.datetime(2024, 5, 5, 4, 30), dt.datetime(2024, 5, 5, 4, 45), dt.datetime(2024, 5, 5, 5)]
    # simple status (all 4 set here) says which intervals hold data
    assert [i.valid for i in newest.intervals] == [True] * 4
    assert newest.intervals[2].values == (4002,)


def test_interval_length_84_is_a_day():
    assert lp.interval_length(84) == dt.timedelta(days=1)
    assert lp.interval_length(84, ansi_compliance=True) == 84 * MIN
    assert lp.interval_length(15) == 15 * MIN


def test_data_set_without_simple_status_uses_the_valid_count():
    dims = {"BT61.nbr_blks_set1": 2, "BT61.nbr_blk_ints_set1": 4, "BT61.nbr_chns_set1": 1,
            "BT61.simple_interval_status": 0}
    img = encode(lp.BT64, {"blocks[1].end_time": dt.datetime(2024, 1, 1, 1)}, dims)
    got = lp.data_set_blocks(decode(lp.BT64, img, 0, dims), last_block=1,
                             nbr_valid_blocks=1, nbr_valid_intervals=2, interval=60 * MIN)
    assert [i.valid for i in got[0].intervals] == [True, True, False, False]
    assert got[0].intervals[0].end_time == dt.datetime(2024, 1, 1, 0)


# ------------------------------------------- guide ambiguities (test_note_*)


def test_note_data_set_count_follows_et54_flag():
    single = {"ET54.multiple_load_profile_data_set_support": 0}
    assert [table_size(s, single) for s in (lp.BT60, lp.BT61, lp.BT63, lp.ET21)] == [
        13, 13, 13, 131]
    assert table_size(lp.BT62, single) == 3 * 1 + 1
    assert [table_size(s) for s in (lp.BT60, lp.BT61, lp.BT63, lp.ET21)] == [31, 31, 52, 524]


def test_note_bt62_scalars_follow_bt61_not_bt60():
    dims = {"BT61.nbr_chns_set1": 2, "ET54.multiple_load_profile_data_set_support": 0}
    assert table_size(lp.BT62, dims) == 7
    assert "BT60.set1_scalar_divisor_enable" not in plan(lp.BT62, dims).dims
    on = {**dims, "BT61.set1_scalar_divisor_enable": 1}
    assert table_size(lp.BT62, on) == 7 + 8


def test_note_bt64_end_readings_only_when_flagged():
    dims = {"BT61.nbr_chns_set1": 3, "BT61.nbr_blk_ints_set1": 8}
    assert offsets(lp.BT64, dims)["blocks[0].simple_status"] == 5
    on = {**dims, "BT61.end_reading_supported": 1}
    assert offsets(lp.BT64, on)["blocks[0].simple_status"] == 5 + 4 * 3


def test_note_bt64_format_codes_are_the_fmats_bits():
    for code, size in ((1, 1), (2, 2), (4, 4), (8, 1), (16, 2), (32, 4), (64, 4), (0, 4)):
        dims = {"BT62.format_set1": code, "BT61.nbr_chns_set1": 2, "BT61.nbr_blk_ints_set1": 1}
        assert table_size(lp.BT64, dims) == 5 + 1 + 2 + 2 * size, code
    d = decode(lp.BT64, bytes(8) + b"\xff\xff" + bytes(2), 0,
               {"BT62.format_set1": 16, "BT61.nbr_chns_set1": 2, "BT61.nbr_blk_ints_set1": 1})
    assert d.get("blocks[0].intervals[0].interval_channel_data_int16[0]") == -1


def test_format_codes_name_the_supported_flags():
    """BT62's Format enum, the LP_FMATS flags and the interval layouts share one list."""
    assert lp.FORMATS == {1: "UINT8", 2: "UINT16", 4: "UINT32", 8: "INT8", 16: "INT16",
                          32: "INT32", 64: "NI_FMAT1", 128: "NI_FMAT2"}
    for code, name in lp.FORMATS.items():
        img = bytearray(31)
        img[6] = code
        v = decode(lp.BT61, bytes(img)).values()
        assert [k for k in v if k.endswith("_supported") and v[k]] == [f"{name.lower()}_supported"]
    slots = {s.path: s for s in layout(lp.BT64, {"BT62.format_set1": 2})}
    leaf = slots["blocks[0].intervals[0].interval_channel_data_uint16[0]"].field
    assert (leaf.label, leaf.guide_type) == ("Interval Channel Value (UINT16)", "UINT16")


def test_note_extended_status_nibbles():
    dims = {"BT61.nbr_chns_set1": 3, "BT61.nbr_blk_ints_set1": 1}
    img = bytes(6) + bytes([0x2A, 0x4F]) + bytes(12)
    v = decode(lp.BT64, img, 0, dims).values()
    p = "blocks[0].intervals[0]."
    assert v[p + "power_fail"] and not v[p + "dst_in_effect"]
    assert not v[p + "clock_reset_forward"] and not v[p + "clock_reset_backward"]
    assert v[p + "channel_0_status"] == 10  # device missing
    assert v[p + "extended_status[0].odd_channel_status"] == 4  # channel 1: skipped
    assert v[p + "extended_status[0].even_channel_status"] == 15  # channel 2
    got = lp.data_set_blocks(decode(lp.BT64, img, 0, dims), last_block=0, nbr_valid_blocks=1,
                             nbr_valid_intervals=1, interval=MIN)
    assert got[0].intervals[0].channel_status == (10, 4, 15)
    assert got[0].intervals[0].common["power_fail"]


def test_note_bt64_end_time_needs_a_clock():
    assert table_size(lp.BT64, {"BT00.time_format": 0}) == 251 - 5


def test_note_et21_local_end_time_at_101():
    o = offsets(lp.ET21)
    e = "data_set_internal_configuration[0]."
    assert o[e + "interval_end_time_utc"] == 94 and o[e + "undocumented_100"] == 100
    assert o[e + "interval_end_time_local"] == 101


@pytest.mark.parametrize("x, column", [(0, {
    "load_profile_list_id_code": 1, "load_profile_list_id_dp_state": 5,
    "load_profile_date_id_code": 6, "load_profile_date_id_dp_state": 10,
    "interval_time_id_code": 11, "interval_time_id_dp_state": 15,
    "extended_status_id_code": 16, "extended_status_id_dp_state": 20,
    "code_words[0].channel_id_code": 21, "code_words[0].channel_id_dp_state": 25,
    "code_words[0].zero_suppression": 26, "power_outage_list_id_code": 117,
    "power_outage_list_id_dp_state": 121, "power_outage_number_id_code": 122,
    "power_outage_number_id_dp_state": 126}), (1, {
    "load_profile_list_id_code": 1, "load_profile_list_id_dp_state": 6,
    "load_profile_date_id_code": 7, "load_profile_date_id_dp_state": 12,
    "interval_time_id_code": 13, "interval_time_id_dp_state": 18,
    "extended_status_id_code": 19, "extended_status_id_dp_state": 24,
    "code_words[0].channel_id_code": 25, "code_words[0].channel_id_dp_state": 30,
    "code_words[0].zero_suppression": 31, "power_outage_list_id_code": 137,
    "power_outage_list_id_dp_state": 142, "power_outage_number_id_code": 143,
    "power_outage_number_id_dp_state": 148})], ids=["3.X", "4.0+"])
def test_note_et62_x_follows_et54_5_digit_flag(x, column):
    dims = {"ET54.lcd_value_id_code_5_digit_support": x}
    o = offsets(lp.ET62, dims)
    assert {k: o[k] for k in column} == column
    assert table_size(lp.ET62, dims) == column["power_outage_number_id_dp_state"] + 1
    values = {"load_profile_list_id_code": "P01", "load_profile_date_id_code": "DATE",
              "code_words[0].fields_before_dp": 6, "code_words[0].fields_after_dp": 3,
              "code_words[0].zero_suppression": True}
    v = decode(lp.ET62, encode(lp.ET62, values, dims), 0, dims).values()
    assert {k: v[k] for k in values} == values


def test_note_et66_is_row_major_from_mapped_source_112():
    # chapter 3: channel source 112 -> ET66 entry 0 = 0x4001 (M-Bus device 0, MDT 1)
    img = bytearray(128)
    img[0:2] = (0x4001).to_bytes(2, "little")
    img[4:6] = (0x3007).to_bytes(2, "little")
    d = decode(lp.ET66, bytes(img))
    assert d.get(lp.mapped_source_path(112)) == 0x4001
    assert offsets(lp.ET66)[lp.mapped_source_path(114)] == 4
    assert d.get(lp.mapped_source_path(114)) == 0x3007
    assert d.fields[0].text == "0x4001"


@pytest.mark.parametrize("x, size", [(0, 143), (1, 159)], ids=["3.X", "4.0+"])
def test_note_et75_entry_is_143_or_159_bytes(x, size):
    dims = {"ET54.lcd_value_id_code_5_digit_support": x, "ET36.et75_current_entries": 2}
    o = offsets(lp.ET75, dims)
    assert (o["order"], o["nbr_valid_entries"], o["last_entry_element"],
            o["last_entry_sequence_number"], o["nbr_unread_entries"]) == (0, 1, 2, 3, 5)
    assert (o["log_entries[0].timestamp"], o["log_entries[0].extended_source_ids[0]"],
            o["log_entries[0].demand_sources[0]"], o["log_entries[0].demand_sub_interval"],
            o["log_entries[0].demand_interval_multiplier"],
            o["log_entries[0].lp_display_config[0].id_code"]) == (6, 11, 43, 51, 52, 53)
    assert o["log_entries[0].lp_display_config[0].id_dp_state"] == 57 + x
    assert o["log_entries[0].lp_display_config[0].fields_after_dp"] == 58 + x
    assert o["log_entries[1].timestamp"] == 6 + size
    assert table_size(lp.ET75, dims) == 6 + 2 * size
    assert table_size(lp.ET75) == 6  # ET36: no entries configured by default


def test_note_bt61_defaults_without_capture():
    d = decode(lp.BT64, bytes(251), 0)
    used = {k: d.dims[k].value for k in d.defaults_used}
    assert used["BT61.nbr_blks_set1"] == 1 and used["BT61.nbr_blk_ints_set1"] == 48
    assert used["BT61.nbr_chns_set1"] == 1 and used["BT62.format_set1"] == 32
    # a window past the guessed single block stays undecoded instead of misread
    d = decode(lp.BT64, bytes(100), 1000)
    assert d.fields == [] and any("past the end" in p for p in d.problems)
