#!/usr/bin/env python3
"""Benchmark: scapy decode with pairing of a 100k-frame capture (issue "MEP protocol core").

Usage: python bench/bench_decode.py [--frames N]

Reports frames per second for reading alone (scapy dissection of every
record), decoding in context without keys, and decoding with digest
verification (MAK and MBK configured), all from one capture in one run.
Targets: >= 20,000 frames/s without a key, >= 5,000 frames/s with one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scapy.utils import PcapReader

sys.path.insert(0, str(Path(__file__).parent))

from traffic import MAK, MBK, bench_capture  # noqa: E402

from mepshark.dissector.context import DIGEST_GOOD  # noqa: E402
from mepshark.dissector.link import read_capture, register_dlt  # noqa: E402


def _timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=100_000)
    args = ap.parse_args()
    path = bench_capture(args.frames)
    register_dlt()

    def read_only():
        with PcapReader(str(path)) as r:
            return sum(1 for _ in r)

    n, t_read = _timed(read_only)
    # read_capture decodes as it is iterated: list() times the whole decode
    frames, t_plain = _timed(lambda: list(read_capture(path)))
    keyed, t_key = _timed(lambda: list(read_capture(path, [MAK, MBK])))
    good = sum(1 for f in keyed if f.digest_status == DIGEST_GOOD)
    with_digest = sum(1 for f in keyed if f.digest_status is not None)
    print(f"frames: {n}")
    print(f"read (scapy dissect only): {n / t_read:9.0f} frames/s")
    print(f"decode, no key:            {len(frames) / t_plain:9.0f} frames/s  (target >= 20000)")
    print(f"decode, MAK+MBK verify:    {len(keyed) / t_key:9.0f} frames/s  (target >= 5000)")
    print(f"digests verified: {good} of {with_digest}")
    print(f"ratio keyed/plain: {t_plain / t_key:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
