"""Shared helpers of the capture tests: run mep-capture, read its output back.

(A module of helpers, named so that it sits with the capture tests; the one
test here checks the helpers' own fake line.)
"""

from __future__ import annotations

import os
import queue
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from scapy.utils import PcapNgReader

from mepshark.capture.ptyline import BurstRelay, PtyLine, UartFeeder
from mepshark.dissector import builders as b
from mepshark.dissector.link import register_dlt

register_dlt(147)
MEP_CAPTURE = [sys.executable, "-m", "mepshark.capture"]
BT_9600 = 10 / 9600
TOLERANCE = 0.010
"""Timestamp tolerance on ptys: documented model error plus a loaded CI machine's jitter."""


class Capture:
    """A running mep-capture whose stderr is collected line by line."""

    def __init__(self, args: list[str], stdout=subprocess.DEVNULL, env=None, wait_ready=True,
                 prog: list[str] | None = None, cwd=None):
        self.proc = subprocess.Popen(
            (prog or MEP_CAPTURE) + args, stdout=stdout, stderr=subprocess.PIPE, text=False,
            env=env, cwd=cwd,
        )
        self.lines: list[str] = []
        self._q: queue.Queue = queue.Queue()
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()
        if wait_ready:
            self.wait_for("Capturing on")
            time.sleep(0.15)  # the readers start right after that line

    def _pump(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\r\n")
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        for line in list(self.lines):
            if text in line:
                return line
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            if text in line:
                return line
        raise AssertionError(f"{text!r} not seen on stderr; got: {self.lines}")

    def stop(self, sig: int = 2, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self._t.join(timeout)
        return rc

    def wait(self, timeout: float = 15.0) -> int:
        rc = self.proc.wait(timeout)
        self._t.join(timeout)
        return rc

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Pkt:
    ifname: str
    desc: str
    time: float
    direction: int | None
    data: bytes
    comments: list[str]


def read_scapy(path: str | os.PathLike) -> list[Pkt]:
    """Packets through scapy, with interface names and descriptions from the IDBs."""
    out = []
    with PcapNgReader(os.fspath(path)) as r:
        for pkt in r:
            raw = pkt.original if getattr(pkt, "original", None) is not None else bytes(pkt)
            comments = [c.decode() if isinstance(c, bytes) else c for c in pkt.comments or []]
            out.append(Pkt(pkt.sniffed_on, "", float(pkt.time), pkt.direction, bytes(raw),
                           comments))
    return out


def read_tshark(path: str | os.PathLike, home: str | os.PathLike) -> list[Pkt]:
    """Packets through tshark (no personal plugins: HOME points elsewhere)."""
    fields = ["frame.interface_name", "frame.interface_description", "frame.time_epoch",
              "frame.packet_flags_direction", "data.data", "frame.comment"]
    cmd = ["tshark", "-r", os.fspath(path), "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in fields:
        cmd += ["-e", f]
    env = dict(os.environ, HOME=os.fspath(home))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    out = []
    for row in res.stdout.splitlines():
        name, desc, t, direction, data, comment = (row.split("\t") + [""] * 6)[:6]
        out.append(Pkt(name, desc, float(t), int(direction, 16) if direction else None,
                       bytes.fromhex(data), comment.split("|") if comment else []))
    return out


def frames_session(seed: int = 7) -> dict[str, bytes]:
    """A few realistic MEP frames by name (requests, responses, an alert)."""
    from mepshark.dissector.security import parse_key

    req = b.Requester(parse_key("01" * 16, "MAK"), 0x1000)
    r1, s1 = req.seal(b.full_read(23, 44))
    a1 = b.respond(b.read_ok(bytes(range(44))), s1)
    r2, s2 = req.seal(b.partial_read(2061, 0, 40))
    a2 = b.respond(b.read_ok(bytes(40)), s2)
    r3, s3 = req.seal(b.partial_write(2098, 30, b"\x01"))
    a3 = b.respond(b.write_ok(), s3)
    return {"req1": r1, "resp1": a1, "req2": r2, "resp2": a2, "req3": r3, "resp3": a3,
            "alert": b.ALERT}


def test_uart_feeder_paces_bytes(tmp_path: Path) -> None:
    line = PtyLine(tmp_path / "tty")
    try:
        feeder = UartFeeder({line: 0.001})
        t0 = time.time()
        starts = feeder.play([(0.0, line, b"a" * 50), (0.01, line, b"b" * 10)])
        elapsed = time.time() - t0
        # 60 bytes at 1 ms each; the second item waits for the first to end.
        assert 0.058 <= elapsed < 0.5
        assert abs(starts[1] - starts[0] - 0.050) < 1e-6
        assert bytes(line.written) == b"a" * 50 + b"b" * 10
        got = b""
        while len(got) < 60 and select.select([line.slave], [], [], 1.0)[0]:
            got += os.read(line.slave, 100)
        assert got == bytes(line.written)
    finally:
        line.close()


def test_burst_relay_hands_bytes_over_late_in_lumps(tmp_path: Path) -> None:
    """What comes in within the hold goes out in one write, no sooner than the hold."""
    src = PtyLine(tmp_path / "src")
    out = PtyLine(tmp_path / "out")
    try:
        with BurstRelay(src.path, out, hold=0.2) as relay:
            t0 = time.monotonic()
            for piece in (b"ab", b"cd", b"ef"):
                src.write(piece)
            got = b""
            while len(got) < 6 and select.select([out.slave], [], [], 2.0)[0]:
                got += os.read(out.slave, 100)
            waited = time.monotonic() - t0
            src.write(b"gh")
            while len(got) < 8 and select.select([out.slave], [], [], 2.0)[0]:
                got += os.read(out.slave, 100)
        assert got == b"abcdefgh" and b"".join(relay.bursts) == got
        assert waited >= 0.2
        assert relay.bursts[-1] == b"gh" and len(relay.bursts) <= 4
    finally:
        src.close()
        out.close()
