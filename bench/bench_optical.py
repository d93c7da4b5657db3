#!/usr/bin/env python3
"""Benchmark: scapy and tshark on a 100k-packet ANSI C12.18 optical capture.

Usage: [MEP_LUA=path/to/mep.lua] python bench/bench_optical.py [--packets N] [--repeat K]

The capture repeats a probe session (identify, negotiate, logon, security,
reads of BT00/BT01/BT21/BT28, some in several packets, logoff, terminate),
every packet ACKed, until it holds N records.  One run measures, on that file:
tshark without the plugin (the reference), tshark with mep.lua (one pass, no
tree: what a plain ``tshark -r`` costs), tshark with mep.lua, two passes and
the C12.18 fields printed (every tree built), and scapy's
``read_capture`` (context, reassembly, tables).  Each is a child process; its
CPU time (user + system, from os.wait4) is what counts, as wall time is noisy
on a shared machine.  With --repeat K the fastest of K runs counts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mepshark.capture.pcapng import PcapngWriter
from mepshark.dissector import c1218link as link
from mepshark.dissector.c1218frames import CLASSES, build_packet
from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND
from mepshark.dissector.tables import table_id

LUA = Path(os.environ.get("MEP_LUA") or Path(__file__).parent.parent / "dissector" / "mep.lua")
BYTE = 10 / 9600
ROOM = 56
"""Data bytes per packet (a negotiated packet size of 64)."""


def _session() -> list[tuple[int, bytes]]:
    """One probe session as (EPB direction, service bytes) messages."""
    import datetime as dt

    from mepshark.sim.meter import build_default

    images = build_default(dt.datetime(2024, 5, 2, 10, 0))
    s = CLASSES
    out = [(s["C1218Identify"](), s["C1218IdentifyResponse"](std=0, ver=2, features=b"\0")),
           (s["C1218Negotiate"](service=0x61, packet_size=64, nbr_packets=8, baud_rates=b"\6"),
            s["C1218NegotiateResponse"](packet_size=64, nbr_packets=8, baud_rate=6)),
           (s["C1218Logon"](user_id=2, user=b"BENCH     "), s["C1218OkResponse"]()),
           (s["C1218Security"](password=b"x" * 20), s["C1218OkResponse"]())]
    for tag in ("BT00", "BT01", "BT21", "BT28"):
        tid = table_id(tag)
        out.append((s["C1218FullRead"](table_id=tid), s["C1218ReadResponse"](data=images[tid])))
    out += [(s["C1218Logoff"](), s["C1218OkResponse"]()),
            (s["C1218Terminate"](), s["C1218OkResponse"]())]
    return [(d, bytes(m)) for req, resp in out for d, m in ((EPB_OUTBOUND, req),
                                                           (EPB_INBOUND, resp))]


def bench_capture(records: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"mepshark-optical-{records}.pcapng"
    if path.exists():
        return path
    session = _session()
    t, n, toggle = 1_714_644_000.0, 0, {EPB_OUTBOUND: 0, EPB_INBOUND: 0}
    with open(path, "wb") as f, PcapngWriter(f) as w:
        ifs = {EPB_OUTBOUND: w.add_interface("probe", "probe TXD"),
               EPB_INBOUND: w.add_interface("meter", "meter TXD")}
        other = {EPB_OUTBOUND: EPB_INBOUND, EPB_INBOUND: EPB_OUTBOUND}
        while n < records:
            for side, msg in session:
                chunks = [msg[i:i + ROOM] for i in range(0, len(msg), ROOM)]
                for k, chunk in enumerate(chunks):
                    toggle[side] ^= 1
                    multi = len(chunks) > 1
                    raw = build_packet(chunk, toggle[side], multi=multi, first=multi and k == 0,
                                       sequence=len(chunks) - 1 - k if multi else 0)
                    for d, data in ((side, raw), (other[side], bytes([link.ACK]))):
                        if n == records:
                            return path
                        t += 0.004
                        w.write(ifs[d], t, data, d)
                        t += len(data) * BYTE
                        n += 1
    return path


def cpu(args: list[str]) -> float:
    """User + system CPU seconds of a child process."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0 or "Lua" in err:
        raise RuntimeError(f"{args[0]} failed: {err.strip()[:500]}")
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration (best counts)")
    args = ap.parse_args()
    path = bench_capture(args.packets)
    base = ["tshark", "-n", "-r", str(path)]
    plugin = [*base, "-X", f"lua_script:{LUA}"]
    fields = ["-2", "-T", "fields", "-e", "c1218.service", "-e", "c1218.response_code",
              "-e", "c1218.request_in", "-e", "mep.bt28.frequency"]
    scapy = [sys.executable, "-c", "import sys; from mepshark.dissector.link import "
             "read_capture; f = read_capture(sys.argv[1]); [x.summary() for x in f]", str(path)]
    runs = {
        "tshark, no plugin": base,
        "tshark + mep.lua": plugin,
        "tshark + mep.lua -2, fields": [*plugin, *fields],
        "scapy read_capture + Info": scapy,
    }
    times: dict[str, float] = {}
    for _ in range(max(1, args.repeat)):
        for name, cmd in runs.items():
            t = cpu(cmd)
            times[name] = min(t, times.get(name, t))
    ref = times["tshark, no plugin"]
    print(f"{args.packets} records of {path.name}; CPU time (user+sys), best of {args.repeat}")
    for name, t in times.items():
        print(f"{name:30s} {args.packets / t:9.0f} records/s  ({t:6.2f} s CPU, x{t / ref:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
