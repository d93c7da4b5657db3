"""mep-sim's line: any pyserial URL as its port, and answers no faster than the line allows."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

from mepshark.capture.ptyline import PtyPair
from mepshark.dissector import builders as b
from mepshark.dissector.frames import BAUD
from mepshark.dissector.security import parse_key
from mepshark.sim.meter import Meter
from mepshark.sim.port import SimPort, serve_in_thread
from mepshark.sim.server import MepServer
from mepshark.sim.tapped import demo_keys

BIN = Path(sys.executable).parent
MAK_HEX = "01" * 16


class NullModem:
    """Two TCP ports joined back to back: what one side sends, the other receives.

    A stand-in for two serial servers whose serial ports are wired to each
    other; both tools reach it through ``socket://`` URLs.
    """

    def __init__(self) -> None:
        self.listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
        self.urls = [f"socket://127.0.0.1:{s.getsockname()[1]}" for s in self.listeners]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.conns = [s.accept()[0] for s in self.listeners]
        live = list(self.conns)
        while live and not self._stop.is_set():
            for c in select.select(live, [], [], 0.05)[0]:
                data = c.recv(4096)
                if not data:  # that side left; the other stays connected
                    live.remove(c)
                    continue
                self.conns[1 - self.conns.index(c)].sendall(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for s in [*self.listeners, *getattr(self, "conns", [])]:
            s.close()


def test_sim_serves_on_a_socket_url_and_a_client_reads_through_it(tmp_path: Path) -> None:
    """mep-sim --port socket://… and mep-client --port socket://…: a full read across TCP."""
    modem = NullModem()
    sim = subprocess.Popen([str(BIN / "mep-sim"), "--port", modem.urls[0], "--default-keys"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout.readline().strip() == modem.urls[0], sim.stderr.read()
        res = subprocess.run([str(BIN / "mep-client"), "--port", modem.urls[1], "read", "BT28"],
                             env=dict(os.environ, MEP_MAK=MAK_HEX), capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        assert "rms_voltage_l1" in res.stdout and " mV" in res.stdout, res.stdout
    finally:
        sim.send_signal(signal.SIGINT)
        _, err = sim.communicate(timeout=10)
        modem.close()
    assert sim.returncode == 0, err
    assert "Traceback" not in err
    counts = re.search(r"(\d+) requests, (\d+) responses", err)
    assert counts and int(counts[1]) >= 1 and counts[1] == counts[2], err


def test_sim_says_in_one_line_when_a_url_cannot_be_opened() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]  # closed again below: nobody listens there
    res = subprocess.run([str(BIN / "mep-sim"), "--port", f"socket://127.0.0.1:{port}",
                          "--default-keys"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mep-sim: cannot open socket://127.0.0.1:{port}")
    assert "serial server" in lines[0]


def test_sim_answers_no_sooner_than_the_line_could_carry_the_request() -> None:
    """A pty hands a request over at once; the answer still waits for its line time.

    A meter cannot answer before the last byte of the request reached it;
    a tap capture relies on that to see the request first.
    """
    pair = PtyPair()
    port = SimPort(pair.master, MepServer(Meter(animate=False), demo_keys()))
    thread = serve_in_thread(port)
    client = os.open(pair.device, os.O_RDWR | os.O_NOCTTY)
    try:
        wire, _seal = b.Requester(parse_key(MAK_HEX, "MAK"), 1).seal(b.full_read(0x1C, 336))
        sent = time.monotonic()
        os.write(client, wire)
        assert select.select([client], [], [], 5)[0]
        answered = time.monotonic()
        assert os.read(client, 1)
    finally:
        port.stop()
        thread.join(2)
        os.close(client)
        pair.close()
    assert answered - sent >= (len(wire) - 1) * 10 / BAUD


def test_sim_still_serves_a_local_device_through_its_descriptor() -> None:
    """--port /dev/…: opened by pyserial, served through its file descriptor as before."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    sim = subprocess.Popen([str(BIN / "mep-sim"), "--port", os.ttyname(slave), "--default-keys",
                            "--sequence", "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout.readline().strip() == os.ttyname(slave), sim.stderr.read()
        wire, seal = b.Requester(parse_key(MAK_HEX, "MAK"), 1).seal(b.full_read(0x00, 0))
        os.write(master, wire)
        got = b""
        while select.select([master], [], [], 5)[0]:
            got += os.read(master, 4096)
            if len(got) >= 2 and len(got) >= 2 + int.from_bytes(got[:2], "big"):
                break
        assert len(got) > 2 + 13 and got[2] == 0x00, got.hex()  # an OK response
    finally:
        sim.send_signal(signal.SIGINT)
        _, err = sim.communicate(timeout=10)
        os.close(master)
        os.close(slave)
    assert sim.returncode == 0 and "Traceback" not in err, err
