"""Serial lines: settings, opening with clear errors, and one reader thread per line.

A reader thread does nothing but read: every read is stamped with
``time.monotonic()`` the moment it returns and appended to a queue, so a
slow writer (a full pipe to Wireshark, a slow disk) never delays the
timestamps and never makes the port's own buffer overflow.  When a port
vanishes (USB adapter unplugged, pty master closed) the reader reports it,
retries opening the same name until it comes back, and reports the return.
"""

from __future__ import annotations

import errno
import os
import re
import select
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import serial

from mepshark.dissector.frames import BAUD

try:
    import fcntl
except ImportError:  # Windows: no driver counters, the rest works
    fcntl = None

SIDES = ("meter", "client", "unknown")
PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD,
            "M": serial.PARITY_MARK, "S": serial.PARITY_SPACE}
STOPBITS = {1.0: serial.STOPBITS_ONE, 1.5: serial.STOPBITS_ONE_POINT_FIVE,
            2.0: serial.STOPBITS_TWO}
GUIDE_BAUD_RANGE = (300, 115200)
"""Baud rates the MEP guide allows (9600 default, up to 115200 on newer meters)."""
COMMON_BAUDS = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)

READ_TIMEOUT = 0.05
"""A blocked read returns this often so that a stop request is seen quickly."""
REOPEN_INTERVAL = 0.5
"""How often a vanished port is tried again."""
ICOUNT_INTERVAL = 1.0
"""How often the driver's error counters (framing, overrun, ...) are polled."""
HIGH_LATENCY_MS = 2
"""A USB latency timer above this many ms earns a warning."""

_DESCRIPTIONS = {
    "meter": "meter TXD (responses, alerts)",
    "client": "client TXD (requests)",
    "unknown": "side unknown (direction inferred per frame)",
}


@dataclass(frozen=True)
class LineSpec:
    """One serial line to capture: the port (device path or pyserial URL) and its settings."""

    port: str
    side: str = "unknown"
    baud: int = BAUD
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1.0

    @property
    def bits_per_char(self) -> float:
        """Start bit + data bits + parity bit + stop bits: the time one byte takes, in bits."""
        return 1 + self.bytesize + (self.parity != "N") + self.stopbits

    @property
    def byte_time(self) -> float:
        """Seconds one character occupies on the wire at this baud rate."""
        return self.bits_per_char / self.baud

    @property
    def framing(self) -> str:
        """The usual short form, e.g. ``8N1``."""
        stop = f"{self.stopbits:g}"
        return f"{self.bytesize}{self.parity}{stop}"

    @property
    def description(self) -> str:
        """The pcapng ``if_description``: which side the line hears, baud and framing."""
        return f"{_DESCRIPTIONS[self.side]}, {self.baud} {self.framing}"


class PortError(Exception):
    """A port cannot be opened or configured; the message says why and what to do."""


def explain(port: str, exc: BaseException) -> str:
    """Turn an open/configure failure into one line with the likely fix."""
    code = getattr(exc, "errno", None)
    # pyserial says "[Errno 2] could not open port X: [Errno 2] No such file ...: 'X'";
    # keep the operating system's words only.
    text = re.sub(r"^.*\[Errno -?\d+\] ", "", str(exc))
    text = re.sub(r": '[^']*'$", "", text).rstrip(":. ") or type(exc).__name__
    if code == errno.EACCES or "Permission denied" in text:
        fix = ("add yourself to the dialout group (sudo usermod -aG dialout $USER, "
               "then log in again)")
    elif code == errno.ENOENT or "No such file" in text:
        fix = ("check that the adapter is plugged in and the name is right "
               "(ls /dev/serial/by-id/, or mep-capture --list-ports)")
    elif code == errno.EBUSY or "busy" in text.lower():
        fix = "another program holds the port; close it (ModemManager is a frequent culprit)"
    elif code in (errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EHOSTUNREACH) or "refused" in text:
        fix = "check that the serial server is running and the host and port are right"
    elif code == errno.ENOTTY or "Inappropriate ioctl" in text:
        fix = "this is not a serial port; give the adapter's device (e.g. /dev/ttyUSB0)"
    elif isinstance(exc, ValueError):
        fix = "check the settings or the URL (see pyserial's URL handlers)"
    else:
        fix = "check the device and its settings"
    return f"cannot open {port}: {text} — {fix}"


