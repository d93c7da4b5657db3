"""Capture outputs the dumpcap way: one file, a pipe (``-w -``), or a ring buffer of files.

Every file of a ring is a complete pcapng on its own (section header and
every interface again), so any one of them opens alone in Wireshark.  Files
are named as dumpcap names them: ``out_00001_20240131120000.pcapng`` for
``-w out.pcapng``.  Sizes are in kB of 1000 bytes, as in dumpcap.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import BinaryIO

from mepshark.dissector.capture_format import DLT_USER0

from .pcapng import PcapngWriter


@dataclass(frozen=True)
class RingSpec:
    """``-b`` options: switch files by size and/or age, keep at most ``files`` of them."""

    filesize: int | None = None
    """Switch after a file reaches this many bytes."""
    duration: float | None = None
    """Switch after a file has been open this many seconds."""
    files: int | None = None
    """Keep only the newest this many files (older ones are deleted)."""

    @property
    def active(self) -> bool:
        return self.filesize is not None or self.duration is not None


class _Counting:
    """A binary stream wrapper that knows how many bytes went through it (pipes can't tell)."""

    def __init__(self, stream: BinaryIO, owned: bool):
        self.stream = stream
        self.owned = owned
        self.size = 0

    def write(self, data: bytes) -> int:
        self.stream.write(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        if self.owned:
            self.stream.close()
        else:
            self.stream.flush()

    def abandon(self) -> None:
        """Close an owned stream after a failed write, dropping what is still buffered: it
        cannot be written either, and the file object would otherwise retry when collected."""
        if self.owned:
            try:
                self.stream.close()
            except OSError:
                pass


def _pipe_poller(stream: BinaryIO) -> select.poll | None:
    """A poll object that reports when a pipe's or FIFO's reader closes; None for files."""
    if not hasattr(select, "poll"):
        return None
    try:
        fd = stream.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return None
    except (OSError, ValueError, AttributeError):
        return None
    poller = select.poll()
    poller.register(fd, 0)  # only the always-reported events: POLLERR, POLLHUP
    return poller


def ring_name(base: str, number: int, when: float) -> str:
    """dumpcap's ring file name: stem, 5-digit file number, local start time, suffix."""
    stem, suffix = os.path.splitext(base)
    stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(when))
    return f"{stem}_{number:05d}_{stamp}{suffix}"


class PcapngOutput:
    """Where packets go.  ``target`` is a path, ``-`` for standard output, or a FIFO.

    Interfaces are declared once and replayed into every new ring file, so
    interface ids stay the same across files.
    """

    def __init__(
        self,
        target: str,
        *,
        dlt: int = DLT_USER0,
        tsresol: int = 6,
        ring: RingSpec | None = None,
        stop_filesize: int | None = None,
        stop_files: int | None = None,
        application: str = "mep-capture",
        stdout: BinaryIO | None = None,
    ):
        self.target = target
        self.dlt = dlt
        self.tsresol = tsresol
        self.ring = ring if ring is not None and ring.active else None
        self.stop_filesize = stop_filesize
        self.stop_files = stop_files
        self.application = application
        self.done = False
        """An autostop condition (-a filesize, -a files) has been reached."""
        self.files: list[str] = []
        """Every file opened, in order (deleted ring files included)."""
        self._kept: deque[str] = deque()
        self._interfaces: list[tuple[str, str]] = []
        self._secrets = ""
        """TLS key log lines written so far, repeated at the head of each ring file."""
        self._rotate_due = False
        self._number = 0
        self._opened_at = 0.0
        self._stdout = stdout
        self._open_next()

    # --- files ------------------------------------------------------------

    def _open_next(self) -> None:
        now = time.time()
        self._number += 1
        if self.target == "-":
            stream = self._stdout if self._stdout is not None else sys.stdout.buffer
            self._stream = _Counting(stream, owned=False)
            path = "-"
        else:
            path = ring_name(self.target, self._number, now) if self.ring else self.target
            self._stream = _Counting(open(path, "wb"), owned=True)
        self._poll = _pipe_poller(self._stream.stream)
        self._next_poll = 0.0
        try:
            self._writer = PcapngWriter(self._stream, self.dlt, self.tsresol, self.application)
            for name, desc in self._interfaces:
                self._writer.add_interface(name, desc)
            if self._secrets:  # sessions may go on in the new file
                self._writer.write_secrets(self._secrets)
        except OSError:
            self._stream.abandon()
            raise
        self._opened_at = time.monotonic()
        self._rotate_due = False
        self.files.append(path)
        self._kept.append(path)
        limit = self.ring.files if self.ring else None
        while limit and len(self._kept) > limit:
            old = self._kept.popleft()
            try:
                os.remove(old)
            except OSError:
                pass

    def _rotate(self) -> None:
        if self.stop_files is not None and self._number >= self.stop_files:
            self.done = True
            return
        self._stream.close()
        self._open_next()

    @property
    def path(self) -> str:
        """The file being written now."""
        return self.files[-1]

    @property
    def size(self) -> int:
        """Bytes written to the current file so far."""
        return self._stream.size

    # --- packets ----------------------------------------------------------

    def add_interface(self, name: str, description: str = "") -> int:
        """Declare a serial line; its id is the same in every file."""
        self._interfaces.append((name, description))
        return self._writer.add_interface(name, description)

    def write_secrets(self, keylog: str) -> None:
        """TLS key log lines, as a Decryption Secrets Block ahead of the packets they open."""
        self._secrets += keylog
        self._writer.write_secrets(keylog)

    def write(
        self,
        interface: int,
        timestamp: int,
        data: bytes,
        direction: int | None = None,
        comments: list[str] | tuple[str, ...] = (),
    ) -> None:
        """Write one packet (timestamp in units of 10**-tsresol s), switching files as due."""
        if self._rotate_due:
            self._rotate()
            if self.done:
                return
        self._writer.write(interface, timestamp, data, direction, comments)
        size = self._stream.size
        if self.stop_filesize is not None and size >= self.stop_filesize:
            self.done = True
        if self.ring and self.ring.filesize is not None and size >= self.ring.filesize:
            # Switch before the next packet, so that no empty file is left at the end.
            self._rotate_due = True
            if self.stop_files is not None and self._number >= self.stop_files:
                self.done = True

    def tick(self, now: float | None = None) -> None:
        """Time-based switching (``-b duration``); call regularly.

        Raises BrokenPipeError when the output is a pipe or FIFO whose reader
        has gone (Wireshark closed), so that a capture of a quiet line ends
        too, not only at its next packet.
        """
        now = time.monotonic() if now is None else now
        if self._poll is not None and now >= self._next_poll:
            self._next_poll = now + 0.25
            if self._poll.poll(0):  # POLLERR/POLLHUP: no reader any more
                raise BrokenPipeError(errno.EPIPE, "the reader of the output has gone")
        if self.ring and self.ring.duration is not None and not self.done:
            if now - self._opened_at >= self.ring.duration:
                self._rotate()

    def close(self) -> None:
        self._stream.close()
