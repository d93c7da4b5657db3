"""TLS-PSK key schedule and record opening (dissector/tlspsk.py, tlssecrets.py).

Known answers: the guide's TLS examples 1 and 2 (a handshake under the
default MAK, sixteen 0x01 bytes, then one table read) open to the plaintexts
the guide prints beside them.  Live sessions: python-mbedtls (the library
line the meter runs) on both ends, fed through the tracker as a capture
would deliver them, with records cut across frames.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tlsutil import mbedtls_flights

from mepshark.dissector.link import read_capture
from mepshark.dissector.security import parse_key
from mepshark.dissector.tlspsk import (
    CLIENT,
    SERVER,
    RecordStream,
    SessionTracker,
    master_secret,
    prf,
    psk_premaster,
)
from mepshark.dissector.tlssecrets import (
    DSB_TYPE,
    TLS_KEY_LOG,
    dsb_block,
    inject_secrets,
    tls_frames,
    track_sessions,
)

MAK = parse_key("01" * 16, "MAK")
MBK = parse_key("02" * 16, "MBK")
EXAMPLES = Path(__file__).parent.parent / "pcaps" / "spec-examples.pcapng"


def _guide_flights() -> list[tuple[int, int, bytes]]:
    return list(tls_frames(read_capture(EXAMPLES)))


def _plaintexts(tracker: SessionTracker, flights) -> list[tuple[int, bytes | None, str | None]]:
    out = []
    for direction, code, payload in flights:
        for rec in tracker.frame(direction, code, payload):
            if rec.content_type == 23:
                out.append((direction, rec.plaintext, rec.problem))
    return out


def test_prf_and_premaster_shapes():
    assert psk_premaster(b"\x01" * 16) == b"\x00\x10" + bytes(16) + b"\x00\x10" + b"\x01" * 16
    # P_SHA384 output is a prefix-stable stream: asking for more extends it.
    assert prf(b"k", b"label", b"seed", 100)[:48] == prf(b"k", b"label", b"seed", 48)
    assert len(master_secret(b"\x01" * 16, bytes(32), bytes(32))) == 48


def test_guide_tls_examples_open_with_the_default_mak():
    flights = _guide_flights()
    assert [code for _, code, _ in flights][:6] == [0x58, 0x00, 0x59, 0x00, 0x80, 0x00]
    tracker = SessionTracker([MAK, MBK])
    assert _plaintexts(tracker, flights) == [
        (CLIENT, bytes.fromhex("3F084600008E0001"), None),
        (SERVER, bytes.fromhex("00000102"), None),
    ]
    session = tracker.current
    assert session.identity == (100, 1) and session.key_name == "MAK"
    assert not session.ems  # the guide's ClientHello offers no extensions
    assert session.keylog_line().startswith("CLIENT_RANDOM 5ca65721aa86a8db")


@pytest.mark.parametrize("keys, reason", [([], "MAK not given"), ([MBK], "MAK not given"),
                                          ([parse_key("03" * 16, "MAK")], "MAK does not verify")])
def test_a_session_no_key_opens_says_so(keys, reason):
    tracker = SessionTracker(keys)
    opened = _plaintexts(tracker, _guide_flights())
    assert [p for _, p, _ in opened] == [None, None]
    assert all(reason in problem for _, _, problem in opened)
    assert list(tracker.keylog()) == []


def test_records_before_any_handshake_belong_to_no_session():
    flights = _guide_flights()[4:]
    opened = _plaintexts(SessionTracker([MAK]), flights)
    assert opened and all(p is None and "no TLS handshake" in why for _, p, why in opened)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=80), max_size=6))
def test_record_stream_cuts_records_wherever_frames_end(cuts):
    records = [bytes([22, 3, 3]) + len(b).to_bytes(2, "big") + b for b in
               (b"a" * 7, b"", b"bcd" * 11, b"\x00" * 40)]
    stream = b"".join(records)
    points = sorted({min(c, len(stream)) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    rs = RecordStream()
    got = [r for piece in pieces for r in rs.feed(piece)]
    assert got == [
        (22, 0x0303, r[5:]) for r in records
    ]
    assert rs.pending == b""


@pytest.mark.parametrize("split", [False, True])
def test_live_mbedtls_session_with_extended_master_secret(split):
    flights = mbedtls_flights(b"\x01" * 16, client_id=0x0164, key_id=1,
                              exchanges=[(bytes.fromhex("3F084600008E0001"),
                                          bytes.fromhex("00000102"))])
    if split:  # every frame cut in two: records span frames
        flights = [f for d, c, p in flights for f in ((d, c, p[: len(p) // 2]),
                                                       (d, None, p[len(p) // 2:]))]
    tracker = SessionTracker([MAK])
    opened = _plaintexts(tracker, flights)
    assert [(d, p) for d, p, _ in opened] == [
        (CLIENT, bytes.fromhex("3F084600008E0001")), (SERVER, bytes.fromhex("00000102"))]
    assert tracker.current.ems  # Mbed TLS 2.28 asks for it on both sides
    assert tracker.current.identity == (0x0164, 1)


def test_two_sessions_under_two_keys():
    first = mbedtls_flights(b"\x02" * 16, client_id=7, key_id=0,
                            exchanges=[(b"\x30\x00\x01", b"\x00\x00\x01\x55")])
    second = mbedtls_flights(b"\x01" * 16, client_id=7, key_id=1,
                             exchanges=[(b"\x30\x00\x02", b"\x00\x00\x01\x66")])
    tracker = SessionTracker([MAK, MBK])
    opened = _plaintexts(tracker, first + second)
    assert [p for _, p, _ in opened] == [b"\x30\x00\x01", b"\x00\x00\x01\x55",
                                         b"\x30\x00\x02", b"\x00\x00\x01\x66"]
    assert [s.key_name for s in tracker.sessions] == ["MBK", "MAK"]
    assert len(list(tracker.keylog())) == 2


def test_dsb_block_layout():
    block = dsb_block("CLIENT_RANDOM 00 11\n")
    kind, total, stype, slen = struct.unpack_from("<IIII", block)
    assert (kind, stype, slen) == (DSB_TYPE, TLS_KEY_LOG, 20)
    assert total == len(block) and total % 4 == 0
    assert struct.unpack_from("<I", block, total - 4)[0] == total


def test_injected_secrets_are_read_by_capinfos(tmp_path):
    tracker = track_sessions(read_capture(EXAMPLES), [MAK])
    out = tmp_path / "with-secrets.pcapng"
    inject_secrets(EXAMPLES, out, "\n".join(tracker.keylog()) + "\n")
    info = subprocess.run(["capinfos", str(out)], capture_output=True, text=True, check=True)
    assert "Number of decryption secrets in file: 1" in info.stdout
    # Everything else is unchanged: the same frames decode the same way.
    assert [f.raw for f in read_capture(out)] == [f.raw for f in read_capture(EXAMPLES)]


def test_inject_refuses_a_pcap_file(tmp_path):
    bad = tmp_path / "x.pcap"
    bad.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(20))
    with pytest.raises(ValueError, match="not a pcapng"):
        inject_secrets(bad, tmp_path / "y.pcapng", "")


TLS_SAMPLE = EXAMPLES.parent / "tls.pcapng"


def test_the_tls_sample_holds_sessions_under_both_keys_and_a_wrong_one():
    tracker = track_sessions(read_capture(TLS_SAMPLE), [MAK, MBK])
    got = [(s.identity, s.master is not None, s.problem) for s in tracker.sessions]
    assert got == [((0x0164, 1), True, None), ((7, 0), True, None),
                   ((9, 1), False, "no key opens this session (MAK does not verify)")]


def test_tls_secrets_command_writes_a_key_log_and_a_dsb_copy(tmp_path, capsys):
    from mepshark.dissector.cli import main

    keylog, copy = tmp_path / "keys.log", tmp_path / "tls+secrets.pcapng"
    rc = main(["tls-secrets", str(TLS_SAMPLE), "--mak", "01" * 16, "--mbk", "02" * 16,
               "--keylog", str(keylog), "-w", str(copy)])
    out = capsys.readouterr().out
    assert rc == 0 and "2 secret(s) written" in out
    assert "session 3: client 9, MAK, extended master secret: no key opens this session" in out
    assert len(keylog.read_text().splitlines()) == 2
    info = subprocess.run(["capinfos", str(copy)], capture_output=True, text=True, check=True)
    assert "Number of decryption secrets in file: 1" in info.stdout
    assert main(["tls-secrets", str(TLS_SAMPLE), "--mbk", "02" * 16]) == 2  # nowhere to write
    assert main(["tls-secrets", str(EXAMPLES), "--mbk", "02" * 16, "--keylog",
                 str(keylog)]) == 1  # the guide's session is under the MAK
