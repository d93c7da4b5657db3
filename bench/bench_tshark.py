#!/usr/bin/env python3
"""Benchmark: tshark on a 100k-frame MEP capture, without and with the Lua dissector.

Usage: [MEP_LUA=path/to/mep.lua] python bench/bench_tshark.py [--frames N] [--repeat K]

One run measures, on the same capture (bench/traffic.py's realistic mix):
tshark without the plugin, with it, and with it and both keys set (digest
checking and RC4 decryption).  Reports frames/s and the ratio to the run
without the plugin.  Targets (issue "Generated Lua dissector"): >= 80,000
frames/s with the plugin and no key, >= 30,000 frames/s with digest checking.
With --repeat K each configuration runs K times (interleaved) and the fastest
run counts, which steadies the figures on a busy machine.
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
"""The dissector measured; MEP_LUA points the benchmark at another generated copy."""


def _run(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration (best counts)")
    args = ap.parse_args()
    path = bench_capture(args.frames)
    base = ["tshark", "-n", "-r", str(path)]
    plugin = [*base, "-X", f"lua_script:{LUA}"]
    keys = ["-o", f"mep.mak:hex:{MAK.raw.hex()}", "-o", f"mep.mbk:hex:{MBK.raw.hex()}"]
    runs = {
        "tshark, no plugin": base,
        "tshark + mep.lua, no key": plugin,
        "tshark + mep.lua, MAK+MBK": [*plugin, *keys],
    }
    times: dict[str, float] = {}
    for _ in range(max(1, args.repeat)):
        for name, cmd in runs.items():
            t = _run(cmd)
            times[name] = min(t, times.get(name, t))
    ref = times["tshark, no plugin"]
    for name, t in times.items():
        print(f"{name:28s} {args.frames / t:9.0f} frames/s  ({t:.2f} s, x{t / ref:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
