"""The optical port (ANSI C12.18): services as bytes, the simulated meter's rights and states,
its link layer on a real pty, the client against it, and the Gen 2/3 shared UART."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st
from simbench import MAK

from mepshark.capture.ptyline import PtyPair
from mepshark.client.link import NoResponse
from mepshark.client.optical import OpticalClient, OpticalLink, ServiceError, answer
from mepshark.client.session import GaveUp
from mepshark.dissector import c1218builders as svc
from mepshark.dissector import c1218codes as codes
from mepshark.dissector import c1218link as link
from mepshark.dissector.catalog.procedure_calls import COMPLETED, bt07_image, procedure_id
from mepshark.dissector.tables import table_id
from mepshark.sim import cli as sim_cli
from mepshark.sim.meter import Meter, build_default
from mepshark.sim.optical import (
    DEFAULT_PASSWORDS,
    HardwareLock,
    OpticalServer,
    Passwords,
)
from mepshark.sim.opticalport import OpticalPort
from mepshark.sim.port import SimPort
from mepshark.sim.server import MepServer

MK, PK, RK = (DEFAULT_PASSWORDS[k] for k in ("MK", "PK", "RK"))
BT01, BT07, BT15, BT23, BT28 = (table_id(t) for t in ("BT01", "BT07", "BT15", "BT23", "BT28"))
ET51 = table_id("ET51")
MEP_CLIENT = [sys.executable, "-m", "mepshark.client.cli"]


# --- services as bytes ------------------------------------------------------------------


def test_known_bytes_of_the_services():
    assert link.build(svc.identify()) == bytes.fromhex("EE0000000001201310")
    assert svc.read(BT28) == bytes.fromhex("30001C")
    assert svc.read(ET51, 2, 5) == bytes.fromhex("3F0833000002" "0005")
    assert svc.negotiate(256, 4, (6,)) == bytes.fromhex("61010004" "06")
    assert svc.security(b"abc") == b"\x51abc" + b" " * 17
    assert svc.read_response(b"\x01\x02") == bytes.fromhex("00000201" "02FD")
    assert svc.write(BT07, b"\x10") == bytes.fromhex("400007" "0001" "10" "F0")


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFF), st.binary(max_size=300))
def test_requests_round_trip(table, offset, data):
    req = svc.request(svc.write(table, data, offset))
    assert (req.service, req.table_id, req.offset, req.data, svc.problem(req)) == (
        codes.WRITE_OFFSET, table, offset, data, "")
    req = svc.request(svc.read(table, offset, len(data)))
    assert (req.table_id, req.offset, req.count) == (table, offset, len(data))
    assert answer(svc.read(table), svc.read_response(data), "read").data == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_parse_as_far_as_they_go(raw):
    req = svc.request(raw)
    assert svc.problem(req) or req.service == raw[0]
    try:
        got = answer(svc.read(BT01), raw, "read")
    except ServiceError as exc:
        assert raw and exc.code == raw[0] != codes.OK
    except ValueError:
        pass
    else:  # a read answer that holds: ok, its count, its data, their checksum
        assert raw[0] == codes.OK and raw[3 : 3 + len(got.data)] == got.data
        assert len(raw) == len(got.data) + svc.READ_OVERHEAD


# --- the server's states and rights --------------------------------------------------------


IMAGES = build_default()
"""The default meter's tables, built once."""


def session(key: bytes | None, **kw) -> OpticalServer:
    server = OpticalServer(Meter(IMAGES, animate=False), **kw)
    for msg in (svc.identify(), svc.negotiate(1024, 8), svc.logon(1, "test")):
        assert server.handle(msg)[0] == codes.OK
    if key is not None:
        assert server.handle(svc.security(key)) == b"\x00"
    return server


def code_of(server: OpticalServer, msg: bytes) -> int:
    return server.handle(msg)[0]


