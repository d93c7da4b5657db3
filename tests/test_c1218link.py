"""ANSI C12.18 link layer: CRC known answers, parsing as far as it goes, reassembly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mepshark.dissector.c1218link import (
    CTRL_FIRST,
    CTRL_MULTI,
    CTRL_TOGGLE,
    Reassembler,
    build,
    crc16,
    needs_more,
    packet_at,
    parse,
)

IDENTIFY = bytes.fromhex("EE0000000001201310")
"""The identify request as every C12.18 probe sends it first."""


def test_crc_known_answers():
    assert crc16(b"123456789") == 0x906E  # the CRC-16/X.25 check value
    assert crc16(IDENTIFY[:-2]) == 0x1013
    assert build(b"\x20") == IDENTIFY


def test_parse_identify_and_damage():
    pkt = parse(IDENTIFY)
    assert pkt and pkt.crc_ok and not pkt.problems and pkt.data == b"\x20"
    bad = parse(IDENTIFY[:-1] + b"\x00")
    assert bad and "bad CRC 0x0013, expected 0x1013" in bad.problems
    cut = parse(IDENTIFY[:7])
    assert cut and cut.problems[0].startswith("cut short")
    assert parse(b"\x06") is None
    assert parse(b"\xee\x00")  # a header cut short is still reported, not raised


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
def test_build_parse_round_trip(data, ident, ctrl, seq):
    raw = build(data, ident, ctrl, seq)
    pkt = parse(raw)
    assert pkt is not None and not pkt.problems and bytes(pkt) == raw
    assert packet_at(b"junk" + raw + b"\x06", 4) == len(raw)
    assert not needs_more(raw)
    assert needs_more(raw[:-1])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_raise(raw):
    parse(raw)
    for i in range(len(raw)):
        n = packet_at(raw, i)
        assert n == 0 or crc16(raw[i : i + n - 2]) == int.from_bytes(raw[i + n - 2 : i + n],
                                                                      "little")
        needs_more(raw, i)


def test_multi_packet_message_and_retry():
    parts = [b"A" * 10, b"B" * 10, b"C" * 3]
    packets = []
    for k, part in enumerate(parts):
        ctrl = CTRL_MULTI | (CTRL_FIRST if k == 0 else 0) | (CTRL_TOGGLE if k % 2 else 0)
        packets.append(parse(build(part, 0, ctrl, len(parts) - 1 - k)))
    r = Reassembler()
    assert r.add(packets[0]) is None
    assert r.add(packets[0]) is None and r.duplicate  # repeated: no ACK came
    assert r.add(packets[1]) is None and not r.duplicate
    assert r.add(packets[2]) == b"".join(parts)
    assert r.add(parse(IDENTIFY)) == b"\x20"
