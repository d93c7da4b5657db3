"""``make demo``: simulator, client and a passive tap on virtual serial lines.

1. mep-sim serves the default meter on a pty pair and mirrors each direction
   onto two more pty pairs (the tap);
2. ``mep-capture --meter <tap> --client <tap>`` records both directions to
   ``build/demo/demo.pcapng``, exactly as with two adapters on a real meter;
3. a client session runs: 0x0C resync, table reads (energy, power, clock,
   serial number), an alert answered with EP39, an encrypted MBK read, then
   the same reads in a TLS-PSK session under the MAK (with python-mbedtls);
4. the capture is decoded with tshark and the generated Lua dissector (TLS
   opened by Wireshark's TLS dissector from a key log of the session), and
   with scapy (``mep-dissector decode -V``) including the table contents.

It prints a short summary: the readings, a few of tshark's lines, and where
the full decodes are (``tshark.txt``, ``decode.txt`` next to the capture).
Nothing in the repository is written: ``pcaps/demo.pcapng`` is rebuilt only
on request (``-w pcaps/demo.pcapng``).

Keys: the guide's default MAK (sixteen 0x01) and an MBK of sixteen 0x02,
handed to the decoders through a temporary key file or preference and never
printed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import mepshark.dissector as dissector_pkg
from mepshark.client.link import Link
from mepshark.client.session import MepClient
from mepshark.client.values import watch_line, watch_record
from mepshark.dissector import wireshark as ws
from mepshark.dissector.link import read_capture
from mepshark.dissector.tlssecrets import track_sessions

from .port import SimPort
from .tapped import BAUD, DEMO_MBK, GUIDE_DEFAULT_MAK, demo_keys, record

LUA = Path(dissector_pkg.__file__).with_name("mep.lua")


def say(msg: str = "") -> None:
    print(msg, flush=True)


def session(port: str, sim: SimPort) -> list[str]:
    """The client's part; returns what it has to say about the values read."""
    mak, mbk = demo_keys()
    link = Link(port, BAUD, pace=True)
    lines = []
    try:
        c = MepClient(link, mak, sequence=0x01020304)  # the guide's example guess: 0x0C first
        for tag in ("BT00", "BT01"):
            c.read(tag)
        serial = c.read("ET03").values()["utility_serial_number"]
        clock = c.read("BT52").values()["clock_calendar"]
        lines.append(f"meter {serial}, clock {clock}")
        rec = watch_record(c.read("BT28"), c.read("BT23"))
        lines.append("read:  " + watch_line(rec, clock))
        sim.server.meter.set_alert("scheduled_read_request_alert")
        end = time.monotonic() + 2.5
        while not link.alerts and time.monotonic() < end:
            link.idle(0.05)
        for action in c.service_alerts(posted=b"mepshark demo"):
            lines.append(f"alert: {action['flag']} -> EP39 result {action['result']}")
        enc = MepClient(link, mbk, encrypt=True, sequence=c.requester.sequence, dims=c.dims,
                        known=c.known)
        rec = watch_record(enc.read("BT28"), enc.read("BT23"))
        lines.append("read (MBK, RC4-encrypted):  " + watch_line(rec, clock))
        lines.append(tls_session(link, mak, clock))
    finally:
        link.close()
    return lines


def tls_session(link: Link, mak, clock) -> str:
    """The same reads in a TLS-PSK session under the MAK, ended with 0x57."""
    try:
        import mbedtls  # noqa: F401 - the optional extra mepshark[tls]
    except ImportError:
        return "TLS: skipped, python-mbedtls is not installed (pip install 'mepshark[tls]')"
    c = MepClient(link, mak, tls=True, client_id=0x0164)
    rec = watch_record(c.read("BT28"), c.read("BT23"))
    c.channel.close()
    return "read (MAK, TLS-PSK):  " + watch_line(rec, clock)


OUT_DIR = Path("build/demo")
"""Where the demo writes (build/ is not part of the repository)."""
SHOWN = ("Invalid sequence number", "Response: OK .*BT28", "Alert", "BT07", r"\[encrypted\]",
         "Response: TLS Success: OK .*BT28")
"""Which of tshark's lines the summary shows: the first line matching each."""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mep-demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", dest="out_dir", default=str(OUT_DIR),
                    help=f"output folder (default {OUT_DIR})")
    ap.add_argument("-w", dest="out", help="capture file (default OUT_DIR/demo.pcapng)")
    ap.add_argument("--no-decode", action="store_true", help="capture only")
    args = ap.parse_args(argv)
    folder = Path(args.out_dir)
    out = Path(args.out) if args.out else folder / "demo.pcapng"
    folder.mkdir(parents=True, exist_ok=True)

    def scenario(port: str, sim: SimPort) -> list[str]:
        say("mep-client session: 0x0C resync, table reads, an alert answered with EP39, "
            "RC4-encrypted reads with the MBK, a TLS-PSK session with the MAK")
        lines = session(port, sim)
        for text in lines:
            say(f"  {text}")
        return lines

    record(out, scenario)
    if not args.no_decode:
        with tempfile.TemporaryDirectory(prefix="mep-demo-") as tmp:
            keyfile = Path(tmp) / "keys"
            keyfile.write_text(f"MAK={GUIDE_DEFAULT_MAK.hex()}\nMBK={DEMO_MBK.hex()}\n")
            keyfile.chmod(0o600)
            decode(out, keyfile, folder)
    say(f"capture: {out} ({out.stat().st_size} bytes); open it in Wireshark with "
        "mep.lua installed (mep-dissector install) and the demo keys as mep.mak/mep.mbk")
    return 0


