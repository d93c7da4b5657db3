"""Pairing, digest verification and decryption in capture context."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mepshark.dissector import builders as b
from mepshark.dissector.context import (
    ALERT,
    DIGEST_BAD,
    DIGEST_GOOD,
    DIGEST_UNVERIFIED,
    FROM_METER,
    REQUEST,
    RESPONSE,
    TO_METER,
    CaptureContext,
    decode,
)
from mepshark.dissector.frames import (
    MEP,
    MEPFullTableWrite,
    MEPPartialTableRead,
    MEPReadResponse,
    MEPTLSResponse,
    MEPUnknown,
    MEPWriteResponse,
)
from mepshark.dissector.link import read_capture
from mepshark.dissector.sealing import open_request, open_response, seal_request, seal_response
from mepshark.dissector.security import Key, parse_key

EXAMPLES = Path(__file__).parent.parent / "pcaps" / "spec-examples.pcapng"
MAK = parse_key("01" * 16, "MAK")
MBK = parse_key("02" * 16, "MBK")
_EPB = {TO_METER: 2, FROM_METER: 1, None: None}


def _pkts(items):
    """(time, direction, frame bytes) -> MEP packets as a pcapng reader returns them."""
    out = []
    for t, d, wire in items:
        p = MEP(wire)
        p.time, p.direction = t, _EPB[d]
        out.append(p)
    return out


def test_spec_examples_pair_and_verify():
    f = read_capture(EXAMPLES, [MAK])
    assert len(f) == 22
    assert [x.kind for x in f] == [REQUEST, RESPONSE] * 11
    for req, resp in zip(f[::2], f[1::2], strict=True):
        assert resp.request_in == req.number and req.response_in == resp.number
        assert abs(resp.response_time - 0.045) < 1e-6
    # TLS responses are told apart from RC4 ones by their request
    assert all(isinstance(x.packet, MEPTLSResponse) for x in f[1:6:2])
    assert all(x.digest_status is None for x in f[:6])
    # RC4 example 1: 0x0C, then the same read resent with the new sequence number
    assert f[7].code == 0x0C and f[8].retransmission_of == 7 and f[8].retried
    assert f[9].retried and isinstance(f[9].packet, MEPReadResponse)
    assert (f[9].table_id, f[9].offset, f[9].count) == (0x17, 0, 44)
    assert (f[11].table_id, f[11].offset, f[11].count) == (0x0832, 30, 1)
    assert isinstance(f[11].packet, MEPWriteResponse)
    assert [x.digest_status for x in f[6:12]] == [DIGEST_GOOD] * 6
    assert {x.key for x in f[6:12]} == {"MAK"}
    # Appendix A/B: the guide does not give its key
    assert f[12].digest_status == DIGEST_BAD and f[13].digest_status == DIGEST_UNVERIFIED
    # chapter 4: the ET52/ET53 transaction and the EP17 call verify with the same key
    assert [x.digest_status for x in f[14:]] == [DIGEST_GOOD] * 8
    et53 = f[19].table
    assert et53.tag == "ET53" and et53.get("records[5].message.count") == 31
    assert f[20].table.get("action") == 0
    assert f[20].table.get("device_handle") == 0x03F8
    assert f[9].summary() == (
        "Response: OK cnt=44 (BT23 Current Register Data) [request in 9, 45 ms]"
    )


def test_without_keys_digests_are_unverified():
    f = read_capture(EXAMPLES)
    assert {x.digest_status for x in f[6:]} == {DIGEST_UNVERIFIED}
    # no digest note without keys; the guide's resent request is a retransmission
    assert [e for x in f[8:] for e in x.expert] == ["Retransmission of frame 7"]


def _exchange(client: b.Requester, body, answer, t=0.0, delay=0.04):
    wire, seal = client.seal(body)
    return [(t, TO_METER, wire), (t + delay, FROM_METER, b.respond(answer, seal))]


def test_encrypted_exchange_is_decrypted_with_the_key():
    client = b.Requester(MAK, 0x1000, encrypt=True)
    items = _exchange(client, b.partial_read(0x34, 0, 6), b.read_ok(b"\x04\x02\x10\x0f\x3b\x37"))
    req, resp = decode(_pkts(items), [MBK, MAK])
    assert req.encrypted and resp.encrypted
    assert (req.digest_status, resp.digest_status, req.key, resp.key) == (1, 1, "MAK", "MAK")
    assert isinstance(req.packet, MEPPartialTableRead) and req.packet.table_id == 0x34
    assert resp.packet.data == b"\x04\x02\x10\x0f\x3b\x37"
    assert "[encrypted]" in resp.summary()
    # no key: opaque, unverified; wrong key: bad digest
    req0, resp0 = decode(_pkts(items))
    assert req0.digest_status == DIGEST_UNVERIFIED and not req0.encrypted
    wrong = decode(_pkts(items), [parse_key("03" * 16)])
    assert wrong[0].digest_status == DIGEST_BAD and not wrong[0].encrypted
    assert wrong[1].digest_status is None or wrong[1].digest_status == DIGEST_UNVERIFIED


def test_mbk_verified_requests_name_the_mbk():
    items = _exchange(b.Requester(MBK, 7), b.full_read(0x17, 44), b.read_ok(bytes(44)))
    f = decode(_pkts(items), [MAK, MBK])
    assert [x.key for x in f] == ["MBK", "MBK"]


def test_tampered_response_digest_is_bad():
    items = _exchange(b.Requester(MAK, 1), b.full_read(0x17, 2), b.read_ok(b"\x01\x02"))
    t, d, wire = items[1]
    items[1] = (t, d, wire[:-9] + bytes([wire[-9] ^ 1]) + wire[-8:])
    f = decode(_pkts(items), [MAK])
    assert f[0].digest_status == DIGEST_GOOD and f[1].digest_status == DIGEST_BAD
    assert "[bad digest]" in f[1].summary()


def test_retry_after_timeout_and_no_response():
    client = b.Requester(MAK, 50)
    wire, seal = client.seal(b.partial_read(0x17, 0, 44))
    items = [
        (0.0, TO_METER, wire),
        (0.6, TO_METER, wire),  # identical resend after the 500 ms timeout
        (0.65, FROM_METER, b.respond(b.read_ok(bytes(44)), seal)),
    ]
    lost, _ = client.seal(b.full_read(0x34, 7))
    items.append((1.0, TO_METER, lost))  # never answered
    f = decode(_pkts(items), [MAK])
    assert f[0].no_response and f[0].retried and f[0].response_in is None
    assert f[1].retransmission_of == 1 and f[1].response_in == 3
    assert f[2].request_in == 2 and f[2].retried
    assert f[3].no_response and "No response" in " ".join(f[3].expert)


def test_timing_rules():
    client = b.Requester(MAK, 9)
    items = _exchange(client, b.full_read(0x17, 1), b.read_ok(b"\x00"), t=0.0, delay=0.7)
    items += _exchange(client, b.full_read(0x17, 1), b.read_ok(b"\x00"), t=2.0, delay=0.02)
    items += _exchange(client, b.full_read(0x17, 1), b.read_ok(b"\x00"), t=2.05, delay=0.02)
    f = decode(_pkts(items))
    assert any("700 ms after its request" in n for n in f[1].expert)
    assert not any("after the previous one" in n for n in f[2].expert)
    assert any("50 ms after the previous one" in n for n in f[4].expert)


def test_direction_is_inferred_when_unknown():
    client = b.Requester(MAK, 9)
    items = [(t, None, w) for t, _, w in _exchange(client, b.full_read(0x17, 1), b.read_ok(b"1"))]
    items.append((2.0, None, b.ALERT))
    f = decode(_pkts(items))
    assert [(x.direction, x.direction_inferred) for x in f[:2]] == [
        (TO_METER, True),
        (FROM_METER, True),
    ]
    assert f[1].request_in == 1
    assert f[2].kind == ALERT


def test_response_without_request_and_error_codes():
    client = b.Requester(MAK, 9)
    wire, seal = client.seal(b.full_write(0x17, b"\x01"))
    items = [
        (0.0, FROM_METER, b.respond(b.read_ok(b"\x01"), seal)),
        (1.0, TO_METER, wire),
        (1.05, FROM_METER, b.respond(b.error(0x03), seal)),
    ]
    f = decode(_pkts(items), [MAK])
    assert "Response with no request waiting for it" in f[0].expert
    assert any("No permission for specified request" in n for n in f[2].expert)
    assert f[2].digest_status == DIGEST_GOOD


def test_several_frames_in_one_record_are_all_decoded():
    client = b.Requester(MAK, 9)
    (t, _, req), (_, _, resp) = _exchange(client, b.full_read(0x17, 1), b.read_ok(b"1"))
    ctx = CaptureContext([MAK])
    infos = ctx.add_packet(_pkts([(0.0, FROM_METER, b.ALERT + resp)])[0])
    assert [i.kind for i in infos] == [ALERT, RESPONSE]


keys = st.binary(min_size=16, max_size=20).map(lambda raw: Key("MAK", raw))


@given(
    key=keys,
    table=st.integers(0, 0xFFFF),
    offset=st.integers(0, 0xFFFFFF),
    data=st.binary(max_size=300),
    answer=st.binary(max_size=400),
    encrypt=st.booleans(),
    seq=st.integers(0, 0xFFFFFFFF),
)
@settings(max_examples=150, deadline=None)
def test_seal_and_open_round_trip(key, table, offset, data, answer, encrypt, seq):
    """Sealed (optionally encrypted) requests and responses open back to their plain bytes."""
    body = b.partial_write(table, offset, data)
    body.sequence = seq
    wire, seal = seal_request(body, key, encrypt)
    plain_body = bytes(body)[2:-8]
    assert (wire[2:-8] != plain_body) == (encrypt and len(plain_body) > 0) or not encrypt
    opened = open_request(wire[2:], [parse_key("ff" * 16, "MBK"), key])
    assert opened is not None
    plain, seal2 = opened
    assert plain[:-8] == plain_body and seal2.key is key and seal2.encrypted == encrypt
    rwire = seal_response(b.read_ok(answer), seal)
    rplain, ok, decrypted = open_response(rwire[2:], seal2)
    assert ok and decrypted == encrypt
    assert rplain[:-8] == bytes(b.read_ok(answer))[2:-8]


# --- a request no configured key opens (issue 13, item 6) ---------------------------------

OTHER = parse_key("33" * 16, "MAK")
"""The key the client used, configured nowhere."""


def encrypted_under(key: Key, body, first: int, start: int = 0x100) -> tuple[bytes, bytes]:
    """An RC4-encrypted request whose ciphertext starts with the byte ``first``,
    and the meter's 0x0B answer to it (in clear, digested under the meter's MAK)."""
    for seq in range(start, start + 200_000):
        wire, _ = b.Requester(key, seq, encrypt=True).seal(body)
        if wire[2] == first:
            return wire, auth_failure(wire)
    raise AssertionError("no such sequence number")


def auth_failure(request: bytes) -> bytes:
    """The meter's answer to a request no key of its verifies (as mep-sim makes it)."""
    from mepshark.dissector.sealing import Seal

    body = request[2:]
    state = MAK.digest_state()
    state.update(body[:-8])
    return b.respond(b.error(0x0B), Seal(MAK, body[-8:], state, None))


