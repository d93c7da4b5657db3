"""scapy frame layers: the guide's examples, build/parse round trips, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mepshark.dissector import builders as b
from mepshark.dissector.examples import EXAMPLES
from mepshark.dissector.frames import (
    MAX_BODY,
    MEP,
    RESPONSE_CODES,
    TLS_REQUEST_CODES,
    TLS_RESPONSE_CODES,
    MEPAlert,
    MEPErrorResponse,
    MEPFullTableRead,
    MEPFullTableWrite,
    MEPPartialTableRead,
    MEPPartialTableWrite,
    MEPReadResponse,
    MEPSequenceResponse,
    MEPTLSRecord,
    MEPTLSRequest,
    MEPTLSResponse,
    MEPUnknown,
    MEPWriteResponse,
)

_CLASS_OF_EXAMPLE = {
    "TLS example 1: client handshake": MEPTLSRequest,
    "TLS example 1: server hello": MEPTLSResponse,
    "RC4 example 1: first read request": MEPPartialTableRead,
    "RC4 example 1: invalid sequence number": MEPSequenceResponse,
    "RC4 example 1: read response": MEPReadResponse,
    "RC4 example 2: write response": MEPWriteResponse,
}


@pytest.mark.parametrize("ex", EXAMPLES, ids=lambda e: e.title)
def test_guide_examples_decode_to_the_listed_values(ex):
    pkt = MEP(ex.wire)
    assert not pkt.malformed, pkt.problems
    for name, value in ex.expect.items():
        assert getattr(pkt, name) == value, name
    assert bytes(pkt) == ex.wire
    if ex.title in _CLASS_OF_EXAMPLE:
        assert type(pkt) is _CLASS_OF_EXAMPLE[ex.title]


def test_tls_records_and_psk_identity():
    """TLS bodies parse to record headers; the client's PSK identity names the key."""
    hello = MEP(EXAMPLES[1].wire)
    assert [(r.content_type, r.version, r.length) for r in hello.records] == [
        (22, 0x0303, 0x51),
        (22, 0x0303, 4),
    ]
    finish = MEP(EXAMPLES[2].wire)
    assert [r.content_type for r in finish.records] == [22, 20, 22]
    assert finish.records[0].psk_identity == (100, 1)  # client id 100, MAK
    assert "PSK client 100, MAK" in finish.summary()
    table = MEP(EXAMPLES[4].wire)
    assert table.code == 0x80 and table.records[0].content_type == 23


def test_summaries():
    assert MEP(EXAMPLES[8].wire).summary() == (
        "Partial Table Read BT23 off=0 cnt=44 seq=0x77635B91"
    )
    assert MEP(EXAMPLES[7].wire).summary() == "Invalid sequence number seq=0x77635B90"
    assert MEP(EXAMPLES[9].wire).summary() == "OK cnt=44"
    assert MEP(b"\x00\x00").summary() == "Alert"
    assert isinstance(MEP(b"\x00\x00"), MEPAlert)


def test_every_code_has_its_guide_name():
    assert RESPONSE_CODES[0x0B] == "Authentication failure"
    assert RESPONSE_CODES[0x05] == "Table operation not possible"
    assert TLS_REQUEST_CODES[0x59] == "TLS Handshake Continue"
    assert TLS_RESPONSE_CODES[0x03] == "Invalid identity or key"


def test_answers_match_requests_and_responses():
    req, resp = MEP(EXAMPLES[8].wire), MEP(EXAMPLES[9].wire)
    assert resp.answers(req) and not req.answers(resp)
    assert resp.hashret() == req.hashret()
    wreq, wresp = MEP(EXAMPLES[10].wire), MEP(EXAMPLES[11].wire)
    assert wresp.answers(wreq) and not wresp.answers(req)
    assert MEP(EXAMPLES[1].wire).answers(MEP(EXAMPLES[0].wire))
    assert not MEP(EXAMPLES[1].wire).answers(req)


# --- round trips for every code -------------------------------------------------

tables = st.integers(0, 0xFFFF)
offsets = st.integers(0, 0xFFFFFF)
counts = st.integers(0, 0xFFFF)
seqs = st.integers(0, 0xFFFFFFFF)
digests = st.binary(min_size=8, max_size=8)
datas = st.binary(max_size=MAX_BODY - 20)


