"""Make the C12.18 sample captures: an optical probe session, and MEP sharing the UART with one.

    .venv/bin/python pcaps/make_optical.py            # both
    .venv/bin/python pcaps/make_optical.py optical    # one

Built, not recorded: every packet comes from the C12.18 declarations
(``dissector/c1218spec.py`` through the scapy classes), the table contents
from the default simulated meter (``sim/meter.py``) at a fixed date, and the
MEP frames from ``dissector/builders.py`` sealed with the guide's default MAK.
Times follow a 9600 baud line (10 bits a byte) with a few milliseconds of
turnaround, starting at 2024-05-02 10:00:00 UTC; the files are the same on
every run.  See pcaps/README.md for what each file shows.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from mepshark.capture.pcapng import PcapngWriter
from mepshark.dissector import builders as b
from mepshark.dissector import c1218codes as codes
from mepshark.dissector import c1218link as link
from mepshark.dissector.c1218builders import build as svc
from mepshark.dissector.c1218frames import build_packet
from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND
from mepshark.dissector.tables import table_id
from mepshark.sim.meter import Meter, build_default
from mepshark.sim.tapped import demo_keys

HERE = Path(__file__).resolve().parent
START = dt.datetime(2024, 5, 2, 10, 0, tzinfo=dt.timezone.utc).timestamp()
BYTE = 10 / 9600
"""Seconds a byte takes on a 9600 baud 8N1 line."""
TURN = 0.004
"""A side's turnaround: from the end of what it heard to its first byte."""
PACKET_SIZE = 64
"""The packet size the probe negotiates: BT28's answer takes several packets."""
_METER = Meter(build_default(dt.datetime(2024, 5, 2, 10, 0)), clock=lambda: 0.0)
_METER.start = dt.datetime(2024, 5, 2, 10, 0)  # its clock (BT52), not today's
IMAGES = {tid: _METER.read(tid) for tid in _METER.images}
"""The tables, dynamic ones (BT23, BT28) brought up to date once, on a stopped clock."""
PASSWORD = b"optical-demo".ljust(codes.PASSWORD_LEN, b" ")
"""A made-up password: the dissectors show its length only."""


class Line:
    """A capture under construction: (time, side, bytes) records at the line's pace."""

    def __init__(self) -> None:
        self.t = START
        self.records: list[tuple[float, int, bytes]] = []
        self.toggle = {EPB_OUTBOUND: 0, EPB_INBOUND: 0}

    def send(self, side: int, raw: bytes, after: float = TURN) -> None:
        self.t += after
        self.records.append((self.t, side, raw))
        self.t += len(raw) * BYTE

    def packets(self, side: int, message: bytes, size: int = PACKET_SIZE) -> list[bytes]:
        """The packets of a message, toggle bit alternating per side."""
        room = size - link.HEADER_LEN - link.CRC_LEN  # the packet size counts the whole packet
        chunks = [message[i:i + room] for i in range(0, len(message), room)] or [b""]
        out = []
        for k, chunk in enumerate(chunks):
            t = self.toggle[side]
            self.toggle[side] ^= 1
            if len(chunks) == 1:
                out.append(build_packet(chunk, t))
            else:
                out.append(build_packet(chunk, t, multi=True, first=k == 0,
                                        sequence=len(chunks) - 1 - k))
        return out

    def exchange(self, request: bytes, response: bytes, nak_first: bool = False,
                 probe: bool = True) -> None:
        """Probe sends a request (acknowledged), the meter answers (each packet ACKed).

        ``probe=False``: the probe's side is not on this line (the shared UART
        carries only the meter's answers)."""
        (req,) = self.packets(EPB_OUTBOUND, request)
        if probe:
            self.send(EPB_OUTBOUND, req)
        else:
            self.t += TURN + len(req) * BYTE
        if nak_first:
            self.send(EPB_INBOUND, bytes([link.NAK]))
            if probe:
                self.send(EPB_OUTBOUND, req)
            else:
                self.t += TURN + len(req) * BYTE
        self.send(EPB_INBOUND, bytes([link.ACK]))
        for pkt in self.packets(EPB_INBOUND, response):
            self.send(EPB_INBOUND, pkt, after=0.02)
            if probe:
                self.send(EPB_OUTBOUND, bytes([link.ACK]))
            else:
                self.t += TURN + BYTE

    def write(self, path: Path, names: tuple[str, str]) -> Path:
        with open(path, "wb") as f, PcapngWriter(f) as w:
            ifs = {EPB_OUTBOUND: w.add_interface(names[0], "probe/client TXD"),
                   EPB_INBOUND: w.add_interface(names[1], "meter TXD")}
            for t, side, raw in self.records:
                w.write(ifs[side], t, raw, side)
        return path


