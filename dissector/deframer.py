"""Cut one direction's byte stream into MEP frames, losing nothing.

One :class:`Deframer` per serial line.  Bytes go in with the time their
first byte arrived; :class:`Chunk` objects come out: frames, alerts and
*unframed* runs (each with a reason).  Concatenating every chunk's bytes in
order gives back exactly the bytes fed in.

Framing uses only the length field (docs/architecture.md): a frame is a 2-byte big-endian length
and that many body bytes; 0x0000 is the alert sequence; a length above 476
cannot start a frame, so its first byte is set aside as unframed and the
search goes on from the next byte.  A byte above 0x01 is set aside at once,
without waiting for the byte after it (no length it begins is 476 or less),
so a burst of line noise stays one unframed run.  A frame whose bytes stop
arriving is abandoned after a period of silence.

Gen 2/3 meters share their UART with the optical port, so an ANSI C12.18
session shows up among MEP frames (docs/c1218.md).  No MEP frame starts
with 0xEE, 0x06 or 0x15: between frames, 0x06 (ACK) and 0x15 (NAK) are
chunks of their own, and 0xEE starts a C12.18 packet candidate that becomes
one chunk when its CRC holds.  When it does not, the 0xEE is set aside as
unframed and the bytes after it are read again, so a MEP frame behind a
stray 0xEE is still found.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import c1218link
from .frames import MAX_BODY

# Silence after which a partly received frame is given up.
#
# * It must be longer than the 25 ms pause the meter inserts after every
#   117-byte segment of a long response, or long responses would be cut.
# * It must also be longer than the 50 ms intra-packet gap the meter itself
#   tolerates inside a request: a frame the meter accepted must not be cut
#   by the sniffer.  Timestamps taken on a USB serial adapter additionally
#   jitter by the adapter's latency timer (16 ms by default on FTDI), so an
#   accepted 50 ms gap can be seen as ~66 ms.
# * It must stay well under the 500 ms response timeout after which a client
#   resends, so that the remnant of an aborted request never swallows the
#   retry that follows it.
# 100 ms satisfies all three with margin on both sides.
DEFAULT_SILENCE = 0.100

_HIGHEST_LENGTH_BYTE = MAX_BODY >> 8
"""A length's first byte is at most this (0x01): any higher byte starts no frame."""

FRAME = "frame"
ALERT = "alert"
UNFRAMED = "unframed"
C1218 = "c1218"
"""A CRC-valid C12.18 packet, or an ACK/NAK byte (a shared UART, an optical probe)."""


@dataclass(frozen=True)
class Chunk:
    """A piece of one direction's stream: a frame, an alert, or unframed bytes."""

    kind: str
    data: bytes
    time: float
    """Arrival time of the chunk's first byte."""
    reason: str = ""
    """Why unframed bytes are unframed (empty for frames and alerts)."""

    @property
    def is_frame(self) -> bool:
        return self.kind != UNFRAMED


