#!/usr/bin/env python3
"""Benchmark: tshark on a capture of TLS-PSK sessions, with and without their secrets.

Usage: [MEP_LUA=path/to/mep.lua] python bench/bench_tls.py [--frames N] [--repeat K]

The capture holds TLS sessions made by python-mbedtls on both ends (a
handshake under the MAK or the MBK, then table reads and writes as
application data), repeated until it has about N frames.  One run measures
tshark without the plugin, with it and no secrets (TLS records shown, not
opened), and with it and a key log (Wireshark's TLS dissector decrypts every
record and hands the plaintext back to the Lua, which decodes it as the RC4
frames are decoded).  Times are CPU times of the tshark process (user +
system, from os.wait4), the best of K interleaved runs; ratios are to the
run without the plugin and to the run without secrets.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from luadiff import write_records  # noqa: E402

from mepshark.dissector import builders as b  # noqa: E402
from mepshark.dissector.codes import TLS_CONTINUE, TLS_START, TLS_TABLE  # noqa: E402
from mepshark.dissector.link import read_capture  # noqa: E402
from mepshark.dissector.security import Key  # noqa: E402
from mepshark.dissector.tables import table_id  # noqa: E402
from mepshark.dissector.tlsendpoint import Endpoint  # noqa: E402
from mepshark.dissector.tlsplain import request_plaintext, response_plaintext  # noqa: E402
from mepshark.dissector.tlssecrets import track_sessions  # noqa: E402

LUA = Path(os.environ.get("MEP_LUA") or ROOT / "dissector" / "mep.lua")
MAK, MBK = Key("MAK", b"\x01" * 16), Key("MBK", b"\x02" * 16)


def session(key: Key, client_id: int, exchanges: int) -> list[tuple[int, bytes]]:
    """(direction, frame) of one session: handshake, then ``exchanges`` requests."""
    client = Endpoint.client(key.raw, client_id, key.name)
    meter = Endpoint.server({key.name: key.raw})
    out: list[tuple[int, bytes]] = []

    def frame(direction: int, code: int, records: bytes) -> None:
        body = bytes([code]) + records
        out.append((direction, len(body).to_bytes(2, "big") + body))

    code = TLS_START
    while not (client.established and meter.established):
        client.step()
        sent = client.outgoing()
        if sent:
            frame(0, code, sent)
            code = TLS_CONTINUE
            meter.feed(sent)
        meter.step()
        back = meter.outgoing()
        if back:
            frame(1, 0x00, back)
            client.feed(back)
    asks = [
        (b.full_read(table_id("BT01")), b.read_ok(bytes(range(24)))),
        (b.full_read(table_id("BT28")), b.read_ok(bytes(336))),
        (b.partial_read(table_id("ET13"), 264, 9), b.read_ok(bytes(9))),
        (b.partial_write(table_id("ET50"), 30, b"\x01"), b.write_ok()),
    ]
    for k in range(exchanges):
        request, response = asks[k % len(asks)]
        sent = client.send(request_plaintext(request))
        frame(0, TLS_TABLE, sent)
        meter.feed(sent)
        meter.receive()
        back = meter.send(response_plaintext(response))
        frame(1, 0x00, back)
        client.feed(back)
        client.receive()
    return out


def capture(path: Path, frames: int) -> Path:
    """About ``frames`` frames: two sessions (MAK, MBK) repeated; each repeat is a new
    conversation to tshark (a new client port at each 0x58), the same secrets."""
    per = 200
    one = session(MAK, 0x0164, per) + session(MBK, 7, per)
    records, t = [], 1.0
    for _ in range(max(1, frames // len(one))):
        for direction, data in one:
            records.append((t, direction, data))
            t += 0.15
    return write_records(path, records)


def cpu_time(args: list[str]) -> float:
    """User + system CPU seconds of one tshark run."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args[0]} failed: {' '.join(args)}")
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration (best counts)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tmp:
        path = capture(Path(tmp) / "tls.pcapng", args.frames)
        n = len(read_capture(path, follow_tls=False))
        keylog = Path(tmp) / "keys.log"
        tracker = track_sessions(read_capture(path, follow_tls=False), [MAK, MBK])
        keylog.write_text("".join(line + "\n" for line in tracker.keylog()))
        base = ["tshark", "-n", "-r", str(path)]
        plugin = [*base, "-X", f"lua_script:{LUA}"]
        runs = {
            "tshark, no plugin": base,
            "tshark + mep.lua, no secrets": plugin,
            "tshark + mep.lua, key log": [*plugin, "-o", f"tls.keylog_file:{keylog}"],
        }
        times: dict[str, float] = {}
        for _ in range(max(1, args.repeat)):
            for name, cmd in runs.items():
                t = cpu_time(cmd)
                times[name] = min(t, times.get(name, t))
    ref, closed = times["tshark, no plugin"], times["tshark + mep.lua, no secrets"]
    print(f"{n} frames, {len(tracker.sessions)} TLS sessions; CPU time, best of {args.repeat}")
    for name, t in times.items():
        print(f"{name:30s} {n / t:9.0f} frames/s  ({t:.2f} s, x{t / ref:.1f} of no plugin, "
              f"x{t / closed:.2f} of no secrets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
