"""``mep-dissector``: decode MEP captures with the scapy definitions.

``mep-dissector decode FILE`` prints one line per frame in the style of
Wireshark's Info column (``-V`` adds the decoded fields, the expert notes
and the problems of malformed frames).  Keys come from ``--key-file``, the
``MEP_MBK``/``MEP_MAK`` environment variables, or ``--mbk``/``--mak``
(visible to other users in the process list: prefer the first two).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from scapy.error import Scapy_Exception

from ..capture.pcapng import DLT_USER0
from .context import DIGEST_STATUS, DIRECTIONS, FrameInfo
from .link import read_capture
from .security import load_keys


def _arrow(fi: FrameInfo) -> str:
    if fi.direction is None:
        return "?"
    return DIRECTIONS[fi.direction] + (" (inferred)" if fi.direction_inferred else "")


def print_frames(frames: list[FrameInfo], verbose: bool = False, out=sys.stdout) -> None:
    t0 = frames[0].time if frames else 0.0
    for fi in frames:
        print(f"{fi.number:5d} {fi.time - t0:10.6f}  {_arrow(fi):16s} {fi.summary()}", file=out)
        if not verbose:
            continue
        stamp = datetime.fromtimestamp(fi.time, timezone.utc).isoformat(timespec="microseconds")
        print(f"      arrival {stamp}", file=out)
        if fi.digest_status is not None:
            key = f" ({fi.key})" if fi.key else ""
            print(f"      digest: {DIGEST_STATUS[fi.digest_status]}{key}", file=out)
        if fi.packet is not None:
            for line in fi.packet.show(dump=True).splitlines():
                print("      " + line, file=out)
        for note in fi.expert:
            print(f"      expert: {note}", file=out)
        for problem in fi.problems:
            print(f"      malformed: {problem}", file=out)


def _decode(args: argparse.Namespace) -> int:
    try:
        keys = load_keys(args.mbk, args.mak, args.key_file)
    except (OSError, ValueError) as exc:
        print(f"mep-dissector: bad key: {exc}", file=sys.stderr)
        return 2
    try:
        frames = read_capture(args.file, keys, dlt=args.dlt, baud=args.baud)
    except (OSError, Scapy_Exception) as exc:
        print(f"mep-dissector: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"mep-dissector: {exc}", file=sys.stderr)
        return 2
    print_frames(frames, args.verbose)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mep-dissector", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("decode", help="decode a pcap/pcapng capture with scapy")
    d.add_argument("file")
    d.add_argument("-V", "--verbose", action="store_true", help="show every field")
    d.add_argument("--key-file", help="file with lines MBK=… and/or MAK=…")
    d.add_argument("--mbk", help="MEP Basic Key (ASCII or hex)")
    d.add_argument("--mak", help="MEP Advanced Key (ASCII or hex)")
    d.add_argument("--dlt", type=int, default=DLT_USER0, help="user DLT of the capture (147..162)")
    d.add_argument("--baud", type=int, default=9600, help="line speed, for timing checks")
    d.set_defaults(func=_decode)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