class Deframer:
    """Incremental MEP deframer for one direction.

    ``byte_time`` is the duration of one character on the line (10 bits at
    the baud rate for 8N1); bytes of one ``feed`` call are timed from the
    call's timestamp at that pace.
    """

    def __init__(self, silence: float = DEFAULT_SILENCE, byte_time: float = 0.0):
        if not (0 < silence < float("inf")):
            raise ValueError("silence must be a positive number of seconds")
        if not (0 <= byte_time < float("inf")):
            raise ValueError("byte_time must be zero or a positive number of seconds")
        self.silence = silence
        self.byte_time = byte_time
        self._buf = bytearray()  # frame in progress (header and body so far)
        self._buf_time = 0.0
        self._need = 0  # total length of the frame in progress, 0 until known
        self._junk = bytearray()  # bytes that could not start a frame
        self._junk_time = 0.0
        self._junk_reason = ""
        self._last: float | None = None
        self._opt = bytearray()  # a C12.18 packet candidate (from its 0xEE)
        self._opt_time = 0.0
        self._opt_times: list[float] = []  # each candidate byte's arrival time

    @property
    def pending(self) -> int:
        """Bytes held back: an incomplete frame or a run of unframed bytes."""
        return len(self._buf) + len(self._junk) + len(self._opt)

    def feed(self, data: bytes, timestamp: float, end: float | None = None) -> list[Chunk]:
        """Take bytes whose first started at ``timestamp``; return finished chunks.

        The later bytes follow at ``byte_time`` apiece.  With ``end`` (when the
        last byte had arrived, e.g. when the read returned), byte *i* starts at
        ``max(timestamp, end - (n - i) * byte_time)``: back to back up to
        ``end``, but none before ``timestamp``.  A burst that came faster than
        the line's pace is thus squeezed between the two, never stretched
        past the moment it was read.
        """
        out: list[Chunk] = []
        if not data:
            return out
        if self._last is not None and timestamp - self._last > self.silence:
            self._expire(out, timestamp - self._last)
        bt = self.byte_time
        n = len(data)
        if end is None:
            def at(k: int) -> float:
                return timestamp + k * bt
        else:
            def at(k: int) -> float:
                return max(timestamp, end - (n - k) * bt)
        self._run(data, at, out)
        self._last = at(n - 1)
        return out

    def _run(self, data: bytes, at, out: list[Chunk]) -> None:
        """Scan ``data`` (byte k arrived at ``at(k)``), and the bytes a failed
        C12.18 candidate gives back, in order (a work list, not recursion)."""
        work = [(data, at, 0)]
        while work:
            d, f, start = work.pop()
            back = self._scan(d, f, start, out)
            if back is not None:  # (the candidate's bytes after its 0xEE, their times, resume)
                rest, times, resume = back
                work.append((d, f, resume))
                work.append((rest, times.__getitem__, 0))

    def _drop_candidate(self) -> tuple[bytes, list[float]]:
        """Set the candidate's 0xEE aside as unframed; return the bytes after it and the
        times they arrived at (read again with those times, the chunks stay in line order)."""
        rest, times = bytes(self._opt[1:]), self._opt_times[1:]
        self._set_aside(self._opt[0], self._opt_time, "0xEE that starts no CRC-valid C12.18 packet")
        self._opt.clear()
        self._opt_times = []
        return rest, times

    def _scan(self, data: bytes, at, i: int, out: list[Chunk]):
        buf, opt = self._buf, self._opt
        n = len(data)
        while i < n:
            if opt:
                if len(opt) < c1218link.HEADER_LEN:
                    opt.append(data[i])
                    self._opt_times.append(at(i))
                    i += 1
                    if len(opt) < c1218link.HEADER_LEN:
                        continue
                length = (opt[4] << 8) | opt[5]
                need = c1218link.HEADER_LEN + length + c1218link.CRC_LEN
                if length <= c1218link.MAX_DATA:
                    take = min(need - len(opt), n - i)
                    opt += data[i : i + take]
                    self._opt_times += map(at, range(i, i + take))
                    i += take
                    if len(opt) < need:
                        continue
                    if c1218link.packet_at(opt) == need:
                        self._flush_junk(out)
                        out.append(Chunk(C1218, bytes(opt), self._opt_time))
                        opt.clear()
                        self._opt_times = []
                        continue
                rest, times = self._drop_candidate()
                return rest, times, i
            if len(buf) < 2:
                if not buf:
                    if data[i] == c1218link.STP:
                        self._opt_time = at(i)
                        self._opt_times = [self._opt_time]
                        opt.append(data[i])
                        i += 1
                        continue
                    if data[i] in (c1218link.ACK, c1218link.NAK):
                        self._flush_junk(out)
                        out.append(Chunk(C1218, data[i : i + 1], at(i)))
                        i += 1
                        continue
                    if data[i] > _HIGHEST_LENGTH_BYTE:
                        self._set_aside(data[i], at(i),
                                        f"length 0x{data[i]:02X}xx out of range")
                        i += 1
                        continue
                    self._buf_time = at(i)
                buf.append(data[i])
                i += 1
                if len(buf) < 2:
                    continue
                length = (buf[0] << 8) | buf[1]
                if length > MAX_BODY:
                    self._set_aside(buf[0], self._buf_time, f"length 0x{length:04X} out of range")
                    del buf[0]
                    self._buf_time = at(i - 1)
                    if buf[0] > _HIGHEST_LENGTH_BYTE:
                        self._set_aside(buf[0], self._buf_time,
                                        f"length 0x{buf[0]:02X}xx out of range")
                        del buf[0]
                    continue
                if length == 0:
                    self._emit(out, ALERT)
                    continue
                self._need = 2 + length
                continue
            take = min(self._need - len(buf), n - i)
            buf += data[i : i + take]
            i += take
            if len(buf) == self._need:
                self._emit(out, FRAME)
        return None

    def poll(self, now: float) -> list[Chunk]:
        """Give up held-back bytes once the line has been silent long enough."""
        out: list[Chunk] = []
        if self._last is not None and now - self._last > self.silence and self.pending:
            self._expire(out, now - self._last)
        return out

    def close(self) -> list[Chunk]:
        """End of stream: everything held back comes out as unframed."""
        out: list[Chunk] = []
        self._expire(out, None)
        return out

    # --- internals -----------------------------------------------------

    def _set_aside(self, byte: int, when: float, reason: str) -> None:
        if not self._junk:
            self._junk_time = when
            self._junk_reason = reason
        self._junk.append(byte)

    def _flush_junk(self, out: list[Chunk]) -> None:
        if self._junk:
            n = len(self._junk)
            reason = f"{n} byte(s) that start no frame (first: {self._junk_reason})"
            out.append(Chunk(UNFRAMED, bytes(self._junk), self._junk_time, reason))
            self._junk.clear()

    def _emit(self, out: list[Chunk], kind: str) -> None:
        self._flush_junk(out)
        out.append(Chunk(kind, bytes(self._buf), self._buf_time))
        self._buf.clear()
        self._need = 0

    def _expire(self, out: list[Chunk], gap: float | None) -> None:
        while self._opt:  # a C12.18 packet that never completed: read its bytes again
            rest, times = self._drop_candidate()
            self._run(rest, times.__getitem__, out)
        self._flush_junk(out)
        if self._buf:
            after = "end of stream" if gap is None else f"{gap * 1000:.0f} ms of silence"
            if self._need:
                what = f"incomplete frame: {len(self._buf)} of {self._need} bytes"
            else:
                what = "lone byte where a length field should start"
            out.append(Chunk(UNFRAMED, bytes(self._buf), self._buf_time, f"{what}, then {after}"))
            self._buf.clear()
            self._need = 0


def deframe(data: bytes, timestamp: float = 0.0, **kwargs) -> list[Chunk]:
    """Deframe a complete byte string in one go (tests, offline tools)."""
    d = Deframer(**kwargs)
    return d.feed(data, timestamp) + d.close()