def test_services_out_of_sequence_are_isss():
    server = OpticalServer(Meter(animate=False))
    assert code_of(server, svc.read(BT01)) == codes.ISSS  # no identify yet
    assert code_of(server, svc.logon(1, "x")) == codes.ISSS
    assert code_of(server, svc.identify()) == codes.OK
    assert code_of(server, svc.identify()) == codes.ISSS
    assert code_of(server, svc.security(MK)) == codes.ISSS  # before logon
    assert code_of(server, svc.logon(1, "x")) == codes.OK
    assert code_of(server, svc.negotiate(64, 1)) == codes.ISSS  # after logon
    assert code_of(server, svc.logoff()) == codes.OK
    assert code_of(server, svc.read(BT01)) == codes.ISSS  # logged off
    assert code_of(server, svc.terminate()) == codes.OK
    assert not server.active


def test_passwords_and_their_rights():
    nobody = session(None)
    assert code_of(nobody, svc.read(BT01)) == codes.OK  # open to anyone
    assert code_of(nobody, svc.read(BT23)) == codes.ISC
    assert code_of(nobody, svc.security(b"wrong")) == codes.ERR
    rk, pk, mk = session(RK), session(PK), session(MK)
    assert (rk.key, pk.key, mk.key) == ("RK", "PK", "MK")
    assert code_of(rk, svc.read(BT28)) == codes.OK
    assert code_of(rk, svc.read(ET51)) == codes.ISC  # MK and PK only
    assert code_of(pk, svc.read(ET51)) == codes.OK
    bt42 = table_id("BT42")
    assert code_of(rk, svc.read(bt42)) == codes.ISC  # a key table
    assert code_of(mk, svc.read(bt42)) == codes.IAR  # allowed, but this meter has no BT42
    assert code_of(rk, svc.write(ET51, b"\0", 0)) == codes.ISC  # read-only key
    assert code_of(pk, svc.write(ET51, b"\0", 0)) == codes.OK
    assert code_of(pk, svc.read(table_id("BT45"))) == codes.ISC  # key tables
    assert code_of(mk, svc.write(BT01, b"x", 0)) == codes.IAR  # read-only table
    download = bt07_image(procedure_id("EP41"), 1)
    assert code_of(pk, svc.write(BT07, download)) == codes.ISC
    clock = bt07_image(procedure_id("EP16"), 2, (5).to_bytes(4, "little"))
    assert code_of(pk, svc.write(BT07, clock)) == codes.OK
    done = pk.history[-1]
    assert (done.kind, done.table, done.code) == ("procedure", procedure_id("EP16"), COMPLETED)
    assert pk.meter.clock_offset == 5


def test_hardware_lock_comes_before_every_key():
    mk = session(MK)  # default lock: BT15 cannot be written
    assert code_of(mk, svc.read(BT15)) == codes.OK
    assert code_of(mk, svc.write(BT15, b"\1", 0)) == codes.ISC
    locked = session(MK, lock=HardwareLock.parse(["BT28:r", "EP16"]))
    assert code_of(locked, svc.read(BT28)) == codes.ISC
    assert code_of(locked, svc.write(BT15, b"\1", 0)) == codes.OK
    clock = bt07_image(procedure_id("EP16"), 1, bytes(4))
    assert code_of(locked, svc.write(BT07, clock)) == codes.ISC
    for bad in ("XX12", "BT15:q", "EP16:r"):
        with pytest.raises(ValueError):
            HardwareLock.parse([bad])


def test_disabled_password_and_reads_larger_than_the_packets():
    server = session(None, passwords=Passwords(pk=None))
    assert code_of(server, svc.security(PK)) == codes.ERR
    small = OpticalServer(Meter(animate=False), Passwords())
    for msg in (svc.identify(), svc.logon(1, "x"), svc.security(MK)):
        small.handle(msg)
    assert small.capacity == link.DEFAULT_PACKET_SIZE - link.PACKET_OVERHEAD  # not negotiated
    assert code_of(small, svc.read(BT28)) == codes.ONP
    request = svc.read(BT28, 0, small.capacity - 4)
    part = answer(request, small.handle(request), "read").data
    assert part == small.meter.read(BT28)[: small.capacity - 4]


