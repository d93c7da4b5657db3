"""Windowed arrays: reads deep into big load profile tables decode, in scapy and Lua.

Data set 1 of 30 blocks of 96 intervals on 4 channels lays out about 37,000
leaves, past the interpreters' MAX_SLOTS cap.  Decoding lays out only the array
elements that meet the read's window (the others are stepped over by their
size), so any window decodes, and sizes stay exact without a cap.
"""

from __future__ import annotations

import functools
import importlib
import random
import sys
from pathlib import Path

import pytest

from mepshark.dissector import builders as b
from mepshark.dissector.catalog import CATALOG, DimensionContext, decode, encode, table_size
from mepshark.dissector.catalog import loadprofile as lp
from mepshark.dissector.catalog.procedures import PROCEDURES, request_spec, response_spec
from mepshark.dissector.context import FROM_METER, TO_METER

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))

from luadiff import (  # noqa: E402
    compare,
    differences,
    lua_decode,
    scapy_decode,
    shim_decode,
    write_records,
)
from traffic import MAK  # noqa: E402

layout_mod = importlib.import_module("mepshark.dissector.catalog.layout")

NBLKS, NINTS, NCHNS = 30, 96, 4
BIG = {"BT61.nbr_blks_set1": NBLKS, "BT61.nbr_blk_ints_set1": NINTS,
       "BT61.nbr_chns_set1": NCHNS}
ONE_BLOCK = {**BIG, "BT61.nbr_blks_set1": 1}
CHANNEL = "interval_channel_data"  # INT32 values, BT62's default format


def _geometry() -> lp.Geometry:
    return lp.geometry(1, BIG)


def _block_values(k: int) -> dict:
    """Values of block k (as block 0 of a one-block image): every channel value
    says where it is, k * 10000 + interval * 10 + channel, negated on odd blocks."""
    sign = -1 if k % 2 else 1
    values = {"blocks[0].end_time": None}
    for i in range(NINTS):
        values[f"blocks[0].intervals[{i}].channel_0_status"] = (k + i) % 16
        for c in range(NCHNS):
            values[f"blocks[0].intervals[{i}].{CHANNEL}[{c}]"] = sign * (k * 10000 + i * 10 + c)
    return values


@functools.cache
def _image() -> bytes:
    """The whole BT64 image, block by block (one block lays out under the cap)."""
    return b"".join(encode(lp.BT64, _block_values(k), ONE_BLOCK) for k in range(NBLKS))


def _value_at(block: int, interval: int, channel: int) -> int:
    return (-1 if block % 2 else 1) * (block * 10000 + interval * 10 + channel)


# ------------------------------------------------------------------ sizes


def test_sizes_stay_exact_past_the_slot_cap():
    g = _geometry()
    interval = 1 + NCHNS // 2 + 4 * NCHNS  # status byte, extended status, INT32 values
    assert g.interval_size == interval == 19
    assert g.block_size == g.block_header_size + NINTS * interval
    assert table_size(lp.BT64, BIG) == NBLKS * g.block_size == len(_image()) == 55230
    p = layout_mod.plan(lp.BT64, BIG)  # a layout without data still stops at the cap...
    assert len(p.slots) == layout_mod.MAX_SLOTS
    assert any("layout stopped" in m for m in p.problems)
    assert p.size == NBLKS * g.block_size  # ...but its size is the whole table's
    huge = {"BT61.nbr_blks_set1": 65535, "BT61.nbr_blk_ints_set1": 65535,
            "BT61.nbr_chns_set1": 255}
    per_interval = 1 + 255 // 2 + 4 * 255
    header = 5 + (65535 + 7) // 8  # end time, simple status (one bit per interval)
    assert table_size(lp.BT64, huge) == 65535 * (header + 65535 * per_interval)


# ------------------------------------------------------------ scapy decode


@pytest.mark.parametrize("block,interval", [(25, 50), (29, 95), (0, 0), (13, 7)])
def test_a_read_deep_into_bt64_decodes_with_the_right_offsets(block, interval):
    g = _geometry()
    off = block * g.block_size + g.block_header_size + interval * g.interval_size
    data = _image()[off:off + 3 * g.interval_size]
    d = decode(lp.BT64, data, off, BIG)
    assert d.size == NBLKS * g.block_size
    assert not [p for p in d.problems if "layout stopped" in p]
    values = {f.slot.path: (f.slot.offset, f.value) for f in d.fields}
    for k in range(3):
        b_, i = divmod(block * NINTS + interval + k, NINTS)  # may run into the next block
        if b_ >= NBLKS:
            break
        at = b_ * g.block_size + g.block_header_size + i * g.interval_size
        if at < off:  # the next block's header came first
            continue
        base = f"blocks[{b_}].intervals[{i}]"
        if at + g.interval_size > off + len(data):
            continue
        assert values[f"{base}.channel_0_status"] == (at, (b_ + i) % 16)
        for c in range(NCHNS):
            assert values[f"{base}.{CHANNEL}[{c}]"] == (at + 3 + 4 * c, _value_at(b_, i, c))


def test_a_window_across_a_block_boundary():
    g = _geometry()
    off = 7 * g.block_size - 2 * g.interval_size - 1
    data = _image()[off:off + 2 * g.interval_size + g.block_header_size + g.interval_size + 2]
    d = decode(lp.BT64, data, off, BIG)
    paths = [f.slot.path for f in d.fields]
    assert "blocks[6].intervals[95].channel_0_status" in paths
    assert "blocks[7].simple_status" in paths
    assert d.get(f"blocks[7].intervals[0].{CHANNEL}[3]") == _value_at(7, 0, 3)
    assert any("blocks[6].intervals[93]" in p and "cut by the window" in p for p in d.problems)


