"""``make demo``: simulator, client and a passive tap on virtual serial lines.

1. mep-sim serves the default meter on a pty pair and mirrors each direction
   onto two more pty pairs (the tap);
2. ``mep-capture --meter <tap> --client <tap>`` records both directions to
   ``pcaps/demo.pcapng``, exactly as with two adapters on a real meter;
3. a client session runs: 0x0C resync, table reads (energy, power, clock,
   serial number), an alert answered with EP39, an encrypted MBK read;
4. the capture is decoded with tshark and the generated Lua dissector, and
   with scapy (``mep-dissector decode -V``) including the table contents.

Keys: the guide's default MAK (sixteen 0x01) and an MBK of sixteen 0x02,
handed to the decoders through a temporary key file or preference and never
printed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mepshark.dissector as dissector_pkg
from mepshark.client.link import Link
from mepshark.client.session import MepClient
from mepshark.client.values import watch_line, watch_record

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
    finally:
        link.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mep-demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("-w", dest="out", default="pcaps/demo.pcapng", help="capture file")
    ap.add_argument("--no-decode", action="store_true", help="capture only")
    args = ap.parse_args(argv)
    out = Path(args.out)

    def scenario(port: str, sim: SimPort) -> list[str]:
        say("mep-client: session (resync, reads, alert + EP39, encrypted read)")
        lines = session(port, sim)
        for text in lines:
            say(f"  {text}")
        return lines

    record(out, scenario, log=say)
    say(f"wrote {out} ({out.stat().st_size} bytes)")
    if not args.no_decode:
        with tempfile.TemporaryDirectory(prefix="mep-demo-") as tmp:
            keyfile = Path(tmp) / "keys"
            keyfile.write_text(f"MAK={GUIDE_DEFAULT_MAK.hex()}\nMBK={DEMO_MBK.hex()}\n")
            keyfile.chmod(0o600)
            decode(out, keyfile)
    return 0


def decode(out: Path, keyfile: Path) -> None:
    """Decode ``out`` with tshark (keys as preferences) and with scapy (``keyfile``)."""
    tshark = shutil.which("tshark")
    if tshark and LUA.exists():
        say("")
        say(f"== tshark -X lua_script:{LUA.name} -r {out} -2 (keys from the demo key file)")
        base = [tshark, "-X", f"lua_script:{LUA}", "-o", f"mep.mak:hex:{GUIDE_DEFAULT_MAK.hex()}",
                "-o", f"mep.mbk:hex:{DEMO_MBK.hex()}", "-r", str(out), "-2"]
        subprocess.run(base, check=False, stderr=subprocess.DEVNULL)
        say("")
        say("== energy and power as tshark decodes them")
        subprocess.run(base + ["-Y", "mep.bt28.fwd_active_w_l1l2l3 || "
                               "mep.bt23.fwd_active_wh_l1l2l3", "-T", "fields",
                               "-e", "frame.number", "-e", "mep.bt23.fwd_active_wh_l1l2l3",
                               "-e", "mep.bt28.fwd_active_w_l1l2l3",
                               "-e", "mep.bt28.rms_voltage_l1", "-E", "header=y"],
                       check=False, stderr=subprocess.DEVNULL)
    else:
        say("")
        say("(tshark not found: the scapy decode below is the whole story)")
    say("")
    say(f"== mep-dissector decode -V {out} (scapy, table contents)")
    subprocess.run([sys.executable, "-m", "mepshark.dissector.cli", "decode", "-V",
                    "--key-file", str(keyfile), str(out)], check=False)


if __name__ == "__main__":
    sys.exit(main())