def test_ciphertext_under_an_unknown_key_is_not_taken_for_a_request():
    """Its first byte reads as Full Table Write, but no configured key opens it and
    its bytes do not fill a write: an unknown body, and the answer names no table."""
    wire, answer = encrypted_under(OTHER, b.partial_read(23, 0, 44), 0x40)
    items = [(0.0, TO_METER, wire), (0.05, FROM_METER, answer)]
    req, resp = decode(_pkts(items), [MAK, MBK])
    assert req.digest_status == DIGEST_BAD and not req.encrypted
    assert isinstance(req.packet, MEPUnknown) and req.code is None
    assert req.table_id is None and req.table is None and not req.malformed
    assert req.summary() == ("Request: Unknown body, 20 bytes (no configured key opens it: "
                             "encrypted under another key, or garbage) [bad digest]")
    assert "No configured key opens it: encrypted under another key, or garbage" in req.expert
    assert resp.request_in == 1 and resp.table_id is None
    assert resp.summary() == "Response: Authentication failure [request in 1, 50 ms]"
    # without keys nothing tells it from a plain (malformed) write: decoded as one
    req0, _ = decode(_pkts(items))
    assert req0.digest_status == DIGEST_UNVERIFIED
    assert req0.summary().startswith("Request: Full Table Write")


