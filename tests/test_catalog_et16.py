"""ET16 device data: the telegram header the guide lays out, by Response Type."""

from __future__ import annotations

import datetime as dt

from catalogutil import assert_decodes_within, context
from hypothesis import given, settings
from hypothesis import strategies as st

from mepshark.dissector.catalog import decode, encode
from mepshark.dissector.catalog.manufacturer import ET16

STAMP = bytes([24, 11, 20, 10, 30, 0])  # LTIME_DATE 2024-11-20 10:30:00


def _variable_entry(size: int = 517) -> bytes:
    header = (bytes.fromhex("78563412") + (0x2C2D).to_bytes(2, "little")
              + bytes([1, 7, 42, 0x05]) + (0x0500).to_bytes(2, "little"))
    records = bytes.fromhex("0C13 78563412")  # 8 BCD digits, volume: left as bytes
    tel = header + records + b"\x00"
    entry = STAMP + bytes([0x00, len(tel)]) + tel + b"\xAA\xBB"
    return (entry + bytes(size))[:size]


def test_variable_structure_header_at_the_guide_offsets():
    d = decode(ET16, _variable_entry(), 0)
    at = {f.slot.path.split(".", 1)[1].removeprefix("telegram."): (f.slot.offset, f.value)
          for f in d.fields}
    assert at["timestamp"] == (0, dt.datetime(2024, 11, 20, 10, 30))
    assert at["telegram_length"] == (7, 19)
    assert at["serial_nbr"] == (8, 0x12345678)  # BCD 12345678, least significant byte first
    assert at["mfg_id"][0] == 12 and at["version"] == (14, 1)
    assert at["medium"] == (15, 7) and at["access_number"] == (16, 42)
    assert at["application_status"] == (17, 1) and at["power_low"] == (17, True)
    assert at["signature"] == (18, 0x0500)
    assert at["data_records"] == (20, bytes.fromhex("0C1378563412"))
    assert at["terminator"] == (26, 0)
    assert at["further_telegrams"][0] == 27 and at["further_telegrams"][1][:2] == b"\xAA\xBB"


def test_fixed_structure_follows_response_type():
    tel = bytes.fromhex("78563412") + bytes([9, 0x03]) + bytes(10)
    entry = (STAMP + bytes([0x02, len(tel)]) + tel + bytes(517))[:517]
    v = decode(ET16, entry, 0).values()
    assert v["device_table[0].response_type"] is True
    assert v["device_table[0].telegram.access_number"] == 9
    assert v["device_table[0].telegram.counters_binary"]
    assert v["device_table[0].telegram.counters_fixed_date"]
    assert len(v["device_table[0].telegram.fixed_data"]) == 10
    assert "device_table[0].telegram.medium" not in v


def test_entries_sized_by_et11_and_round_trip():
    ctx = context({
        "ET11": {"nbr_devices": 2, "data_entry_size": 60},
    })
    image = _variable_entry(60) + _variable_entry(60)
    d = decode(ET16, image, 0, ctx.view(), full=True)
    assert d.problems == [] and d.size == 120
    assert d.get("device_table[1].telegram.serial_nbr") == 0x12345678
    assert encode(ET16, d.values(), ctx.view()) == image


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=700), st.integers(0, 3000))
def test_any_bytes_decode_without_raising(data, offset):
    assert_decodes_within(ET16, data, offset)


def test_a_short_length_cuts_the_telegram_header():
    """L says how much of the telegram is there: header fields past it are not shown."""
    entry = (STAMP + bytes([0x00, 5]) + bytes.fromhex("7856341299") + bytes(517))[:517]
    v = decode(ET16, entry, 0).values()
    assert v["device_table[0].telegram.serial_nbr"] == 0x12345678
    assert "device_table[0].telegram.mfg_id" not in v
    assert len(v["device_table[0].further_telegrams"]) == 517 - 8 - 5