# --- the link layer on a pty --------------------------------------------------------------


class OpticalBench:
    """The optical simulator on a pty pair, in a thread."""

    def __init__(self, **kw):
        self.pair = PtyPair()
        self.meter = Meter(animate=False)
        self.server = OpticalServer(self.meter)
        self.port = OpticalPort(self.pair.master, self.server, **kw)
        self.thread = threading.Thread(target=self.port.serve, daemon=True)
        self.thread.start()

    def raw(self) -> serial.Serial:
        ser = serial.Serial(self.pair.device, 9600, timeout=0.05)
        ser.reset_input_buffer()
        return ser

    def close(self) -> None:
        self.port.stop()
        self.thread.join(2)
        self.pair.close()


@pytest.fixture
def optical():
    made: list[OpticalBench] = []

    def make(**kw) -> OpticalBench:
        b = OpticalBench(**kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def read_until(ser: serial.Serial, n: int, limit: float = 5.0) -> bytes:
    got = b""
    deadline = time.monotonic() + limit
    while len(got) < n and time.monotonic() < deadline:
        got += ser.read(n - len(got))
    return got


def test_link_nak_first_bad_crc_duplicate_and_cut_packet(optical):
    bench = optical()
    ser = bench.raw()
    ident = link.build(svc.identify())
    ser.write(ident[:-1] + bytes([ident[-1] ^ 0xFF]))  # damaged CRC
    assert read_until(ser, 1) == bytes([link.NAK])
    ser.write(ident)  # starts the session: the switch-over NAK
    assert read_until(ser, 1) == bytes([link.NAK])
    ser.write(ident)
    answer = read_until(ser, 1 + 13)
    assert answer[0] == link.ACK
    pkt = link.parse(answer[1:])
    assert pkt.crc_ok and pkt.data == svc.identify_response()
    ser.write(bytes([link.ACK]))
    ser.write(ident)  # the same packet again (toggle bit unchanged): ACKed, not served again
    assert read_until(ser, 1) == bytes([link.ACK])
    assert ser.read(20) == b""
    logon = link.build(svc.logon(1, "x"), control=link.CTRL_TOGGLE)
    skipped = bench.port.stats["skipped"]
    ser.write(logon[:5])  # cut short: dropped after the inter-character timeout
    deadline = time.monotonic() + 30
    while bench.port.stats["skipped"] == skipped and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bench.port.stats["skipped"] == skipped + 5
    ser.write(logon)
    answer = read_until(ser, 1 + 9)
    assert answer[0] == link.ACK and link.parse(answer[1:]).data == b"\x00"
    ser.write(bytes([link.ACK]))
    assert bench.port.stats["duplicates"] == 1 and bench.port.stats["bad_crc"] == 1
    ser.close()


def test_the_meter_resends_an_answer_that_is_naked(optical):
    bench = optical(nak_first=False)
    ser = bench.raw()
    ser.write(link.build(svc.identify()))
    first = read_until(ser, 14)
    ser.write(bytes([link.NAK]))
    again = read_until(ser, 13)
    assert first[0] == link.ACK and first[1:] == again
    ser.write(bytes([link.ACK]))
    assert bench.port.stats["resent"] == 1
    ser.close()


def test_client_reads_through_naks_and_multi_packet_answers(optical):
    bench = optical()
    lk = OpticalLink(bench.pair.device)
    client = OpticalClient(lk, MK, packet_size=64, packets=2)  # 112 data bytes per answer
    client.start()
    assert client.identity == {"std": 0, "ver": 1, "rev": 0}
    assert lk.stats["naks_received"] == 1  # the switch-over NAK, then the retry went through
    assert client.read_raw(BT01) == bench.meter.read(BT01)
    bt28 = client.read_raw(BT28)  # 336 bytes: more than one answer holds, read in parts
    assert bt28 == bench.meter.read(BT28)
    assert client.read_raw(BT28, 100, 90) == bench.meter.read(BT28)[100:190]
    dec = client.read("ET11")
    assert dec.values()["nbr_devices"] == 5
    # A request longer than a packet: a procedure start written in several packets.
    before = bench.port.stats["requests"]
    image = bt07_image(procedure_id("EP16"), 3, (60).to_bytes(4, "little")).ljust(60, b"\0")
    assert client.call(svc.write(BT07, image), "write BT07").spec.name == "C1218OkResponse"
    assert bench.port.stats["requests"] == before + 1
    assert bench.meter.clock_offset == 60
    client.finish()
    assert not bench.server.active
    lk.close()


# --- the shared UART of Gen 2/3 meters ------------------------------------------------------


def test_shared_uart_mep_is_switched_out_during_an_optical_session(bench):
    mep = bench()
    probe = PtyPair()
    seen = []
    ended = threading.Event()  # the port hands the UART back just after its last answer

    def on_session(active: bool) -> None:
        seen.append(active)
        mep.port.switched_out = active
        if not active:
            ended.set()

    optical_port = OpticalPort(probe.master, OpticalServer(mep.meter), mirrors=[mep.pair.master],
                               on_session=on_session)
    thread = threading.Thread(target=optical_port.serve, daemon=True)
    thread.start()
    try:
        client = mep.client(MAK)
        client.link.timeout, client.link.retries = 0.3, 1
        assert client.read_raw("BT01") == mep.meter.read(BT01)
        lk = OpticalLink(probe.device)
        opt = OpticalClient(lk, RK)
        opt.start()
        assert mep.port.switched_out and seen == [True]
        ignored = mep.port.stats["ignored"]
        with pytest.raises((NoResponse, GaveUp)):
            client.read_raw("BT01")
        assert mep.port.stats["ignored"] > ignored
        opt.finish()
        ended.wait(10)
        assert seen == [True, False] and not mep.port.switched_out
        assert client.read_raw("BT01") == mep.meter.read(BT01)  # MEP answers again
        lk.close()
    finally:
        optical_port.stop()
        thread.join(2)
        probe.close()


def test_shared_uart_optical_answers_appear_on_the_mep_line():
    mep, probe = PtyPair(), PtyPair()
    meter = Meter(animate=False)
    port = SimPort(mep.master, MepServer(meter, [MAK]))
    optical_port = OpticalPort(probe.master, OpticalServer(meter), mirrors=[mep.master],
                               on_session=lambda active: setattr(port, "switched_out", active))
    threads = [threading.Thread(target=p.serve, daemon=True) for p in (port, optical_port)]
    for t in threads:
        t.start()
    try:
        lk = OpticalLink(probe.device)
        opt = OpticalClient(lk, None)
        opt.start()
        opt.finish()
        lk.close()
        heard = b""
        while select.select([mep.slave], [], [], 0.3)[0]:
            heard += os.read(mep.slave, 4096)
        packets = []
        i = 0
        while i < len(heard):
            size = link.packet_at(heard, i)
            if size:
                packets.append(link.parse(heard[i : i + size]).data)
            i += size or 1
        # identify, negotiate, logon, logoff, terminate: every answer, whole, CRC-valid
        assert packets == [svc.identify_response(), svc.negotiate_response(256, 4, 6),
                           b"\x00", b"\x00", b"\x00"]
        assert heard.startswith(bytes([link.NAK, link.ACK]))
    finally:
        port.stop()
        optical_port.stop()
        for t in threads:
            t.join(2)
        mep.close()
        probe.close()


# --- the command lines --------------------------------------------------------------------


def run_client(args, env=None, timeout=60):
    return subprocess.run(MEP_CLIENT + args, capture_output=True, text=True, timeout=timeout,
                          env=env)


def test_optical_client_command_line(optical):
    bench = optical()
    port = bench.pair.device
    ok = run_client(["optical", port, "--password", RK.decode(), "--json", "BT01", "ET03"])
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert '"table": "BT01"' in lines[0] and '"manufacturer": "EELC"' in lines[0]
    assert '"table": "ET03"' in lines[1]
    refused = run_client(["optical", port, "--password", RK.decode(), "ET51"])
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "mep-client optical: read ET51: the meter answered isc (Insufficient Security "
        "Clearance); check the password and the key's rights"]
    wrong = run_client(["optical", port, "--password", "nope", "BT01"])
    assert wrong.returncode == 1 and "security: the meter answered err" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    env = dict(os.environ, MEP_OPTICAL_PASSWORD=MK.decode())
    by_env = run_client(["optical", port, "ET51"], env=env)
    assert by_env.returncode == 0, by_env.stderr
    assert not bench.server.active  # every run ended its session
    missing = run_client(["optical", "/nonexistent/probe", "BT01"])
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.count("\n") == 1 and "cannot open /nonexistent/probe" in missing.stderr


