"""mep-capture --relay end to end: a client program on the relay's pty, the simulator behind a
lumpy adapter, every byte both ways in the capture (optical C12.18 and MEP)."""

from __future__ import annotations

import os
import select
import threading
from pathlib import Path

import pytest
from simbench import MAK
from test_capture_support import MEP_CAPTURE, Capture, read_scapy

from mepshark.capture.ptyline import BurstRelay, PtyLine, PtyPair
from mepshark.client import cli as client_cli
from mepshark.dissector import c1218builders as svc
from mepshark.dissector import c1218link as link
from mepshark.dissector.c1218codes import service_name
from mepshark.dissector.link import read_capture
from mepshark.sim.meter import Meter
from mepshark.sim.optical import DEFAULT_PASSWORDS, OpticalServer
from mepshark.sim.opticalport import OpticalPort
from mepshark.sim.port import SimPort
from mepshark.sim.server import MepServer

INBOUND, OUTBOUND = 1, 2


class LumpyLine:
    """The simulator's pty seen through an adapter that hands bytes over in lumps, late.

    Meter to relay: :class:`BurstRelay` (16 ms bursts).  Relay to meter: a thread
    passing bytes straight on.  ``to_meter`` and ``from_meter`` keep what crossed.
    """

    def __init__(self, tmp: Path, pair: PtyPair, hold: float = 0.016):
        self.pair = pair
        self.line = PtyLine(tmp / "adapter")
        self.burst = BurstRelay(pair.device, self.line, hold=hold).__enter__()
        self.to_meter = bytearray()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._back, daemon=True)
        self.thread.start()

    @property
    def from_meter(self) -> bytes:
        return b"".join(self.burst.bursts)

    def _back(self) -> None:
        while not self.stop.is_set():
            if select.select([self.line.master], [], [], 0.05)[0]:
                data = os.read(self.line.master, 4096)
                self.to_meter += data
                os.write(self.pair.slave, data)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.burst.__exit__(None, None, None)
        self.line.close()


def relay(tmp: Path, port: str, out: Path) -> tuple[Capture, str]:
    link_path = tmp / "relay"
    cap = Capture(["--relay", port, "--relay-link", str(link_path), "-w", str(out)],
                  prog=MEP_CAPTURE)
    cap.wait_for("relay: a client program opens")
    return cap, str(link_path)


def split_c1218(stream: bytes) -> tuple[list[bytes], bytes, bytes]:
    """Whole CRC-valid packets, the ACK/NAK bytes, and anything else, in stream order."""
    packets, acks, other = [], bytearray(), bytearray()
    i = 0
    while i < len(stream):
        size = link.packet_at(stream, i)
        if size:
            packets.append(stream[i : i + size])
            i += size
            continue
        (acks if stream[i] in (link.ACK, link.NAK) else other).append(stream[i])
        i += 1
    return packets, bytes(acks), bytes(other)


def messages(packets: list[bytes]) -> list[bytes]:
    out, joiner = [], link.Reassembler()
    for raw in packets:
        msg = joiner.add(link.parse(raw))
        if msg is not None:
            out.append(msg)
    return out


@pytest.fixture
def pairs():
    made: list = []
    yield made
    for thing in reversed(made):
        thing.close()


def test_optical_session_through_the_relay_behind_a_lumpy_adapter(tmp_path, pairs, capsys):
    pair = PtyPair()
    pairs.append(pair)
    server = OpticalServer(Meter(animate=False))
    mirror_r, mirror_w = os.pipe()
    port = OpticalPort(pair.master, server, mirrors=[mirror_w])
    thread = threading.Thread(target=port.serve, daemon=True)
    thread.start()
    adapter = LumpyLine(tmp_path, pair)
    out = tmp_path / "optical.pcapng"
    cap, relay_pty = relay(tmp_path, str(adapter.line.path), out)
    try:
        rc = client_cli.main(["optical", relay_pty, "--password", DEFAULT_PASSWORDS["RK"].decode(),
                              "--packet-size", "128", "--packets", "2", "--json", "BT28", "ET11"])
        assert rc == 0, capsys.readouterr().err
        assert '"table": "BT28"' in capsys.readouterr().out
    finally:
        assert cap.stop() == 0
        port.stop()
        thread.join(2)
        adapter.close()
        os.close(mirror_w)
    sent_by_meter = b""
    while chunk := os.read(mirror_r, 65536):
        sent_by_meter += chunk
    os.close(mirror_r)

    pkts = read_scapy(out)
    meter_side = b"".join(p.data for p in pkts if p.ifname == str(adapter.line.path))
    client_side = b"".join(p.data for p in pkts if p.ifname == relay_pty)
    # Nothing lost, nothing added, in order, each direction on its own interface.
    assert meter_side == sent_by_meter == adapter.from_meter
    assert client_side == bytes(adapter.to_meter)
    assert {p.direction for p in pkts if p.ifname == relay_pty} == {OUTBOUND}
    assert {p.direction for p in pkts if p.ifname == str(adapter.line.path)} == {INBOUND}
    assert "could not be passed on" not in cap.stderr
    # The meter's first byte (its NAK) answers the client's first packet: it comes later.
    first_meter = min(p.time for p in pkts if p.ifname == str(adapter.line.path))
    first_client = min(p.time for p in pkts if p.ifname == relay_pty)
    assert first_client < first_meter

    to_meter, acks_from_client, junk1 = split_c1218(client_side)
    from_meter, acks_from_meter, junk2 = split_c1218(meter_side)
    assert junk1 == junk2 == b""  # every byte is a CRC-valid packet, an ACK or a NAK
    # Each packet is answered by one byte: the meter's first is the switch-over NAK.
    assert len(acks_from_meter) == len(to_meter)
    assert acks_from_meter[0] == link.NAK and set(acks_from_meter[1:]) == {link.ACK}
    assert len(acks_from_client) == len(from_meter) and set(acks_from_client) == {link.ACK}
    assert any(link.parse(p).multi for p in from_meter)  # answers over 120 bytes
    assert to_meter[0] == to_meter[1]  # the NAKed identify sent again (a repeat, joined once)
    services = [service_name(m[0]) for m in messages(to_meter)]
    assert services[:4] == ["Identify", "Negotiate (0 baud rates)", "Logon", "Security"]
    assert services[-2:] == ["Logoff", "Terminate"]
    reads = [svc.request(m).table_id for m in messages(to_meter) if m[0] in (0x30, 0x3F)]
    assert 28 in reads and 2048 + 11 in reads


