"""ANSI C12.18 packets and services: declarations, scapy, the context, the deframer, tshark.

Real parts throughout: the scapy classes made from dissector/c1218spec.py,
the deframer, pcapng files read back by scapy and by tshark running the
generated mep.lua (and by plain lua5.2/lua5.4 through the shim).
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from luadiff import (
    compare,
    differences,
    lua_decode,
    run_tshark,
    scapy_decode,
    shim_decode,
    write_records,
)

from mepshark.dissector import builders as b
from mepshark.dissector import c1218codes as codes
from mepshark.dissector import c1218frames as cf
from mepshark.dissector import c1218link as link
from mepshark.dissector import c1218spec as cs
from mepshark.dissector.c1218context import C1218Info
from mepshark.dissector.context import FROM_METER, TO_METER
from mepshark.dissector.deframer import ALERT, C1218, FRAME, UNFRAMED, Deframer
from mepshark.dissector.frames import MEP
from mepshark.dissector.link import read_capture
from mepshark.dissector.wsfields import flatten
from mepshark.sim.tapped import demo_keys

ROOT = Path(__file__).resolve().parents[1]
OPTICAL = ROOT / "pcaps" / "optical.pcapng"
SHARED = ROOT / "pcaps" / "mep-optical-shared.pcapng"
IDENTIFY = bytes.fromhex("EE0000000001201310")
MAK = demo_keys()[0]
BYTE_TIME = 10 / 9600


# --- link layer -----------------------------------------------------------------


def test_identify_request_crc_known_answer():
    """The identify request ends in 13 10 (CRC-16/X.25, least significant byte first),
    built from the declarations and read back."""
    built = cf.build_packet(bytes(cf.CLASSES["C1218Identify"]()))
    assert built == IDENTIFY
    assert bytes(cf.C1218Packet(stp=0xEE, data=b"\x20")) == IDENTIFY
    pkt = cf.C1218Packet(IDENTIFY)
    assert (pkt.crc, pkt.crc_ok, pkt.problems) == (0x1013, True, [])
    assert cf.C1218Packet(IDENTIFY[:-1] + b"\x11").crc_ok is False


def test_control_bits_are_read_by_their_declared_masks():
    raw = link.build(b"\x00", control=link.CTRL_MULTI | link.CTRL_FIRST | link.CTRL_TOGGLE,
                     sequence=3)
    pkt = cf.C1218Packet(raw)
    got = {f.name: pkt.flag_value(f) for f in cs.CONTROL_FLAGS}
    assert got == {"multi": 1, "first": 1, "toggle": 1, "format": 0}
    assert pkt.sequence == 3


# --- services: round trips ------------------------------------------------------

_u = {1: st.integers(0, 0xFF), 2: st.integers(0, 0xFFFF), 3: st.integers(0, 0xFFFFFF)}


@st.composite
def services(draw):
    """Any declared service with any field values, built from its declaration."""
    spec = draw(st.sampled_from(cs.SERVICES))
    values = {}
    for f in spec.fields:
        if isinstance(f, cs.Num):
            if f.length_of is None and f.name != "checksum":
                values[f.name] = draw(_u[f.size])
        elif isinstance(f.n, int):
            values[f.name] = draw(st.binary(min_size=f.n, max_size=f.n))
        else:
            values[f.name] = draw(st.binary(max_size=300))
    if spec.codes:  # a request: one of its own codes
        values["service"] = draw(st.sampled_from(spec.codes))
    return spec, values


@given(services(), st.integers(0, 1))
@settings(max_examples=300, deadline=None)
def test_every_service_round_trips_through_a_packet(case, toggle):
    spec, values = case
    cls = cf.CLASSES[spec.name]
    data = bytes(cls(**values))
    pkt = cf.C1218Packet(cf.build_packet(data, toggle))
    assert pkt.crc_ok and not pkt.problems and pkt.data == data
    again = cls(pkt.data)
    assert not again.problems, again.problems
    for k, v in values.items():
        assert again.getfieldval(k) == v
    assert again.checksum_problem() is None
    if spec.codes:
        assert cf.request_class(data) is cls


def test_read_response_checksum_is_checked():
    good = bytes(cf.CLASSES["C1218ReadResponse"](data=b"\x01\x02\x03"))
    assert good[-1] == (-6) & 0xFF
    bad = good[:-1] + bytes([good[-1] ^ 1])
    assert cf.CLASSES["C1218ReadResponse"](bad).checksum_problem() == (good[-1] ^ 1, good[-1])


def test_password_is_shown_by_its_length_only(monkeypatch):
    sec = cf.CLASSES["C1218Security"](bytes(cf.CLASSES["C1218Security"](
        password=b"hunter2".ljust(20, b"\x00"))))
    assert "hunter2" not in sec.show(dump=True) and "20 byte(s), hidden" in sec.show(dump=True)
    monkeypatch.setattr(cf, "SHOW_PASSWORD", True)
    assert "68756e74657232" in sec.show(dump=True)


# --- bad input ------------------------------------------------------------------


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    raw = bytearray(raw)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(3)
        if op == 0 and raw:
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        elif op == 1 and len(raw) > 1:
            del raw[rng.randrange(1, len(raw)):]
        else:
            raw += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
    return bytes(raw)


def _session_packets() -> list[tuple[int | None, bytes]]:
    """A plausible exchange: requests, ACKs, answers (one multi-packet)."""
    svc = cf.CLASSES
    out = []
    for req, resp in ((svc["C1218Identify"](), svc["C1218IdentifyResponse"](features=b"\0")),
                      (svc["C1218FullRead"](table_id=1), svc["C1218ReadResponse"](data=bytes(24))),
                      (svc["C1218Security"](), svc["C1218ErrorResponse"](response_code=3))):
        out.append((TO_METER, cf.build_packet(bytes(req))))
        out.append((FROM_METER, bytes([link.ACK])))
        out.append((FROM_METER, cf.build_packet(bytes(resp), 1)))
    big = bytes(svc["C1218ReadResponse"](data=bytes(range(200))))
    out.append((TO_METER, cf.build_packet(bytes(svc["C1218FullRead"](table_id=28)))))
    for k in range(4):
        out.append((FROM_METER, cf.build_packet(big[k * 60:(k + 1) * 60], k % 2, multi=True,
                                                first=k == 0, sequence=3 - k)))
    return out


def test_fuzzed_packets_never_raise_and_tshark_agrees(tmp_path):
    """Mutated and random C12.18 records: no exception, no Lua error, same decode."""
    rng = random.Random(12)
    base = _session_packets()
    records = []
    for i in range(300):
        d, raw = rng.choice(base)
        if i % 3 == 1:
            raw = _mutate(rng, raw)
        elif i % 3 == 2:
            raw = bytes([rng.choice((0xEE, 0x06, 0x15))]) + bytes(
                rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        records.append((i * 0.05, rng.choice([d, None]), raw))
    pcap = write_records(tmp_path / "fuzz.pcapng", records)
    frames = read_capture(pcap)
    assert all(isinstance(f, C1218Info) == (raw[0] in (0xEE, 0x06, 0x15))
               for f, (_t, _d, raw) in zip(frames, records, strict=True))
    assert any(f.malformed for f in frames) and any(f.crc_status == 0 for f in frames)
    for f in frames:
        f.summary()
        flatten(f)
    proc = run_tshark(pcap, [], ["-V"])
    assert proc.returncode == 0 and "Lua Error" not in proc.stdout + proc.stderr
    assert "Malformed C12.18 packet" in proc.stdout
    assert differences(pcap) == []


@given(st.lists(st.tuples(st.sampled_from([TO_METER, FROM_METER, None]),
                          st.binary(min_size=1, max_size=30)), min_size=1, max_size=30))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
def test_hypothesis_records_agree(tmp_path, recs):
    """Arbitrary bytes behind a C12.18 first byte: scapy and tshark agree, no error."""
    records = [(k * 0.1, d, bytes([(0xEE, 0x06, 0x15)[raw[0] % 3]]) + raw[1:])
               for k, (d, raw) in enumerate(recs)]
    pcap = write_records(tmp_path / "h.pcapng", records)
    assert differences(pcap) == []


# --- the optical sample ---------------------------------------------------------


def test_optical_sample_is_what_its_generator_writes(tmp_path):
    """pcaps/optical.pcapng and mep-optical-shared.pcapng are make_optical.py's output."""
    import shutil

    copy = tmp_path / "pcaps"
    copy.mkdir()
    shutil.copy(ROOT / "pcaps" / "make_optical.py", copy)
    subprocess.run([sys.executable, str(copy / "make_optical.py")], check=True,
                   capture_output=True)
    for name in ("optical.pcapng", "mep-optical-shared.pcapng"):
        assert (copy / name).read_bytes() == (ROOT / "pcaps" / name).read_bytes(), (
            f"pcaps/{name} is stale: run .venv/bin/python pcaps/make_optical.py")