def test_optical_client_gives_up_in_one_line_when_nobody_answers():
    pair = PtyPair()  # nobody serves it
    try:
        res = run_client(["optical", pair.device, "BT01"], timeout=120)
    finally:
        pair.close()
    assert res.returncode == 1 and res.stderr.count("\n") == 1
    assert "identify: no ACK after 4 tries" in res.stderr


def test_sim_optical_options_are_checked(capsys):
    for args, text in ((["--optical", "--shared-uart"], "--optical serves"),
                       (["--optical", "--hw-lock", "BT15:q"], "the operations are r, w or rw"),
                       (["--optical", "--mk", "x" * 21], "at most 20 bytes"),
                       (["--optical", "--rk", "hex:zz"], "not hex"),
                       (["--optical-pty", "/tmp/x"], "goes with --shared-uart")):
        assert sim_cli.main(args + ["-a", "duration:0"]) == 2
        err = capsys.readouterr().err
        assert text in err and err.count("\n") == 1, err


def test_sim_passwords_from_options_environment_and_defaults(monkeypatch):
    monkeypatch.setenv("MEP_OPTICAL_PK", "hex:50 4b")
    monkeypatch.delenv("MEP_OPTICAL_RK", raising=False)
    args = sim_cli.build_parser().parse_args(["--optical", "--mk", "secret", "--rk", ""])
    pw = sim_cli.passwords_from(args)
    assert (pw.mk, pw.pk, pw.rk) == (b"secret", b"PK", None)
    assert pw.match(b"PK".ljust(20, b"\0")) == "PK" and pw.match(b" " * 20) is None
    assert sim_cli.passwords_from(sim_cli.build_parser().parse_args([])).rk == RK


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=8), st.sampled_from([None, MK, PK, RK]))
def test_any_messages_get_an_answer_never_an_exception(messages, key):
    server = session(key)
    for msg in messages:
        answer = server.handle(msg)
        assert answer and answer[0] in codes.RESPONSES


