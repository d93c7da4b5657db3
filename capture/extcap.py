"""Wireshark extcap: "MEP serial tap" in Wireshark's interface list.

Wireshark runs every executable in its extcap folders with
``--extcap-interfaces`` to learn what they offer, then ``--extcap-dlts``
and ``--extcap-config`` for the chosen interface (the options dialog), and
finally ``--capture --fifo PATH`` with the chosen options; the capture is
pcapng written to that FIFO, stopped by SIGTERM or by Wireshark closing the
FIFO.  ``mep-capture --install-extcap`` drops a small launcher into the
personal extcap folder.

The options dialog names the line by what it hears, the same choice as
``--meter`` / ``--client`` / ``-i`` on the command line: a port and its
side, optionally a second port and its side (a two-adapter tap), and the
line settings.
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

from mepshark.dissector.capture_format import DLT_USER0
from mepshark.dissector.frames import BAUD

from .serialport import COMMON_BAUDS, list_ports

INTERFACE = "mep"
DISPLAY = "MEP serial tap"
LAUNCHER = "mep-capture"
SIDE_CALLS = {"port": "side", "port2": "side2"}
_SIDE_CHOICES = (
    ("meter", "meter TXD: responses and alerts"),
    ("client", "client TXD: requests"),
    ("unknown", "unknown: infer the direction per frame"),
)


def _esc(text: str) -> str:
    """extcap sentences use {} as delimiters; keep them out of values."""
    return text.replace("{", "(").replace("}", ")")


def interfaces_text(version: str) -> str:
    """Answer to ``--extcap-interfaces``."""
    return (
        f"extcap {{version={version}}}\n"
        f"interface {{value={INTERFACE}}}{{display={DISPLAY}}}\n"
    )


def dlts_text(dlt: int = DLT_USER0) -> str:
    """Answer to ``--extcap-dlts``: the user DLT the captures carry."""
    return f"dlt {{number={dlt}}}{{name=USER{dlt - 147}}}{{display=MEP frames (user DLT {dlt})}}\n"


def config_text(ports: list[tuple[str, str]] | None = None) -> str:
    """Answer to ``--extcap-config``: ports present now, sides, baud and framing.

    Wireshark 4.0 knows no ``editselector``, so each port is a selector of the
    ports found plus a text field for any other device or pyserial URL.
    """
    if ports is None:
        ports = list_ports()
    lines: list[str] = []

    def arg(n: int, call: str, display: str, kind: str, extra: str = "") -> None:
        lines.append(f"arg {{number={n}}}{{call=--{call}}}{{display={display}}}{{type={kind}}}"
                     f"{extra}")

    def value(n: int, val: str, display: str, default: bool = False) -> None:
        d = "{default=true}" if default else ""
        lines.append(f"value {{arg={n}}}{{value={_esc(val)}}}{{display={_esc(display)}}}{d}")

    def port_args(n: int, call: str, which: str, side_default: str, first: bool) -> None:
        arg(n, call, f"{which} port", "selector",
            f"{{tooltip=Serial ports found on this machine}}{{group={which} line}}")
        if not first:
            value(n, "none", "(none: a single line)", True)
        for i, (dev, desc) in enumerate(ports):
            value(n, dev, f"{dev} ({desc})" if desc else dev, first and i == 0)
        if first and not ports:
            value(n, "none", "(no serial port found: give one below)", True)
        arg(n + 1, f"{call}-path", "or device / URL", "string",
            f"{{tooltip=Any device path or pyserial URL (rfc2217://, socket://); "
            f"overrides the list}}{{group={which} line}}")
        arg(n + 2, SIDE_CALLS[call], "It hears", "radio",
            f"{{tooltip=Which wire the adapter listens to}}{{group={which} line}}")
        for val, disp in _SIDE_CHOICES:
            value(n + 2, val, disp, val == side_default)

    port_args(0, "port", "First", "meter", True)
    port_args(3, "port2", "Second", "client", False)
    arg(6, "baud", "Baud rate", "selector",
        f"{{tooltip=The MEP default is {BAUD}}}{{group=Settings}}")
    for b in COMMON_BAUDS:
        value(6, str(b), str(b), b == BAUD)
    arg(7, "bytesize", "Data bits", "selector", "{group=Settings}")
    for n in (8, 7):
        value(7, str(n), str(n), n == 8)
    arg(8, "parity", "Parity", "selector", "{group=Settings}")
    for val, disp in (("N", "none"), ("E", "even"), ("O", "odd")):
        value(8, val, disp, val == "N")
    arg(9, "stopbits", "Stop bits", "selector", "{group=Settings}")
    for s in ("1", "2"):
        value(9, s, s, s == "1")
    arg(10, "dlt", "User DLT", "integer",
        "{range=147,162}{default=147}{tooltip=Must match the MEP dissector's mep.dlt preference}"
        "{group=Settings}")
    return "\n".join(lines) + "\n"


def filter_check_text(capture_filter: str) -> str:
    """Wireshark validates capture filters by asking; there are none for a serial line."""
    if capture_filter.strip():
        return "mep-capture takes no capture filter; use a display filter (mep...)\n"
    return ""


def release_fifo(path: str, wait: float = 3.0) -> None:
    """Open and close Wireshark's FIFO so that it sees the end instead of waiting forever.

    Used when the capture cannot even start (bad options): Wireshark then
    shows what we printed on stderr.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                return  # no FIFO, or nobody reading it: nothing to release
            time.sleep(0.05)
            continue
        os.close(fd)
        return


# --- installation -------------------------------------------------------------

def wireshark_version() -> tuple[int, int] | None:
    """(major, minor) of the installed Wireshark/tshark, or None if none is found."""
    for tool in ("wireshark", "tshark", "dumpcap"):
        exe = shutil.which(tool)
        if not exe:
            continue
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        m = re.search(r"(\d+)\.(\d+)\.\d+", out)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def personal_extcap_dirs(version: tuple[int, int] | None = None) -> list[Path]:
    """The personal extcap folder(s): one for the Wireshark found, both if none is found.

    Up to 4.0 it lives with the configuration (``~/.config/wireshark/extcap``);
    from 4.1 on it is ``~/.local/lib/wireshark/extcap``.
    """
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    old = config / "wireshark" / "extcap"
    new = Path.home() / ".local" / "lib" / "wireshark" / "extcap"
    if sys.platform == "win32":
        appdata = Path(os.environ.get("APPDATA", Path.home()))
        old = new = appdata / "Wireshark" / "extcap"
    if version is None:
        return [old] if old == new else [old, new]
    return [old] if version < (4, 1) else [new]


def launcher_text() -> str:
    """A launcher that runs this very installation of mep-capture (same Python, same venv)."""
    if sys.platform == "win32":
        return f'@echo off\r\n"{sys.executable}" -m mepshark.capture %*\r\n'
    return (
        "#!/bin/sh\n"
        "# Wireshark extcap launcher written by `mep-capture --install-extcap`.\n"
        f"exec {shlex.quote(sys.executable)} -m mepshark.capture \"$@\"\n"
    )


def install(dirs: list[Path] | None = None) -> list[Path]:
    """Write the launcher into the personal extcap folder(s); returns the files written."""
    if dirs is None:
        dirs = personal_extcap_dirs(wireshark_version())
    name = LAUNCHER + (".bat" if sys.platform == "win32" else "")
    written = []
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        path = d / name
        path.write_text(launcher_text())
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        written.append(path)
    return written
