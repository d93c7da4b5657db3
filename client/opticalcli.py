"""``mep-client optical PORT TABLE...``: read tables over an optical probe (ANSI C12.18).

Examples::

    MEP_OPTICAL_PASSWORD=… mep-client optical /dev/ttyUSB0 BT28 ET03
    mep-client optical /tmp/probe --password mepsim-read-only --json BT23
    mep-client optical /tmp/probe BT01                  # open tables need no password
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from mepshark.capture.serialport import PortError
from mepshark.dissector.c1218builders import password_bytes
from mepshark.dissector.cliutil import Parser, UsageError

from .optical import LinkError, OpticalClient, OpticalLink, ServiceError
from .values import as_json, as_text

PROG = "mep-client optical"
PASSWORD_ENV = "MEP_OPTICAL_PASSWORD"


def build_parser() -> argparse.ArgumentParser:
    from .commands import table_arg

    p = Parser(prog=PROG, allow_abbrev=False,
               description="Read a meter's tables over its optical port (ANSI C12.18).",
               epilog=__doc__.split("Examples::", 1)[1],
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("port", metavar="PORT",
                   help="the probe's serial port, a pty or a pyserial URL")
    p.add_argument("tables", nargs="+", metavar="TABLE", type=table_arg,
                   help="table tag, e.g. BT28 ET03")
    p.add_argument("--baud", type=int, default=9600, help="baud rate (default 9600)")
    p.add_argument("--password", metavar="TEXT",
                   help="the security service's password (MK, PK or RK; 'hex:…' for bytes); "
                   f"default ${PASSWORD_ENV}; without one only open tables can be read")
    p.add_argument("--user", default="mepshark", help="logon user name (up to 10 characters)")
    p.add_argument("--user-id", type=lambda s: int(s, 0), default=1, help="logon user id")
    p.add_argument("--offset", type=int, help="partial read from this offset")
    p.add_argument("--count", type=int, help="partial read of this many bytes")
    p.add_argument("--packet-size", type=int, default=256,
                   help="packet size to negotiate (default 256)")
    p.add_argument("--packets", type=int, default=4,
                   help="packets per message to negotiate (default 4)")
    p.add_argument("--json", action="store_true", help="JSON output (one object per line)")
    return p


def password_of(args: argparse.Namespace) -> bytes | None:
    text = args.password if args.password is not None else os.environ.get(PASSWORD_ENV)
    if text is None:
        return None
    try:
        return password_bytes(text)
    except ValueError as exc:
        raise UsageError(f"--password: {exc}") from None


def run(args: argparse.Namespace) -> int:
    password = password_of(args)
    if not 9 <= args.packet_size <= 8192 or not 1 <= args.packets <= 255:
        raise UsageError("--packet-size must lie in 9..8192 and --packets in 1..255")
    if args.baud <= 0:
        raise UsageError("--baud must be positive")
    link = OpticalLink(args.port, args.baud)
    client = OpticalClient(link, password, user=args.user, user_id=args.user_id,
                           packet_size=args.packet_size, packets=args.packets)
    try:
        client.start()
        for tag in args.tables:
            dec = client.read(tag, args.offset, args.count)
            off = args.offset or 0
            text = json.dumps(as_json(tag, dec, off)) if args.json else "\n".join(
                as_text(tag, dec, off))
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        client.finish()
    except KeyboardInterrupt:
        raise
    except BaseException:
        client.finish()  # a refused read still ends the session cleanly
        raise
    finally:
        link.close()
    return 0


def main(argv: Sequence[str]) -> int:
    try:
        return run(build_parser().parse_args(argv))
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except PortError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except ServiceError as exc:
        hint = "; check the password and the key's rights" if "isc" in str(exc) or \
            "security" in str(exc) else ""
        print(f"{PROG}: {exc}{hint}", file=sys.stderr)
        return 1
    except (LinkError, ValueError) as exc:
        print(f"{PROG}: {exc}; check the probe, its port and the baud rate", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG}: {exc.strerror or exc} ({getattr(exc, 'filename', None) or 'the port'})",
              file=sys.stderr)
        return 1
