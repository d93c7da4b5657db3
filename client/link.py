"""The client's side of the line: send a frame, wait for the answer, resend on silence.

Timing (guide, chapter 2): the response timeout of 500 ms runs from the
last byte of the request to the first two bytes (a non-zero length) of the
response; on timeout the identical packet (same sequence number and digest)
goes out again.  A request is written in one call, so the UART sends it back
to back, far inside the 50 ms the meter allows between two bytes.  Alerts
(00 00) arriving at any time are counted for the session to service.

ENABLE (pin 2 of the MEP connector) tells the meter that a client is
attached; client modules drive it from a GPIO.  With ``enable="dtr"`` or
``"rts"`` that modem line stands in for the GPIO: raised while the link is
open, and dropped and raised again to reset the meter's port when a request
has gone unanswered for ``reset_after`` seconds, as the known modules do
(10 s; ENABLE low for 1 s, then 1 s to settle).
"""

from __future__ import annotations

import os
import select
import time
from collections import deque

import serial

from mepshark.capture.ptyline import paced
from mepshark.dissector.deframer import ALERT, FRAME, Chunk, Deframer
from mepshark.dissector.frames import BAUD
from mepshark.dissector.timing import MIN_REQUEST_SPACING, RESPONSE_TIMEOUT, byte_time

from .recorder import Recorder

RETRIES = 3
MIN_SPACING = MIN_REQUEST_SPACING + 0.010
"""Requests start at least this far apart: the meter's 100 ms, and a margin for timer jitter."""
ENABLE_LINES = ("dtr", "rts")
"""Modem lines that can drive ENABLE (through a level shifter or an RS-232 driver)."""
RESET_AFTER = 10.0
"""Seconds a request may go unanswered before ENABLE is toggled (the known modules' 10 s)."""
ENABLE_OFF = 1.0
"""How long ENABLE stays low during a port reset."""
ENABLE_SETTLE = 1.0
"""Wait after raising ENABLE before the first request."""
POLL = 0.01
"""Read timeout on ports without a file descriptor (rfc2217://, loop://)."""


class NoResponse(Exception):
    """The meter did not answer, even after the retries."""


class EnableError(OSError):
    """The port cannot drive the modem line chosen for ENABLE (a pty has none)."""


