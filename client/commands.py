"""``mep-client``: read an OSGP/NES meter over its MEP port.

Examples::

    mep-client --port /dev/ttyUSB0 --key-file keys.txt read BT28
    MEP_MAK=… mep-client --port /dev/pts/5 --json read ET03
    mep-client --port /dev/pts/5 --key-file keys.txt --encrypt watch -c 10
    mep-client --port /dev/pts/5 --key-file keys.txt -w me.pcapng alerts -a duration:5
    mep-client --port /dev/ttyUSB0 --enable dtr --key-file keys.txt watch
    MEP_OPTICAL_PASSWORD=… mep-client optical /dev/ttyUSB0 BT28   # optical port (C12.18)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager

from mepshark.capture.serialport import explain
from mepshark.dissector.cliutil import (
    Parser,
    UsageError,
    baud_warning,
    keys_or_usage_error,
    parse_conditions,
)
from mepshark.dissector.frames import BAUD
from mepshark.dissector.security import Key
from mepshark.dissector.tables import table_id, table_label, table_tag
from mepshark.dissector.tlsendpoint import check as tls_check

from .link import ENABLE_LINES, RESET_AFTER, EnableError, Link, NoResponse
from .recorder import Recorder
from .session import AuthError, GaveUp, MepClient, MepError
from .tlschannel import INVALID_IDENTITY, TLSRefused
from .values import as_json, as_text, watch_line, watch_record

PROG = "mep-client"
ALERTS_DURATION = 10.0
"""How long ``alerts`` listens without ``-a duration:N``."""


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
    p.add_argument("--port", required=True,
                   help="serial port or pyserial URL (or the pty mep-sim printed)")
    p.add_argument("--baud", type=int, default=BAUD, help=f"baud rate (default {BAUD})")
    p.add_argument("--key-file", help="file with lines MBK=… and/or MAK=… "
                   "(default: environment variables MEP_MAK / MEP_MBK)")
    p.add_argument("--use", choices=("MAK", "MBK"), type=str.upper,
                   help="which key to use (default: the MAK if given, else the MBK)")
    p.add_argument("--encrypt", action="store_true", help="RC4-encrypt requests")
    p.add_argument("--tls", action="store_true",
                   help="use TLS-PSK instead of RC4 (needs python-mbedtls: mepshark[tls])")
    p.add_argument("--embed-secrets", action="store_true",
                   help="with --tls and -w: put each session's TLS secret into the file, so "
                   "Wireshark decrypts it with no key (the file then opens those sessions)")
    p.add_argument("--client-id", type=lambda s: int(s, 0), default=1, metavar="N",
                   help="with --tls: the client id of the PSK identity (default 1; both "
                   "bytes below 0x80 with python-mbedtls)")
    p.add_argument("--json", action="store_true", help="JSON output (one object per line)")
    p.add_argument("--sequence", type=lambda s: int(s, 0),
                   help="first sequence number (default random; 0x0C resynchronises)")
    p.add_argument("--enable", choices=ENABLE_LINES, type=str.lower,
                   help="drive ENABLE (MEP pin 2) with this modem line: raised while the "
                   "client runs, dropped and raised again to reset the meter's port")
    p.add_argument("--reset-after", type=float, default=RESET_AFTER, metavar="SEC",
                   help=f"with --enable: reset the port when a request has had no answer for "
                   f"SEC seconds (default {RESET_AFTER:g}; 0: never)")
    # -w and -a as mep-capture and dumpcap spell them, before or after the command
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("-w", "--pcapng", dest="pcapng", metavar="FILE",
                        help="record this session to FILE (pcapng)")
    stop = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    stop.add_argument("-a", dest="autostop", action="append", metavar="duration:SEC",
                      help="stop after SEC seconds")
    p.add_argument("-w", "--pcapng", dest="pcapng", metavar="FILE",
                   help="record this session to FILE (pcapng)")
    p.add_argument("-a", dest="autostop", action="append", default=[], metavar="duration:SEC",
                   help="watch, alerts: stop after SEC seconds")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    r = sub.add_parser("read", parents=[common], help="read and decode tables")
    r.add_argument("tables", nargs="+", metavar="TABLE", type=table_arg,
                   help="table tag, e.g. BT28 ET03")
    r.add_argument("--offset", type=int, help="partial read from this offset")
    r.add_argument("--count", type=int, help="partial read of this many bytes")
    w = sub.add_parser("watch", parents=[common, stop],
                       help="live power, voltage, current and energy (Ctrl-C stops)")
    w.add_argument("--interval", type=float, default=1.0, help="seconds between reads")
    w.add_argument("-c", dest="count", type=int, help="stop after N readings")
    a = sub.add_parser("alerts", parents=[common, stop],
                       help="answer the meter's alerts for a while (Ctrl-C stops)")
    a.add_argument("--duration", type=float, help=f"seconds (default {ALERTS_DURATION:g}; "
                   "the same as -a duration:SEC)")
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


def duration_of(args: argparse.Namespace) -> float | None:
    """Seconds the command may run: ``-a duration:N`` or ``--duration``; None: no limit."""
    limit = parse_conditions(args.autostop, {"duration": False}, "-a").get("duration")
    if args.command == "read":
        if limit is not None:
            raise UsageError("-a duration:N is for watch and alerts; read ends by itself")
        return None
    if args.command == "alerts":
        if getattr(args, "duration", None) is not None:
            if args.duration <= 0:
                raise UsageError("--duration must be positive")
            limit = args.duration if limit is None else limit
        return ALERTS_DURATION if limit is None else limit
    return limit


@contextmanager
def _signals_held():
    """Hold SIGINT/SIGTERM back meanwhile: a Ctrl-C never cuts an output line in two."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):  # Windows
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _emit(args, obj: dict, lines: list[str]) -> None:
    text = json.dumps(obj) if args.json else "\n".join(lines)
    with _signals_held():
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _note(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


COUNTERS = (("retries", "retry", "retries"), ("resyncs", "resync", None),
            ("bad_digests", "bad digest", None), ("resets", "port reset", None))
"""Link and session counters a summary names when they are not zero."""


class Session:
    """One run of a command; counts what the summary line reports."""

    def __init__(self, args: argparse.Namespace, client: MepClient, limit: float | None):
        self.args = args
        self.client = client
        self.link = client.link
        self.limit = limit
        self.start = time.monotonic()
        self.readings = 0
        self.actions = 0
        self.noted: set[int] = set()

    def read(self, tag: str, offset: int | None = None, count: int | None = None):
        dec = self.client.read(tag, offset, count)
        for tid, why in self.client.in_parts.items():
            if tid not in self.noted:
                self.noted.add(tid)
                _note(f"{table_label(tid)}: full read failed ({why}); read in parts instead")
        return dec

    def service(self) -> None:
        if self.link.alerts:
            for action in self.client.service_alerts(posted=b"mepshark"):
                self.actions += 1
                text = ", ".join(f"{k}={v}" for k, v in action.items())
                _emit(self.args, {"alert": action}, [f"alert serviced: {text}"])

    def left(self) -> float:
        if self.limit is None:
            return float("inf")
        return self.start + self.limit - time.monotonic()

    # --- commands ------------------------------------------------------------------

    def do_read(self) -> None:
        args = self.args
        for tag in args.tables:
            dec = self.read(tag, args.offset, args.count)
            off = args.offset or 0
            _emit(args, as_json(tag, dec, off), as_text(tag, dec, off))

    def do_watch(self) -> None:
        args = self.args
        while args.count is None or self.readings < args.count:
            t = time.monotonic()
            self.service()
            rec = watch_record(self.read("BT28"), self.read("BT23"))
            now = dt.datetime.now()
            _emit(args, {"time": now.isoformat(timespec="seconds"), **rec},
                  [watch_line(rec, now)])
            self.readings += 1
            if args.count is not None and self.readings >= args.count:
                break
            pause = min(max(0.0, args.interval - (time.monotonic() - t)), self.left())
            self.link.idle(pause)
            if self.left() <= 0:
                break

    def do_alerts(self) -> None:
        if sys.stderr.isatty():
            _note(f"answering alerts on {self.args.port} for {self.limit:g} s (Ctrl-C stops)")
        while (left := self.left()) > 0:
            self.link.idle(min(0.2, left))
            self.service()

    # --- summaries -----------------------------------------------------------------

    def counters(self) -> str:
        stats = {**self.link.stats, **self.client.stats}
        parts = [_plural(stats[k], one, many) for k, one, many in COUNTERS if stats.get(k)]
        return f" ({', '.join(parts)})" if parts else ""

    def summary(self, stopped: bool) -> str | None:
        took = time.monotonic() - self.start
        cmd = self.args.command
        if cmd == "watch":
            if not stopped:
                return None
            return (f"watch stopped after {_plural(self.readings, 'reading')} in {took:.1f} s"
                    f"{self.counters()}")
        alerts = self.link.stats["alerts"]
        if cmd == "alerts":
            head = f"alerts stopped after {took:.1f} s" if stopped else None
            if not alerts:
                tail = f"no alert came in {took:.1f} s"
                return f"{head}: {tail}" if head else tail
            tail = (f"{_plural(alerts, 'alert')} received, {_plural(self.actions, 'action')} "
                    f"taken{self.counters()}")
            return f"{head}: {tail}" if head else f"{tail} in {took:.1f} s"
        return "interrupted" if stopped else None


def _open(args: argparse.Namespace, key: Key) -> Link:
    """The link with its recorder; every failure as one line naming the port or file."""
    recorder = None
    if args.pcapng:
        try:
            recorder = Recorder(args.pcapng, args.port, args.baud,
                                secrets=[key] if args.embed_secrets else ())
        except OSError as exc:
            raise UsageError(f"-w {args.pcapng}: {exc.strerror or exc}") from None
    try:
        return Link(args.port, args.baud, recorder=recorder, enable=args.enable,
                    reset_after=args.reset_after)
    except (OSError, ValueError) as exc:  # SerialException is an OSError
        if recorder is not None:  # nothing recorded: leave no empty file behind
            recorder.close()
            os.unlink(args.pcapng)
        if isinstance(exc, EnableError):
            raise PortProblem(f"--enable {args.enable}: {exc.strerror}") from None
        raise PortProblem(explain(args.port, exc)) from None
    except BaseException:
        if recorder is not None:
            recorder.close()
        raise


class PortProblem(Exception):
    """The port cannot be opened or cannot drive ENABLE; the text says why."""


def run(args: argparse.Namespace) -> int:
    key = pick_key(args)
    limit = duration_of(args)
    if args.baud <= 0:
        raise UsageError(f"--baud must be positive (the MEP default is {BAUD})")
    if (warning := baud_warning(args.baud)) is not None:
        _note(f"warning: {warning}")
    if args.reset_after < 0:
        raise UsageError("--reset-after must be 0 (never) or positive")
    if args.tls:
        if args.encrypt:
            raise UsageError("--tls and --encrypt exclude each other (TLS encrypts anyway)")
        try:
            tls_check(args.client_id)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.embed_secrets and not (args.tls and args.pcapng):
        raise UsageError("--embed-secrets needs --tls and -w FILE")
    link = _open(args, key)
    client = MepClient(link, key, encrypt=args.encrypt, sequence=args.sequence, tls=args.tls,
                       client_id=args.client_id)
    session = Session(args, client, limit)
    stopped = False
    try:
        try:
            getattr(session, f"do_{args.command}")()
        except KeyboardInterrupt:
            stopped = True
    finally:
        link.close()
    if (line := session.summary(stopped)) is not None:
        _note(line)
    return 130 if stopped and args.command == "read" else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["optical"]:  # its own command line: the probe's port comes first
        from .opticalcli import main as optical

        return optical(argv[1:])
    try:
        return run(build_parser().parse_args(argv))
    except UsageError as exc:
        _note(str(exc))
        return 2
    except PortProblem as exc:
        _note(str(exc))
        return 1
    except NoResponse as exc:
        hint = "the wiring and ENABLE" if "reset" in str(exc) else \
            "the baud rate, the wiring and ENABLE (--enable)"
        _note(f"{exc}; check {hint}")
        return 1
    except MepError as exc:
        hint = "; check the key" if isinstance(exc, AuthError) else ""
        _note(f"{exc}{hint}")
        return 1
    except GaveUp as exc:
        _note(f"{exc}; check the line")
        return 1
    except TLSRefused as exc:
        hint = "; check the key" if exc.code == INVALID_IDENTITY else ""
        _note(f"{exc}{hint}")
        return 1
    except OSError as exc:
        _note(f"{exc.strerror or exc} ({getattr(exc, 'filename', None) or 'the port'})")
        return 1