def test_mep_session_through_the_relay_decodes_as_mep(tmp_path, pairs, capsys):
    pair = PtyPair()
    pairs.append(pair)
    meter = Meter(animate=False)
    port = SimPort(pair.master, MepServer(meter, [MAK], last_sequence=0x2000))
    thread = threading.Thread(target=port.serve, daemon=True)
    thread.start()
    adapter = LumpyLine(tmp_path, pair)
    out = tmp_path / "mep.pcapng"
    keys = tmp_path / "keys"
    keys.write_text("MAK=" + "01" * 16 + "\n")
    cap, relay_pty = relay(tmp_path, str(adapter.line.path), out)
    try:
        rc = client_cli.main(["--port", relay_pty, "--key-file", str(keys), "--sequence",
                              "0x2001", "read", "BT01", "ET03"])
        assert rc == 0, capsys.readouterr().err
    finally:
        assert cap.stop() == 0
        port.stop()
        thread.join(2)
        adapter.close()
    frames = read_capture(out, [MAK])
    assert frames and all(f.digest_status == 1 for f in frames)
    requests = [f for f in frames if f.direction == 0]
    responses = [f for f in frames if f.direction == 1]
    assert len(requests) == len(responses) == 2
    assert [f.table_id for f in requests] == [1, 2048 + 3]
    assert all(f.response_in is not None and not f.no_response for f in requests)
    assert bytes(responses[0].packet.data) == meter.read(1)
    pkts = read_scapy(out)
    assert not any(c for p in pkts for c in p.comments)  # no unframed bytes
    assert b"".join(p.data for p in pkts if p.direction == INBOUND) == adapter.from_meter
    assert b"".join(p.data for p in pkts if p.direction == OUTBOUND) == bytes(adapter.to_meter)


