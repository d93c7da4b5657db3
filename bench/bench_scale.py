#!/usr/bin/env python3
"""Benchmark at a month's scale: a million MEP frames in tshark and scapy, time and memory.

Usage: [MEP_LUA=path/to/mep.lua] python bench/bench_scale.py [--frames N] [--skip-scapy]
       [--skip-tshark]

Builds bench/decode-N.pcapng once (bench/traffic.py's realistic mix, what a
tap on a polled meter records in about a month at N = 1,000,000), then runs
each configuration as its own process and reads that process's elapsed time
and peak resident memory from ``os.wait4``: tshark without the plugin, with
it (no key; MAK+MBK; two passes), and scapy's ``read_capture``.  Reports
frames/s, the time ratio to tshark without the plugin and the extra peak
memory per frame.  Targets (issue "A month of captures"): the plugin at most
5x the no-plugin time without a key and 8x with both keys, at most 300 bytes
a frame of extra peak memory; scapy at least 20,000 frames/s and under 1 KB
a frame.  Start-up is a fixed cost, which is why the scale matters: at 100k
frames it hides a good part of the per-frame cost.

The cores are shared, so each run also reports its CPU time (user + sys,
from ``os.wait4``), and scapy's frames/s are given against both; the
machine's speed at the time is shown by a fixed pure-Python loop
(``calibration``), timed the same way before the runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from traffic import MAK, MBK, bench_capture  # noqa: E402

LUA = Path(os.environ.get("MEP_LUA") or Path(__file__).parent.parent / "dissector" / "mep.lua")
SCAPY = (
    "import sys; from mepshark.dissector.link import read_capture; "
    "from mepshark.dissector.security import parse_key; "
    "keys = [parse_key(k, n) for n, k in zip(('MAK', 'MBK'), sys.argv[2:])]; "
    "n = sum(1 for _ in read_capture(sys.argv[1], keys)); print(n)"
)


CALIBRATION = "s = 0\nfor i in range(10_000_000):\n    s += i"
"""A fixed CPU-bound loop: its time says how fast the (shared) machine runs now."""

SCAPY_RATE, SCAPY_BYTES = 20_000, 1024
"""Targets for read_capture: frames a second, peak bytes a frame."""


def measure(cmd: list[str]) -> tuple[float, float, int]:
    """(elapsed seconds, CPU seconds, peak RSS in bytes) of one command run alone."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode or "Lua Error" in err:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {err.strip()[-300:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--skip-scapy", action="store_true", help="tshark configurations only")
    ap.add_argument("--skip-tshark", action="store_true", help="scapy configurations only")
    args = ap.parse_args()
    path = bench_capture(args.frames)
    keys = ["-o", f"mep.mak:hex:{MAK.raw.hex()}", "-o", f"mep.mbk:hex:{MBK.raw.hex()}"]
    base = ["tshark", "-n", "-r", path]
    plugin = [*base, "-X", f"lua_script:{LUA}"]
    runs = {} if args.skip_tshark else {
        "tshark, no plugin": base,
        "tshark + mep.lua, no key": plugin,
        "tshark + mep.lua, MAK+MBK": [*plugin, *keys],
        "tshark -2 + mep.lua, no key": [*plugin, "-2"],
    }
    if not args.skip_scapy:
        py = str(Path(sys.executable))
        runs["scapy read_capture, no key"] = [py, "-c", SCAPY, path]
        runs["scapy read_capture, MAK+MBK"] = [py, "-c", SCAPY, path, MAK.raw.hex(),
                                               MBK.raw.hex()]
    print(f"{args.frames} frames, {os.path.getsize(path) / args.frames:.0f} bytes a frame on "
          f"disk; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    _, cal, _ = measure([sys.executable, "-c", CALIBRATION])
    print(f"calibration: a 10M-step Python loop took {cal:.2f} s CPU")
    ref_t = ref_m = None
    for name, cmd in runs.items():
        t, cpu, m = measure(cmd)
        if name.startswith("tshark"):
            if ref_t is None:
                ref_t, ref_m = t, m
            note = f"x{t / ref_t:4.1f}  {(m - ref_m) / args.frames:+5.0f} B/frame vs no plugin"
        else:
            rate, per = args.frames / cpu, m / args.frames
            note = (f"{per:5.0f} B/frame in all; {rate:6.0f} frames/s of CPU "
                    f"(target >= {SCAPY_RATE}: {'met' if rate >= SCAPY_RATE else 'NOT met'}; "
                    f"< {SCAPY_BYTES} B/frame: {'met' if per < SCAPY_BYTES else 'NOT met'})")
        print(f"{name:30s} {args.frames / t:8.0f} frames/s {t:7.2f} s wall {cpu:7.2f} s CPU  "
              f"peak {m / 2**20:6.0f} MB  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
