"""The simulator on a line: framing, throttling, segmenting, alerts and taps.

Timing rules of the guide's chapter 2 that the meter side keeps:

* a request whose bytes stop for more than 50 ms is abandoned;
* at most one request is handled per 100 ms (later ones wait their turn);
* no answer starts before a line at the baud rate could have carried the
  whole request, also on a pty that hands it over at once: a meter
  cannot answer a request it has not yet received, and a tap's capture
  must see the request first;
* a response longer than 117 bytes pauses 25 ms after each 117-byte segment;
* while an ET13 alert flag is set, the alert sequence (00 00) goes out once
  per second, never within 1 s of the last frame received.

ENABLE (pin 2 of the connector): a client raises it to say it is attached.
:meth:`SimPort.set_enable` is how a line that carries it (an RFC 2217
server, a real port's modem lines) tells the meter; while it is low the port
ignores requests and sends no alerts, and dropping it clears a hung port.
Lines that cannot carry it leave it high.

``tap`` mirrors the two directions onto two more lines (pty pairs), so that
``mep-capture --meter <meter tap> --client <client tap>`` records the session
as a passive hardware tap would.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import serial

from mepshark.capture.ptyline import paced
from mepshark.dissector.builders import ALERT
from mepshark.dissector.deframer import ALERT as ALERT_CHUNK
from mepshark.dissector.deframer import FRAME, Deframer
from mepshark.dissector.frames import BAUD
from mepshark.dissector.timing import (
    ALERT_HOLDOFF,
    ALERT_PERIOD,
    INTRA_FRAME_TIMEOUT,
    MIN_REQUEST_SPACING,
    SEGMENT,
    SEGMENT_PAUSE,
    byte_time,
)

from .faults import GARBAGE, Faults
from .server import MepServer

TICK = 0.01
"""How often the serving loop looks at the line, the timers and the alerts, in seconds."""
_NO_CLIENT = object()
"""A pty master reads EIO while no client holds the other end."""


@dataclass
class Tap:
    """File descriptors (pty masters) that hear each direction."""

    meter: int | None = None
    """Hears what the meter sends (responses, alerts)."""
    client: int | None = None
    """Hears what the client sends (requests)."""


def _write_all(fd: int, data: bytes, timeout: float = 1.0) -> bool:
    """Write to a non-blocking fd; give up (dropping the rest) after ``timeout``."""
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    while view:
        try:
            n = os.write(fd, view)
            view = view[n:]
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            select.select([], [fd], [], min(left, 0.05))
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):
                return False
            raise
    return True


def _mirror(fd: int | None, data: bytes) -> None:
    if fd is None:
        return
    try:
        os.write(fd, data)
    except OSError:  # nobody listening on the tap: a tap never holds the line up
        pass


class SimPort:
    """Serve ``server`` on ``line``: a file descriptor (pty master, local serial device) or an
    open pyserial port (any URL: ``socket://``, ``rfc2217://`` ...; its timeout sets the tick)."""

    def __init__(self, line: int | serial.SerialBase, server: MepServer, *,
                 faults: Faults | None = None,
                 tap: Tap | None = None, baud: int | None = None,
                 line_baud: int = BAUD,
                 alert_every: float | None = None,
                 log: Callable[[str], None] | None = None):
        self.fd, self.ser = (line, None) if isinstance(line, int) else (None, line)
        self.server = server
        self.faults = faults or Faults()
        self.tap = tap or Tap()
        self.byte_time = byte_time(baud) if baud else 0.0
        """Pacing of what the simulator sends (0: all at once)."""
        self.line_byte_time = byte_time(baud or line_baud)
        """One character on the simulated line, paced or not."""
        self.alert_every = alert_every
        """Raise a scheduled read request alert every this many seconds (demo, corpus)."""
        self.log = log or (lambda msg: None)
        self.stop_event = threading.Event()
        self.deframer = Deframer(silence=INTRA_FRAME_TIMEOUT)
        self.last_rx = float("-inf")
        self.last_request = float("-inf")
        self.last_alert = float("-inf")
        self.next_scheduled = None
        self.enable = True
        """ENABLE as the meter sees it (high unless a line says otherwise)."""
        self.switched_out = False
        """Gen 2/3 shared UART: an optical session holds it, MEP requests go unheard."""
        self.stats = {"requests": 0, "responses": 0, "alerts": 0, "dropped": 0, "unframed": 0,
                      "ignored": 0}

    def set_enable(self, level: bool) -> None:
        """ENABLE is now ``level``; dropping it (high to low) resets the port: a hang ends."""
        if self.enable and not level:
            self.faults.hang = False
        self.enable = level

    # --- main loop ----------------------------------------------------------------

    def serve(self, duration: float | None = None) -> None:
        """Run until :meth:`stop` (or ``duration`` seconds)."""
        t0 = time.monotonic()
        if self.alert_every:
            self.next_scheduled = t0 + self.alert_every
        while not self.stop_event.is_set():
            now = time.monotonic()
            if duration is not None and now - t0 >= duration:
                break
            data = self._read()
            if data is None:
                break
            if data is _NO_CLIENT:
                time.sleep(TICK)
                continue
            now = time.monotonic()
            chunks = []
            if data:
                _mirror(self.tap.client, data)
                chunks = self.deframer.feed(data, now)
            chunks += self.deframer.poll(time.monotonic())
            for chunk in chunks:
                self._chunk(chunk)
            self._alerts(time.monotonic())

    def stop(self) -> None:
        self.stop_event.set()

    def _read(self):
        """What came in within one tick: bytes (maybe none), ``_NO_CLIENT``, or None: line gone."""
        if self.ser is not None:
            try:
                data = self.ser.read(1)  # waits up to the port's timeout (one tick)
                while data and len(data) < 4096 and (waiting := self.ser.in_waiting):
                    data += self.ser.read(waiting)
            except (serial.SerialException, OSError) as exc:
                self.log(f"mep-sim: the line is gone ({exc})")
                return None
            return data
        try:
            if not select.select([self.fd], [], [], TICK)[0]:
                return b""
        except (OSError, ValueError):  # closed under us
            return None
        try:
            return os.read(self.fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:  # no client on the pty right now
                return _NO_CLIENT
            raise

    def _write(self, data: bytes) -> bool:
        if self.ser is None:
            return _write_all(self.fd, data)
        try:
            self.ser.write(data)
            return True
        except (serial.SerialException, OSError):
            return False

    # --- requests ---------------------------------------------------------------------

    def _chunk(self, chunk) -> None:
        if chunk.kind == ALERT_CHUNK:
            return
        if chunk.kind != FRAME:
            self.stats["unframed"] += 1
            self.log(f"mep-sim: ignored {len(chunk.data)} byte(s): {chunk.reason}")
            return
        if not self.enable or self.faults.hang or self.switched_out:
            self.stats["ignored"] += 1
            return
        now = time.monotonic()
        self.last_rx = now
        # chunk.time: when its first byte was read; the last one follows at line pace.
        received = chunk.time + (len(chunk.data) - 1) * self.line_byte_time
        wait = max(self.last_request + MIN_REQUEST_SPACING, received) - now
        if wait > 0:
            time.sleep(wait)
        self.last_request = time.monotonic()
        self.stats["requests"] += 1
        reply = self.server.handle(chunk.data[2:])
        if reply is None:
            return
        fault = self.faults.pick()
        if self.faults.delay:
            time.sleep(self.faults.delay)
        if fault == "drop":
            self.stats["dropped"] += 1
            self.log("mep-sim: dropped a response (fault)")
            return
        if fault == "corrupt":
            reply = Faults.corrupted(reply)
            self.log("mep-sim: corrupted a response (fault)")
        if fault == "garbage":
            self._send(GARBAGE)
            time.sleep(0.002)
            self.log("mep-sim: line noise before a response (fault)")
        self._send(reply)
        self.stats["responses"] += 1

    def _send(self, frame: bytes) -> None:
        """Put a frame on the line: 117-byte segments, 25 ms apart when longer.

        With a baud rate (``baud=``), bytes go out no faster than a UART would
        send them, a few at a time, each piece when its last stop bit would
        end: a capture on the tap then dates them as on a real line.
        """
        for i in range(0, len(frame), SEGMENT):
            if i:
                time.sleep(SEGMENT_PAUSE)
            seg = frame[i : i + SEGMENT]
            for piece in paced(seg, self.byte_time):
                if not self._write(piece):
                    self.log("mep-sim: line blocked, output dropped")
                    return
                _mirror(self.tap.meter, piece)

    # --- alerts -----------------------------------------------------------------------

    def _alerts(self, now: float) -> None:
        meter = self.server.meter
        if self.next_scheduled is not None and now >= self.next_scheduled:
            meter.set_alert("scheduled_read_request_alert")
            self.next_scheduled = now + self.alert_every
        if now < self.last_alert + ALERT_PERIOD or now < self.last_rx + ALERT_HOLDOFF:
            return
        if not self.enable or self.faults.hang or self.switched_out:
            return
        if meter.alerting():
            self.last_alert = now
            self.stats["alerts"] += 1
            self._send(ALERT)


def serve_in_thread(port: SimPort) -> threading.Thread:
    """Start ``port.serve()`` in a daemon thread (tests, demo)."""
    t = threading.Thread(target=port.serve, name="mep-sim", daemon=True)
    t.start()
    return t
