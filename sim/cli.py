"""``mep-sim``: a simulated OSGP/NES meter answering MEP on a serial port or a pty."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

from mepshark.capture.ptyline import PtyPair
from mepshark.capture.serialport import LineSpec, PortError, open_serial
from mepshark.dissector.c1218builders import password_bytes
from mepshark.dissector.c1218codes import BAUD_RATES
from mepshark.dissector.catalog.access import OPTICAL_KEYS
from mepshark.dissector.cliutil import Parser, UsageError, keys_or_usage_error, parse_conditions
from mepshark.dissector.frames import BAUD
from mepshark.dissector.security import Key
from mepshark.dissector.tlsendpoint import check as tls_check

from .faults import Faults
from .meter import Meter
from .optical import DEFAULT_LOCK, DEFAULT_PASSWORDS, HardwareLock, OpticalServer, Passwords
from .opticalport import OpticalPort
from .port import TICK, SimPort, Tap
from .server import MepServer
from .tapped import demo_keys
from .tlsservice import TLSService

PROG = "mep-sim"
ENV_PREFIX = "MEP_OPTICAL_"
"""Environment variables MEP_OPTICAL_MK, _PK and _RK give the optical passwords."""



def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG, allow_abbrev=False,
        description="Simulate the MEP port of a three-phase OSGP/NES meter.",
        epilog="Examples:\n"
        f"  {PROG} --pty --default-keys              # prints the port a client opens\n"
        f"  {PROG} --port /dev/ttyUSB0 --key-file keys.txt --tables meter.json\n"
        f"  {PROG} --port socket://192.0.2.7:4001 --default-keys   # a serial server\n"
        f"  {PROG} --pty /tmp/meter --tap /tmp/tap-meter /tmp/tap-client --default-keys\n"
        f"  {PROG} --optical --pty /tmp/probe          # ANSI C12.18 optical port\n"
        f"  {PROG} --shared-uart --pty /tmp/mep --optical-pty /tmp/probe --default-keys",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("line")
    w = g.add_mutually_exclusive_group()
    w.add_argument("--port", metavar="PORT",
                   help="serial port to serve on: a device or a pyserial URL "
                   "(socket://host:port, rfc2217://host:port, ...)")
    w.add_argument("--pty", nargs="?", const="", metavar="LINK",
                   help="create a pty pair (default); LINK names the client's end")
    g.add_argument("--baud", type=int, default=BAUD, help=f"baud rate (default {BAUD})")
    g.add_argument("--pace", action="store_true",
                   help="send at the baud rate's speed on a pty (a pty is instant otherwise)")
    g.add_argument("--tap", nargs=2, metavar=("METER_LINK", "CLIENT_LINK"),
                   help="mirror each direction onto a pty pair for mep-capture --meter/--client")
    op = p.add_argument_group("optical port (ANSI C12.18; docs/optical.md)")
    op.add_argument("--optical", action="store_true",
                    help="serve the optical port instead of MEP (on --pty or --port)")
    op.add_argument("--shared-uart", action="store_true",
                    help="Gen 2/3 meter: MEP on --pty, the optical port on --optical-pty; an "
                    "optical session switches MEP off, its answers appear on the MEP line too")
    op.add_argument("--optical-pty", nargs="?", const="", metavar="LINK",
                    help="with --shared-uart: LINK names the optical probe's end")
    for name, what in (("MK", "unique"), ("PK", "provisioning"), ("RK", "read-only")):
        op.add_argument(f"--{name.lower()}", metavar="PASSWORD",
                        help=f"the {what} key (default ${ENV_PREFIX}{name}, else "
                        f"{DEFAULT_PASSWORDS[name].decode()!r}; 'hex:…' for bytes; '' disables it)")
    op.add_argument("--hw-lock", action="append", metavar="ITEM",
                    help="hardware lock, answered isc whatever the key: BTnn/ETnn[:r|:w|:rw] or "
                    f"EPnn, repeatable; 'none' for no lock (default {' '.join(DEFAULT_LOCK)})")
    op.add_argument("--no-nak-first", action="store_true",
                    help="accept the first packet of a session (by default it is NAKed, as a "
                    "meter switching its UART over misses it)")
    k = p.add_argument_group("keys (MAK and/or MBK; never printed)")
    k.add_argument("--key-file", help="file with lines MBK=… and/or MAK=…")
    k.add_argument("--default-keys", action="store_true",
                   help="the guide's default MAK (sixteen 0x01) and an MBK of sixteen 0x02")
    m = p.add_argument_group("meter")
    m.add_argument("--tables", metavar="FILE", help="load table images from FILE (JSON)")
    m.add_argument("--save", metavar="FILE", help="write the table images to FILE and exit")
    m.add_argument("--static", action="store_true", help="no running energy, power or clock")
    m.add_argument("--sequence", type=lambda s: int(s, 0), help="last sequence number accepted")
    m.add_argument("--tls", action="store_true",
                   help="the port requires TLS-PSK: RC4 requests get 0x02 (TLS sessions are "
                   "served either way when python-mbedtls is installed)")
    m.add_argument("--alert-every", type=float, metavar="S",
                   help="raise a scheduled read request alert every S seconds")
    f = p.add_argument_group("misbehaviour (tests)")
    f.add_argument("--drop", type=int, default=0, metavar="N", help="drop the next N responses")
    f.add_argument("--corrupt", type=int, default=0, metavar="N",
                   help="damage the digest of the next N responses")
    f.add_argument("--garbage", type=int, default=0, metavar="N",
                   help="line noise before the next N responses")
    f.add_argument("--delay", type=float, default=0.0, metavar="MS",
                   help="delay every response by MS milliseconds")
    f.add_argument("--noise", type=float, default=0.0, metavar="P",
                   help="each response misbehaves at random with probability P")
    f.add_argument("--seed", type=int, default=1, help="random seed for --noise")
    o = p.add_argument_group("other")
    o.add_argument("-a", dest="autostop", metavar="duration:S", help="stop after S seconds")
    o.add_argument("-q", dest="quiet", action="store_true", help="no messages")
    return p


def keys_from(args: argparse.Namespace) -> list[Key]:
    if args.default_keys:
        return demo_keys()
    keys = keys_or_usage_error(args.key_file)
    if not keys:
        raise UsageError("no key: give --key-file, set MEP_MAK/MEP_MBK, or use --default-keys")
    return keys


def _password(text: str) -> bytes | None:
    try:
        return password_bytes(text) or None
    except ValueError as exc:
        raise UsageError(f"password {text[:4]}…: {exc}") from None


def passwords_from(args: argparse.Namespace) -> Passwords:
    """The optical passwords: options, else environment, else the documented defaults."""
    got = {}
    for name in OPTICAL_KEYS:
        text = getattr(args, name.lower())
        if text is None:
            text = os.environ.get(ENV_PREFIX + name)
        got[name.lower()] = DEFAULT_PASSWORDS[name] if text is None else _password(text)
    return Passwords(**got)


def optical_server(args: argparse.Namespace, meter: Meter) -> OpticalServer:
    try:
        lock = HardwareLock.parse(args.hw_lock if args.hw_lock is not None else DEFAULT_LOCK)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    code = next((c for c, rate in BAUD_RATES.items() if rate == args.baud), 0)
    return OpticalServer(meter, passwords_from(args), lock, baud_code=code)


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    return parse_conditions([text], {"duration": False}, "-a")["duration"]


def run(args: argparse.Namespace) -> int:
    say = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr,
                                                                    flush=True))
    meter = Meter.load(args.tables, animate=not args.static) if args.tables else Meter(
        animate=not args.static)
    if args.save:
        meter.save(args.save)
        say(f"{PROG}: wrote {len(meter.images)} table images to {args.save}")
        return 0
    if args.optical and args.shared_uart:
        raise UsageError("--optical serves the optical port alone; --shared-uart serves both")
    if args.optical_pty is not None and not args.shared_uart:
        raise UsageError("--optical-pty goes with --shared-uart (--optical uses --pty)")
    if args.optical:
        return run_optical(args, meter, say)
    keys = keys_from(args)
    tls = None
    if args.tls:
        try:
            tls_check(1)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        tls = TLSService(keys, required=True)
    server = MepServer(meter, keys, tls=tls)
    if args.sequence is not None:
        server.last_sequence = args.sequence & 0xFFFFFFFF
    duration = _duration(args.autostop)
    faults = Faults(drop=args.drop, corrupt=args.corrupt, garbage=args.garbage,
                    delay=args.delay / 1000, rate=args.noise, seed=args.seed)
    opened = []
    if args.port:
        ser = open_serial(LineSpec(args.port, baud=args.baud), timeout=TICK)
        ser.write_timeout = 1.0
        opened.append(ser)
        # A local device is served through its file descriptor, a URL through pyserial.
        fd = ser.fileno() if type(ser).__module__ == "serial.serialposix" else ser
        where = args.port
    else:
        pair = PtyPair(args.pty or None)
        opened.append(pair)
        fd, where = pair.master, pair.name
    tap = Tap()
    if args.tap:
        tm, tc = PtyPair(args.tap[0]), PtyPair(args.tap[1])
        opened += [tm, tc]
        tap = Tap(meter=tm.master, client=tc.master)
        say(f"{PROG}: taps: meter side {tm.name}, client side {tc.name}")
    port = SimPort(fd, server, faults=faults, tap=tap,
                   baud=args.baud if args.pace and not args.port else None,
                   line_baud=args.baud,
                   alert_every=args.alert_every, log=say)
    # The client's end goes to stdout (one line, for scripts); the rest to stderr.
    print(where, flush=True)
    say(f"{PROG}: serving a three-phase meter on {where} "
        f"({', '.join(k.name for k in server.keys)}); Ctrl-C to stop")
    optical = None
    if args.shared_uart:
        probe = PtyPair(args.optical_pty or None)
        opened.append(probe)

        def switch(active: bool) -> None:
            port.switched_out = active

        # The optical answers leave on the shared transmitter: the MEP line and its tap hear them.
        mirrors = [m for m in (fd, tap.meter) if isinstance(m, int)]
        optical = OpticalPort(probe.master, optical_server(args, meter),
                              nak_first=not args.no_nak_first, mirrors=mirrors,
                              on_session=switch, log=say)
        print(probe.name, flush=True)
        say(f"{PROG}: shared UART: the optical port is {probe.name}; an optical session there "
            f"makes {where} unresponsive")
        threading.Thread(target=optical.serve, name="mep-sim-optical", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: port.stop())
    try:
        port.serve(duration)
    except KeyboardInterrupt:
        pass
    finally:
        # Ctrl-C while shutting down (or after the line went away): no traceback.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        if optical is not None:
            optical.stop()
        for thing in opened:
            thing.close()
    s = port.stats
    say(f"{PROG}: {s['requests']} requests, {s['responses']} responses, {s['alerts']} alerts, "
        f"{s['dropped']} dropped")
    signal.signal(signal.SIGINT, previous)
    return 0


def run_optical(args: argparse.Namespace, meter: Meter, say) -> int:
    """``--optical``: the C12.18 server alone, on a pty or a port."""
    server = optical_server(args, meter)
    opened = []
    if args.port:
        ser = open_serial(LineSpec(args.port, baud=args.baud), timeout=TICK)
        opened.append(ser)
        if type(ser).__module__ != "serial.serialposix":
            ser.close()
            raise UsageError("--optical serves a local device or a pty, not a URL")
        fd, where = ser.fileno(), args.port
        os.set_blocking(fd, False)
    else:
        pair = PtyPair(args.pty or None)
        opened.append(pair)
        fd, where = pair.master, pair.name
    byte_time = 10 / args.baud if args.pace and not args.port else 0.0
    port = OpticalPort(fd, server, nak_first=not args.no_nak_first, byte_time=byte_time, log=say)
    print(where, flush=True)
    keys = [k for k in OPTICAL_KEYS if getattr(server.passwords, k.lower())]
    say(f"{PROG}: serving an ANSI C12.18 optical port on {where} (keys {', '.join(keys)}); "
        "Ctrl-C to stop")
    signal.signal(signal.SIGTERM, lambda *_: port.stop())
    try:
        port.serve(_duration(args.autostop))
    except KeyboardInterrupt:
        pass
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        for thing in opened:
            thing.close()
    s = port.stats
    say(f"{PROG}: {s['requests']} optical requests, {s['packets']} packets, "
        f"{s['naks_sent']} NAKs sent, {s['resent']} packets resent")
    signal.signal(signal.SIGINT, previous)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(build_parser().parse_args(argv))
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except PortError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG}: {exc.strerror or exc} ({getattr(exc, 'filename', '') or ''}); "
              "check the port name and your permissions", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
