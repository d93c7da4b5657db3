"""Make the capture corpus in pcaps/ with mep-sim, mep-client and mep-capture.

Every file is recorded the way a user would record a real meter: a passive
tap (mep-sim mirrors each direction onto a pty pair) read by the real
``mep-capture --meter … --client …``.  See pcaps/README.md for what each
file shows and which key decodes it.

    .venv/bin/python pcaps/make_corpus.py            # all of them
    .venv/bin/python pcaps/make_corpus.py noisy      # one
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mepshark.client.link import Link
from mepshark.client.session import AuthError, MepClient, MepError
from mepshark.client.tlschannel import TLSRefused
from mepshark.dissector.security import Key
from mepshark.sim.faults import Faults
from mepshark.sim.port import SimPort
from mepshark.sim.tapped import BAUD, demo_keys, record

HERE = Path(__file__).resolve().parent
MAK, MBK = demo_keys()


def _client(port: str, key: Key, **kw) -> MepClient:
    return MepClient(Link(port, BAUD, pace=True), key, **kw)


def _refused(client: MepClient, call, *errors: type[Exception]) -> None:
    """``call(client)``, which the meter refuses with one of ``errors``; then close."""
    try:
        call(client)
    except errors:
        pass
    finally:
        client.link.close()


def plain(port: str, sim: SimPort) -> None:
    """MAK, authenticated only: resync, then the tables a client reads first."""
    c = _client(port, MAK, sequence=0x01020304)
    try:
        for tag in ("BT00", "BT01", "ET03", "BT21", "BT23", "BT28", "BT52", "ET11", "ET14"):
            c.read(tag)
        c.read("ET13", 264, 9)  # the MEP client's ET13 entry, partial
    finally:
        c.link.close()


def encrypted(port: str, sim: SimPort) -> None:
    """MBK with RC4 encryption: reads, and the ET50 registration write the guide shows."""
    c = _client(port, MBK, encrypt=True, sequence=0)
    try:
        for tag in ("BT00", "BT21", "BT28", "BT23", "BT52"):
            c.read(tag)
        c.write("ET50", b"\x03", offset=30)
        c.read("ET50", 30, 1)
    finally:
        c.link.close()


def alerts(port: str, sim: SimPort) -> None:
    """Alerts while ET13 flags are set, EP39 posted, ET59 read; the alerts stop."""
    c = _client(port, MBK, sequence=0)
    try:
        c.read("BT00")
        meter = sim.server.meter
        meter.set_alert("scheduled_read_request_alert")
        c.link.idle(2.3)  # two alerts go unanswered, one second apart
        c.service_alerts(posted=b"scheduled read: 1234.5 m3")
        meter.set_alert("mbus_change")
        meter.set_alert("delta_data_alert")
        end = time.monotonic() + 2.5
        while not c.link.alerts and time.monotonic() < end:
            c.link.idle(0.05)
        c.service_alerts()
        c.link.idle(1.5)  # and now the line stays quiet
    finally:
        c.link.close()


def errors(port: str, sim: SimPort) -> None:
    """0x0B (wrong key), 0x03 (MBK writes BT23), 0x05 (no such table), a dropped
    response retried after 500 ms (0x0C then, the meter had used the number), a
    damaged response (bad digest: asked again), a sequence number too far ahead (0x0C)."""
    _refused(_client(port, Key("MAK", bytes([0x42]) * 16), sequence=0),
             lambda c: c.read("BT00"), AuthError)
    c = _client(port, MBK, sequence=0x10)
    try:
        c.read("BT00")
        for call in (lambda: c.write("BT23", b"\0\0\0\0", offset=0),
                     lambda: c.read_raw("ET98")):
            try:
                call()
            except MepError:
                pass
        sim.faults.drop = 1
        c.read("BT01")
        sim.faults.corrupt = 1
        c.read("ET03")
        c.requester.sequence += 20
        c.read("BT52")
    finally:
        c.link.close()


def noisy(port: str, sim: SimPort) -> None:
    """A bad line: responses dropped, damaged or preceded by noise at random."""
    sim.faults.rate = 0.35
    c = _client(port, MAK, sequence=0)
    try:
        for tag in ("BT00", "BT01", "ET03", "BT21", "BT28", "BT23", "BT52", "BT28", "BT23"):
            c.read(tag)
    finally:
        c.link.close()


def tls(port: str, sim: SimPort) -> None:
    """TLS-PSK: a request before any session (0x0A), a session under the MAK, one
    under the MBK after a terminate (a write it may not do: 0x03 inside), an RC4
    request refused while that session holds the port (0x0A), a wrong key (0x03)."""
    link = Link(port, BAUD, pace=True)
    try:
        link.transact(bytes.fromhex("0003800000"))  # 0x80 before any handshake: 0x0A
    finally:
        link.close()
    mak = _client(port, MAK, tls=True, client_id=0x0164)
    try:
        for tag in ("BT01", "BT21", "BT28"):
            mak.read(tag)
        mak.read("ET13", 264, 9)
        mak.channel.close()  # 0x57
    finally:
        mak.link.close()
    mbk = _client(port, MBK, tls=True, client_id=7)
    try:
        mbk.read("BT52")
        try:
            mbk.write("ET03", b"\0", offset=0)  # MAK only: 0x03 inside the session
        except MepError:
            pass
    finally:
        mbk.link.close()
    _refused(_client(port, MAK, sequence=0), lambda c: c.read("BT01"), MepError)
    _refused(_client(port, Key("MAK", bytes([0x42]) * 16), tls=True, client_id=9),
             lambda c: c.read("BT01"), TLSRefused)


CORPUS = {"plain": plain, "encrypted": encrypted, "alerts": alerts, "errors": errors,
          "noisy": noisy, "tls": tls}


def main(names: list[str]) -> int:
    for name in names or list(CORPUS):
        out = HERE / f"{name}.pcapng"
        faults = Faults(seed=7)
        record(out, CORPUS[name], faults=faults)
        print(f"wrote {out.relative_to(HERE.parent)} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
