"""BT04 Pending Status and the PED (optical guide), shared with BP15."""

from __future__ import annotations

import datetime as dt

from catalogutil import context, offsets

from mepshark.dissector.catalog import decode, encode, table_size
from mepshark.dissector.catalog.basic import BT04
from mepshark.dissector.catalog.procedures import decode_request


def test_offsets_follow_bt00_13_and_14():
    at = offsets(BT04)
    # Gen 4 defaults: BT00.13 = 10, BT00.14 = 20
    assert at["extended_pending"] == 10
    assert at["last_activation_time"] == 30  # BT00.13 + BT00.14
    assert at["nbr_pending_activations"] == 35  # ... + 5
    assert at["pending_activations[0].event_code"] == 36  # ... + 6
    assert at["pending_activations[0].event_storage_time"] == 37  # ... + 7
    assert at["pending_activations[0].table_id"] == 42  # ... + 12
    assert at["pending_activations[1].event_code"] == 44  # 8-byte records
    assert table_size(BT04) == 36 + 4 * 8  # BT00.18 = 4 on 4.0+
    ctx = context({
        "BT00": {"dim_basic_tables_used": 10, "dim_extended_tables_used": 13,
                 "nbr_pending_tables": 2},
    })
    assert table_size(BT04, ctx) == 10 + 13 + 5 + 1 + 2 * 8


def test_activation_entries_decode_by_event_code():
    values = {
        "nbr_pending_activations": 2,
        "last_activation_time": dt.datetime(2026, 11, 1, 12, 30),
        "pending_activations[0].event_code": 0,
        "pending_activations[0].event_storage_time": dt.datetime(2027, 1, 1, 0, 0),
        "pending_activations[0].table_id": 54,
        "pending_activations[0].still_pending": True,
        "pending_activations[1].event_code": 1,
        "pending_activations[1].self_read_flag": True,
        "pending_activations[1].event_storage_delay.days": 3,
        "pending_activations[1].event_storage_delay.hours": 4,
        "pending_activations[1].table_id": 2048 + 47,
    }
    image = encode(BT04, values)
    d = decode(BT04, image, full=True)
    assert d.problems == []
    got = d.values()
    for k, v in values.items():
        assert got[k] == v, k
    assert "pending_activations[1].event_storage_time" not in got
    assert got["pending_activations[2].event_code"] == 0  # empty PED: zero time


def test_bp15_takes_the_same_ped():
    # BP15, sequence 5, PED: relative time, 2 weeks
    data = bytes.fromhex("0F0005") + bytes([0x01, 2, 0, 0, 0, 0])
    v = decode_request(data).values()
    assert v["ped.event_code"] == 1 and v["ped.event_storage_delay.weeks"] == 2