def open_serial(spec: LineSpec, timeout: float = READ_TIMEOUT) -> serial.SerialBase:
    """Open ``spec.port`` (a device or any pyserial URL) with the line's settings."""
    try:
        ser = serial.serial_for_url(spec.port, do_not_open=True)
        ser.baudrate = spec.baud
        ser.bytesize = spec.bytesize
        ser.parity = PARITIES[spec.parity]
        ser.stopbits = STOPBITS[float(spec.stopbits)]
        ser.timeout = timeout
        ser.open()
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortError(explain(spec.port, exc)) from exc
    return ser


# --- driver statistics --------------------------------------------------------

_TIOCGICOUNT = 0x545D
# struct serial_icounter_struct: cts dsr rng dcd rx tx frame overrun parity brk
# buf_overrun, then reserved words.
_ICOUNT = struct.Struct("16i")
ERROR_KINDS = ("frame", "overrun", "parity", "brk", "buf_overrun")


def read_icount(ser: serial.SerialBase) -> dict[str, int] | None:
    """The driver's error counters (Linux TIOCGICOUNT), or None where there are none.

    Framing errors, UART overruns and tty buffer overruns never show up in
    the byte stream; the kernel only counts them.  Ptys, sockets and
    ``loop://`` have no such counters.
    """
    fd = getattr(ser, "fd", None)
    if fd is None or fcntl is None or not sys.platform.startswith("linux"):
        return None
    try:
        raw = fcntl.ioctl(fd, _TIOCGICOUNT, bytes(_ICOUNT.size))
    except OSError:
        return None
    values = _ICOUNT.unpack(raw)
    return dict(zip(ERROR_KINDS, values[6:11], strict=True))


def latency_timer_ms(port: str, sysfs: str = "/sys/bus/usb-serial/devices") -> int | None:
    """The USB-serial latency timer of ``port`` in ms (FTDI and a few others), if readable."""
    try:
        name = Path(os.path.realpath(port)).name
        return int((Path(sysfs) / name / "latency_timer").read_text().strip())
    except (OSError, ValueError):
        return None


def latency_warning(port: str, sysfs: str = "/sys/bus/usb-serial/devices") -> str | None:
    """A warning with the fix when the adapter batches bytes for too long."""
    ms = latency_timer_ms(port, sysfs)
    if ms is None or ms <= HIGH_LATENCY_MS:
        return None
    name = Path(os.path.realpath(port)).name
    return (f"{port}: USB latency timer is {ms} ms, so timestamps can be up to {ms} ms late; "
            f"set it to 1 ms: echo 1 | sudo tee {sysfs}/{name}/latency_timer")


def list_ports() -> list[tuple[str, str]]:
    """Serial ports present on this machine: (device, human description)."""
    from serial.tools import list_ports as lp

    out = []
    for p in sorted(lp.comports(), key=lambda p: p.device):
        desc = p.description if p.description and p.description != "n/a" else ""
        out.append((p.device, desc))
    return out


# --- reader thread -----------------------------------------------------------

def _posix_fd(ser: serial.SerialBase) -> int | None:
    """The file descriptor of a local serial device, None for URL handlers (loop://, ...).

    A line that is a bare file descriptor (the relay's pty master) names it ``raw_fd``.
    """
    raw = getattr(ser, "raw_fd", None)
    if isinstance(raw, int):
        return raw
    fd = getattr(ser, "fd", None)
    if isinstance(fd, int) and type(ser).__module__ == "serial.serialposix":
        return fd
    return None


DATA, LOST, BACK, ERRORS = "data", "lost", "back", "errors"
NEVER = float("-inf")