def decode(out: Path, keyfile: Path, folder: Path) -> None:
    """Decode ``out`` with tshark (keys as preferences) and with scapy (``keyfile``);
    print a few lines of each, and write the whole decodes into ``folder``."""
    frames = list(read_capture(out, demo_keys()))  # decoded once, looked at several times
    digests = Counter(f.digest_status for f in frames if f.kind != "alert")
    problems = sum(bool((f.packet or f.frame).problems) for f in frames)
    scapy_txt = folder / "decode.txt"
    with scapy_txt.open("w") as fh:
        subprocess.run([sys.executable, "-m", "mepshark.dissector.cli", "decode", "-V",
                        "--key-file", str(keyfile), str(out)], stdout=fh, check=False)
    opened = sum(f.tls is not None and f.tls.packet is not None for f in frames)
    say(f"scapy: {len(frames)} packets, {digests.get(1, 0)} digests good, "
        f"{digests.get(0, 0)} bad, {sum(f.encrypted for f in frames)} encrypted, "
        f"{opened} TLS opened, {problems} malformed; every field in {scapy_txt}")
    tshark = shutil.which("tshark")
    if not (tshark and LUA.exists()):
        say("tshark not found: the scapy decode is the whole story")
        return
    with tempfile.TemporaryDirectory(prefix="mep-demo-") as share:
        try:
            prefix = ws.unprivileged_prefix(ws.find_tshark(tshark))
        except ws.TsharkError as exc:
            say(f"tshark skipped: {exc} (see mep-dissector check)")
            return
        lua, capture = LUA, out
        if prefix:  # root on Wireshark 4.4+: tshark runs as nobody, on copies it can read
            os.chmod(share, 0o755)
            lua, capture = Path(share) / LUA.name, Path(share) / out.name
            for src, dst in ((LUA, lua), (out, capture)):
                shutil.copyfile(src, dst)
                dst.chmod(0o644)
        base = [*prefix, tshark, "-X", f"lua_script:{lua}", "-o",
                f"mep.mak:hex:{GUIDE_DEFAULT_MAK.hex()}", "-o", f"mep.mbk:hex:{DEMO_MBK.hex()}",
                "-r", str(capture), "-2"]
        # Wireshark's TLS dissector takes the sessions' secrets, not the MEP keys
        secrets = "".join(line + "\n" for line in track_sessions(frames, demo_keys()).keylog())
        if secrets:
            keylog = Path(share) / "tls-keys.log"
            keylog.write_text(secrets)
            keylog.chmod(0o644)
            base[-3:-3] = ["-o", f"tls.keylog_file:{keylog}"]
        env = dict(os.environ, HOME=share) if prefix else None
        _tshark_summary(base, folder, env)


def _tshark_summary(base: list[str], folder: Path, env: dict | None) -> None:
    """Run tshark (``base``: the command up to its options) and print a few of its lines."""
    listing = subprocess.run(base, capture_output=True, text=True, check=False, env=env).stdout
    fields = subprocess.run(base + ["-Y", "mep.bt28.fwd_active_w_l1l2l3 || "
                                    "mep.bt23.fwd_active_wh_l1l2l3", "-T", "fields",
                                    "-e", "frame.number", "-e", "mep.bt23.fwd_active_wh_l1l2l3",
                                    "-e", "mep.bt28.fwd_active_w_l1l2l3",
                                    "-e", "mep.bt28.rms_voltage_l1", "-E", "header=y"],
                            capture_output=True, text=True, check=False, env=env).stdout
    tshark_txt = folder / "tshark.txt"
    tshark_txt.write_text(listing + "\n" + fields)
    lines = listing.splitlines()
    shown = []
    for pattern in SHOWN:
        hit = next((x for x in lines if re.search(pattern, x) and x not in shown), None)
        if hit is not None:
            shown.append(hit)
    say(f"tshark with mep.lua: {len(lines)} packets, e.g.")
    for line in sorted(shown, key=lines.index):
        say("  " + " ".join(line.split()))
    rows = [r.split("\t") for r in fields.splitlines()[1:]]
    energy = next((r[1] for r in rows if len(r) > 1 and r[1]), None)
    power = next((r for r in rows if len(r) > 3 and r[2]), None)
    if energy and power:
        say(f"tshark fields: mep.bt23.fwd_active_wh_l1l2l3={energy} (Wh), "
            f"mep.bt28.fwd_active_w_l1l2l3={power[2]} (W), "
            f"mep.bt28.rms_voltage_l1={power[3]} (mV)")
    say(f"tshark's whole listing: {tshark_txt}")


if __name__ == "__main__":
    sys.exit(main())
