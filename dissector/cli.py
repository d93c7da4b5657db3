"""``mep-dissector``: decode MEP captures with scapy; generate, install and check the Lua dissector.

``mep-dissector decode FILE`` prints one line per frame in the style of
Wireshark's Info column (``-V`` adds the decoded fields, the expert notes
and the problems of malformed frames).  Keys come from ``--key-file``, the
``MEP_MBK``/``MEP_MAK`` environment variables, or ``--mbk``/``--mak``
(visible to other users in the process list: prefer the first two).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from scapy.error import Scapy_Exception

from .capture_format import DLT_USER0
from .context import DIGEST_STATUS, DIRECTIONS, FrameInfo, time_is_real
from .frames import BAUD, MEP
from .link import read_capture
from .security import load_keys


def _arrow(fi: FrameInfo) -> str:
    if fi.direction is None:
        return "?"
    return DIRECTIONS[fi.direction] + (" (inferred)" if fi.direction_inferred else "")


def _arrival(t: float) -> str:
    """The absolute time of a frame; one no clock can read is shown as seconds."""
    if not time_is_real(t):
        return f"{t:.6f} s after 1970-01-01 UTC (past the year 9999: not a real time)"
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="microseconds")


def _own_layers(pkt: MEP) -> MEP:
    """The frame without the record's later frames (which its Raw payload keeps)."""
    return type(pkt)(pkt.frame_bytes) if pkt.next_frame is not None else pkt


def print_frames(frames: list[FrameInfo], verbose: bool = False, out=None) -> None:
    out = out or sys.stdout  # looked up now, so that redirections apply
    # times relative to the first frame a clock could have stamped
    t0 = next((fi.time for fi in frames if time_is_real(fi.time)), 0.0)
    for fi in frames:
        print(f"{fi.number:5d} {fi.time - t0:10.6f}  {_arrow(fi):16s} {fi.summary()}", file=out)
        if not verbose:
            continue
        print(f"      arrival {_arrival(fi.time)}", file=out)
        if fi.digest_status is not None:
            key = f" ({fi.key})" if fi.key else ""
            print(f"      digest: {DIGEST_STATUS[fi.digest_status]}{key}", file=out)
        if fi.packet is not None:
            for line in _own_layers(fi.packet).show(dump=True).splitlines():
                print("      " + line, file=out)
        tls = getattr(fi, "tls", None)
        if tls is not None and tls.packet is not None:  # a TLS frame's plaintext
            for line in tls.packet.show(dump=True).splitlines():
                print("      " + line, file=out)
        elif tls is not None and tls.problem:
            print(f"      TLS: {tls.problem}", file=out)
        service = getattr(fi, "service", None)  # a C12.18 message's service
        if service is not None:
            for line in service.show(dump=True).splitlines():
                print("      " + line, file=out)
        if fi.table is not None:
            t = fi.table
            print(f"      {t.tag} contents (offset {t.offset}, {t.length} bytes):", file=out)
            for d in t.fields:
                note = f"  [{d.note}]" if d.note else ""
                print(f"        @{d.slot.offset:<4d} {d.slot.path} = {d.text}{note}", file=out)
            for dim in t.defaults_used:
                print(f"        (no {dim} seen earlier: the guide's default was used)", file=out)
            for problem in t.problems:
                print(f"        problem: {problem}", file=out)
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
    with _reader_warnings() as warnings:
        try:
            # decoded here, inside the collection of the reader's warnings
            frames = list(read_capture(args.file, keys, dlt=args.dlt, baud=args.baud))
        except (OSError, Scapy_Exception) as exc:
            print(f"mep-dissector: cannot read {args.file}: {exc}", file=sys.stderr)
            return 2
        except ValueError as exc:
            print(f"mep-dissector: {exc}", file=sys.stderr)
            return 2
    print_frames(frames, args.verbose)
    if warnings:
        more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
        print(f"mep-dissector: warning: {args.file} is damaged: {warnings[0]}{more}; "
              "what could be read is decoded above", file=sys.stderr)
    return 0


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _reader_warnings() -> Iterator[list[str]]:
    """The warnings of scapy's reader (a block cut short, an undeclared
    interface), collected rather than printed as they come, so that decode
    reports them in one line after the frames."""
    log = logging.getLogger("scapy.runtime")
    handler, propagate = _Collect(), log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        yield handler.messages
    finally:
        log.removeHandler(handler)
        log.propagate = propagate