@st.composite
def frames(draw):
    kind = draw(st.sampled_from(range(10)))
    seq, dig = draw(seqs), draw(digests)
    if kind == 0:
        return MEPFullTableRead(table_id=draw(tables), count=draw(counts), sequence=seq, digest=dig)
    if kind == 1:
        return MEPPartialTableRead(
            table_id=draw(tables), offset=draw(offsets), count=draw(counts), sequence=seq,
            digest=dig,
        )
    if kind == 2:
        return MEPFullTableWrite(table_id=draw(tables), data=draw(datas), sequence=seq, digest=dig)
    if kind == 3:
        return MEPPartialTableWrite(
            table_id=draw(tables), offset=draw(offsets), data=draw(datas), sequence=seq,
            digest=dig,
        )
    if kind == 4:
        return MEPReadResponse(data=draw(datas), digest=dig)
    if kind == 5:
        return MEPWriteResponse(digest=dig)
    if kind == 6:
        code = draw(st.sampled_from([1, 2, 3, 4, 5, 0x0B]))
        return MEPErrorResponse(response_code=code, digest=dig)
    if kind == 7:
        return MEPSequenceResponse(sequence=seq, digest=dig)
    records = draw(
        st.lists(
            st.builds(
                MEPTLSRecord,
                content_type=st.sampled_from([20, 21, 22, 23]),
                content=st.binary(max_size=80),
            ),
            min_size=1,
            max_size=4,
        )
    )
    if kind == 8:
        return MEPTLSRequest(code=draw(st.sampled_from([0x58, 0x59, 0x80])), records=records)
    return MEPTLSResponse(code=draw(st.sampled_from([0, 1, 3])), records=records)


@given(frames())
@settings(max_examples=400, deadline=None)
def test_build_parse_round_trip(pkt):
    """Any frame built from values parses back to the same class, values and bytes."""
    wire = bytes(pkt)
    assert int.from_bytes(wire[:2], "big") == len(wire) - 2
    back = MEP(wire)
    assert type(back) is type(pkt)
    assert bytes(back) == wire
    assert not back.malformed, back.problems
    for name, value in pkt.fields.items():
        if name == "records":
            assert [bytes(r) for r in back.records] == [bytes(r) for r in value]
        else:
            assert back.getfieldval(name) == value, name
    if "data" in pkt.fields and "count" in back.fields:
        assert back.count == len(pkt.data)


@given(st.lists(frames(), min_size=2, max_size=4))
@settings(max_examples=100, deadline=None)
def test_several_frames_in_one_record(pkts):
    """Frames written back to back dissect as a chain, each whole."""
    wire = b"".join(bytes(p) for p in pkts)
    first = MEP(wire)
    got, f = [], first
    while f is not None:
        got.append(f)
        f = f.next_frame
    assert [g.frame_bytes for g in got] == [bytes(p) for p in pkts]
    assert bytes(first) == wire


# --- malformed input ------------------------------------------------------------


@given(st.binary(min_size=1, max_size=600))
@settings(max_examples=500, deadline=None)
def test_random_bytes_never_raise(data):
    """Whatever the bytes, dissection returns a packet and keeps every byte."""
    pkt = MEP(data)
    assert bytes(pkt) == data
    pkt.summary()
    pkt.show(dump=True)
    if len(data) < 2 and data not in (b"\x06", b"\x15"):  # (those two: a C12.18 ACK/NAK)
        assert pkt.malformed


@given(frames(), st.data())
@settings(max_examples=300, deadline=None)
def test_truncated_frames_are_flagged(pkt, data):
    """A frame cut anywhere decodes as far as it goes and is flagged malformed."""
    wire = bytes(pkt)
    cut = data.draw(st.integers(1, len(wire) - 1))
    short = MEP(wire[:cut])
    assert short.malformed
    assert bytes(short) == wire[:cut]


def test_specific_malformations():
    assert "exceeds the maximum" in " ".join(MEP(b"\x01\xdd" + bytes(477)).problems)
    wrong_count = MEP(bytes.fromhex("00154F083200001E000201" "77636e2f86e50e2667d1e63c"))
    assert any("count is 2" in p for p in wrong_count.problems)
    short_read = MEP(bytes.fromhex("00033f0017"))
    assert isinstance(short_read, MEPPartialTableRead)
    assert short_read.table_id == 0x17 and short_read.offset is None
    assert any("missing" in p for p in short_read.problems)
    unknown = MEP(b"\x00\x0a" + bytes([0xEE]) + bytes(9))
    assert isinstance(unknown, MEPUnknown) and not unknown.malformed


