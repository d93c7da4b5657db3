#!/usr/bin/env python3
"""Dump every sample capture's decode, by tshark with the plugin and by scapy, into a folder.

Usage: python bench/dump_decodes.py OUT_DIR

For each ``pcaps/*.pcapng``, without keys and with MAK+MBK, writes
``<name>.<keys>.tshark-V.txt`` (``tshark -2 -V``), ``<name>.<keys>.tshark.json``
(``-T json``) and ``<name>.<keys>.scapy.txt`` (per frame: summary, fields,
problem/expert texts).  Run it before and after a change to the dissectors
and ``diff -r`` the two folders: identical files mean identical decodes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from luadiff import run_tshark  # noqa: E402
from traffic import MAK, MBK  # noqa: E402

from mepshark.dissector.link import read_capture  # noqa: E402
from mepshark.dissector.wsfields import flatten  # noqa: E402

PCAPS = Path(__file__).parent.parent / "pcaps"


def _scapy(pcap: Path, keys) -> str:
    lines = []
    for fi in read_capture(pcap, keys):
        lines.append(f"#{fi.number} {fi.summary()} malformed={fi.malformed}")
        lines += [f"  {a} = {v!r}" for a, v in flatten(fi)]
        lines += [f"  ! {e}" for e in fi.expert]
    return "\n".join(lines) + "\n"


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for pcap in sorted(PCAPS.glob("*.pcapng")):
        for tag, keys in (("nokey", []), ("keys", [MAK, MBK])):
            stem = out / f"{pcap.stem}.{tag}"
            for suffix, extra in ((".tshark-V.txt", ["-V"]), (".tshark.json", ["-T", "json"])):
                proc = run_tshark(pcap, keys, extra)
                Path(f"{stem}{suffix}").write_text(proc.stdout + proc.stderr)
            Path(f"{stem}.scapy.txt").write_text(_scapy(pcap, keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