def test_ciphertext_reading_as_a_read_of_another_length_is_unknown_too():
    """A partial read (20 bytes) whose ciphertext starts with 0x30 (17 bytes)."""
    wire, answer = encrypted_under(OTHER, b.partial_read(23, 0, 44), 0x30)
    req, resp = decode(_pkts([(0.0, TO_METER, wire), (0.05, FROM_METER, answer)]), [MAK])
    assert isinstance(req.packet, MEPUnknown) and resp.table_id is None


def test_plain_request_with_a_wrong_digest_stays_a_request():
    """A client with another key: the request fills its layout, so what it asked
    for in vain is shown, and the 0x0B answer names that table."""
    wire, _ = b.Requester(OTHER, 0x200).seal(b.full_write(0x0832, b"\x01\x02"))
    answer = auth_failure(wire)
    req, resp = decode(_pkts([(0.0, TO_METER, wire), (0.05, FROM_METER, answer)]), [MAK, MBK])
    assert req.digest_status == DIGEST_BAD and isinstance(req.packet, MEPFullTableWrite)
    assert req.table_id == 0x0832 and not req.malformed
    assert "Digest verifies with no configured key, plain or decrypted" in req.expert
    assert req.summary().endswith("[bad digest]")
    assert resp.table_id == 0x0832 and "Authentication failure (" in resp.summary()


def test_an_unknown_body_no_key_opens_says_so():
    """A request body starting with no code at all: the same note."""
    wire, _ = encrypted_under(OTHER, b.partial_read(23, 0, 44), 0xEE)
    (req,) = decode(_pkts([(0.0, TO_METER, wire)]), [MAK])
    assert isinstance(req.packet, MEPUnknown) and req.digest_status == DIGEST_BAD
    assert "No configured key opens it: encrypted under another key, or garbage" in req.expert
    assert "no configured key opens it" in req.summary()
