"""Fake serial lines on pseudo-terminals, paced like a UART (tests, benchmark, demos).

A :class:`PtyLine` is a pty pair whose slave is reachable through a stable
symlink, the name mep-capture opens; the feeder writes to the master.  A
pty delivers bytes as fast as they are written, so :class:`UartFeeder`
writes each byte no earlier than the moment its stop bit would end on a real
line at the given baud rate; the capture's timestamp model then applies
unchanged.  :func:`paced` does the same for a writer that owns its line
(the simulator, the client with ``pace=True``).  :class:`BurstRelay` does
the opposite: it hands bytes over in lumps, late, as USB adapters and serial
servers do.  ``vanish()`` / ``reappear()`` imitate a USB adapter being
unplugged and plugged back in.  :class:`PtyPair` is the bare pair the
simulator serves on and ``mep-capture --relay`` offers to a client program.
"""

from __future__ import annotations

import fcntl
import os
import select
import threading
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class PtyLine:
    """One fake serial line: open ``path`` with pyserial, ``write()`` what the wire carries."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.master: int | None = None
        self.slave: int | None = None
        self.written = bytearray()
        """Everything written to the line so far (what a perfect capture holds)."""
        self.reappear()

    @property
    def device(self) -> str:
        """The pty slave behind the symlink (e.g. /dev/pts/7)."""
        return os.readlink(self.path)

    def reappear(self) -> None:
        """Plug the adapter (back) in: a new pty, the same name."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing, bytes pass untouched
        self.master, self.slave = master, slave
        tmp = self.path.with_name(self.path.name + ".new")
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.path)

    def vanish(self) -> None:
        """Unplug the adapter: readers get an error and the name disappears."""
        if self.path.is_symlink():
            self.path.unlink()
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    def write(self, data: bytes) -> None:
        """Put bytes on the line now, all at once."""
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]
        self.written += data

    def close(self) -> None:
        self.vanish()


def paced(data: bytes, byte_time: float, piece: int = 4) -> Iterator[bytes]:
    """Yield ``data`` in pieces, each when a UART at ``byte_time`` per byte would finish it."""
    if not byte_time:
        yield data
        return
    start = time.monotonic()
    for i in range(0, len(data), piece):
        chunk = data[i : i + piece]
        due = start + (i + len(chunk)) * byte_time
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        yield chunk


@dataclass
class _Pending:
    line: PtyLine
    byte_time: float
    items: list[tuple[float, bytes, int]] = field(default_factory=list)
    """(planned start, data, record index), in order."""
    start: float | None = None
    sent: int = 0


class UartFeeder:
    """Writes scheduled bytes onto :class:`PtyLine` s at the pace of their baud rate.

    ``play([(t, line, data), ...])`` starts each ``data`` at ``t`` seconds
    after the call (later if the line is still busy) and returns, for each
    item, the wall-clock time its first byte started, as a UART would have
    sent it.
    """

    def __init__(self, byte_times: dict[PtyLine, float], tick: float = 0.001):
        self.byte_times = byte_times
        self.tick = tick

    def play(self, schedule: list[tuple[float, PtyLine, bytes]]) -> list[float]:
        wall0, mono0 = time.time(), time.monotonic()
        lines = {line: _Pending(line, bt) for line, bt in self.byte_times.items()}
        for i, (t, line, data) in sorted(enumerate(schedule), key=lambda x: x[1][0]):
            lines[line].items.append((t, data, i))
        starts = [0.0] * len(schedule)
        active = [p for p in lines.values() if p.items]
        while active:
            now = time.monotonic() - mono0
            soonest = None
            for p in active:
                while p.items:
                    planned, data, idx = p.items[0]
                    if p.start is None:
                        if now < planned:
                            soonest = planned if soonest is None else min(soonest, planned)
                            break
                        p.start = planned
                        starts[idx] = wall0 + planned
                    due = min(len(data), int((now - p.start) / p.byte_time))
                    if due > p.sent:
                        p.line.write(data[p.sent:due])
                        p.sent = due
                    if p.sent < len(data):
                        break
                    # Next item starts no earlier than this one's last stop bit.
                    end = p.start + len(data) * p.byte_time
                    p.items.pop(0)
                    p.start, p.sent = None, 0
                    if p.items and p.items[0][0] < end:
                        t, d, i = p.items[0]
                        p.items[0] = (end, d, i)
            active = [p for p in active if p.items]
            if not active:
                break
            busy = any(p.start is not None for p in active)
            wait = self.tick if busy else max(0.0, min(self.tick * 20, (soonest or 0) - now))
            time.sleep(max(wait, 0.0002))
        return starts


class BurstRelay:
    """Relays what arrives on ``source`` (a tty to read) onto ``line`` in bursts.

    A USB-serial chip keeps received bytes until its latency timer runs out
    (16 ms by default on FTDI) and a serial server (``socket://``,
    ``rfc2217://``) sends what it gathered in one network packet: the reader
    then gets many bytes at once, later than they came.  Here every burst
    goes out ``hold`` seconds after its first byte came in, with all bytes
    that came in meanwhile, in one write.  Use as a context manager.
    """

    def __init__(self, source: str | os.PathLike, line: PtyLine, hold: float = 0.016):
        self.source = os.fspath(source)
        self.line = line
        self.hold = hold
        self.bursts: list[bytes] = []
        """Every burst written, in order."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="burst-relay", daemon=True)

    def __enter__(self) -> BurstRelay:
        self._fd = os.open(self.source, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self._fd)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self._fd)

    def _run(self) -> None:
        held = bytearray()
        due = None
        while not self._stop.is_set():
            wait = 0.05 if due is None else max(0.0, due - time.monotonic())
            if select.select([self._fd], [], [], wait)[0]:
                try:
                    data = os.read(self._fd, 4096)
                except (BlockingIOError, InterruptedError):
                    data = b""
                except OSError:  # the source went away
                    break
                if data and not held:
                    due = time.monotonic() + self.hold
                held += data
            if due is not None and time.monotonic() >= due:
                self.line.write(bytes(held))
                self.bursts.append(bytes(held))
                held.clear()
                due = None
        if held:
            self.line.write(bytes(held))
            self.bursts.append(bytes(held))


class PtyPair:
    """A raw, non-blocking pty pair: the owner holds the master, a program opens the
    slave (by its device name or by the symlink ``link``, like a udev rule).  The
    owner keeps the slave open too, so the master never reads EIO between two
    clients; a client should discard stale input when it opens the port."""

    def __init__(self, link: str | os.PathLike | None = None):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        flags = fcntl.fcntl(self.master, fcntl.F_GETFL)
        fcntl.fcntl(self.master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.device = os.ttyname(self.slave)
        self.link = Path(link) if link else None
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            if tmp.is_symlink():
                tmp.unlink()
            os.symlink(self.device, tmp)
            os.replace(tmp, self.link)

    @property
    def name(self) -> str:
        """What a client opens: the symlink if any, else the slave device."""
        return str(self.link) if self.link is not None else self.device

    def close(self) -> None:
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
