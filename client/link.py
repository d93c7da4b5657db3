"""The client's side of the line: send a frame, wait for the answer, resend on silence.

Timing (guide, chapter 2): the response timeout of 500 ms runs from the
last byte of the request to the first two bytes (a non-zero length) of the
response; on timeout the identical packet (same sequence number and digest)
goes out again.  A request is written in one call, so the UART sends it back
to back, far inside the 50 ms the meter allows between two bytes.  Alerts
(00 00) arriving at any time are counted for the session to service.
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


class NoResponse(Exception):
    """The meter did not answer, even after the retries."""


class Link:
    def __init__(self, port: str, baud: int = BAUD, *, recorder: Recorder | None = None,
                 pace: bool = False):
        self.port = port
        self.ser = serial.serial_for_url(port, baudrate=baud, timeout=0, exclusive=False)
        self.ser.reset_input_buffer()
        self.fd = self.ser.fileno()
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
        self.stats = {"retries": 0}

    # --- bytes in ------------------------------------------------------------------

    def _take(self, chunks: list[Chunk]) -> None:
        for c in chunks:
            if self.recorder is not None:
                self.recorder.received(c)
            if c.kind == ALERT:
                self.alerts += 1
            elif c.kind == FRAME:
                self.frames.append(c)

    def pump(self, wait: float) -> None:
        """Read whatever arrives within ``wait`` seconds (at least one select)."""
        r, _, _ = select.select([self.fd], [], [], max(0.0, wait))
        now = time.monotonic()
        if r:
            try:
                data = os.read(self.fd, 4096)
            except BlockingIOError:
                data = b""
            if data:
                self._take(self.deframer.feed(data, now))
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

        Resends the identical frame after each response timeout, ``retries`` times.
        """
        self.frames.clear()
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self.send(frame)
            got = self._await()
            if got is not None:
                return got
        raise NoResponse(f"no response from the meter on {self.port} after "
                         f"{self.retries + 1} tries")

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
        finally:
            self.ser.close()
            if self.recorder is not None:
                self.recorder.close()
