#!/usr/bin/env python3
"""Benchmark: mep-capture on two busy lines (issue #6, "mep-capture").

Usage: python bench/bench_capture.py [--seconds 60] [--baud 115200]

Two pseudo-terminal lines, meter and client, each carrying realistic MEP
frames (bench/traffic.py) back to back at the full rate of the baud rate,
paced like a UART, for the given time.  mep-capture runs as a separate
process; the report gives its CPU time as a share of one core (over the
whole run, and over the busy part alone) and the bytes lost, comparing
what was written on each line with what the pcapng holds for that line.
Targets: under 5 % of one core, zero bytes lost.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from traffic import session  # noqa: E402

from mepshark.capture.ptyline import PtyLine, UartFeeder  # noqa: E402
from mepshark.dissector.capture_format import EPB_INBOUND  # noqa: E402


def line_streams(seconds: float, rate: float) -> dict[int, bytes]:
    """Back-to-back frames for each direction, at least ``seconds`` of line time, whole frames."""
    pools: dict[int, list[bytes]] = {1: [], 2: []}
    for _t, direction, data in session(6000, seed=6):
        pools[direction].append(data)
    need = int(seconds * rate)
    out = {}
    for direction, frames in pools.items():
        buf = bytearray()
        i = 0
        while len(buf) < need:
            buf += frames[i % len(frames)]
            i += 1
        out[direction] = bytes(buf)
    return out


def read_pcapng(path: Path) -> tuple[list[str], dict[int, bytearray], int, int]:
    """Interface names, bytes per interface, packets, and packets with comments (unframed)."""
    names: list[str] = []
    data: dict[int, bytearray] = {}
    packets = commented = 0
    raw = path.read_bytes()
    pos = 0
    while pos + 12 <= len(raw):
        btype, blen = struct.unpack_from("<II", raw, pos)
        if blen < 12 or pos + blen > len(raw):
            break
        body = raw[pos + 8 : pos + blen - 4]
        if btype == 1:  # IDB: options after 8 bytes
            opt = 8
            while opt + 4 <= len(body):
                code, olen = struct.unpack_from("<HH", body, opt)
                if code == 0:
                    break
                if code == 2:
                    names.append(body[opt + 4 : opt + 4 + olen].decode())
                opt += 4 + olen + (-olen % 4)
        elif btype == 6:  # EPB
            ifid, _hi, _lo, caplen, _orig = struct.unpack_from("<IIIII", body, 0)
            data.setdefault(ifid, bytearray()).extend(body[20 : 20 + caplen])
            packets += 1
            opts = body[20 + caplen + (-caplen % 4):]
            commented += b"\x01\x00" in opts[:2]
        pos += blen
    return names, data, packets, commented


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--keep", action="store_true", help="keep the capture file")
    args = ap.parse_args()
    byte_time = 10 / args.baud
    streams = line_streams(args.seconds, 1 / byte_time)

    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        meter, client = PtyLine(Path(tmp) / "meter"), PtyLine(Path(tmp) / "client")
        out = Path(tmp) / "bench.pcapng"
        cmd = [sys.executable, "-m", "mepshark.capture", "--meter", str(meter.path),
               "--client", str(client.path), "--baud", str(args.baud), "-w", str(out)]
        t_start = time.monotonic()
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True).start()
        while "Capturing on" not in lines.get(timeout=30):
            pass
        time.sleep(0.3)

        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        feeder = UartFeeder({meter: byte_time, client: byte_time}, tick=0.002)
        feeder.play([(0.0, meter, streams[EPB_INBOUND]), (0.0, client, streams[2])])
        t1 = time.monotonic()
        time.sleep(0.5)  # let the last frames out
        cpu1 = cpu_seconds(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        t_end = time.monotonic()
        stderr = []
        while not lines.empty():
            stderr.append(lines.get().rstrip())

        names, data, packets, unframed = read_pcapng(out)
        written = {str(meter.path): bytes(meter.written), str(client.path): bytes(client.written)}
        captured = {names[i]: bytes(b) for i, b in data.items()}
        lost = sum(len(w) for w in written.values()) - sum(len(c) for c in captured.values())
        identical = all(captured.get(k, b"") == v for k, v in written.items())
        if args.keep:
            keep = Path(__file__).with_name("capture-bench.pcapng")
            keep.write_bytes(out.read_bytes())
        meter.close()
        client.close()

    busy = t1 - t0
    total_cpu = usage.ru_utime + usage.ru_stime
    steady = 100 * (cpu1 - cpu0) / (t1 - t0 + 0.5)
    print(f"lines: 2 x {args.baud} baud 8N1, continuous frames for {busy:.1f} s")
    for name, blob in written.items():
        print(f"  {Path(name).name:7s} written {len(blob):9d} B, captured "
              f"{len(captured.get(name, b'')):9d} B")
    print(f"packets: {packets} ({unframed} unframed/commented)")
    print(f"bytes lost: {lost}; byte-exact per line: {identical}")
    print(f"mep-capture CPU: {100 * total_cpu / (t_end - t_start):.2f} % of one core over the "
          f"whole run ({total_cpu:.2f} s in {t_end - t_start:.1f} s), {steady:.2f} % while busy")
    print(f"mep-capture exit status {proc.returncode}; its last words: {stderr[-2:]}")
    ok = lost == 0 and identical and proc.returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