def test_builders_fill_counts_and_lengths():
    w = b.partial_write(0x0832, 30, b"\x01")
    w.sequence, w.digest = 0x77636E2F, bytes.fromhex("86e50e2667d1e63c")
    assert bytes(w) == EXAMPLES[10].wire
    r = b.read_ok(b"\x04\x02\x10\x0f\x3b\x37")
    r.digest = bytes.fromhex("303D9BBE3DA3A8B6")
    assert bytes(r) == EXAMPLES[13].wire
    assert b.ALERT == b"\x00\x00"


# --- the declarations drive the classes ------------------------------------------


def test_every_declared_kind_is_a_generated_class_and_lua_data():
    """One declaration per kind: its scapy class has exactly the declared fields,
    and the generated Lua has its field list, checks and Info template."""
    from mepshark.dissector.frames import CLASSES
    from mepshark.dissector.framespec import SPECS, guess_rules, response_rules
    from mepshark.dissector.luagen import generate

    lua = generate()
    for name, spec in SPECS.items():
        cls = CLASSES[name]
        assert cls.spec is spec and cls.__name__ == name
        assert [f.name for f in cls.fields_desc] == [f.name for f in spec.fields]
        for mark in (f"CLASSES.{name} = {{", f"CHECK_FN.{name} = ", f"SUMMARY.{name} = "):
            assert mark in lua, mark
    named = {k for rule in response_rules().values() for k in rule.values()}
    named |= {k for tries in guess_rules().values() for k, _shape in tries}
    assert named <= set(SPECS)


def test_dissection_uses_scapys_own_field_loop():
    """No class overrides do_dissect: the field classes stop where bytes run out."""
    from mepshark.dissector.frames import CLASSES, MEPPacket

    assert all("do_dissect" not in c.__dict__ for c in (MEPPacket, *CLASSES.values()))
    cut = MEP(bytes.fromhex("00113f0017000000"))
    assert cut.table_id == 0x17 and cut.offset == 0 and cut.count is None
    assert "missing: count, sequence, digest" in cut.problems


def test_hashret_and_answers_follow_the_response_rules():
    """RC4 frames hash with RC4 frames, TLS with TLS; a response answers the
    requests whose rule gives its class for its code."""
    read, write = MEP(EXAMPLES[8].wire), MEP(EXAMPLES[10].wire)
    tls_req, tls_resp = MEP(EXAMPLES[0].wire), MEP(EXAMPLES[1].wire)
    assert read.hashret() == write.hashret() == MEP(EXAMPLES[9].wire).hashret()
    assert tls_req.hashret() == tls_resp.hashret() != read.hashret()
    error = MEPErrorResponse(response_code=4)
    resync = MEPSequenceResponse(sequence=1)
    for req in (read, write):
        assert error.answers(req) and resync.answers(req) and not error.answers(tls_req)
    assert MEPTLSResponse(code=1).answers(tls_req)
    assert not MEPReadResponse(data=b"\x01").answers(write)
    assert not read.answers(MEP(EXAMPLES[9].wire))


@pytest.mark.parametrize("n", [199, 250, 5000])
def test_records_of_many_frames_dissect_every_frame(n):
    """Hundreds of frames in one record (a garbage burst, a tool that batches):
    each is dissected, in a loop rather than one nested payload per frame, so
    no recursion limit is reached and scapy's own walks over the packet work."""
    pieces = [bytes(b.partial_read(23, 0, 44)), b.ALERT, bytes(b.read_ok(b"\x01\x02"))]
    wire = b"".join(pieces[i % 3] for i in range(n)) + b"\x05"  # a lone byte at the end
    first = MEP(wire)
    got, f = [], first
    while f is not None:
        got.append(f)
        f = f.next_frame
    assert len(got) == n + 1
    assert [g.frame_bytes for g in got[:-1]] == [pieces[i % 3] for i in range(n)]
    assert got[-1].frame_bytes == b"\x05" and got[-1].malformed
    assert not any(g.malformed for g in got[:-1])
    assert bytes(first) == wire
    assert len(first) == len(wire)
    first.show(dump=True)
    repr(first)
    copy = first.copy()
    assert bytes(copy) == wire
    f, count = copy, 0
    while f is not None:
        count, f = count + 1, f.next_frame
    assert count == n + 1


def test_a_record_longer_than_65535_bytes_is_dissected_whole():
    wire = b.ALERT * 40_000
    f, count = MEP(wire), 0
    while f is not None:
        assert isinstance(f, MEPAlert) and not f.malformed
        count, f = count + 1, f.next_frame
    assert count == 40_000