def test_link_survives_line_noise_and_damaged_packets(optical):
    """Garbage, cut and damaged packets, stray ACKs: none is served, then a session works."""
    import random

    rnd = random.Random(15)
    bench = optical(nak_first=False)
    ser = bench.raw()
    noise = bytearray()
    for _ in range(40):
        raw = bytearray(rnd.choice([link.build(svc.read(BT01)), link.build(svc.identify()),
                                    rnd.randbytes(9)]))
        for _ in range(rnd.randint(1, 3)):
            raw[rnd.randrange(len(raw))] ^= rnd.randrange(1, 256)
        noise += raw[: rnd.randint(1, len(raw))] + rnd.choice([b"", b"\x06", b"\x15"])
    assert not any(link.packet_at(noise, i) for i in range(len(noise)))  # nothing servable
    ser.write(bytes(noise))
    deadline = time.monotonic() + 30
    while (bench.port.stats["skipped"] + bench.port.stats["bad_crc"] == 0 or bench.port.buf) \
            and time.monotonic() < deadline:
        time.sleep(0.05)  # until the simulator has read it all and dropped what it held
    assert ser.read(4096).replace(bytes([link.NAK]), b"") == b""  # NAKs only, no answer
    ser.close()
    assert bench.port.stats["requests"] == 0 and not bench.server.active
    lk = OpticalLink(bench.pair.device)
    client = OpticalClient(lk, MK)
    client.start()
    assert client.read_raw(BT01) == bench.meter.read(BT01)
    client.finish()
    lk.close()
    assert bench.thread.is_alive()