def test_optical_session_decodes_in_context():
    frames = {f.number: f for f in read_capture(OPTICAL)}
    summaries = [f.summary() for f in frames.values()]
    assert summaries[0] == "Request: Identify"
    assert frames[2].summary() == "NAK" and frames[2].expert == [
        "NAK: the packet in frame 1 is to be sent again"]
    assert frames[3].retransmission_of == 1
    assert frames[5].request_in == 1 and frames[1].response_in == 5
    # every packet's CRC holds, nothing is malformed
    packets = [f for f in frames.values() if f.kind == "c1218_packet"]
    assert all(f.crc_status == 1 for f in packets) and not any(f.malformed for f in packets)
    # BT28 comes in several packets, joined and decoded with BT21's dimensions
    bt28 = next(f for f in packets if f.segments > 1 and f.table_id == 28)
    assert bt28.table is not None and bt28.table.tag == "BT28" and not bt28.table.problems
    assert bt28.table.defaults_used == []
    assert all(f.checksum_status == 1 for f in packets if f.checksum_status is not None)
    isc = [f for f in packets if f.code == codes.ISC and f.message == "response"]
    assert len(isc) == 1 and "isc" in isc[0].expert[0]
    # the password: its length only
    sec = next(f for f in packets if f.code == codes.SECURITY)
    assert ("c1218.password_length", 20) in sec.flatten()
    assert not any(a == "c1218.password" for a, _ in sec.flatten())


