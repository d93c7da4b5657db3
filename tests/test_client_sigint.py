"""Ctrl-C on mep-client: a real subprocess on its own terminal (a pty), Ctrl-C typed into it.

The child is a session leader with the pty as its controlling terminal, so
the byte 0x03 written to the pty's master makes the terminal driver send
SIGINT to it, as a keyboard would.  Whatever it was doing (starting up,
reading a table, waiting between readings, answering an alert), ``watch``
and ``alerts`` end with one summary line, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from mepshark.capture.ptyline import PtyPair
from mepshark.dissector.link import read_capture
from mepshark.sim.meter import Meter
from mepshark.sim.port import SimPort, serve_in_thread
from mepshark.sim.server import MepServer
from mepshark.sim.tapped import demo_keys

MAK, MBK = demo_keys()
CTRL_C = b"\x03"
LAUNCH = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
          "os.execv(sys.executable, [sys.executable, '-m', 'mepshark.client.cli', "
          "*sys.argv[1:]])")
"""Make the pty the child's controlling terminal, then become mep-client."""


@pytest.fixture
def meter():
    pair = PtyPair()
    m = Meter(animate=True)
    port = SimPort(pair.master, MepServer(m, [MAK, MBK], last_sequence=0x1000))
    thread = serve_in_thread(port)
    yield pair.device, m
    port.stop()
    thread.join(2)
    pair.close()


class Terminal:
    """mep-client running on a fresh pty, as in a terminal window."""

    def __init__(self, *argv: str):
        self.master, slave = os.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO  # keep "^C" out of the output we read
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        env = {**os.environ, "MEP_MAK": MAK.raw.hex()}
        env.pop("MEP_MBK", None)
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, *argv], stdin=slave,
                                     stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.text = ""

    def _read(self, timeout: float) -> bool:
        """Read what is there; False once the child is gone and all it wrote was read."""
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.master, 4096)
        except OSError:  # EIO: no process holds the terminal any more
            return False
        self.text += data.decode(errors="replace").replace("\r\n", "\n")
        return bool(data) or self.proc.poll() is None

    def wait_for(self, pattern: str, limit: float = 30.0) -> None:
        end = time.monotonic() + limit
        while not re.search(pattern, self.text):
            assert time.monotonic() < end, f"no {pattern!r} in {self.text!r}"
            assert self._read(0.1), f"mep-client ended before {pattern!r}: {self.text!r}"

    def ctrl_c(self, times: int = 1) -> None:
        os.write(self.master, CTRL_C * times)

    def finish(self, limit: float = 30.0) -> tuple[int, list[str]]:
        """Exit status and the lines mep-client wrote about itself."""
        end = time.monotonic() + limit
        while self._read(0.1):
            assert time.monotonic() < end, f"mep-client did not end: {self.text!r}"
        rc = self.proc.wait(10)
        os.close(self.master)
        assert "Traceback" not in self.text and "KeyboardInterrupt" not in self.text, self.text
        return rc, [x for x in self.text.splitlines() if x.startswith("mep-client:")]


@pytest.mark.parametrize("after", [0.0, 0.06, 0.13, 0.2, 0.31, 0.47])
def test_ctrl_c_ends_watch_with_a_summary(meter, after):
    """Six tries, Ctrl-C at different moments of the read/wait cycle (interval 0.25 s)."""
    port, _ = meter
    term = Terminal("--port", port, "watch", "--interval", "0.25")
    term.wait_for(r"U1=.*kWh\n")
    time.sleep(after)
    term.ctrl_c()
    rc, lines = term.finish()
    assert rc == 0
    assert len(lines) == 1 and re.fullmatch(
        r"mep-client: watch stopped after \d+ readings? in \d+\.\d s.*", lines[0]), term.text


def test_ctrl_c_hammered_and_sigterm_end_watch_once(meter):
    port, _ = meter
    term = Terminal("--port", port, "watch", "--interval", "0.2")
    term.wait_for(r"U1=.*kWh\n")
    term.ctrl_c(times=3)
    rc, lines = term.finish()
    assert rc == 0 and len(lines) == 1 and "watch stopped after" in lines[0], term.text
    term = Terminal("--port", port, "--json", "watch", "--interval", "0.2")
    term.wait_for(r'"BT28.rms_voltage_l1": \d+')
    term.proc.terminate()
    rc, lines = term.finish()
    assert rc == 0 and len(lines) == 1 and "watch stopped after" in lines[0], term.text
    readings = [x for x in term.text.splitlines() if x not in lines]
    assert readings and all(json.loads(x)["BT28.rms_voltage_l1"] for x in readings)  # whole


def test_ctrl_c_while_starting_up_is_one_line(meter):
    """Ctrl-C as soon as mep-client has taken over the signals (it is then still importing
    scapy, or opening the port): one line, no traceback."""
    port, _ = meter
    term = Terminal("--port", port, "watch")
    status = Path(f"/proc/{term.proc.pid}/status")
    end = time.monotonic() + 30
    while True:  # SIGTERM (15) caught: mep-client's main() has begun
        caught = re.search(r"SigCgt:\s*([0-9a-f]+)", status.read_text())
        if caught and int(caught.group(1), 16) & (1 << 14):
            break
        assert time.monotonic() < end
        time.sleep(0.001)
    term.ctrl_c()
    rc, lines = term.finish()
    assert len(lines) == 1, term.text
    assert (rc, lines[0]) == (130, "mep-client: interrupted") or (
        rc == 0 and lines[0].startswith("mep-client: watch stopped after 0 readings"))


def test_ctrl_c_ends_alerts_with_a_summary(meter, tmp_path):
    port, m = meter
    term = Terminal("--port", port, "alerts", "-a", "duration:60")
    term.wait_for(r"answering alerts on .* for 60 s \(Ctrl-C stops\)\n")
    term.ctrl_c()
    rc, lines = term.finish()
    assert rc == 0 and len(lines) == 2, lines  # the start line and the summary
    assert re.fullmatch(r"mep-client: alerts stopped after \d+\.\d s: no alert came in "
                        r"\d+\.\d s", lines[1]), lines

    pcap = tmp_path / "alerts.pcapng"
    term = Terminal("--port", port, "-w", str(pcap), "alerts", "-a", "duration:60")
    term.wait_for(r"answering alerts")
    m.set_alert("delta_data_alert")
    term.wait_for(r"alert serviced: flag=delta_data_alert.*\n")
    term.ctrl_c()
    rc, lines = term.finish()
    assert rc == 0 and len(lines) == 2, lines
    assert re.fullmatch(r"mep-client: alerts stopped after \d+\.\d s: \d+ alerts? received, "
                        r"1 action taken( \(.*\))?", lines[1]), lines
    frames = read_capture(pcap, [MAK])  # closed properly: every exchange is in it
    assert [f.kind for f in frames].count("alert") >= 1
    assert all(f.digest_status == 1 for f in frames if f.kind != "alert")