class Link:
    def __init__(self, port: str, baud: int = BAUD, *, recorder: Recorder | None = None,
                 pace: bool = False, enable: str | None = None,
                 reset_after: float | None = RESET_AFTER,
                 enable_off: float = ENABLE_OFF, enable_settle: float = ENABLE_SETTLE):
        if enable is not None and enable not in ENABLE_LINES:
            raise ValueError(f"ENABLE is driven by one of {', '.join(ENABLE_LINES)}, "
                             f"not {enable!r}")
        self.port = port
        self.enable = enable
        self.reset_after = reset_after if enable else None
        self.enable_off = enable_off
        self.enable_settle = enable_settle
        self.ser = serial.serial_for_url(port, baudrate=baud, timeout=POLL, exclusive=False,
                                         do_not_open=True)
        if enable:
            setattr(self.ser, enable, False)  # ENABLE low until the port is ours
        self.ser.open()
        try:
            self.fd: int | None = self.ser.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            self.fd = None  # network and loop ports: read through pyserial
        self.ser.reset_input_buffer()
        self.recorder = recorder
        self.byte_time = byte_time(baud) if pace else 0.0
        """Pace writes like a UART (on a pty, which is instant otherwise)."""
        self.timeout = RESPONSE_TIMEOUT
        self.retries = RETRIES
        self.deframer = Deframer()
        self._last_send = float("-inf")
        self.frames: deque[Chunk] = deque()
        self.alerts = 0
        """Alert sequences received and not yet serviced."""
        self.stats = {"retries": 0, "alerts": 0, "resets": 0}
        if enable:
            try:
                self._drive(True)
            except OSError:
                self.ser.close()
                raise
            self.idle(self.enable_settle)

    # --- ENABLE ---------------------------------------------------------------------

    def _drive(self, level: bool) -> None:
        try:
            setattr(self.ser, self.enable, level)
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise EnableError(exc.errno, f"{self.port} cannot drive {self.enable.upper()} "
                              f"({why}); a pseudo-terminal has no modem lines") from None

    def reset_port(self) -> None:
        """Drop ENABLE, raise it again, let the meter settle, and discard what came meanwhile."""
        self.stats["resets"] += 1
        self._drive(False)
        self.idle(self.enable_off)
        self._drive(True)
        self.idle(self.enable_settle)
        self.frames.clear()

    # --- bytes in ------------------------------------------------------------------

    def _take(self, chunks: list[Chunk]) -> None:
        for c in chunks:
            if self.recorder is not None:
                self.recorder.received(c)
            if c.kind == ALERT:
                self.alerts += 1
                self.stats["alerts"] += 1
            elif c.kind == FRAME:
                self.frames.append(c)

    def _read(self, wait: float) -> bytes:
        if self.fd is None:
            end = time.monotonic() + wait
            while True:  # each read waits at most POLL
                data = self.ser.read(max(1, self.ser.in_waiting))
                if data or time.monotonic() >= end:
                    return data
        r, _, _ = select.select([self.fd], [], [], max(0.0, wait))
        if not r:
            return b""
        try:
            return os.read(self.fd, 4096)
        except BlockingIOError:
            return b""

    def pump(self, wait: float) -> None:
        """Read whatever arrives within ``wait`` seconds (at least one look)."""
        data = self._read(wait)
        if data:
            self._take(self.deframer.feed(data, time.monotonic()))
        self._take(self.deframer.poll(time.monotonic()))

    def idle(self, seconds: float) -> None:
        """Listen (for alerts) for ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.pump(min(left, 0.05))

    # --- requests --------------------------------------------------------------------

    def send(self, frame: bytes) -> None:
        wait = self._last_send + MIN_SPACING - time.monotonic()
        if wait > 0:
            self.idle(wait)
        t = self._last_send = time.monotonic()
        for piece in paced(frame, self.byte_time):
            self.ser.write(piece)
        self.ser.flush()
        if self.recorder is not None:
            self.recorder.sent(frame, t)

    def transact(self, frame: bytes) -> bytes:
        """Send ``frame``; return the response frame (length included).

        Resends the identical frame after each response timeout, ``retries``
        times.  With ENABLE driven, a request still unanswered ``reset_after``
        seconds after it first went out resets the port, and gets as many tries again.
        """
        self.frames.clear()
        first = time.monotonic()
        got = self._tries(frame)
        if got is None and self.reset_after:
            self.idle(first + self.reset_after - time.monotonic())
            if self.frames:  # a late answer after all
                return self.frames.popleft().data
            self.reset_port()
            got = self._tries(frame)
            if got is None:
                raise NoResponse(f"no response from the meter on {self.port} after "
                                 f"{2 * (self.retries + 1)} tries and a port reset "
                                 f"({self.enable.upper()} off and on)")
        if got is None:
            raise NoResponse(f"no response from the meter on {self.port} after "
                             f"{self.retries + 1} tries")
        return got

    def _tries(self, frame: bytes) -> bytes | None:
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self.send(frame)
            got = self._await()
            if got is not None:
                return got
        return None

    def _await(self) -> bytes | None:
        start = time.monotonic()
        deadline = start + self.timeout
        while True:
            if self.frames:
                return self.frames.popleft().data
            now = time.monotonic()
            # A response that has begun (length received) may take longer than the
            # timeout to finish: wait while the deframer holds a frame in progress.
            if now >= deadline and not self.deframer.pending:
                return None
            if now >= start + 5.0:
                return None
            self.pump(0.005 if self.deframer.pending else min(0.02, max(0.0, deadline - now)))

    def close(self) -> None:
        try:
            self._take(self.deframer.close())
            if self.enable and self.ser.is_open:
                try:
                    self._drive(False)  # the client is going: tell the meter
                except OSError:
                    pass
        finally:
            self.ser.close()
            if self.recorder is not None:
                self.recorder.close()