def _decode_unwindowed(spec, data, offset, dims, full):
    real = layout_mod.plan
    layout_mod.plan = functools.partial(real, window=False)
    try:
        return layout_mod.decode(spec, data, offset, dims, full=full)
    finally:
        layout_mod.plan = real


def _summary(d):
    return ([(f.slot, f.value, f.raw, f.note) for f in d.fields], d.problems, d.size,
            list(d.dims.items()))


MODERATE = [
    {},
    {"BT61.nbr_blks_set1": 5, "BT61.nbr_blk_ints_set1": 10, "BT61.nbr_chns_set1": 3,
     "BT61.end_reading_supported": 1, "BT61.nbr_blks_set2": 3, "BT61.nbr_blk_ints_set2": 7,
     "BT61.nbr_chns_set2": 5, "BT62.format_set2": 16},
    {"BT21.nbr_summations": 20, "BT21.nbr_tiers": 7, "BT21.nbr_present_values": 9,
     "BT21.nbr_demands": 5},
]


def test_windowed_decode_equals_the_full_layout_everywhere():
    """Every table and procedure, random windows and dimensions under the cap: the
    windowed decode gives exactly the fields, problems, size and dimensions (in
    order) of a decode that lays out every element."""
    rng = random.Random(5)
    specs = [*CATALOG.values(), *(request_spec(n) for n in PROCEDURES),
             *(response_spec(n, "ET59") for n in PROCEDURES)]
    for spec in specs:
        for _ in range(12):
            dims = rng.choice(MODERATE)
            size = table_size(spec, dims)
            off, length = rng.randrange(size + 5), rng.randrange(80)
            if rng.random() < 0.3:
                off, length = 0, size
            data = bytes(rng.randrange(256) for _ in range(length))
            full = rng.random() < 0.3
            windowed = decode(spec, data, off, dims, full=full)
            assert _summary(windowed) == _summary(
                _decode_unwindowed(spec, data, off, dims, full)), (spec.tag, off, length)


def test_encode_places_every_value_whatever_the_window():
    image = encode(lp.BT64, _block_values(3), ONE_BLOCK)
    assert decode(lp.BT64, image, 0, ONE_BLOCK).get(f"blocks[0].intervals[95].{CHANNEL}[3]") \
        == _value_at(3, 95, 3)


# ---------------------------------------------------------------- Wireshark


def _bt61_image() -> bytes:
    values = {"nbr_blks_set1": NBLKS, "nbr_blk_ints_set1": NINTS, "nbr_chns_set1": NCHNS,
              "extended_interval_status": True, "simple_interval_status": True,
              "end_reading_supported": False}
    return encode(lp.BT61, values)


def _windows() -> list[tuple[int, int]]:
    g = _geometry()
    deep = 25 * g.block_size + g.block_header_size + 50 * g.interval_size
    return [
        (deep, 40),  # block 25, interval 50 and a bit of 52
        (deep, 40),  # the same window again (a cached plan)
        (deep + 19, 57),  # the next intervals: another window, under the same dimensions
        (7 * g.block_size - 2 * g.interval_size - 1, 3 * g.interval_size + g.block_header_size),
        (NBLKS * g.block_size - 100, 100),  # the very end
        (NBLKS * g.block_size - 10, 30),  # running past it
        (0, 400),
    ]


@functools.cache
def _capture(tmp: Path) -> Path:
    client = b.Requester(MAK, 0x12345678)
    records, t = [], 0.0

    def exchange(req, answer, encrypt=False):
        nonlocal t
        client.encrypt = encrypt
        wire, seal = client.seal(req)
        t += 0.3
        records.append((t, TO_METER, wire))
        records.append((t + 0.05, FROM_METER, b.respond(answer, seal)))

    bt61 = _bt61_image()
    exchange(b.full_read(61, len(bt61)), b.read_ok(bt61))
    image = _image()
    for k, (off, count) in enumerate(_windows()):
        exchange(b.partial_read(64, off, count), b.read_ok(image[off:off + count]),
                 encrypt=k % 3 == 2)
    return write_records(tmp / "bt64.pcapng", records)


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    return _capture(tmp_path_factory.mktemp("windows"))


def test_scapy_learns_the_big_dimensions_from_the_capture(capture):
    view = DimensionContext()
    view.learn(decode(lp.BT61, _bt61_image(), 0), 2)
    assert table_size(lp.BT64, view.view()) == NBLKS * _geometry().block_size
    py = scapy_decode(capture, [MAK])
    deep = py[4][0]  # the response to the first deep read
    assert deep[f"mep.bt64.blocks.intervals.{CHANNEL}"][:NCHNS] == [
        _value_at(25, 50, c) for c in range(NCHNS)]


def test_tshark_agrees_on_deep_windows(capture):
    assert differences(capture, [MAK]) == []
    lua, _stderr = lua_decode(capture, [MAK])
    fields = lua[4][0]
    assert fields[f"mep.bt64.blocks.intervals.{CHANNEL}"][:2 * NCHNS] == [
        _value_at(25, i, c) for i in (50, 51) for c in range(NCHNS)]
    assert "layout stopped" not in lua[4][1]
    assert "mep.bt64.blocks.simple_status" in lua[10][0]  # across the block boundary


@pytest.mark.parametrize("lua", ["lua5.4", "lua5.2"])
def test_plain_lua_interpreters_agree_on_deep_windows(capture, tmp_path, lua):
    assert compare(scapy_decode(capture, [MAK]), shim_decode(capture, [MAK], tmp_path, lua)) == []
