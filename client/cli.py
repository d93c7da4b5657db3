"""``mep-client``: read an OSGP/NES meter over its MEP port.

Examples::

    mep-client --port /dev/ttyUSB0 --key-file keys.txt read BT28
    MEP_MAK=… mep-client --port /dev/pts/5 --json read ET03
    mep-client --port /dev/pts/5 --key-file keys.txt --encrypt watch -c 10
    mep-client --port /dev/pts/5 --key-file keys.txt --pcapng me.pcapng alerts --duration 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence

from mepshark.dissector.cliutil import Parser, UsageError, keys_or_usage_error
from mepshark.dissector.frames import BAUD
from mepshark.dissector.security import Key
from mepshark.dissector.tables import table_id, table_tag

from .link import Link, NoResponse
from .recorder import Recorder
from .session import AuthError, GaveUp, MepClient, MepError
from .values import as_json, as_text, watch_line, watch_record

PROG = "mep-client"


def table_arg(text: str) -> str:
    """A table tag on the command line (``bt28`` -> ``"BT28"``); else a usage error."""
    tag = text.upper()
    try:
        ok = tag[2:].isdigit() and table_tag(table_id(tag))[:2] == tag[:2]
    except ValueError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"{text!r} is not a table tag; tables are named "
                                         "like BT28 or ET03")
    return tag


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, allow_abbrev=False,
                description="Read an OSGP/NES meter over its MEP serial port.",
                epilog=__doc__.split("Examples::", 1)[1],
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", required=True, help="serial port (or the pty mep-sim printed)")
    p.add_argument("--baud", type=int, default=BAUD, help=f"baud rate (default {BAUD})")
    p.add_argument("--key-file", help="file with lines MBK=… and/or MAK=… "
                   "(default: environment variables MEP_MAK / MEP_MBK)")
    p.add_argument("--use", choices=("MAK", "MBK"), type=str.upper,
                   help="which key to use (default: the MAK if given, else the MBK)")
    p.add_argument("--encrypt", action="store_true", help="RC4-encrypt requests")
    p.add_argument("--pcapng", metavar="FILE", help="record this session to FILE")
    p.add_argument("--json", action="store_true", help="JSON output (one object per line)")
    p.add_argument("--sequence", type=lambda s: int(s, 0),
                   help="first sequence number (default random; 0x0C resynchronises)")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("read", help="read and decode tables")
    r.add_argument("tables", nargs="+", metavar="TABLE", type=table_arg,
                   help="table tag, e.g. BT28 ET03")
    r.add_argument("--offset", type=int, help="partial read from this offset")
    r.add_argument("--count", type=int, help="partial read of this many bytes")
    w = sub.add_parser("watch", help="live power, voltage, current and energy")
    w.add_argument("--interval", type=float, default=1.0, help="seconds between reads")
    w.add_argument("-c", dest="count", type=int, help="stop after N readings")
    a = sub.add_parser("alerts", help="answer the meter's alerts for a while")
    a.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    return p


def pick_key(args: argparse.Namespace) -> Key:
    keys = keys_or_usage_error(args.key_file)  # MAK first
    if args.use:
        for key in keys:
            if key.name == args.use:
                return key
        raise UsageError(f"no {args.use} given: put {args.use}=… in --key-file "
                         f"or set MEP_{args.use}")
    if not keys:
        raise UsageError("no key: give --key-file with MAK=… or MBK=…, or set MEP_MAK/MEP_MBK")
    return keys[0]


def _emit(args, obj: dict, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(obj), flush=True)
    else:
        print("\n".join(lines), flush=True)


def _service(args, client: MepClient) -> None:
    if client.link.alerts:
        for action in client.service_alerts(posted=b"mepshark"):
            text = ", ".join(f"{k}={v}" for k, v in action.items())
            _emit(args, {"alert": action}, [f"alert serviced: {text}"])


def run(args: argparse.Namespace) -> int:
    key = pick_key(args)
    recorder = Recorder(args.pcapng, args.port, args.baud) if args.pcapng else None
    try:
        link = Link(args.port, args.baud, recorder=recorder)
    except ValueError as exc:  # pyserial: a URL scheme or setting it does not know
        raise UsageError(f"--port {args.port}: {exc}") from None
    client = MepClient(link, key, encrypt=args.encrypt, sequence=args.sequence)
    try:
        if args.command == "read":
            for tag in args.tables:
                dec = client.read(tag, args.offset, args.count)
                off = args.offset or 0
                _emit(args, as_json(tag, dec, off), as_text(tag, dec, off))
        elif args.command == "watch":
            n = 0
            while args.count is None or n < args.count:
                t = time.monotonic()
                _service(args, client)
                rec = watch_record(client.read("BT28"), client.read("BT23"))
                now = dt.datetime.now()
                _emit(args, {"time": now.isoformat(timespec="seconds"), **rec},
                      [watch_line(rec, now)])
                n += 1
                if args.count is not None and n >= args.count:
                    break
                link.idle(max(0.0, args.interval - (time.monotonic() - t)))
        elif args.command == "alerts":
            end = time.monotonic() + args.duration
            while time.monotonic() < end:
                link.idle(min(0.2, max(0.0, end - time.monotonic())))
                _service(args, client)
    finally:
        link.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(build_parser().parse_args(argv))
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except NoResponse as exc:
        print(f"{PROG}: {exc}; check the port, the baud rate and the wiring", file=sys.stderr)
        return 1
    except MepError as exc:
        hint = "; check the key" if isinstance(exc, AuthError) else ""
        print(f"{PROG}: {exc}{hint}", file=sys.stderr)
        return 1
    except GaveUp as exc:
        print(f"{PROG}: {exc}; check the line", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG}: {exc}; check the port name and your permissions", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
