#!/usr/bin/env python3
"""Screenshots of Wireshark showing a decoded MEP capture, for the README and docs.

Usage: python docs/make_screenshots.py [--capture pcaps/demo.pcapng] [--out docs/img]

Runs the real Wireshark (Debian's wireshark-qt) on a virtual screen (Xvfb)
with the generated plugin and a throw-away profile (no address columns: the
arrows beside the numbers give the direction), goes to one frame, expands
its tree and saves a PNG per view.  Needs: wireshark-qt, xvfb, xdotool,
imagemagick (``make screenshots`` installs them).  Rerun it whenever the
dissector's look changes and look at the pictures before committing them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "dissector" / "mep.lua"
SIZE = (1500, 950)
DETAILS_Y = SIZE[1] - 80
"""A window y inside the details pane, below its lines: a click there gives it the focus."""

PREFERENCES = """\
gui.column.format: "No.", "%m", "Time", "%t", "Protocol", "%p", "Length", "%L", "Info", "%i"
gui.layout_type: 1
gui.layout_content_3: NONE
gui.packet_list_show_minimap: FALSE
gui.geometry_save_position: FALSE
"""
KEYS = {"mep.mak": "01" * 16, "mep.mbk": "02" * 16}
"""The keys of ``mep-sim --default-keys``, with which ``pcaps/demo.pcapng`` was recorded."""

VIEWS = [
    # name, display filter, Info text that picks the frame to open (first match)
    ("packet-list", "", "Request: Full Table Read BT28"),
    ("table-tree", "", "Response: OK cnt=336"),
    ("filter", "mep.table_id == 0x1c", "ms] [encrypted]"),
]
"""What each picture shows: the whole session, a request with the link to its
response; a BT28 response's register values in their units; the filter on
BT28's table id, which finds both halves of both exchanges (the second one
RC4-encrypted, opened with the MBK)."""


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def _frame_number(capture: Path, display_filter: str, info: str) -> int:
    """The first frame (after the filter) whose Info column contains ``info``."""
    cmd = ["tshark", "-n", "-2", "-X", f"lua_script:{LUA}", "-r", str(capture),
           "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info"]
    for pref, value in KEYS.items():
        cmd += ["-o", f"{pref}:{value}"]
    if display_filter:
        cmd += ["-Y", display_filter]
    for line in _run(cmd).stdout.splitlines():
        number, _, text = line.partition("\t")
        if info in text:
            return int(number)
    raise SystemExit(f"no frame shows {info!r} in {capture}")


def _window(display: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Wireshark"],
                               capture_output=True, text=True,
                               env=dict(os.environ, DISPLAY=display))
        ids = found.stdout.split()
        if ids:
            return ids[-1]
        time.sleep(0.5)
    raise SystemExit("Wireshark did not open a window")


def shoot(capture: Path, out: Path, name: str, display_filter: str, frame: int,
          display: str) -> Path:
    home = Path(tempfile.mkdtemp(prefix="mep-shot-"))
    conf = home / ".config" / "wireshark"
    conf.mkdir(parents=True)
    keys = "".join(f"{pref}: {value}\n" for pref, value in KEYS.items())
    (conf / "preferences").write_text(PREFERENCES + keys)
    env = dict(os.environ, DISPLAY=display, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    cmd = ["wireshark", "-n", "-r", str(capture), "-X", f"lua_script:{LUA}", "-g", str(frame)]
    if display_filter:
        cmd += ["-Y", display_filter]
    ws = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        win = _window(display, time.monotonic() + 60)
        xdo = ["xdotool"]
        subprocess.run([*xdo, "windowmove", win, "0", "0"], env=env, check=True)
        subprocess.run([*xdo, "windowsize", win, str(SIZE[0]), str(SIZE[1])], env=env, check=True)
        time.sleep(3)
        # No window manager on Xvfb: give the window the keyboard focus directly.
        subprocess.run([*xdo, "windowfocus", "--sync", win], env=env, check=True)
        # Select the MEP line of the details pane and expand all beneath it.
        subprocess.run([*xdo, "mousemove", "--window", win, "300", str(DETAILS_Y), "click",
                        "1"], env=env, check=True)
        time.sleep(0.5)
        # First line (Frame), then the protocol's line, expanded with everything in it.
        subprocess.run([*xdo, "key", "Home", "Down", "shift+Right"], env=env, check=True)
        time.sleep(2)
        png = out / f"{name}.png"
        # 256 colours hold a screen of text and flat widgets: half the bytes, same picture.
        _run(["import", "-window", "root", "-crop", f"{SIZE[0]}x{SIZE[1]}+0+0", "-colors", "256",
              f"PNG8:{png}"], env=env)
        return png
    finally:
        ws.terminate()
        try:
            ws.wait(10)
        except subprocess.TimeoutExpired:
            ws.kill()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--capture", type=Path, default=ROOT / "pcaps" / "demo.pcapng")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()
    for tool in ("wireshark", "Xvfb", "xdotool", "import", "tshark"):
        if not shutil.which(tool):
            print(f"make_screenshots: {tool} is missing (make screenshots installs it)",
                  file=sys.stderr)
            return 1
    args.out.mkdir(parents=True, exist_ok=True)
    display = f":{90 + os.getpid() % 9}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        for name, flt, info in VIEWS:
            frame = _frame_number(args.capture, flt, info)
            png = shoot(args.capture, args.out, name, flt, frame, display)
            print(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: frame {frame}")
    finally:
        xvfb.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
