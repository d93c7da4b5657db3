"""``mep-capture``: MEP serial lines to pcapng, to a file, a ring of files or live Wireshark.

Options follow dumpcap where they overlap (``-w``, ``-c``, ``-a``, ``-b``,
``-q``, ``-D``); lines are named by the side they hear.  The same program
is also Wireshark's extcap for the "MEP serial tap" interface.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version

from mepshark.dissector.capture_format import DLT_USER0, check_dlt
from mepshark.dissector.cliutil import (
    Parser,
    UsageError,
    baud_warning,
    keys_or_usage_error,
    parse_conditions,
)
from mepshark.dissector.frames import BAUD
from mepshark.dissector.tlssecrets import LiveSecrets

from . import extcap
from .relay import RelaySession
from .ring import PcapngOutput, RingSpec
from .serialport import (
    PARITIES,
    LineSpec,
    PortError,
    latency_warning,
    list_ports,
)
from .session import CaptureSession, Summary
from .status import StatusLine, describe_errors

PROG = "mep-capture"


def _version() -> str:
    try:
        return dist_version("mepshark")
    except PackageNotFoundError:
        return "0"


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        allow_abbrev=False,
        description="Capture the MEP serial lines of an OSGP/NES meter to pcapng.",
        epilog="Examples:\n"
        f"  {PROG} --meter /dev/ttyUSB0 --client /dev/ttyUSB1 -w mep.pcapng\n"
        f"  {PROG} --meter /dev/ttyUSB0 --client /dev/ttyUSB1 -w - | wireshark -k -i -\n"
        f"  {PROG} -i /dev/ttyUSB0 --baud 115200 -b filesize:1000 -b files:10 -w ring.pcapng\n"
        f"  {PROG} --relay /dev/ttyUSB0 --relay-link /tmp/meter -w session.pcapng   # one "
        "adapter:\n      a client program opens /tmp/meter, the relay passes its bytes on",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("lines (one adapter each)")
    g.add_argument("--meter", action="append", default=[], metavar="PORT",
                   help="port wired to the meter's TXD (hears responses and alerts)")
    g.add_argument("--client", action="append", default=[], metavar="PORT",
                   help="port wired to the client module's TXD (hears requests)")
    g.add_argument("-i", "--interface", action="append", default=[], metavar="PORT",
                   help="port of unknown side: the direction is inferred per frame")
    g.add_argument("--relay", metavar="PORT",
                   help="relay: create a pty for a client program (MEP or optical), pass its "
                   "bytes to PORT and back, and record both directions (docs/optical.md)")
    g.add_argument("--relay-link", metavar="PATH",
                   help="with --relay: a symlink PATH naming the pty (else its /dev/pts name)")
    g.add_argument("--baud", type=int, default=BAUD, help=f"baud rate (default {BAUD})")
    g.add_argument("--bytesize", type=int, choices=(5, 6, 7, 8), default=8,
                   help="data bits (default 8)")
    g.add_argument("--parity", type=str.upper, choices=tuple(PARITIES), default="N",
                   help="parity (default N)")
    g.add_argument("--stopbits", type=float, choices=(1.0, 1.5, 2.0), default=1.0,
                   metavar="{1,1.5,2}",
                   help="stop bits (default 1)")
    g.add_argument("--silence", type=float, metavar="MS",
                   help="silence that ends a partial frame (default 100 ms, or four "
                        "character times below ~400 baud)")
    o = p.add_argument_group("output")
    o.add_argument("-w", dest="write", metavar="FILE",
                   help="pcapng file to write, '-' for standard output (a pipe)")
    o.add_argument("--dlt", type=int, default=DLT_USER0,
                   help="user link type 147..162 (default 147); match the dissector's mep.dlt")
    o.add_argument("--nanoseconds", action="store_true",
                   help="nanosecond timestamps (default microseconds)")
    o.add_argument("-c", dest="count", type=int, metavar="N", help="stop after N packets")
    o.add_argument("-a", dest="autostop", action="append", default=[], metavar="COND",
                   help="stop when: duration:SEC, filesize:KB, files:N, packets:N")
    o.add_argument("-b", dest="ring", action="append", default=[], metavar="OPT",
                   help="ring buffer: filesize:KB, duration:SEC, files:N")
    o.add_argument("--embed-secrets", action="store_true",
                   help="follow TLS sessions with the keys (--key-file or MEP_MAK/MEP_MBK) and "
                   "write each session's secret into the file: Wireshark then decrypts it with "
                   "no key set (the keys themselves are never written)")
    o.add_argument("--key-file", help="with --embed-secrets: file with MBK=… and/or MAK=… lines")
    o.add_argument("-q", dest="quiet", action="store_true",
                   help="no live status line and no progress messages")
    m = p.add_argument_group("other")
    m.add_argument("-D", "--list-ports", action="store_true", help="list serial ports and exit")
    m.add_argument("--install-extcap", nargs="?", const="", metavar="DIR",
                   help="install into Wireshark's personal extcap folder (or DIR)")
    m.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    e = p.add_argument_group("Wireshark extcap (used by Wireshark itself)")
    for flag in ("--extcap-interfaces", "--extcap-dlts", "--extcap-config", "--capture"):
        e.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    for opt in ("--extcap-interface", "--fifo", "--extcap-capture-filter",
                "--extcap-control-in", "--extcap-control-out", "--extcap-reload-option",
                "--debug-file", "--port", "--port-path", "--side", "--port2", "--port2-path",
                "--side2"):
        e.add_argument(opt, help=argparse.SUPPRESS)
    e.add_argument("--extcap-version", nargs="?", const="", help=argparse.SUPPRESS)
    e.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


def line_specs(args: argparse.Namespace, extcap_mode: bool = False) -> list[LineSpec]:
    """The lines to capture, from --meter/--client/-i or from the extcap options."""
    named: list[tuple[str, str]] = []
    extcap_lines = (
        (args.port_path or args.port, args.side or "meter"),
        (args.port2_path or args.port2, args.side2 or "client"),
    )
    for port, side in extcap_lines:
        if port and port.strip().lower() not in ("", "none"):
            side = side.lower()
            if side not in ("meter", "client", "unknown"):
                raise UsageError(f"side {side!r} not understood; use meter, client or unknown")
            named.append((port.strip(), side))
    if getattr(args, "relay", None):
        if named or args.meter or args.client or args.interface:
            raise UsageError("--relay records its own two lines; leave out --meter, --client "
                             "and -i")
        named.append((args.relay, "meter"))
    elif getattr(args, "relay_link", None):
        raise UsageError("--relay-link goes with --relay PORT")
    named += [(p, "meter") for p in args.meter]
    named += [(p, "client") for p in args.client]
    named += [(p, "unknown") for p in args.interface]
    if not named and extcap_mode:
        raise UsageError("no serial port chosen: pick one (or type a device or URL) in the "
                         "interface options of 'MEP serial tap'")
    if not named:
        raise UsageError("no serial line given: use --meter PORT and/or --client PORT, or -i PORT "
                         f"({PROG} -D lists the ports)")
    seen = set()
    for port, _ in named:
        if port in seen:
            raise UsageError(f"port {port} is given twice; each adapter hears one line")
        seen.add(port)
    if args.baud <= 0:
        raise UsageError(f"--baud must be positive (the MEP default is {BAUD})")
    return [LineSpec(port, side, args.baud, args.bytesize, args.parity, args.stopbits)
            for port, side in named]


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _summary_lines(s: Summary) -> list[str]:
    c = s.counters
    lines = [f"Packets captured: {c.packets}"]
    detail = (f"{PROG}: {c.bytes_read} bytes read, {c.unframed_bytes} of them unframed "
              f"in {c.unframed_packets} packet(s)")
    if c.error_total:
        detail += f"; serial errors: {describe_errors(c.errors)}"
    if c.gaps:
        detail += f"; {c.gaps} port gap(s)"
    lines.append(detail)
    if s.dropped_after_limit:
        lines.append(f"{PROG}: {s.dropped_after_limit} bytes read after the limit were not "
                     "written")
    return lines


def run_capture(args: argparse.Namespace, specs: list[LineSpec], extcap_mode: bool) -> int:
    """Open the ports and the output, capture until a stop condition, report."""
    ring_opts = parse_conditions(args.ring, {"filesize": True, "duration": False, "files": True},
                                 "-b")
    stop = parse_conditions(args.autostop, {"duration": False, "filesize": True, "files": True,
                                            "packets": True}, "-a")
    if args.count is not None and args.count <= 0:
        raise UsageError("-c needs a positive packet count")
    try:
        dlt = check_dlt(args.dlt)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    ring = RingSpec(
        filesize=int(ring_opts["filesize"] * 1000) if "filesize" in ring_opts else None,
        duration=ring_opts.get("duration"),
        files=ring_opts.get("files"),
    )
    target = args.fifo if extcap_mode else args.write
    quiet = args.quiet or extcap_mode
    if ring.files and not ring.active:
        raise UsageError("-b files:N needs -b filesize:KB or -b duration:SEC as well")
    if target == "-" and not extcap_mode and sys.stdout.isatty():
        raise UsageError("-w - writes binary pcapng: pipe it (| wireshark -k -i -) or use -w FILE")
    if ring.active and (target is None or target == "-"):
        raise UsageError("a ring buffer (-b) needs -w FILE")
    if "files" in stop and not ring.active:
        raise UsageError("-a files:N needs a ring buffer (-b filesize:KB or -b duration:SEC)")
    if args.silence is not None and args.silence <= 0:
        raise UsageError("--silence must be positive (milliseconds)")
    if (warning := baud_warning(args.baud)) is not None and not extcap_mode:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)

    count = args.count
    if "packets" in stop:
        count = min(count, stop["packets"]) if count else stop["packets"]
    status = None
    if not quiet and sys.stderr.isatty():
        status = StatusLine(sys.stderr)
    secrets = None
    if args.embed_secrets:
        keys = keys_or_usage_error(key_file=args.key_file)
        if not keys:
            raise UsageError("--embed-secrets needs keys: --key-file FILE or MEP_MAK/MEP_MBK")
        secrets = LiveSecrets(keys)
    options = dict(
        max_packets=count, duration=stop.get("duration"), secrets=secrets,
        silence=args.silence / 1000 if args.silence is not None else None,
        status=status,
        log=(lambda msg: None) if extcap_mode else None,
    )
    relay = bool(getattr(args, "relay", None)) and not extcap_mode
    if relay:
        try:
            session = RelaySession(specs[0], args.relay_link, **options)
        except OSError as exc:
            raise UsageError(f"--relay-link {args.relay_link}: {exc.strerror or exc}") from None
        specs = session.specs
    else:
        session = CaptureSession(specs, **options)
    try:
        session.open_ports()  # before the output: a bad port must not truncate a file
    except PortError as exc:
        if relay:
            session.close_ports()
        print(f"{PROG}: {exc}", file=sys.stderr, flush=True)
        if extcap_mode:
            extcap.release_fifo(target)
        return 1

    temporary = target is None
    if temporary:
        fd, target = tempfile.mkstemp(prefix="mep-capture_", suffix=".pcapng")
        os.close(fd)
    try:
        session.output = PcapngOutput(
            target, dlt=dlt, tsresol=9 if args.nanoseconds else 6, ring=ring,
            stop_filesize=int(stop["filesize"] * 1000) if "filesize" in stop else None,
            stop_files=stop.get("files"), application=f"{PROG} {_version()}",
        )
    except OSError as exc:
        session.close_ports()
        reason = exc.strerror or str(exc)
        print(f"{PROG}: cannot write {target}: {reason} — choose a writable path for -w",
              file=sys.stderr)
        return 1
    output = session.output
    session.declare_interfaces()
    if not extcap_mode:
        for spec in specs:
            warning = latency_warning(spec.port)
            if warning:
                print(f"{PROG}: warning: {warning}", file=sys.stderr)
    if target != "-":  # -q hides the name unless mep-capture chose it
        _say(quiet and not temporary, f"File: {target if not ring.active else output.path}")
    names = ", ".join(f"'{s.port}' ({s.description})" for s in specs)
    _say(quiet, f"Capturing on {names}")
    if relay:
        # The pty is what the user needs: on stderr always, on stdout for scripts.
        print(f"{PROG}: relay: a client program opens {session.pty.name}; its bytes go to "
              f"{args.relay} and back", file=sys.stderr, flush=True)
        if target != "-":
            print(session.pty.name, flush=True)

    def on_signal(signum: int, frame: object) -> None:
        session.stop()

    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, on_signal)
    try:
        summary = session.run()
    except OSError as exc:
        print(f"{PROG}: writing {target} failed: {exc.strerror or exc} — the capture stopped; "
              "the file is readable up to the last packet written", file=sys.stderr)
        return 1
    if summary.reason == "output closed" and target == "-":
        # The reader went away (Wireshark closed): keep Python's exit flush quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if relay:
        session.close_ports()
        lost = session.not_passed
        if any(lost):
            print(f"{PROG}: relay: {lost[0]} byte(s) for the client program and {lost[1]} for "
                  f"{args.relay} could not be passed on (they are in the capture)",
                  file=sys.stderr)
    if not extcap_mode:
        lines = _summary_lines(summary)
        for line in lines if not args.quiet else lines[:1]:
            print(line, file=sys.stderr)
    return 0


def run_extcap(args: argparse.Namespace) -> int | None:
    """Answer Wireshark's extcap calls; None when the call is not one."""
    if args.extcap_interfaces:
        sys.stdout.write(extcap.interfaces_text(_version()))
        return 0
    if args.extcap_interface is None and not args.capture:
        return None
    if args.extcap_interface not in (None, extcap.INTERFACE):
        print(f"{PROG}: unknown extcap interface {args.extcap_interface!r}; "
              f"this tool offers '{extcap.INTERFACE}'", file=sys.stderr)
        return 1
    if args.extcap_dlts:
        sys.stdout.write(extcap.dlts_text(args.dlt))
        return 0
    if args.extcap_config:
        sys.stdout.write(extcap.config_text())
        return 0
    if args.capture:
        if not args.fifo:
            raise UsageError("--capture needs --fifo PATH (Wireshark passes it)")
        try:
            if extcap.filter_check_text(args.extcap_capture_filter or ""):
                raise UsageError("capture filters are not supported; use a display filter")
            specs = line_specs(args, extcap_mode=True)
        except UsageError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr, flush=True)
            extcap.release_fifo(args.fifo)
            return 2
        return run_capture(args, specs, extcap_mode=True)
    if args.extcap_capture_filter is not None:
        sys.stdout.write(extcap.filter_check_text(args.extcap_capture_filter))
        return 0
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mep-capture`` console script."""
    try:
        args = build_parser().parse_args(argv)
        answer = run_extcap(args)
        if answer is not None:
            return answer
        if args.list_ports:
            ports = list_ports()
            for i, (dev, desc) in enumerate(ports, 1):
                print(f"{i}. {dev}" + (f" ({desc})" if desc else ""))
            if not ports:
                print(f"{PROG}: no serial ports found — plug in the adapter(s)", file=sys.stderr)
            return 0
        if args.install_extcap is not None:
            from pathlib import Path

            dirs = [Path(args.install_extcap)] if args.install_extcap else None
            for path in extcap.install(dirs):
                print(f"installed {path}")
            print(f"restart Wireshark (or Capture > Refresh Interfaces) and pick "
                  f"'{extcap.DISPLAY}'")
            return 0
        return run_capture(args, line_specs(args), extcap_mode=False)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{PROG}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