def test_relay_usage_errors(tmp_path, capsys):
    from mepshark.capture import cli as capture_cli

    assert capture_cli.main(["--relay", "/dev/null", "--meter", "/dev/ttyS0", "-w",
                             str(tmp_path / "x")]) == 2
    assert "leave out --meter" in capsys.readouterr().err
    assert capture_cli.main(["--relay-link", str(tmp_path / "r"), "-i", "/dev/null"]) == 2
    assert "goes with --relay" in capsys.readouterr().err
    assert capture_cli.main(["--relay", "/nonexistent/port", "--relay-link",
                             str(tmp_path / "r"), "-w", str(tmp_path / "x.pcapng")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot open /nonexistent/port" in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "x.pcapng").exists()


def test_relay_loses_no_byte_under_bursts_both_ways(tmp_path, pairs):
    """64 KiB each way in lumps of random size, both directions at once: all passed on, all
    recorded, in order, timestamps in order on each interface."""
    import random

    port = PtyLine(tmp_path / "port")
    pairs.append(port)
    out = tmp_path / "bulk.pcapng"
    cap, relay_pty = relay(tmp_path, str(port.path), out)
    rnd = random.Random(7)
    to_port = rnd.randbytes(65536)
    to_client = rnd.randbytes(65536)
    fd = os.open(relay_pty, os.O_RDWR | os.O_NOCTTY)
    got = {"port": bytearray(), "client": bytearray()}

    def drain(src: int, into: bytearray, want: int) -> None:
        while len(into) < want and select.select([src], [], [], 10)[0]:
            into += os.read(src, 65536)

    readers = [threading.Thread(target=drain, args=(port.master, got["port"], len(to_port))),
               threading.Thread(target=drain, args=(fd, got["client"], len(to_client)))]
    for t in readers:
        t.start()
    try:
        i = j = 0
        while i < len(to_port) or j < len(to_client):
            n = rnd.choice([1, 7, 300, 4000])
            if i < len(to_port):
                os.write(fd, to_port[i : i + n])
                i += n
            if j < len(to_client):
                port.write(to_client[j : j + n])
                j += n
        for t in readers:
            t.join(30)
    finally:
        os.close(fd)
        assert cap.stop() == 0
    assert bytes(got["port"]) == to_port and bytes(got["client"]) == to_client
    pkts = read_scapy(out)
    for name, sent in ((relay_pty, to_port), (str(port.path), to_client)):
        mine = [p for p in pkts if p.ifname == name]
        assert b"".join(p.data for p in mine) == sent
        assert all(a.time <= b.time for a, b in zip(mine, mine[1:], strict=False))


def test_relay_to_a_pyserial_url(tmp_path):
    """PORT as a URL: loop:// sends back what it is given, so the client hears its own bytes,
    and the capture holds them once per direction."""
    out = tmp_path / "loop.pcapng"
    cap, relay_pty = relay(tmp_path, "loop://", out)
    fd = os.open(relay_pty, os.O_RDWR | os.O_NOCTTY)
    try:
        message = link.build(svc.identify()) + bytes([link.ACK])
        os.write(fd, message)
        heard = b""
        while len(heard) < len(message) and select.select([fd], [], [], 10)[0]:
            heard += os.read(fd, 100)
    finally:
        os.close(fd)
        assert cap.stop() == 0
    assert heard == message
    pkts = read_scapy(out)
    assert b"".join(p.data for p in pkts if p.direction == OUTBOUND) == message
    assert b"".join(p.data for p in pkts if p.direction == INBOUND) == message
    assert {p.ifname for p in pkts} == {"loop://", relay_pty}


def test_shared_uart_tapped_capture_holds_the_optical_answers(tmp_path):
    """mep-sim --shared-uart --tap, recorded by mep-capture: the meter's wire carries the MEP
    answers and, during the optical session, the optical ones; the client's wire only MEP."""
    import subprocess
    import sys

    from mepshark.client.link import Link
    from mepshark.client.optical import OpticalClient, OpticalLink
    from mepshark.client.session import MepClient

    tm, tc = tmp_path / "tap-meter", tmp_path / "tap-client"
    sim = subprocess.Popen([sys.executable, "-m", "mepshark.sim.cli", "--shared-uart",
                            "--default-keys", "--static", "-q", "--sequence", "0xFF", "--tap",
                            str(tm), str(tc)],
                           stdout=subprocess.PIPE, text=True)
    out = tmp_path / "shared.pcapng"
    try:
        mep_port, probe_port = sim.stdout.readline().strip(), sim.stdout.readline().strip()
        cap = Capture(["--meter", str(tm), "--client", str(tc), "-w", str(out)])
        mep = MepClient(Link(mep_port), MAK, sequence=0x100)
        assert mep.read_raw("BT01")[:4] == b"EELC"
        lk = OpticalLink(probe_port)
        opt = OpticalClient(lk, DEFAULT_PASSWORDS["RK"])
        opt.start()
        bt28 = opt.read_raw(28)
        opt.finish()
        lk.close()
        mep.link.close()
        # MEP answers again after the optical session.  (A fresh link: the optical answers
        # mirrored onto the MEP line would reach the old one's MEP deframer as false frames.)
        mep = MepClient(Link(mep_port), MAK, sequence=0x101)
        assert mep.read_raw("ET03")
        mep.link.close()
        assert cap.stop() == 0
    finally:
        sim.terminate()
        sim.wait(10)
    pkts = read_scapy(out)
    meter_wire = b"".join(p.data for p in pkts if p.direction == INBOUND)
    client_wire = b"".join(p.data for p in pkts if p.direction == OUTBOUND)
    answers = messages(split_c1218(meter_wire)[0])
    assert answers == [svc.identify_response(), svc.negotiate_response(256, 4, 6), b"\x00",
                       b"\x00", svc.read_response(bt28), b"\x00", b"\x00"]
    # The switch-over NAK, the ACK of the identify sent again, its answer: all on the wire.
    assert bytes([link.NAK, link.ACK]) + link.build(svc.identify_response()) in meter_wire
    assert split_c1218(client_wire)[0] == []  # the probe's requests never cross the MEP wire
    assert mep_responses_in(meter_wire) == 2  # BT01 and ET03, and nothing else


def mep_responses_in(stream: bytes) -> int:
    """MEP frames in ``stream`` once the C12.18 packets and their ACK/NAK bytes are taken out."""
    from mepshark.dissector.deframer import FRAME, Deframer

    rest, i = bytearray(), 0
    while i < len(stream):
        size = link.packet_at(stream, i)
        if size:
            i += size
            if rest and rest[-1] in (link.ACK, link.NAK):
                rest.pop()  # the ACK/NAK right before a packet answers the probe's packet
            continue
        rest.append(stream[i])
        i += 1
    chunks = Deframer().feed(bytes(rest), 0.0) + Deframer().close()
    return sum(c.kind == FRAME for c in chunks)