def test_tshark_shows_the_password_only_when_asked():
    """Field for field with scapy (default: its length); the preference shows it."""
    assert differences(OPTICAL) == []
    plain = "6f70746963616c2d64656d6f"  # the sample's made-up password, in hex
    hidden = run_tshark(OPTICAL, [], ["-T", "fields", "-e", "c1218.password",
                                      "-e", "c1218.password_length", "-Y", "c1218.service == 0x51"])
    assert hidden.stdout.split() == ["20"]
    shown = run_tshark(OPTICAL, [], ["-o", "c1218.show_password:TRUE", "-T", "fields",
                                     "-e", "c1218.password", "-Y", "c1218.service == 0x51"])
    assert shown.stdout.replace(":", "").startswith(plain)


def test_protocol_column_and_filters():
    proc = run_tshark(OPTICAL, [], ["-T", "fields", "-e", "_ws.col.Protocol", "-e",
                                    "c1218.request_in", "-Y", "c1218.table_name contains BT28"])
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert rows and all(r[0] == "C12.18" for r in rows)
    assert any(r[1] for r in rows)  # the response names its request


@pytest.mark.parametrize("lua", ["lua5.2", "lua5.4"])
def test_plain_lua_interpreters_agree_on_optical(tmp_path, lua):
    for pcap in (OPTICAL, SHARED):
        assert compare(scapy_decode(pcap), shim_decode(pcap, [], tmp_path, lua)) == []


# --- the shared UART ------------------------------------------------------------


def _interleaved(rng: random.Random, alerts: int):
    """The meter's side of a shared line: MEP answers, alerts and the optical
    session's answers (its first packet NAKed), as one byte stream."""
    pieces = [b.ALERT for _ in range(alerts)]
    pieces += [bytes(b.read_ok(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))))
               for _ in range(5)]
    optical = [bytes([link.NAK]), bytes([link.ACK]),
               link.build(bytes.fromhex("0000020000")),  # the 06 EE 00 00 00 00 05 ...
               bytes([link.ACK]),
               link.build(bytes(cf.CLASSES["C1218ReadResponse"](data=bytes(range(40)))), 0x20)]
    rng.shuffle(pieces)
    at = rng.randrange(len(pieces) + 1)
    return pieces[:at] + optical + pieces[at:], optical


@given(st.integers(0, 2**32 - 1), st.integers(0, 4))
@settings(max_examples=60, deadline=None)
def test_mep_with_an_optical_session_yields_exactly_the_real_alerts(seed, alerts):
    rng = random.Random(seed)
    pieces, optical = _interleaved(rng, alerts)
    stream = b"".join(pieces)
    d, chunks, pos, t = Deframer(byte_time=BYTE_TIME), [], 0, 1000.0
    while pos < len(stream):  # in random reads, back to back
        n = rng.randrange(1, 50)
        chunks += d.feed(stream[pos:pos + n], t)
        t += n * BYTE_TIME
        pos += n
    chunks += d.close()
    assert b"".join(c.data for c in chunks) == stream
    assert [c.kind for c in chunks].count(ALERT) == alerts
    assert not [c for c in chunks if c.kind == UNFRAMED]
    assert [c.data for c in chunks if c.kind == C1218] == optical
    assert [c.data for c in chunks if c.kind in (FRAME, ALERT)] == [
        p for p in pieces if p not in optical]


def test_shared_sample_notes_the_unanswered_mep_requests():
    frames = read_capture(SHARED, [MAK])
    mep = [f for f in frames if not isinstance(f, C1218Info)]
    assert not [f for f in mep if f.kind == "alert" or f.malformed or f.unframed]
    busy = [f for f in mep if any("optical (C12.18) session" in e for e in f.expert)]
    assert len(busy) == 2 and all(f.no_response for f in busy)
    answered = [f for f in mep if f.kind == "response"]
    assert answered and all(f.digest_status == 1 for f in answered)
    optical = [f for f in frames if isinstance(f, C1218Info)]
    assert optical[0].kind == "c1218_nak" and not any(f.malformed for f in optical)
    lua, stderr = lua_decode(SHARED, [MAK])
    assert "Lua" not in stderr
    for f in busy:
        assert any("optical (C12.18) session" in e for e in lua[f.number][3])
    assert differences(SHARED, [MAK]) == []


