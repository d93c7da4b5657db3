"""``mep-capture --relay PORT``: a pty for any client program, relayed to the real port, recorded.

One adapter instead of a tap: the client program (a MEP module's firmware on
a USB-serial bridge, an optical probe tool, mep-client) opens the pty this
relay creates; every byte it writes goes on to PORT and every byte PORT
delivers comes back, and both directions are recorded as two lines of an
ordinary capture (the pty's line as the client's side, PORT's line as the
meter's side).  PORT may be a device, another pty, or a pyserial URL.

Each line's reader thread queues what it read (with its timestamp) before
it passes the bytes on, so the forwarding never delays a timestamp, and the
bytes are recorded whether or not the other side takes them.  The relay
keeps the pty's client end open itself, so that its master never reads EIO
while no program holds the port; a program should discard stale input when
it opens the pty.  The pty has no baud rate of its own: a client that
changes its rate (a C12.18 negotiate) does not change PORT's.
"""

from __future__ import annotations

import errno
import os
import select
import time

from .ptyline import PtyPair
from .serialport import LineSpec, PortReader, open_serial
from .session import CaptureSession, Line

PASS_TIMEOUT = 1.0
"""Seconds a write to the pty may wait for the client program to read before it is dropped."""


class PtyEnd(PtyPair):
    """The relay's end of a pty pair (the master, as the reader's ``raw_fd``); the slave is
    what the client program opens, by its device name or by the symlink ``link``."""

    def __init__(self, link: str | os.PathLike | None = None):
        super().__init__(link)
        self.raw_fd = self.master
        self.closed = False

    def write(self, data: bytes) -> bool:
        """Pass bytes to the client program; False when it did not take them in time."""
        view = memoryview(data)
        deadline = time.monotonic() + PASS_TIMEOUT
        while view:
            try:
                view = view[os.write(self.raw_fd, view):]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                select.select([], [self.raw_fd], [], min(left, 0.05))
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    return False
                raise
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            super().close()


class RelaySession(CaptureSession):
    """A capture of two lines, PORT (the meter's side) and a new pty (the client's side),
    whose readers pass each other's bytes on."""

    def __init__(self, port: LineSpec, link: str | os.PathLike | None = None, **kw):
        self.pty = PtyEnd(link)
        client = LineSpec(self.pty.name, "client", port.baud, port.bytesize, port.parity,
                          port.stopbits)
        super().__init__([LineSpec(port.port, "meter", port.baud, port.bytesize, port.parity,
                                   port.stopbits), client], **kw)
        self.passed = [0, 0]
        """Bytes passed on: [to the client program, to PORT]."""
        self.not_passed = [0, 0]
        """Bytes recorded but not passed on (the other side was gone or stuck)."""

    def open_ports(self) -> None:
        if not self._sers:
            self._sers = [open_serial(self.specs[0]), self.pty]

    def close_ports(self) -> None:
        super().close_ports()
        self.pty.close()

    def make_reader(self, index: int, line: Line) -> PortReader:
        forward = self._to_client if index == 0 else self._to_port
        return PortReader(index, line.spec, self._sers[index], self.events, self._reader_stop,
                          forward=forward)

    def _to_client(self, data: bytes) -> None:
        if self.pty.write(data):
            self.passed[0] += len(data)
        else:
            self.not_passed[0] += len(data)

    def _to_port(self, data: bytes) -> None:
        reader = self.lines[0].reader
        ser = reader.ser if reader is not None else None
        try:
            if ser is None:
                raise OSError(errno.ENODEV, "port gone")
            ser.write(data)
            self.passed[1] += len(data)
        except Exception:  # the port vanished meanwhile: the bytes stay recorded
            self.not_passed[1] += len(data)