def test_shared_uart_command_line(tmp_path):
    """mep-sim --shared-uart: two ports; MEP goes quiet while the probe holds the UART."""
    proc = subprocess.Popen([sys.executable, "-m", "mepshark.sim.cli", "--shared-uart",
                             "--default-keys", "--static", "-q"], stdout=subprocess.PIPE,
                            text=True)
    try:
        mep_port, probe_port = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        keys = tmp_path / "keys"
        keys.write_text("MAK=" + "01" * 16 + "\n")
        read = MEP_CLIENT + ["--port", mep_port, "--key-file", str(keys), "--json", "read",
                             "BT01"]
        assert subprocess.run(read, capture_output=True, timeout=60).returncode == 0
        lk = OpticalLink(probe_port)
        opt = OpticalClient(lk, RK)
        opt.start()
        quiet = subprocess.run(read, capture_output=True, text=True, timeout=60)
        assert quiet.returncode == 1 and "no response from the meter" in quiet.stderr
        assert opt.read_raw(BT01)[:4] == b"EELC"
        opt.finish()
        lk.close()
        again = subprocess.run(read, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0 and '"manufacturer": "EELC"' in again.stdout
    finally:
        proc.terminate()
        proc.wait(10)


def test_optical_client_ctrl_c_is_one_line():
    pair = PtyPair()  # nobody answers: the client is waiting for an ACK
    try:
        proc = subprocess.Popen(MEP_CLIENT + ["optical", pair.device, "BT01"],
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not select.select([pair.master], [], [], 0.1)[0]:
            pass  # until the identify packet is on the line
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=30)[1]
    finally:
        pair.close()
    assert proc.returncode == 130 and err == "mep-client: interrupted\n"


def test_client_drops_an_answer_sent_again_after_its_ack_was_lost():
    """A scripted meter on the pty's other end repeats an answer as if the ACK never came."""
    pair = PtyPair()
    lk = OpticalLink(pair.device)
    results = []
    worker = threading.Thread(target=lambda: results.extend(
        [lk.request(svc.identify(), "identify"), lk.request(svc.logon(1, "x"), "logon")]))
    worker.start()

    def read_packet() -> bytes:
        got = b""
        while not link.packet_at(got):
            assert select.select([pair.master], [], [], 10)[0]
            got += os.read(pair.master, 1)
        return got

    try:
        assert link.parse(read_packet()).data == svc.identify()
        first = link.build(svc.identify_response())
        os.write(pair.master, bytes([link.ACK]) + first)
        assert read_until_fd(pair.master, 1) == bytes([link.ACK])
        os.write(pair.master, first)  # "the ACK was lost": the same packet again
        logon = read_packet()  # the client sends its next request, then finds the repeat
        assert read_until_fd(pair.master, 1) == bytes([link.ACK])  # ACKed again, not taken
        second = link.build(b"\x00", control=link.CTRL_TOGGLE)
        os.write(pair.master, bytes([link.ACK]) + second)
        assert read_until_fd(pair.master, 1) == bytes([link.ACK])
        worker.join(10)
    finally:
        lk.close()
        pair.close()
    assert link.parse(logon).data == svc.logon(1, "x")
    assert results == [svc.identify_response(), b"\x00"]
    assert lk.stats["duplicates"] == 1


def read_until_fd(fd: int, n: int) -> bytes:
    got = b""
    while len(got) < n and select.select([fd], [], [], 10)[0]:
        got += os.read(fd, n - len(got))
    return got
