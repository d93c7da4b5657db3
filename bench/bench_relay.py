#!/usr/bin/env python3
"""Benchmark: mep-capture --relay passing and recording bytes both ways as fast as they come.

Usage: python bench/bench_relay.py [--kib 1024] [--repeat 3]

A pty stands for the real port; a program on the relay's pty writes KiB
random bytes while the port side writes as many back, in 4 KiB pieces, both at
once.  mep-capture runs as a separate process; the report gives its CPU time
(user + sys from ``os.wait4``, start-up included and, separately, the
start-up alone) per MiB relayed, and checks that both ends got every byte.
Random bytes are the worst case for the deframer (almost all unframed).
"""

from __future__ import annotations

import argparse
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from mepshark.capture.ptyline import PtyLine

CAPTURE = [sys.executable, "-m", "mepshark.capture"]


def cpu(proc: subprocess.Popen) -> float:
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


def one_run(size: int, seed: int) -> tuple[float, bool]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_relay_"))
    port = PtyLine(tmp / "port")
    proc = subprocess.Popen(CAPTURE + ["--relay", str(port.path), "--relay-link", str(tmp / "r"),
                                       "-w", str(tmp / "out.pcapng"), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    name = proc.stdout.readline().decode().strip()
    rnd = random.Random(seed)
    up, down = rnd.randbytes(size), rnd.randbytes(size)
    fd = os.open(name, os.O_RDWR | os.O_NOCTTY)
    got = [bytearray(), bytearray()]

    def drain(src: int, into: bytearray) -> None:
        while len(into) < size and select.select([src], [], [], 10)[0]:
            into += os.read(src, 65536)

    readers = [threading.Thread(target=drain, args=(port.master, got[0])),
               threading.Thread(target=drain, args=(fd, got[1]))]
    for t in readers:
        t.start()
    for i in range(0, size, 4096):
        os.write(fd, up[i : i + 4096])
        port.write(down[i : i + 4096])
    for t in readers:
        t.join()
    proc.send_signal(signal.SIGINT)
    used = cpu(proc)
    os.close(fd)
    port.close()
    return used, bytes(got[0]) == up and bytes(got[1]) == down


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kib", type=int, default=1024, help="KiB each way (default 1024)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    start = subprocess.Popen(CAPTURE + ["--help"], stdout=subprocess.DEVNULL)
    base = cpu(start)
    for k in range(args.repeat):
        used, whole = one_run(args.kib * 1024, k)
        mib = 2 * args.kib / 1024
        print(f"run {k + 1}: {mib:.1f} MiB relayed and recorded, CPU {used:.2f} s "
              f"({(used - base) / mib:.2f} s/MiB beyond start-up {base:.2f} s), "
              f"every byte passed on: {whole}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
