"""A recorded session: simulator on a pty, a passive tap, mep-capture writing pcapng.

:func:`record` starts the simulator (in a thread) on a pty pair whose two
directions are mirrored onto two more pty pairs, runs the real
``mep-capture --meter <tap> --client <tap>`` on them, calls ``scenario``
with the client's port and the simulator, and stops the capture when the
scenario returns.  Both sides pace their bytes like a 9600 baud UART, so
the capture dates frames as on a real line.  Used by the demo and by
``pcaps/make_corpus.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from mepshark.capture.ptyline import PtyPair
from mepshark.dissector.examples import GUIDE_KEY_HEX
from mepshark.dissector.frames import BAUD
from mepshark.dissector.security import Key

from .faults import Faults
from .meter import Meter
from .port import SimPort, Tap, serve_in_thread
from .server import MepServer

GUIDE_DEFAULT_MAK = bytes.fromhex(GUIDE_KEY_HEX)
"""The guide's default MAK (its RC4 example 1)."""
DEMO_MBK = bytes([0x02]) * 16
"""The MBK of the demo and the corpus."""
T = TypeVar("T")


def demo_keys() -> list[Key]:
    return [Key("MAK", GUIDE_DEFAULT_MAK), Key("MBK", DEMO_MBK)]


def _wait_for_capture(proc: subprocess.Popen, out: Path, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"mep-capture exited early ({proc.returncode})")
        if out.exists() and out.stat().st_size > 0:
            time.sleep(0.3)  # its readers are running once the file has its header
            return
        time.sleep(0.05)
    raise RuntimeError("mep-capture did not start")


def record(out: str | Path, scenario: Callable[[str, SimPort], T], *,
           faults: Faults | None = None, meter: Meter | None = None,
           keys: list[Key] | None = None, log: Callable[[str], None] | None = None,
           capture_args: Sequence[str] = (), capture_env: dict[str, str] | None = None) -> T:
    """Run ``scenario(client_port, sim_port)`` while mep-capture records the tap to ``out``.

    ``capture_args`` go to mep-capture as well, ``capture_env`` into its environment
    (keys for ``--embed-secrets``, which never go on a command line).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    say = log or (lambda msg: None)
    tmp = Path(tempfile.mkdtemp(prefix="mep-tap-"))
    line, tap_m, tap_c = (PtyPair(tmp / n) for n in ("meter", "tap-meter", "tap-client"))
    server = MepServer(meter or Meter(), keys or demo_keys())
    port = SimPort(line.master, server, baud=BAUD, faults=faults,
                   tap=Tap(meter=tap_m.master, client=tap_c.master))
    thread = serve_in_thread(port)
    say(f"mep-sim: three-phase meter on {line.device}; tap {tap_m.device} (meter side), "
        f"{tap_c.device} (client side)")
    cap = subprocess.Popen(
        [sys.executable, "-m", "mepshark.capture", "--meter", tap_m.device, "--client",
         tap_c.device, "-w", str(out), "-q", *capture_args],
        stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, **(capture_env or {})))
    try:
        _wait_for_capture(cap, out)
        say(f"mep-capture --meter {tap_m.device} --client {tap_c.device} -w {out}")
        result = scenario(line.device, port)
        time.sleep(0.3)  # let the capture drain the tap
    finally:
        cap.send_signal(signal.SIGINT)
        try:
            cap.wait(10)
        except subprocess.TimeoutExpired:
            cap.kill()
        port.stop()
        thread.join(2)
        for p in (line, tap_m, tap_c):
            p.close()
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
    return result