def test_rdpcap_gives_c1218_classes():
    from scapy.utils import rdpcap

    kinds = {type(p).__name__ for p in rdpcap(str(OPTICAL))}
    assert kinds == {"C1218Packet", "C1218AckNak"}
    assert isinstance(MEP(IDENTIFY), cf.C1218Packet)


def test_mep_capture_keeps_each_c1218_packet_whole(tmp_path):
    """mep-capture on two ptys: the meter's `06 EE 00 00 00 00 05 …` answer (the issue's
    example) arrives back to back with MEP traffic; the ACK and the packet are records of
    their own, nothing is unframed, no alert is invented, and tshark says C12.18."""
    from test_capture_support import BT_9600, Capture, frames_session, read_scapy

    from mepshark.capture.ptyline import PtyLine, UartFeeder

    meter, client = PtyLine(tmp_path / "ttyMETER"), PtyLine(tmp_path / "ttyCLIENT")
    try:
        out = tmp_path / "shared.pcapng"
        cap = Capture(["--meter", str(meter.path), "--client", str(client.path), "-w", str(out)])
        f = frames_session()
        answer = link.build(bytes.fromhex("0000020000"))
        schedule = [
            (0.00, client, f["req1"]),
            (0.30, meter, bytes([link.NAK])),
            (0.40, meter, bytes([link.ACK]) + answer + f["alert"]),  # back to back
            (0.70, client, f["req2"]),
            (0.80, meter, f["resp2"]),
        ]
        UartFeeder({meter: BT_9600, client: BT_9600}).play(schedule)
        time.sleep(0.3)
        assert cap.stop() == 0
    finally:
        meter.close()
        client.close()
    pkts = read_scapy(out)
    assert [p.data for p in pkts] == [f["req1"], b"\x15", b"\x06", answer, f["alert"],
                                      f["req2"], f["resp2"]]
    assert not [p for p in pkts if p.comments]
    frames = read_capture(out)
    assert [f.kind for f in frames].count("alert") == 1
    assert [f.summary() for f in frames[1:4]] == [
        "NAK", "ACK", "Response: ok (Acknowledge)"]  # its request went to the optical port
    proc = run_tshark(out, [], ["-T", "fields", "-e", "_ws.col.Protocol"])
    assert proc.stdout.split() == ["MEP", "C12.18", "C12.18", "C12.18", "MEP", "MEP", "MEP"]


def test_procedures_through_bt07_and_bt08_decode_as_for_mep(tmp_path):
    """A procedure started by a BT07 write and its BT08 answer read back, over C12.18:
    the catalog decodes both by the procedure in their header; tshark agrees."""
    from mepshark.dissector.catalog.procedure_calls import (
        bt07_image,
        procedure_id,
        response_image,
    )

    number = procedure_id("BP03")  # any procedure the catalog declares
    svc = cf.CLASSES
    messages = [
        (TO_METER, svc["C1218FullWrite"](table_id=7, data=bt07_image(number, 5))),
        (FROM_METER, svc["C1218OkResponse"]()),
        (TO_METER, svc["C1218FullRead"](table_id=8)),
        (FROM_METER, svc["C1218ReadResponse"](data=response_image(number, 5, 0))),
    ]
    records = []
    for k, (d, m) in enumerate(messages):
        records.append((k * 0.2, d, cf.build_packet(bytes(m), k // 2 % 2)))
        records.append((k * 0.2 + 0.05, 1 - d, bytes([link.ACK])))
    pcap = write_records(tmp_path / "proc.pcapng", records)
    frames = [f for f in read_capture(pcap) if f.kind == "c1218_packet"]
    write, read_back = frames[0], frames[3]
    assert write.table is not None and write.table.tag == "BT07"
    assert read_back.table is not None and read_back.table.tag == "BT08"
    assert ("mep.procedure.number", number) in flatten(write)
    assert differences(pcap) == []


def test_a_mep_record_s_later_bytes_stay_mep():
    """Only a record's first byte picks C12.18: a 0xEE after a MEP frame in the same
    record is that record's (malformed) next MEP frame, as before (found by hypothesis)."""
    rec = MEP(bytes(b.read_ok(bytes(4))) + b"\xee")
    assert isinstance(rec, MEP) and isinstance(rec.next_frame, MEP)
    assert rec.next_frame.malformed