class PortReader(threading.Thread):
    """Read one line as fast as bytes come; report data, loss, return and error counts.

    Events are appended to ``events`` (a deque: appending is atomic and wakes
    nobody; the writer collects them on its own tick), all with
    ``time.monotonic()`` times:
    ``(DATA, index, bytes, t_read, seen_empty)``, ``(LOST, index, t, message)``,
    ``(BACK, index, t)``, ``(ERRORS, index, t, {kind: delta})``.

    ``seen_empty`` is when the reader last saw the line empty before the
    read, ``-inf`` when it did not look: a read that found bytes waiting
    learns nothing new.  A read that had to wait for bytes knows the line
    was empty until the wait ended, since the kernel wakes the reader as
    bytes arrive; that bounds how far back the session may date them.

    ``watermark`` is the monotonic time at which the current read began:
    every byte that arrived before it is already on the queue, which is what
    the writer needs to decide that a line has really been silent.
    """

    def __init__(self, index: int, spec: LineSpec, ser: serial.SerialBase | None,
                 events: deque, stop: threading.Event,
                 forward: Callable[[bytes], None] | None = None):
        super().__init__(name=f"mep-reader-{index}", daemon=True)
        self.index = index
        self.spec = spec
        self.ser = ser
        self.events = events
        self.stop = stop
        self.watermark = time.monotonic()
        self.connected = ser is not None
        self.forward = forward
        """Called with each read's bytes after they are queued (the relay passes them on)."""
        self._icount = read_icount(ser) if ser is not None else None
        self._icount_at = time.monotonic()

    def run(self) -> None:
        put = self.events.append
        mono = time.monotonic
        while not self.stop.is_set():
            ser = self.ser
            if ser is None:
                self._reopen()
                continue
            fd = _posix_fd(ser)
            seen_empty = NEVER
            try:
                self.watermark = mono()
                if fd is not None:
                    # A local device: wait for bytes, then take all there are in one
                    # system call (pyserial's read would poll and copy per call).
                    if not select.select([fd], [], [], 0)[0]:
                        if not select.select([fd], [], [], READ_TIMEOUT)[0]:
                            if self._icount is not None:
                                self._poll_icount(mono())
                            continue
                        seen_empty = mono()  # woken by the bytes' arrival
                    data = os.read(fd, 65536)
                    if not data:
                        raise OSError(errno.EIO, "device reports readiness but gives no data")
                else:
                    waiting = ser.in_waiting
                    if waiting > 0:
                        data = ser.read(waiting)
                    else:
                        data = ser.read(1)  # returns as the first byte arrives
                        seen_empty = mono()
                t = mono()
            except BlockingIOError:
                continue
            except Exception as exc:  # any failure means the port is gone
                self._lost(exc)
                continue
            if self._icount is not None:
                self._poll_icount(t)  # first, so errors come before the bytes they spoiled
            if data:
                put((DATA, self.index, data, t, seen_empty))
                if self.forward is not None:
                    self.forward(data)
        self._close()

    def _poll_icount(self, t: float) -> None:
        if t - self._icount_at < ICOUNT_INTERVAL:
            return
        self._icount_at = t
        now = read_icount(self.ser) if self.ser is not None else None
        if now is None or self._icount is None:
            return
        delta = {k: now[k] - self._icount[k] for k in ERROR_KINDS if now[k] != self._icount[k]}
        self._icount = now
        if delta:
            self.events.append((ERRORS, self.index, t, delta))

    def _lost(self, exc: BaseException) -> None:
        t = time.monotonic()
        if self._icount is not None:
            self._icount_at = float("-inf")  # the last counts before the port goes
            self._poll_icount(t)
        self._close()
        self.connected = False
        msg = str(exc) or type(exc).__name__
        self.events.append((LOST, self.index, t, msg))

    def _reopen(self) -> None:
        # Nothing can arrive while the port is gone: the line is silent "now".
        self.watermark = float("inf")
        if self.stop.wait(REOPEN_INTERVAL):
            return
        try:
            ser = open_serial(self.spec)
        except PortError:
            return
        t = time.monotonic()
        self.watermark = t
        self.ser = ser
        self.connected = True
        self._icount = read_icount(ser)
        self._icount_at = t
        self.events.append((BACK, self.index, t))

    def _close(self) -> None:
        ser, self.ser = self.ser, None
        if ser is not None:
            try:
                ser.close()
            except Exception:  # closing a dead port may fail; nothing to do
                pass