def read_answer(tag: str) -> bytes:
    data = IMAGES[table_id(tag)]
    return svc("C1218ReadResponse", data=data)


def optical_session(line: Line, probe: bool = True, during=None) -> None:
    """Identify (NAKed once), negotiate, logon, security, reads, an isc, logoff, terminate."""
    ident = svc("C1218IdentifyResponse", std=0, ver=2, rev=0, features=b"\x00")
    line.exchange(svc("C1218Identify"), ident, nak_first=True, probe=probe)
    line.exchange(svc("C1218Negotiate", service=codes.NEGOTIATE_FIRST + 1,
                      packet_size=PACKET_SIZE, nbr_packets=8, baud_rates=b"\x06"),
                  svc("C1218NegotiateResponse", packet_size=PACKET_SIZE, nbr_packets=8,
                      baud_rate=6), probe=probe)
    line.exchange(svc("C1218Logon", user_id=2, user=b"MEPSHARK  "), svc("C1218OkResponse"),
                  probe=probe)
    line.exchange(svc("C1218Security", password=PASSWORD), svc("C1218OkResponse"), probe=probe)
    if during is not None:
        during()
    for tag in ("BT00", "BT01", "BT21", "BT28"):
        line.exchange(svc("C1218FullRead", table_id=table_id(tag)), read_answer(tag),
                      probe=probe)
    bt01 = IMAGES[table_id("BT01")]
    line.exchange(svc("C1218PartialReadOffset", table_id=table_id("BT01"), offset=4, count=8),
                  svc("C1218ReadResponse", data=bt01[4:12]), probe=probe)
    # a write the logged-on user may not make: isc
    line.exchange(svc("C1218PartialWriteOffset", table_id=table_id("BT52"), offset=0,
                      data=IMAGES[table_id("BT52")][:6]),
                  svc("C1218ErrorResponse", response_code=codes.ISC), probe=probe)
    line.exchange(svc("C1218Logoff"), svc("C1218OkResponse"), probe=probe)
    line.exchange(svc("C1218Terminate"), svc("C1218OkResponse"), probe=probe)


def optical() -> Path:
    line = Line()
    optical_session(line)
    return line.write(HERE / "optical.pcapng", ("probe", "meter"))


def mep_read(line: Line, req: b.Requester, tag: str, answered: bool = True) -> None:
    tid = table_id(tag)
    frame, seal = req.seal(b.full_read(tid, len(IMAGES[tid])))
    line.send(EPB_OUTBOUND, frame, after=0.1)
    if answered:
        line.send(EPB_INBOUND, b.respond(b.read_ok(IMAGES[table_id(tag)]), seal), after=0.03)
    else:
        line.t += 0.5  # the client's response timeout


def shared() -> Path:
    """MEP reads; an optical session takes the UART (first packet NAKed, only the
    meter's side on this line); MEP requests meanwhile unanswered; MEP again."""
    mak = demo_keys()[0]
    req = b.Requester(mak, sequence=0x100)
    line = Line()
    for tag in ("BT01", "ET03"):
        mep_read(line, req, tag)
    line.t += 0.2
    mep_read(line, req, "BT21", answered=False)  # sent as the probe starts: no answer
    optical_session(line, probe=False, during=lambda: mep_read(line, req, "BT21", False))
    line.t += 1.0
    for tag in ("BT21", "BT28"):
        mep_read(line, req, tag)
    return line.write(HERE / "mep-optical-shared.pcapng", ("client", "meter"))


MAKERS = {"optical": optical, "mep-optical-shared": shared}


def main(argv: list[str]) -> int:
    for name in argv or list(MAKERS):
        if name not in MAKERS:
            print(f"make_optical: no capture named {name!r}; choose from {', '.join(MAKERS)}",
                  file=sys.stderr)
            return 2
        print(f"wrote {MAKERS[name]()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