def _decode_guarded(args: argparse.Namespace) -> int:
    """:func:`_decode`, ending in one line whatever happens: bad input is
    decoded and flagged, so an exception here is a bug to report, not a
    reason for a traceback."""
    try:
        return _decode(args)
    except KeyboardInterrupt:
        print("mep-dissector: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:  # noqa: BLE001 - the one-line promise holds for bugs too
        print(f"mep-dissector: cannot decode {args.file}: {type(exc).__name__}: {exc} "
              "(a bug: please report it with the capture)", file=sys.stderr)
        return 1


def _tls_secrets(args: argparse.Namespace) -> int:
    """Each TLS session's master secret, for Wireshark: a key log and/or a copy with a DSB."""
    from .tlssecrets import inject_secrets, session_report, track_sessions

    if not (args.keylog or args.output):
        print("mep-dissector: say where the secrets go: --keylog FILE and/or -w FILE",
              file=sys.stderr)
        return 2
    try:
        keys = load_keys(args.mbk, args.mak, args.key_file)
        frames = read_capture(args.file, keys, dlt=args.dlt)
        tracker = track_sessions(frames, keys)
        lines = list(tracker.keylog())
        text = "".join(line + "\n" for line in lines)
        if args.keylog:
            Path(args.keylog).write_text(text)
        if args.output:
            inject_secrets(args.file, args.output, text)
    except (OSError, ValueError, Scapy_Exception) as exc:
        print(f"mep-dissector: {exc}", file=sys.stderr)
        return 2
    for line in session_report(tracker):
        print(line)
    print(f"{len(lines)} secret(s) written" if lines else "no session could be opened")
    return 0 if lines else 1


def plugin_dir() -> Path:
    """Wireshark's personal Lua plugin folder (the same on every 4.x release)."""
    return Path.home() / ".local" / "lib" / "wireshark" / "plugins"


def _generate(args: argparse.Namespace) -> int:
    from .luagen import OUTPUT, generate

    text = generate()
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    path = Path(args.output) if args.output else OUTPUT
    path.write_text(text)
    print(f"wrote {path} ({len(text.splitlines())} lines)")
    return 0


def _packaged_lua() -> str:
    from .luagen import OUTPUT, generate

    return OUTPUT.read_text() if OUTPUT.exists() else generate()


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _install_folder() -> tuple[Path, str | None]:
    """Where this user's Wireshark reads Lua plugins from, and why if not the usual.

    Raises :class:`~.wireshark.TsharkError` with the reason when there is no such place.
    """
    from . import wireshark as ws

    try:
        tshark = ws.find_tshark()
    except ws.TsharkError as exc:
        return plugin_dir(), f"{exc}; installing into the personal folder Wireshark 4.x reads"
    if tshark.lua is None:
        raise ws.TsharkError(f"{tshark.path} (Wireshark {tshark.version_text}) has no Lua: "
                             "it cannot run the MEP dissector")
    if ws.runs_user_lua(tshark):
        return tshark.personal_lua, None
    if tshark.global_lua is None:
        raise ws.TsharkError(f"Wireshark {tshark.version_text} runs no personal Lua plugins "
                             f"as {_user()} and names no global Lua folder (tshark -G folders)")
    return tshark.global_lua, (f"Wireshark {tshark.version_text} runs no personal Lua plugins "
                               f"as {_user()}: installing into its global plugin folder")


def _install(args: argparse.Namespace) -> int:
    from . import wireshark as ws

    text = _packaged_lua()
    if args.dir:
        folder, why = Path(args.dir), None
    else:
        try:
            folder, why = _install_folder()
        except ws.TsharkError as exc:
            print(f"mep-dissector: cannot install: {exc}", file=sys.stderr)
            return 2
    target = folder / "mep.lua"
    if why:
        print(why)
    if args.dry_run:
        print(f"would install {target}")
        return 0
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    except OSError as exc:
        hint = ""
        if why and "global" in why:
            hint = ("; as root, Wireshark 4.4 and later read no other folder: run Wireshark "
                    "as a normal user and mep-dissector install as that user")
        print(f"mep-dissector: cannot install into {folder}: {exc.strerror or exc}{hint}",
              file=sys.stderr)
        return 2
    print(f"installed {target}")
    for note in _other_copies(target, text):
        print(note)
    print("restart Wireshark (or Analyze > Reload Lua Plugins); check with: mep-dissector check")
    return 0


def _other_copies(target: Path, text: str) -> list[str]:
    """Notes on MEP dissectors other than ``target`` in the folders Wireshark reads."""
    from . import wireshark as ws

    try:
        tshark = ws.find_tshark()
    except ws.TsharkError:
        return []
    folders = [f for f in (tshark.global_lua, tshark.personal_lua) if f is not None]
    notes = []
    for c in ws.mep_copies(folders, text):
        if c.path.resolve() == target.resolve():
            continue
        if c.guarded:
            notes.append(f"note: another copy at {c.path}: whichever loads second steps aside "
                         "(global folder first, then personal, then -X lua_script:)")
        else:
            notes.append(f"warning: an old copy at {c.path} makes Wireshark report two "
                         "protocols with the same description: remove it")
    return notes


def _check(args: argparse.Namespace) -> int:
    """Report what this user's Wireshark does with the MEP dissector; 0 when it loads."""
    from . import wireshark as ws

    try:
        tshark = ws.find_tshark()
    except ws.TsharkError as exc:
        print(f"tshark: {exc}")
        return 1
    lua = f"Lua {tshark.lua}" if tshark.lua else "no Lua"
    print(f"tshark: {tshark.path} (Wireshark {tshark.version_text}, {lua})")
    user = f"{_user()}{' (privileged)' if ws.privileged() else ''}"
    if tshark.lua is None:
        print("this Wireshark cannot run Lua plugins, so not the MEP dissector")
        return 1
    try:
        user_lua = ws.runs_user_lua(tshark)
        loaded = ws.loaded_lua_plugins(tshark)
        registered = ws.protocol_registered(tshark)
    except ws.TsharkError as exc:
        print(f"tshark failed: {exc}")
        return 1
    if user_lua:
        print(f"user: {user}: personal Lua plugins and -X lua_script: run")
    else:
        print(f"user: {user}: Wireshark {tshark.version_text} runs NO personal Lua plugin and "
              "no -X lua_script: for this user, only the global folder")
    personal_note = "" if user_lua else "  (not read for this user)"
    print(f"personal Lua folder: {tshark.personal_lua}{personal_note}")
    print(f"global Lua folder: {tshark.global_lua or '(none)'}")
    text = _packaged_lua()
    folders = [f for f in (tshark.global_lua, tshark.personal_lua) if f is not None]
    copies = ws.mep_copies(folders, text)
    loaded_set = {p.resolve() for p in loaded}
    active = next((c for c in copies if c.path.resolve() in loaded_set), None)
    status = 0
    if registered and active:
        same = "the same as" if active.current else "DIFFERENT from"
        print(f"MEP dissector: loaded from {active.path} ({same} this mepshark's mep.lua"
              f"{'' if active.current else ': run mep-dissector install'})")
    elif registered:
        print("MEP dissector: a protocol named mep is loaded, not from a Lua plugin folder")
    else:
        print("MEP dissector: NOT loaded for this user: run mep-dissector install")
        status = 1
    for c in copies:
        if c is active:
            continue
        if not c.path.resolve().is_relative_to(tshark.personal_lua.resolve()) or user_lua:
            if c.guarded:
                print(f"duplicate: {c.path}: steps aside (one line on stderr)")
            else:
                print(f"duplicate: {c.path}: an old copy: Wireshark reports two protocols "
                      "with the same description: remove it")
                status = 1
        else:
            print(f"unused copy: {c.path}: this user's Wireshark does not read it")
    return status


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
    d.add_argument("--baud", type=int, default=BAUD, help="line speed, for timing checks")
    d.set_defaults(func=_decode_guarded)
    t = sub.add_parser("tls-secrets", help="compute the TLS sessions' secrets for Wireshark")
    t.add_argument("file")
    t.add_argument("--keylog", metavar="FILE", help="write an NSS key log (tls.keylog_file)")
    t.add_argument("-w", dest="output", metavar="FILE",
                   help="write a copy of the capture with the secrets embedded (pcapng DSB)")
    t.add_argument("--key-file", help="file with lines MBK=… and/or MAK=…")
    t.add_argument("--mbk", help="MEP Basic Key (ASCII or hex)")
    t.add_argument("--mak", help="MEP Advanced Key (ASCII or hex)")
    t.add_argument("--dlt", type=int, default=DLT_USER0, help="user DLT of the capture")
    t.set_defaults(func=_tls_secrets)
    g = sub.add_parser("generate", help="write the Lua dissector from the scapy definitions")
    g.add_argument("-o", "--output", help="output file (default: the packaged mep.lua; - = stdout)")
    g.set_defaults(func=_generate)
    i = sub.add_parser("install", help="copy mep.lua to where this user's Wireshark loads it")
    i.add_argument("--dir", help="plugin folder (default: ~/.local/lib/wireshark/plugins, or "
                   "Wireshark's global folder for root on Wireshark 4.4 and later)")
    i.add_argument("-n", "--dry-run", action="store_true",
                   help="say where it would go, write nothing")
    i.set_defaults(func=_install)
    c = sub.add_parser("check", help="tshark and Lua versions; whether and where the MEP "
                       "dissector loads for this user; duplicates")
    c.set_defaults(func=_check)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("mep-dissector: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
